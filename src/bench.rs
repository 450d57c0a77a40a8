//! `perfguide bench` and `perfguide list`: the measurement engine in the terminal.
//!
//! `bench` measures the selected kernel variants with the same worker, harness and checks as
//! the book build, shows a progress bar and a hyperfine-like table, exports JSON, Markdown and
//! Bencher Metric Format, and compares against a saved baseline. A baseline comparison exits
//! with status 1 when any variant regressed significantly (Mann–Whitney U test at alpha and a
//! slow-down above the threshold; see `stats::compare`), so it can guard CI.
//!
//! Measuring is separated from reporting: [`select`] picks the work, [`measure_all`] runs it,
//! and the `render_*`/`export_*` functions and [`compare_all`] are pure functions of the
//! records, tested with records made from a fake clock.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::fragments::{format_rate, format_seconds};
use crate::harness::Plan;
use crate::measure::{self, KeyContext, MeasureOptions, Need};
use crate::stats::{self, Verdict};
use crate::store::Record;
use crate::worker::{self, ProblemSpec};

/// Significance level of the baseline comparison (two-sided Mann–Whitney U test).
pub const ALPHA: f64 = 0.05;

/// The variants whose id matches any filter (all when there is none), at their default size;
/// threaded variants run with every logical core.
pub fn select(filters: &[String], cores: usize) -> Vec<Need> {
    let mut needs = Vec::new();
    for kernel in worker::all_kernels() {
        for v in kernel.variants {
            let id = format!("{}/{}", kernel.name, v.name);
            if filters.is_empty() || filters.iter().any(|f| measure::matches_filter(&id, f)) {
                needs.push(Need {
                    id,
                    threads: if v.threaded { cores } else { 1 },
                    problem: ProblemSpec::from(kernel.default_problem),
                });
            }
        }
    }
    needs
}

/// Measures every need in order, one worker at a time, with a progress bar on stderr.
pub fn measure_all(
    needs: &[Need],
    keys: &KeyContext,
    options: &MeasureOptions,
) -> Result<Vec<Record>> {
    let bar = indicatif::ProgressBar::new(needs.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg} (about {eta} left)",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    let mut records = Vec::with_capacity(needs.len());
    let mut session = measure::Session::new(needs, keys, options)?;
    for need in needs {
        bar.set_message(need.id.clone());
        let record = session.measure(need, |line| say(&bar, line));
        bar.inc(1);
        records.push(record?);
    }
    bar.finish_and_clear();
    Ok(records)
}

/// Prints a line above the progress bar, or on stderr when the bar is hidden (not a
/// terminal), where indicatif would drop it.
fn say(bar: &indicatif::ProgressBar, line: String) {
    if bar.is_hidden() {
        eprintln!("{line}");
    } else {
        bar.println(line);
    }
}

/// The terminal table: per kernel, each variant's median with its 95% CI, the speed-up over
/// the kernel's first listed variant, throughput and check.
pub fn render_table(records: &[Record]) -> String {
    let mut out = String::new();
    let mut by_kernel: Vec<(&str, Vec<&Record>)> = Vec::new();
    for r in records {
        match by_kernel.iter_mut().find(|(k, _)| *k == r.kernel) {
            Some((_, list)) => list.push(r),
            None => by_kernel.push((&r.kernel, vec![r])),
        }
    }
    for (kernel, list) in by_kernel {
        let _ = writeln!(out, "{kernel}");
        let base = list[0].summary.median;
        for r in list {
            let s = &r.summary;
            let _ = writeln!(
                out,
                "  {:<18} {:>10} ± {:>5.1}%  {:>7}  {:>22}  {:>2} thr  {}{}{}",
                r.variant,
                format_seconds(s.median),
                100.0 * s.ci_half_width_rel,
                format!("{:.2}x", base / s.median),
                format_rate(r.throughput(), &r.work_unit),
                r.threads,
                r.check.summary,
                s.ci_shortfall_note()
                    .map(|note| format!("  [{note}]"))
                    .unwrap_or_default(),
                if r.busy.is_some() { "  [busy]" } else { "" }
            );
        }
    }
    out
}

/// A Markdown table of all records (for pull-request comments and READMEs).
pub fn export_markdown(records: &[Record]) -> String {
    let mut out = String::from(
        "| kernel | variant | threads | median | 95% CI | throughput | check |\n|---|---|---:|---:|---:|---:|---|\n",
    );
    for r in records {
        let s = &r.summary;
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} – {}{} | {} | {} |",
            r.kernel,
            r.variant,
            r.threads,
            format_seconds(s.median),
            format_seconds(s.ci_low),
            format_seconds(s.ci_high),
            s.ci_shortfall_note()
                .map(|note| format!(" ({note})"))
                .unwrap_or_default(),
            format_rate(r.throughput(), &r.work_unit),
            r.check.summary.replace('|', "\\|")
        );
    }
    out
}

