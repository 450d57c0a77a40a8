//! The Python rungs' own tests (pytest, under examples/python/tests), run from `cargo test` so
//! one command tests both languages. They need the project's virtual environment, which
//! `.ci/run` prepares; without it the test fails under CI and is skipped (with a notice)
//! on a developer's machine.

use std::path::Path;
use std::process::Command;

#[test]
fn python_rungs_pass_their_tests() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = root.join("target/perfguide-venv/bin/python");
    if !python.exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must prepare target/perfguide-venv (see .ci/run)"
        );
        eprintln!("notice: skipping the Python tests: no target/perfguide-venv (run .ci/run to create it)");
        return;
    }
    let out = Command::new(&python)
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "examples/python/tests"])
        .current_dir(root)
        .output()
        .expect("running pytest");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "pytest failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("passed"), "pytest ran no test:\n{stdout}");
}
