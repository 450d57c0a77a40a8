//! kmeans: Lloyd's algorithm, the machine-learning example.
//!
//! n points in d = 8 dimensions drawn around k = 16 centres; the first k points are the
//! initial centroids; each of the 10 iterations assigns every point to its nearest centroid
//! (squared Euclidean distance, ties to the lowest index) and moves each centroid to the mean
//! of its points (an empty cluster keeps its centroid); a final assignment gives the inertia,
//! the sum of squared distances (shared/KERNELS.md). Problem: `n` = points (default 200,000),
//! `m` = iterations (10), `seed` = 2024.
//!
//! The data are generated once per problem and cached ([`dataset`]): a run times the
//! clustering, not the generator.

use std::sync::Arc;

use rayon::prelude::*;

use crate::reference::{ReferenceCache, mismatch, wrong_outcome};
use crate::rng::rand_f64;
use crate::simd::{self, Level};
use crate::{Check, CheckError, Kernel, Outcome, Problem, Variant, pool};

/// Dimensions.
pub const D: usize = 8;
/// Clusters.
pub const K: usize = 16;

/// The KERNELS.md problem: 200,000 points, 10 iterations, seed 2024.
pub const DEFAULT: Problem = Problem {
    n: 200_000,
    m: 10,
    seed: 2024,
};

/// A small problem for fast tests.
pub const SMALL: Problem = Problem {
    n: 20_003,
    m: 10,
    seed: 2024,
};

/// Inertia at the default size (KERNELS.md), checked to a relative 1e-9.
pub const REFERENCE_INERTIA: f64 = 533_326.304_456_460_8;
/// Relative tolerance of the inertia.
pub const TOLERANCE: f64 = 1e-9;

/// A point, or a centroid: 8 coordinates stored contiguously.
pub type Point = [f64; D];

/// The points of one problem in the two layouts the ladder uses.
pub struct Dataset {
    /// One heap-allocated `Vec` per point (the naive layout).
    pub nested: Vec<Vec<f64>>,
    /// All points in one contiguous row-major buffer.
    pub flat: Vec<Point>,
}

/// The points of KERNELS.md: centre `C[c][t] = 8 rand_f64(seed, c d + t)`, point
/// `X[i][t] = C[i mod k][t] + 2 (rand_f64(seed + 1, i d + t) - 0.5)`.
pub fn generate(n: u64, seed: u64) -> Vec<Point> {
    let centres: Vec<Point> = (0..K)
        .map(|c| std::array::from_fn(|t| 8.0 * rand_f64(seed, (c * D + t) as u64)))
        .collect();
    (0..n)
        .map(|i| {
            let centre = &centres[(i % K as u64) as usize];
            std::array::from_fn(|t| {
                centre[t] + 2.0 * (rand_f64(seed + 1, i * D as u64 + t as u64) - 0.5)
            })
        })
        .collect()
}

/// The cached [`Dataset`] of a problem (generated on first use).
pub fn dataset(problem: &Problem) -> Arc<Dataset> {
    static DATA: ReferenceCache<Arc<Dataset>> = ReferenceCache::new();
    let key = Problem { m: 0, ..*problem };
    DATA.get(&key, || {
        let flat = generate(problem.n, problem.seed);
        let nested = flat.iter().map(|p| p.to_vec()).collect();
        Arc::new(Dataset { nested, flat })
    })
}

/// The result: inertia after the final assignment and the size of each cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct Clustering {
    pub inertia: f64,
    pub sizes: Vec<u64>,
}

