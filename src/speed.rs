//! The CPU speed probe: catches a machine that runs slower than it can, which the other busy
//! rules cannot see.
//!
//! On a virtual machine (a cloud instance, a CI runner, this project's own development
//! machine) the guest's cores are threads of the host. When another tenant's work runs on the
//! sibling hardware thread of the same physical core, or the host lowers the clock, a kernel
//! runs slower while it still gets a whole core as far as the guest can tell: its CPU time
//! equals its wall time and no other task is runnable. On the development machine this
//! moved `mandelbrot/rayon-simd` from 5.1 to 9.0 ms for one whole `perfguide bench` run, with
//! every sample in the slow mode and neither busy rule firing.
//!
//! So every measurement runs a fixed piece of arithmetic on the threads it uses, just before
//! and just after its samples, and compares its rate with the best rate seen for that number
//! of threads in the same session. The probe is floating-point work (eight independent
//! multiply-add chains per thread), so it slows when the core is clocked down or shared.
//!
//! A second probe streams a buffer twice the size of the last-level cache ([`MemoryProbe`]),
//! because the arithmetic probe fits in registers and cannot feel contention for memory
//! bandwidth. That blind spot was real: in one noisy host period (2026-11-24, 10:55–11:15
//! UTC) `stream-triad/one-thread` took 26–27 ms instead of 13–14 ms, the k-means, random-walk
//! and NumPy rungs 1.4–3× their usual times, while the arithmetic probe read 94–97% of its
//! best and nothing else in the guest was busy.
//!
//! That episode lasted over twenty minutes, longer than a whole build, and a reference made
//! only of the session's own probes is slow too when the whole session is. So the best rates
//! are also kept across sessions, per machine (its fingerprint) and thread count, in
//! `speed-reference.toml` beside the measurement store ([`SpeedReference::load`]); a session
//! judges against the better of its own and the remembered ones. Remaining blind spot: a
//! disturbance that happens only between the probes.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Instant;

use serde::{Deserialize, Serialize};

/// Multiply-adds per chain per repetition: 1.25 million iterations × 8 chains = 10 million
/// operations, about 2 ms on a 5 GHz core. Long enough that the timer and the first
/// microseconds of a time slice do not matter, short enough that the two probes (about 12 ms
/// in all) add well under 1% to a measurement.
const PROBE_ITERATIONS: u64 = 1_250_000;

/// Independent chains per thread: more than the latency (4 cycles) times the FP ports (2) of
/// current cores, so the loop is limited by throughput, which a sibling thread shares.
const CHAINS: usize = 8;

/// Repetitions per probe; each thread keeps its fastest. A freshly spawned thread starts on
/// its parent's core and the scheduler moves it within a few milliseconds, so the first
/// repetition of a two-thread probe can find both threads on one core.
const PROBE_REPETITIONS: usize = 3;

/// A measurement is flagged when the better of its two probes is below this fraction of the
/// session's best probe. On an idle machine, back-to-back probes on the development machine
/// vary by less than 4% (1st percentile 0.964 of the best over 300 single-thread probes), so
/// 8% is outside normal noise and well inside the 10–80% slow-downs the probe exists to catch.
pub const SLOW_FRACTION: f64 = 0.92;

/// Operations per second of the probe on `threads` threads running at once: the slowest
/// thread's best repetition. Takes about `PROBE_REPETITIONS` × 2 ms.
pub fn probe(threads: usize) -> f64 {
    let threads = threads.max(1);
    let rates: Vec<f64> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    (0..PROBE_REPETITIONS)
                        .map(|_| one_rep())
                        .fold(0.0, f64::max)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or(0.0))
            .collect()
    });
    rates.into_iter().fold(f64::INFINITY, f64::min)
}

/// One timed repetition on the calling thread, in operations per second.
fn one_rep() -> f64 {
    let start = Instant::now();
    black_box(multiply_adds(PROBE_ITERATIONS));
    let seconds = start.elapsed().as_secs_f64();
    (PROBE_ITERATIONS as f64 * CHAINS as f64) / seconds.max(1e-9)
}

