//! `{{#run}}` seen from outside: the command and its output on the page, failures that fail
//! the build with the output (issue 7, acceptance 3), `should-fail`, the timeout, and the run
//! cache in the measurement store that makes builds reproducible without Python.
//!
//! The fixture (`tests/fixtures/run`) uses the `python3` on PATH as it is
//! (`auto-install = false`), so no virtual environment is set up here; src/pyenv.rs tests that.

use std::time::{Duration, Instant};

use crate::book_test::{BookTest, text_of};

const CACHE: &str = "measurements/runs/scripts";

fn chapter(t: &BookTest, body: &str) {
    t.write("src/runs.md", format!("# Runs\n\n{body}\n"));
}

#[test]
fn a_run_shows_the_command_and_the_output_with_stderr_marked() {
    let t = BookTest::from_fixture("run");
    t.build().success();
    let main = t.main_of("runs.html");
    assert!(
        main.contains(
            "<pre><code class=\"language-console\"><span class=\"hl-prompt\">$ </span>python scripts/hello.py --name &#39;the reader&#39;\n\
             <span class=\"hl-output\">hello, the reader &lt;&amp;&gt;\n</span>\
             <span class=\"hl-output stderr\">a warning on stderr\n</span>\
             <span class=\"hl-output\">goodbye\n</span></code></pre>"
        ),
        "{main}"
    );
    assert!(
        main.contains("<figcaption class=\"run-note\">ran on "),
        "{main}"
    );
    assert!(main.contains("with CPython 3."), "{main}");
    // A program that is not Python runs directly, in the book root.
    let text = text_of(&main);
    assert!(
        text.contains(
            "$ ./scripts/args.sh one 'two words'\narg: one\narg: two words\nscripts/args.sh\n"
        ),
        "{text}"
    );
    // A block directive alone in its paragraph replaces the paragraph.
    assert!(!main.contains("<p><figure"), "{main}");
    let recorded: Vec<_> = std::fs::read_dir(t.path(&format!("{CACHE}/hello.py")))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(
        recorded.len() == 1 && recorded[0].starts_with("args-") && recorded[0].ends_with(".toml"),
        "{recorded:?}"
    );
}

#[test]
fn a_script_that_raises_fails_the_build_with_its_traceback() {
    let t = BookTest::from_fixture("run");
    t.build().success();
    let before = t.snapshot_dir("book");
    chapter(&t, "Some text.\n\n{{#run scripts/raises.py}}");
    t.build().fails_with(&[
        "src/runs.md:5:1: `python scripts/raises.py` failed (exit status 1); its output:",
        "about to divide",
        "Traceback (most recent call last):",
        "File \"scripts/raises.py\", line 9, in <module>",
        "ZeroDivisionError: division by zero",
        "end the directive with should-fail",
    ]);
    assert!(
        before == t.snapshot_dir("book"),
        "the previous site was modified"
    );
    assert!(
        !t.path(&format!("{CACHE}/raises.py")).exists(),
        "a failed run is not recorded"
    );
}

#[test]
fn should_fail_accepts_a_failure_and_rejects_a_success() {
    let t = BookTest::from_fixture("run");
    chapter(&t, "{{#run scripts/raises.py should-fail}}");
    t.build().success();
    let main = t.main_of("runs.html");
    assert!(
        main.contains(
            "<span class=\"hl-output stderr\">ZeroDivisionError: division by zero\n</span>"
        ),
        "{main}"
    );
    assert!(
        main.contains("exit status 1 (the example fails on purpose)"),
        "{main}"
    );
    assert!(t.path(&format!("{CACHE}/raises.py/run.toml")).is_file());

    chapter(&t, "{{#run scripts/hello.py should-fail}}");
    t.build().fails_with(&[
        "src/runs.md:3:1: `python scripts/hello.py` succeeded, but the directive says should-fail",
        "hello, world",
    ]);
}

#[test]
fn a_run_past_its_timeout_is_stopped_and_reported() {
    let t = BookTest::from_fixture("run");
    let toml = t
        .read("book.toml")
        .replace("run-timeout-seconds = 20", "run-timeout-seconds = 3");
    t.write("book.toml", toml);
    chapter(&t, "{{#run scripts/sleeps.py}}");
    let start = Instant::now();
    t.build().fails_with(&[
        "src/runs.md:3:1: `python scripts/sleeps.py` did not finish within 3 s and was stopped; its output:",
        "started",
        "raise [python] run-timeout-seconds",
    ]);
    assert!(
        start.elapsed() < Duration::from_secs(15),
        "took {:?}",
        start.elapsed()
    );
}

