//! pi-integration: pi as the integral of 4/(1+x^2) over [0, 1] by the midpoint rule.
//!
//! `pi_N = h * sum_{i<N} 4/(1+x_i^2)` with `h = 1/N` and `x_i = (i + 0.5) h`
//! (shared/KERNELS.md). Problem: `n` = slices N (default 10^7); `m` and `seed` unused.
//!
//! Every variant computes the same terms; they differ in the order in which they add them
//! up, so besides speed this ladder shows what summation order does to accuracy: each
//! variant's error |pi_N - pi| is part of its check.

use std::f64::consts::PI;

use rayon::prelude::*;

use crate::reference::{ReferenceCache, mismatch, wrong_outcome};
use crate::simd::{self, Level};
use crate::{Check, CheckError, Kernel, Outcome, Problem, Variant, pool};

/// The KERNELS.md problem: 10^7 slices.
pub const DEFAULT: Problem = Problem {
    n: 10_000_000,
    m: 0,
    seed: 0,
};

/// A small problem for fast tests.
pub const SMALL: Problem = Problem {
    n: 100_003,
    m: 0,
    seed: 0,
};

/// The i-th term of the sum, written once so that every variant computes identical terms.
#[inline(always)]
fn term(i: u64, h: f64) -> f64 {
    let x = (i as f64 + 0.5) * h;
    4.0 / (1.0 + x * x)
}

// ANCHOR: naive
/// The loop as the formula reads: one running sum, added left to right.
///
/// Lesson: the baseline. Each addition waits for the previous one (a loop-carried
/// dependency), and the rounding error of 10^7 additions into one big sum grows with N.
pub fn naive(n: u64) -> f64 {
    let h = 1.0 / n as f64;
    let mut sum = 0.0;
    for i in 0..n {
        let x = (i as f64 + 0.5) * h;
        sum += 4.0 / (1.0 + x * x);
    }
    h * sum
}
// ANCHOR_END: naive

// ANCHOR: kahan
/// Kahan-compensated summation: a second variable carries the low-order bits that each
/// addition loses, and feeds them back into the next one.
///
/// Lesson: accuracy has a price in time, not in memory. The error drops to the rounding of
/// the final product, but each step is now a chain of four dependent additions, so the loop
/// runs at the speed of that chain rather than of the division.
pub fn kahan(n: u64) -> f64 {
    let h = 1.0 / n as f64;
    let mut sum = 0.0;
    let mut compensation = 0.0;
    for i in 0..n {
        let y = term(i, h) - compensation;
        let t = sum + y;
        compensation = (t - sum) - y;
        sum = t;
    }
    h * sum
}
// ANCHOR_END: kahan

// ANCHOR: ilp4
/// Four independent running sums, combined at the end.
///
/// Lesson: instruction-level parallelism. The CPU can now overlap four additions (and four
/// divisions) instead of waiting for each result. Summing in four interleaved streams also
/// changes the rounding error: any reordering does.
pub fn ilp4(n: u64) -> f64 {
    let h = 1.0 / n as f64;
    h * sum_ilp4(0, n, h)
}

/// Sum of the terms `start..end` with four accumulators.
fn sum_ilp4(start: u64, end: u64, h: f64) -> f64 {
    let mut acc = [0.0f64; 4];
    let mut i = start;
    while i + 4 <= end {
        for (lane, a) in acc.iter_mut().enumerate() {
            *a += term(i + lane as u64, h);
        }
        i += 4;
    }
    for j in i..end {
        acc[0] += term(j, h);
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3])
}
// ANCHOR_END: ilp4

// ANCHOR: simd
/// Explicit vectors: 8 terms per AVX-512 instruction (4 with AVX2), four vector
/// accumulators for instruction-level parallelism, chosen at run time.
///
/// Lesson: one instruction, many slices. The compiler will not vectorise the naive loop by
/// itself, because that reorders the additions and floating-point addition is not
/// associative; writing the vectors by hand states that the new order is acceptable.
pub fn simd(n: u64) -> f64 {
    let h = 1.0 / n as f64;
    h * sum_simd(simd::best(), 0, n, h)
}