// ANCHOR: naive
/// The algorithm as first written: points as `Vec<Vec<f64>>`, the Euclidean distance with
/// its square root, and a fresh `Vec` of sums per iteration.
///
/// Lesson: the baseline. Every point is a separate allocation reached through a pointer, and
/// the square root (one of the slowest instructions) is computed 16 times per point only to
/// compare distances, which the squared distances compare just as well.
pub fn naive(points: &[Vec<f64>], iterations: usize) -> Clustering {
    let (k, d) = (K, D);
    assert!(points.len() >= k, "k-means needs at least {k} points");
    let distance = |a: &[f64], b: &[f64]| -> f64 {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).powi(2))
            .sum::<f64>()
            .sqrt()
    };
    let nearest = |p: &[f64], centroids: &[Vec<f64>]| -> usize {
        let mut best = 0;
        for c in 1..k {
            if distance(p, &centroids[c]) < distance(p, &centroids[best]) {
                best = c;
            }
        }
        best
    };
    let mut centroids: Vec<Vec<f64>> = points[..k].to_vec();
    for _ in 0..iterations {
        let mut sums = vec![vec![0.0; d]; k];
        let mut counts = vec![0u64; k];
        for p in points {
            let c = nearest(p, &centroids);
            counts[c] += 1;
            for t in 0..d {
                sums[c][t] += p[t];
            }
        }
        for c in 0..k {
            if counts[c] > 0 {
                for t in 0..d {
                    centroids[c][t] = sums[c][t] / counts[c] as f64;
                }
            }
        }
    }
    let mut inertia = 0.0;
    let mut sizes = vec![0u64; k];
    for p in points {
        let c = nearest(p, &centroids);
        sizes[c] += 1;
        inertia += distance(p, &centroids[c]).powi(2);
    }
    Clustering { inertia, sizes }
}
// ANCHOR_END: naive

// ANCHOR: flat
/// What one assignment pass accumulates: per-cluster coordinate sums and counts, and the
/// inertia (sum of squared distances to the nearest centroid).
#[derive(Debug, Clone, Copy)]
pub struct Totals {
    pub sums: [Point; K],
    pub counts: [u64; K],
    pub inertia: f64,
}

impl Totals {
    fn zero() -> Totals {
        Totals {
            sums: [[0.0; D]; K],
            counts: [0; K],
            inertia: 0.0,
        }
    }

    /// Adds point `p`, assigned to cluster `c` at squared distance `d2`.
    #[inline(always)]
    fn add(&mut self, p: &Point, c: usize, d2: f64) {
        self.counts[c] += 1;
        for (s, x) in self.sums[c].iter_mut().zip(p) {
            *s += x;
        }
        self.inertia += d2;
    }

    /// Adds another pass's totals (used to combine parallel partial results in order).
    fn merge(&mut self, other: &Totals) {
        for c in 0..K {
            self.counts[c] += other.counts[c];
            for t in 0..D {
                self.sums[c][t] += other.sums[c][t];
            }
        }
        self.inertia += other.inertia;
    }
}

/// Squared Euclidean distance: no square root, since only comparisons are needed.
#[inline(always)]
pub fn squared_distance(a: &Point, b: &Point) -> f64 {
    let mut sum = 0.0;
    for t in 0..D {
        let diff = a[t] - b[t];
        sum += diff * diff;
    }
    sum
}

/// The nearest centroid of `p` (lowest index on ties) and its squared distance.
#[inline(always)]
pub fn nearest(p: &Point, centroids: &[Point; K]) -> (usize, f64) {
    let mut best = (0, squared_distance(p, &centroids[0]));
    for (c, centroid) in centroids.iter().enumerate().skip(1) {
        let d2 = squared_distance(p, centroid);
        if d2 < best.1 {
            best = (c, d2);
        }
    }
    best
}

/// Lloyd's algorithm around an assignment pass `assign` (the rungs below differ only there).
pub fn lloyd(
    points: &[Point],
    iterations: usize,
    assign: impl Fn(&[Point], &[Point; K]) -> Totals,
) -> Clustering {
    assert!(points.len() >= K, "k-means needs at least {K} points");
    let mut centroids: [Point; K] = std::array::from_fn(|c| points[c]);
    for _ in 0..iterations {
        let totals = assign(points, &centroids);
        for ((centroid, sum), &count) in centroids.iter_mut().zip(&totals.sums).zip(&totals.counts)
        {
            if count > 0 {
                for (x, s) in centroid.iter_mut().zip(sum) {
                    *x = s / count as f64;
                }
            }
        }
    }
    let totals = assign(points, &centroids);
    Clustering {
        inertia: totals.inertia,
        sizes: totals.counts.to_vec(),
    }
}

/// Points in one contiguous buffer of fixed-size arrays, squared distances, sums on the stack.
///
/// Lesson: data layout and needless work. Consecutive points are consecutive in memory (the
/// hardware prefetcher streams them), the dimension is a compile-time constant (loops fully
/// unrolled), and no square root is taken.
pub fn flat(points: &[Point], iterations: usize) -> Clustering {
    lloyd(points, iterations, assign_flat)
}

