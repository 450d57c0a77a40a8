//! The sampling loop: warm-up, calibration, samples until the median is known well enough.
//!
//! It runs inside the worker process. The loop is generic over a [`Clock`], so tests drive it
//! with a fake clock and its decisions (how many iterations per sample, when to stop) are
//! tested exactly, without timing anything real.
//!
//! Method (the same as criterion's and hyperfine's in spirit):
//! 1. *Warm-up*: run the function until `warmup_s` has passed (at least once) so caches,
//!    branch predictors, the page tables of freshly allocated buffers and CPU frequency settle;
//!    the mean warm-up time estimates one call.
//! 2. *Calibration*: a sample runs `k = ceil(min_sample_s / estimate)` calls, so each sample
//!    lasts at least `min_sample_s` (10 ms by default) and timer resolution and overhead
//!    (~22 ns per `Instant::now()` here) are negligible against it.
//! 3. *Sampling*: take samples until the 95% confidence interval of the median is within
//!    `target_ci_rel` of the median (with at least `min_samples`), or the budget is spent,
//!    or `max_samples` is reached. A slow function gets fewer samples at its full size; it is
//!    never run at a smaller size and scaled.

use std::time::Instant;

use serde::{Deserialize, Serialize};

/// A source of wall-clock and CPU time, in seconds from an arbitrary origin.
pub trait Clock {
    fn wall(&mut self) -> f64;
    /// CPU time consumed by this process (all threads).
    fn cpu(&mut self) -> f64;
}

/// The real clocks: `Instant` (monotonic) and `CLOCK_PROCESS_CPUTIME_ID`.
pub struct RealClock {
    origin: Instant,
}

impl Default for RealClock {
    fn default() -> Self {
        RealClock {
            origin: Instant::now(),
        }
    }
}

impl Clock for RealClock {
    fn wall(&mut self) -> f64 {
        self.origin.elapsed().as_secs_f64()
    }

    fn cpu(&mut self) -> f64 {
        process_cpu_seconds()
    }
}

/// CPU time of the whole process (every thread), from `clock_gettime`.
pub fn process_cpu_seconds() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_PROCESS_CPUTIME_ID is supported on
    // Linux and the BSDs. On failure the struct stays zeroed and we report 0.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return 0.0;
    }
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// How long and how precisely to measure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Plan {
    /// Soft limit on the time spent sampling one variant (warm-up excluded).
    pub budget_s: f64,
    pub warmup_s: f64,
    pub min_samples: usize,
    pub max_samples: usize,
    /// Stop when the 95% CI half-width of the median is at most this fraction of it.
    pub target_ci_rel: f64,
    pub min_sample_s: f64,
}

impl Plan {
    /// The defaults of `[measure]` (see config.rs).
    pub fn standard(budget_s: f64) -> Plan {
        Plan {
            budget_s,
            warmup_s: 0.2,
            min_samples: 10,
            max_samples: 1000,
            target_ci_rel: 0.02,
            min_sample_s: 0.010,
        }
    }

    /// `--quick`: a short budget for CI; the page labels such numbers.
    pub fn quick(budget_s: f64) -> Plan {
        Plan {
            budget_s,
            warmup_s: 0.05,
            min_samples: 5,
            max_samples: 200,
            target_ci_rel: 0.05,
            min_sample_s: 0.005,
        }
    }
}

/// Why sampling stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StopReason {
    /// The CI reached the target.
    Precise,
    /// The budget ran out first.
    Budget,
    /// `max_samples` was reached.
    MaxSamples,
}

/// The raw result of sampling one function.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Sampled {
    pub warmup_runs: u64,
    pub iterations_per_sample: u64,
    /// Wall time per call, one entry per sample (sample time / iterations).
    pub samples_wall_s: Vec<f64>,
    /// CPU time per call (all threads), one entry per sample.
    pub samples_cpu_s: Vec<f64>,
    pub stop: StopReason,
    /// Wall time spent sampling (warm-up excluded).
    pub sampling_s: f64,
}