/// `CHAINS` independent recurrences x ← x·m + c. `black_box` on the inputs keeps the compiler
/// from folding the loop; the sum is returned so it cannot be removed.
fn multiply_adds(iterations: u64) -> f64 {
    let mut x: [f64; CHAINS] = black_box([1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7]);
    let m = black_box(0.999_999_9);
    let c = black_box(1e-7);
    for _ in 0..iterations {
        for v in x.iter_mut() {
            *v = *v * m + c;
        }
    }
    x.iter().sum()
}

/// Bytes the memory probe reads: twice the 32 MiB L3 of the development machine (and of a
/// Zen 5 CCD), so that most of it comes from DRAM on any current CPU. One pass takes about
/// 2.5 ms on one thread of the development machine.
const MEMORY_BYTES: usize = 64 << 20;

/// A memory probe that falls below this fraction of the best flags the measurement. Much
/// looser than the arithmetic probe's 8%, because a fresh buffer's physical placement varies
/// from process to process: over the 35 single-thread measurements of a quiet re-measurement
/// of the guide (2026-11-24, 11:23–11:37 UTC) the better reading ranged from 23.6 to 35.3
/// GB/s, 0.665 to 0.99 of the best, while the kernels' times matched the previous quiet store
/// within a few percent. In the host episode above the probe read about 12.5 GB/s, 0.35 of
/// that best. A first threshold of 0.80 flagged 22 records of the quiet run.
pub const MEMORY_SLOW_FRACTION: f64 = 0.55;

/// The buffer the memory probe streams, allocated and written once per process so that page
/// faults are not timed.
pub struct MemoryProbe {
    buffer: Vec<u64>,
}

impl Default for MemoryProbe {
    fn default() -> Self {
        MemoryProbe::new()
    }
}

impl MemoryProbe {
    pub fn new() -> MemoryProbe {
        let words = MEMORY_BYTES / std::mem::size_of::<u64>();
        MemoryProbe {
            buffer: (0..words as u64).collect(),
        }
    }

    /// Bytes per second read by `threads` threads, each summing its share of the buffer: the
    /// best of [`PROBE_REPETITIONS`] passes, each timed from the first thread's start to the
    /// last thread's end.
    pub fn rate(&self, threads: usize) -> f64 {
        let threads = threads.max(1);
        let chunk = self.buffer.len().div_ceil(threads);
        (0..PROBE_REPETITIONS)
            .map(|_| {
                let start = Instant::now();
                std::thread::scope(|scope| {
                    for part in self.buffer.chunks(chunk) {
                        scope.spawn(move || {
                            black_box(black_box(part).iter().fold(0u64, |a, &b| a.wrapping_add(b)))
                        });
                    }
                });
                MEMORY_BYTES as f64 / start.elapsed().as_secs_f64().max(1e-9)
            })
            .fold(0.0, f64::max)
    }
}

/// Both probes' rates at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Rates {
    /// Multiply-adds per second per thread ([`probe`]).
    pub arithmetic: f64,
    /// Bytes per second from memory, all threads together ([`MemoryProbe::rate`]).
    pub memory: f64,
}

/// Runs the arithmetic probe on `threads` threads and the memory probe, if there is one, on
/// one thread (a memory rate of 0 says it did not run). Two threads reading at once varied
/// from 32 to 57 GB/s on an idle machine (one thread often starts late), too wide to judge;
/// one thread's bandwidth is what a neighbour on the memory bus takes away, whatever the
/// kernel's thread count.
pub fn rates(memory: Option<&MemoryProbe>, threads: usize) -> Rates {
    Rates {
        arithmetic: probe(threads),
        memory: memory.map_or(0.0, |m| m.rate(1)),
    }
}

