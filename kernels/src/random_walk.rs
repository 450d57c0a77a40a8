//! random-walk: the Monte Carlo simulation. W walkers take T steps each on the 2-D integer
//! lattice; the result is the sum of their squared distances from the origin.
//!
//! Step t of walker w moves in direction `rand_u64(seed, w*T + t) >> 62` (0: x+1, 1: x-1,
//! 2: y+1, 3: y-1), every walker starting at (0, 0) (shared/KERNELS.md). Problem: `n` =
//! walkers W (default 100,000), `m` = steps T (1,000), `seed` = 7. The mean squared
//! displacement, sum / W, has expected value exactly T.
//!
//! All variants draw the same numbers, so all must give exactly 99,986,394 at the default
//! size; they differ in memory layout, loop order and threads.

use rayon::prelude::*;

use crate::reference::{ReferenceCache, mismatch, wrong_outcome};
use crate::rng::rand_u64;
use crate::simd;
use crate::{Check, CheckError, Kernel, Outcome, Problem, Variant, pool};

/// The KERNELS.md problem: 100,000 walkers of 1,000 steps, seed 7.
pub const DEFAULT: Problem = Problem {
    n: 100_000,
    m: 1_000,
    seed: 7,
};

/// A small problem for fast tests.
pub const SMALL: Problem = Problem {
    n: 3_001,
    m: 257,
    seed: 7,
};

/// Sum of squared end-point distances at the default size (KERNELS.md).
pub const REFERENCE_SUM: u64 = 99_986_394;

/// x and y moves of the four directions, indexed by the top two bits of a random number.
const DX: [i64; 4] = [1, -1, 0, 0];
const DY: [i64; 4] = [0, 0, 1, -1];

/// The direction of step `t` of walker `w`.
#[inline(always)]
fn direction(seed: u64, steps: u64, w: u64, t: u64) -> usize {
    (rand_u64(seed, w * steps + t) >> 62) as usize
}

// ANCHOR: aos
/// A walker as a struct: its position.
#[derive(Debug, Clone, Copy, Default)]
pub struct Walker {
    pub x: i64,
    pub y: i64,
}

/// The simulation as one pictures it: a vector of walkers, and time as the outer loop; at
/// each step every walker moves once.
///
/// Lesson: the baseline, an array of structs swept once per time step, so every step streams
/// all walkers through the cache (1.6 MB here, beyond the per-core L2).
pub fn aos(walkers: u64, steps: u64, seed: u64) -> u64 {
    let mut population = vec![Walker::default(); walkers as usize];
    for t in 0..steps {
        for (w, walker) in population.iter_mut().enumerate() {
            let d = direction(seed, steps, w as u64, t);
            walker.x += DX[d];
            walker.y += DY[d];
        }
    }
    population
        .iter()
        .map(|p| (p.x * p.x + p.y * p.y) as u64)
        .sum()
}
// ANCHOR_END: aos

// ANCHOR: soa
/// A struct of arrays: all x coordinates in one vector, all y in another; still step-major.
///
/// Lesson: memory layout. Each array is a plain sequence of numbers, which is what vector
/// instructions load; whether that pays depends on whether memory or the generator limits
/// the loop (the timing tells).
pub fn soa(walkers: u64, steps: u64, seed: u64) -> u64 {
    let mut xs = vec![0i64; walkers as usize];
    let mut ys = vec![0i64; walkers as usize];
    for t in 0..steps {
        for (w, (x, y)) in xs.iter_mut().zip(ys.iter_mut()).enumerate() {
            let d = direction(seed, steps, w as u64, t);
            *x += DX[d];
            *y += DY[d];
        }
    }
    xs.iter()
        .zip(&ys)
        .map(|(x, y)| (x * x + y * y) as u64)
        .sum()
}
// ANCHOR_END: soa

// ANCHOR: walker_major
/// Loops swapped: each walker takes all its steps before the next one starts.
///
/// Lesson: loop order. A walker's position now lives in two registers for its whole walk:
/// no array, no memory traffic at all, only the generator's arithmetic.
pub fn walker_major(walkers: u64, steps: u64, seed: u64) -> u64 {
    (0..walkers).map(|w| walk(seed, steps, w)).sum()
}

/// Squared end-point distance of walker `w`.
#[inline]
fn walk(seed: u64, steps: u64, w: u64) -> u64 {
    let (mut x, mut y) = (0i64, 0i64);
    for t in 0..steps {
        let d = direction(seed, steps, w, t);
        x += DX[d];
        y += DY[d];
    }
    (x * x + y * y) as u64
}
// ANCHOR_END: walker_major

// ANCHOR: branch_free
/// Walker-major, with the table lookup replaced by arithmetic on comparisons, and the walk
/// compiled for the widest vectors the CPU has.
///
/// Lesson: branch-free code the compiler can vectorise. `(d == 0) - (d == 1)` has no branch
/// and no table, so each step is the same straight-line arithmetic; the steps of one walk
/// are independent draws from a counter-based generator, so the compiler evaluates 8 of them
/// at once with AVX-512's 64-bit vector multiply (or 4 with AVX2) and adds up the moves. The
/// baseline x86-64 target has no 64-bit vector multiply, which is why `walker-major`
/// cannot do this.
pub fn branch_free(walkers: u64, steps: u64, seed: u64) -> u64 {
    match simd::best() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `best` returns Avx512 only when avx512f and avx512dq were detected.
        simd::Level::Avx512 => unsafe { branch_free_avx512(walkers, steps, seed) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `best` returns Avx2 only when avx2 and fma were detected.
        simd::Level::Avx2 => unsafe { branch_free_avx2(walkers, steps, seed) },
        _ => branch_free_walks(walkers, steps, seed),
    }
}