/// One assignment pass, point by point.
pub fn assign_flat(points: &[Point], centroids: &[Point; K]) -> Totals {
    let mut totals = Totals::zero();
    for p in points {
        let (c, d2) = nearest(p, centroids);
        totals.add(p, c, d2);
    }
    totals
}
// ANCHOR_END: flat

// ANCHOR: simd
/// The 16 distances of a point computed together: the centroids are stored transposed
/// (coordinate t of all 16 centroids side by side), so one vector instruction advances the
/// distance to 8 centroids (AVX-512; 4 with AVX2), and the nearest is found with a vector
/// minimum and a comparison mask.
///
/// Lesson: choose the vector dimension. With d = 8 one could put a point's coordinates in a
/// vector, but then each distance ends in a slow horizontal sum; across centroids every lane
/// does independent work and only the final minimum is horizontal.
pub fn simd(points: &[Point], iterations: usize) -> Clustering {
    let level = simd::best();
    lloyd(points, iterations, |points, centroids| {
        assign_simd(level, points, centroids)
    })
}

/// Centroids transposed: `by_coordinate[t][c]` is coordinate t of centroid c.
#[derive(Debug, Clone, Copy)]
#[repr(C, align(64))]
pub struct Transposed {
    pub by_coordinate: [[f64; K]; D],
}

impl Transposed {
    pub fn new(centroids: &[Point; K]) -> Transposed {
        Transposed {
            by_coordinate: std::array::from_fn(|t| std::array::from_fn(|c| centroids[c][t])),
        }
    }
}

/// One assignment pass on the given SIMD path (the flat pass when scalar).
pub fn assign_simd(level: Level, points: &[Point], centroids: &[Point; K]) -> Totals {
    let transposed = Transposed::new(centroids);
    let mut totals = Totals::zero();
    for p in points {
        let (c, d2) = match level {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `level` is Avx512 only when avx512f was detected on this CPU.
            Level::Avx512 => unsafe { x86::nearest_avx512(p, &transposed) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `level` is Avx2 only when avx2 and fma were detected on this CPU.
            Level::Avx2 => unsafe { x86::nearest_avx2(p, &transposed) },
            _ => nearest(p, centroids),
        };
        totals.add(p, c, d2);
    }
    totals
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::{K, Point, Transposed};

    /// Nearest centroid with AVX-512: two vectors hold the 16 running distances.
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub(super) fn nearest_avx512(p: &Point, centroids: &Transposed) -> (usize, f64) {
        let mut acc = [_mm512_setzero_pd(); 2];
        for (&coordinate, by_centroid) in p.iter().zip(&centroids.by_coordinate) {
            let x = _mm512_set1_pd(coordinate);
            for (h, acc) in acc.iter_mut().enumerate() {
                let row = &by_centroid[8 * h..8 * h + 8];
                // SAFETY: `row` is 8 consecutive f64, one unaligned 512-bit load.
                let c = unsafe { _mm512_loadu_pd(row.as_ptr()) };
                let diff = _mm512_sub_pd(x, c);
                *acc = _mm512_fmadd_pd(diff, diff, *acc);
            }
        }
        let min = _mm512_reduce_min_pd(_mm512_min_pd(acc[0], acc[1]));
        let min_v = _mm512_set1_pd(min);
        let low = _mm512_cmp_pd_mask::<_CMP_EQ_OQ>(acc[0], min_v) as u32;
        let high = _mm512_cmp_pd_mask::<_CMP_EQ_OQ>(acc[1], min_v) as u32;
        // The lowest set bit is the first centroid at the minimum: ties go to the lowest index.
        (((high << 8) | low).trailing_zeros() as usize, min)
    }

    /// Nearest centroid with AVX2: four vectors hold the 16 running distances.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn nearest_avx2(p: &Point, centroids: &Transposed) -> (usize, f64) {
        const V: usize = K / 4;
        let mut acc = [_mm256_setzero_pd(); V];
        for (&coordinate, by_centroid) in p.iter().zip(&centroids.by_coordinate) {
            let x = _mm256_set1_pd(coordinate);
            for (q, acc) in acc.iter_mut().enumerate() {
                let row = &by_centroid[4 * q..4 * q + 4];
                // SAFETY: `row` is 4 consecutive f64, one unaligned 256-bit load.
                let c = unsafe { _mm256_loadu_pd(row.as_ptr()) };
                let diff = _mm256_sub_pd(x, c);
                *acc = _mm256_fmadd_pd(diff, diff, *acc);
            }
        }
        let m = _mm256_min_pd(_mm256_min_pd(acc[0], acc[1]), _mm256_min_pd(acc[2], acc[3]));
        let mut lanes = [0.0f64; 4];
        // SAFETY: `lanes` holds 4 f64, one unaligned 256-bit store.
        unsafe { _mm256_storeu_pd(lanes.as_mut_ptr(), m) };
        let min = lanes[0].min(lanes[1]).min(lanes[2].min(lanes[3]));
        let min_v = _mm256_set1_pd(min);
        let mut mask = 0u32;
        for (q, acc) in acc.iter().enumerate() {
            let eq = _mm256_movemask_pd(_mm256_cmp_pd::<_CMP_EQ_OQ>(*acc, min_v)) as u32;
            mask |= eq << (4 * q);
        }
        (mask.trailing_zeros() as usize, min)
    }
}
// ANCHOR_END: simd

