//! pi-monte-carlo: pi from the fraction of random points of the unit square that fall inside
//! the quarter circle.
//!
//! Point i is `(rand_f64(seed, 2i), rand_f64(seed, 2i+1))`, a hit is `x*x + y*y < 1`, and
//! `pi_N = 4 hits / N` (shared/KERNELS.md). Problem: `n` = points (default 10^7), `seed` = 42.
//!
//! Because the generator is counter-based, any lane or thread can compute any point, so every
//! variant on it finds exactly the same hits (7,855,729 at the default size). The first rung
//! uses the `rand` crate instead, and is checked statistically.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rayon::prelude::*;

use crate::reference::{ReferenceCache, mismatch, wrong_outcome};
use crate::rng::rand_f64;
use crate::simd::{self, Level};
use crate::{Check, CheckError, Kernel, Outcome, Problem, Variant, pool};

/// The KERNELS.md problem: 10^7 points, seed 42.
pub const DEFAULT: Problem = Problem {
    n: 10_000_000,
    m: 0,
    seed: 42,
};

/// A small problem for fast tests.
pub const SMALL: Problem = Problem {
    n: 100_003,
    m: 0,
    seed: 42,
};

/// Hits at the default size on the canonical generator (KERNELS.md).
pub const REFERENCE_HITS: u64 = 7_855_729;

// ANCHOR: rand_crate
/// The first thing one writes: the `rand` crate's standard generator (ChaCha12), seeded,
/// drawing x then y for each point.
///
/// Lesson: what a general-purpose, cryptographically strong generator costs. Its stream is
/// not the project's counter-based one, so the check is statistical, not exact.
pub fn rand_crate(n: u64, seed: u64) -> u64 {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut hits = 0;
    for _ in 0..n {
        let x: f64 = rng.random();
        let y: f64 = rng.random();
        if x * x + y * y < 1.0 {
            hits += 1;
        }
    }
    hits
}
// ANCHOR_END: rand_crate

// ANCHOR: splitmix_scalar
/// Counter-based SplitMix64: point i is computed directly from its index.
///
/// Lesson: a cheap generator (two multiplies and a few shifts per number) whose outputs are
/// independent of each other, so nothing serialises the loop, and any thread or SIMD lane can
/// start anywhere. This is the reference every later rung must match exactly.
pub fn splitmix_scalar(n: u64, seed: u64) -> u64 {
    count_hits_scalar(seed, 0, n)
}

/// Hits among points `start..end`.
fn count_hits_scalar(seed: u64, start: u64, end: u64) -> u64 {
    let mut hits = 0;
    for i in start..end {
        let x = rand_f64(seed, 2 * i);
        let y = rand_f64(seed, 2 * i + 1);
        hits += (x * x + y * y < 1.0) as u64;
    }
    hits
}
// ANCHOR_END: splitmix_scalar

// ANCHOR: simd
/// SplitMix64 in vector registers: 8 points per AVX-512 instruction (64-bit multiplies,
/// `vpmullq`, and direct u64 -> f64 conversion), 4 with AVX2 (where both must be built from
/// 32-bit pieces), chosen at run time.
///
/// Lesson: integer SIMD. The hash is pure integer arithmetic, which vectorises as well as
/// floating point does once the instruction set has the operations.
pub fn simd(n: u64, seed: u64) -> u64 {
    count_hits(simd::best(), seed, 0, n)
}

