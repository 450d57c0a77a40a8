//! The measure stage: decides what must be measured, runs each measurement in a worker
//! process, and stores the records.
//!
//! One variant at a time, with nothing else of perfguide running: the build waits for each
//! worker. A worker that crashes, panics, hangs past the timeout or computes a wrong result
//! becomes a [`MeasureError`] naming the variant; the build stops before writing anything.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::cpuacct::Contention;
use crate::harness::Plan;
use crate::machine::{Machine, Toolchain};
use crate::speed::SpeedReference;
use crate::store::{self, Record, RecordId, Store};
use crate::worker::{self, Request, Response};

/// Why a measurement failed. The build matches on it to phrase the error.
#[derive(Debug, thiserror::Error)]
pub enum MeasureError {
    #[error("{id}: wrong result, so it was not timed: {detail}")]
    WrongResult { id: String, detail: String },
    #[error("{id} panicked: {detail}")]
    Panicked { id: String, detail: String },
    #[error("{id} crashed: killed by signal {signal} ({name}){detail}")]
    Crashed {
        id: String,
        signal: i32,
        name: &'static str,
        detail: String,
    },
    #[error(
        "{id} did not finish within {seconds} s and was stopped; raise [measure] timeout-seconds if it is legitimately slow"
    )]
    TimedOut { id: String, seconds: u64 },
    #[error("{id}: the worker failed (exit status {code}): {detail}")]
    Failed {
        id: String,
        code: i32,
        detail: String,
    },
    #[error("{id}: {detail}")]
    Spawn { id: String, detail: String },
}

/// How the build measures.
#[derive(Debug, Clone)]
pub struct MeasureOptions {
    pub plan: Plan,
    pub quick: bool,
    /// Re-measure records whose id matches one of these filters (empty = none; "*" = all).
    pub remeasure: Vec<String>,
    /// Never measure: a missing or stale record is an error.
    pub frozen: bool,
    pub timeout: Duration,
    /// How many times to measure a variant again when its measurement looks disturbed.
    pub retries: u32,
    /// Worker processes per measurement, their samples pooled (see `pool`).
    pub processes: u32,
    /// How long to wait before measuring again: a disturbance on a shared host (another
    /// virtual machine on the same core) typically lasts seconds.
    pub retry_pause: Duration,
    /// Where the best speed-probe rates are remembered across sessions
    /// (`speed::REFERENCE_FILE` in the store); `None` judges each session on its own.
    pub speed_reference: Option<std::path::PathBuf>,
}

/// The pause before measuring a disturbed variant again, unless configured otherwise.
pub const RETRY_PAUSE: Duration = Duration::from_secs(1);

/// A measurement the book needs.
pub type Need = RecordId;

/// Everything that keys a record besides its id: computed once per build.
pub struct KeyContext {
    pub machine: Machine,
    pub toolchain: Toolchain,
    pub lock_closure: String,
    pub git_commit: Option<String>,
}

impl KeyContext {
    pub fn current(book_root: &Path) -> KeyContext {
        let lock = find_cargo_lock(book_root)
            .and_then(|p| std::fs::read_to_string(p).ok())
            .unwrap_or_default();
        KeyContext {
            machine: Machine::current(),
            toolchain: Toolchain::current(),
            lock_closure: store::lock_closure(&lock, "perfguide-kernels"),
            git_commit: crate::machine::git_commit(book_root),
        }
    }

    /// The key of a Rust kernel record: kernel source, shared kernel sources, locked crate
    /// versions, compiler and target, parameters, machine. The cargo profile is not part of
    /// it: the kernels crate is compiled with the same settings under every profile (the
    /// `[profile.dev.package.perfguide-kernels]` override matches release), so `cargo run`
    /// and `cargo run --release` measure the same machine code. The profile is still
    /// recorded in the provenance.
    pub fn key(&self, need: &Need) -> Option<String> {
        let (kernel, _) = worker::find(&need.id)?;
        Some(self.key_with_source(need, &sources_of(kernel.source, kernel.uses)))
    }

    /// The key given the kernel's source text (separate so tests can change the source).
    pub fn key_with_source(&self, need: &Need, kernel_source: &str) -> String {
        let params = format!(
            "{} t{} n{} m{} s{}",
            need.id, need.threads, need.problem.n, need.problem.m, need.problem.seed
        );
        store::key_of(&[
            kernel_source,
            &shared_sources(),
            &self.lock_closure,
            &self.toolchain.rustc,
            &self.toolchain.target,
            &self.toolchain.target_features,
            &params,
            &self.machine.fingerprint(),
        ])
    }
}

/// A kernel's own source followed by the sources of the kernel modules it calls.
fn sources_of(source: &str, uses: &[&str]) -> String {
    std::iter::once(source)
        .chain(uses.iter().copied())
        .collect()
}

/// The kernels crate's shared modules: a change to them can change any kernel's speed, so
/// they are part of every kernel's key (compiled in, so the key describes the code that runs).
fn shared_sources() -> String {
    [
        include_str!("../kernels/src/registry.rs"),
        include_str!("../kernels/src/rng.rs"),
        include_str!("../kernels/src/pool.rs"),
        include_str!("../kernels/src/simd.rs"),
        include_str!("../kernels/src/reference.rs"),
        include_str!("../kernels/Cargo.toml"),
    ]
    .concat()
}