// ANCHOR: rayon
/// Points per parallel task. Fixed (not derived from the thread count), so that the partial
/// sums, and therefore the rounding, are the same for any number of threads.
const CHUNK: usize = 4096;

/// The assignment pass split into fixed chunks of points on the pool's threads, each
/// producing partial sums that are then combined in chunk order; the distances are
/// [`flat`]'s.
///
/// Lesson: a parallel reduction that stays deterministic. Adding floating-point partial
/// sums in whatever order threads finish would change the centroids' last bits from run to
/// run; combining per-chunk partials in a fixed order gives the same result every time.
pub fn rayon(points: &[Point], iterations: usize, threads: usize) -> Clustering {
    lloyd(points, iterations, |points, centroids| {
        assign_parallel(points, threads, |chunk| assign_flat(chunk, centroids))
    })
}

/// Applies `assign` to fixed chunks of `points` in parallel and combines the partial totals
/// in chunk order.
pub fn assign_parallel(
    points: &[Point],
    threads: usize,
    assign: impl Fn(&[Point]) -> Totals + Sync,
) -> Totals {
    let partials: Vec<Totals> =
        pool::install(threads, || points.par_chunks(CHUNK).map(&assign).collect());
    let mut totals = Totals::zero();
    for partial in &partials {
        totals.merge(partial);
    }
    totals
}
// ANCHOR_END: rayon

// ANCHOR: rayon_simd
/// The parallel, deterministic assignment pass with the SIMD distances.
///
/// Lesson: the full ladder: layout, no needless work, vectors, threads.
pub fn rayon_simd(points: &[Point], iterations: usize, threads: usize) -> Clustering {
    let level = simd::best();
    lloyd(points, iterations, |points, centroids| {
        assign_parallel(points, threads, |chunk| {
            assign_simd(level, chunk, centroids)
        })
    })
}
// ANCHOR_END: rayon_simd

// ANCHOR: check
static REFERENCES: ReferenceCache<Clustering> = ReferenceCache::new();

/// The one check of every k-means variant: each cluster's size must be exact and the inertia
/// within a relative 1e-9. At the default size the reference is KERNELS.md's (inertia
/// 533326.3044564608, 12,500 points per cluster); at other sizes the [`naive`] variant's
/// (computed once and cached).
pub fn check(problem: &Problem, variant: &str, outcome: &Outcome) -> Result<Check, CheckError> {
    let Outcome::Clusters { inertia, sizes } = outcome else {
        return Err(wrong_outcome(variant, "Outcome::Clusters", outcome));
    };
    let reference = if *problem == DEFAULT {
        Clustering {
            inertia: REFERENCE_INERTIA,
            sizes: vec![DEFAULT.n / K as u64; K],
        }
    } else {
        REFERENCES.get(problem, || {
            naive(&dataset(problem).nested, problem.m as usize)
        })
    };
    let relative = ((inertia - reference.inertia) / reference.inertia).abs();
    let within = relative <= TOLERANCE; // false for NaN
    if *sizes != reference.sizes || !within {
        return Err(mismatch(
            variant,
            format!(
                "inertia {} (relative tolerance {TOLERANCE:e}), cluster sizes {:?}",
                reference.inertia, reference.sizes
            ),
            format!("inertia {inertia} (relative error {relative:.1e}), cluster sizes {sizes:?}"),
        ));
    }
    Ok(Check {
        summary: format!("inertia = {inertia:.10} (relative error {relative:.1e}), sizes exact"),
        error: Some((inertia - reference.inertia).abs()),
    })
}
// ANCHOR_END: check

