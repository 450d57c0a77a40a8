//! The measurement engine seen from outside: failures are contained and named, the store
//! makes builds reproducible, `--frozen` refuses to measure, claims are checked.
//! These tests use the test-only kernel (`PERFGUIDE_TEST_KERNELS=1`, see src/testkernels.rs).

use std::time::{Duration, Instant};

use crate::book_test::{BookTest, Run};

const TEST_KERNELS: (&str, &str) = ("PERFGUIDE_TEST_KERNELS", "1");

fn build(t: &BookTest, args: &[&str]) -> Run {
    let mut all = vec!["build"];
    all.extend_from_slice(args);
    t.run_env(&all, &[TEST_KERNELS])
}

/// Builds the fixture, then replaces the chapter with `chapter` and expects the build to
/// fail with `expected`, leaving the first site untouched.
#[track_caller]
fn kernel_failure(chapter: &str, expected: &[&str]) -> Duration {
    let t = BookTest::from_fixture("measure");
    build(&t, &[]).success();
    let before = t.snapshot_dir("book");
    t.write("src/results.md", chapter);
    let start = Instant::now();
    build(&t, &[]).fails_with(expected);
    let took = start.elapsed();
    assert!(
        before == t.snapshot_dir("book"),
        "the previous site was modified"
    );
    took
}

#[test]
fn a_wrong_result_fails_the_build_and_is_never_timed() {
    kernel_failure(
        "# Results\n\n{{#bench test wrong}}\n",
        &[
            "test/wrong",
            "wrong result",
            "expected 1999999000000",
            "got 1999999000001",
        ],
    );
    let t = BookTest::from_fixture("measure");
    t.write("src/results.md", "# Results\n\n{{#bench test wrong}}\n");
    build(&t, &[]).fails_with(&["test/wrong"]);
    assert!(
        !t.path("measurements/test/wrong@t1-n2000000-m0-s0.json")
            .exists()
    );
}

#[test]
fn a_panic_is_contained_and_named() {
    kernel_failure(
        "# Results\n\n{{#measure test/panic median}}\n",
        &["test/panic panicked", "deliberate panic"],
    );
}

#[test]
fn an_abort_is_contained_and_named() {
    kernel_failure(
        "# Results\n\n{{#measure test/abort median}}\n",
        &["test/abort crashed", "SIGABRT"],
    );
}

#[test]
fn a_hang_is_stopped_at_the_timeout() {
    let t = BookTest::from_fixture("measure");
    build(&t, &[]).success();
    let before = t.snapshot_dir("book");
    let toml = t
        .read("book.toml")
        .replace("timeout-seconds = 20", "timeout-seconds = 2");
    t.write("book.toml", toml);
    t.write(
        "src/results.md",
        "# Results\n\n{{#measure test/hang median}}\n",
    );
    let start = Instant::now();
    build(&t, &[]).fails_with(&["test/hang did not finish within 2 s"]);
    assert!(
        start.elapsed() < Duration::from_secs(15),
        "{:?}",
        start.elapsed()
    );
    assert!(before == t.snapshot_dir("book"));
}

#[test]
fn builds_from_the_same_store_are_byte_identical() {
    let t = BookTest::from_fixture("measure");
    build(&t, &["--dest-dir", "one"]).success();
    build(&t, &["--dest-dir", "two"]).success();
    let one = t.snapshot_dir("one");
    let two = t.snapshot_dir("two");
    assert!(!one.is_empty());
    assert!(one == two, "two builds from one store differ");
    let page = t.read("one/results.html");
    assert!(page.contains("<table class=\"bench\">"));
    assert!(page.contains("measured") || page.contains("Measured"));
    assert!(page.contains("class=\"claim\""));
}

#[test]
fn frozen_fails_on_an_empty_or_stale_store_and_lists_what_is_missing() {
    let t = BookTest::from_fixture("measure");
    build(&t, &["--frozen"]).fails_with(&["--frozen", "test/ok", "test/slowable", "missing"]);
    assert!(!t.path("book").exists());
    build(&t, &[]).success();
    build(&t, &["--frozen", "--dest-dir", "again"]).success();
    // Tamper with one record's key: exactly that record becomes stale.
    let rec = "measurements/test/ok@t1-n2000000-m0-s0.json";
    let text = t.read(rec);
    let key_at = text.find("\"key\": \"").unwrap() + 8;
    let mut tampered = text.clone();
    tampered.replace_range(key_at..key_at + 4, "0000");
    t.write(rec, tampered);
    let run = build(&t, &["--frozen", "--dest-dir", "third"]).fails_with(&["test/ok", "stale"]);
    assert!(!run.stderr().contains("test/slowable"), "{}", run.stderr());
}