/// The Cargo.lock of the workspace the binary was built from, or the book's.
fn find_cargo_lock(book_root: &Path) -> Option<std::path::PathBuf> {
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.lock");
    [book_root.join("Cargo.lock"), built]
        .into_iter()
        .find(|p| p.is_file())
}

/// Whether a record id matches a `--remeasure` filter: a glob with `*` or a substring.
pub fn matches_filter(id: &str, filter: &str) -> bool {
    if filter.contains('*') {
        glob_match(filter, id)
    } else {
        id.contains(filter)
    }
}

/// Minimal glob: `*` matches any run of characters (including `/`).
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == t[ti] || p[pi] == '?') {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// The state of one needed record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Fresh,
    Missing,
    Stale,
    /// Asked for with `--remeasure`.
    Requested,
}

/// Classifies each need against the store.
pub fn plan(
    needs: &BTreeSet<Need>,
    store: &Store,
    keys: &KeyContext,
    options: &MeasureOptions,
) -> Vec<(Need, Status)> {
    needs
        .iter()
        .map(|need| {
            let status = match (store.get(need), keys.key(need)) {
                (None, _) => Status::Missing,
                (Some(r), Some(k)) if r.key != k => Status::Stale,
                (Some(_), _)
                    if options
                        .remeasure
                        .iter()
                        .any(|f| matches_filter(&need.id, f)) =>
                {
                    Status::Requested
                }
                (Some(r), _) if r.quick && !options.quick => Status::Stale,
                (Some(_), _) => Status::Fresh,
            };
            (need.clone(), status)
        })
        .collect()
}

/// Measures every need that is not fresh, one at a time, reporting progress on stderr.
pub fn run(
    needs: &BTreeSet<Need>,
    store: &mut Store,
    keys: &KeyContext,
    options: &MeasureOptions,
) -> Result<()> {
    let todo: Vec<Need> = plan(needs, store, keys, options)
        .into_iter()
        .filter(|(_, s)| *s != Status::Fresh)
        .map(|(n, _)| n)
        .collect();
    if todo.is_empty() {
        return Ok(());
    }
    if options.frozen {
        let list: Vec<String> = plan(needs, store, keys, options)
            .into_iter()
            .filter(|(_, s)| *s != Status::Fresh)
            .map(|(n, s)| {
                format!(
                    "  {} @{} threads, n={} m={} seed={}: {}",
                    n.id,
                    n.threads,
                    n.problem.n,
                    n.problem.m,
                    n.problem.seed,
                    format!("{s:?}").to_lowercase()
                )
            })
            .collect();
        anyhow::bail!(
            "--frozen: {} measurement(s) are missing or stale:\n{}\nhelp: run `perfguide build` without --frozen to measure them",
            list.len(),
            list.join("\n")
        );
    }
    let started = Instant::now();
    let mut session = Session::new(&todo, keys, options)?;
    for (i, need) in todo.iter().enumerate() {
        let eta = if i == 0 {
            String::new()
        } else {
            let per = started.elapsed().as_secs_f64() / i as f64;
            format!(", about {:.0} s left", per * (todo.len() - i) as f64)
        };
        eprintln!(
            "measuring {} ({} thread{}) [{}/{}{eta}]",
            need.id,
            need.threads,
            if need.threads == 1 { "" } else { "s" },
            i + 1,
            todo.len()
        );
        let record = session.measure(need, |line| eprintln!("{line}"))?;
        store.put(record)?;
    }
    Ok(())
}

/// One measuring session, a build's measure stage or a `perfguide bench` run: the speed
/// reference its records are judged against, and the retry-and-report policy both share.
pub struct Session<'a> {
    keys: &'a KeyContext,
    options: &'a MeasureOptions,
    reference: SpeedReference,
}

impl<'a> Session<'a> {
    /// Starts a session for `needs`, calibrating the speed probes for their thread counts and
    /// adding the rates remembered for this machine.
    pub fn new(needs: &[Need], keys: &'a KeyContext, options: &'a MeasureOptions) -> Result<Self> {
        let mut reference = SpeedReference::calibrated(
            needs.iter().map(|n| probe_threads(n, keys)),
            !options.quick,
        );
        if let Some(file) = &options.speed_reference {
            reference.remember_from(file, &keys.machine.fingerprint())?;
        }
        Ok(Session {
            keys,
            options,
            reference,
        })
    }