fn clusters(c: Clustering) -> Outcome {
    Outcome::Clusters {
        inertia: c.inertia,
        sizes: c.sizes,
    }
}
fn run_naive(p: &Problem, _threads: usize) -> Outcome {
    clusters(naive(&dataset(p).nested, p.m as usize))
}
fn run_flat(p: &Problem, _threads: usize) -> Outcome {
    clusters(flat(&dataset(p).flat, p.m as usize))
}
fn run_simd(p: &Problem, _threads: usize) -> Outcome {
    clusters(simd(&dataset(p).flat, p.m as usize))
}
fn run_rayon(p: &Problem, threads: usize) -> Outcome {
    clusters(rayon(&dataset(p).flat, p.m as usize, threads))
}
fn run_rayon_simd(p: &Problem, threads: usize) -> Outcome {
    clusters(rayon_simd(&dataset(p).flat, p.m as usize, threads))
}

/// Floating-point operations of one distance term (subtract, multiply, add).
pub const FLOPS_PER_TERM: f64 = 3.0;

/// The k-means kernel and its ladder.
pub const KERNEL: Kernel = Kernel {
    name: "kmeans",
    title: "k-means (Lloyd), 200,000 points, d = 8, k = 16, 10 iterations",
    source_file: "src/kmeans.rs",
    source: include_str!("kmeans.rs"),
    uses: &[],
    default_problem: DEFAULT,
    small_problem: SMALL,
    work_unit: "point-iterations",
    work: |p| (p.n * (p.m + 1)) as f64,
    flops: |p, _| Some(FLOPS_PER_TERM * (D * K) as f64 * (p.n * (p.m + 1)) as f64),
    bytes: |p| Some((D * 8) as f64 * (p.n * (p.m + 1)) as f64),
    check,
    variants: &[
        Variant {
            name: "naive",
            lesson: "Vec<Vec<f64>> points and a square root in every distance.",
            threaded: false,
            run: run_naive,
            simd_path: simd::no_path,
            anchor: "naive",
        },
        Variant {
            name: "flat",
            lesson: "Contiguous fixed-size points, squared distances: layout and needless work.",
            threaded: false,
            run: run_flat,
            simd_path: simd::no_path,
            anchor: "flat",
        },
        Variant {
            name: "simd",
            lesson: "One vector lane per centroid: 16 distances at once.",
            threaded: false,
            run: run_simd,
            simd_path: simd::best_path,
            anchor: "simd",
        },
        Variant {
            name: "rayon",
            lesson: "Parallel assignment with partial sums combined in a fixed order.",
            threaded: true,
            run: run_rayon,
            simd_path: simd::no_path,
            anchor: "rayon",
        },
        Variant {
            name: "rayon-simd",
            lesson: "Vector distances on all cores, still deterministic.",
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
    fn the_points_match_kernels_md() {
        let points = generate(DEFAULT.n, DEFAULT.seed);
        assert_eq!(points[0][0], 4.042914384357945);
        assert_eq!(points[1][0], 1.7792394865890293);
        assert_eq!(points[199_999][7], 3.7122203436439034);
    }

    #[test]
    fn parallel_results_do_not_depend_on_the_thread_count() {
        let data = dataset(&SMALL);
        assert_eq!(rayon(&data.flat, 3, 1), rayon(&data.flat, 3, 3));
        assert_eq!(rayon_simd(&data.flat, 3, 1), rayon_simd(&data.flat, 3, 2));
    }

    #[test]
    fn simd_nearest_breaks_ties_to_the_lowest_index() {
        let mut centroids = [[0.0; D]; K];
        for (c, centroid) in centroids.iter_mut().enumerate() {
            centroid[0] = 10.0 + c as f64;
        }
        centroids[9] = [1.0; D];
        centroids[12] = [1.0; D];
        let p = [1.0; D];
        for level in [Level::Scalar, Level::Avx2, Level::Avx512] {
            if simd::dispatch(&[level], simd::detect(), false) == level {
                let totals = assign_simd(level, &[p], &centroids);
                assert_eq!(totals.counts[9], 1, "{level:?}");
            }
        }
    }
}
