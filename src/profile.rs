//! Profiles of kernel variants: which functions the time (or the instructions) went to.
//!
//! Two kinds, both taken in a worker process so a crashing kernel cannot take the build down:
//!
//! - **Sampling** ([`sample_in_worker`]): pprof records the call stack of the kernel's
//!   threads about 1,000 times a second while the variant runs in a loop. pprof's own timer is
//!   `setitimer(ITIMER_PROF)`, which the kernel's 250 Hz tick caps near 250 samples/s here
//!   (shared/FINDINGS.md), so it is switched off and a POSIX timer per kernel thread
//!   (`timer_create(CLOCK_MONOTONIC)`, `SIGEV_THREAD_ID`) sends the same SIGPROF every
//!   millisecond instead. Stacks are unwound from DWARF unwind tables (pprof's default; its
//!   frame-pointer unwinder gives wrong stacks here), and the kernels crate keeps line tables
//!   (`debug = "limited"`), so inlined functions such as the escape loop keep their names.
//! - **Instructions** ([`counted_run_in_worker`], [`profile_instructions`]): the worker runs
//!   under valgrind's callgrind, which counts the instructions each function executes:
//!   deterministic, and independent of the machine's load, at about 50 times the run time.
//!   valgrind 3.19 cannot decode AVX-512 and hides it from CPUID, so the dispatching variants
//!   take their AVX2 or scalar path there (the profile records which).
//!
//! Stacks are cleaned before anyone sees them ([`clean_symbol`], [`fold_stack`]): hash
//! suffixes go, the profiler's own frames and everything below the kernel's entry (the
//! worker, `main`, rayon's and std's call chains) are cut, and library glue between two
//! kernel frames is dropped. The result is stored in the measurement store as TOML
//! ([`profile_path`]) with a key like a record's, so a profile goes stale exactly when the
//! record would.

use std::collections::{BTreeMap, BTreeSet};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use perfguide_kernels::{Outcome, Problem};
use serde::{Deserialize, Serialize};

use crate::harness::Plan;
use crate::measure::{KeyContext, MeasureOptions, Need};
use crate::store::{self, RecordId};
use crate::worker::{self, Input, Mode, ProblemSpec, Request, WorkerError};

/// Version of the profile format; bump it when a field changes meaning.
pub const SCHEMA: u32 = 1;
/// Sampling rate asked of the POSIX timer.
pub const RATE_HZ: u32 = 1000;
/// How long a sampling profile runs by default: 2.5 s at 1 kHz is 2,500 samples per thread,
/// comfortably above the 2,000 a share needs to be known to about ±1 percentage point.
pub const DEFAULT_SECONDS: f64 = 2.5;
/// Fewer samples than this and the page says the profile is thin.
pub const MIN_SAMPLES: u64 = 2000;
/// The pseudo-function that collects samples taken outside the kernel (idle pool threads,
/// the profiling loop itself).
pub const OUTSIDE: &str = "[outside the kernel]";
/// The crate whose frames count as the kernel's.
const KERNEL_CRATE: &str = "perfguide_kernels::";

/// Which kind of profile.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "kebab-case")]
pub enum ProfileMode {
    /// Timer-driven stack samples (pprof).
    #[default]
    Sampling,
    /// Instruction counts per function (callgrind).
    Instructions,
}

impl ProfileMode {
    /// Parses the directive's `mode=` value.
    pub fn parse(s: &str) -> Option<ProfileMode> {
        match s {
            "sampling" => Some(ProfileMode::Sampling),
            "instructions" => Some(ProfileMode::Instructions),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ProfileMode::Sampling => "sampling",
            ProfileMode::Instructions => "instructions",
        }
    }
}

/// How to take a sampling profile (sent to the worker).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct SampleSpec {
    /// Wall-clock seconds of profiled runs (the loop stops after the call that crosses it).
    pub seconds: f64,
    pub rate_hz: u32,
}

impl Default for SampleSpec {
    fn default() -> Self {
        SampleSpec {
            seconds: DEFAULT_SECONDS,
            rate_hz: RATE_HZ,
        }
    }
}

/// One function's cost: samples (or instructions) in the function itself and in it or
/// anything it called.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct FunctionCost {
    pub name: String,
    pub self_samples: u64,
    pub total_samples: u64,
}

/// A stored profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Profile {
    pub schema: u32,
    /// `kernel/variant`.
    pub id: String,
    pub threads: usize,
    pub problem: ProblemSpec,
    pub mode: ProfileMode,
    /// Staleness key (see [`profile_key`]); empty until the parent stores the profile.
    pub key: String,
    /// UTC date and time, ISO 8601.
    pub measured_at: String,
    /// "samples" or "instructions".
    pub unit: String,
    /// Total count over all stacks (the denominator of every share).
    pub samples: u64,
    /// Every function, by self count (descending), then total, then name.
    pub functions: Vec<FunctionCost>,
    /// Folded stacks, root first: `"a;b;c count"` (sampling only).
    pub folded: Vec<String>,
    /// Wall-clock seconds of profiled runs.
    pub seconds: f64,
    /// Samples per second per sampled thread actually obtained (0 for instruction counts).
    pub rate_hz: f64,
    /// Calls of the variant while profiling.
    pub calls: u64,
    /// Median time of one call while profiled, and without the profiler in the same process
    /// just before (the overhead check).
    pub profiled_call_s: Option<f64>,
    pub unprofiled_call_s: Option<f64>,
    /// The same for CPU time (all the process's threads): what the profiler itself costs,
    /// unlike wall time hardly moved by other programs competing for the cores.
    #[serde(default)]
    pub profiled_cpu_s: Option<f64>,
    #[serde(default)]
    pub unprofiled_cpu_s: Option<f64>,
    /// The SIMD path the variant took in the profiled process.
    pub simd_path: Option<String>,
    pub machine: String,
}

impl Profile {
    /// Profiled over unprofiled median wall time per call, minus one (0.03 = 3% slower).
    pub fn overhead(&self) -> Option<f64> {
        match (self.profiled_call_s, self.unprofiled_call_s) {
            (Some(p), Some(u)) if u > 0.0 => Some(p / u - 1.0),
            _ => None,
        }
    }

    /// The same for CPU time per call.
    pub fn cpu_overhead(&self) -> Option<f64> {
        match (self.profiled_cpu_s, self.unprofiled_cpu_s) {
            (Some(p), Some(u)) if u > 0.0 => Some(p / u - 1.0),
            _ => None,
        }
    }

    /// The share of the total in one function's self or total count.
    pub fn share(&self, count: u64) -> f64 {
        if self.samples == 0 {
            0.0
        } else {
            count as f64 / self.samples as f64
        }
    }

    /// Rebuilds the function list and total from the folded stacks.
    fn with_folded(mut self, stacks: &BTreeMap<Vec<String>, u64>) -> Profile {
        self.samples = stacks.values().sum();
        self.functions = functions_of(stacks);
        self.folded = folded_lines(stacks);
        self
    }
}

// ---------------------------------------------------------------------------------------
// Symbols and stacks
// ---------------------------------------------------------------------------------------

