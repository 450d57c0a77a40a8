//! `{{#run PATH [ARGS...] [should-fail]}}`: runs a program at build time and shows its
//! command and output.
//!
//! **Where the program runs.** `PATH` is relative to the book root (the directory of
//! `book.toml`), which is also the working directory, so the command shown on the page
//! (`$ python examples/python/x.py ARGS`) is the one a reader types in a checkout. The file
//! must lie under the book root after symbolic links are resolved (the rule of includes). A
//! `.py` file runs with the Python environment of [`crate::pyenv`] (prepared lazily, once
//! per build, only when a chapter runs a `.py` file); any other file is executed directly.
//! Paths under the book root in the output are shown relative to it, so a page does not
//! depend on where the book was checked out.
//!
//! **Output.** stdout and stderr are read from two pipes by one thread with `poll(2)`, so
//! their order is kept as far as the program's buffering (Python runs unbuffered,
//! `PYTHONUNBUFFERED=1`) and the two pipes allow: output written to both streams within the
//! same instant, before perfguide gets to read, may come out one stream first. (One pipe
//! for both would keep the order but lose which stream a line came from; a pseudo-terminal
//! the same, and would change how programs format their output.) stderr is marked
//! `<span class="hl-output stderr">`; carriage-return progress lines keep their last state
//! and terminal colour codes are removed.
//!
//! **The run cache is part of the measurement store**: `<[measure] store>/runs/<PATH>/run.toml`
//! (or `args-<hash>.toml` when there are arguments). It is committed with the measurements,
//! for the same reasons: a page shows exactly the recorded output, so two builds from the same
//! store are byte-identical (timings printed by a profiling example do not change on every
//! build), a reviewer sees a changed output in the diff (TOML keeps the output as readable
//! multi-line text), and a fresh clone builds the page on a machine without Python. An entry
//! has two keys:
//!
//! - the *source key*: the program's bytes, the local modules a Python script imports (files
//!   `NAME.py`/`NAME.pyx` found next to the script or in a parent directory under the book
//!   root, followed transitively), the arguments and `should-fail`;
//! - the *environment key*: the interpreter's implementation and version and every installed
//!   package's version (empty for programs that are not Python).
//!
//! A run whose two keys match is not run again. When Python is unavailable, a `.py` run whose
//! source key matches is shown with a note "not run here: REASON" and the date it ran; without
//! such an entry the build fails, because the output is the chapter's content and inventing
//! it is not an option. `--frozen` and `perfguide check` never run programs: they use an entry
//! whose source key matches, or fail.
//!
//! **Failures.** A non-zero exit (or a signal) fails the build with the end of the output, at
//! the directive's file:line, unless the directive ends in `should-fail`, which makes a zero
//! exit the error instead. A run past `[python] run-timeout-seconds` is killed with its whole
//! process group (a `multiprocessing` pool or `mpirun` does not outlive it) and reported.
//! Failed runs are never cached.

use std::collections::BTreeSet;
use std::fs;
use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::config::{Config, PythonConfig};
use crate::diag::SourceError;
use crate::directive::{Directive, Fragment, Located};
use crate::pyenv::{self, PythonEnv, Unavailable};
use crate::render::escape_html;

/// Version of the run record format; a record of another version is run again.
pub const SCHEMA: u32 = 1;
/// The run cache, inside the measurement store.
pub const RUNS_DIR: &str = "runs";
/// Output kept per run; the rest is counted and dropped (the page says so).
pub const MAX_OUTPUT_BYTES: usize = 1 << 20;
/// How many lines of output a build error quotes.
const ERROR_LINES: usize = 30;
/// After the program exits, how long its children may keep the pipes open.
const EXIT_GRACE: Duration = Duration::from_secs(1);

/// Whether programs may run in this build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunMode {
    /// Run what the cache does not have (a normal build).
    Run,
    /// Never run: use the cache or fail (`--frozen`, `perfguide check`).
    CacheOnly,
}

/// Renders `{{#run}}` directives of one build. The Python environment is prepared on the
/// first `.py` run that needs it and kept for the rest of the build.
pub struct Runner {
    /// Canonical.
    root: PathBuf,
    /// As given (symbolic links unresolved), for cleaning paths out of the output.
    given_root: PathBuf,
    python: PythonConfig,
    cache_dir: PathBuf,
    mode: RunMode,
    env: Option<Result<PythonEnv, Unavailable>>,
    progress: Box<dyn FnMut(&str)>,
    dependencies: BTreeSet<PathBuf>,
}

