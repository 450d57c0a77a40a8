//! The measurement store: one JSON record per kernel variant, thread count and problem size.
//!
//! Records live under the book's `[measure] store` directory (default `measurements/`) as
//! `KERNEL/VARIANT@tTHREADS-nN-mM-sSEED.json`, so they can be committed, diffed and reviewed.
//! Each record carries a key: a hash of everything that can change the number (the kernel's
//! source, the locked versions of the crates it uses, `rustc -vV`, the build profile, the
//! parameters) plus the machine fingerprint. A record whose key differs from the one the
//! current build computes is *stale*: it is re-measured, or, with `--frozen`, reported.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::harness::StopReason;
use crate::machine::{Machine, Toolchain};
use crate::stats::Summary;
use crate::worker::{CheckSummary, ProblemSpec};

/// Version of the record format; bump it when a field changes meaning.
pub const SCHEMA: u32 = 1;

/// One measured kernel variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Record {
    pub schema: u32,
    /// `kernel/variant`.
    pub id: String,
    pub kernel: String,
    pub variant: String,
    /// "rust" or "python".
    pub language: String,
    pub threads: usize,
    pub problem: ProblemSpec,
    /// Hash of everything the number depends on (see the module documentation).
    pub key: String,
    /// UTC date and time of the measurement, ISO 8601.
    pub measured_at: String,
    /// Measured with `--quick` (short budget): labelled on the page.
    pub quick: bool,
    pub machine: Machine,
    pub toolchain: Toolchain,
    pub git_commit: Option<String>,
    pub simd_path: Option<String>,
    pub check: CheckSummary,
    pub work_unit: String,
    pub work: f64,
    pub flops: Option<f64>,
    pub bytes: Option<f64>,
    pub per_thread_work: Vec<u64>,
    pub first_call_s: f64,
    pub warmup_runs: u64,
    pub iterations_per_sample: u64,
    pub samples_wall_s: Vec<f64>,
    pub samples_cpu_s: Vec<f64>,
    pub stop: StopReason,
    pub summary: Summary,
    /// CPU seconds per wall second over all samples.
    pub cpu_per_wall: f64,
    pub load_before: Option<f64>,
    pub load_after: Option<f64>,
    /// Why the machine looked busy during the measurement, if it did.
    pub busy: Option<String>,
    /// The CPU speed probes around the samples (Rust kernels; absent in older records and in
    /// Python records).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_speed: Option<crate::speed::SpeedProbe>,
    /// CPU used by other processes and stolen by the hypervisor while the samples ran
    /// (`cpuacct`; absent in older records).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contention: Option<crate::cpuacct::Contention>,
    /// Median per-call time of each worker process whose samples are pooled here (empty when
    /// one process measured it). Their spread shows how much the time depends on the process.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub process_medians: Vec<f64>,
    /// (max − min) / min of `process_medians`, set only when it exceeds the processes' own
    /// sampling noise (`measure::process_dependence`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process_spread: Option<f64>,
}

impl Record {
    /// Work units per second at the median.
    pub fn throughput(&self) -> f64 {
        self.work / self.summary.median
    }

    /// Useful GFLOP/s at the median, where flops are meaningful.
    pub fn gflops(&self) -> Option<f64> {
        self.flops.map(|f| f / self.summary.median / 1e9)
    }

    /// The date part of `measured_at`.
    pub fn date(&self) -> &str {
        self.measured_at.get(..10).unwrap_or(&self.measured_at)
    }
}

/// Identifies a record: which variant, at which thread count and size.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RecordId {
    pub id: String,
    /// Thread count; 0 for Python rungs, whose thread count the harness chooses (Numba uses
    /// every core) and reports in the record.
    pub threads: usize,
    pub problem: ProblemSpec,
}

impl RecordId {
    /// The id a record is stored under.
    pub fn of(record: &Record) -> RecordId {
        RecordId {
            id: record.id.clone(),
            threads: if record.language == "python" {
                0
            } else {
                record.threads
            },
            problem: record.problem,
        }
    }

