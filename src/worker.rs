//! The worker: a child process that runs one kernel variant and measures it.
//!
//! `perfguide` re-executes itself as `perfguide __worker`, sends a [`Request`] as JSON on
//! stdin and reads a [`Response`] as JSON from stdout. Running kernels in a child contains
//! their failures: a panic, a crash (signal) or a hang kills the child, never the build, and
//! the parent turns it into an error that names the variant (see `measure.rs`). The worker
//! checks the result before it measures anything: a wrong answer exits with
//! [`EXIT_WRONG_RESULT`] and no time is ever recorded for it.

use std::hint::black_box;
use std::io::{Read, Write};
use std::process::ExitCode;
use std::time::Instant;

use perfguide_kernels::{Kernel, Outcome, Problem};
use serde::{Deserialize, Serialize};

use crate::cpuacct::{Contention, CpuTicks};
use crate::harness::{self, Plan, RealClock, Sampled};

/// Exit status of a worker whose variant computed a wrong result.
pub const EXIT_WRONG_RESULT: u8 = 3;
/// Exit status of a worker given a request it cannot serve (unknown id, bad JSON).
pub const EXIT_BAD_REQUEST: u8 = 4;

/// What to measure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Request {
    /// `kernel/variant`.
    pub id: String,
    pub problem: ProblemSpec,
    pub threads: usize,
    pub plan: Plan,
    /// Run the memory probe around the samples (`speed::MemoryProbe`): off for `--quick`,
    /// a smoke test under a time limit, and for profiles and images, which judge nothing.
    #[serde(default)]
    pub memory_probe: bool,
}

/// A serializable [`Problem`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ProblemSpec {
    pub n: u64,
    pub m: u64,
    pub seed: u64,
}

impl From<Problem> for ProblemSpec {
    fn from(p: Problem) -> Self {
        ProblemSpec {
            n: p.n,
            m: p.m,
            seed: p.seed,
        }
    }
}

impl From<ProblemSpec> for Problem {
    fn from(p: ProblemSpec) -> Self {
        Problem {
            n: p.n,
            m: p.m,
            seed: p.seed,
        }
    }
}

/// What the worker measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Response {
    pub id: String,
    pub threads: usize,
    /// The check's verdict on the first call's result.
    pub check: CheckSummary,
    /// The SIMD path the variant took on this CPU, if it dispatches.
    pub simd_path: Option<String>,
    /// Escape-loop iterations per thread (fractal kernels), from the first call.
    pub per_thread_work: Vec<u64>,
    /// Work units, useful flops and bytes of one call.
    pub work: f64,
    pub flops: Option<f64>,
    pub bytes: Option<f64>,
    /// Wall time of the very first call (cold caches, lazy initialisation).
    pub first_call_s: f64,
    pub sampled: Sampled,
    /// 1-minute load average before and after the measurement.
    pub load_before: Option<f64>,
    pub load_after: Option<f64>,
    /// CPU used by other processes, and steal, while the samples ran (`cpuacct`).
    #[serde(default)]
    pub contention: Option<Contention>,
    /// The speed probes (`speed::rates`) just before and just after sampling, on
    /// `probe_threads` threads.
    pub probe_threads: usize,
    pub probe_before: crate::speed::Rates,
    pub probe_after: crate::speed::Rates,
}

/// A passed check, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct CheckSummary {
    pub summary: String,
    pub error: Option<f64>,
}

/// Finds a kernel and variant by id: the real kernels, plus the test-only kernels when
/// `PERFGUIDE_TEST_KERNELS=1` (they exist to test failure handling and must never appear in
/// a real book).
pub fn find(id: &str) -> Option<(&'static Kernel, &'static perfguide_kernels::Variant)> {
    perfguide_kernels::registry::find(id).or_else(|| {
        if test_kernels_enabled() {
            let (k, v) = id.split_once('/')?;
            let kernel = crate::testkernels::KERNELS.iter().find(|kk| kk.name == k)?;
            Some((kernel, kernel.variant(v)?))
        } else {
            None
        }
    })
}

/// Every kernel the worker can run.
pub fn all_kernels() -> Vec<&'static Kernel> {
    let mut v: Vec<&'static Kernel> = perfguide_kernels::kernels().iter().collect();
    if test_kernels_enabled() {
        v.extend(crate::testkernels::KERNELS.iter());
    }
    v
}

pub fn test_kernels_enabled() -> bool {
    std::env::var_os("PERFGUIDE_TEST_KERNELS").is_some_and(|v| v == "1")
}

/// What the parent sends: a [`Request`] and what to do with it. A plain measurement request
/// has no `mode` key, so the wire format of measurements is unchanged; the other modes reuse
/// the request's variant, problem and thread count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Input {
    #[serde(flatten)]
    pub request: Request,
    #[serde(default)]
    pub mode: Mode,
}