/// One recorded run, as stored in the run cache.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct RunRecord {
    pub schema: u32,
    /// The command as shown: `python examples/python/x.py --n 3`.
    pub command: String,
    /// The program, relative to the book root.
    pub program: String,
    pub args: Vec<String>,
    pub should_fail: bool,
    pub source_key: String,
    pub env_key: String,
    /// `CPython 3.11.7` for Python programs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub python: Option<String>,
    /// UTC, ISO 8601.
    pub ran_at: String,
    /// Wall-clock seconds of the run.
    pub seconds: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
    /// More than [`MAX_OUTPUT_BYTES`] of output: the rest was dropped.
    pub truncated: bool,
    /// The output in the order it was written, one entry per change of stream.
    pub output: Vec<Chunk>,
}

/// A stretch of output from one stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chunk {
    pub stream: Stream,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    Stdout,
    Stderr,
}

/// The program file of a directive, checked.
struct Program {
    abs: PathBuf,
    /// Relative to the book root, `/`-separated.
    rel: String,
    python: bool,
}

impl Runner {
    /// A runner for the book at `book_root`. Progress (the Python set-up, each program that
    /// runs) goes to stderr; see [`Runner::with_progress`].
    pub fn new(book_root: &Path, config: &Config, mode: RunMode) -> Runner {
        let root = fs::canonicalize(book_root).unwrap_or_else(|_| book_root.to_path_buf());
        Runner {
            cache_dir: config.measure_store(&root).join(RUNS_DIR),
            root,
            given_root: book_root.to_path_buf(),
            python: config.python.clone(),
            mode,
            env: None,
            progress: Box::new(|line| eprintln!("{line}")),
            dependencies: BTreeSet::new(),
        }
    }

    /// Sends progress lines somewhere else than stderr.
    pub fn with_progress(mut self, progress: impl FnMut(&str) + 'static) -> Runner {
        self.progress = Box::new(progress);
        self
    }

    /// Uses an environment prepared elsewhere (e.g. by the Python rungs), so a build
    /// prepares it once.
    pub fn with_python_env(mut self, env: Result<PythonEnv, Unavailable>) -> Runner {
        self.env = Some(env);
        self
    }

    /// The Python environment, prepared on first use.
    pub fn python_env(&mut self) -> &Result<PythonEnv, Unavailable> {
        let Runner {
            root,
            python,
            progress,
            env,
            ..
        } = self;
        env.get_or_insert_with(|| {
            let mut say = |line: &str| progress(&format!("python: {line}"));
            let env = pyenv::prepare(root, python, &mut say);
            if let Err(u) = &env {
                progress(&format!(
                    "warning: Python is unavailable, so {{{{#run}}}} of .py files can only show recorded output: {u}"
                ));
            }
            env
        })
    }

    /// The files the rendered runs depend on (programs, the local modules they import, the
    /// requirements file), canonical: the build stamp hashes them.
    pub fn dependencies(&self) -> &BTreeSet<PathBuf> {
        &self.dependencies
    }