    /// Path of the record relative to the store.
    pub fn file_name(&self) -> PathBuf {
        let (kernel, variant) = self.id.split_once('/').unwrap_or((&self.id, "default"));
        PathBuf::from(kernel).join(format!(
            "{variant}@t{}-n{}-m{}-s{}.json",
            self.threads, self.problem.n, self.problem.m, self.problem.seed
        ))
    }
}

/// The records on disk, loaded once per build.
#[derive(Debug, Default)]
pub struct Store {
    dir: PathBuf,
    records: BTreeMap<RecordId, Record>,
}

impl Store {
    /// Loads every record under `dir` (a missing directory is an empty store). A record that
    /// does not parse is an error naming the file: the store is the book's data and should not
    /// be silently ignored.
    pub fn load(dir: &Path) -> Result<Store> {
        let mut records = BTreeMap::new();
        if dir.is_dir() {
            for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
                let entry =
                    entry.with_context(|| format!("reading the store {}", dir.display()))?;
                if !entry.file_type().is_file()
                    || entry.path().extension().is_none_or(|e| e != "json")
                {
                    continue;
                }
                let text = fs::read_to_string(entry.path())
                    .with_context(|| format!("reading {}", entry.path().display()))?;
                let record: Record = serde_json::from_str(&text).with_context(|| {
                    format!(
                        "{} is not a valid measurement record; delete it to re-measure",
                        entry.path().display()
                    )
                })?;
                if record.schema != SCHEMA {
                    continue; // an older format: treated as missing, re-measured
                }
                records.insert(RecordId::of(&record), record);
            }
        }
        Ok(Store {
            dir: dir.to_path_buf(),
            records,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn get(&self, id: &RecordId) -> Option<&Record> {
        self.records.get(id)
    }

    pub fn records(&self) -> impl Iterator<Item = &Record> {
        self.records.values()
    }

    /// Adds a record and writes it to disk (through a temporary file, so an interrupted build
    /// never leaves half a record).
    pub fn put(&mut self, record: Record) -> Result<()> {
        let rid = RecordId::of(&record);
        let path = self.dir.join(rid.file_name());
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)
                .with_context(|| format!("creating the store directory {}", parent.display()))?;
        }
        let json = serde_json::to_string_pretty(&record).context("serializing a record")? + "\n";
        let tmp = path.with_extension("json.tmp");
        fs::write(&tmp, json).with_context(|| format!("writing {}", tmp.display()))?;
        fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))?;
        self.records.insert(rid, record);
        Ok(())
    }
}

/// Hex blake3 of the parts, each length-prefixed so that no two different part lists hash
/// alike.
pub fn key_of(parts: &[&str]) -> String {
    let mut h = blake3::Hasher::new();
    for p in parts {
        h.update(&(p.len() as u64).to_le_bytes());
        h.update(p.as_bytes());
    }
    h.finalize().to_hex().as_str()[..32].to_string()
}

/// The `[[package]]` entries of Cargo.lock that a package depends on, transitively, as text:
/// hashing them into a key means a kernel's records go stale when a crate it uses changes
/// version, and only then.
pub fn lock_closure(cargo_lock: &str, package: &str) -> String {
    #[derive(Deserialize)]
    struct Lock {
        #[serde(default)]
        package: Vec<LockPackage>,
    }
    #[derive(Deserialize)]
    struct LockPackage {
        name: String,
        version: String,
        #[serde(default)]
        dependencies: Vec<String>,
    }
    let Ok(lock) = toml::from_str::<Lock>(cargo_lock) else {
        return String::new();
    };
    let by_name: BTreeMap<&str, &LockPackage> =
        lock.package.iter().map(|p| (p.name.as_str(), p)).collect();
    let mut seen = std::collections::BTreeSet::new();
    let mut stack = vec![package.to_string()];
    while let Some(name) = stack.pop() {
        // A dependency entry may read "name version" when several versions are locked.
        let name = name.split_whitespace().next().unwrap_or("").to_string();
        if !seen.insert(name.clone()) {
            continue;
        }
        if let Some(p) = by_name.get(name.as_str()) {
            stack.extend(p.dependencies.iter().cloned());
        }
    }
    seen.iter()
        .filter_map(|n| by_name.get(n.as_str()))
        .map(|p| format!("{} {}\n", p.name, p.version))
        .collect()
}

