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
        eprintln!(
            "notice: skipping the Python tests: no target/perfguide-venv (run .ci/run to create it)"
        );
        return;
    }
    let out = Command::new(&python)
        .args([
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "examples/python/tests",
        ])
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

/// Issue 7: on a machine without Numba the build succeeds and the page says which rungs are
/// missing and why. Numba is hidden from the project's interpreter by a package on
/// PYTHONPATH whose import fails, exactly as a missing install does.
#[test]
fn without_numba_the_build_succeeds_and_names_the_missing_rungs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = root.join("target/perfguide-venv/bin/python");
    if !python.exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must prepare target/perfguide-venv (see .ci/run)"
        );
        eprintln!("notice: skipping: no target/perfguide-venv (run .ci/run to create it)");
        return;
    }
    let t = crate::book_test::BookTest::from_fixture("python");
    t.write(
        "book.toml",
        format!(
            "[book]\ntitle = \"Python fixture\"\n\n[measure]\nbudget-seconds = 0.3\nmin-samples = 3\n\n[python]\ninterpreter = \"{}\"\nauto-install = false\n",
            python.display()
        ),
    );
    #[cfg(unix)]
    std::os::unix::fs::symlink(root.join("examples"), t.path("examples")).unwrap();
    let shim = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(shim.path().join("numba")).unwrap();
    std::fs::write(
        shim.path().join("numba/__init__.py"),
        "raise ImportError('No module named numba (hidden by the perfguide test)')\n",
    )
    .unwrap();
    let pythonpath = shim.path().display().to_string();
    let run = t
        .run_env(
            &["build", "--quick"],
            &[("PYTHONPATH", pythonpath.as_str())],
        )
        .success();
    let page = t.read("book/pi.html");
    assert!(page.contains("py-numpy"), "the NumPy rung was measured");
    assert!(
        page.contains("not measured here: numba cannot be imported"),
        "the page names the missing rung and why:\n{}",
        run.stderr()
    );
    // The rest of the table is measured as usual.
    assert!(page.contains("<code>naive</code>"));
}