    /// Renders one `{{#run}}`; any other directive is an error.
    pub fn render(&mut self, d: &Located) -> Result<Fragment, SourceError> {
        let Directive::Run {
            path,
            args,
            should_fail,
        } = &d.directive
        else {
            return Err(d.error(format!("{} is not a {{{{#run}}}} directive", d.directive)));
        };
        let program = self.program(path).map_err(|(m, h)| d.error(m).help(h))?;
        let modules = if program.python {
            local_modules(&program.abs, &self.root)
        } else {
            Vec::new()
        };
        self.dependencies.insert(program.abs.clone());
        self.dependencies.extend(modules.iter().cloned());
        if program.python {
            let req = self.root.join(&self.python.requirements);
            self.dependencies
                .insert(fs::canonicalize(&req).unwrap_or(req));
        }
        let source_key = source_key(&program, &modules, args, *should_fail, &self.root)
            .map_err(|e| d.error(format!("cannot read {}: {e}", program.rel)))?;
        let file = self.cache_file(&program, args);
        let shown_file = crate::diag::display_path(&file, &self.root);
        let cached = read_record(&file).map_err(|e| {
            d.error(format!(
                "{} is not a valid run record: {e}",
                shown_file.display()
            ))
            .help("delete it to run the program again")
        })?;
        let cached_source = cached.filter(|r| r.source_key == source_key);
        let command = display_command(&program, args);

        if self.mode == RunMode::CacheOnly {
            return match cached_source {
                Some(r) => Ok(render_record(&r, None)),
                None => Err(d
                    .error(format!(
                        "the output of `{command}` is not recorded in {} (or the program changed since it ran), and this build may not run programs",
                        shown_file.parent().unwrap_or(&shown_file).display()
                    ))
                    .help("run `perfguide build` without --frozen to run it")),
            };
        }

        let (env_key, python, launcher) = if program.python {
            match self.python_env() {
                Ok(env) => (env_key(env), Some(env.version.clone()), Some(env.clone())),
                Err(u) => {
                    let reason = u.reason.clone();
                    return match cached_source {
                        Some(r) => Ok(render_record(&r, Some(&reason))),
                        None => Err(d
                            .error(format!(
                                "`{command}` needs Python, which is unavailable here: {reason}\n  and no recorded output of this version of {} is in {}",
                                program.rel,
                                shown_file.parent().unwrap_or(&shown_file).display()
                            ))
                            .help("fix the Python set-up ([python] in book.toml), or build once where Python works and commit the run cache with the measurements")),
                    };
                }
            }
        } else {
            (String::new(), None, None)
        };
        if let Some(r) = cached_source.filter(|r| r.env_key == env_key) {
            return Ok(render_record(&r, None));
        }

        let mut cmd = match &launcher {
            Some(env) => {
                let mut c = Command::new(&env.python);
                c.arg(&program.rel).env("PYTHONUNBUFFERED", "1");
                if let Some(venv) = &env.venv {
                    let bin = pyenv::venv_interpreter(venv)
                        .parent()
                        .map(Path::to_path_buf)
                        .unwrap_or_default();
                    let path = std::env::var_os("PATH").unwrap_or_default();
                    let joined = std::env::join_paths(
                        std::iter::once(bin).chain(std::env::split_paths(&path)),
                    )
                    .unwrap_or(path);
                    c.env("VIRTUAL_ENV", venv).env("PATH", joined);
                }
                c
            }
            None => Command::new(&program.abs),
        };
        cmd.args(args).current_dir(&self.root);
        (self.progress)(&format!("running {command}"));
        let timeout = Duration::from_secs(self.python.run_timeout_seconds.max(1));
        let cap = execute(cmd, timeout, &mut |_, _| {}).map_err(|e| {
            let help = if e.kind() == io::ErrorKind::PermissionDenied {
                format!(
                    "make it executable (chmod +x {}) or give it a #! line",
                    program.rel
                )
            } else {
                "check that the program exists and can run on this machine".to_string()
            };
            d.error(format!("`{command}` could not be started: {e}"))
                .help(help)
        })?;
        let record = self.record(
            &program,
            args,
            *should_fail,
            source_key,
            env_key,
            python,
            &command,
            &cap,
        );
        let quoted = quote_output(&record);
        match (&cap.exit, *should_fail) {
            (Exit::TimedOut, _) => {
                return Err(d
                    .error(format!(
                        "`{command}` did not finish within {} s and was stopped{quoted}",
                        timeout.as_secs()
                    ))
                    .help("raise [python] run-timeout-seconds in book.toml if it is legitimately slow, or make the example faster"));
            }
            (Exit::Code(0), true) => {
                return Err(d
                    .error(format!(
                        "`{command}` succeeded, but the directive says should-fail{quoted}"
                    ))
                    .help(
                        "remove should-fail, or make the example fail as the text says it does",
                    ));
            }
            (exit, false) if *exit != Exit::Code(0) => {
                return Err(d
                    .error(format!("`{command}` failed ({}){quoted}", exit.describe()))
                    .help("fix the program, or end the directive with should-fail if the failure is the point"));
            }
            _ => {}
        }
        write_record(&file, &record).map_err(|e| {
            d.error(format!(
                "cannot record the output of `{command}` in {}: {e}",
                shown_file.display()
            ))
        })?;
        Ok(render_record(&record, None))
    }

    /// Resolves `path` against the book root and refuses anything outside it.
    fn program(&self, path: &str) -> Result<Program, (String, String)> {
        let written = Path::new(path);
        if written.is_absolute() {
            return Err((
                format!("{{{{#run}}}} takes a path relative to the book root, not `{path}`"),
                "write the path from the directory of book.toml, e.g. examples/python/x.py".into(),
            ));
        }
        let joined = self.root.join(written);
        let canonical = fs::canonicalize(&joined).map_err(|e| {
            (
                format!("cannot run `{path}`: {e}"),
                "paths of {{#run}} are relative to the book root (the directory of book.toml), where the program runs".to_string(),
            )
        })?;
        if !canonical.starts_with(&self.root) {
            return Err((
                format!(
                    "`{path}` is outside the book root (it resolves to {})",
                    canonical.display()
                ),
                "{{#run}} only runs programs that are part of the book".into(),
            ));
        }
        if !canonical.is_file() {
            return Err((
                format!("`{path}` is not a file"),
                "name the program to run, e.g. examples/python/x.py".into(),
            ));
        }
        let rel = crate::nav::slash_path(canonical.strip_prefix(&self.root).unwrap_or(&canonical));
        Ok(Program {
            python: canonical.extension().is_some_and(|e| e == "py"),
            abs: canonical,
            rel,
        })
    }

    fn cache_file(&self, program: &Program, args: &[String]) -> PathBuf {
        let name = if args.is_empty() {
            "run.toml".to_string()
        } else {
            let mut h = blake3::Hasher::new();
            for a in args {
                h.update(&(a.len() as u64).to_le_bytes());
                h.update(a.as_bytes());
            }
            format!("args-{}.toml", &h.finalize().to_hex()[..12])
        };
        self.cache_dir.join(&program.rel).join(name)
    }