/// Both reasons, or either, joined with "; ".
pub fn join_reasons(a: Option<String>, b: Option<String>) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) => Some(format!("{a}; {b}")),
        (a, b) => a.or(b),
    }
}

/// One probe kind's readings around a measurement.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Readings {
    pub before: f64,
    pub after: f64,
    /// The best rate for this thread count in the session when the measurement was judged.
    pub reference: f64,
}

impl Readings {
    /// The better reading as a fraction of the reference (1.0 when there is none).
    pub fn relative(&self) -> f64 {
        if self.reference > 0.0 {
            self.before.max(self.after) / self.reference
        } else {
            1.0
        }
    }
}

/// The probes around one measurement, as stored in its record.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct SpeedProbe {
    /// Threads the probe ran on: min(threads, cores).
    pub threads: usize,
    /// Probe rate just before the first sample, operations per second.
    pub before: f64,
    /// Probe rate just after the last sample.
    pub after: f64,
    /// The best rate seen for `threads` in this session when the measurement was judged.
    pub reference: f64,
    /// The memory probe, in bytes per second (absent in older records).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<Readings>,
}

impl SpeedProbe {
    /// The better arithmetic probe as a fraction of the reference (1.0 = as fast as the best).
    pub fn relative(&self) -> f64 {
        Readings {
            before: self.before,
            after: self.after,
            reference: self.reference,
        }
        .relative()
    }

    /// Why the measurement looks slowed, if it does.
    pub fn slow_reason(&self) -> Option<String> {
        let plural = if self.threads == 1 { "" } else { "s" };
        let rel = self.relative();
        let cpu = (rel.is_finite() && rel < SLOW_FRACTION).then(|| {
            format!(
                "the CPU ran {:.0}% slower than its best on this machine (a fixed arithmetic \
                 probe on {} thread{plural} before and after the samples): another virtual \
                 machine sharing the physical core, or a lower clock",
                100.0 * (1.0 - rel),
                self.threads,
            )
        });
        let memory = self.memory.and_then(|m| {
            let rel = m.relative();
            (rel.is_finite() && rel < MEMORY_SLOW_FRACTION).then(|| {
                format!(
                    "memory bandwidth was {:.0}% below its best on this machine (a {} MiB read \
                     before and after the samples): something outside this machine's view, \
                     such as another virtual machine on the same host, was using the memory bus",
                    100.0 * (1.0 - rel),
                    MEMORY_BYTES >> 20,
                )
            })
        });
        join_reasons(cpu, memory)
    }
}

/// The best probe rate seen per thread count in one session (a `perfguide build` or
/// `perfguide bench`). It only ever rises.
#[derive(Debug, Clone, Default)]
pub struct SpeedReference {
    best: BTreeMap<usize, f64>,
    best_memory: BTreeMap<usize, f64>,
}

impl SpeedReference {
    /// Probes each thread count a few times before the first measurement, so the first
    /// measurements are judged against more than their own probes.
    /// `with_memory` calibrates the memory probe too (not for `--quick`, whose workers do not
    /// run it).
    pub fn calibrated(
        thread_counts: impl IntoIterator<Item = usize>,
        with_memory: bool,
    ) -> SpeedReference {
        let mut reference = SpeedReference::default();
        let memory = with_memory.then(MemoryProbe::new);
        for threads in thread_counts
            .into_iter()
            .collect::<std::collections::BTreeSet<_>>()
        {
            for _ in 0..CALIBRATION_PROBES {
                reference.observe_rates(threads, rates(memory.as_ref(), threads));
            }
        }
        reference
    }

    /// Records a probe rate.
    pub fn observe(&mut self, threads: usize, rate: f64) {
        raise(&mut self.best, threads, rate);
    }

    /// Records both probes' rates.
    pub fn observe_rates(&mut self, threads: usize, r: Rates) {
        self.observe(threads, r.arithmetic);
        self.observe_memory(threads, r.memory);
    }