#[test]
fn a_false_claim_fails_with_the_measured_value() {
    let t = BookTest::from_fixture("measure");
    t.write(
        "src/results.md",
        "# Results\n\nIt is a thousand times faster{{#claim speedup(test/ok, test/slowable) > 1000}}.\n",
    );
    build(&t, &[]).fails_with(&[
        "src/results.md:3:",
        "claim does not hold",
        "speedup(test/ok, test/slowable) > 1000",
        "speedup(test/ok, test/slowable) = ",
    ]);
}

#[test]
fn claims_about_the_first_call_and_cpu_use_are_checked() {
    let t = BookTest::from_fixture("measure");
    // A single-threaded kernel gets about one CPU-second per second, and its first call
    // takes some time: both claims hold.
    t.write(
        "src/results.md",
        "# Results\n\n{{#claim first_call(test/ok) > 0 and cpu_per_wall(test/ok) > 0.5 and cpu_per_wall(test/ok) < 1.5}}\n",
    );
    build(&t, &[]).success();
    // From the same store: a false one names the measured value.
    t.write(
        "src/results.md",
        "# Results\n\n{{#claim cpu_per_wall(test/ok) > 5}}\n",
    );
    build(&t, &[]).fails_with(&[
        "src/results.md:3:",
        "claim does not hold",
        "cpu_per_wall(test/ok) = ",
    ]);
}

#[test]
fn a_malformed_claim_names_its_column() {
    let t = BookTest::from_fixture("measure");
    t.write(
        "src/results.md",
        "# Results\n\n{{#claim speedup(test/ok test/slowable) > 2}}\n",
    );
    build(&t, &[]).fails_with(&["src/results.md:3:", "malformed claim"]);
}

#[test]
fn unknown_ids_list_the_alternatives() {
    let t = BookTest::from_fixture("measure");
    t.write(
        "src/results.md",
        "# Results\n\n{{#measure test/okay median}}\n",
    );
    build(&t, &[]).fails_with(&["src/results.md:3:1", "no variant 'okay'", "ok, wrong"]);
}

#[test]
fn a_busy_machine_is_flagged_on_the_record_and_the_page() {
    let t = BookTest::from_fixture("measure");
    t.write(
        "src/results.md",
        "# Results\n\n{{#bench test ok threads}}\n",
    );
    // One CPU-bound competitor: on two cores it leaves the single-threaded variant a whole
    // core, so only the CPU accounting (other processes' CPU use) can see it; the threaded one
    // also loses CPU.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let competitors = std::thread::available_parallelism()
        .map_or(1, |n| n.get() - 1)
        .max(1);
    let spinners: Vec<_> = (0..competitors)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut x = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    x = std::hint::black_box(x.wrapping_add(1));
                }
            })
        })
        .collect();
    let run = build(&t, &[]);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for s in spinners {
        s.join().unwrap();
    }
    let run = run.success();
    // The fixture allows one retry: each variant is measured a second time before the
    // build settles for a flagged record.
    let stderr = run.stderr();
    assert_eq!(
        stderr.matches("measuring again").count(),
        2,
        "one retry per variant: {stderr}"
    );
    let records: Vec<String> = std::fs::read_dir(t.path("measurements/test"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert_eq!(records.len(), 2);
    for record in &records {
        assert!(!record.contains("\"busy\": null"), "{record}");
        assert!(
            record.contains("\"cpu-speed\""),
            "probes are recorded: {record}"
        );
        // Two worker processes by default (up to two more when they disagree), each one's
        // median recorded.
        let json: serde_json::Value = serde_json::from_str(record).unwrap();
        let processes = json["process-medians"].as_array().map_or(0, Vec::len);
        assert!((2..=4).contains(&processes), "{record}");
    }
    let page = t.read("book/results.html");
    assert_eq!(
        page.matches("<span class=\"busy\"").count(),
        2,
        "both rows are flagged"
    );
}

#[test]
fn an_interval_from_three_samples_is_not_called_95_percent() {
    let t = BookTest::from_fixture("measure");
    let toml = t.read("book.toml").replace(
        "min-samples = 3",
        "min-samples = 3\nmax-samples = 3\nprocesses = 1",
    );
    t.write("book.toml", &toml);
    build(&t, &[]).success();
    let page = t.read("book/results.html");
    // Three samples: their range covers the median with 1 - 2^-2 = 75% confidence.
    assert_eq!(
        page.matches("<span class=\"low-coverage\"").count(),
        2,
        "both rows say their interval is 75%: {page}"
    );
    assert!(page.contains(">(75%)</span>"), "{page}");
    assert!(
        page.contains("range of the samples (a 75% interval for the median: 95% needs 6 samples)"),
        "the provenance says what the interval is"
    );
    assert!(!page.contains("95% CI of the median"), "{page}");
}