/// Bencher Metric Format (<https://bencher.dev/docs/reference/bencher-metric-format/>):
/// `{ "<benchmark>": { "latency": { "value", "lower_value", "upper_value" }, "throughput": {...} } }`,
/// latency in nanoseconds as Bencher expects, throughput in work units per second.
pub fn export_bmf(records: &[Record]) -> serde_json::Value {
    let mut root = serde_json::Map::new();
    for r in records {
        let s = &r.summary;
        let name = format!("{}@{}", r.id, r.threads);
        root.insert(
            name,
            serde_json::json!({
                "latency": { "value": s.median * 1e9, "lower_value": s.ci_low * 1e9, "upper_value": s.ci_high * 1e9 },
                "throughput": { "value": r.throughput(), "lower_value": r.work / s.ci_high, "upper_value": r.work / s.ci_low },
            }),
        );
    }
    serde_json::Value::Object(root)
}

/// A saved baseline: the records of one `bench` run, by `id@threads`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Baseline {
    pub name: String,
    pub records: BTreeMap<String, Record>,
}

/// Where baselines live: under `target/`, like criterion's.
pub fn baseline_path(dir: &Path, name: &str) -> PathBuf {
    dir.join("target")
        .join("perfguide")
        .join("baselines")
        .join(format!("{name}.json"))
}

pub fn save_baseline(path: &Path, name: &str, records: &[Record]) -> Result<()> {
    let baseline = Baseline {
        name: name.to_string(),
        records: records
            .iter()
            .map(|r| (format!("{}@{}", r.id, r.threads), r.clone()))
            .collect(),
    };
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).with_context(|| format!("creating {}", p.display()))?;
    }
    let json = serde_json::to_string_pretty(&baseline).context("serializing the baseline")?;
    std::fs::write(path, json).with_context(|| format!("writing the baseline {}", path.display()))
}

pub fn load_baseline(path: &Path) -> Result<Baseline> {
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "reading the baseline {}; save one first with --save-baseline",
            path.display()
        )
    })?;
    serde_json::from_str(&text)
        .with_context(|| format!("{} is not a perfguide baseline", path.display()))
}

/// One variant compared with the baseline.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub id: String,
    pub comparison: Option<stats::Comparison>,
}

/// Compares each new record with the baseline record of the same id and thread count.
pub fn compare_all(baseline: &Baseline, records: &[Record], threshold_rel: f64) -> Vec<Row> {
    records
        .iter()
        .map(|r| {
            let key = format!("{}@{}", r.id, r.threads);
            let comparison = baseline.records.get(&key).map(|b| {
                stats::compare(
                    &b.samples_wall_s,
                    &r.samples_wall_s,
                    ALPHA,
                    threshold_rel,
                    0x5eed,
                )
            });
            Row {
                id: key,
                comparison,
            }
        })
        .collect()
}

/// The comparison as text, and whether anything regressed.
pub fn render_comparison(rows: &[Row]) -> (String, bool) {
    let mut out = String::new();
    let mut regressed = false;
    for row in rows {
        match &row.comparison {
            None => {
                let _ = writeln!(out, "  {:<32} not in the baseline", row.id);
            }
            Some(c) => {
                regressed |= c.verdict == Verdict::Regressed;
                let _ = writeln!(
                    out,
                    "  {:<32} {:+6.1}% [{:+.1}%, {:+.1}%]  p = {:.3}  {}",
                    row.id,
                    100.0 * c.change_rel,
                    100.0 * c.ci_low,
                    100.0 * c.ci_high,
                    c.p_value,
                    c.verdict
                );
            }
        }
    }
    (out, regressed)
}