    /// Measures `need` (again while it looks disturbed, see [`retry_while_disturbed`]) and
    /// tells `say` about each retry, a busy machine and process-dependence.
    pub fn measure(&mut self, need: &Need, say: impl FnMut(String)) -> Result<Record> {
        let (keys, options, reference) = (self.keys, self.options, &mut self.reference);
        // Both the attempts and the retry reports talk; never at the same time.
        let say = std::cell::RefCell::new(say);
        let record = retry_while_disturbed(
            options,
            || measure_one(need, keys, options, reference, &mut *say.borrow_mut()),
            |r| r.busy.clone(),
            |msg| (say.borrow_mut())(format!("{}: {msg}", need.id)),
        )?;
        let mut say = say.into_inner();
        if let Some(note) = process_note(&record) {
            say(note);
        }
        if let Some(why) = &record.busy {
            say(format!(
                "warning: {} was measured on a busy machine: {why}",
                need.id
            ));
        }
        // Remembered after every record, so an interrupted build keeps what it saw.
        if let Some(file) = &self.options.speed_reference {
            self.reference
                .remember_in(file, &self.keys.machine.fingerprint())?;
        }
        Ok(record)
    }
}

/// The threads a need's speed probe runs on: the cores its threads can use.
fn probe_threads(need: &Need, keys: &KeyContext) -> usize {
    crate::stats::usable_cores(need.threads, keys.machine.logical_cores)
}

/// Runs `attempt`, and again (after `options.retry_pause`) while `disturbed` says why its
/// result looks disturbed, at most `options.retries` more times; returns the last result.
/// `report` hears each retry. A busy machine is often busy for a few seconds only (a
/// compile finishing, another virtual machine's burst), and one clean measurement is worth
/// more than a flagged one; a machine that stays busy still ends with a flagged record.
fn retry_while_disturbed<T>(
    options: &MeasureOptions,
    mut attempt: impl FnMut() -> Result<T>,
    disturbed: impl Fn(&T) -> Option<String>,
    mut report: impl FnMut(String),
) -> Result<T> {
    let mut result = attempt()?;
    for n in 1..=options.retries {
        let Some(why) = disturbed(&result) else {
            break;
        };
        report(format!(
            "note: the measurement looked disturbed ({why}); measuring again in {:.0} s (attempt {} of {})",
            options.retry_pause.as_secs_f64(),
            n + 1,
            options.retries + 1
        ));
        std::thread::sleep(options.retry_pause);
        result = attempt()?;
    }
    Ok(result)
}

/// Runs the worker processes and turns their responses into a record, judging their speed
/// probes against `reference` (which they update); `say` hears about extra processes.
pub fn measure_one(
    need: &Need,
    keys: &KeyContext,
    options: &MeasureOptions,
    reference: &mut SpeedReference,
    say: &mut dyn FnMut(String),
) -> Result<Record> {
    // Each of the worker processes gets an equal share of the budget.
    let processes = options.processes.max(1);
    let mut plan = options.plan.clone();
    plan.budget_s /= processes as f64;
    let request = Request {
        id: need.id.clone(),
        problem: need.problem,
        threads: need.threads,
        plan,
        memory_probe: !options.quick,
    };
    let mut responses = (0..processes)
        .map(|_| run_worker(&request, options.timeout))
        .collect::<Result<Vec<_>, _>>()?;
    for extra in 1..=EXTRA_PROCESSES {
        if options.quick {
            break;
        }
        let Some(width) = interval_too_wide(&responses, options.plan.target_ci_rel) else {
            break;
        };
        say(format!(
            "{}: its {} processes pooled to ±{:.1}%, wider than the ±{:.1}% target; measuring one more process ({extra} of up to {EXTRA_PROCESSES} extra)",
            need.id,
            responses.len(),
            100.0 * width,
            100.0 * options.plan.target_ci_rel
        ));
        responses.push(run_worker(&request, options.timeout)?);
    }
    let (process_medians, widest_ci) = per_process_medians(&responses);
    let process_spread = process_dependence(&process_medians, widest_ci);
    let response = pool(responses).with_context(|| format!("{}: no worker ran", need.id))?;
    let (kernel, _) =
        worker::find(&need.id).with_context(|| format!("unknown kernel variant {}", need.id))?;
    let summary = crate::stats::summarize(&response.sampled.samples_wall_s)
        .with_context(|| format!("{}: no valid samples", need.id))?;
    let cpu_per_wall = crate::stats::cpu_utilisation(
        &response.sampled.samples_cpu_s,
        &response.sampled.samples_wall_s,
    );
    let speed = reference.judge(
        response.probe_threads,
        response.probe_before,
        response.probe_after,
    );
    let busy = crate::speed::join_reasons(
        busy_reason(
            cpu_per_wall,
            need.threads,
            response.contention,
            keys.machine.logical_cores,
        ),
        speed.slow_reason(),
    );
    let (kname, vname) = need.id.split_once('/').unwrap_or((&need.id, ""));
    Ok(Record {
        schema: store::SCHEMA,
        id: need.id.clone(),
        kernel: kname.to_string(),
        variant: vname.to_string(),
        language: "rust".into(),
        threads: response.threads,
        problem: need.problem,
        key: keys.key(need).unwrap_or_default(),
        measured_at: store::now_iso8601(),
        quick: options.quick,
        machine: keys.machine.clone(),
        toolchain: keys.toolchain.clone(),
        git_commit: keys.git_commit.clone(),
        simd_path: response.simd_path,
        check: response.check,
        work_unit: kernel.work_unit.to_string(),
        work: response.work,
        flops: response.flops,
        bytes: response.bytes,
        per_thread_work: response.per_thread_work,
        first_call_s: response.first_call_s,
        warmup_runs: response.sampled.warmup_runs,
        iterations_per_sample: response.sampled.iterations_per_sample,
        samples_wall_s: response.sampled.samples_wall_s,
        samples_cpu_s: response.sampled.samples_cpu_s,
        stop: response.sampled.stop,
        summary,
        cpu_per_wall,
        load_before: response.load_before,
        load_after: response.load_after,
        busy,
        cpu_speed: Some(speed),
        contention: response.contention,
        process_medians,
        process_spread,
    })
}