/// Hits among points `start..end` on the given SIMD path.
fn count_hits(level: Level, seed: u64, start: u64, end: u64) -> u64 {
    match level {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `level` is Avx512 only when avx512f and avx512dq were detected.
        Level::Avx512 => unsafe { x86::count_hits_avx512(seed, start, end) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `level` is Avx2 only when avx2 and fma were detected.
        Level::Avx2 => unsafe { x86::count_hits_avx2(seed, start, end) },
        _ => count_hits_scalar(seed, start, end),
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use crate::rng::GAMMA;

    const MIX1: i64 = 0xBF58_476D_1CE4_E5B9_u64 as i64;
    const MIX2: i64 = 0x94D0_49BB_1331_11EB_u64 as i64;

    /// SplitMix64's output function on 8 lanes.
    #[target_feature(enable = "avx512f,avx512dq")]
    fn mix_avx512(z: __m512i) -> __m512i {
        let z = _mm512_mullo_epi64(
            _mm512_xor_si512(z, _mm512_srli_epi64::<30>(z)),
            _mm512_set1_epi64(MIX1),
        );
        let z = _mm512_mullo_epi64(
            _mm512_xor_si512(z, _mm512_srli_epi64::<27>(z)),
            _mm512_set1_epi64(MIX2),
        );
        _mm512_xor_si512(z, _mm512_srli_epi64::<31>(z))
    }

    /// `(u >> 11) * 2^-53` on 8 lanes, exactly like `rand_f64`.
    #[target_feature(enable = "avx512f,avx512dq")]
    fn to_unit_avx512(u: __m512i) -> __m512d {
        let top53 = _mm512_srli_epi64::<11>(u);
        _mm512_mul_pd(
            _mm512_cvtepu64_pd(top53),
            _mm512_set1_pd(1.0 / (1u64 << 53) as f64),
        )
    }

    /// Hits among points `start..end`, 16 points (two independent vectors) per step.
    #[target_feature(enable = "avx512f,avx512dq")]
    pub(super) fn count_hits_avx512(seed: u64, start: u64, end: u64) -> u64 {
        // The SplitMix64 state of counter k is seed + (k + 1) * GAMMA; point i uses k = 2i
        // for x and 2i + 1 for y. Lane l of vector v holds point start + 8v + l.
        let state = |k: u64| seed.wrapping_add(k.wrapping_add(1).wrapping_mul(GAMMA)) as i64;
        let lanes = |first: u64| {
            _mm512_setr_epi64(
                state(2 * first),
                state(2 * (first + 1)),
                state(2 * (first + 2)),
                state(2 * (first + 3)),
                state(2 * (first + 4)),
                state(2 * (first + 5)),
                state(2 * (first + 6)),
                state(2 * (first + 7)),
            )
        };
        let gamma = _mm512_set1_epi64(GAMMA as i64);
        // 16 points further on, the counters are 32 further on.
        let advance = _mm512_set1_epi64(GAMMA.wrapping_mul(32) as i64);
        let one = _mm512_set1_pd(1.0);
        let mut zx = [lanes(start), lanes(start + 8)];
        let mut hits = 0u64;
        let mut i = start;
        while i + 16 <= end {
            for z in zx.iter_mut() {
                let x = to_unit_avx512(mix_avx512(*z));
                let y = to_unit_avx512(mix_avx512(_mm512_add_epi64(*z, gamma)));
                let r2 = _mm512_add_pd(_mm512_mul_pd(x, x), _mm512_mul_pd(y, y));
                let inside = _mm512_cmp_pd_mask::<_CMP_LT_OQ>(r2, one);
                hits += inside.count_ones() as u64;
                *z = _mm512_add_epi64(*z, advance);
            }
            i += 16;
        }
        hits + super::count_hits_scalar(seed, i, end)
    }

    /// 64-bit multiply on 4 lanes from 32-bit pieces (AVX2 has no `vpmullq`):
    /// a*b mod 2^64 = lo(a) lo(b) + ((hi(a) lo(b) + lo(a) hi(b)) << 32).
    #[target_feature(enable = "avx2")]
    fn mullo_epi64_avx2(a: __m256i, b: __m256i) -> __m256i {
        let b_hi = _mm256_srli_epi64::<32>(b);
        let a_hi = _mm256_srli_epi64::<32>(a);
        let low = _mm256_mul_epu32(a, b);
        let cross = _mm256_add_epi64(_mm256_mul_epu32(a_hi, b), _mm256_mul_epu32(a, b_hi));
        _mm256_add_epi64(low, _mm256_slli_epi64::<32>(cross))
    }

    #[target_feature(enable = "avx2")]
    fn mix_avx2(z: __m256i) -> __m256i {
        let z = mullo_epi64_avx2(
            _mm256_xor_si256(z, _mm256_srli_epi64::<30>(z)),
            _mm256_set1_epi64x(MIX1),
        );
        let z = mullo_epi64_avx2(
            _mm256_xor_si256(z, _mm256_srli_epi64::<27>(z)),
            _mm256_set1_epi64x(MIX2),
        );
        _mm256_xor_si256(z, _mm256_srli_epi64::<31>(z))
    }

    /// `(u >> 11) * 2^-53` on 4 lanes. AVX2 cannot convert u64 to f64, so the 53-bit value
    /// is split into its high 21 and low 32 bits, each placed in the mantissa of a double
    /// with a known exponent (2^84 and 2^52), which is then subtracted: all steps are exact.
    #[target_feature(enable = "avx2")]
    fn to_unit_avx2(u: __m256i) -> __m256d {
        let top53 = _mm256_srli_epi64::<11>(u);
        let hi = _mm256_srli_epi64::<32>(top53);
        let lo = _mm256_and_si256(top53, _mm256_set1_epi64x(0xFFFF_FFFF));
        let two84 = _mm256_set1_epi64x(0x4530_0000_0000_0000); // bits of 2^84
        let two52 = _mm256_set1_epi64x(0x4330_0000_0000_0000); // bits of 2^52
        let hi_f = _mm256_sub_pd(
            _mm256_castsi256_pd(_mm256_or_si256(hi, two84)),
            _mm256_castsi256_pd(two84),
        );
        let lo_f = _mm256_sub_pd(
            _mm256_castsi256_pd(_mm256_or_si256(lo, two52)),
            _mm256_castsi256_pd(two52),
        );
        _mm256_mul_pd(
            _mm256_add_pd(hi_f, lo_f),
            _mm256_set1_pd(1.0 / (1u64 << 53) as f64),
        )
    }

    /// Hits among points `start..end`, 8 points (two vectors) per step.
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn count_hits_avx2(seed: u64, start: u64, end: u64) -> u64 {
        let state = |k: u64| seed.wrapping_add(k.wrapping_add(1).wrapping_mul(GAMMA)) as i64;
        let lanes = |first: u64| {
            _mm256_setr_epi64x(
                state(2 * first),
                state(2 * (first + 1)),
                state(2 * (first + 2)),
                state(2 * (first + 3)),
            )
        };
        let gamma = _mm256_set1_epi64x(GAMMA as i64);
        let advance = _mm256_set1_epi64x(GAMMA.wrapping_mul(16) as i64);
        let one = _mm256_set1_pd(1.0);
        let mut zx = [lanes(start), lanes(start + 4)];
        let mut hits = 0u64;
        let mut i = start;
        while i + 8 <= end {
            for z in zx.iter_mut() {
                let x = to_unit_avx2(mix_avx2(*z));
                let y = to_unit_avx2(mix_avx2(_mm256_add_epi64(*z, gamma)));
                let r2 = _mm256_add_pd(_mm256_mul_pd(x, x), _mm256_mul_pd(y, y));
                let inside = _mm256_cmp_pd::<_CMP_LT_OQ>(r2, one);
                hits += _mm256_movemask_pd(inside).count_ones() as u64;
                *z = _mm256_add_epi64(*z, advance);
            }
            i += 8;
        }
        hits + super::count_hits_scalar(seed, i, end)
    }
}
// ANCHOR_END: simd

// ANCHOR: rayon
/// Points per parallel task: each task owns an independent range of the counter.
const CHUNK: u64 = 1 << 16;

/// Fixed ranges of points counted in parallel, each with the scalar loop.
///
/// Lesson: independent parallel streams for free. Every task starts its generator at its own
/// counter, so no state is shared or split, and the hits are identical to the scalar count.
pub fn rayon(n: u64, seed: u64, threads: usize) -> u64 {
    parallel_hits(n, threads, |start, end| count_hits_scalar(seed, start, end))
}

/// Sums `chunk_hits` over fixed chunks of `0..n` in the pool of `threads` threads.
fn parallel_hits(n: u64, threads: usize, chunk_hits: impl Fn(u64, u64) -> u64 + Sync) -> u64 {
    pool::install(threads, || {
        (0..n.div_ceil(CHUNK))
            .into_par_iter()
            .map(|c| chunk_hits(c * CHUNK, ((c + 1) * CHUNK).min(n)))
            .sum()
    })
}
// ANCHOR_END: rayon

// ANCHOR: rayon_simd
/// The SIMD count inside each parallel range.
///
/// Lesson: vectors inside threads; still exactly the scalar hits.
pub fn rayon_simd(n: u64, seed: u64, threads: usize) -> u64 {
    let level = simd::best();
    parallel_hits(n, threads, |start, end| count_hits(level, seed, start, end))
}
// ANCHOR_END: rayon_simd

// ANCHOR: check
static REFERENCES: ReferenceCache<u64> = ReferenceCache::new();

/// The one check of every pi-monte-carlo variant. Variants on the counter-based generator
/// must find exactly the reference hits: KERNELS.md's 7,855,729 at the default size, and at
/// other sizes the hits of [`splitmix_scalar`] (computed once and cached). The `rand-crate`
/// variant draws other numbers and must instead satisfy KERNELS.md's statistical bound,
/// |pi_N - pi| < 4 * sqrt(p (1 - p) / N) * 4 with p = pi/4 (four standard errors).
pub fn check(problem: &Problem, variant: &str, outcome: &Outcome) -> Result<Check, CheckError> {
    let Outcome::Hits { hits, n } = *outcome else {
        return Err(wrong_outcome(variant, "Outcome::Hits", outcome));
    };
    if n != problem.n || hits > n {
        return Err(mismatch(
            variant,
            format!("at most {} hits of {} points", problem.n, problem.n),
            format!("{hits} hits of {n} points"),
        ));
    }
    let pi_n = 4.0 * hits as f64 / n as f64;
    let error = (pi_n - std::f64::consts::PI).abs();
    let summary = if variant.ends_with("/rand-crate") {
        let p = std::f64::consts::FRAC_PI_4;
        let bound = 4.0 * (p * (1.0 - p) / n as f64).sqrt() * 4.0;
        let within = error < bound; // false for NaN
        if !within {
            return Err(mismatch(
                variant,
                format!("|pi_N - pi| < {bound:.2e} (statistical)"),
                format!("pi_N = {pi_n} (|pi_N - pi| = {error:.2e})"),
            ));
        }
        format!("{hits} hits, |pi_N - pi| = {error:.1e} < {bound:.1e} (statistical)")
    } else {
        let expected = if *problem == DEFAULT {
            REFERENCE_HITS
        } else {
            REFERENCES.get(problem, || splitmix_scalar(problem.n, problem.seed))
        };
        if hits != expected {
            return Err(mismatch(
                variant,
                format!("{expected} hits (exact)"),
                format!("{hits} hits"),
            ));
        }
        format!("{hits} hits (exact), pi_N = {pi_n:.6}")
    };
    Ok(Check {
        summary,
        error: Some(error),
    })
}
// ANCHOR_END: check

fn hits(p: &Problem, hits: u64) -> Outcome {
    Outcome::Hits { hits, n: p.n }
}
fn run_rand_crate(p: &Problem, _threads: usize) -> Outcome {
    hits(p, rand_crate(p.n, p.seed))
}
fn run_splitmix_scalar(p: &Problem, _threads: usize) -> Outcome {
    hits(p, splitmix_scalar(p.n, p.seed))
}
fn run_simd(p: &Problem, _threads: usize) -> Outcome {
    hits(p, simd(p.n, p.seed))
}
fn run_rayon(p: &Problem, threads: usize) -> Outcome {
    hits(p, rayon(p.n, p.seed, threads))
}
fn run_rayon_simd(p: &Problem, threads: usize) -> Outcome {
    hits(p, rayon_simd(p.n, p.seed, threads))
}

/// The pi-monte-carlo kernel and its ladder.
pub const KERNEL: Kernel = Kernel {
    name: "pi-monte-carlo",
    title: "pi from random points in the unit square (counter-based SplitMix64)",
    source_file: "src/pi_monte_carlo.rs",
    source: include_str!("pi_monte_carlo.rs"),
    uses: &[],
    default_problem: DEFAULT,
    small_problem: SMALL,
    work_unit: "points",
    work: |p| p.n as f64,
    flops: |_, _| None,
    bytes: |_| None,
    check,
    variants: &[
        Variant {
            name: "rand-crate",
            lesson: "A general-purpose generator (rand's ChaCha12): correct, but it costs.",
            threaded: false,
            run: run_rand_crate,
            simd_path: simd::no_path,
            anchor: "rand_crate",
        },
        Variant {
            name: "splitmix-scalar",
            lesson: "A counter-based generator: cheap, and any point can be computed from its index.",
            threaded: false,
            run: run_splitmix_scalar,
            simd_path: simd::no_path,
            anchor: "splitmix_scalar",
        },
        Variant {
            name: "simd",
            lesson: "The integer hash in vector registers: 8 points per AVX-512 instruction.",
            threaded: false,
            run: run_simd,
            simd_path: simd::best_path,
            anchor: "simd",
        },
        Variant {
            name: "rayon",
            lesson: "Each task owns a range of the counter: parallel streams with identical hits.",
            threaded: true,
            run: run_rayon,
            simd_path: simd::no_path,
            anchor: "rayon",
        },
        Variant {
            name: "rayon-simd",
            lesson: "Vectors inside threads, still exactly the scalar hits.",
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
    fn every_simd_path_gives_the_scalar_hits() {
        let scalar = count_hits_scalar(SMALL.seed, 5, SMALL.n);
        for level in [Level::Scalar, Level::Avx2, Level::Avx512] {
            if simd::dispatch(&[level], simd::detect(), false) == level {
                assert_eq!(
                    count_hits(level, SMALL.seed, 5, SMALL.n),
                    scalar,
                    "{level:?}"
                );
            }
        }
    }

    #[test]
    fn the_statistical_check_rejects_a_biased_count() {
        let outcome = Outcome::Hits {
            hits: DEFAULT.n * 3 / 4,
            n: DEFAULT.n,
        };
        assert!(check(&DEFAULT, "pi-monte-carlo/rand-crate", &outcome).is_err());
        assert!(check(&DEFAULT, "pi-monte-carlo/simd", &outcome).is_err());
    }
}