    /// Records a memory probe rate.
    pub fn observe_memory(&mut self, threads: usize, rate: f64) {
        raise(&mut self.best_memory, threads, rate);
    }

    /// The best rate for `threads`, if any was observed.
    pub fn best(&self, threads: usize) -> Option<f64> {
        self.best.get(&threads).copied()
    }

    /// Observes a measurement's probes and judges them against the best so far (including
    /// themselves). A memory rate of 0 means the worker did not run that probe.
    pub fn judge(&mut self, threads: usize, before: Rates, after: Rates) -> SpeedProbe {
        self.observe_rates(threads, before);
        self.observe_rates(threads, after);
        let memory = (before.memory > 0.0 || after.memory > 0.0).then(|| Readings {
            before: before.memory,
            after: after.memory,
            reference: self.best_memory.get(&threads).copied().unwrap_or(0.0),
        });
        SpeedProbe {
            threads,
            before: before.arithmetic,
            after: after.arithmetic,
            reference: self.best(threads).unwrap_or(0.0),
            memory,
        }
    }
}

/// Raises the best rate for `threads` to `rate`; ignores readings that are not positive and
/// finite (a probe that did not run).
fn raise(best: &mut BTreeMap<usize, f64>, threads: usize, rate: f64) {
    if rate.is_finite() && rate > 0.0 {
        let b = best.entry(threads).or_insert(rate);
        *b = b.max(rate);
    }
}

/// The file of remembered best rates, beside the store's records (which are `.json`).
pub const REFERENCE_FILE: &str = "speed-reference.toml";

/// The remembered best rates of one machine, thread counts as keys (TOML keys are strings).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
struct RememberedRates {
    arithmetic: BTreeMap<String, f64>,
    memory: BTreeMap<String, f64>,
}

/// `speed-reference.toml`: machine fingerprint → best rates.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
struct RememberedFile {
    machines: BTreeMap<String, RememberedRates>,
}