    #[allow(clippy::too_many_arguments)]
    fn record(
        &self,
        program: &Program,
        args: &[String],
        should_fail: bool,
        source_key: String,
        env_key: String,
        python: Option<String>,
        command: &str,
        cap: &Captured,
    ) -> RunRecord {
        let mut roots = vec![format!("{}/", self.root.display())];
        if self.given_root.is_absolute() && self.given_root != self.root {
            roots.push(format!("{}/", self.given_root.display()));
        }
        let output = cap
            .merged()
            .into_iter()
            .map(|(stream, bytes)| {
                let mut text = clean(&String::from_utf8_lossy(&bytes));
                for r in roots.iter().filter(|r| r.len() > 1) {
                    text = text.replace(r.as_str(), "");
                }
                Chunk { stream, text }
            })
            .filter(|c| !c.text.is_empty())
            .collect();
        let (exit_code, signal) = match cap.exit {
            Exit::Code(c) => (Some(c), None),
            Exit::Signal(s) => (None, Some(s)),
            Exit::TimedOut => (None, None),
        };
        RunRecord {
            schema: SCHEMA,
            command: command.to_string(),
            program: program.rel.clone(),
            args: args.to_vec(),
            should_fail,
            source_key,
            env_key,
            python,
            ran_at: crate::store::now_iso8601(),
            seconds: (cap.elapsed.as_secs_f64() * 1000.0).round() / 1000.0,
            exit_code,
            signal,
            truncated: cap.truncated,
            output,
        }
    }
}

/// The `{{#run}}` arm of a directive renderer: errors clearly when the build has no runner.
pub fn render(runner: Option<&mut Runner>, d: &Located) -> Result<Fragment, SourceError> {
    match runner {
        Some(r) => r.render(d),
        None => Err(d
            .error(format!("{} cannot run in this build", d.directive))
            .help("this build of perfguide was not given a program runner")),
    }
}

/// `python examples/python/x.py ARGS` for scripts, `./PATH ARGS` for other programs.
fn display_command(program: &Program, args: &[String]) -> String {
    let mut words = vec![if program.python {
        format!("python {}", shell_quote(&program.rel))
    } else {
        format!("./{}", shell_quote(&program.rel))
    }];
    words.extend(args.iter().map(|a| shell_quote(a)));
    words.join(" ")
}

