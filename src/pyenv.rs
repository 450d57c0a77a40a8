//! The Python environment that `{{#run}}` of `.py` files (and the Python rungs) use.
//!
//! With `[python] auto-install` on (the default), perfguide owns a virtual environment at
//! `[python] venv` (default `target/perfguide-venv`, under the book root): it creates it with
//! `INTERPRETER -m venv`, installs the pinned `[python] requirements` into it and builds the
//! Cython extensions with the `build_ext.py` next to the requirements file. Work is only done
//! when something changed, so a rebuild costs one interpreter start (to read the installed
//! versions):
//!
//! - `<venv>/.perfguide-requirements.blake3` records which base interpreter made the venv
//!   and the hash of the requirements file installed into it. A different interpreter
//!   recreates the venv (`--clear`); a changed requirements file re-runs `pip install`.
//! - `<venv>/.perfguide-build-ext.blake3` records the hash of `build_ext.py`, the `.pyx`
//!   sources and the requirements stamp; the extensions are rebuilt when it differs or a
//!   `.pyx` has no compiled module beside it.
//!
//! A stamp is written only after its step succeeded, so a failed install is retried by the
//! next build. A failure of the Cython build is not fatal: the harness reports those rungs
//! as skipped, with the reason.
//!
//! With `auto-install` off, the configured interpreter is used as it is: the user manages
//! the packages (this is how a book is checked against an environment without Numba).
//!
//! Every failure is an [`Unavailable`] whose reason says what to do; nothing here panics.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::config::PythonConfig;
use crate::run::{self, Exit, Stream};

/// A Python interpreter ready to run the book's programs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PythonEnv {
    /// The venv's interpreter (`<venv>/bin/python`, not resolved through its symlink, so
    /// that the venv applies), or the configured interpreter when auto-install is off.
    pub python: PathBuf,
    /// `CPython 3.11.7`: implementation and version.
    pub version: String,
    /// Installed distributions, normalised name (PEP 503) -> version.
    pub packages: BTreeMap<String, String>,
    /// The virtual environment, when perfguide manages one: programs run with it activated
    /// (its `bin/` first on `PATH`), so a script that starts `kernprof` finds the venv's.
    pub venv: Option<PathBuf>,
}

/// Why Python cannot be used in this build, in words a user can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unavailable {
    pub reason: String,
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for Unavailable {}

fn unavailable(reason: impl Into<String>) -> Unavailable {
    Unavailable {
        reason: reason.into(),
    }
}

/// The stamp of the installed requirements, inside the venv.
pub const REQUIREMENTS_STAMP: &str = ".perfguide-requirements.blake3";
/// The stamp of the Cython build, inside the venv.
pub const BUILD_EXT_STAMP: &str = ".perfguide-build-ext.blake3";
/// Exact pins of every package, looked for next to the requirements file.
pub const CONSTRAINTS_FILE: &str = "constraints.txt";

/// The Cython build script, looked for next to the requirements file.
const BUILD_EXT: &str = "build_ext.py";
/// How many lines of a failed step's output a reason quotes.
const TAIL_LINES: usize = 12;

/// Prints the interpreter's identity and installed distributions as JSON. importlib.metadata
/// is used rather than `pip list --format json`: it needs no pip and starts in a fraction of
/// the time (about 60 ms against 500 ms here).
const QUERY: &str = r#"
import json, platform, re, sys
try:
    import importlib.metadata as md
    dists = md.distributions()
except ImportError:
    dists = []
packages = {}
for d in dists:
    name = d.metadata["Name"]
    if name:
        packages[re.sub(r"[-_.]+", "-", name).lower()] = d.version
print(json.dumps({
    "implementation": platform.python_implementation(),
    "version": platform.python_version(),
    "major": sys.version_info[0],
    "executable": sys.executable,
    "prefix": sys.prefix,
    "packages": packages,
}))
"#;

#[derive(Debug, Deserialize)]
struct Query {
    implementation: String,
    version: String,
    major: u32,
    packages: BTreeMap<String, String>,
}