/// The fewest samples for which a budget stop is accepted: below three, no spread can be
/// reported at all.
const MIN_SAMPLES_ON_BUDGET: usize = 3;

/// Warms up, calibrates and samples `run`.
///
/// `already_run_s` is how long the caller just spent in one call of `run` (the worker's
/// checked first call), or 0. That call warmed the same caches, page tables and thread pool,
/// so it counts towards the warm-up; a kernel whose first call outlasts `plan.warmup_s` needs
/// no further warm-up run, which saves a whole call of the slowest kernels.
pub fn sample(
    clock: &mut dyn Clock,
    plan: &Plan,
    already_run_s: f64,
    run: &mut dyn FnMut(),
) -> Sampled {
    // 1. Warm-up, counting the caller's call.
    let start = clock.wall();
    let mut warmup_runs = 0u64;
    while warmup_runs == 0 && already_run_s <= 0.0
        || already_run_s + (clock.wall() - start) < plan.warmup_s
    {
        run();
        warmup_runs += 1;
    }
    let estimate = if warmup_runs > 0 {
        (clock.wall() - start) / warmup_runs as f64
    } else {
        already_run_s
    }
    .max(1e-9);

    // 2. Calibration.
    let calibrate = |per_call: f64| ((plan.min_sample_s / per_call).ceil() as u64).max(1);
    let mut iterations = calibrate(estimate);
    // A first call can be much slower than later ones (page faults, pool start-up). When the
    // estimate comes from it alone, the first sample checks it: a sample shorter than
    // `min_sample_s` is discarded as warm-up and the calibration redone from its time.
    let mut verify_calibration = warmup_runs == 0;

    // 3. Sampling.
    let mut wall = Vec::new();
    let mut cpu = Vec::new();
    let mut sampling_start = clock.wall();
    let stop = loop {
        let (w0, c0) = (clock.wall(), clock.cpu());
        for _ in 0..iterations {
            run();
        }
        let (w1, c1) = (clock.wall(), clock.cpu());
        if std::mem::take(&mut verify_calibration) && w1 - w0 < plan.min_sample_s {
            warmup_runs += iterations;
            iterations = calibrate(((w1 - w0) / iterations as f64).max(1e-9));
            sampling_start = clock.wall();
            continue;
        }
        wall.push((w1 - w0) / iterations as f64);
        cpu.push((c1 - c0) / iterations as f64);

        if wall.len() >= plan.min_samples
            && crate::stats::enough_samples(&wall, plan.target_ci_rel, 0.95)
        {
            break StopReason::Precise;
        }
        if wall.len() >= plan.max_samples {
            break StopReason::MaxSamples;
        }
        if clock.wall() - sampling_start >= plan.budget_s && wall.len() >= MIN_SAMPLES_ON_BUDGET {
            break StopReason::Budget;
        }
    };
    Sampled {
        warmup_runs,
        iterations_per_sample: iterations,
        samples_wall_s: wall,
        samples_cpu_s: cpu,
        stop,
        sampling_s: clock.wall() - sampling_start,
    }
}

/// A deterministic clock for tests: time only moves when the measured function says so.
#[derive(Debug, Clone)]
pub struct FakeClock {
    pub now: std::rc::Rc<std::cell::Cell<f64>>,
    /// CPU seconds per wall second (e.g. 2.0 for two busy threads).
    pub cpu_ratio: f64,
}

impl FakeClock {
    pub fn new() -> FakeClock {
        FakeClock {
            now: std::rc::Rc::new(std::cell::Cell::new(0.0)),
            cpu_ratio: 1.0,
        }
    }

    pub fn advance(&self, s: f64) {
        self.now.set(self.now.get() + s);
    }
}

impl Default for FakeClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for FakeClock {
    fn wall(&mut self) -> f64 {
        self.now.get()
    }