/// A demangled symbol without the parts no reader needs: the legacy mangling's hash suffix
/// (`::h0123456789abcdef`), v0 crate disambiguators (`perfguide_kernels[1a2b3c]`), and
/// semicolons (the folded format's separator; they occur only inside array types).
pub fn clean_symbol(name: &str) -> String {
    let mut s = name.trim().to_string();
    // Legacy hash: "::h" followed by exactly 16 hex digits at the end.
    if let Some(pos) = s.rfind("::h") {
        let hash = &s[pos + 3..];
        if hash.len() == 16 && hash.chars().all(|c| c.is_ascii_hexdigit()) {
            s.truncate(pos);
        }
    }
    // v0 disambiguators: "name[hex]" directly after an identifier.
    let mut out = String::with_capacity(s.len());
    let mut rest = s.as_str();
    while let Some(open) = rest.find('[') {
        let after = &rest[open + 1..];
        let close = after.find(']');
        let prev_is_ident = rest[..open]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_');
        match close {
            Some(c)
                if prev_is_ident
                    && c > 0
                    && after[..c].chars().all(|ch| ch.is_ascii_hexdigit()) =>
            {
                out.push_str(&rest[..open]);
                rest = &after[c + 1..];
            }
            _ => {
                out.push_str(&rest[..=open]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out.replace(';', ",")
}

/// Whether a cleaned frame belongs to the kernels crate.
fn is_kernel_frame(name: &str) -> bool {
    name.contains(KERNEL_CRATE)
}

/// Library frames that only pass control along (iterator adapters, closures' call shims,
/// rayon's job plumbing, `catch_unwind`): dropped between kernel frames, kept as a leaf.
fn is_glue(name: &str) -> bool {
    let n = name.trim_start_matches('<');
    [
        "std::",
        "core::",
        "alloc::",
        "rayon::",
        "rayon_core::",
        "crossbeam",
        "__rust_try",
        "F as ",
        "&F as ",
        "&mut F as ",
        "T as ",
    ]
    .iter()
    .any(|p| n.starts_with(p))
}

/// The name shown to readers: the kernels crate's prefix goes (`mandelbrot::escape_count`
/// is how the source names it, from its module).
pub fn display_name(name: &str) -> String {
    name.replace(KERNEL_CRATE, "")
}

/// Frames of the profiler itself at the leaf end of a stack: the unwinder, pprof's and this
/// module's signal handlers, and the kernel's signal trampoline.
fn is_profiler_frame(name: &str) -> bool {
    let n = name.trim_start_matches('<');
    n.starts_with("backtrace::")
        || n.starts_with("pprof::")
        || n.starts_with("_Unwind_")
        || n.contains("perf_signal_handler")
        || n.contains("perfguide::profile::record_leaf")
        || n.contains("__restore_rt")
        || n == "Unknown"
        || n.is_empty()
}

/// How many leading (leaf-end) frames belong to the profiler: none unless the stack starts
/// with one, then every profiler frame up to the first frame of the interrupted code.
fn profiler_frames(leaf_first: &[String]) -> usize {
    leaf_first
        .iter()
        .position(|n| !is_profiler_frame(n))
        .unwrap_or(leaf_first.len())
}

/// One sampled stack, leaf first as unwound (inlined frames already expanded), turned into
/// what the profile shows, root first: cleaned names, the profiler's signal-handler frames
/// removed from the leaf end, everything below the outermost kernel frame (the worker,
/// `main`, thread start-up, rayon's scheduler) removed from the root end, and library glue
/// between kernel frames dropped. A stack without any kernel frame becomes [`OUTSIDE`].
/// `None` for an empty stack.
pub fn fold_stack(leaf_first: &[String]) -> Option<Vec<String>> {
    let names: Vec<String> = leaf_first.iter().map(|n| clean_symbol(n)).collect();
    let start = profiler_frames(&names);
    let frames = names.get(start..).filter(|f| !f.is_empty())?;
    let Some(entry) = frames.iter().rposition(|n| is_kernel_frame(n)) else {
        return Some(vec![OUTSIDE.to_string()]);
    };
    let mut kept: Vec<String> = frames[..=entry]
        .iter()
        .enumerate()
        .filter(|(i, n)| *i == 0 || is_kernel_frame(n) || !is_glue(n))
        .map(|(_, n)| display_name(n))
        .collect();
    kept.reverse();
    Some(kept)
}

/// Self and total counts per function. Self: the stacks whose leaf it is. Total: the stacks
/// it appears in, once per stack however often (recursion is not counted twice).
pub fn functions_of(stacks: &BTreeMap<Vec<String>, u64>) -> Vec<FunctionCost> {
    let mut costs: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for (stack, &count) in stacks {
        if let Some(leaf) = stack.last() {
            costs.entry(leaf).or_default().0 += count;
        }
        let distinct: BTreeSet<&str> = stack.iter().map(String::as_str).collect();
        for name in distinct {
            costs.entry(name).or_default().1 += count;
        }
    }
    let mut out: Vec<FunctionCost> = costs
        .into_iter()
        .map(|(name, (s, t))| FunctionCost {
            name: name.to_string(),
            self_samples: s,
            total_samples: t,
        })
        .collect();
    out.sort_by(|a, b| {
        b.self_samples
            .cmp(&a.self_samples)
            .then(b.total_samples.cmp(&a.total_samples))
            .then(a.name.cmp(&b.name))
    });
    out
}

/// Folded stacks in the format inferno and Brendan Gregg's flamegraph.pl read.
pub fn folded_lines(stacks: &BTreeMap<Vec<String>, u64>) -> Vec<String> {
    stacks
        .iter()
        .filter(|(s, c)| !s.is_empty() && **c > 0)
        .map(|(s, c)| format!("{} {c}", s.join(";")))
        .collect()
}

/// Parses folded lines back into stacks (for the terminal and tests).
pub fn parse_folded(lines: &[String]) -> BTreeMap<Vec<String>, u64> {
    let mut out = BTreeMap::new();
    for line in lines {
        if let Some((stack, count)) = line.rsplit_once(' ')
            && let Ok(c) = count.parse::<u64>()
        {
            *out.entry(stack.split(';').map(str::to_string).collect())
                .or_insert(0) += c;
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// The sampling worker
// ---------------------------------------------------------------------------------------

/// Runs in `perfguide __worker`: checks the variant, times it unprofiled for a while, then
/// profiles it for `spec.seconds` and returns the folded profile (unkeyed).
pub fn sample_in_worker(request: &Request, spec: &SampleSpec) -> Result<Profile, WorkerError> {
    let (kernel, variant) = worker::find(&request.id).ok_or_else(|| {
        WorkerError::BadRequest(format!("worker: unknown kernel variant '{}'", request.id))
    })?;
    let problem: Problem = request.problem.into();
    let threads = if variant.threaded {
        request.threads.max(1)
    } else {
        1
    };
    let outcome = (variant.run)(&problem, threads);
    (kernel.check)(&problem, &request.id, &outcome)
        .map_err(|e| WorkerError::WrongResult(e.to_string()))?;
    drop(outcome);
    let run = || {
        black_box((variant.run)(black_box(&problem), black_box(threads)));
    };
    // Same process, same data, just before: the fairest baseline for the overhead.
    let unprofiled = time_calls(&run, (spec.seconds * 0.4).max(0.2), 3);

    // Whose stacks to sample: the calling thread runs single-threaded variants; threaded
    // variants run on the pool's threads while the caller only waits.
    let tids: Vec<i32> = if variant.threaded {
        perfguide_kernels::pool::pool(threads).broadcast(|_| current_tid())
    } else {
        vec![current_tid()]
    };
    let guard = pprof::ProfilerGuardBuilder::default()
        .frequency(spec.rate_hz.clamp(1, 10_000) as i32)
        .blocklist(&["libgcc", "vdso"])
        .build()
        .map_err(|e| WorkerError::BadRequest(format!("worker: starting the profiler: {e}")))?;
    stop_itimer_prof();
    // Enough room for every sample of every thread at twice the asked rate.
    let capacity = ((spec.seconds + 1.0) * f64::from(spec.rate_hz) * 2.0) as usize * tids.len();
    let recorder = LeafRecorder::install(capacity.clamp(1024, 1 << 24)).map_err(|e| {
        WorkerError::BadRequest(format!("worker: installing the sample recorder: {e}"))
    })?;
    let timers = SignalTimers::start(&tids, spec.rate_hz).map_err(|e| {
        WorkerError::BadRequest(format!("worker: starting the sampling timers: {e}"))
    })?;
    let started = Instant::now();
    // At least `seconds`, and on until MIN_SAMPLES samples were taken (a busy machine
    // delivers fewer: a descheduled thread's timer signals merge), for at most 4 times as long.
    let mut profiled = CallTimes::default();
    loop {
        profiled.call(&run);
        let elapsed = started.elapsed().as_secs_f64();
        let enough = LEAF_NEXT.load(Ordering::Relaxed) as u64 >= MIN_SAMPLES;
        if (elapsed >= spec.seconds && enough) || elapsed >= 4.0 * spec.seconds {
            break;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    drop(timers);
    let leaf_pcs = recorder.finish();
    let report = guard
        .report()
        .build()
        .map_err(|e| WorkerError::BadRequest(format!("worker: reading the profile: {e}")))?;
    drop(guard);

    let leaves = leaf_chains(&leaf_pcs);
    let mut stacks: BTreeMap<Vec<String>, u64> = BTreeMap::new();
    for (frames, count) in &report.data {
        let groups: Vec<Vec<String>> = frames
            .frames
            .iter()
            .map(|inlined| inlined.iter().map(|s| s.name()).collect())
            .collect();
        for (leaf_first, n) in refine_leaf(&groups, (*count).max(0) as u64, &leaves) {
            if let Some(stack) = fold_stack(&leaf_first) {
                *stacks.entry(stack).or_insert(0) += n;
            }
        }
    }
    let total: u64 = stacks.values().sum();
    let profile = Profile {
        schema: SCHEMA,
        id: request.id.clone(),
        threads,
        problem: request.problem,
        mode: ProfileMode::Sampling,
        key: String::new(),
        measured_at: String::new(),
        unit: "samples".into(),
        samples: 0,
        functions: Vec::new(),
        folded: Vec::new(),
        seconds,
        rate_hz: total as f64 / seconds.max(1e-9) / tids.len().max(1) as f64,
        calls: profiled.wall.len() as u64,
        profiled_call_s: median(&profiled.wall),
        unprofiled_call_s: median(&unprofiled.wall),
        profiled_cpu_s: median(&profiled.cpu),
        unprofiled_cpu_s: median(&unprofiled.cpu),
        simd_path: (variant.simd_path)().map(str::to_string),
        machine: crate::machine::Machine::current().short(),
    };
    Ok(profile.with_folded(&stacks))
}

/// Calls `f` until `seconds` have passed and at least `min_calls` calls were made; returns
/// each call's wall time.
fn time_calls(f: &dyn Fn(), seconds: f64, min_calls: usize) -> CallTimes {
    let start = Instant::now();
    let mut times = CallTimes::default();
    while times.wall.len() < min_calls || start.elapsed().as_secs_f64() < seconds {
        times.call(f);
    }
    times
}

/// Wall and CPU time of each call.
#[derive(Default)]
struct CallTimes {
    wall: Vec<f64>,
    cpu: Vec<f64>,
}

impl CallTimes {
    fn call(&mut self, f: &dyn Fn()) {
        let cpu = crate::harness::process_cpu_seconds();
        let t = Instant::now();
        f();
        self.wall.push(t.elapsed().as_secs_f64());
        self.cpu.push(crate::harness::process_cpu_seconds() - cpu);
    }
}

fn median(values: &[f64]) -> Option<f64> {
    let sorted = crate::stats::sorted_finite(values)?;
    Some(crate::stats::median(&sorted))
}

/// The kernel's id of the calling thread (what `SIGEV_THREAD_ID` targets).
fn current_tid() -> i32 {
    // SAFETY: gettid has no preconditions and cannot fail.
    unsafe { libc::gettid() }
}

/// Switches off `ITIMER_PROF`, which pprof armed: its signals would add samples at the
/// tick-limited rate on top of the POSIX timers' (pprof disarms it again when dropped).
fn stop_itimer_prof() {
    let zero = libc::itimerval {
        it_interval: libc::timeval {
            tv_sec: 0,
            tv_usec: 0,
        },
        it_value: libc::timeval {
            tv_sec: 0,
            tv_usec: 0,
        },
    };
    // SAFETY: `zero` is a valid itimerval and the old value is not requested (null is
    // allowed); disarming a timer has no other effect.
    unsafe {
        libc::setitimer(libc::ITIMER_PROF, &zero, std::ptr::null_mut());
    }
}

/// POSIX timers that each send SIGPROF to one thread every `1/rate` seconds of wall-clock
/// time (`CLOCK_MONOTONIC`): unlike CPU-time timers they are not rounded to the scheduler
/// tick, so 1 kHz is 1 kHz. Wall-clock sampling suits the kernels, which run without
/// blocking; an idle pool thread is sampled idle, which shows load imbalance.
struct SignalTimers {
    ids: Vec<libc::timer_t>,
}

impl SignalTimers {
    fn start(tids: &[i32], rate_hz: u32) -> std::io::Result<SignalTimers> {
        let mut timers = SignalTimers { ids: Vec::new() };
        let period_ns = 1_000_000_000 / i64::from(rate_hz.clamp(1, 10_000));
        let interval = libc::timespec {
            tv_sec: 0,
            tv_nsec: period_ns,
        };
        let spec = libc::itimerspec {
            it_interval: interval,
            it_value: interval,
        };
        for &tid in tids {
            // SAFETY: an all-zero sigevent is a valid value of the C struct; the fields set
            // below select thread-directed signal delivery.
            let mut event: libc::sigevent = unsafe { std::mem::zeroed() };
            event.sigev_notify = libc::SIGEV_THREAD_ID;
            event.sigev_signo = libc::SIGPROF;
            event.sigev_notify_thread_id = tid;
            let mut id: libc::timer_t = std::ptr::null_mut();
            // SAFETY: `event` and `id` are valid for the call; `tid` is a live thread of this
            // process (the caller or a pool thread, which lives as long as the process).
            if unsafe { libc::timer_create(libc::CLOCK_MONOTONIC, &mut event, &mut id) } != 0 {
                return Err(std::io::Error::last_os_error());
            }
            timers.ids.push(id);
            // SAFETY: `id` was just created; `spec` is a valid itimerspec.
            if unsafe { libc::timer_settime(id, 0, &spec, std::ptr::null_mut()) } != 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
        Ok(timers)
    }
}

impl Drop for SignalTimers {
    fn drop(&mut self) {
        for &id in &self.ids {
            // SAFETY: each id came from a successful timer_create and is deleted once.
            unsafe {
                libc::timer_delete(id);
            }
        }
    }
}

/// Where [`record_leaf`] writes: a buffer of program counters allocated before the handler
/// is installed (a signal handler must not allocate), its capacity, and the next free slot.
static LEAF_BUFFER: AtomicPtr<AtomicUsize> = AtomicPtr::new(std::ptr::null_mut());
static LEAF_CAPACITY: AtomicUsize = AtomicUsize::new(0);
static LEAF_NEXT: AtomicUsize = AtomicUsize::new(0);
/// pprof's SIGPROF handler, called after recording (a `sa_sigaction` address; 0 = none).
static NEXT_HANDLER: AtomicUsize = AtomicUsize::new(0);

/// The program counter where a signal interrupted the thread, from its saved context.
///
/// # Safety
/// `context` must be the `ucontext_t` pointer the kernel passed to an `SA_SIGINFO` handler.
unsafe fn interrupted_pc(context: *mut libc::c_void) -> Option<usize> {
    if context.is_null() {
        return None;
    }
    let uc = context as *const libc::ucontext_t;
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    {
        // SAFETY: the caller guarantees `uc` points to the kernel's saved context.
        Some(unsafe { (*uc).uc_mcontext.gregs[libc::REG_RIP as usize] as usize })
    }
    #[cfg(all(target_os = "linux", target_arch = "aarch64"))]
    {
        // SAFETY: as above.
        Some(unsafe { (*uc).uc_mcontext.pc as usize })
    }
    #[cfg(not(all(
        target_os = "linux",
        any(target_arch = "x86_64", target_arch = "aarch64")
    )))]
    {
        let _ = uc;
        None
    }
}

/// The SIGPROF handler installed in front of pprof's: records the interrupted program
/// counter (atomics only, async-signal-safe), then hands the signal to pprof, which unwinds
/// and stores the stack.
extern "C" fn record_leaf(
    signal: libc::c_int,
    info: *mut libc::siginfo_t,
    context: *mut libc::c_void,
) {
    // SAFETY: the kernel calls this SA_SIGINFO handler with its saved context.
    if let Some(pc) = unsafe { interrupted_pc(context) } {
        let i = LEAF_NEXT.fetch_add(1, Ordering::Relaxed);
        let buffer = LEAF_BUFFER.load(Ordering::Acquire);
        if !buffer.is_null() && i < LEAF_CAPACITY.load(Ordering::Relaxed) {
            // SAFETY: `buffer` points to LEAF_CAPACITY atomics that outlive the handler's
            // installation (LeafRecorder::finish uninstalls it before freeing them).
            unsafe { (*buffer.add(i)).store(pc, Ordering::Relaxed) };
        }
    }
    let next = NEXT_HANDLER.load(Ordering::Relaxed);
    if next > libc::SIG_IGN {
        // SAFETY: `next` is the sa_sigaction of the SA_SIGINFO handler pprof installed
        // (checked in LeafRecorder::install), which has exactly this signature.
        let handler: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
            unsafe { std::mem::transmute(next) };
        handler(signal, info, context);
    }
}

/// Records the program counter of every sample, so the inlined functions of each sample's
/// leaf can be resolved (pprof keeps one address per distinct chain of functions).
struct LeafRecorder {
    buffer: Box<[AtomicUsize]>,
    previous: libc::sigaction,
}

impl LeafRecorder {
    fn install(capacity: usize) -> std::io::Result<LeafRecorder> {
        let buffer: Box<[AtomicUsize]> = (0..capacity).map(|_| AtomicUsize::new(0)).collect();
        // SAFETY: an all-zero sigaction is a valid value of the C struct.
        let mut previous: libc::sigaction = unsafe { std::mem::zeroed() };
        // SAFETY: querying the current disposition writes into `previous` only.
        if unsafe { libc::sigaction(libc::SIGPROF, std::ptr::null(), &mut previous) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        if previous.sa_flags & libc::SA_SIGINFO == 0 || previous.sa_sigaction <= libc::SIG_IGN {
            return Err(std::io::Error::other(
                "pprof's SIGPROF handler is not installed",
            ));
        }
        NEXT_HANDLER.store(previous.sa_sigaction, Ordering::Relaxed);
        LEAF_NEXT.store(0, Ordering::Relaxed);
        LEAF_CAPACITY.store(capacity, Ordering::Relaxed);
        LEAF_BUFFER.store(buffer.as_ptr() as *mut AtomicUsize, Ordering::Release);
        // SAFETY: as above; the fields set below make a valid SA_SIGINFO disposition whose
        // handler has the matching signature, with pprof's flags (SA_RESTART) and mask.
        let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
        action.sa_sigaction = record_leaf as *const () as usize;
        action.sa_flags = previous.sa_flags;
        action.sa_mask = previous.sa_mask;
        // SAFETY: `action` is a valid disposition for SIGPROF.
        if unsafe { libc::sigaction(libc::SIGPROF, &action, std::ptr::null_mut()) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(LeafRecorder { buffer, previous })
    }

    /// Gives SIGPROF back to pprof and returns the recorded program counters.
    fn finish(self) -> Vec<usize> {
        // SAFETY: restores the disposition saved at installation (pprof's).
        unsafe {
            libc::sigaction(libc::SIGPROF, &self.previous, std::ptr::null_mut());
        }
        LEAF_BUFFER.store(std::ptr::null_mut(), Ordering::Release);
        let n = LEAF_NEXT.load(Ordering::Relaxed).min(self.buffer.len());
        self.buffer[..n]
            .iter()
            .map(|a| a.load(Ordering::Relaxed))
            .filter(|&pc| pc != 0)
            .collect()
    }
}

/// The inlined-function chains at the recorded program counters, grouped by the function
/// that contains them: outermost (non-inlined) function's cleaned name -> chain (innermost
/// first) -> samples.
pub type LeafChains = BTreeMap<String, BTreeMap<Vec<String>, u64>>;

fn leaf_chains(pcs: &[usize]) -> LeafChains {
    let mut per_pc: BTreeMap<usize, u64> = BTreeMap::new();
    for &pc in pcs {
        *per_pc.entry(pc).or_insert(0) += 1;
    }
    let mut out: LeafChains = BTreeMap::new();
    for (pc, n) in per_pc {
        let mut chain = Vec::new();
        // `resolve` looks up address - 1 (right for return addresses); an interrupted
        // program counter is the instruction itself, so pass the next byte.
        backtrace::resolve((pc + 1) as *mut libc::c_void, |symbol| {
            chain.push(
                symbol
                    .name()
                    .map_or_else(|| "Unknown".to_string(), |n| n.to_string()),
            );
        });
        let Some(outer) = chain.last().map(|n| clean_symbol(n)) else {
            continue;
        };
        *out.entry(outer).or_default().entry(chain).or_insert(0) += n;
    }
    out
}

/// One of pprof's stacks (frames leaf first, each frame its inlined chain innermost first)
/// with `count` samples, split by the inlined chains actually sampled in its leaf function:
/// pprof resolved the leaf from one arbitrary sample. The split is proportional, with
/// largest-remainder rounding so the counts add up to `count`. Returns flattened stacks, leaf
/// first, for [`fold_stack`].
pub fn refine_leaf(
    groups: &[Vec<String>],
    count: u64,
    leaves: &LeafChains,
) -> Vec<(Vec<String>, u64)> {
    let flat = |gs: &[Vec<String>]| -> Vec<String> { gs.iter().flatten().cloned().collect() };
    let leaf = groups.iter().position(|g| {
        g.last()
            .is_some_and(|n| !is_profiler_frame(&clean_symbol(n)))
    });
    let Some(leaf) = leaf else {
        return vec![(flat(groups), count)];
    };
    let outer = groups[leaf]
        .last()
        .map(|n| clean_symbol(n))
        .unwrap_or_default();
    let Some(chains) = leaves.get(&outer).filter(|c| !c.is_empty()) else {
        return vec![(flat(groups), count)];
    };
    let list: Vec<(&Vec<String>, u64)> = chains.iter().map(|(c, n)| (c, *n)).collect();
    let weights: Vec<u64> = list.iter().map(|(_, n)| *n).collect();
    list.iter()
        .zip(split_count(count, &weights))
        .filter(|(_, n)| *n > 0)
        .map(|((chain, _), n)| {
            let mut gs = groups.to_vec();
            gs[leaf] = (*chain).clone();
            (flat(&gs), n)
        })
        .collect()
}

/// `count` split in proportion to `weights`, in whole numbers that add up to `count`
/// (largest remainder first, ties to the earlier weight).
pub fn split_count(count: u64, weights: &[u64]) -> Vec<u64> {
    let total: u64 = weights.iter().sum();
    if total == 0 {
        return vec![0; weights.len()];
    }
    let exact: Vec<f64> = weights
        .iter()
        .map(|&w| count as f64 * w as f64 / total as f64)
        .collect();
    let mut shares: Vec<u64> = exact.iter().map(|e| e.floor() as u64).collect();
    let short = count.saturating_sub(shares.iter().sum());
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| {
        (exact[b] - exact[b].floor())
            .total_cmp(&(exact[a] - exact[a].floor()))
            .then(a.cmp(&b))
    });
    for &i in order.iter().take(short as usize) {
        shares[i] += 1;
    }
    shares
}

// ---------------------------------------------------------------------------------------
// Instruction counts (callgrind)
// ---------------------------------------------------------------------------------------

/// What the worker reports from a counted run; the counts themselves are in callgrind's file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct CountedRun {
    pub simd_path: Option<String>,
    pub check: String,
}

/// The one function callgrind collects in (`--toggle-collect`): one call of the variant.
#[inline(never)]
pub fn perfguide_counted_run(
    run: fn(&Problem, usize) -> Outcome,
    problem: &Problem,
    threads: usize,
) -> Outcome {
    black_box(run(black_box(problem), black_box(threads)))
}

/// Runs in `perfguide __worker` under callgrind: one counted call, then its check (outside
/// the counted function, so the check's cost is not in the profile).
pub fn counted_run_in_worker(request: &Request) -> Result<CountedRun, WorkerError> {
    let (kernel, variant) = worker::find(&request.id).ok_or_else(|| {
        WorkerError::BadRequest(format!("worker: unknown kernel variant '{}'", request.id))
    })?;
    let problem: Problem = request.problem.into();
    let outcome = perfguide_counted_run(variant.run, &problem, request.threads.max(1));
    let check = (kernel.check)(&problem, &request.id, &outcome)
        .map_err(|e| WorkerError::WrongResult(e.to_string()))?;
    Ok(CountedRun {
        simd_path: (variant.simd_path)().map(str::to_string),
        check: check.summary,
    })
}

/// Self and inclusive instruction counts per function from a callgrind output file written
/// with `--compress-strings=no --compress-pos=no` (names and positions spelled out).
/// Inclusive counts add the inclusive cost of each call to another function; a function's
/// calls to itself are not added again.
pub fn parse_callgrind(text: &str) -> BTreeMap<String, (u64, u64)> {
    let mut costs: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut current: Option<String> = None;
    let mut callee: Option<String> = None;
    let mut after_calls = false;
    // Names may still be compressed ("(12) name" first, "(12)" after) if the option was
    // not honoured; resolve both forms.
    let mut ids: BTreeMap<String, String> = BTreeMap::new();
    let mut resolve = |v: &str| -> String {
        let v = v.trim();
        if let Some(rest) = v.strip_prefix('(')
            && let Some((id, name)) = rest.split_once(')')
        {
            let name = name.trim();
            if name.is_empty() {
                return ids.get(id).cloned().unwrap_or_else(|| v.to_string());
            }
            ids.insert(id.to_string(), name.to_string());
            return name.to_string();
        }
        v.to_string()
    };
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("fn=") {
            current = Some(resolve(v));
            after_calls = false;
        } else if let Some(v) = line.strip_prefix("cfn=") {
            callee = Some(resolve(v));
        } else if line.starts_with("calls=") {
            after_calls = true;
        } else if line
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit() || c == '+' || c == '-' || c == '*')
        {
            let cost: u64 = line
                .split_whitespace()
                .nth(1)
                .and_then(|c| c.parse().ok())
                .unwrap_or(0);
            let Some(f) = &current else { continue };
            if after_calls {
                if callee.as_deref() != Some(f.as_str()) {
                    costs.entry(f.clone()).or_default().1 += cost;
                }
                after_calls = false;
            } else {
                let e = costs.entry(f.clone()).or_default();
                e.0 += cost;
                e.1 += cost;
            }
        }
    }
    costs
}

/// Turns callgrind's per-function counts into a profile's function list: cleaned names,
/// the counting wrapper itself left out, sorted like a sampling profile.
pub fn instruction_functions(costs: &BTreeMap<String, (u64, u64)>) -> (u64, Vec<FunctionCost>) {
    let mut merged: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for (name, (s, t)) in costs {
        let clean = clean_symbol(name);
        // The counting wrapper itself, and its callers (the worker, main), which callgrind
        // charges the wrapper's inclusive cost but which run nothing while it counts.
        if clean.contains("perfguide_counted_run") || (*s == 0 && !is_kernel_frame(&clean)) {
            continue;
        }
        let e = merged.entry(display_name(&clean)).or_default();
        e.0 += s;
        e.1 += t;
    }
    let total: u64 = merged.values().map(|(s, _)| s).sum();
    let mut out: Vec<FunctionCost> = merged
        .into_iter()
        .filter(|(_, (s, t))| *s > 0 || *t > 0)
        .map(|(name, (s, t))| FunctionCost {
            name,
            self_samples: s,
            total_samples: t.min(total),
        })
        .collect();
    out.sort_by(|a, b| {
        b.self_samples
            .cmp(&a.self_samples)
            .then(b.total_samples.cmp(&a.total_samples))
            .then(a.name.cmp(&b.name))
    });
    (total, out)
}

/// The valgrind to run: `PERFGUIDE_VALGRIND` if set (a path, or a name on PATH), else
/// `valgrind`.
fn valgrind_command() -> std::ffi::OsString {
    std::env::var_os("PERFGUIDE_VALGRIND").unwrap_or_else(|| "valgrind".into())
}

/// Whether valgrind can be run here.
pub fn valgrind_available() -> bool {
    Command::new(valgrind_command())
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Why instruction-count profiles cannot be taken here, if they cannot.
pub fn instructions_unavailable() -> Option<String> {
    if !cfg!(target_os = "linux") {
        return Some("callgrind profiles are taken on Linux only".into());
    }
    (!valgrind_available()).then(|| {
        "valgrind is not installed on the machine that built this page (on Debian or Ubuntu: apt-get install valgrind)".into()
    })
}

// ---------------------------------------------------------------------------------------
// The parent side: the profile stage and the store of profiles
// ---------------------------------------------------------------------------------------

/// A profile a chapter needs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProfileNeed {
    pub id: String,
    pub threads: usize,
    pub problem: ProblemSpec,
    pub mode: ProfileMode,
}

impl ProfileNeed {
    /// The measurement record with the same id, threads and problem (its key is the base of
    /// the profile's key, and its median is shown beside the profiled time).
    pub fn record(&self) -> RecordId {
        RecordId {
            id: self.id.clone(),
            threads: self.threads,
            problem: self.problem,
        }
    }
}

/// A profile's file: in the measurement store, beside the records and the `{{#run}}` cache,
/// so profiles are kept, reviewed and committed with the numbers they explain. TOML, not
/// JSON: the store's loader reads every JSON file in its folder as a record.
pub fn profile_path(store_dir: &Path, need: &ProfileNeed) -> PathBuf {
    let (kernel, variant) = need.id.split_once('/').unwrap_or((&need.id, "default"));
    store_dir.join("profiles").join(kernel).join(format!(
        "{variant}@t{}-n{}-m{}-s{}-{}.toml",
        need.threads,
        need.problem.n,
        need.problem.m,
        need.problem.seed,
        need.mode.name()
    ))
}

/// The key of a profile: the record's key (kernel source, locked crates, compiler, machine,
/// parameters) plus the profile's own settings and format, and the profiler's own code (a
/// fixed profiler must not keep serving profiles a buggy one recorded).
pub fn profile_key(keys: &KeyContext, need: &ProfileNeed) -> Option<String> {
    let base = keys.key(&need.record())?;
    Some(store::key_of(&[
        &base,
        need.mode.name(),
        &SCHEMA.to_string(),
        &format!("{} {}", DEFAULT_SECONDS, RATE_HZ),
        PROFILER_SOURCE,
    ]))
}

/// The profiler's source, compiled in, for the key above.
const PROFILER_SOURCE: &str = concat!(include_str!("profile.rs"), include_str!("flame.rs"));

/// Reads a stored profile; `None` if there is none or it does not parse (it is then
/// re-profiled: profiles are derived data).
pub fn load(store_dir: &Path, need: &ProfileNeed) -> Option<Profile> {
    let text = std::fs::read_to_string(profile_path(store_dir, need)).ok()?;
    toml::from_str::<Profile>(&text)
        .ok()
        .filter(|p| p.schema == SCHEMA)
}

fn save(store_dir: &Path, need: &ProfileNeed, profile: &Profile) -> Result<()> {
    let path = profile_path(store_dir, need);
    let text = toml::to_string(profile).context("serializing a profile")?;
    write_atomically(&path, text.as_bytes())
}

/// Writes through a temporary file so an interrupted build never leaves half a file.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
}

/// The profile stage: takes every needed profile that is missing, stale or asked for with
/// `--remeasure`, one at a time. Instruction profiles are skipped where valgrind is missing
/// (the page says why). With `--frozen` a missing or stale profile is an error.
pub fn run(
    needs: &BTreeSet<ProfileNeed>,
    store_dir: &Path,
    keys: &KeyContext,
    options: &MeasureOptions,
) -> Result<()> {
    let no_valgrind = if needs.iter().any(|n| n.mode == ProfileMode::Instructions) {
        instructions_unavailable()
    } else {
        None
    };
    let mut todo = Vec::new();
    for need in needs {
        if need.mode == ProfileMode::Instructions && no_valgrind.is_some() {
            continue;
        }
        let key = profile_key(keys, need)
            .with_context(|| format!("unknown kernel variant {}", need.id))?;
        let requested = options
            .remeasure
            .iter()
            .any(|f| crate::measure::matches_filter(&need.id, f));
        let fresh = load(store_dir, need).is_some_and(|p| p.key == key);
        if !fresh || requested {
            todo.push((need, key));
        }
    }
    if todo.is_empty() {
        return Ok(());
    }
    if options.frozen {
        let list: Vec<String> = todo
            .iter()
            .map(|(n, _)| format!("  {} @{} threads ({})", n.id, n.threads, n.mode.name()))
            .collect();
        bail!(
            "--frozen: {} profile(s) are missing or stale:\n{}\nhelp: run `perfguide build` without --frozen to take them",
            list.len(),
            list.join("\n")
        );
    }
    for (i, (need, key)) in todo.iter().enumerate() {
        eprintln!(
            "profiling {} ({} thread{}, {}) [{}/{}]",
            need.id,
            need.threads,
            if need.threads == 1 { "" } else { "s" },
            need.mode.name(),
            i + 1,
            todo.len()
        );
        let mut profile = match need.mode {
            ProfileMode::Sampling => {
                profile_sampling(need, &SampleSpec::default(), options.timeout)?
            }
            ProfileMode::Instructions => profile_instructions(need, options.timeout * 20)?,
        };
        profile.key = key.clone();
        profile.measured_at = store::now_iso8601();
        if profile.mode == ProfileMode::Sampling && profile.samples < MIN_SAMPLES {
            eprintln!(
                "warning: the profile of {} has only {} samples, fewer than {MIN_SAMPLES}: a descheduled thread misses samples, so it was probably taken on a busy machine",
                need.id, profile.samples
            );
        }
        save(store_dir, need, &profile)?;
    }
    Ok(())
}

/// Takes a sampling profile in a worker process.
pub fn profile_sampling(
    need: &ProfileNeed,
    spec: &SampleSpec,
    timeout: Duration,
) -> Result<Profile> {
    let input = Input {
        request: request_of(need),
        mode: Mode::Profile(spec.clone()),
    };
    let out = spawn_worker(
        &need.id,
        &[],
        &input,
        timeout + Duration::from_secs_f64(spec.seconds * 2.0),
    )?;
    let mut profile: Profile = serde_json::from_str(out.trim())
        .with_context(|| format!("{}: unreadable profile from the worker", need.id))?;
    profile.problem = need.problem;
    Ok(profile)
}

/// Counts instructions per function with callgrind.
pub fn profile_instructions(need: &ProfileNeed, timeout: Duration) -> Result<Profile> {
    let dir = tempfile::tempdir().context("creating a temporary folder for callgrind")?;
    let out_file = dir.path().join("callgrind.out");
    let started = Instant::now();
    let input = Input {
        request: request_of(need),
        mode: Mode::Instructions,
    };
    let args = vec![
        "--tool=callgrind".to_string(),
        format!("--callgrind-out-file={}", out_file.display()),
        "--collect-atstart=no".into(),
        "--toggle-collect=*perfguide_counted_run*".into(),
        "--compress-strings=no".into(),
        "--compress-pos=no".into(),
    ];
    let out = spawn_worker(&need.id, &args, &input, timeout)?;
    let seconds = started.elapsed().as_secs_f64();
    let run: CountedRun = serde_json::from_str(out.trim())
        .with_context(|| format!("{}: unreadable answer from the worker", need.id))?;
    let text = std::fs::read_to_string(&out_file)
        .with_context(|| format!("{}: callgrind wrote no profile", need.id))?;
    let (total, functions) = instruction_functions(&parse_callgrind(&text));
    if total == 0 {
        bail!(
            "{}: callgrind counted no instructions in the kernel (was perfguide_counted_run inlined?)",
            need.id
        );
    }
    Ok(Profile {
        schema: SCHEMA,
        id: need.id.clone(),
        threads: need.threads,
        problem: need.problem,
        mode: ProfileMode::Instructions,
        key: String::new(),
        measured_at: String::new(),
        unit: "instructions".into(),
        samples: total,
        functions,
        folded: Vec::new(),
        seconds,
        rate_hz: 0.0,
        calls: 1,
        profiled_call_s: None,
        unprofiled_call_s: None,
        profiled_cpu_s: None,
        unprofiled_cpu_s: None,
        simd_path: run.simd_path,
        machine: crate::machine::Machine::current().short(),
    })
}

fn request_of(need: &ProfileNeed) -> Request {
    Request {
        id: need.id.clone(),
        problem: need.problem,
        threads: need.threads,
        plan: Plan::quick(0.1),
        memory_probe: false,
    }
}

/// Runs `perfguide __worker` (under valgrind when `valgrind_args` is not empty) with `input`
/// on stdin and returns its stdout. A crash, a panic, a wrong result or the timeout becomes
/// an error naming the variant, as for measurements.
pub(crate) fn spawn_worker(
    id: &str,
    valgrind_args: &[String],
    input: &Input,
    timeout: Duration,
) -> Result<String> {
    let exe = std::env::current_exe().context("finding the perfguide executable")?;
    let mut command = if valgrind_args.is_empty() {
        Command::new(&exe)
    } else {
        let mut c = Command::new(valgrind_command());
        c.args(valgrind_args).arg(&exe);
        c
    };
    command.arg("__worker");
    let json = serde_json::to_string(input)?;
    let finished = match crate::measure::run_child(command, "the worker", json.as_bytes(), timeout)
    {
        Ok(Some(f)) => f,
        Ok(None) => bail!(
            "{id}: profiling did not finish within {} s and was stopped",
            timeout.as_secs()
        ),
        Err(e) => bail!("{id}: {}: {}", e.step, e.error),
    };
    let (status, out, err) = (finished.status, finished.out, finished.err);
    if status.success() {
        return Ok(out);
    }
    let detail = err.trim();
    match status.code() {
        Some(c) if c == i32::from(worker::EXIT_WRONG_RESULT) => {
            bail!("{id}: wrong result, so it was not profiled: {detail}")
        }
        Some(c) => bail!("{id}: the profiling worker failed (exit status {c}): {detail}"),
        None => bail!("{id}: the profiling worker was killed by a signal: {detail}"),
    }
}

/// The profile needs of a `{{#profile}}` directive's id, resolved like a measurement's.
pub fn need_for(record: &Need, mode: ProfileMode) -> ProfileNeed {
    ProfileNeed {
        id: record.id.clone(),
        threads: record.threads,
        problem: record.problem,
        mode,
    }
}

// ---------------------------------------------------------------------------------------
// Shares for display
// ---------------------------------------------------------------------------------------

/// Percentages with `decimals` decimals that add up to exactly 100 (largest-remainder
/// rounding, Hamilton's method): what a table of shares should show so its column sums to
/// 100% rather than 99.9% or 100.1%. Zero counts stay 0.
pub fn rounded_percentages(counts: &[u64], decimals: u32) -> Vec<f64> {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return vec![0.0; counts.len()];
    }
    let scale = 10u64.pow(decimals);
    let units = 100 * scale; // e.g. 1000 tenths of a percent
    let exact: Vec<f64> = counts
        .iter()
        .map(|&c| c as f64 * units as f64 / total as f64)
        .collect();
    let mut floors: Vec<u64> = exact.iter().map(|e| e.floor() as u64).collect();
    let short = units.saturating_sub(floors.iter().sum());
    let mut order: Vec<usize> = (0..counts.len()).collect();
    order.sort_by(|&a, &b| {
        let ra = exact[a] - exact[a].floor();
        let rb = exact[b] - exact[b].floor();
        rb.total_cmp(&ra).then(a.cmp(&b))
    });
    for &i in order.iter().take(short as usize) {
        floors[i] += 1;
    }
    floors.iter().map(|&f| f as f64 / scale as f64).collect()
}

/// The rows a profile table shows: the functions that matter by self or by total count
/// (the top `n` of each), ordered by total then self; and the self count of everything else.
pub fn table_rows(profile: &Profile, n: usize) -> (Vec<&FunctionCost>, u64) {
    let mut by_total: Vec<&FunctionCost> = profile.functions.iter().collect();
    by_total.sort_by(|a, b| {
        b.total_samples
            .cmp(&a.total_samples)
            .then(b.self_samples.cmp(&a.self_samples))
            .then(a.name.cmp(&b.name))
    });
    let mut chosen: BTreeSet<&str> = BTreeSet::new();
    for f in profile
        .functions
        .iter()
        .filter(|f| f.self_samples > 0)
        .take(n)
    {
        chosen.insert(&f.name);
    }
    for f in by_total.iter().take(n) {
        chosen.insert(&f.name);
    }
    let rows: Vec<&FunctionCost> = by_total
        .into_iter()
        .filter(|f| chosen.contains(f.name.as_str()))
        .filter(|f| profile.share(f.total_samples) >= 0.001 || f.self_samples > 0)
        .collect();
    let shown: u64 = rows.iter().map(|f| f.self_samples).sum();
    let rest = profile.samples.saturating_sub(shown);
    (rows, rest)
}

/// A share for a table: one decimal, and "<0.1%" for a count that rounds to zero, so a
/// function with samples never reads as 0%.
fn percent_text(percent: f64, count: u64) -> String {
    if count > 0 && percent < 0.05 {
        "&lt;0.1%".to_string()
    } else {
        format!("{percent:.1}%")
    }
}

/// A function's total share for display: as its self share when the two counts are equal,
/// so the rounding of the self column (which must add up to 100%) never shows total < self.
fn total_percent(profile: &Profile, f: &FunctionCost, self_percent: f64) -> f64 {
    if f.total_samples == f.self_samples {
        self_percent
    } else {
        100.0 * profile.share(f.total_samples)
    }
}

/// The terminal report of `perfguide profile`.
pub fn terminal_report(profile: &Profile, top: usize) -> String {
    let mut out = String::new();
    let (rows, rest) = table_rows(profile, top);
    let mut counts: Vec<u64> = rows.iter().map(|f| f.self_samples).collect();
    counts.push(rest);
    let self_pct = rounded_percentages(&counts, 1);
    let width = rows
        .iter()
        .map(|f| f.name.chars().count())
        .max()
        .unwrap_or(8)
        .clamp(8, 90);
    out.push_str(&format!(
        "{:>7} {:>7} {:>12}  function\n",
        "self", "total", profile.unit
    ));
    for (f, pct) in rows.iter().zip(&self_pct) {
        let name: String = f.name.chars().take(width).collect();
        out.push_str(&format!(
            "{:>6.1}% {:>6.1}% {:>12}  {name}\n",
            pct,
            total_percent(profile, f, *pct),
            f.self_samples
        ));
    }
    if rest > 0 {
        out.push_str(&format!(
            "{:>6.1}% {:>7} {:>12}  (other functions)\n",
            self_pct.last().copied().unwrap_or(0.0),
            "",
            rest
        ));
    }
    out
}

// ---------------------------------------------------------------------------------------
// Plan and render: `{{#profile ID [mode=sampling|instructions]}}`
// ---------------------------------------------------------------------------------------

/// The measurement a `{{#profile}}` directive needs besides its profile: a sampling profile
/// shows the variant's stored median beside the profiled time.
pub fn record_needs(id: &str, mode: &str, cores: usize) -> Result<Vec<Need>, String> {
    let need = resolve(id, mode, cores)?;
    Ok(match need.mode {
        ProfileMode::Sampling => vec![need.record()],
        ProfileMode::Instructions => Vec::new(),
    })
}

/// Resolves a directive's id and mode like a measurement id (`kernel/variant[@threads]`).
pub fn resolve(id: &str, mode: &str, cores: usize) -> Result<ProfileNeed, String> {
    let mode = ProfileMode::parse(mode)
        .ok_or_else(|| format!("unknown profile mode '{mode}'; use sampling or instructions"))?;
    if crate::python::is_python_id(id) {
        return Err(format!(
            "{id} is a Python rung; profiles are taken of Rust variants (profile Python code with the tools its chapter shows)"
        ));
    }
    let r = crate::fragments::resolve_ref(id, cores)?;
    let threaded = worker::find(&r.id).is_some_and(|(_, v)| v.threaded);
    if mode == ProfileMode::Instructions && threaded {
        return Err(format!(
            "{} runs on a thread pool; instruction counts are taken of single-threaded variants (callgrind collects only in the thread that calls the kernel, not in the pool's threads)",
            r.id
        ));
    }
    Ok(ProfileNeed {
        id: r.id,
        threads: r.threads,
        problem: r.kernel.default_problem.into(),
        mode,
    })
}

/// Every profile and image the chapters' directives need (unresolvable directives are
/// reported by the measurement plan, not here).
pub fn artifact_needs<'a>(
    directives: impl Iterator<Item = &'a crate::directive::Located>,
    cores: usize,
) -> (BTreeSet<ProfileNeed>, BTreeSet<crate::images::ImageNeed>) {
    use crate::directive::Directive;
    let mut profiles = BTreeSet::new();
    let mut images = BTreeSet::new();
    for d in directives {
        match &d.directive {
            Directive::Profile { id, mode } => {
                if let Ok(n) = resolve(id, mode, cores) {
                    profiles.insert(n);
                }
            }
            Directive::Chart {
                kind,
                arg: Some(arg),
            } if kind == "image" => {
                if let Ok(n) = crate::images::need_of(arg) {
                    images.insert(n);
                }
            }
            _ => {}
        }
    }
    (profiles, images)
}

/// The profile and image stage of a build (after the measurements): takes what the
/// directives need and the store lacks.
pub fn run_stage<'a>(
    book_root: &Path,
    store_dir: &Path,
    directives: impl Iterator<Item = &'a crate::directive::Located>,
    cores: usize,
    options: &MeasureOptions,
) -> Result<()> {
    let (profiles, images) = artifact_needs(directives, cores);
    if profiles.is_empty() && images.is_empty() {
        return Ok(());
    }
    let keys = KeyContext::current(book_root);
    run(&profiles, store_dir, &keys, options)?;
    crate::images::run(&images, store_dir, &keys, options)
}