#[test]
fn runs_are_cached_by_content_and_builds_are_byte_identical() {
    let t = BookTest::from_fixture("run");
    chapter(&t, "{{#run scripts/counted.py}}");
    let runs = |t: &BookTest| {
        std::fs::read_to_string(t.path("target/runs.log")).map_or(0, |s| s.lines().count())
    };
    t.build().success();
    assert_eq!(runs(&t), 1);
    let record = t.read(&format!("{CACHE}/counted.py/run.toml"));
    assert!(
        record.starts_with("# Output of {{#run scripts/counted.py}}"),
        "{record}"
    );
    let first = t.snapshot_dir("book");

    // Another page change: the run is not repeated and the output is the same bytes.
    t.write(
        "src/runs.md",
        "# Runs\n\n{{#run scripts/counted.py}}\n\nMore.\n",
    );
    t.build().success();
    assert_eq!(runs(&t), 1, "the recorded output was used");
    chapter(&t, "{{#run scripts/counted.py}}");
    t.run(&["build", "--dest-dir", "book2"]).success();
    assert!(
        first == t.snapshot_dir("book2"),
        "builds from one store differ"
    );

    // A change of the script, or of a module it imports, runs it again.
    t.write("scripts/helper.py", "GREETING = \"counted again\"\n");
    t.build().success();
    assert_eq!(runs(&t), 2);
    assert!(t.main_of("runs.html").contains("counted again"));
    t.write(
        "scripts/counted.py",
        t.read("scripts/counted.py") + "print(\"and more\")\n",
    );
    t.build().success();
    assert_eq!(runs(&t), 3);
    assert!(t.main_of("runs.html").contains("and more"));
}

#[test]
fn without_python_the_recorded_output_is_shown_and_labelled() {
    let t = BookTest::from_fixture("run");
    t.build().success();
    let toml = t.read("book.toml").replace(
        "auto-install = false",
        "auto-install = false\ninterpreter = \"python-not-here\"",
    );
    t.write("book.toml", toml);
    let run = t.build().success();
    assert!(
        run.stderr().contains("warning: Python is unavailable"),
        "{}",
        run.stderr()
    );
    let main = t.main_of("runs.html");
    assert!(
        main.contains("<strong>Not run here:</strong> python-not-here was not found on PATH"),
        "{main}"
    );
    assert!(main.contains("hello, the reader"), "{main}");

    // A script changed since its output was recorded cannot be shown.
    t.write(
        "scripts/hello.py",
        t.read("scripts/hello.py") + "print(\"new\")\n",
    );
    t.build().fails_with(&[
        "src/runs.md:5:1: `python scripts/hello.py --name 'the reader'` needs Python, which is unavailable here: python-not-here was not found on PATH",
        "no recorded output of this version of scripts/hello.py",
    ]);
}

#[test]
fn check_and_frozen_never_run_programs() {
    let t = BookTest::from_fixture("run");
    t.check().fails_with(&[
        "src/runs.md:5:1: the output of `python scripts/hello.py --name 'the reader'` is not recorded in measurements/runs/scripts/hello.py",
        "run `perfguide build` without --frozen",
    ]);
    assert!(!t.path("measurements").exists(), "check wrote nothing");
    t.build().success();
    t.check().success();
    t.write(
        "scripts/args.sh",
        t.read("scripts/args.sh") + "echo changed\n",
    );
    t.run(&["build", "--frozen"])
        .fails_with(&["the output of `./scripts/args.sh one 'two words'` is not recorded"]);
}

#[test]
fn programs_outside_the_book_or_missing_are_refused() {
    let t = BookTest::from_fixture("run");
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("x.py"), "print(1)\n").unwrap();
    std::os::unix::fs::symlink(outside.path().join("x.py"), t.path("scripts/link.py")).unwrap();
    chapter(
        &t,
        "{{#run scripts/link.py}}\n\n{{#run scripts/missing.py}}\n\n{{#run /bin/ls}}",
    );
    t.build().fails_with(&[
        "src/runs.md:3:1: `scripts/link.py` is outside the book root",
        "src/runs.md:5:1: cannot run `scripts/missing.py`",
        "relative to the book root",
        "src/runs.md:7:1: {{#run}} takes a path relative to the book root, not `/bin/ls`",
    ]);
}

#[test]
fn a_program_that_is_not_executable_is_explained() {
    let t = BookTest::from_fixture("run");
    t.write("scripts/plain.sh", "echo hi\n");
    chapter(&t, "{{#run scripts/plain.sh}}");
    t.build().fails_with(&[
        "`./scripts/plain.sh` could not be started",
        "chmod +x scripts/plain.sh",
    ]);
}