/// The walks themselves, inlined into each of the compiled versions below.
#[inline(always)]
fn branch_free_walks(walkers: u64, steps: u64, seed: u64) -> u64 {
    (0..walkers)
        .map(|w| {
            let (mut x, mut y) = (0i64, 0i64);
            for t in 0..steps {
                let d = rand_u64(seed, w * steps + t) >> 62;
                x += (d == 0) as i64 - (d == 1) as i64; // 1, -1 or 0: no branch, no table
                y += (d == 2) as i64 - (d == 3) as i64;
            }
            (x * x + y * y) as u64
        })
        .sum()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq")]
fn branch_free_avx512(walkers: u64, steps: u64, seed: u64) -> u64 {
    branch_free_walks(walkers, steps, seed)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn branch_free_avx2(walkers: u64, steps: u64, seed: u64) -> u64 {
    branch_free_walks(walkers, steps, seed)
}
// ANCHOR_END: branch_free

// ANCHOR: rayon
/// Walker-major, with the walkers shared out among the pool's threads.
///
/// Lesson: independent parallel streams. Walker w's numbers come from its own counter range,
/// so threads need no shared generator and the sum (integers) is identical for any number
/// of threads.
pub fn rayon(walkers: u64, steps: u64, seed: u64, threads: usize) -> u64 {
    pool::install(threads, || {
        (0..walkers)
            .into_par_iter()
            .map(|w| walk(seed, steps, w))
            .sum()
    })
}
// ANCHOR_END: rayon

// ANCHOR: check
static REFERENCES: ReferenceCache<u64> = ReferenceCache::new();

/// The one check of every random-walk variant: the sum must be exact, KERNELS.md's
/// 99,986,394 at the default size and, at other sizes, the [`aos`] variant's (computed once
/// and cached).
pub fn check(problem: &Problem, variant: &str, outcome: &Outcome) -> Result<Check, CheckError> {
    let Outcome::Walk { sum_sq, walkers } = *outcome else {
        return Err(wrong_outcome(variant, "Outcome::Walk", outcome));
    };
    let expected = if *problem == DEFAULT {
        REFERENCE_SUM
    } else {
        REFERENCES.get(problem, || aos(problem.n, problem.m, problem.seed))
    };
    if sum_sq != expected || walkers != problem.n {
        return Err(mismatch(
            variant,
            format!("sum = {expected} over {} walkers (exact)", problem.n),
            format!("sum = {sum_sq} over {walkers} walkers"),
        ));
    }
    let msd = sum_sq as f64 / walkers.max(1) as f64;
    Ok(Check {
        summary: format!(
            "sum = {sum_sq} (exact), MSD = {msd:.2} for T = {}",
            problem.m
        ),
        error: None,
    })
}
// ANCHOR_END: check

fn walk_outcome(p: &Problem, sum_sq: u64) -> Outcome {
    Outcome::Walk {
        sum_sq,
        walkers: p.n,
    }
}
fn run_aos(p: &Problem, _threads: usize) -> Outcome {
    walk_outcome(p, aos(p.n, p.m, p.seed))
}
fn run_soa(p: &Problem, _threads: usize) -> Outcome {
    walk_outcome(p, soa(p.n, p.m, p.seed))
}
fn run_walker_major(p: &Problem, _threads: usize) -> Outcome {
    walk_outcome(p, walker_major(p.n, p.m, p.seed))
}
fn run_branch_free(p: &Problem, _threads: usize) -> Outcome {
    walk_outcome(p, branch_free(p.n, p.m, p.seed))
}
fn run_rayon(p: &Problem, threads: usize) -> Outcome {
    walk_outcome(p, rayon(p.n, p.m, p.seed, threads))
}

/// The random-walk kernel and its ladder.
pub const KERNEL: Kernel = Kernel {
    name: "random-walk",
    title: "Random walks on the 2-D lattice: mean squared displacement",
    source_file: "src/random_walk.rs",
    source: include_str!("random_walk.rs"),
    uses: &[],
    default_problem: DEFAULT,
    small_problem: SMALL,
    work_unit: "steps",
    work: |p| (p.n * p.m) as f64,
    flops: |_, _| None,
    bytes: |_| None,
    check,
    variants: &[
        Variant {
            name: "aos",
            lesson: "A vector of walker structs, time as the outer loop.",
            threaded: false,
            run: run_aos,
            simd_path: simd::no_path,
            anchor: "aos",
        },
        Variant {
            name: "soa",
            lesson: "A struct of arrays: x and y each in their own vector.",
            threaded: false,
            run: run_soa,
            simd_path: simd::no_path,
            anchor: "soa",
        },
        Variant {
            name: "walker-major",
            lesson: "Loops swapped: a walker's position stays in registers for its whole walk.",
            threaded: false,
            run: run_walker_major,
            simd_path: simd::no_path,
            anchor: "walker_major",
        },
        Variant {
            name: "branch-free",
            lesson: "Arithmetic on comparisons instead of a table: the compiler vectorises the walk.",
            threaded: false,
            run: run_branch_free,
            simd_path: simd::best_path,
            anchor: "branch_free",
        },
        Variant {
            name: "rayon",
            lesson: "Walkers shared among threads, each with its own counter range.",
            threaded: true,
            run: run_rayon,
            simd_path: simd::no_path,
            anchor: "rayon",
        },
    ],
};