/// Quotes a word for a POSIX shell when it needs it.
fn shell_quote(word: &str) -> String {
    let safe = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./=:,+@%^".contains(c));
    if safe {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

fn hash_part(h: &mut blake3::Hasher, bytes: &[u8]) {
    h.update(&(bytes.len() as u64).to_le_bytes());
    h.update(bytes);
}

fn source_key(
    program: &Program,
    modules: &[PathBuf],
    args: &[String],
    should_fail: bool,
    root: &Path,
) -> io::Result<String> {
    let mut h = blake3::Hasher::new();
    hash_part(&mut h, format!("perfguide-run {SCHEMA}").as_bytes());
    hash_part(&mut h, program.rel.as_bytes());
    hash_part(&mut h, &fs::read(&program.abs)?);
    for m in modules {
        let rel = m.strip_prefix(root).unwrap_or(m);
        hash_part(&mut h, rel.to_string_lossy().as_bytes());
        hash_part(&mut h, &fs::read(m).unwrap_or_default());
    }
    hash_part(&mut h, &(args.len() as u64).to_le_bytes());
    for a in args {
        hash_part(&mut h, a.as_bytes());
    }
    hash_part(&mut h, &[u8::from(should_fail)]);
    Ok(h.finalize().to_hex()[..32].to_string())
}

fn env_key(env: &PythonEnv) -> String {
    let mut h = blake3::Hasher::new();
    hash_part(&mut h, env.version.as_bytes());
    for (name, version) in &env.packages {
        hash_part(&mut h, name.as_bytes());
        hash_part(&mut h, version.as_bytes());
    }
    h.finalize().to_hex()[..32].to_string()
}

/// The book's own modules a Python script imports, transitively: for each top-level name in
/// an `import NAME` or `from NAME import`, the files `NAME.py`, `NAME.pyx` and
/// `NAME/__init__.py` in the importing file's directory or any parent under the book root.
/// This over-approximates Python's search path (scripts here add their parent directory to
/// `sys.path`), which only costs a needless re-run, never a stale output. Sorted.
pub fn local_modules(script: &Path, root: &Path) -> Vec<PathBuf> {
    let mut found = BTreeSet::new();
    let mut todo = vec![script.to_path_buf()];
    while let Some(file) = todo.pop() {
        let Ok(text) = fs::read_to_string(&file) else {
            continue;
        };
        for name in imported_names(&text) {
            let mut dir = file.parent();
            while let Some(d) = dir {
                if !d.starts_with(root) {
                    break;
                }
                for candidate in [
                    d.join(format!("{name}.py")),
                    d.join(format!("{name}.pyx")),
                    d.join(&name).join("__init__.py"),
                ] {
                    if let Ok(c) = fs::canonicalize(&candidate)
                        && c.starts_with(root)
                        && c != script
                        && c.is_file()
                        && found.insert(c.clone())
                        && found.len() < 500
                    {
                        todo.push(c);
                    }
                }
                dir = d.parent();
            }
        }
    }
    found.into_iter().collect()
}

/// Top-level module names of `import a.b, c as d` and `from a.b import x` lines.
fn imported_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let valid = |n: &str| {
        !n.is_empty()
            && n.chars().all(|c| c.is_alphanumeric() || c == '_')
            && !n.starts_with(|c: char| c.is_ascii_digit())
    };
    for line in text.lines() {
        let line = line.trim_start();
        if let Some(rest) = line.strip_prefix("import ") {
            for part in rest.split('#').next().unwrap_or("").split(',') {
                let module = part.split_whitespace().next().unwrap_or("");
                let top = module.split('.').next().unwrap_or("");
                if valid(top) {
                    names.insert(top.to_string());
                }
            }
        } else if let Some(rest) = line.strip_prefix("from ") {
            let module = rest.split_whitespace().next().unwrap_or("");
            let top = module.split('.').next().unwrap_or("");
            if valid(top) {
                names.insert(top.to_string());
            }
        }
    }
    names
}

fn read_record(file: &Path) -> Result<Option<RunRecord>, String> {
    let text = match fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    let record: RunRecord = toml::from_str(&text).map_err(|e| e.to_string())?;
    // Another format version: run again (the file is replaced).
    Ok((record.schema == SCHEMA).then_some(record))
}

/// Writes through a temporary file, so an interrupted build never leaves half a record.
fn write_record(file: &Path, record: &RunRecord) -> io::Result<()> {
    let text = format!(
        "# Output of {{{{#run {}}}}}, recorded by perfguide: pages show it until the program or its Python environment changes.\n{}",
        record.command.split_once(' ').map_or("", |(_, rest)| rest),
        toml::to_string_pretty(record).map_err(io::Error::other)?
    );
    if let Some(parent) = file.parent() {
        fs::create_dir_all(parent)?;
    }
    let tmp = file.with_extension("toml.tmp");
    fs::write(&tmp, text)?;
    fs::rename(&tmp, file)
}

/// The end of the output, for an error message.
fn quote_output(record: &RunRecord) -> String {
    let all: String = record.output.iter().map(|c| c.text.as_str()).collect();
    let lines: Vec<&str> = all.lines().collect();
    if lines.is_empty() {
        return ", with no output".to_string();
    }
    let skip = lines.len().saturating_sub(ERROR_LINES);
    let mut out = if skip > 0 {
        format!(
            "; the last {ERROR_LINES} of {} lines of its output:",
            lines.len()
        )
    } else {
        "; its output:".to_string()
    };
    for l in &lines[skip..] {
        out.push_str("\n    ");
        out.push_str(l);
    }
    out
}

/// The HTML of a recorded run: a console block (the command, then the output with stderr
/// marked) and a caption with when and how it ran. Only the record is read, so the same
/// record renders the same bytes. `offline` is the reason Python could not run here.
pub fn render_record(r: &RunRecord, offline: Option<&str>) -> Fragment {
    let mut html = String::from(
        "<figure class=\"run\">\n<pre><code class=\"language-console\"><span class=\"hl-prompt\">$ </span>",
    );
    html.push_str(&escape_html(&r.command));
    html.push('\n');
    let mut text = format!("$ {}\n", r.command);
    for c in &r.output {
        let class = match c.stream {
            Stream::Stdout => "hl-output",
            Stream::Stderr => "hl-output stderr",
        };
        for line in c.text.split_inclusive('\n') {
            html.push_str(&format!(
                "<span class=\"{class}\">{}</span>",
                escape_html(line)
            ));
        }
        text.push_str(&c.text);
    }
    html.push_str("</code></pre>\n<figcaption class=\"run-note\">");
    if let Some(reason) = offline {
        let first = reason.lines().next().unwrap_or(reason);
        html.push_str(&format!(
            "<strong>Not run here:</strong> {}. Recorded output: ",
            escape_html(first.trim_end_matches('.'))
        ));
    }
    let mut note = format!(
        "ran on {}{} in {}",
        r.ran_at.get(..10).unwrap_or(&r.ran_at),
        r.python
            .as_ref()
            .map(|p| format!(" with {p}"))
            .unwrap_or_default(),
        crate::fragments::format_seconds(r.seconds)
    );
    match (r.exit_code, r.signal) {
        (Some(0), _) | (None, None) => {}
        (Some(c), _) => note.push_str(&format!(", exit status {c}")),
        (None, Some(s)) => note.push_str(&format!(", killed by {}", signal_name(s))),
    }
    if r.should_fail {
        note.push_str(" (the example fails on purpose)");
    }
    if r.output.iter().any(|c| c.stream == Stream::Stderr) {
        note.push_str("; standard error is marked");
    }
    if r.truncated {
        note.push_str(&format!(
            "; output cut after {} MiB",
            MAX_OUTPUT_BYTES >> 20
        ));
    }
    note.push('.');
    html.push_str(&escape_html(&note));
    html.push_str("</figcaption>\n</figure>\n");
    Fragment { html, text }
}

/// Removes terminal colour codes and keeps the last state of lines redrawn with `\r`.
fn clean(text: &str) -> String {
    let mut no_ansi = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            // Parameters and intermediates, then one final byte in @..~.
            for d in chars.by_ref() {
                if ('@'..='~').contains(&d) {
                    break;
                }
            }
            continue;
        }
        no_ansi.push(c);
    }
    let mut out = String::with_capacity(no_ansi.len());
    for line in no_ansi.split_inclusive('\n') {
        let (body, nl) = match line.strip_suffix('\n') {
            Some(b) => (b.strip_suffix('\r').unwrap_or(b), "\n"),
            None => (line, ""),
        };
        out.push_str(body.rsplit('\r').next().unwrap_or(body));
        out.push_str(nl);
    }
    out
}