/// What the worker does with a request.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Check, then time (the default): answers a [`Response`].
    #[default]
    Measure,
    /// Check, then take a sampling profile: answers a [`crate::profile::Profile`].
    Profile(crate::profile::SampleSpec),
    /// Check one run made inside the function callgrind counts (the parent runs the worker
    /// under valgrind): answers a [`crate::profile::CountedRun`].
    Instructions,
    /// Check, then write the fractal image as PNG to `path`: answers a
    /// [`crate::images::ImageInfo`].
    Image { path: std::path::PathBuf },
}

/// Entry point of `perfguide __worker`.
pub fn main() -> ExitCode {
    let mut input = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut input) {
        eprintln!("worker: reading the request: {e}");
        return ExitCode::from(EXIT_BAD_REQUEST);
    }
    let Input { request, mode } = match serde_json::from_str(&input) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("worker: malformed request: {e}");
            return ExitCode::from(EXIT_BAD_REQUEST);
        }
    };
    match mode {
        Mode::Measure => respond(measure(&request)),
        Mode::Profile(spec) => respond(crate::profile::sample_in_worker(&request, &spec)),
        Mode::Instructions => respond(crate::profile::counted_run_in_worker(&request)),
        Mode::Image { path } => respond(crate::images::image_in_worker(&request, &path)),
    }
}

/// Writes a worker's answer as one line of JSON, or its error on stderr with its exit status.
fn respond<T: Serialize>(result: Result<T, WorkerError>) -> ExitCode {
    match result {
        Ok(response) => {
            let json = serde_json::to_string(&response).unwrap_or_default();
            let mut out = std::io::stdout().lock();
            if writeln!(out, "{json}").and_then(|_| out.flush()).is_err() {
                return ExitCode::from(EXIT_BAD_REQUEST);
            }
            ExitCode::SUCCESS
        }
        Err(WorkerError::WrongResult(msg)) => {
            eprintln!("{msg}");
            ExitCode::from(EXIT_WRONG_RESULT)
        }
        Err(WorkerError::BadRequest(msg)) => {
            eprintln!("{msg}");
            ExitCode::from(EXIT_BAD_REQUEST)
        }
    }
}

#[derive(Debug)]
pub enum WorkerError {
    WrongResult(String),
    BadRequest(String),
}

/// Runs, checks, then samples one variant. Public for in-process tests of the logic; the
/// build always goes through a child process.
pub fn measure(request: &Request) -> Result<Response, WorkerError> {
    let (kernel, variant) = find(&request.id).ok_or_else(|| {
        WorkerError::BadRequest(format!("worker: unknown kernel variant '{}'", request.id))
    })?;
    let problem: Problem = request.problem.into();
    let threads = request.threads.max(1);
    let load_before = crate::machine::load_average();
    // The speed probe runs before the first call, so that the first call (which counts
    // towards the warm-up) directly precedes the samples.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let probe_threads = crate::stats::usable_cores(threads, cores);
    let memory_probe = request.memory_probe.then(crate::speed::MemoryProbe::new);
    let probe_before = crate::speed::rates(memory_probe.as_ref(), probe_threads);

    // First call, timed on its own: it includes one-off costs (page faults on fresh buffers,
    // thread-pool start-up) that the samples exclude by design.
    let t0 = Instant::now();
    let outcome = (variant.run)(black_box(&problem), threads);
    let first_call_s = t0.elapsed().as_secs_f64();
    let check = (kernel.check)(&problem, &request.id, &outcome)
        .map_err(|e| WorkerError::WrongResult(e.to_string()))?;
    let per_thread_work = match &outcome {
        Outcome::Fractal {
            per_thread_work, ..
        } => per_thread_work.clone(),
        _ => Vec::new(),
    };
    let flops = (kernel.flops)(&problem, &outcome);
    drop(outcome);

    let mut clock = RealClock::default();
    let ticks_before = CpuTicks::now();
    let sampled = harness::sample(&mut clock, &request.plan, first_call_s, &mut || {
        black_box((variant.run)(black_box(&problem), black_box(threads)));
    });
    let contention = ticks_before
        .zip(CpuTicks::now())
        .and_then(|(a, b)| crate::cpuacct::contention(&a, &b));
    let probe_after = crate::speed::rates(memory_probe.as_ref(), probe_threads);
    drop(memory_probe);
    Ok(Response {
        id: request.id.clone(),
        threads,
        check: CheckSummary {
            summary: check.summary,
            error: check.error,
        },
        simd_path: (variant.simd_path)().map(str::to_string),
        per_thread_work,
        work: (kernel.work)(&problem),
        flops,
        bytes: (kernel.bytes)(&problem),
        first_call_s,
        sampled,
        load_before,
        load_after: crate::machine::load_average(),
        contention,
        probe_threads,
        probe_before,
        probe_after,
    })
}