    fn cpu(&mut self) -> f64 {
        self.now.get() * self.cpu_ratio
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calibrates_to_the_minimum_sample_time() {
        let mut clock = FakeClock::new();
        let c = clock.clone();
        let plan = Plan::standard(5.0);
        // A 1 ms function: 10 calls make a 10 ms sample; constant times stop at min_samples.
        let s = sample(&mut clock, &plan, 0.0, &mut || c.advance(0.001));
        assert_eq!(s.iterations_per_sample, 10);
        assert_eq!(s.samples_wall_s.len(), plan.min_samples);
        assert_eq!(s.stop, StopReason::Precise);
        assert!(s.samples_wall_s.iter().all(|&t| (t - 0.001).abs() < 1e-12));
        assert_eq!(s.warmup_runs, 200);
    }

    #[test]
    fn slow_functions_stop_on_budget_with_few_samples() {
        let mut clock = FakeClock::new();
        let c = clock.clone();
        let mut k = 0u64;
        let plan = Plan::standard(2.0);
        // A 1 s function whose time alternates by 30%: the CI never gets tight.
        let s = sample(&mut clock, &plan, 0.0, &mut || {
            k += 1;
            c.advance(if k.is_multiple_of(2) { 1.0 } else { 1.3 });
        });
        assert_eq!(s.iterations_per_sample, 1);
        assert_eq!(s.stop, StopReason::Budget);
        assert_eq!(s.samples_wall_s.len(), MIN_SAMPLES_ON_BUDGET);
    }

    #[test]
    fn a_first_call_longer_than_the_warm_up_replaces_it() {
        let mut clock = FakeClock::new();
        let c = clock.clone();
        let mut calls = 0;
        let plan = Plan::standard(5.0);
        // A 300 ms function whose checked first call (300 ms) outlasts the 200 ms warm-up.
        let s = sample(&mut clock, &plan, 0.3, &mut || {
            calls += 1;
            c.advance(0.3)
        });
        assert_eq!(s.warmup_runs, 0);
        assert_eq!(s.iterations_per_sample, 1);
        assert_eq!(calls, s.samples_wall_s.len(), "every call is a sample");
    }

    #[test]
    fn a_short_first_call_only_shortens_the_warm_up() {
        let mut clock = FakeClock::new();
        let c = clock.clone();
        // 150 ms already run of a 200 ms warm-up: 50 more 1 ms calls.
        let s = sample(&mut clock, &Plan::standard(5.0), 0.15, &mut || {
            c.advance(0.001)
        });
        assert_eq!(s.warmup_runs, 50);
        assert_eq!(s.iterations_per_sample, 10);
    }

    #[test]
    fn a_cold_first_call_does_not_spoil_the_calibration() {
        let mut clock = FakeClock::new();
        let c = clock.clone();
        let plan = Plan::standard(5.0);
        // The first call took 250 ms (cold), later calls 1 ms: calibrating from 250 ms would
        // give 1 ms samples. The first sample is discarded and the calibration redone.
        let s = sample(&mut clock, &plan, 0.25, &mut || c.advance(0.001));
        assert_eq!(s.warmup_runs, 1, "the discarded sample counts as warm-up");
        assert_eq!(s.iterations_per_sample, 10);
        assert!(s.samples_wall_s.iter().all(|&t| (t - 0.001).abs() < 1e-12));
        assert_eq!(s.samples_wall_s.len(), plan.min_samples);
    }

    #[test]
    fn cpu_time_follows_threads() {
        let mut clock = FakeClock::new();
        clock.cpu_ratio = 2.0;
        let c = clock.clone();
        let s = sample(&mut clock, &Plan::quick(1.0), 0.0, &mut || c.advance(0.002));
        let ratio = s.samples_cpu_s[0] / s.samples_wall_s[0];
        assert!((ratio - 2.0).abs() < 1e-9);
    }

    #[test]
    fn real_cpu_clock_advances() {
        let a = process_cpu_seconds();
        let mut x = 0u64;
        for i in 0..5_000_000u64 {
            x = x.wrapping_add(std::hint::black_box(i));
        }
        std::hint::black_box(x);
        assert!(process_cpu_seconds() > a);
    }
}
