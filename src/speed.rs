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
//! of threads in the same session. The probe is throughput-bound floating-point work (eight
//! independent multiply-add chains per thread), so it slows when the core's arithmetic units
//! are shared or clocked down. Its blind spots: contention for memory bandwidth or cache
//! (a probe that fits in registers cannot feel it), an episode that covers the whole session
//! (the reference is then slow too), and one that happens only between the probes.

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
}

impl SpeedProbe {
    /// The better probe as a fraction of the reference (1.0 = as fast as the session's best).
    pub fn relative(&self) -> f64 {
        if self.reference > 0.0 {
            self.before.max(self.after) / self.reference
        } else {
            1.0
        }
    }

    /// Why the measurement looks slowed, if it does.
    pub fn slow_reason(&self) -> Option<String> {
        let rel = self.relative();
        (rel.is_finite() && rel < SLOW_FRACTION).then(|| {
            format!(
                "the CPU ran {:.0}% slower than its best in this session (a fixed arithmetic \
                 probe on {} thread{} before and after the samples): another virtual machine \
                 sharing the physical core, or a lower clock",
                100.0 * (1.0 - rel),
                self.threads,
                if self.threads == 1 { "" } else { "s" }
            )
        })
    }
}

/// The best probe rate seen per thread count in one session (a `perfguide build` or
/// `perfguide bench`). It only ever rises.
#[derive(Debug, Clone, Default)]
pub struct SpeedReference {
    best: BTreeMap<usize, f64>,
}

impl SpeedReference {
    /// Probes each thread count a few times before the first measurement, so the first
    /// measurements are judged against more than their own probes.
    pub fn calibrated(thread_counts: impl IntoIterator<Item = usize>) -> SpeedReference {
        let mut reference = SpeedReference::default();
        for threads in thread_counts
            .into_iter()
            .collect::<std::collections::BTreeSet<_>>()
        {
            for _ in 0..CALIBRATION_PROBES {
                reference.observe(threads, probe(threads));
            }
        }
        reference
    }

    /// Records a probe rate.
    pub fn observe(&mut self, threads: usize, rate: f64) {
        if rate.is_finite() && rate > 0.0 {
            let best = self.best.entry(threads).or_insert(rate);
            *best = best.max(rate);
        }
    }

    /// The best rate for `threads`, if any was observed.
    pub fn best(&self, threads: usize) -> Option<f64> {
        self.best.get(&threads).copied()
    }

    /// Observes a measurement's two probes and judges them against the best so far
    /// (including themselves).
    pub fn judge(&mut self, threads: usize, before: f64, after: f64) -> SpeedProbe {
        self.observe(threads, before);
        self.observe(threads, after);
        SpeedProbe {
            threads,
            before,
            after,
            reference: self.best(threads).unwrap_or(0.0),
        }
    }
}

/// Probes per thread count in [`SpeedReference::calibrated`]: about 30 ms in all.
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

    #[test]
    fn a_slow_measurement_is_flagged_and_a_normal_one_is_not() {
        let mut r = SpeedReference::default();
        r.observe(2, 5.0e9);
        // One probe at full speed: the slow other one is not enough (thread placement).
        let ok = r.judge(2, 5.0e9, 2.5e9);
        assert_eq!(ok.slow_reason(), None);
        // Both within normal noise.
        assert_eq!(r.judge(2, 4.8e9, 4.7e9).slow_reason(), None);
        // Both 20% slow: flagged, with the size of the slow-down and the thread count.
        let slow = r.judge(2, 4.0e9, 3.9e9);
        let why = slow.slow_reason().expect("flagged");
        assert!(why.contains("20% slower"), "{why}");
        assert!(why.contains("2 threads"), "{why}");
        assert!((slow.relative() - 0.8).abs() < 1e-12);
    }

    #[test]
    fn a_faster_probe_raises_the_reference_and_is_not_slow() {
        let mut r = SpeedReference::default();
        r.observe(1, 4.0e9);
        let p = r.judge(1, 5.0e9, 4.9e9);
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
}