/// Worker processes added, at most, to a measurement whose pooled interval is still wider
/// than the target after `[measure] processes` (2) workers.
///
/// Two cases need them. Processes that each measured a tight median but disagree with each
/// other (a variant whose speed depends on the process, e.g. `julia/dynamic`'s 2-thread
/// efficiency here: 40.4–43.6 ms across eight processes, each within ±2%) pool into samples
/// with two modes, and the pooled median and its interval straddle the gap between them
/// (±3.2% in one full `perfguide bench`). More processes sample the distribution of processes
/// better, as more samples do within one: a clear majority pins the median down, and an even
/// split stays visible as a wide interval. A simulation drawing process medians from those
/// eight, with ±0.5% noise within each, put the pooled interval above ±3% in 13% of
/// measurements with two processes, 8% with up to one extra and 1% with up to two (2.5
/// processes on average). And processes that agree but are each noisy (a threaded variant in
/// a noisy host period) spent their budgets without reaching the target; another process
/// adds samples as a longer budget would. Each extra process costs one per-process budget,
/// and only such variants pay it; `--quick` never adds any.
const EXTRA_PROCESSES: u32 = 2;

/// The pooled interval's relative half-width when another worker process should be
/// measured: at least two processes ran (a book that asks for one gets one) and their pooled
/// interval is wider than the target.
fn interval_too_wide(responses: &[Response], target_ci_rel: f64) -> Option<f64> {
    if responses.len() < 2 {
        return None;
    }
    let pooled = pool(responses.to_vec())?;
    crate::stats::summarize(&pooled.sampled.samples_wall_s)
        .map(|s| s.ci_half_width_rel)
        .filter(|&w| w > target_ci_rel)
}

/// The median per-call wall time of each worker process, when there was more than one, and
/// the widest of their 95% CI half-widths (relative).
fn per_process_medians(responses: &[Response]) -> (Vec<f64>, f64) {
    if responses.len() < 2 {
        return (Vec::new(), 0.0);
    }
    let summaries: Vec<_> = responses
        .iter()
        .filter_map(|r| crate::stats::summarize(&r.sampled.samples_wall_s))
        .collect();
    let widest = summaries
        .iter()
        .map(|s| s.ci_half_width_rel)
        .fold(0.0, f64::max);
    (summaries.iter().map(|s| s.median).collect(), widest)
}

/// The terminal's note on a record whose processes disagreed.
fn process_note(record: &Record) -> Option<String> {
    let spread = record.process_spread?;
    let medians: Vec<String> = record
        .process_medians
        .iter()
        .map(|&m| crate::fragments::format_seconds(m))
        .collect();
    Some(format!(
        "note: {}: its {} worker processes measured {} ({:.0}% apart, more than their sampling noise): its time depends on the process it runs in; the reported median pools them",
        record.id,
        medians.len(),
        medians.join(", "),
        100.0 * spread
    ))
}

/// One response from several worker processes' responses: their samples pooled in order,
/// warm-up runs and sampling time added, the worse of their disturbance signals (most CPU
/// used by others, most steal; the slower speed probes), and the rest (check, first call,
/// per-thread work) from the first process. Every process checked its result before sampling.
///
/// Each process contributes the same number of samples, `k`, the fewest any process took: a
/// process that took more is thinned to `k` samples spread evenly over its run ([`thin`]; its
/// first `k` would be its noisiest, taken before its interval converged, and its last `k`
/// would hide a disturbance at its start). Without equal shares, a process disturbed for a
/// while (which never reaches the target interval and samples until its budget is spent)
/// outweighs the quiet ones: in one `perfguide bench mandelbrot`, `rayon-simd`'s first
/// process took about 300 samples at 6.15 ms while three others stopped at about 14 each
/// near 5.3 ms, and the pooled median came out at 5.98 ms.
fn pool(mut responses: Vec<Response>) -> Option<Response> {
    let keep = responses
        .iter()
        .map(|r| r.sampled.samples_wall_s.len())
        .min()?;
    for r in &mut responses {
        r.sampled.samples_wall_s = thin(&r.sampled.samples_wall_s, keep);
        r.sampled.samples_cpu_s = thin(&r.sampled.samples_cpu_s, keep);
    }
    let mut responses = responses.into_iter();
    let mut pooled = responses.next()?;
    for r in responses {
        let s = &mut pooled.sampled;
        s.warmup_runs += r.sampled.warmup_runs;
        s.samples_wall_s.extend(r.sampled.samples_wall_s);
        s.samples_cpu_s.extend(r.sampled.samples_cpu_s);
        s.sampling_s += r.sampled.sampling_s;
        if r.sampled.stop != crate::harness::StopReason::Precise {
            s.stop = r.sampled.stop;
        }
        pooled.contention = match (pooled.contention, r.contention) {
            (Some(a), Some(b)) => Some(Contention {
                others_cores: a.others_cores.max(b.others_cores),
                steal: a.steal.max(b.steal),
            }),
            (a, b) => a.or(b),
        };
        for (p, q) in [
            (&mut pooled.probe_before, r.probe_before),
            (&mut pooled.probe_after, r.probe_after),
        ] {
            p.arithmetic = p.arithmetic.min(q.arithmetic);
            p.memory = p.memory.min(q.memory);
        }
        pooled.load_after = r.load_after;
    }
    Some(pooled)
}