/// Prepares the environment described by `[python]`; `progress` receives one line per step
/// (nothing when everything is already in place).
pub fn prepare(
    book_root: &Path,
    cfg: &PythonConfig,
    progress: &mut dyn FnMut(&str),
) -> Result<PythonEnv, Unavailable> {
    let deadline = Instant::now() + Duration::from_secs(cfg.timeout_seconds.max(1));
    let base = resolve_interpreter(book_root, &cfg.interpreter);
    if !cfg.auto_install {
        let q = query(&base, &cfg.interpreter, deadline)?;
        return Ok(PythonEnv {
            python: base,
            version: format!("{} {}", q.implementation, q.version),
            packages: q.packages,
            venv: None,
        });
    }
    let started = Instant::now();
    let mut worked = false;
    let venv = book_root.join(&cfg.venv);
    let venv_shown = cfg.venv.display().to_string();
    let venv_python = venv_interpreter(&venv);

    let requirements = book_root.join(&cfg.requirements);
    let req_bytes = match fs::read(&requirements) {
        Ok(b) => b,
        // The default file is optional: a book without Python rungs still runs scripts.
        Err(e)
            if e.kind() == std::io::ErrorKind::NotFound
                && cfg.requirements == PythonConfig::default().requirements =>
        {
            Vec::new()
        }
        Err(e) => {
            return Err(unavailable(format!(
                "cannot read the requirements file {}: {e}; fix [python] requirements in book.toml",
                cfg.requirements.display()
            )));
        }
    };
    // The interpreter as configured: changing the setting makes a new venv. (A new Python
    // under the same name keeps the old venv while it works; its version is part of every
    // run's key anyway.) Not querying the base interpreter keeps a cached call to one
    // interpreter start.
    let interpreter_line = format!("interpreter {}", cfg.interpreter);
    // A `constraints.txt` beside the requirements pins every transitive package too, so a
    // fresh venv gets exactly the versions that measured the store; it is part of the stamp.
    let constraints = requirements.with_file_name(CONSTRAINTS_FILE);
    let constraints_bytes = fs::read(&constraints).ok();
    let mut want_stamp = format!(
        "{interpreter_line}\nrequirements {}\n",
        blake3::hash(&req_bytes).to_hex()
    );
    if let Some(c) = &constraints_bytes {
        want_stamp.push_str(&format!("constraints {}\n", blake3::hash(c).to_hex()));
    }
    let stamp_path = venv.join(REQUIREMENTS_STAMP);
    let have_stamp = fs::read_to_string(&stamp_path).ok();

    let venv_q = venv_python
        .is_file()
        .then(|| query(&venv_python, &venv_shown, deadline).ok())
        .flatten();
    let venv_works = venv_q.is_some();
    let same_interpreter = have_stamp
        .as_deref()
        .is_some_and(|s| s.lines().next() == Some(interpreter_line.as_str()));
    let mut fresh = false;
    let mut installed = false;
    if !venv_works || (have_stamp.is_some() && !same_interpreter) {
        // Only a directory perfguide made (it has our stamp) or an empty one is cleared; a
        // folder of the user's is never deleted.
        if venv.exists() && have_stamp.is_none() && !is_empty_dir(&venv) {
            return Err(unavailable(format!(
                "{venv_shown} exists but is not a working virtual environment made by perfguide; \
                 remove it, or point [python] venv in book.toml elsewhere"
            )));
        }
        let base_q = query(&base, &cfg.interpreter, deadline)?;
        progress(&format!(
            "creating the virtual environment {venv_shown} with {} ({} {})",
            cfg.interpreter, base_q.implementation, base_q.version
        ));
        worked = true;
        let mut cmd = Command::new(&base);
        cmd.arg("-m").arg("venv").arg("--clear").arg(&venv);
        let out = step(cmd, deadline, &mut |_| {})?;
        if !out.ok {
            let mut reason = format!(
                "creating the virtual environment {venv_shown} failed:\n{}",
                out.tail
            );
            if out.tail.contains("ensurepip") {
                reason.push_str("\n(on Debian or Ubuntu: apt-get install python3-venv)");
            }
            let _ = fs::remove_file(&stamp_path);
            return Err(unavailable(reason));
        }
        fresh = true;
        // The interpreter line alone: a failed install is retried with this venv, and a
        // change of interpreter is still noticed.
        let _ = fs::write(&stamp_path, format!("{interpreter_line}\n"));
    }

    if fresh || have_stamp.as_deref() != Some(want_stamp.as_str()) {
        let pinned = count_requirements(&req_bytes);
        if pinned > 0 {
            progress(&format!(
                "installing {} ({pinned} requirement{}) into {venv_shown}",
                cfg.requirements.display(),
                if pinned == 1 { "" } else { "s" }
            ));
            worked = true;
            installed = true;
            let mut cmd = Command::new(&venv_python);
            cmd.args(["-m", "pip", "install", "--disable-pip-version-check"])
                .arg("-r")
                .arg(&requirements)
                .current_dir(book_root);
            if constraints_bytes.is_some() {
                cmd.arg("-c").arg(&constraints);
            }
            let mut lines = LineSplitter::default();
            let out = step(cmd, deadline, &mut |chunk| {
                for line in lines.push(chunk) {
                    if pip_step(&line) {
                        // "Collecting numpy==2.4.6 (from -r /abs/path (line 5))": the package.
                        let short = line.split(" (from ").next().unwrap_or(&line).trim();
                        let short = match short.char_indices().nth(100) {
                            Some((i, _)) => format!("{}…", &short[..i]),
                            None => short.to_string(),
                        };
                        progress(&format!("  {short}"));
                    }
                }
            })?;
            if !out.ok {
                return Err(unavailable(format!(
                    "pip install -r {} failed{}:\n{}",
                    cfg.requirements.display(),
                    out.status_note,
                    out.tail
                )));
            }
        }
        if let Err(e) = fs::write(&stamp_path, &want_stamp) {
            return Err(unavailable(format!(
                "cannot write {}: {e}",
                stamp_path.display()
            )));
        }
    }

    if let Some(dir) = requirements.parent() {
        build_extensions(
            book_root,
            dir,
            &venv,
            &venv_python,
            &want_stamp,
            deadline,
            progress,
            &mut worked,
        );
    }

    // The installed versions: read again only if something was installed.
    let q = match venv_q {
        Some(q) if !fresh && !installed => q,
        _ => query(&venv_python, &venv_shown, deadline)?,
    };
    if worked {
        progress(&format!(
            "Python environment ready in {:.1} s",
            started.elapsed().as_secs_f64()
        ));
    }
    Ok(PythonEnv {
        python: venv_python,
        version: format!("{} {}", q.implementation, q.version),
        packages: q.packages,
        venv: Some(venv),
    })
}

