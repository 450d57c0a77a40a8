//! fma-peak: the compute roof of the roofline, the floating-point rate of this CPU.
//!
//! Independent chains of fused multiply-adds, held in registers, at the widest vector width
//! the CPU supports: enough chains that each FMA unit starts a new one every cycle despite
//! the instruction's latency. Problem: `n` = fused multiply-adds in total (default 2^30,
//! 2^31 flops), split evenly among the threads.
//!
//! Each chain computes `x <- x * 1 + 1` from its index j, so after k steps it holds exactly
//! j + k, and the sum of all lanes is known in advance: the check proves every FMA ran.
//! (The multiplier and addend are hidden from the optimiser, which cannot fold them away.)

use std::hint::black_box;

use crate::reference::{mismatch, wrong_outcome};
use crate::simd::{self, Level};
use crate::{Check, CheckError, Kernel, Outcome, Problem, Variant, pool};

/// The default problem: 2^30 fused multiply-adds.
pub const DEFAULT: Problem = Problem {
    n: 1 << 30,
    m: 0,
    seed: 0,
};

/// A small problem for fast tests.
pub const SMALL: Problem = Problem {
    n: 1 << 20,
    m: 0,
    seed: 0,
};

/// Independent chains per thread: FMA latency (4 cycles) x FMA units (2) = 8 in flight are
/// needed; 12 leave slack and still fit in the 16 AVX2 registers.
pub const CHAINS: usize = 12;

/// What one thread's chains computed: FMAs executed, and the sum of all lanes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Chains {
    pub level: Level,
    pub fmas: u64,
    pub sum: f64,
}

/// Vector lanes of the path (f64 per register).
pub fn lanes(level: Level) -> u64 {
    match level {
        Level::Avx512 => 8,
        Level::Avx2 => 4,
        Level::Scalar => 1,
    }
}