fn to_keys(m: &BTreeMap<usize, f64>) -> BTreeMap<String, f64> {
    m.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

fn from_keys(m: &BTreeMap<String, f64>) -> BTreeMap<usize, f64> {
    m.iter()
        .filter_map(|(k, v)| Some((k.parse().ok()?, *v)))
        .filter(|(_, v): &(usize, f64)| v.is_finite() && *v > 0.0)
        .collect()
}

impl SpeedReference {
    /// Adds the rates remembered for `machine` in `file` (a missing file remembers nothing).
    /// A file that does not parse is an error naming it: deleting it is always safe.
    pub fn remember_from(&mut self, file: &std::path::Path, machine: &str) -> anyhow::Result<()> {
        use anyhow::Context;
        let Ok(text) = std::fs::read_to_string(file) else {
            return Ok(());
        };
        let parsed: RememberedFile = toml::from_str(&text).with_context(|| {
            format!(
                "{} is not a valid speed reference; delete it and the next build writes a new one",
                file.display()
            )
        })?;
        if let Some(rates) = parsed.machines.get(machine) {
            for (threads, rate) in from_keys(&rates.arithmetic) {
                self.observe(threads, rate);
            }
            for (threads, rate) in from_keys(&rates.memory) {
                self.observe_memory(threads, rate);
            }
        }
        Ok(())
    }

    /// Writes this reference into `file` for `machine`, keeping other machines' entries.
    /// Written only when something rose, so a session that saw nothing faster leaves the file
    /// as it was.
    pub fn remember_in(&self, file: &std::path::Path, machine: &str) -> anyhow::Result<()> {
        use anyhow::Context;
        let mut parsed: RememberedFile = std::fs::read_to_string(file)
            .ok()
            .and_then(|t| toml::from_str(&t).ok())
            .unwrap_or_default();
        let mine = RememberedRates {
            arithmetic: to_keys(&self.best),
            memory: to_keys(&self.best_memory),
        };
        if parsed.machines.get(machine) == Some(&mine) {
            return Ok(());
        }
        parsed.machines.insert(machine.to_string(), mine);
        let text = format!(
            "# The best speed-probe rates seen on each machine (src/speed.rs), by thread count:\n\
             # multiply-adds per second per thread, and bytes per second read from memory.\n\
             # Measurements are judged against them; deleting this file is safe.\n{}",
            toml::to_string(&parsed).context("serializing the speed reference")?
        );
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        std::fs::write(file, text).with_context(|| format!("writing {}", file.display()))
    }
}

/// Probes per thread count in [`SpeedReference::calibrated`]: about 30 ms of arithmetic and
/// 40 ms of memory reads per thread count.
const CALIBRATION_PROBES: usize = 5;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_probe_measures_a_plausible_rate() {
        // Any machine that runs the tests does between 10 million and 1 trillion
        // multiply-adds per second per thread; the point is that the loop was not folded
        // away (which would give an absurd rate) and that the rate is finite.
        let rate = probe(1);
        assert!((1e7..1e12).contains(&rate), "{rate}");
    }

    #[test]
    fn the_reference_keeps_the_best_rate_per_thread_count() {
        let mut r = SpeedReference::default();
        r.observe(1, 4.0e9);
        r.observe(1, 5.0e9);
        r.observe(1, 4.5e9);
        r.observe(2, 3.0e9);
        r.observe(2, f64::NAN);
        r.observe(2, 0.0);
        assert_eq!(r.best(1), Some(5.0e9));
        assert_eq!(r.best(2), Some(3.0e9));
        assert_eq!(r.best(4), None);
    }

    /// Arithmetic rate only, as from a worker that ran no memory probe.
    fn cpu(arithmetic: f64) -> Rates {
        Rates {
            arithmetic,
            memory: 0.0,
        }
    }

    fn both(arithmetic: f64, memory: f64) -> Rates {
        Rates { arithmetic, memory }
    }

    #[test]
    fn halved_memory_bandwidth_is_flagged_when_arithmetic_is_not() {
        let mut r = SpeedReference::default();
        r.observe_rates(1, both(5.0e9, 28e9));
        // The 2026-11-24 episode: arithmetic 95% of its best, memory 45%.
        let p = r.judge(1, both(4.75e9, 12.6e9), both(4.8e9, 12.0e9));
        let why = p.slow_reason().expect("flagged");
        assert!(why.starts_with("memory bandwidth was 55% below"), "{why}");
        assert!(!why.contains("CPU ran"), "{why}");
        let m = p.memory.unwrap();
        assert_eq!((m.before, m.after, m.reference), (12.6e9, 12.0e9, 28e9));
        // Normal variation of DRAM bandwidth, down to the quiet run's worst (0.665 of the
        // best), is not flagged.
        let quiet = r.judge(1, both(5.0e9, 18.7e9), both(5.0e9, 17e9));
        assert_eq!(quiet.slow_reason(), None);
        // Both slow: both reasons.
        let why = r
            .judge(1, both(3.0e9, 10e9), both(3.0e9, 10e9))
            .slow_reason()
            .unwrap();
        assert!(
            why.contains("CPU ran 40% slower") && why.contains("memory bandwidth"),
            "{why}"
        );
        // A worker without the memory probe has no memory readings.
        assert_eq!(r.judge(1, cpu(5.0e9), cpu(5.0e9)).memory, None);
    }

    #[test]
    fn best_rates_are_remembered_per_machine_across_sessions() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(REFERENCE_FILE);
        let mut first = SpeedReference::default();
        first.remember_from(&file, "m1").unwrap(); // no file yet: nothing remembered
        assert_eq!(first.best(1), None);
        first.observe_rates(1, both(5.0e9, 28e9));
        first.remember_in(&file, "m1").unwrap();
        let mut other = SpeedReference::default();
        other.observe_rates(1, both(3.0e9, 10e9));
        other.remember_in(&file, "m2").unwrap();

        // A later session in a slow period: its own calibration is slow, but it is judged
        // against the remembered rates of its machine, not those of the other machine.
        let mut later = SpeedReference::default();
        later.observe_rates(1, both(4.8e9, 15e9));
        later.remember_from(&file, "m1").unwrap();
        let p = later.judge(1, both(4.8e9, 15e9), both(4.8e9, 15e9));
        assert_eq!(p.memory.unwrap().reference, 28e9);
        assert!(p.slow_reason().unwrap().contains("memory bandwidth"));
        // Rates only rise: writing the slow session back keeps the remembered best.
        later.remember_in(&file, "m1").unwrap();
        let mut again = SpeedReference::default();
        again.remember_from(&file, "m1").unwrap();
        assert_eq!(again.best(1), Some(5.0e9));
        let mut m2 = SpeedReference::default();
        m2.remember_from(&file, "m2").unwrap();
        assert_eq!(m2.best(1), Some(3.0e9));

        // A broken file is an error that names it and says what to do.
        std::fs::write(&file, "machines = 3").unwrap();
        let err = format!("{:#}", again.remember_from(&file, "m1").unwrap_err());
        assert!(
            err.contains(REFERENCE_FILE) && err.contains("delete it"),
            "{err}"
        );
    }

    #[test]
    fn the_memory_probe_streams_at_a_plausible_rate() {
        // Between 100 MB/s and 10 TB/s: the reads were not optimised away, and the
        // buffer was not empty.
        let m = MemoryProbe::new();
        for threads in [1, 2] {
            let rate = m.rate(threads);
            assert!((1e8..1e13).contains(&rate), "{threads}: {rate}");
        }
    }

    #[test]
    fn a_slow_measurement_is_flagged_and_a_normal_one_is_not() {
        let mut r = SpeedReference::default();
        r.observe(2, 5.0e9);
        // One probe at full speed: the slow other one is not enough (thread placement).
        let ok = r.judge(2, cpu(5.0e9), cpu(2.5e9));
        assert_eq!(ok.slow_reason(), None);
        // Both within normal noise.
        assert_eq!(r.judge(2, cpu(4.8e9), cpu(4.7e9)).slow_reason(), None);
        // Both 20% slow: flagged, with the size of the slow-down and the thread count.
        let slow = r.judge(2, cpu(4.0e9), cpu(3.9e9));
        let why = slow.slow_reason().expect("flagged");
        assert!(why.contains("20% slower"), "{why}");
        assert!(why.contains("2 threads"), "{why}");
        assert!((slow.relative() - 0.8).abs() < 1e-12);
    }

    #[test]
    fn a_faster_probe_raises_the_reference_and_is_not_slow() {
        let mut r = SpeedReference::default();
        r.observe(1, 4.0e9);
        let p = r.judge(1, cpu(5.0e9), cpu(4.9e9));
        assert_eq!(p.reference, 5.0e9);
        assert_eq!(p.slow_reason(), None);
    }

    #[test]
    fn the_flag_is_at_the_documented_threshold() {
        let at = |rel: f64| SpeedProbe {
            threads: 1,
            before: rel * 1e9,
            after: 0.0,
            reference: 1e9,
            memory: None,
        };
        assert!(at(SLOW_FRACTION + 1e-9).slow_reason().is_none());
        assert!(at(SLOW_FRACTION - 1e-9).slow_reason().is_some());
        // No reference: nothing to judge against.
        let none = SpeedProbe {
            reference: 0.0,
            ..at(0.5)
        };
        assert!(none.slow_reason().is_none());
    }

    #[test]
    fn reasons_are_joined() {
        assert_eq!(join_reasons(None, None), None);
        assert_eq!(join_reasons(Some("a".into()), None).as_deref(), Some("a"));
        assert_eq!(join_reasons(None, Some("b".into())).as_deref(), Some("b"));
        assert_eq!(
            join_reasons(Some("a".into()), Some("b".into())).as_deref(),
            Some("a; b")
        );
    }
}
