//! Python rungs: the same problems in pure Python, NumPy, Numba, Cython and scikit-learn,
//! measured by `examples/python/harness.py` and ingested into the same store as the Rust
//! variants, so tables, claims and charts treat both alike (ids `kernel/py-...`).
//!
//! The harness applies the Rust engine's rules (first call timed apart, check before any
//! timing, calibrated samples, CI-based stopping) and reports raw per-call samples; perfguide
//! computes the statistics itself with `stats`, so both languages are summarised by the same
//! code. Python records are keyed by the rung's sources, the interpreter and package versions,
//! the parameters and the machine.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use crate::machine::Machine;
use crate::store::{self, Record};
use crate::worker::{CheckSummary, ProblemSpec};

/// Where the rungs live, relative to the book root.
pub const PYTHON_DIR: &str = "examples/python";

/// Whether an id names a Python rung.
pub fn is_python_id(id: &str) -> bool {
    id.split_once('/')
        .is_some_and(|(_, v)| v.starts_with("py-"))
}

/// A Python interpreter ready to run the harness.
#[derive(Debug, Clone)]
pub struct Interpreter {
    pub python: PathBuf,
    /// e.g. "3.11.7".
    pub version: String,
    /// Installed packages and versions (part of the key: a new NumPy can change a time).
    pub packages: BTreeMap<String, String>,
}

/// The rungs the harness offers here, in ladder order, with why a rung cannot run if so.
#[derive(Debug, Clone, Default)]
pub struct Rungs {
    pub ids: Vec<String>,
    pub unavailable: BTreeMap<String, String>,
    /// Kernels whose Python module cannot even be imported here (`kernel/*` in the list),
    /// so their rungs cannot be named: kernel -> reason.
    pub kernels_unavailable: BTreeMap<String, String>,
}

impl Rungs {
    /// The rungs of one kernel, in ladder order.
    pub fn of_kernel(&self, kernel: &str) -> Vec<String> {
        self.ids
            .iter()
            .filter(|id| id.split('/').next() == Some(kernel))
            .cloned()
            .collect()
    }
}