fn signal_name(signal: i32) -> String {
    let name = match signal {
        libc::SIGINT => "SIGINT",
        libc::SIGILL => "SIGILL",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGTERM => "SIGTERM",
        _ => return format!("signal {signal}"),
    };
    name.to_string()
}

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
    /// Killed by us at the time limit.
    TimedOut,
}

impl Exit {
    pub fn describe(&self) -> String {
        match self {
            Exit::Code(c) => format!("exit status {c}"),
            Exit::Signal(s) => format!("killed by {}", signal_name(*s)),
            Exit::TimedOut => "stopped at the time limit".to_string(),
        }
    }
}

/// What a process wrote and how it ended.
#[derive(Debug, Clone)]
pub struct Captured {
    /// Output in the order it was read, as read (not merged).
    pub chunks: Vec<(Stream, Vec<u8>)>,
    pub exit: Exit,
    /// From the start to the exit (or the kill).
    pub elapsed: Duration,
    pub truncated: bool,
}

impl Captured {
    /// Consecutive chunks of one stream joined (so UTF-8 split across reads is whole).
    pub fn merged(&self) -> Vec<(Stream, Vec<u8>)> {
        let mut out: Vec<(Stream, Vec<u8>)> = Vec::new();
        for (s, b) in &self.chunks {
            match out.last_mut() {
                Some((last, bytes)) if last == s => bytes.extend_from_slice(b),
                _ => out.push((*s, b.clone())),
            }
        }
        out
    }