/// UTC date-time in ISO 8601 for a Unix time, by Howard Hinnant's `civil_from_days`
/// algorithm (<https://howardhinnant.github.io/date_algorithms.html>).
pub fn iso8601(unix_seconds: i64) -> String {
    let days = unix_seconds.div_euclid(86_400);
    let secs = unix_seconds.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// The current UTC time in ISO 8601.
pub fn now_iso8601() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    iso8601(secs)
}

#[cfg(test)]
impl Record {
    /// A record for unit tests: `id` measured by `samples_wall_s` (seconds per call, one
    /// thread, CPU time = wall time) on a fixed fake machine and toolchain, with everything
    /// else neutral. Tests change what they care about with struct-update syntax, so a new
    /// field is added here once rather than in every test's hand-written record.
    pub fn example(id: &str, samples_wall_s: Vec<f64>) -> Record {
        let (kernel, variant) = id.split_once('/').unwrap_or((id, ""));
        let summary = crate::stats::summarize(&samples_wall_s).expect("valid test samples");
        Record {
            schema: SCHEMA,
            id: id.into(),
            kernel: kernel.into(),
            variant: variant.into(),
            language: if variant.starts_with("py-") {
                "python".into()
            } else {
                "rust".into()
            },
            threads: 1,
            problem: ProblemSpec {
                n: 1000,
                m: 1000,
                seed: 0,
            },
            key: String::new(),
            measured_at: "2026-01-01T00:00:00Z".into(),
            quick: false,
            machine: Machine {
                cpu_model: "Test CPU".into(),
                physical_cores: 2,
                logical_cores: 2,
                memory_gib: 4.0,
                llc_bytes: None,
                simd: vec![],
                os: "test".into(),
                kernel: "test".into(),
            },
            toolchain: Toolchain {
                rustc: "rustc 1.95.0".into(),
                profile: "release".into(),
                target: "x86_64-unknown-linux-gnu".into(),
                target_features: String::new(),
                perfguide_version: "0.1.0".into(),
            },
            git_commit: None,
            simd_path: None,
            check: CheckSummary {
                summary: "ok".into(),
                error: None,
            },
            work_unit: "items".into(),
            work: 1000.0,
            flops: None,
            bytes: None,
            per_thread_work: Vec::new(),
            first_call_s: summary.median,
            warmup_runs: 1,
            iterations_per_sample: 1,
            samples_cpu_s: samples_wall_s.clone(),
            samples_wall_s,
            stop: StopReason::Precise,
            summary,
            cpu_per_wall: 1.0,
            load_before: None,
            load_after: None,
            busy: None,
            cpu_speed: None,
            contention: None,
            process_medians: Vec::new(),
            process_spread: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_dates() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(iso8601(1_795_000_000), "2026-11-18T11:06:40Z"); // python3: datetime.utcfromtimestamp
        assert_eq!(iso8601(-86_400), "1969-12-31T00:00:00Z");
    }

    #[test]
    fn keys_separate_parts() {
        assert_ne!(key_of(&["ab", "c"]), key_of(&["a", "bc"]));
        assert_eq!(key_of(&["x"]), key_of(&["x"]));
    }

    #[test]
    fn lock_closure_follows_dependencies() {
        let lock = r#"
version = 4
[[package]]
name = "k"
version = "0.1.0"
dependencies = ["rayon", "rand 0.10.4"]
[[package]]
name = "rayon"
version = "1.12.0"
dependencies = ["either"]
[[package]]
name = "either"
version = "1.0.0"
[[package]]
name = "rand"
version = "0.10.4"
[[package]]
name = "unrelated"
version = "9.9.9"
"#;
        let c = lock_closure(lock, "k");
        assert!(
            c.contains("rayon 1.12.0") && c.contains("either 1.0.0") && c.contains("rand 0.10.4")
        );
        assert!(!c.contains("unrelated"));
    }

    #[test]
    fn record_file_names() {
        let id = RecordId {
            id: "mandelbrot/simd-avx512".into(),
            threads: 2,
            problem: ProblemSpec {
                n: 1000,
                m: 1000,
                seed: 0,
            },
        };
        assert_eq!(
            id.file_name(),
            PathBuf::from("mandelbrot/simd-avx512@t2-n1000-m1000-s0.json")
        );
    }
}