/// `../` once per folder of the page, to reach the site root from it.
pub fn root_prefix(page_path: &str) -> String {
    "../".repeat(page_path.matches('/').count())
}

/// 1234567 -> "1,234,567".
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The site path of a profile's flame graph.
pub fn flame_site_path(profile: &Profile) -> String {
    format!(
        "profiles/{}-t{}.svg",
        profile.id.replace('/', "-"),
        profile.threads
    )
}

/// Renders `{{#profile}}`: the table, notes and (for sampling) the flame graph, which it
/// returns as a site file to add. A missing instruction profile where valgrind is absent
/// renders as a note saying so; anything else missing is an error.
pub fn render_directive(
    store: &crate::store::Store,
    id: &str,
    mode: &str,
    cores: usize,
    page_path: &str,
) -> Result<(crate::directive::Fragment, crate::images::SiteFileList), String> {
    use crate::render::escape_html;
    let need = resolve(id, mode, cores)?;
    let Some(profile) = load(store.dir(), &need) else {
        if need.mode == ProfileMode::Instructions
            && let Some(why) = instructions_unavailable()
        {
            let html = format!(
                "<div class=\"profile-missing\" role=\"note\"><p>No instruction-count profile of <code>{}</code>: {}. Instruction counts come from valgrind's callgrind, which the build runs where it is installed; the rest of the page does not depend on it.</p></div>\n",
                escape_html(&need.id),
                escape_html(&why)
            );
            return Ok((
                crate::directive::Fragment {
                    html,
                    text: format!("(no instruction profile of {}: {why})", need.id),
                },
                Vec::new(),
            ));
        }
        return Err(format!(
            "no {} profile of {} with {} thread(s); run `perfguide build` (not --frozen) to take it",
            need.mode.name(),
            need.id,
            need.threads
        ));
    };
    let record = store.get(&need.record());
    let mut files = Vec::new();
    let mut flame = String::new();
    if profile.mode == ProfileMode::Sampling && !profile.folded.is_empty() {
        let title = format!(
            "{} ({} thread{}): {} samples",
            profile.id,
            profile.threads,
            if profile.threads == 1 { "" } else { "s" },
            thousands(profile.samples)
        );
        let svg =
            crate::flame::svg(&profile.folded, &title, "samples").map_err(|e| format!("{e:#}"))?;
        let path = flame_site_path(&profile);
        let height = crate::flame::height_of(&svg).unwrap_or(400);
        flame = crate::flame::embed_html(
            &format!("{}{path}", root_prefix(page_path)),
            height,
            &format!("Flame graph of {}", profile.id),
        );
        files.push((path, svg.into_bytes()));
    }
    let html = table_html(&profile, record) + &flame + "</figcaption>\n</figure>\n";
    let text = profile
        .functions
        .iter()
        .take(5)
        .map(|f| format!("{} {:.1}%", f.name, 100.0 * profile.share(f.self_samples)))
        .collect::<Vec<_>>()
        .join(", ");
    Ok((crate::directive::Fragment { html, text }, files))
}