/// `k` of `samples` (all of them if there are no more), evenly spaced over the sequence:
/// indices ⌊i·n/k⌋ for i = 0..k, a systematic subsample that keeps the run's time order.
fn thin(samples: &[f64], k: usize) -> Vec<f64> {
    let n = samples.len();
    if k >= n {
        return samples.to_vec();
    }
    (0..k).map(|i| samples[i * n / k]).collect()
}

/// Relative spread of the per-process medians, (max − min) / min, when it exceeds what the
/// processes' own sampling noise explains: more than twice the widest within-process 95% CI
/// half-width, and more than 1%. Such a variant's time depends on the process it runs in
/// (memory placement, code and stack layout), so repeated runs will disagree by about this
/// much; the pooled confidence interval covers both.
pub fn process_dependence(medians: &[f64], widest_ci_rel: f64) -> Option<f64> {
    let min = medians.iter().copied().fold(f64::INFINITY, f64::min);
    let max = medians.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if medians.len() < 2 || min.is_nan() || min <= 0.0 || !max.is_finite() {
        return None;
    }
    let spread = (max - min) / min;
    (spread > 0.01 && spread > 2.0 * widest_ci_rel).then_some(spread)
}

/// CPU used by other processes, in cores on average over the samples, above which a
/// measurement counts as disturbed. An idle 2-vCPU VM reads 0.00–0.05 (kernel threads,
/// perfguide's own parent process polling its worker); a CPU-bound competitor reads about
/// 1.0. A quarter of a core is far above the first and catches a competitor that ran for a
/// quarter of the time.
pub const BUSY_OTHERS_CORES: f64 = 0.25;

/// Share of the VM's CPU time the hypervisor stole above which a measurement counts as
/// disturbed: 5% stolen lengthens a CPU-bound sample by about as much, more than the 2%
/// confidence interval the harness aims for. This machine's steal since boot averages 0.1%.
pub const BUSY_STEAL: f64 = 0.05;

/// Why a measurement looks disturbed, if it does: the process got less CPU than its threads
/// could use (`stats::looks_busy`'s CPU rule), other processes used CPU while it ran, or the
/// hypervisor took CPU time from the VM (`cpuacct`). The 1-minute load average is recorded
/// but not used: it lags by a minute, so it blames the compile that just ended and misses a
/// competitor that just started.
pub fn busy_reason(
    cpu_per_wall: f64,
    threads: usize,
    contention: Option<Contention>,
    cores: usize,
) -> Option<String> {
    let mut reasons = Vec::new();
    // With more threads than cores, threads wait for each other at every join and the
    // process leaves a core idle by itself: julia/rayon-simd at 3 and 4 threads on 2 cores
    // got 1.74–1.78 CPU-seconds per second on an idle machine. The CPU rule has no baseline
    // there; the accounting of other processes and the speed probe still apply.
    let oversubscribed = cores > 0 && threads > cores;
    if let Some(cpu) =
        crate::stats::looks_busy(cpu_per_wall, threads, 0.0, 0.0, cores).filter(|_| !oversubscribed)
    {
        reasons.push(cpu);
    }
    if let Some(c) = contention {
        if c.others_cores >= BUSY_OTHERS_CORES {
            reasons.push(format!(
                "other processes used {:.2} cores on average while it was measured",
                c.others_cores
            ));
        }
        if c.steal >= BUSY_STEAL {
            reasons.push(format!(
                "the hypervisor took {:.0}% of this virtual machine's CPU time while it was measured",
                100.0 * c.steal
            ));
        }
    }
    (!reasons.is_empty()).then(|| reasons.join("; "))
}

/// A child process that finished: its exit status and everything it wrote.
pub(crate) struct Finished {
    pub status: std::process::ExitStatus,
    pub out: String,
    pub err: String,
}

/// Why running a child failed: the step that failed ("starting the worker") and the I/O
/// error.
pub(crate) struct ChildError {
    pub step: String,
    pub error: std::io::Error,
}