/// Builds the Cython extensions with `build_ext.py` when it or a `.pyx` changed. Failures
/// are reported through `progress` only: the rungs that need the extensions say so.
#[allow(clippy::too_many_arguments)]
fn build_extensions(
    book_root: &Path,
    dir: &Path,
    venv: &Path,
    venv_python: &Path,
    requirements_stamp: &str,
    deadline: Instant,
    progress: &mut dyn FnMut(&str),
    worked: &mut bool,
) {
    let script = dir.join(BUILD_EXT);
    let Ok(script_bytes) = fs::read(&script) else {
        return;
    };
    let mut h = blake3::Hasher::new();
    h.update(requirements_stamp.as_bytes());
    h.update(&script_bytes);
    let mut missing_module = false;
    let mut pyx: Vec<PathBuf> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "pyx"))
        .collect();
    pyx.sort();
    for p in &pyx {
        h.update(p.file_name().map_or(b"" as &[u8], |n| n.as_encoded_bytes()));
        h.update(&fs::read(p).unwrap_or_default());
        let stem = p.file_stem().map(|s| s.to_string_lossy().into_owned());
        let built = stem.is_some_and(|stem| {
            fs::read_dir(dir).into_iter().flatten().flatten().any(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.starts_with(&format!("{stem}."))
                    && (name.ends_with(".so") || name.ends_with(".pyd"))
            })
        });
        missing_module |= !built;
    }
    let want = format!("{}\n", h.finalize().to_hex());
    let stamp = venv.join(BUILD_EXT_STAMP);
    if !missing_module && fs::read_to_string(&stamp).ok().as_deref() == Some(want.as_str()) {
        return;
    }
    let shown = crate::diag::display_path(&script, book_root);
    progress(&format!(
        "building the Cython extensions (python {})",
        shown.display()
    ));
    *worked = true;
    let mut cmd = Command::new(venv_python);
    cmd.arg(&script).current_dir(book_root);
    match step(cmd, deadline, &mut |_| {}) {
        Ok(out) if out.ok => {
            let _ = fs::write(&stamp, want);
        }
        Ok(out) => progress(&format!(
            "warning: the Cython build failed{}; the Cython rungs will be skipped:\n{}",
            out.status_note, out.tail
        )),
        Err(e) => progress(&format!(
            "warning: the Cython build did not run ({e}); the Cython rungs will be skipped"
        )),
    }
}