/// Runs `harness.py --list`: one line per rung, `id  ok` or `id  <reason it is skipped>`.
pub fn list_rungs(interp: &Interpreter, root: &Path) -> Result<Rungs> {
    let out = Command::new(&interp.python)
        .arg(root.join(PYTHON_DIR).join("harness.py"))
        .arg("--list")
        .current_dir(root)
        .output()
        .with_context(|| format!("running {} harness.py --list", interp.python.display()))?;
    if !out.status.success() {
        bail!(
            "harness.py --list failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(parse_list(&String::from_utf8_lossy(&out.stdout)))
}

/// Parses the `--list` output.
pub fn parse_list(text: &str) -> Rungs {
    let mut rungs = Rungs::default();
    for line in text.lines() {
        let mut parts = line.trim().splitn(2, char::is_whitespace);
        let Some(id) = parts.next().filter(|id| id.contains('/')) else {
            continue;
        };
        let status = parts.next().unwrap_or("").trim();
        let reason = status.strip_prefix("skipped:").unwrap_or(status).trim();
        if let Some(kernel) = id.strip_suffix("/*") {
            rungs
                .kernels_unavailable
                .insert(kernel.to_string(), reason.to_string());
            continue;
        }
        rungs.ids.push(id.to_string());
        if status != "ok" {
            rungs.unavailable.insert(id.to_string(), reason.to_string());
        }
    }
    rungs
}

/// One record as the harness writes it (examples/python/harness.py documents the schema).
#[derive(Debug, Clone, Deserialize)]
pub struct HarnessRecord {
    pub id: String,
    pub kernel: String,
    pub variant: String,
    #[serde(default)]
    pub threads: usize,
    pub problem: ProblemSpec,
    pub status: String,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub first_call_s: Option<f64>,
    #[serde(default)]
    pub iterations_per_sample: Option<u64>,
    #[serde(default)]
    pub samples_wall_s: Vec<f64>,
    #[serde(default)]
    pub samples_cpu_s: Vec<f64>,
    #[serde(default)]
    pub check: Option<HarnessCheck>,
    #[serde(default)]
    pub source: Option<HarnessSource>,
    /// Tick counters just before and after the samples (absent off Linux).
    #[serde(default)]
    pub cpu_ticks_before: Option<crate::cpuacct::CpuTicks>,
    #[serde(default)]
    pub cpu_ticks_after: Option<crate::cpuacct::CpuTicks>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct HarnessCheck {
    pub ok: bool,
    pub summary: String,
    #[serde(default)]
    pub error: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct HarnessSource {
    pub file: String,
}

#[derive(Debug, Clone, Deserialize)]
struct HarnessOutput {
    records: Vec<HarnessRecord>,
}

/// Runs the harness on exactly `ids` (each as an exact `--filter`, so heavy rungs named
/// explicitly are included) and returns its records. A rung that failed its check or raised
/// is an error naming it: a wrong answer is never published.
pub fn run_harness(
    interp: &Interpreter,
    root: &Path,
    ids: &[String],
    quick: bool,
    timeout: Duration,
) -> Result<Vec<HarnessRecord>> {
    let out_file =
        tempfile::NamedTempFile::new().context("creating a file for the harness output")?;
    let mut cmd = Command::new(&interp.python);
    cmd.arg(root.join(PYTHON_DIR).join("harness.py"))
        .arg("--json")
        .arg(out_file.path())
        .current_dir(root);
    if quick {
        cmd.arg("--quick");
    }
    for id in ids {
        cmd.arg("--filter").arg(id);
    }
    let finished = match crate::measure::run_child(cmd, "harness.py", &[], timeout) {
        Ok(Some(f)) => f,
        Ok(None) => bail!(
            "the Python harness did not finish within {} s and was stopped ({}); raise [python] timeout-seconds if the rungs are legitimately slow",
            timeout.as_secs(),
            ids.join(", ")
        ),
        Err(e) => bail!("{}: {}", e.step, e.error),
    };
    let (status, stderr) = (finished.status, finished.err);
    let text = std::fs::read_to_string(out_file.path()).unwrap_or_default();
    let output: HarnessOutput = serde_json::from_str(&text).with_context(|| {
        format!(
            "the Python harness wrote no readable results (exit status {status}): {}",
            tail(&stderr, 20)
        )
    })?;
    let failed: Vec<String> = output
        .records
        .iter()
        .filter(|r| r.status == "failed")
        .map(|r| format!("{}: {}", r.id, r.reason.clone().unwrap_or_default()))
        .collect();
    if !failed.is_empty() {
        bail!(
            "Python rung(s) failed, so they were not timed:\n  {}",
            failed.join("\n  ")
        );
    }
    Ok(output.records)
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// The sources a rung's time depends on: its kernel module, the shared helpers, the harness.
pub fn rung_sources(root: &Path, kernel: &str) -> String {
    let dir = root.join(PYTHON_DIR);
    let module = kernel.replace('-', "_");
    let mut text = String::new();
    for name in [
        format!("{module}.py"),
        "common.py".to_string(),
        "harness.py".to_string(),
        format!("{module}_cython.pyx"),
        "requirements.txt".to_string(),
    ] {
        if let Ok(t) = std::fs::read_to_string(dir.join(&name)) {
            text.push_str(&name);
            text.push('\n');
            text.push_str(&t);
        }
    }
    text
}

/// The packages whose versions can change a rung's time: what the rungs import and the
/// numerical libraries under them (harness.py's PACKAGES, plus joblib under scikit-learn).
/// Keying on every installed distribution made every record stale whenever a fresh venv got
/// a newer release of an unrelated dependency of the profilers (cloudpickle, PyYAML,
/// pydantic: a clean CI venv on 2026-11-24).
const TIMED_PACKAGES: &[&str] = &[
    "cython",
    "joblib",
    "llvmlite",
    "numba",
    "numpy",
    "scikit-learn",
    "scipy",
    "setuptools",
    "threadpoolctl",
];

/// The key of a Python record.
pub fn key(
    root: &Path,
    interp: &Interpreter,
    id: &str,
    problem: ProblemSpec,
    machine: &Machine,
) -> String {
    let kernel = id.split('/').next().unwrap_or(id);
    let packages: String = interp
        .packages
        .iter()
        .filter(|(k, _)| TIMED_PACKAGES.contains(&k.as_str()))
        .map(|(k, v)| format!("{k}=={v}\n"))
        .collect();
    store::key_of(&[
        &rung_sources(root, kernel),
        &interp.version,
        &packages,
        &format!("{id} n{} m{} s{}", problem.n, problem.m, problem.seed),
        &machine.fingerprint(),
    ])
}

/// Turns a harness record into a store record.
pub struct Ingest<'a> {
    pub root: &'a Path,
    pub interp: &'a Interpreter,
    pub machine: &'a Machine,
    pub toolchain: &'a crate::machine::Toolchain,
    pub git_commit: Option<String>,
    pub quick: bool,
}

impl Ingest<'_> {
    pub fn record(&self, h: &HarnessRecord) -> Result<Record> {
        let summary = crate::stats::summarize(&h.samples_wall_s)
            .with_context(|| format!("{}: the harness reported no valid samples", h.id))?;
        let kernel = perfguide_kernels::kernels()
            .iter()
            .find(|k| k.name == h.kernel)
            .with_context(|| format!("{}: no kernel named {}", h.id, h.kernel))?;
        let problem: perfguide_kernels::Problem = h.problem.into();
        let check = h.check.clone().filter(|c| c.ok).with_context(|| {
            format!(
                "{}: the harness recorded a time without a passed check",
                h.id
            )
        })?;
        let cpu_per_wall = crate::stats::cpu_utilisation(&h.samples_cpu_s, &h.samples_wall_s);
        let threads = h.threads.max(1);
        // The CPU rule asks for the threads a rung keeps busy *throughout*. A threaded Python
        // rung runs serial Python between its parallel regions (scikit-learn's k-means got
        // 1.58 CPU-seconds per second from 2 threads on an idle machine), so it is only held
        // to one busy core; its thread count is still recorded as it ran.
        let busy_threads = 1;
        let contention = h
            .cpu_ticks_before
            .zip(h.cpu_ticks_after)
            .and_then(|(a, b)| crate::cpuacct::contention(&a, &b));
        let busy = crate::measure::busy_reason(
            cpu_per_wall,
            busy_threads,
            contention,
            self.machine.logical_cores,
        );
        Ok(Record {
            schema: store::SCHEMA,
            id: h.id.clone(),
            kernel: h.kernel.clone(),
            variant: h.variant.clone(),
            language: "python".into(),
            threads,
            problem: h.problem,
            key: key(self.root, self.interp, &h.id, h.problem, self.machine),
            measured_at: store::now_iso8601(),
            quick: self.quick,
            machine: self.machine.clone(),
            toolchain: crate::machine::Toolchain {
                rustc: format!("Python {}", self.interp.version),
                ..self.toolchain.clone()
            },
            git_commit: self.git_commit.clone(),
            simd_path: None,
            check: CheckSummary {
                summary: check.summary,
                error: check.error,
            },
            work_unit: kernel.work_unit.to_string(),
            work: (kernel.work)(&problem),
            flops: None,
            bytes: (kernel.bytes)(&problem),
            per_thread_work: Vec::new(),
            first_call_s: h.first_call_s.unwrap_or(0.0),
            warmup_runs: 0,
            iterations_per_sample: h.iterations_per_sample.unwrap_or(1),
            samples_wall_s: h.samples_wall_s.clone(),
            samples_cpu_s: h.samples_cpu_s.clone(),
            stop: crate::harness::StopReason::Budget,
            summary,
            cpu_per_wall,
            load_before: None,
            load_after: None,
            busy,
            cpu_speed: None,
            contention,
            process_medians: Vec::new(),
            process_spread: None,
        })
    }
}

/// Asks the interpreter for its version and installed packages.
pub fn describe(python: &Path) -> Result<Interpreter> {
    let script = "import sys, json, importlib.metadata as m\n\
        print(json.dumps({'version': '.'.join(map(str, sys.version_info[:3])), \
        'packages': {d.metadata['Name'].lower(): d.version for d in m.distributions() if d.metadata['Name']}}))";
    let out = Command::new(python)
        .args(["-c", script])
        .output()
        .with_context(|| format!("running {}", python.display()))?;
    if !out.status.success() {
        bail!(
            "{} failed: {}",
            python.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    #[derive(Deserialize)]
    struct Desc {
        version: String,
        packages: BTreeMap<String, String>,
    }
    let d: Desc =
        serde_json::from_slice(&out.stdout).context("reading the interpreter's description")?;
    Ok(Interpreter {
        python: python.to_path_buf(),
        version: d.version,
        packages: d.packages,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_parsing() {
        let r = parse_list(
            "pi-integration/py-pure             ok\nmandelbrot/py-numba   skipped: numba is not installed\nkmeans/*   skipped: kmeans.py cannot be imported: No module named 'numpy'\n\njunk\n",
        );
        assert_eq!(
            r.kernels_unavailable["kmeans"],
            "kmeans.py cannot be imported: No module named 'numpy'"
        );
        assert_eq!(r.ids, ["pi-integration/py-pure", "mandelbrot/py-numba"]);
        assert_eq!(
            r.unavailable["mandelbrot/py-numba"],
            "numba is not installed"
        );
        assert_eq!(r.of_kernel("mandelbrot"), ["mandelbrot/py-numba"]);
    }

    #[test]
    fn python_ids() {
        assert!(is_python_id("mandelbrot/py-numba"));
        assert!(!is_python_id("mandelbrot/scalar"));
        assert!(!is_python_id("py-x"));
    }

    #[test]
    fn harness_records_deserialize() {
        let json = r#"{"schema": 1, "records": [{"id": "mandelbrot/py-numba", "kernel": "mandelbrot",
          "variant": "py-numba", "lesson": "x", "threads": 1, "threaded": false,
          "problem": {"n": 1000, "m": 1000, "seed": 0}, "status": "ok", "reason": null,
          "first_call_s": 0.4, "iterations_per_sample": 1, "samples_wall_s": [0.1, 0.11],
          "samples_cpu_s": [0.1, 0.11], "check": {"ok": true, "summary": "sum = 1", "error": null},
          "source": {"file": "examples/python/mandelbrot.py", "anchor": "py-numba"}}]}"#;
        let out: HarnessOutput = serde_json::from_str(json).unwrap();
        assert_eq!(out.records[0].samples_wall_s.len(), 2);
    }

    #[test]
    fn only_the_timed_packages_are_part_of_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let machine = Machine::current();
        let mut interp = Interpreter {
            python: PathBuf::from("python3"),
            version: "3.11.7".into(),
            packages: [("numpy", "2.4.6"), ("pyyaml", "6.0.3")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        let problem = ProblemSpec {
            n: 10,
            m: 0,
            seed: 0,
        };
        let key =
            |i: &Interpreter| key(dir.path(), i, "pi-integration/py-numpy", problem, &machine);
        let before = key(&interp);
        interp.packages.insert("pyyaml".into(), "6.0.4".into());
        interp.packages.insert("cloudpickle".into(), "3.1.3".into());
        assert_eq!(
            key(&interp),
            before,
            "a profiler's dependency does not change a time"
        );
        interp.packages.insert("numpy".into(), "2.5.0".into());
        assert_ne!(key(&interp), before, "a new NumPy can");
    }
}