/// The table and notes of a profile, up to an open `<figcaption>`.
fn table_html(profile: &Profile, record: Option<&crate::store::Record>) -> String {
    use crate::fragments::format_seconds;
    use crate::render::escape_html;
    let (rows, rest) = table_rows(profile, 12);
    let mut counts: Vec<u64> = rows.iter().map(|f| f.self_samples).collect();
    counts.push(rest);
    let self_pct = rounded_percentages(&counts, 1);
    let threads = format!(
        "{} thread{}",
        profile.threads,
        if profile.threads == 1 { "" } else { "s" }
    );
    let caption = match profile.mode {
        ProfileMode::Sampling => format!(
            "Where <code>{}</code> spends its time: {} stack samples over {:.1} s ({threads}, {:.0} samples per second per thread)",
            escape_html(&profile.id),
            thousands(profile.samples),
            profile.seconds,
            profile.rate_hz
        ),
        ProfileMode::Instructions => format!(
            "Instructions executed by one run of <code>{}</code>: {} in total ({threads}, counted by callgrind)",
            escape_html(&profile.id),
            thousands(profile.samples)
        ),
    };
    let unit = if profile.mode == ProfileMode::Sampling {
        "samples"
    } else {
        "instructions"
    };
    let mut html = format!(
        "<figure class=\"profile\" id=\"profile-{}-t{}-{}\">\n<table class=\"profile\">\n<caption>{caption}</caption>\n<thead><tr><th scope=\"col\">Function</th><th scope=\"col\">Self <span class=\"count\">({unit})</span></th><th scope=\"col\">Total <span class=\"count\">({unit})</span></th></tr></thead>\n<tbody>\n",
        escape_html(&profile.id.replace('/', "-")),
        profile.threads,
        profile.mode.name()
    );
    for (f, pct) in rows.iter().zip(&self_pct) {
        html.push_str(&format!(
            "<tr><th scope=\"row\"><code>{}</code></th><td>{} <span class=\"count\">{}</span></td><td>{} <span class=\"count\">{}</span></td></tr>\n",
            escape_html(&f.name),
            percent_text(*pct, f.self_samples),
            thousands(f.self_samples),
            percent_text(total_percent(profile, f, *pct), f.total_samples),
            thousands(f.total_samples)
        ));
    }
    if rest > 0 {
        let others = profile.functions.len().saturating_sub(rows.len());
        html.push_str(&format!(
            "<tr class=\"other\"><th scope=\"row\">{others} other function{}</th><td>{} <span class=\"count\">{}</span></td><td></td></tr>\n",
            if others == 1 { "" } else { "s" },
            percent_text(self_pct.last().copied().unwrap_or(0.0), rest),
            thousands(rest)
        ));
    }
    html.push_str(&format!(
        "</tbody>\n<tfoot><tr><th scope=\"row\">All</th><td>100.0% <span class=\"count\">{}</span></td><td></td></tr></tfoot>\n</table>\n<figcaption>\n",
        thousands(profile.samples)
    ));
    let mut notes = Vec::new();
    match profile.mode {
        ProfileMode::Sampling => {
            notes.push(format!(
                "<em>Self</em> counts the samples taken while the function itself was running, <em>total</em> those taken in it or in anything it called; self shares add up to 100%. Inlined functions keep their own names. Samples: a POSIX timer interrupted each kernel thread every millisecond of wall-clock time and pprof recorded its call stack{}.",
                if profile.threads > 1 {
                    format!("; {} marks a thread waiting for work", escape_html(OUTSIDE))
                } else {
                    String::new()
                }
            ));
            if let (Some(p), Some(u), Some(o)) = (
                profile.profiled_call_s,
                profile.unprofiled_call_s,
                profile.overhead(),
            ) {
                notes.push(format!(
                    "Profiling overhead: {} per call while profiled (median of {} calls) against {} without the profiler in the same process, {:+.1}%{}{}.",
                    format_seconds(p),
                    profile.calls,
                    format_seconds(u),
                    100.0 * o,
                    profile.cpu_overhead().map_or(String::new(), |c| format!(
                        " ({:+.1}% in CPU time, which other programs on the machine hardly affect)",
                        100.0 * c
                    )),
                    record.map_or(String::new(), |r| format!(
                        "; the stored measurement's median is {}",
                        format_seconds(r.summary.median)
                    ))
                ));
            }
            if profile.samples < MIN_SAMPLES {
                notes.push(format!(
                    "Only {} samples were taken (fewer than {MIN_SAMPLES}): shares are uncertain by a few percentage points.",
                    thousands(profile.samples)
                ));
            }
        }
        ProfileMode::Instructions => {
            notes.push(format!(
                "Counted by valgrind's callgrind over one call: deterministic, independent of the machine's load. Callgrind counts per compiled function, so an inlined function's instructions count in its caller. {}",
                match &profile.simd_path {
                    Some(p) => format!(
                        "Under valgrind the variant took its {} path (valgrind cannot decode AVX-512, so it hides it from the program).",
                        escape_html(p)
                    ),
                    None => String::new(),
                }
            ));
        }
    }
    notes.push(format!(
        "Taken {} on {}.",
        escape_html(
            profile
                .measured_at
                .get(..10)
                .unwrap_or(&profile.measured_at)
        ),
        escape_html(&profile.machine)
    ));
    for n in notes {
        html.push_str(&format!("<p class=\"profile-note\">{n}</p>\n"));
    }
    html
}