/// `perfguide list`: every kernel variant, whether it can run here (its SIMD path), and
/// its lesson; then the Python rungs and whether each can run with the project's
/// interpreter (the venv when it exists; `list` never installs anything).
pub fn list(dir: &Path) -> String {
    let mut out = rust_list();
    let config = crate::config::load_config(dir).unwrap_or_default();
    let venv = dir.join(&config.python.venv).join("bin/python");
    let python = if venv.exists() {
        venv
    } else {
        PathBuf::from(&config.python.interpreter)
    };
    let _ = writeln!(out, "Python rungs ({}):", python.display());
    match crate::python::describe(&python)
        .and_then(|interp| crate::python::list_rungs(&interp, dir))
    {
        Ok(rungs) => {
            for (kernel, why) in &rungs.kernels_unavailable {
                let _ = writeln!(out, "  {kernel}/py-* — cannot run here: {why}");
            }
            for id in &rungs.ids {
                match rungs.unavailable.get(id) {
                    Some(why) => {
                        let _ = writeln!(out, "  {id} — cannot run here: {why}");
                    }
                    None => {
                        let _ = writeln!(out, "  {id}");
                    }
                }
            }
        }
        Err(e) => {
            let _ = writeln!(out, "  none can run here: {e:#}");
        }
    }
    out
}