/// `<venv>/bin/python` (`Scripts\python.exe` on Windows).
pub fn venv_interpreter(venv: &Path) -> PathBuf {
    if cfg!(windows) {
        venv.join("Scripts").join("python.exe")
    } else {
        venv.join("bin").join("python")
    }
}

/// A bare name is looked up on `PATH` (by the OS when it is started); a path with a
/// separator is relative to the book root.
fn resolve_interpreter(book_root: &Path, interpreter: &str) -> PathBuf {
    let p = Path::new(interpreter);
    if p.components().count() > 1 && p.is_relative() {
        book_root.join(p)
    } else {
        p.to_path_buf()
    }
}

fn is_empty_dir(p: &Path) -> bool {
    fs::read_dir(p).is_ok_and(|mut d| d.next().is_none())
}

/// Runs the interpreter's self-description. `shown` names it in messages as the user wrote it.
fn query(python: &Path, shown: &str, deadline: Instant) -> Result<Query, Unavailable> {
    let mut cmd = Command::new(python);
    cmd.arg("-c").arg(QUERY);
    let remaining = deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_secs(5));
    let cap = match run::execute(cmd, remaining, &mut |_, _| {}) {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let bare = !shown.contains('/');
            return Err(unavailable(if bare {
                format!(
                    "{shown} was not found on PATH; install Python 3 (e.g. apt-get install python3 python3-venv) or set [python] interpreter in book.toml"
                )
            } else {
                format!(
                    "{shown} was not found ({}); set [python] interpreter in book.toml to a Python 3 interpreter",
                    python.display()
                )
            }));
        }
        Err(e) => {
            return Err(unavailable(format!(
                "{shown} could not be started: {e}; set [python] interpreter in book.toml to a Python 3 interpreter"
            )));
        }
    };
    let stdout = cap.text(Some(Stream::Stdout));
    if cap.exit != Exit::Code(0) {
        return Err(unavailable(format!(
            "{shown} did not run ({}):\n{}",
            cap.exit.describe(),
            tail(&cap.text(None), TAIL_LINES)
        )));
    }
    let q: Query = serde_json::from_str(stdout.trim()).map_err(|_| {
        unavailable(format!(
            "{shown} is not a Python 3 interpreter (it printed {:?} for a version query)",
            tail(&stdout, 2)
        ))
    })?;
    if q.major != 3 {
        return Err(unavailable(format!(
            "{shown} is Python {}; perfguide needs Python 3",
            q.version
        )));
    }
    Ok(q)
}

/// The outcome of one set-up step.
struct StepOutput {
    ok: bool,
    /// ` (exit status 1)` and the like, for messages.
    status_note: String,
    /// The last lines of stdout and stderr.
    tail: String,
}

fn step(
    cmd: Command,
    deadline: Instant,
    on_chunk: &mut dyn FnMut(&[u8]),
) -> Result<StepOutput, Unavailable> {
    let remaining = deadline.saturating_duration_since(Instant::now());
    if remaining.is_zero() {
        return Err(unavailable(
            "the Python set-up ran out of time; raise [python] timeout-seconds in book.toml",
        ));
    }
    let program = cmd.get_program().to_string_lossy().into_owned();
    let cap = run::execute(cmd, remaining, &mut |_, chunk| on_chunk(chunk))
        .map_err(|e| unavailable(format!("{program} could not be started: {e}")))?;
    if cap.exit == Exit::TimedOut {
        return Err(unavailable(format!(
            "the Python set-up did not finish within [python] timeout-seconds and was stopped; raise it in book.toml:\n{}",
            tail(&cap.text(None), TAIL_LINES)
        )));
    }
    Ok(StepOutput {
        ok: cap.exit == Exit::Code(0),
        status_note: format!(" ({})", cap.exit.describe()),
        tail: tail(&cap.text(None), TAIL_LINES),
    })
}