/// `perfguide profile KERNEL/VARIANT`: profiles in a worker and prints the top functions.
pub fn cli(
    id: &str,
    threads: Option<usize>,
    seconds: f64,
    instructions: bool,
    flamegraph: Option<&Path>,
    top: usize,
) -> Result<()> {
    let cores = crate::build::cores();
    if threads.is_some()
        && let Some((_, v)) = worker::find(id)
        && !v.threaded
    {
        bail!("{id} is not threaded; leave out --threads");
    }
    let text = match threads {
        Some(t) => format!("{id}@{t}"),
        None => id.to_string(),
    };
    let mode = if instructions {
        "instructions"
    } else {
        "sampling"
    };
    let need = resolve(&text, mode, cores).map_err(anyhow::Error::msg)?;
    let timeout = Duration::from_secs(600);
    let profile = if instructions {
        if let Some(why) = instructions_unavailable() {
            bail!("cannot count instructions: {why}");
        }
        eprintln!(
            "counting instructions of {} under callgrind (slow)...",
            need.id
        );
        profile_instructions(&need, timeout)?
    } else {
        eprintln!(
            "profiling {} ({} thread{}) for {seconds:.1} s...",
            need.id,
            need.threads,
            if need.threads == 1 { "" } else { "s" }
        );
        let spec = SampleSpec {
            seconds,
            rate_hz: RATE_HZ,
        };
        profile_sampling(&need, &spec, timeout)?
    };
    match profile.mode {
        ProfileMode::Sampling => {
            println!(
                "{}: {} samples in {:.2} s ({:.0} per second per thread), {} calls",
                profile.id,
                thousands(profile.samples),
                profile.seconds,
                profile.rate_hz,
                profile.calls
            );
            if let (Some(p), Some(u), Some(o)) = (
                profile.profiled_call_s,
                profile.unprofiled_call_s,
                profile.overhead(),
            ) {
                println!(
                    "median per call: {} profiled, {} unprofiled ({:+.1}% overhead{})",
                    crate::fragments::format_seconds(p),
                    crate::fragments::format_seconds(u),
                    100.0 * o,
                    profile
                        .cpu_overhead()
                        .map_or(String::new(), |c| format!("; CPU time {:+.1}%", 100.0 * c))
                );
            }
        }
        ProfileMode::Instructions => println!(
            "{}: {} instructions in one call ({} path under valgrind)",
            profile.id,
            thousands(profile.samples),
            profile.simd_path.as_deref().unwrap_or("no SIMD dispatch")
        ),
    }
    println!();
    print!("{}", terminal_report(&profile, top));
    if let Some(path) = flamegraph {
        if profile.folded.is_empty() {
            bail!("no flame graph for an instruction-count profile; leave out --instructions");
        }
        let svg = crate::flame::svg(
            &profile.folded,
            &format!("{} ({} samples)", profile.id, thousands(profile.samples)),
            "samples",
        )?;
        std::fs::write(path, svg).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("wrote the flame graph to {}", path.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn symbols_lose_hashes_and_disambiguators() {
        assert_eq!(
            clean_symbol("perfguide_kernels::mandelbrot::escape_count::h0123456789abcdef"),
            "perfguide_kernels::mandelbrot::escape_count"
        );
        // Not a hash: too short, or not hex.
        assert_eq!(clean_symbol("a::hello"), "a::hello");
        assert_eq!(clean_symbol("a::h0123"), "a::h0123");
        assert_eq!(
            clean_symbol("perfguide_kernels[8f2a1c]::kmeans::lloyd"),
            "perfguide_kernels::kmeans::lloyd"
        );
        // Slices and arrays are not disambiguators; semicolons would break folded stacks.
        assert_eq!(
            clean_symbol("<[f64; 8] as core::fmt::Debug>::fmt"),
            "<[f64, 8] as core::fmt::Debug>::fmt"
        );
        assert_eq!(
            clean_symbol("  <perfguide_kernels::kmeans::Totals>::add::h00000000000000ff "),
            "<perfguide_kernels::kmeans::Totals>::add"
        );
        assert_eq!(
            display_name("perfguide_kernels::mandelbrot::escape_count"),
            "mandelbrot::escape_count"
        );
    }

    #[test]
    fn stacks_are_trimmed_to_the_kernel() {
        // Leaf first, as unwound: handler frames, the kernel (escape_count inlined into
        // scalar_rows), glue, the worker, main.
        let raw = s(&[
            "backtrace::backtrace::libunwind::trace::h1111111111111111",
            "pprof::profiler::perf_signal_handler::h2222222222222222",
            "__restore_rt",
            "perfguide_kernels::mandelbrot::escape_count",
            "perfguide_kernels::mandelbrot::scalar_rows::h3333333333333333",
            "perfguide_kernels::mandelbrot::scalar::h4444444444444444",
            "perfguide_kernels::mandelbrot::run_scalar::h5555555555555555",
            "perfguide::profile::time_calls::h6666666666666666",
            "perfguide::profile::sample_in_worker::h7777777777777777",
            "perfguide::worker::main",
            "std::rt::lang_start_internal",
            "main",
            "__libc_start_main",
        ]);
        assert_eq!(
            fold_stack(&raw).unwrap(),
            s(&[
                "mandelbrot::run_scalar",
                "mandelbrot::scalar",
                "mandelbrot::scalar_rows",
                "mandelbrot::escape_count"
            ])
        );
    }

    #[test]
    fn glue_between_kernel_frames_goes_but_a_library_leaf_stays() {
        let raw = s(&[
            "pprof::profiler::perf_signal_handler",
            "Unknown",
            "std::f64::<impl f64>::sqrt",
            "perfguide_kernels::kmeans::naive::{{closure}}",
            "<core::iter::adapters::map::Map<I,F> as core::iter::traits::iterator::Iterator>::fold",
            "core::ops::function::FnOnce::call_once",
            "perfguide_kernels::kmeans::naive",
            "rayon_core::registry::WorkerThread::wait_until_cold",
            "std::sys::thread::unix::Thread::new::thread_start",
        ]);
        assert_eq!(
            fold_stack(&raw).unwrap(),
            s(&[
                "kmeans::naive",
                "kmeans::naive::{{closure}}",
                "std::f64::<impl f64>::sqrt"
            ])
        );
        // An idle pool thread: no kernel frame at all.
        let idle = s(&[
            "syscall",
            "rayon_core::sleep::Sleep::sleep",
            "rayon_core::registry::WorkerThread::wait_until_cold",
        ]);
        assert_eq!(fold_stack(&idle).unwrap(), s(&[OUTSIDE]));
        assert_eq!(fold_stack(&[]), None);
    }

    #[test]
    fn folding_counts_self_and_total() {
        let mut stacks = BTreeMap::new();
        stacks.insert(s(&["a", "b", "c"]), 6);
        stacks.insert(s(&["a", "b"]), 3);
        stacks.insert(s(&["a", "d", "a"]), 1); // recursion counts once in a's total
        let f = functions_of(&stacks);
        let get = |n: &str| f.iter().find(|x| x.name == n).unwrap();
        assert_eq!((get("c").self_samples, get("c").total_samples), (6, 6));
        assert_eq!((get("b").self_samples, get("b").total_samples), (3, 9));
        assert_eq!((get("a").self_samples, get("a").total_samples), (1, 10));
        assert_eq!((get("d").self_samples, get("d").total_samples), (0, 1));
        assert_eq!(f[0].name, "c");
        // Self counts partition the samples.
        assert_eq!(f.iter().map(|x| x.self_samples).sum::<u64>(), 10);
        let lines = folded_lines(&stacks);
        assert_eq!(lines, s(&["a;b 3", "a;b;c 6", "a;d;a 1"]));
        assert_eq!(parse_folded(&lines), stacks);
    }

    #[test]
    fn percentages_add_up_to_exactly_100() {
        let tenths = |p: &[f64]| p.iter().map(|v| (v * 10.0).round() as i64).sum::<i64>();
        let p = rounded_percentages(&[1, 1, 1], 1);
        assert_eq!(tenths(&p), 1000);
        assert_eq!(p, vec![33.4, 33.3, 33.3]);
        let p = rounded_percentages(&[2440, 50, 17, 5, 0], 1);
        assert_eq!(tenths(&p), 1000, "{p:?}");
        assert_eq!(p[4], 0.0);
        assert_eq!(rounded_percentages(&[0, 0], 1), vec![0.0, 0.0]);
    }

    #[test]
    fn callgrind_costs_are_self_and_inclusive() {
        let text = "\
version: 1
creator: callgrind-3.19.0
events: Ir
fl=src/x.rs
fn=perfguide::profile::perfguide_counted_run
1 10
cfn=perfguide_kernels::mandelbrot::scalar
calls=1 5
2 1000
fn=perfguide_kernels::mandelbrot::scalar
5 100
6 200
cfn=perfguide_kernels::mandelbrot::scalar
calls=1 5
6 50
cfn=memset
calls=2 0
7 700
fn=memset
0 700
totals: 1010
";
        let costs = parse_callgrind(text);
        assert_eq!(costs["perfguide_kernels::mandelbrot::scalar"], (300, 1000));
        assert_eq!(costs["memset"], (700, 700));
        let (total, functions) = instruction_functions(&costs);
        assert_eq!(total, 1000);
        assert_eq!(functions[0].name, "memset");
        assert_eq!(functions[1].name, "mandelbrot::scalar");
        assert!(functions.iter().all(|f| !f.name.contains("counted_run")));
    }

    #[test]
    fn compressed_callgrind_names_resolve() {
        let text = "events: Ir\nfn=(1) a\n1 5\ncfn=(2) b\ncalls=1 1\n1 7\nfn=(2)\n1 7\n";
        let costs = parse_callgrind(text);
        assert_eq!(costs["a"], (5, 12));
        assert_eq!(costs["b"], (7, 7));
    }

    #[test]
    fn leaf_frames_are_split_by_the_sampled_inline_chains() {
        // pprof's stack resolved its leaf from one sample (in scalar_rows itself)...
        let groups = vec![
            s(&["backtrace::backtrace::libunwind::trace::h1111111111111111"]),
            s(&["__restore_rt"]),
            s(&["perfguide_kernels::mandelbrot::scalar_rows::h3333333333333333"]),
            s(&["perfguide_kernels::mandelbrot::scalar"]),
        ];
        // ...while the recorded program counters were mostly in the inlined escape loop.
        let mut leaves: LeafChains = BTreeMap::new();
        let chains = leaves
            .entry("perfguide_kernels::mandelbrot::scalar_rows".into())
            .or_default();
        chains.insert(
            s(&[
                "perfguide_kernels::mandelbrot::escape_count::h0000000000000001",
                "perfguide_kernels::mandelbrot::scalar_rows::h3333333333333333",
            ]),
            97,
        );
        chains.insert(
            s(&["perfguide_kernels::mandelbrot::scalar_rows::h3333333333333333"]),
            3,
        );
        let split = refine_leaf(&groups, 200, &leaves);
        assert_eq!(split.iter().map(|(_, n)| n).sum::<u64>(), 200);
        let folded: Vec<(Vec<String>, u64)> = split
            .iter()
            .map(|(st, n)| (fold_stack(st).unwrap(), *n))
            .collect();
        assert!(folded.contains(&(
            s(&[
                "mandelbrot::scalar",
                "mandelbrot::scalar_rows",
                "mandelbrot::escape_count"
            ]),
            194
        )));
        assert!(folded.contains(&(s(&["mandelbrot::scalar", "mandelbrot::scalar_rows"]), 6)));
        // A leaf function without recorded counters keeps pprof's frames.
        let other = vec![s(&["perfguide_kernels::kmeans::lloyd"])];
        assert_eq!(
            refine_leaf(&other, 7, &leaves),
            vec![(s(&["perfguide_kernels::kmeans::lloyd"]), 7)]
        );
        assert_eq!(split_count(10, &[1, 1, 1]), vec![4, 3, 3]);
        assert_eq!(split_count(5, &[0, 0]), vec![0, 0]);
    }

    #[test]
    fn numbers_and_prefixes() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(root_prefix("index.html"), "");
        assert_eq!(root_prefix("a/b/c.html"), "../../");
    }

    #[test]
    fn profiles_live_in_the_store_and_round_trip() {
        let need = ProfileNeed {
            id: "mandelbrot/scalar".into(),
            threads: 1,
            problem: ProblemSpec {
                n: 1000,
                m: 1000,
                seed: 0,
            },
            mode: ProfileMode::Sampling,
        };
        assert_eq!(
            profile_path(Path::new("/b/data/m"), &need),
            PathBuf::from("/b/data/m/profiles/mandelbrot/scalar@t1-n1000-m1000-s0-sampling.toml")
        );
        let dir = tempfile::tempdir().unwrap();
        let mut stacks = BTreeMap::new();
        stacks.insert(s(&["mandelbrot::scalar", "mandelbrot::escape_count"]), 97);
        stacks.insert(s(&["mandelbrot::scalar"]), 3);
        let profile = Profile {
            schema: SCHEMA,
            id: need.id.clone(),
            threads: 1,
            problem: need.problem,
            mode: ProfileMode::Sampling,
            key: "k".into(),
            measured_at: "2026-01-01T00:00:00Z".into(),
            unit: "samples".into(),
            samples: 0,
            functions: Vec::new(),
            folded: Vec::new(),
            seconds: 2.5,
            rate_hz: 998.5,
            calls: 25,
            profiled_call_s: Some(0.1),
            unprofiled_call_s: None,
            profiled_cpu_s: None,
            unprofiled_cpu_s: None,
            simd_path: None,
            machine: "Test CPU".into(),
        }
        .with_folded(&stacks);
        save(dir.path(), &need, &profile).unwrap();
        assert_eq!(load(dir.path(), &need), Some(profile));
        // The store's record loader skips it.
        assert!(crate::store::Store::load(dir.path()).is_ok());
    }
}