/// Runs `command` with `input` on stdin, reading stdout and stderr on threads (so a chatty
/// child cannot block on a full pipe), and waits at most `timeout`. `Ok(None)` means the
/// child ran past the timeout and was killed. `name` names the child in errors. Workers for
/// measurements and profiles, and the Python harness, all go through here.
pub(crate) fn run_child(
    mut command: Command,
    name: &str,
    input: &[u8],
    timeout: Duration,
) -> Result<Option<Finished>, ChildError> {
    let step = |verb: &str| {
        let step = format!("{verb} {name}");
        move |error| ChildError { step, error }
    };
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(step("starting"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(input)
            .map_err(step("sending the input to"))?;
    }
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_string(&mut s);
            }
            s
        })
    };
    let out_thread = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err_thread = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let start = Instant::now();
    let status = loop {
        match child.try_wait().map_err(step("waiting for"))? {
            Some(status) => break status,
            None if start.elapsed() >= timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return Ok(None);
            }
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    Ok(Some(Finished {
        status,
        out: out_thread.join().unwrap_or_default(),
        err: err_thread.join().unwrap_or_default(),
    }))
}

/// Spawns `perfguide __worker`, sends the request, and waits at most `timeout`.
pub fn run_worker(request: &Request, timeout: Duration) -> Result<Response, MeasureError> {
    let id = request.id.clone();
    let spawn_err = |detail: String| MeasureError::Spawn {
        id: id.clone(),
        detail,
    };
    let exe = std::env::current_exe().map_err(|e| spawn_err(format!("finding perfguide: {e}")))?;
    let json = serde_json::to_string(request).map_err(|e| spawn_err(e.to_string()))?;
    let mut command = Command::new(exe);
    command.arg("__worker");
    match run_child(command, "the worker", json.as_bytes(), timeout) {
        Ok(Some(f)) => classify(&id, f.status, &f.out, &f.err),
        Ok(None) => Err(MeasureError::TimedOut {
            id,
            seconds: timeout.as_secs(),
        }),
        Err(e) => Err(spawn_err(format!("{}: {}", e.step, e.error))),
    }
}

/// Turns a finished worker's status and output into a response or an error.
fn classify(
    id: &str,
    status: std::process::ExitStatus,
    out: &str,
    err: &str,
) -> Result<Response, MeasureError> {
    let id = id.to_string();
    let detail = err.trim().to_string();
    if status.success() {
        return serde_json::from_str(out.trim()).map_err(|e| MeasureError::Failed {
            id,
            code: 0,
            detail: format!("unreadable response ({e})"),
        });
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return Err(MeasureError::Crashed {
                id,
                signal,
                name: signal_name(signal),
                detail: if detail.is_empty() {
                    String::new()
                } else {
                    format!(": {detail}")
                },
            });
        }
    }
    match status.code() {
        Some(c) if c == i32::from(worker::EXIT_WRONG_RESULT) => {
            Err(MeasureError::WrongResult { id, detail })
        }
        // Rust's exit status after a panic that unwinds out of main.
        Some(101) => Err(MeasureError::Panicked {
            id,
            detail: panic_message(&detail),
        }),
        code => Err(MeasureError::Failed {
            id,
            code: code.unwrap_or(-1),
            detail,
        }),
    }
}