/// Sum of the terms `start..end` on the given SIMD path.
fn sum_simd(level: Level, start: u64, end: u64, h: f64) -> f64 {
    match level {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `level` comes from `simd::dispatch`, which chose AVX-512 only after
        // `is_x86_feature_detected!` confirmed avx512f on this CPU.
        Level::Avx512 => unsafe { x86::sum_avx512(start, end, h) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above, AVX2 and FMA were detected before `level` was set to Avx2.
        Level::Avx2 => unsafe { x86::sum_avx2(start, end, h) },
        _ => sum_ilp4(start, end, h),
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    /// AVX-512: four vectors of 8 terms per step.
    #[target_feature(enable = "avx512f")]
    pub(super) fn sum_avx512(start: u64, end: u64, h: f64) -> f64 {
        let h_v = _mm512_set1_pd(h);
        let one = _mm512_set1_pd(1.0);
        let four = _mm512_set1_pd(4.0);
        let step = _mm512_set1_pd(8.0);
        // (i + 0.5) for the 8 lanes; adding 8.0 stays exact far beyond 10^15.
        let base = start as f64 + 0.5;
        let mut i_v = _mm512_setr_pd(
            base,
            base + 1.0,
            base + 2.0,
            base + 3.0,
            base + 4.0,
            base + 5.0,
            base + 6.0,
            base + 7.0,
        );
        let mut acc = [_mm512_setzero_pd(); 4];
        let mut i = start;
        while i + 32 <= end {
            for a in acc.iter_mut() {
                let x = _mm512_mul_pd(i_v, h_v);
                // 1 + x*x as a separate multiply and add, exactly like the scalar term.
                let d = _mm512_add_pd(one, _mm512_mul_pd(x, x));
                *a = _mm512_add_pd(*a, _mm512_div_pd(four, d));
                i_v = _mm512_add_pd(i_v, step);
            }
            i += 32;
        }
        let sum = _mm512_add_pd(_mm512_add_pd(acc[0], acc[1]), _mm512_add_pd(acc[2], acc[3]));
        let mut total = _mm512_reduce_add_pd(sum);
        for j in i..end {
            total += super::term(j, h);
        }
        total
    }

    /// AVX2: four vectors of 4 terms per step.
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn sum_avx2(start: u64, end: u64, h: f64) -> f64 {
        let h_v = _mm256_set1_pd(h);
        let one = _mm256_set1_pd(1.0);
        let four = _mm256_set1_pd(4.0);
        let step = _mm256_set1_pd(4.0);
        let base = start as f64 + 0.5;
        let mut i_v = _mm256_setr_pd(base, base + 1.0, base + 2.0, base + 3.0);
        let mut acc = [_mm256_setzero_pd(); 4];
        let mut i = start;
        while i + 16 <= end {
            for a in acc.iter_mut() {
                let x = _mm256_mul_pd(i_v, h_v);
                let d = _mm256_add_pd(one, _mm256_mul_pd(x, x));
                *a = _mm256_add_pd(*a, _mm256_div_pd(four, d));
                i_v = _mm256_add_pd(i_v, step);
            }
            i += 16;
        }
        let sum = _mm256_add_pd(_mm256_add_pd(acc[0], acc[1]), _mm256_add_pd(acc[2], acc[3]));
        let mut lanes = [0.0f64; 4];
        // SAFETY: `lanes` holds exactly 4 f64, the width of one unaligned 256-bit store.
        unsafe { _mm256_storeu_pd(lanes.as_mut_ptr(), sum) };
        let mut total = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
        for j in i..end {
            total += super::term(j, h);
        }
        total
    }

    // ANCHOR: simd_rcp_avx512
    /// AVX-512: half the vectors divide, half use `vrcp14pd` (relative error < 2^-14) and
    /// two Newton steps. The term is computed as 1/q with q = (1 + x^2)/4 = (x/2)^2 + 1/4, so
    /// that the sum needs a plain addition (on the adder units), not a multiply-add by 4.
    #[target_feature(enable = "avx512f")]
    pub(super) fn sum_rcp_avx512(start: u64, end: u64, h: f64) -> f64 {
        let half_h = _mm512_set1_pd(0.5 * h); // exact: a power-of-two scaling
        let quarter = _mm512_set1_pd(0.25);
        let one = _mm512_set1_pd(1.0);
        let step = _mm512_set1_pd(8.0);
        let base = start as f64 + 0.5;
        let mut i_v = _mm512_setr_pd(
            base,
            base + 1.0,
            base + 2.0,
            base + 3.0,
            base + 4.0,
            base + 5.0,
            base + 6.0,
            base + 7.0,
        );
        let mut acc = [_mm512_setzero_pd(); 4];
        let mut i = start;
        while i + 32 <= end {
            for (k, a) in acc.iter_mut().enumerate() {
                let half_x = _mm512_mul_pd(i_v, half_h);
                let q = _mm512_fmadd_pd(half_x, half_x, quarter);
                let r = if k % 2 == 0 {
                    // Every other vector still divides: the divider is a separate unit, so
                    // its work overlaps with the multiply-adds of the estimated vectors.
                    _mm512_div_pd(one, q)
                } else {
                    let mut r = _mm512_rcp14_pd(q);
                    for _ in 0..2 {
                        // e = 1 - q r; r = r + r e
                        let e = _mm512_fnmadd_pd(q, r, one);
                        r = _mm512_fmadd_pd(r, e, r);
                    }
                    r
                };
                *a = _mm512_add_pd(*a, r);
                i_v = _mm512_add_pd(i_v, step);
            }
            i += 32;
        }
        let sum = _mm512_add_pd(_mm512_add_pd(acc[0], acc[1]), _mm512_add_pd(acc[2], acc[3]));
        let mut total = _mm512_reduce_add_pd(sum);
        for j in i..end {
            total += super::term(j, h);
        }
        total
    }
    // ANCHOR_END: simd_rcp_avx512

    /// AVX2 has no double-precision reciprocal estimate: take the single-precision one
    /// (`rcpps`, 12 bits) and refine it three times (12 -> 24 -> 48 -> 96 bits).
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn sum_rcp_avx2(start: u64, end: u64, h: f64) -> f64 {
        let h_v = _mm256_set1_pd(h);
        let one = _mm256_set1_pd(1.0);
        let four = _mm256_set1_pd(4.0);
        let step = _mm256_set1_pd(4.0);
        let base = start as f64 + 0.5;
        let mut i_v = _mm256_setr_pd(base, base + 1.0, base + 2.0, base + 3.0);
        let mut acc = [_mm256_setzero_pd(); 4];
        let mut i = start;
        while i + 16 <= end {
            for a in acc.iter_mut() {
                let x = _mm256_mul_pd(i_v, h_v);
                let d = _mm256_fmadd_pd(x, x, one);
                let mut r = _mm256_cvtps_pd(_mm_rcp_ps(_mm256_cvtpd_ps(d)));
                for _ in 0..3 {
                    let e = _mm256_fnmadd_pd(d, r, one);
                    r = _mm256_fmadd_pd(r, e, r);
                }
                *a = _mm256_fmadd_pd(four, r, *a);
                i_v = _mm256_add_pd(i_v, step);
            }
            i += 16;
        }
        let sum = _mm256_add_pd(_mm256_add_pd(acc[0], acc[1]), _mm256_add_pd(acc[2], acc[3]));
        let mut lanes = [0.0f64; 4];
        // SAFETY: `lanes` holds exactly 4 f64, the width of one unaligned 256-bit store.
        unsafe { _mm256_storeu_pd(lanes.as_mut_ptr(), sum) };
        let mut total = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
        for j in i..end {
            total += super::term(j, h);
        }
        total
    }
}
// ANCHOR_END: simd

// ANCHOR: simd_rcp
/// Division partly replaced by a reciprocal estimate refined with two Newton-Raphson steps
/// (`r <- r (2 - d r)`, each doubling the correct bits: 14 -> 28 -> 56 with AVX-512).
///
/// Lesson: know which unit is the bottleneck, and keep every unit busy. A vector division
/// occupies the divider for many cycles, while the estimate and the fused multiply-adds that
/// refine it run on other units; with half the vectors on each path, both work at once. The
/// result keeps full double precision (the check still holds to 1e-12).
pub fn simd_rcp(n: u64) -> f64 {
    let h = 1.0 / n as f64;
    h * sum_simd_rcp(simd::best(), 0, n, h)
}

/// Sum of the terms `start..end` with reciprocal estimates on the given SIMD path.
fn sum_simd_rcp(level: Level, start: u64, end: u64, h: f64) -> f64 {
    match level {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `level` is Avx512 only when avx512f was detected on this CPU.
        Level::Avx512 => unsafe { x86::sum_rcp_avx512(start, end, h) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `level` is Avx2 only when avx2 and fma were detected on this CPU.
        Level::Avx2 => unsafe { x86::sum_rcp_avx2(start, end, h) },
        _ => sum_ilp4(start, end, h),
    }
}
// ANCHOR_END: simd_rcp

// ANCHOR: rayon
/// Slices per parallel task. Fixed (not derived from the thread count) so that the partial
/// sums, and therefore the rounding, are the same for every number of threads.
const CHUNK: u64 = 1 << 16;

/// The range split into fixed chunks summed in parallel by `threads` threads; the partial
/// sums are then added in chunk order.
///
/// Lesson: threads multiply throughput, and a deterministic reduction (fixed chunks,
/// combined in a fixed order) keeps the answer bit-identical from 1 to 64 threads.
pub fn rayon(n: u64, threads: usize) -> f64 {
    let h = 1.0 / n as f64;
    h * parallel_sum(n, threads, |start, end| sum_ilp4(start, end, h))
}

/// Sums `chunk_sum` over fixed chunks of `0..n` in the pool of `threads` threads.
fn parallel_sum(n: u64, threads: usize, chunk_sum: impl Fn(u64, u64) -> f64 + Sync) -> f64 {
    let chunks = n.div_ceil(CHUNK);
    let partials: Vec<f64> = pool::install(threads, || {
        (0..chunks)
            .into_par_iter()
            .map(|c| chunk_sum(c * CHUNK, ((c + 1) * CHUNK).min(n)))
            .collect()
    });
    partials.iter().sum()
}
// ANCHOR_END: rayon

// ANCHOR: rayon_simd
/// The fastest single-core sum ([`simd_rcp`]) inside each parallel chunk: both kinds of
/// parallelism at once.
///
/// Lesson: vectors and threads multiply; the result is still independent of the thread
/// count.
pub fn rayon_simd(n: u64, threads: usize) -> f64 {
    let h = 1.0 / n as f64;
    let level = simd::best();
    h * parallel_sum(n, threads, |start, end| sum_simd_rcp(level, start, end, h))
}
// ANCHOR_END: rayon_simd

// ANCHOR: check
/// Largest accepted |pi_N - pi| at the default size (KERNELS.md), and largest accepted
/// distance from the reference value at other sizes.
pub const TOLERANCE: f64 = 1e-12;

static REFERENCES: ReferenceCache<f64> = ReferenceCache::new();

/// The one check of every pi-integration variant. At the KERNELS.md size: |pi_N - pi| <
/// 1e-12. At other sizes the midpoint rule's own error can exceed that, so the value must
/// instead be within 1e-12 of the [`naive`] variant's value at that size (computed once and
/// cached). `Check::error` is always |pi_N - pi|, the accuracy lesson.
pub fn check(problem: &Problem, variant: &str, outcome: &Outcome) -> Result<Check, CheckError> {
    let Outcome::Pi { value } = *outcome else {
        return Err(wrong_outcome(variant, "Outcome::Pi", outcome));
    };
    let error = (value - PI).abs();
    let (reference, label) = if *problem == DEFAULT {
        (PI, "pi")
    } else {
        let n = problem.n;
        (REFERENCES.get(problem, || naive(n)), "the naive sum")
    };
    let distance = (value - reference).abs();
    let within = distance < TOLERANCE; // false for NaN
    if !within {
        return Err(mismatch(
            variant,
            format!("within {TOLERANCE:e} of {label} ({reference:.16})"),
            format!("{value:.16} (off by {distance:.1e})"),
        ));
    }
    Ok(Check {
        summary: format!("pi_N = {value:.15}, |pi_N - pi| = {error:.1e}"),
        error: Some(error),
    })
}
// ANCHOR_END: check

/// Useful floating-point operations per slice: +0.5, *h, x*x, +1, /, and the sum.
pub const FLOPS_PER_SLICE: f64 = 6.0;

fn run_naive(p: &Problem, _threads: usize) -> Outcome {
    Outcome::Pi { value: naive(p.n) }
}
fn run_kahan(p: &Problem, _threads: usize) -> Outcome {
    Outcome::Pi { value: kahan(p.n) }
}
fn run_ilp4(p: &Problem, _threads: usize) -> Outcome {
    Outcome::Pi { value: ilp4(p.n) }
}
fn run_simd(p: &Problem, _threads: usize) -> Outcome {
    Outcome::Pi { value: simd(p.n) }
}
fn run_simd_rcp(p: &Problem, _threads: usize) -> Outcome {
    Outcome::Pi {
        value: simd_rcp(p.n),
    }
}
fn run_rayon(p: &Problem, threads: usize) -> Outcome {
    Outcome::Pi {
        value: rayon(p.n, threads),
    }
}
fn run_rayon_simd(p: &Problem, threads: usize) -> Outcome {
    Outcome::Pi {
        value: rayon_simd(p.n, threads),
    }
}

/// The pi-integration kernel and its ladder.
pub const KERNEL: Kernel = Kernel {
    name: "pi-integration",
    title: "pi by midpoint-rule integration of 4/(1+x^2) over [0, 1]",
    source_file: "src/pi_integration.rs",
    source: include_str!("pi_integration.rs"),
    uses: &[],
    default_problem: DEFAULT,
    small_problem: SMALL,
    work_unit: "slices",
    work: |p| p.n as f64,
    flops: |p, _| Some(FLOPS_PER_SLICE * p.n as f64),
    bytes: |_| None,
    check,
    variants: &[
        Variant {
            name: "naive",
            lesson: "The formula as written: one running sum, left to right.",
            threaded: false,
            run: run_naive,
            simd_path: simd::no_path,
            anchor: "naive",
        },
        Variant {
            name: "kahan",
            lesson: "Compensated summation: far smaller rounding error for almost no time.",
            threaded: false,
            run: run_kahan,
            simd_path: simd::no_path,
            anchor: "kahan",
        },
        Variant {
            name: "ilp4",
            lesson: "Four independent sums let the CPU overlap additions and divisions.",
            threaded: false,
            run: run_ilp4,
            simd_path: simd::no_path,
            anchor: "ilp4",
        },
        Variant {
            name: "simd",
            lesson: "Explicit AVX-512/AVX2 vectors: 8 or 4 slices per instruction.",
            threaded: false,
            run: run_simd,
            simd_path: simd::best_path,
            anchor: "simd",
        },
        Variant {
            name: "simd-rcp",
            lesson: "The divider is the bottleneck: half the vectors use a reciprocal estimate and Newton steps instead.",
            threaded: false,
            run: run_simd_rcp,
            simd_path: simd::best_path,
            anchor: "simd_rcp",
        },
        Variant {
            name: "rayon",
            lesson: "Fixed chunks on all cores, partial sums added in order: same answer for any thread count.",
            threaded: true,
            run: run_rayon,
            simd_path: simd::no_path,
            anchor: "rayon",
        },
        Variant {
            name: "rayon-simd",
            lesson: "Vectors inside threads: the two kinds of parallelism multiply.",
            threaded: true,
            run: run_rayon_simd,
            simd_path: simd::best_path,
            anchor: "rayon_simd",
        },
    ],
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn naive_matches_kernels_md() {
        assert_eq!(naive(DEFAULT.n), 3.141592653589731);
    }

    #[test]
    fn kahan_is_more_accurate_than_naive() {
        let naive_error = (naive(DEFAULT.n) - PI).abs();
        let kahan_error = (kahan(DEFAULT.n) - PI).abs();
        assert!(kahan_error < naive_error, "{kahan_error} vs {naive_error}");
    }

    #[test]
    fn parallel_sums_do_not_depend_on_the_thread_count() {
        assert_eq!(rayon(SMALL.n, 1), rayon(SMALL.n, 3));
        assert_eq!(rayon_simd(SMALL.n, 1), rayon_simd(SMALL.n, 2));
    }

    #[test]
    fn a_wrong_value_fails_naming_the_variant() {
        let err = check(&DEFAULT, "pi-integration/x", &Outcome::Pi { value: 3.25 }).unwrap_err();
        assert_eq!(err.variant, "pi-integration/x");
        assert!(err.to_string().contains("3.25"), "{err}");
        assert!(check(&DEFAULT, "v", &Outcome::Pi { value: f64::NAN }).is_err());
    }
}