    /// The output of one stream, or of both in order.
    pub fn text(&self, only: Option<Stream>) -> String {
        let bytes: Vec<u8> = self
            .chunks
            .iter()
            .filter(|(s, _)| only.is_none_or(|o| o == *s))
            .flat_map(|(_, b)| b.iter().copied())
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

/// Runs `cmd` with stdin closed and stdout and stderr captured, in its own process group,
/// for at most `timeout`; then the whole group is killed (`SIGKILL`) and the exit is
/// [`Exit::TimedOut`]. `on_chunk` sees the output as it arrives (for progress). Both pipes
/// are read by this thread with `poll(2)`, which keeps the order of the two streams and
/// cannot deadlock on a full pipe. Children that keep the pipes open after the program
/// exited get [`EXIT_GRACE`], then are killed too. Errors are failures to start.
pub fn execute(
    mut cmd: Command,
    timeout: Duration,
    on_chunk: &mut dyn FnMut(Stream, &[u8]),
) -> io::Result<Captured> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let start = Instant::now();
    let deadline = start + timeout;
    let mut child = cmd.spawn()?;
    // The child leads its own group: its id is the group's id.
    let group = child.id() as libc::pid_t;
    let kill_group = || {
        // SAFETY: kill(2) with a negative pid signals the process group; no memory involved.
        unsafe {
            libc::kill(-group, libc::SIGKILL);
        }
    };
    let mut pipes: Vec<(Stream, Box<dyn ReadFd>)> = Vec::new();
    if let Some(o) = child.stdout.take() {
        pipes.push((Stream::Stdout, Box::new(o)));
    }
    if let Some(e) = child.stderr.take() {
        pipes.push((Stream::Stderr, Box::new(e)));
    }
    let mut chunks = Vec::new();
    let mut kept = 0usize;
    let mut truncated = false;
    let mut exited: Option<(std::process::ExitStatus, Instant)> = None;
    let mut timed_out = false;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let now = Instant::now();
        match exited {
            Some(_) if pipes.is_empty() => break,
            Some((_, at)) if now.duration_since(at) >= EXIT_GRACE => {
                kill_group();
                break;
            }
            None if now >= deadline => {
                kill_group();
                timed_out = true;
                break;
            }
            _ => {}
        }
        let wait = deadline
            .saturating_duration_since(now)
            .min(Duration::from_millis(if pipes.is_empty() { 5 } else { 50 }));
        if pipes.is_empty() {
            std::thread::sleep(wait);
        } else {
            let mut fds: Vec<libc::pollfd> = pipes
                .iter()
                .map(|(_, p)| libc::pollfd {
                    fd: p.raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                })
                .collect();
            // SAFETY: `fds` is a valid array of `fds.len()` pollfd structs for the call.
            let n = unsafe {
                libc::poll(
                    fds.as_mut_ptr(),
                    fds.len() as libc::nfds_t,
                    wait.as_millis() as libc::c_int,
                )
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    kill_group();
                    let _ = child.wait();
                    return Err(e);
                }
            }
            let mut closed = Vec::new();
            for (i, fd) in fds.iter().enumerate() {
                if fd.revents == 0 {
                    continue;
                }
                let (stream, pipe) = &mut pipes[i];
                match pipe.read(&mut buf) {
                    Ok(0) => closed.push(i),
                    Ok(n) => {
                        on_chunk(*stream, &buf[..n]);
                        let room = MAX_OUTPUT_BYTES.saturating_sub(kept);
                        if n > room {
                            truncated = true;
                        }
                        let take = n.min(room);
                        if take > 0 {
                            chunks.push((*stream, buf[..take].to_vec()));
                            kept += take;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => closed.push(i),
                }
            }
            for i in closed.into_iter().rev() {
                pipes.remove(i);
            }
        }
        if exited.is_none()
            && let Some(status) = child.try_wait()?
        {
            exited = Some((status, Instant::now()));
        }
    }
    let (status, end) = match exited {
        Some((s, at)) => (s, at),
        None => (child.wait()?, Instant::now()),
    };
    let exit = if timed_out {
        Exit::TimedOut
    } else if let Some(code) = status.code() {
        Exit::Code(code)
    } else {
        Exit::Signal(status.signal().unwrap_or(0))
    };
    Ok(Captured {
        chunks,
        exit,
        elapsed: end.duration_since(start),
        truncated,
    })
}

/// A pipe end we can poll and read.
trait ReadFd: Read {
    fn raw_fd(&self) -> i32;
}

impl<T: Read + AsRawFd> ReadFd for T {
    fn raw_fd(&self) -> i32 {
        self.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Command {
        let mut c = Command::new("sh");
        c.arg("-c").arg(script);
        c
    }

    #[test]
    fn streams_are_captured_separately_and_in_order() {
        let cap = execute(
            sh("echo one; sleep 0.05; echo two >&2; sleep 0.05; echo three; exit 3"),
            Duration::from_secs(10),
            &mut |_, _| {},
        )
        .unwrap();
        assert_eq!(cap.exit, Exit::Code(3));
        let merged: Vec<(Stream, String)> = cap
            .merged()
            .into_iter()
            .map(|(s, b)| (s, String::from_utf8(b).unwrap()))
            .collect();
        assert_eq!(
            merged,
            vec![
                (Stream::Stdout, "one\n".to_string()),
                (Stream::Stderr, "two\n".to_string()),
                (Stream::Stdout, "three\n".to_string()),
            ]
        );
    }

    #[test]
    fn a_hang_is_killed_with_its_children_at_the_timeout() {
        let t = Instant::now();
        // The background sleep holds the pipes: it must die with the group.
        let cap = execute(
            sh("echo started; sleep 30 & sleep 30"),
            Duration::from_millis(300),
            &mut |_, _| {},
        )
        .unwrap();
        assert_eq!(cap.exit, Exit::TimedOut);
        assert_eq!(cap.text(None), "started\n");
        assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    }

    #[test]
    fn children_holding_the_pipes_do_not_hold_the_build() {
        let t = Instant::now();
        let cap = execute(
            sh("sleep 30 & echo done"),
            Duration::from_secs(20),
            &mut |_, _| {},
        )
        .unwrap();
        assert_eq!(cap.exit, Exit::Code(0));
        assert_eq!(cap.text(None), "done\n");
        assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    }

    #[test]
    fn signals_and_start_failures() {
        let cap = execute(sh("kill -SEGV $$"), Duration::from_secs(10), &mut |_, _| {}).unwrap();
        assert_eq!(cap.exit, Exit::Signal(libc::SIGSEGV));
        assert_eq!(cap.exit.describe(), "killed by SIGSEGV");
        let err = execute(
            Command::new("/nonexistent/program"),
            Duration::from_secs(1),
            &mut |_, _| {},
        )
        .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn huge_output_is_cut() {
        let cap = execute(
            sh("head -c 3000000 /dev/zero | tr '\\0' x"),
            Duration::from_secs(20),
            &mut |_, _| {},
        )
        .unwrap();
        assert!(cap.truncated);
        assert_eq!(cap.text(None).len(), MAX_OUTPUT_BYTES);
    }

    #[test]
    fn cleaning_keeps_the_last_state_of_redrawn_lines() {
        assert_eq!(
            clean("\u{1b}[1;31mred\u{1b}[0m\n[#   ] 10%\r[####] 100%\r\nok"),
            "red\n[####] 100%\nok"
        );
    }

    #[test]
    fn imports_are_found() {
        let names = imported_names(
            "import os, sys as s\nfrom pi_integration import pi_numpy  # x\n    import numpy.linalg\nfrom . import x\nprint('import nothing')\n",
        );
        assert_eq!(
            names.into_iter().collect::<Vec<_>>(),
            vec!["numpy", "os", "pi_integration", "sys"]
        );
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        fs::create_dir_all(root.join("ex/sub")).unwrap();
        fs::write(root.join("ex/sub/main.py"), "import helper\nimport os\n").unwrap();
        fs::write(root.join("ex/helper.py"), "from fast import f\n").unwrap();
        fs::write(root.join("ex/fast.pyx"), "def f(): pass\n").unwrap();
        fs::write(root.join("ex/unused.py"), "").unwrap();
        assert_eq!(
            local_modules(&root.join("ex/sub/main.py"), &root),
            vec![root.join("ex/fast.pyx"), root.join("ex/helper.py")]
        );
    }

    #[test]
    fn commands_are_quoted_for_a_shell() {
        let p = Program {
            abs: PathBuf::from("/b/x.py"),
            rel: "examples/x.py".into(),
            python: true,
        };
        assert_eq!(
            display_command(&p, &["--n".into(), "3".into(), "a b".into(), "it's".into()]),
            r"python examples/x.py --n 3 'a b' 'it'\''s'"
        );
    }

    fn record() -> RunRecord {
        RunRecord {
            schema: SCHEMA,
            command: "python x.py".into(),
            program: "x.py".into(),
            args: vec![],
            should_fail: true,
            source_key: "s".into(),
            env_key: "e".into(),
            python: Some("CPython 3.11.7".into()),
            ran_at: "2026-01-02T03:04:05Z".into(),
            seconds: 0.25,
            exit_code: Some(1),
            signal: None,
            truncated: false,
            output: vec![
                Chunk {
                    stream: Stream::Stdout,
                    text: "a < b\n".into(),
                },
                Chunk {
                    stream: Stream::Stderr,
                    text: "Traceback\n  line '1'\n".into(),
                },
            ],
        }
    }

    #[test]
    fn records_round_trip_through_readable_toml() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("runs/x.py/run.toml");
        let r = record();
        write_record(&file, &r).unwrap();
        let text = fs::read_to_string(&file).unwrap();
        assert!(text.starts_with("# Output of {{#run x.py}}"), "{text}");
        assert!(
            text.contains("Traceback\n  line '1'\n"),
            "multi-line text: {text}"
        );
        assert_eq!(read_record(&file).unwrap(), Some(r));
        fs::write(&file, "schema = ").unwrap();
        assert!(read_record(&file).is_err());
        assert_eq!(read_record(&dir.path().join("none.toml")).unwrap(), None);
    }

    #[test]
    fn records_render_escaped_with_stderr_marked() {
        let f = render_record(&record(), None);
        assert_eq!(
            f.html,
            "<figure class=\"run\">\n<pre><code class=\"language-console\"><span class=\"hl-prompt\">$ </span>python x.py\n\
             <span class=\"hl-output\">a &lt; b\n</span><span class=\"hl-output stderr\">Traceback\n</span>\
             <span class=\"hl-output stderr\">  line &#39;1&#39;\n</span></code></pre>\n\
             <figcaption class=\"run-note\">ran on 2026-01-02 with CPython 3.11.7 in 250 ms, exit status 1 \
             (the example fails on purpose); standard error is marked.</figcaption>\n</figure>\n"
        );
        assert_eq!(f.text, "$ python x.py\na < b\nTraceback\n  line '1'\n");
        let offline = render_record(
            &record(),
            Some("python3 was not found on PATH; install it\nmore"),
        );
        assert!(offline.html.contains(
            "<strong>Not run here:</strong> python3 was not found on PATH; install it. Recorded output: ran on 2026-01-02"
        ));
    }
}