// ANCHOR: one_thread
/// `iterations` steps of [`CHAINS`] independent FMA chains on the given path.
pub fn chains(level: Level, iterations: u64) -> Chains {
    let (a, b) = (black_box(1.0), black_box(1.0));
    let sum = match level {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `level` is Avx512 only when avx512f was detected on this CPU.
        Level::Avx512 => unsafe { x86::chains_avx512(iterations, a, b) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `level` is Avx2 only when avx2 and fma were detected on this CPU.
        Level::Avx2 => unsafe { x86::chains_avx2(iterations, a, b) },
        _ => {
            let mut acc: [f64; CHAINS] = std::array::from_fn(|j| j as f64);
            for _ in 0..iterations {
                for x in acc.iter_mut() {
                    *x = x.mul_add(a, b);
                }
            }
            acc.iter().sum()
        }
    };
    Chains {
        level,
        fmas: iterations * CHAINS as u64 * lanes(level),
        sum,
    }
}

/// The fused multiply-adds of `fmas` in total, on one core.
///
/// Lesson: the peak floating-point rate of one core: two vector FMA units, each starting a
/// new 8-lane FMA every cycle, reached only with enough independent chains in registers.
pub fn one_thread(fmas: u64) -> Chains {
    let level = simd::best();
    chains(level, iterations(level, fmas))
}

/// Steps per chain for `fmas` FMAs in total (at least one).
fn iterations(level: Level, fmas: u64) -> u64 {
    (fmas / (CHAINS as u64 * lanes(level))).max(1)
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::CHAINS;

    #[target_feature(enable = "avx512f")]
    pub(super) fn chains_avx512(iterations: u64, a: f64, b: f64) -> f64 {
        let (a, b) = (_mm512_set1_pd(a), _mm512_set1_pd(b));
        let mut acc = [_mm512_setzero_pd(); CHAINS];
        for (j, x) in acc.iter_mut().enumerate() {
            *x = _mm512_set1_pd(j as f64);
        }
        for _ in 0..iterations {
            for x in acc.iter_mut() {
                *x = _mm512_fmadd_pd(*x, a, b);
            }
        }
        acc.iter().map(|&x| _mm512_reduce_add_pd(x)).sum()
    }

    #[target_feature(enable = "avx2,fma")]
    pub(super) fn chains_avx2(iterations: u64, a: f64, b: f64) -> f64 {
        let (a, b) = (_mm256_set1_pd(a), _mm256_set1_pd(b));
        let mut acc = [_mm256_setzero_pd(); CHAINS];
        for (j, x) in acc.iter_mut().enumerate() {
            *x = _mm256_set1_pd(j as f64);
        }
        for _ in 0..iterations {
            for x in acc.iter_mut() {
                *x = _mm256_fmadd_pd(*x, a, b);
            }
        }
        let mut sum = 0.0;
        for x in acc {
            let mut lanes = [0.0f64; 4];
            // SAFETY: `lanes` holds 4 f64, one unaligned 256-bit store.
            unsafe { _mm256_storeu_pd(lanes.as_mut_ptr(), x) };
            sum += lanes.iter().sum::<f64>();
        }
        sum
    }
}
// ANCHOR_END: one_thread

// ANCHOR: all_threads
/// The same FMAs shared evenly by the `threads` threads of a pool, each running its own
/// chains (`broadcast` runs the closure once on every thread).
///
/// Lesson: the machine's peak: per-core peak times cores, when nothing else runs.
pub fn all_threads(fmas: u64, threads: usize) -> Chains {
    let level = simd::best();
    let total = iterations(level, fmas);
    let pool = pool::pool(threads);
    let n = pool.current_num_threads() as u64;
    let per_thread = pool.broadcast(|ctx| {
        let t = ctx.index() as u64;
        let share = total / n + u64::from(t < total % n);
        chains(level, share)
    });
    Chains {
        level,
        fmas: per_thread.iter().map(|c| c.fmas).sum(),
        sum: per_thread.iter().map(|c| c.sum).sum(),
    }
}
// ANCHOR_END: all_threads

/// The lane sum `chains` must produce for `fmas` FMAs shared by `threads` threads: each
/// thread's chain j ends at j + its steps, in every lane.
fn expected_sum(level: Level, fmas: u64, threads: u64) -> f64 {
    let lanes = lanes(level) as f64;
    let c = CHAINS as f64;
    let steps = (fmas / (CHAINS as u64 * lanes as u64)) as f64;
    lanes * (threads as f64 * c * (c - 1.0) / 2.0 + c * steps)
}

fn probe(chains: Chains, threads: u64) -> Outcome {
    Outcome::Probe {
        work: 2.0 * chains.fmas as f64,
        checksum: chains.sum,
        expected: expected_sum(chains.level, chains.fmas, threads),
    }
}

// ANCHOR: check
/// The one check of both variants: the lane sum must equal the predicted one exactly, and
/// the flops executed must be within one round of chains of the 2n asked for.
pub fn check(problem: &Problem, variant: &str, outcome: &Outcome) -> Result<Check, CheckError> {
    let Outcome::Probe {
        work,
        checksum,
        expected,
    } = *outcome
    else {
        return Err(wrong_outcome(variant, "Outcome::Probe", outcome));
    };
    let asked = 2.0 * problem.n as f64;
    let slack = 2.0 * (CHAINS * 8) as f64 * 256.0;
    if !checksum.is_finite() || checksum != expected || (work - asked).abs() > slack {
        return Err(mismatch(
            variant,
            format!("checksum {expected} over about {asked} flops"),
            format!("checksum {checksum} over {work} flops"),
        ));
    }
    Ok(Check {
        summary: format!("{work} flops, checksum {checksum} (exact)"),
        error: None,
    })
}
// ANCHOR_END: check

fn run_one_thread(p: &Problem, _threads: usize) -> Outcome {
    probe(one_thread(p.n), 1)
}
fn run_all_threads(p: &Problem, threads: usize) -> Outcome {
    let threads = threads.max(1);
    probe(all_threads(p.n, threads), threads as u64)
}

/// The fma-peak roofline probe.
pub const KERNEL: Kernel = Kernel {
    name: "fma-peak",
    title: "Peak floating-point rate: independent fused multiply-add chains in registers",
    source_file: "src/fma_peak.rs",
    source: include_str!("fma_peak.rs"),
    uses: &[],
    default_problem: DEFAULT,
    small_problem: SMALL,
    work_unit: "flops",
    work: |p| 2.0 * p.n as f64,
    flops: |_, outcome| match outcome {
        Outcome::Probe { work, .. } => Some(*work),
        _ => None,
    },
    bytes: |_| None,
    check,
    variants: &[
        Variant {
            name: "one-thread",
            lesson: "The peak floating-point rate of one core.",
            threaded: false,
            run: run_one_thread,
            simd_path: simd::best_path,
            anchor: "one_thread",
        },
        Variant {
            name: "all-threads",
            lesson: "The machine's peak floating-point rate, every core computing.",
            threaded: true,
            run: run_all_threads,
            simd_path: simd::best_path,
            anchor: "all_threads",
        },
    ],
};
