//! A builder for integration tests on fixture books, in the spirit of mdBook's `BookTest`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;

/// A fixture book copied into a temporary directory.
pub struct BookTest {
    pub dir: tempfile::TempDir,
}

/// The outcome of running perfguide on the book.
pub struct Run {
    pub output: Output,
}

impl Run {
    pub fn code(&self) -> Option<i32> {
        self.output.status.code()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    /// Asserts success and returns self for chaining.
    #[track_caller]
    pub fn success(self) -> Self {
        assert_eq!(
            self.code(),
            Some(0),
            "expected success, stderr:\n{}",
            self.stderr()
        );
        self
    }

    /// Asserts a failure with exit status 1 (an error, not a crash or a usage error) whose
    /// message contains every fragment given.
    #[track_caller]
    pub fn fails_with(self, fragments: &[&str]) -> Self {
        let err = self.stderr();
        assert_eq!(
            self.code(),
            Some(1),
            "expected exit status 1, stderr:\n{err}"
        );
        // A panic of perfguide itself prints "thread '...' panicked at"; a kernel's panic is
        // reported by perfguide as an ordinary error without that prefix.
        assert!(!err.contains("thread '"), "perfguide panicked:\n{err}");
        for f in fragments {
            assert!(err.contains(f), "stderr lacks {f:?}:\n{err}");
        }
        self
    }
}

impl BookTest {
    /// Copies `tests/fixtures/NAME` into a fresh temporary directory.
    pub fn from_fixture(name: &str) -> BookTest {
        let src = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name);
        Self::from_dir(&src)
    }

    /// Copies any directory into a fresh temporary directory.
    pub fn from_dir(src: &Path) -> BookTest {
        let dir = tempfile::tempdir().expect("creating a temporary directory");
        copy_dir(src, dir.path());
        BookTest { dir }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Writes (or replaces) a file of the book.
    pub fn write(&self, rel: &str, contents: impl AsRef<[u8]>) -> &Self {
        let p = self.path(rel);
        if let Some(d) = p.parent() {
            fs::create_dir_all(d).unwrap();
        }
        fs::write(p, contents).unwrap();
        self
    }

    pub fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("reading {rel}: {e}"))
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.run_env(args, &[])
    }

    /// Runs perfguide with extra environment variables (e.g. `PERFGUIDE_TEST_KERNELS=1`).
    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut cmd = Command::cargo_bin("perfguide").expect("the perfguide binary");
        cmd.args(args).current_dir(self.root());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let output = cmd.output().expect("running perfguide");
        Run { output }
    }

    pub fn build(&self) -> Run {
        self.run(&["build"])
    }

    pub fn check(&self) -> Run {
        self.run(&["check"])
    }

    /// The `<main>` element of an output page, for snapshots that ignore the chrome.
    pub fn main_of(&self, page: &str) -> String {
        let html = self.read(&format!("book/{page}"));
        let start = html
            .find("<main")
            .unwrap_or_else(|| panic!("{page} has no <main>"));
        let end = html.rfind("</main>").expect("</main>") + "</main>".len();
        html[start..end].to_string()
    }

    /// Every file of a directory with its bytes, for byte-for-byte comparisons.
    pub fn snapshot_dir(&self, rel: &str) -> Vec<(PathBuf, Vec<u8>)> {
        let root = self.path(rel);
        let mut out = Vec::new();
        for e in walkdir::WalkDir::new(&root).sort_by_file_name() {
            let e = e.unwrap();
            if e.file_type().is_file() {
                out.push((
                    e.path().strip_prefix(&root).unwrap().to_path_buf(),
                    fs::read(e.path()).unwrap(),
                ));
            }
        }
        out
    }
}

fn copy_dir(src: &Path, dst: &Path) {
    for e in walkdir::WalkDir::new(src).sort_by_file_name() {
        let e = e.unwrap();
        let rel = e.path().strip_prefix(src).unwrap();
        let target = dst.join(rel);
        if e.file_type().is_dir() {
            fs::create_dir_all(&target).unwrap();
        } else {
            fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// Text of an HTML fragment with tags removed and the common entities decoded.
pub fn text_of(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}