/// The panic message from the worker's stderr ("thread 'main' panicked at file:line:\nmsg").
fn panic_message(stderr: &str) -> String {
    let mut lines = stderr.lines();
    let mut msg = Vec::new();
    while let Some(l) = lines.next() {
        if let Some(at) = l.find("panicked at") {
            // "thread 'main' (123) panicked at src/x.rs:3:5:" -> "at src/x.rs:3:5:"
            msg.push(l[at + "panicked ".len()..].trim().to_string());
            if let Some(next) = lines.next() {
                msg.push(next.trim().to_string());
            }
            break;
        }
    }
    if msg.is_empty() {
        stderr.trim().to_string()
    } else {
        msg.join(" ")
    }
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        4 => "SIGILL: an instruction this CPU does not support",
        6 => "SIGABRT: the process aborted",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV: an invalid memory access",
        15 => "SIGTERM",
        _ => "signal",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(retries: u32) -> MeasureOptions {
        MeasureOptions {
            plan: Plan::quick(0.1),
            quick: false,
            remeasure: Vec::new(),
            frozen: false,
            timeout: Duration::from_secs(1),
            retries,
            retry_pause: Duration::ZERO,
            processes: 1,
            speed_reference: None,
        }
    }

    fn too_wide(responses: &[Response], target: f64) -> bool {
        interval_too_wide(responses, target).is_some()
    }

    fn response(samples: Vec<f64>) -> Response {
        Response {
            id: "test/x".into(),
            threads: 1,
            check: worker::CheckSummary {
                summary: "ok".into(),
                error: None,
            },
            simd_path: None,
            per_thread_work: Vec::new(),
            work: 1.0,
            flops: None,
            bytes: None,
            first_call_s: 0.01,
            sampled: crate::harness::Sampled {
                warmup_runs: 1,
                iterations_per_sample: 1,
                samples_cpu_s: samples.clone(),
                samples_wall_s: samples,
                stop: crate::harness::StopReason::Precise,
                sampling_s: 0.1,
            },
            load_before: None,
            load_after: None,
            contention: None,
            probe_threads: 1,
            probe_before: crate::speed::Rates {
                arithmetic: 1.0,
                memory: 1.0,
            },
            probe_after: crate::speed::Rates {
                arithmetic: 1.0,
                memory: 1.0,
            },
        }
    }

    #[test]
    fn every_process_has_an_equal_share_of_the_pooled_samples() {
        // A disturbed process that sampled its whole budget, then three quiet ones.
        let disturbed = response(vec![6.15; 300]);
        let quiet = || response((0..14).map(|i| 5.3 + 0.001 * i as f64).collect());
        let pooled = pool(vec![disturbed, quiet(), quiet(), quiet()]).unwrap();
        assert_eq!(pooled.sampled.samples_wall_s.len(), 4 * 14);
        assert_eq!(pooled.sampled.samples_cpu_s.len(), 4 * 14);
        let median = crate::stats::summarize(&pooled.sampled.samples_wall_s)
            .unwrap()
            .median;
        assert!(median < 5.4, "the quiet majority sets the median: {median}");
        assert!(pool(Vec::new()).is_none());

        // A process that needed more samples is thinned evenly, not cut to its noisy start.
        let converging: Vec<f64> = (0..30).map(|i| if i < 10 { 2.0 } else { 1.0 }).collect();
        let pooled = pool(vec![response(converging), response(vec![1.0; 10])]).unwrap();
        let slow = pooled
            .sampled
            .samples_wall_s
            .iter()
            .filter(|&&t| t == 2.0)
            .count();
        assert_eq!(slow, 4, "{:?}", pooled.sampled.samples_wall_s);
    }

    #[test]
    fn thinning_keeps_evenly_spaced_samples_in_order() {
        let v: Vec<f64> = (0..10).map(f64::from).collect();
        assert_eq!(thin(&v, 10), v);
        assert_eq!(thin(&v, 20), v);
        assert_eq!(thin(&v, 5), vec![0.0, 2.0, 4.0, 6.0, 8.0]);
        assert_eq!(thin(&v, 3), vec![0.0, 3.0, 6.0]);
        assert!(thin(&v, 0).is_empty());
    }

    #[test]
    fn more_processes_are_measured_only_while_the_pooled_interval_is_wide() {
        let from = |start: f64| response((0..11).map(|i| start + 1e-5 * i as f64).collect());
        // Two tight processes 6% apart: the pooled interval straddles the gap.
        let (a, b) = (from(0.0410), from(0.0436));
        assert!(too_wide(&[a.clone(), b.clone()], 0.02));
        // Two to one still straddles (the interval's upper rank reaches the slow mode)...
        let c = from(0.0411);
        assert!(too_wide(&[a.clone(), b.clone(), c.clone()], 0.02));
        // ...three to one pins the pooled median down.
        assert!(!too_wide(&[a.clone(), b.clone(), c, from(0.0412)], 0.02));
        // Agreeing processes that are each too noisy for the target: more samples help.
        let noisy = |seed: u64| {
            response(
                (0..11)
                    .map(|i| 0.0410 * (1.0 + 0.1 * (((i * 7 + seed) % 11) as f64 / 10.0 - 0.5)))
                    .collect(),
            )
        };
        assert!(too_wide(&[noisy(0), noisy(3)], 0.02));
        // Agreeing tight processes, a single process, or a looser target: nothing more.
        let a2 = response(a.sampled.samples_wall_s.iter().map(|x| x * 1.001).collect());
        assert!(!too_wide(&[a.clone(), a2], 0.02));
        assert!(!too_wide(std::slice::from_ref(&a), 0.02));
        assert!(!too_wide(&[a, b], 0.05));
    }

    #[test]
    fn process_dependence_needs_more_than_sampling_noise() {
        // 34 vs 44 ms with tight intervals: flagged, 29%.
        let s = process_dependence(&[0.034, 0.044], 0.005).unwrap();
        assert!((s - 10.0 / 34.0).abs() < 1e-12);
        // 0.5% apart: below 1%.
        assert_eq!(process_dependence(&[0.100, 0.1005], 0.0001), None);
        // 3% apart with ±2% intervals: explained by noise.
        assert_eq!(process_dependence(&[0.100, 0.103], 0.02), None);
        // One process, or nonsense: nothing to say.
        assert_eq!(process_dependence(&[0.1], 0.0), None);
        assert_eq!(process_dependence(&[0.0, 0.1], 0.0), None);
    }

    /// Runs `retry_while_disturbed` over a scripted sequence of attempts (`Some(why)` =
    /// disturbed); returns the result kept, the attempts made and the retry messages.
    fn retry_script(retries: u32, script: &[Option<&str>]) -> (Option<String>, usize, Vec<String>) {
        let mut made = 0;
        let mut messages = Vec::new();
        let kept = retry_while_disturbed(
            &options(retries),
            || {
                made += 1;
                Ok(script[made - 1].map(str::to_string))
            },
            |r: &Option<String>| r.clone(),
            |m| messages.push(m),
        )
        .unwrap();
        (kept, made, messages)
    }

    #[test]
    fn a_clean_measurement_is_not_repeated() {
        assert_eq!(retry_script(2, &[None]), (None, 1, vec![]));
    }

    #[test]
    fn a_disturbed_measurement_is_repeated_until_clean() {
        let (kept, made, messages) = retry_script(2, &[Some("busy"), None]);
        assert_eq!((kept, made), (None, 2));
        assert_eq!(messages.len(), 1);
        assert!(messages[0].contains("(busy)"), "{messages:?}");
        assert!(messages[0].contains("attempt 2 of 3"), "{messages:?}");
    }

    #[test]
    fn a_machine_that_stays_busy_ends_with_the_last_flagged_record() {
        let (kept, made, messages) = retry_script(2, &[Some("a"), Some("b"), Some("c")]);
        assert_eq!((kept.as_deref(), made, messages.len()), (Some("c"), 3, 2));
        // No retries configured: one attempt, flagged.
        assert_eq!(retry_script(0, &[Some("a")]), (Some("a".into()), 1, vec![]));
    }

    #[test]
    fn an_error_is_not_retried() {
        let mut made = 0;
        let result: Result<Option<String>> = retry_while_disturbed(
            &options(2),
            || {
                made += 1;
                anyhow::bail!("test/wrong: wrong result")
            },
            |r: &Option<String>| r.clone(),
            |_| {},
        );
        assert!(result.is_err());
        assert_eq!(made, 1);
    }

    #[test]
    fn filters() {
        assert!(matches_filter("mandelbrot/simd-avx512", "mandelbrot"));
        assert!(matches_filter("mandelbrot/simd-avx512", "mandel*/simd-*"));
        assert!(matches_filter("mandelbrot/simd-avx512", "*"));
        assert!(!matches_filter("julia/scalar", "mandelbrot"));
        assert!(!matches_filter("julia/scalar", "m*/scalar"));
        assert!(glob_match("*/rayon", "julia/rayon"));
        assert!(!glob_match("*/rayon", "julia/rayon-simd"));
    }

    #[test]
    fn a_source_change_stales_exactly_the_kernels_that_use_it() {
        let keys = KeyContext::current(Path::new("."));
        let need = |id: &str| {
            let (k, _) = worker::find(id).unwrap();
            Need {
                id: id.into(),
                threads: 1,
                problem: k.default_problem.into(),
            }
        };
        let (m, j, p) = (
            need("mandelbrot/scalar"),
            need("julia/scalar"),
            need("pi-integration/naive"),
        );
        let (mk, _) = worker::find(&m.id).unwrap();
        let (jk, _) = worker::find(&j.id).unwrap();
        let (pk, _) = worker::find(&p.id).unwrap();
        let before = [&m, &j, &p].map(|n| keys.key(n).unwrap());
        assert_eq!(before[0], keys.key_with_source(&m, mk.source));
        // Edit mandelbrot.rs: Mandelbrot's records go stale, and Julia's (which renders with
        // Mandelbrot's vector loops), but not pi's.
        let edited = format!("{}\n// an edit\n", mk.source);
        assert_ne!(
            keys.key_with_source(&m, &edited),
            before[0],
            "edited kernel"
        );
        assert_eq!(jk.uses, [mk.source]);
        assert_ne!(
            keys.key_with_source(&j, &sources_of(jk.source, &[&edited])),
            before[1],
            "a kernel that uses it"
        );
        assert_eq!(
            keys.key_with_source(&p, &sources_of(pk.source, pk.uses)),
            before[2],
            "other kernel stays fresh"
        );
        // Thread count and problem size are part of the key too.
        let m2 = Need {
            threads: 2,
            ..m.clone()
        };
        assert_ne!(keys.key(&m2).unwrap(), before[0]);
    }

    #[test]
    fn busy_rules() {
        let others = |others_cores, steal| {
            Some(Contention {
                others_cores,
                steal,
            })
        };
        assert!(busy_reason(1.0, 1, others(0.03, 0.0), 2).is_none());
        assert!(busy_reason(1.98, 2, others(0.0, 0.001), 2).is_none());
        let r = busy_reason(1.0, 1, others(0.97, 0.0), 2).unwrap();
        assert!(r.contains("other processes used 0.97 cores"), "{r}");
        let r = busy_reason(1.0, 1, others(0.0, 0.08), 2).unwrap();
        assert!(r.contains("hypervisor took 8%"), "{r}");
        let r = busy_reason(1.1, 2, None, 2).unwrap();
        assert!(r.contains("CPU"), "{r}");
        // Just under and at the thresholds.
        assert!(
            busy_reason(
                1.0,
                1,
                others(BUSY_OTHERS_CORES - 0.01, BUSY_STEAL - 0.001),
                2
            )
            .is_none()
        );
        assert!(busy_reason(1.0, 1, others(BUSY_OTHERS_CORES, 0.0), 2).is_some());
        // More threads than cores: the CPU rule is off, the accounting of others still on.
        assert!(busy_reason(1.5, 4, others(0.0, 0.0), 2).is_none());
        assert!(busy_reason(1.5, 4, others(1.0, 0.0), 2).is_some());
    }

    #[test]
    fn panic_messages_are_extracted() {
        let err = "thread 'main' panicked at src/x.rs:3:5:\nboom\nnote: run with RUST_BACKTRACE=1";
        assert_eq!(panic_message(err), "at src/x.rs:3:5: boom");
    }
}