/// Non-empty, non-comment lines of a requirements file.
fn count_requirements(bytes: &[u8]) -> usize {
    String::from_utf8_lossy(bytes)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .count()
}

/// The lines of pip's output worth showing as progress: one per package and phase.
fn pip_step(line: &str) -> bool {
    let l = line.trim_start();
    [
        "Collecting",
        "Building wheel",
        "Installing collected",
        "Successfully installed",
        "ERROR",
    ]
    .iter()
    .any(|p| l.starts_with(p))
}

/// The last `n` non-empty lines of `text`, indented for quoting in a message.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let skip = lines.len().saturating_sub(n);
    lines[skip..]
        .iter()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Splits a byte stream into complete lines.
#[derive(Default)]
struct LineSplitter {
    partial: Vec<u8>,
}

impl LineSplitter {
    fn push(&mut self, chunk: &[u8]) -> Vec<String> {
        self.partial.extend_from_slice(chunk);
        let mut lines = Vec::new();
        while let Some(i) = self.partial.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.partial.drain(..=i).collect();
            lines.push(String::from_utf8_lossy(&line).trim_end().to_string());
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(auto_install: bool, interpreter: &str) -> PythonConfig {
        PythonConfig {
            interpreter: interpreter.to_string(),
            requirements: PathBuf::from("requirements.txt"),
            auto_install,
            venv: PathBuf::from("target/venv"),
            timeout_seconds: 300,
            run_timeout_seconds: 60,
        }
    }

    #[test]
    fn a_missing_interpreter_is_unavailable_with_a_reason() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("requirements.txt"), "six\n").unwrap();
        let mut lines = Vec::new();
        for auto in [true, false] {
            let err = prepare(
                dir.path(),
                &config(auto, "python3-that-does-not-exist"),
                &mut |l| lines.push(l.to_string()),
            )
            .unwrap_err();
            assert!(
                err.reason
                    .contains("python3-that-does-not-exist was not found on PATH"),
                "{err}"
            );
            assert!(err.reason.contains("[python] interpreter"), "{err}");
        }
        let err = prepare(dir.path(), &config(false, "bin/python9"), &mut |_| {}).unwrap_err();
        assert!(err.reason.contains("bin/python9 was not found"), "{err}");
        assert!(lines.is_empty(), "no step was started: {lines:?}");
    }

    #[test]
    fn a_program_that_is_not_python_is_unavailable() {
        let dir = tempfile::tempdir().unwrap();
        let err = prepare(dir.path(), &config(false, "true"), &mut |_| {}).unwrap_err();
        assert!(
            err.reason.contains("is not a Python 3 interpreter"),
            "{err}"
        );
        let err = prepare(dir.path(), &config(false, "false"), &mut |_| {}).unwrap_err();
        assert!(err.reason.contains("false did not run"), "{err}");
    }

    #[test]
    fn without_auto_install_the_interpreter_is_used_as_is() {
        let dir = tempfile::tempdir().unwrap();
        let env = prepare(dir.path(), &config(false, "python3"), &mut |_| {}).unwrap();
        assert_eq!(env.python, PathBuf::from("python3"));
        assert!(env.version.starts_with("CPython 3."), "{}", env.version);
        assert!(env.venv.is_none());
        assert!(!dir.path().join("target").exists(), "nothing was created");
    }

    /// The whole life of a managed venv: created and installed once, then reused; a changed
    /// requirements file installs again; a failing install is an `Unavailable` and is retried.
    #[test]
    fn a_venv_is_created_installed_cached_and_updated() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        // A small pure-Python package with no dependencies.
        fs::write(root.join("requirements.txt"), "# tiny\nsix==1.16.0\n").unwrap();
        let cfg = config(true, "python3");

        let mut lines = Vec::new();
        let t = Instant::now();
        let env = prepare(root, &cfg, &mut |l| lines.push(l.to_string())).unwrap();
        let first = t.elapsed();
        assert_eq!(env.packages.get("six").map(String::as_str), Some("1.16.0"));
        assert_eq!(env.python, root.join("target/venv/bin/python"));
        assert!(env.version.starts_with("CPython 3."));
        assert!(lines[0].starts_with("creating the virtual environment target/venv"));
        assert!(
            lines
                .iter()
                .any(|l| l.contains("installing requirements.txt (1 requirement)")),
            "{lines:?}"
        );
        assert!(
            lines
                .last()
                .unwrap()
                .starts_with("Python environment ready in")
        );
        assert!(root.join("target/venv").join(REQUIREMENTS_STAMP).is_file());

        let mut again = Vec::new();
        let t = Instant::now();
        let cached = prepare(root, &cfg, &mut |l| again.push(l.to_string())).unwrap();
        let second = t.elapsed();
        assert_eq!(cached, env);
        assert!(again.is_empty(), "a cached call does no work: {again:?}");
        eprintln!("venv set-up: first {first:?}, cached {second:?}");
        assert!(second < first);

        fs::write(root.join("requirements.txt"), "six==1.17.0\n").unwrap();
        let mut third = Vec::new();
        let updated = prepare(root, &cfg, &mut |l| third.push(l.to_string())).unwrap();
        assert_eq!(
            updated.packages.get("six").map(String::as_str),
            Some("1.17.0")
        );
        assert!(!third.iter().any(|l| l.contains("creating")), "{third:?}");

        // Another interpreter setting (the same Python, named by its path) makes a new venv.
        let exe = String::from_utf8(
            Command::new("python3")
                .args(["-c", "import sys; print(sys.base_prefix + '/bin/python3')"])
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap();
        let mut other = cfg.clone();
        other.interpreter = exe.trim().to_string();
        let mut fourth = Vec::new();
        let recreated = prepare(root, &other, &mut |l| fourth.push(l.to_string())).unwrap();
        assert!(
            fourth[0].starts_with("creating the virtual environment"),
            "{fourth:?}"
        );
        assert_eq!(
            recreated.packages.get("six").map(String::as_str),
            Some("1.17.0")
        );

        fs::write(
            root.join("requirements.txt"),
            "perfguide-no-such-package==0.0.0\n",
        )
        .unwrap();
        let err = prepare(root, &other, &mut |_| {}).unwrap_err();
        assert!(
            err.reason
                .starts_with("pip install -r requirements.txt failed"),
            "{err}"
        );
        assert!(err.reason.contains("perfguide-no-such-package"), "{err}");
        let err2 = prepare(root, &other, &mut |_| {}).unwrap_err();
        assert_eq!(err, err2, "a failed install is retried, not remembered");
    }

    #[test]
    fn a_folder_of_the_users_is_never_cleared() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("target/venv")).unwrap();
        fs::write(root.join("target/venv/notes.txt"), "mine").unwrap();
        fs::write(root.join("requirements.txt"), "").unwrap();
        let err = prepare(root, &config(true, "python3"), &mut |_| {}).unwrap_err();
        assert!(
            err.reason.contains("not a working virtual environment"),
            "{err}"
        );
        assert!(root.join("target/venv/notes.txt").is_file());
    }

    #[test]
    fn a_missing_explicit_requirements_file_is_unavailable() {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = config(true, "python3");
        cfg.requirements = PathBuf::from("py/reqs.txt");
        let err = prepare(dir.path(), &cfg, &mut |_| {}).unwrap_err();
        assert!(
            err.reason
                .contains("cannot read the requirements file py/reqs.txt"),
            "{err}"
        );
    }

    #[test]
    fn helpers() {
        assert_eq!(count_requirements(b"# c\n\nnumpy==2\n  scipy\n"), 2);
        assert!(pip_step("Collecting six==1.16.0"));
        assert!(!pip_step("  Downloading six-1.16.0.whl (11 kB)"));
        assert_eq!(tail("a\n\nb\nc\n", 2), "    b\n    c");
        let mut s = LineSplitter::default();
        assert_eq!(s.push(b"ab"), Vec::<String>::new());
        assert_eq!(s.push(b"c\nd\r\ne"), vec!["abc", "d"]);
    }
}