fn rust_list() -> String {
    let mut out = String::new();
    for kernel in worker::all_kernels() {
        let _ = writeln!(out, "{} — {}", kernel.name, kernel.title);
        for v in kernel.variants {
            let path = (v.simd_path)()
                .map(|p| format!(" [{p}]"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {}/{}{}{} — {}",
                kernel.name,
                v.name,
                if v.threaded { " (threads)" } else { "" },
                path,
                v.lesson
            );
        }
    }
    out
}

/// The options of one `bench` run.
pub struct BenchArgs {
    pub dir: PathBuf,
    pub filters: Vec<String>,
    pub quick: bool,
    pub export_json: Option<PathBuf>,
    pub export_markdown: Option<PathBuf>,
    pub export_bmf: Option<PathBuf>,
    pub save_baseline: Option<String>,
    pub baseline: Option<String>,
    pub threshold_percent: f64,
}

/// Runs `perfguide bench`; returns whether a regression was found.
pub fn run(args: &BenchArgs) -> Result<bool> {
    let cores = crate::build::cores();
    let needs = select(&args.filters, cores);
    if needs.is_empty() {
        anyhow::bail!(
            "no kernel variant matches {}; `perfguide list` shows them all",
            args.filters.join(" ")
        );
    }
    let config = crate::config::load_config(&args.dir).unwrap_or_default();
    let m = &config.measure;
    let plan = if args.quick {
        Plan::quick(m.quick_budget_seconds)
    } else {
        Plan::standard(m.budget_seconds.min(bench_budget_per_variant(needs.len())))
    };
    let options = MeasureOptions {
        plan,
        quick: args.quick,
        remeasure: Vec::new(),
        frozen: false,
        timeout: Duration::from_secs(m.timeout_seconds),
        // --quick is a smoke test with a time limit: no second attempts.
        retries: if args.quick { 0 } else { m.retries },
        processes: if args.quick { 1 } else { m.processes },
        retry_pause: crate::measure::RETRY_PAUSE,
        speed_reference: Some(
            config
                .measure_store(&args.dir)
                .join(crate::speed::REFERENCE_FILE),
        ),
    };
    let keys = KeyContext::current(&args.dir);
    eprintln!(
        "measuring {} variant(s) on {}",
        needs.len(),
        keys.machine.short()
    );
    let records = measure_all(&needs, &keys, &options)?;
    print!("{}", render_table(&records));

    let write = |path: &Path, text: String| -> Result<()> {
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
    };
    if let Some(p) = &args.export_json {
        write(p, serde_json::to_string_pretty(&records)?)?;
    }
    if let Some(p) = &args.export_markdown {
        write(p, export_markdown(&records))?;
    }
    if let Some(p) = &args.export_bmf {
        write(p, serde_json::to_string_pretty(&export_bmf(&records))?)?;
    }
    if let Some(name) = &args.save_baseline {
        let path = baseline_path(&args.dir, name);
        save_baseline(&path, name, &records)?;
        eprintln!("saved baseline '{name}' to {}", path.display());
    }
    let mut regressed = false;
    if let Some(name) = &args.baseline {
        let baseline = load_baseline(&baseline_path(&args.dir, name))?;
        let rows = compare_all(&baseline, &records, args.threshold_percent / 100.0);
        let (text, any) = render_comparison(&rows);
        println!(
            "compared with baseline '{name}' (threshold {}%, alpha {ALPHA}):",
            args.threshold_percent
        );
        print!("{text}");
        regressed = any;
    }
    Ok(regressed)
}

/// The default budget of a whole `bench` run is 120 s on this project's machines (issue 4);
/// spread over the variants, with a floor so no variant gets less than a second.
fn bench_budget_per_variant(variants: usize) -> f64 {
    const TOTAL_BUDGET_S: f64 = 100.0; // leaves ~20 s for warm-up and worker start-up
    (TOTAL_BUDGET_S / variants.max(1) as f64).max(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::{FakeClock, sample};

    /// A record whose samples come from the real harness driven by a fake clock: each call
    /// of the "kernel" costs `cost` seconds plus a small deterministic jitter.
    fn fake_record(id: &str, cost: f64, seed: u64) -> Record {
        let mut clock = FakeClock::new();
        let c = clock.clone();
        let mut k = seed;
        let sampled = sample(&mut clock, &Plan::standard(1.0), 0.0, &mut || {
            k = k
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let jitter = ((k >> 33) as f64 / (1u64 << 31) as f64 - 0.5) * 0.02; // ±1%
            c.advance(cost * (1.0 + jitter));
        });
        Record {
            first_call_s: cost,
            warmup_runs: sampled.warmup_runs,
            iterations_per_sample: sampled.iterations_per_sample,
            summary: stats::summarize(&sampled.samples_wall_s).unwrap(),
            samples_wall_s: sampled.samples_wall_s,
            samples_cpu_s: sampled.samples_cpu_s,
            stop: sampled.stop,
            ..Record::example(id, vec![cost])
        }
    }

    #[test]
    fn a_slowed_variant_is_a_regression_and_an_unchanged_one_is_not() {
        let before = [
            fake_record("test/slowable", 0.002, 1),
            fake_record("test/ok", 0.001, 2),
        ];
        let dir = tempfile::tempdir().unwrap();
        let path = baseline_path(dir.path(), "main");
        save_baseline(&path, "main", &before).unwrap();
        let baseline = load_baseline(&path).unwrap();

        // The same code measured again (other jitter) and the slowable one made 20% slower.
        let after = [
            fake_record("test/slowable", 0.0024, 3),
            fake_record("test/ok", 0.001, 4),
        ];
        let rows = compare_all(&baseline, &after, 0.05);
        let verdict = |id: &str| {
            rows.iter()
                .find(|r| r.id == id)
                .unwrap()
                .comparison
                .unwrap()
                .verdict
        };
        assert_eq!(verdict("test/slowable@1"), Verdict::Regressed);
        assert_eq!(verdict("test/ok@1"), Verdict::NoChange);
        let (text, regressed) = render_comparison(&rows);
        assert!(regressed);
        assert!(text.contains("regressed"), "{text}");

        // A slow-down below the threshold is not reported even when significant.
        let slight = [fake_record("test/slowable", 0.00206, 5)];
        let rows = compare_all(&baseline, &slight, 0.05);
        assert_ne!(rows[0].comparison.unwrap().verdict, Verdict::Regressed);
    }

    #[test]
    fn exports_have_every_record() {
        let recs = [fake_record("a/x", 0.001, 1), fake_record("a/y", 0.0005, 2)];
        let md = export_markdown(&recs);
        assert_eq!(md.lines().count(), 4);
        assert!(md.contains("| a | y | 1 |"));
        let bmf = export_bmf(&recs);
        let lat = &bmf["a/x@1"]["latency"];
        assert!((lat["value"].as_f64().unwrap() - 1e6).abs() < 2e4, "{lat}");
        assert!(lat["lower_value"].as_f64().unwrap() <= lat["value"].as_f64().unwrap());
        let table = render_table(&recs);
        assert!(
            table.contains("2.00x") || table.contains("1.9") || table.contains("2.0"),
            "{table}"
        );
    }

    #[test]
    fn an_interval_from_too_few_samples_is_not_called_95_percent() {
        let many = fake_record("a/many", 0.001, 1);
        let few = Record {
            summary: stats::summarize(&[0.30, 0.31, 0.32]).unwrap(),
            ..fake_record("a/few", 0.3, 2)
        };
        let table = render_table(&[many.clone(), few.clone()]);
        let line = |v: &str| table.lines().find(|l| l.contains(v)).unwrap().to_string();
        assert!(
            line("few").ends_with("[3 samples: a 75% interval]"),
            "{table}"
        );
        assert!(!line("many").contains("interval"), "{table}");
        let md = export_markdown(&[many, few]);
        assert!(md.contains("(3 samples: a 75% interval)"), "{md}");
        assert_eq!(md.matches("interval").count(), 1, "{md}");
    }

    #[test]
    fn selection_by_filter() {
        let all = select(&[], 2);
        assert!(all.len() >= 30);
        let m = select(&["mandelbrot/simd-*".into()], 2);
        assert!(m.iter().all(|n| n.id.starts_with("mandelbrot/simd-")));
        assert!(!m.is_empty());
        let threaded = select(&["julia/dynamic".into()], 2);
        assert_eq!(threaded[0].threads, 2);
    }
}
