//! julia: escape counts of the Julia set of c = -0.8 + 0.156i, the load-balancing example.
//!
//! The same grid rule and escape loop as [`crate::mandelbrot`], but z starts at the pixel and
//! c is fixed, over x, y in [-1.5, 1.5], 1000 x 1000 pixels, at most 256 iterations
//! (shared/KERNELS.md). Problem: `n` = width, `m` = height.
//!
//! The cost of a row varies by orders of magnitude (the set is a thin, winding filament), so
//! this ladder is about how work is divided among threads. Every threaded variant reports the
//! escape-loop iterations each thread executed: unlike times, those counts are noise-free.

use std::sync::{Arc, Mutex};

use rayon::prelude::*;

use crate::mandelbrot::{self, Grid, MAX_ITER, Orbit};
use crate::pool::{self, WorkCounter};
use crate::reference::ReferenceCache;
use crate::simd;
use crate::{Check, CheckError, Kernel, Outcome, Problem, Variant};

/// The KERNELS.md problem: 1000 x 1000 pixels.
pub const DEFAULT: Problem = Problem {
    n: 1000,
    m: 1000,
    seed: 0,
};

/// A small problem for fast tests; its odd sizes exercise every tail path.
pub const SMALL: Problem = Problem {
    n: 201,
    m: 103,
    seed: 0,
};

/// Sum of counts at the default size (KERNELS.md).
pub const REFERENCE_SUM: u64 = 24_464_482;
/// Pixels reaching `MAX_ITER` at the default size (KERNELS.md).
pub const REFERENCE_MAXED: u64 = 33_129;

/// The Julia set's constant c = -0.8 + 0.156i.
pub const C: Orbit = Orbit::Julia {
    cr: -0.8,
    ci: 0.156,
};

/// The Julia grid of KERNELS.md: x and y in [-1.5, 1.5].
pub fn grid(width: usize, height: usize) -> Grid {
    Grid {
        width,
        height,
        xmin: -1.5,
        xmax: 1.5,
        ymin: -1.5,
        ymax: 1.5,
    }
}

/// Work of a block of rows: the escape-loop iterations its pixels executed.
fn iterations(counts: &[u32]) -> u64 {
    counts.iter().map(|&n| n as u64).sum()
}

// ANCHOR: scalar
/// One pixel at a time: z starts at the pixel, c is fixed.
///
/// Lesson: the baseline; the loop is the Mandelbrot loop with the roles of z and c swapped.
pub fn scalar(width: usize, height: usize) -> Vec<u32> {
    let grid = grid(width, height);
    let mut counts = vec![0; width * height];
    if width == 0 {
        return counts;
    }
    let Orbit::Julia { cr, ci } = C else {
        unreachable!("C is a Julia orbit")
    };
    for (i, row) in counts.chunks_mut(width).enumerate() {
        let zi = grid.y(i);
        for (j, count) in row.iter_mut().enumerate() {
            *count = mandelbrot::escape_count(grid.x(j), zi, cr, ci, MAX_ITER);
        }
    }
    counts
}
// ANCHOR_END: scalar

// ANCHOR: simd
/// The Mandelbrot kernel's vector code (AVX-512, else AVX2, else scalar), started from the
/// pixel instead of from zero.
///
/// Lesson: one vectorised escape loop serves both fractals; what changes is only where the
/// orbit starts and which constant it adds.
pub fn simd(width: usize, height: usize) -> Vec<u32> {
    let grid = grid(width, height);
    let mut counts = vec![0; width * height];
    mandelbrot::render_rows(simd::best(), &grid, C, 0, &mut counts);
    counts
}
// ANCHOR_END: simd

// ANCHOR: static_blocks
/// Each thread gets one contiguous block of rows, fixed in advance (thread t takes block t,
/// as OpenMP's `schedule(static)` would); returns the counts and each thread's iterations.
///
/// Lesson: load imbalance. The blocks have equal numbers of rows but not equal work, so the
/// thread with the heaviest block finishes last while the others wait: the per-thread work
/// shows by how much.
pub fn static_blocks(width: usize, height: usize, threads: usize) -> (Vec<u32>, Vec<u64>) {
    let grid = grid(width, height);
    let threads = threads.max(1);
    let mut counts = vec![0; width * height];
    let work = WorkCounter::new(threads);
    if width > 0 && height > 0 {
        let rows_per_thread = height.div_ceil(threads);
        // Block t, behind a lock only so that the pool's thread t can take it.
        let blocks: Vec<Mutex<(usize, &mut [u32])>> = counts
            .chunks_mut(rows_per_thread * width)
            .enumerate()
            .map(|(t, block)| Mutex::new((t * rows_per_thread, block)))
            .collect();
        // `broadcast` runs the closure exactly once on every thread of the pool.
        pool::pool(threads).broadcast(|ctx| {
            if let Some(block) = blocks.get(ctx.index()) {
                let mut block = block.lock().unwrap_or_else(|e| e.into_inner());
                let (first_row, ref mut out) = *block;
                mandelbrot::scalar_rows(&grid, C, first_row, out);
                work.add_to(ctx.index(), iterations(out));
            }
        });
    }
    (counts, work.totals())
}
// ANCHOR_END: static_blocks

// ANCHOR: dynamic
/// Rows handed out one at a time: a thread that finishes takes the next row (rayon's work
/// stealing); returns the counts and each thread's iterations.
///
/// Lesson: dynamic scheduling evens out the work at the cost of a little bookkeeping per
/// task; the per-thread iterations come out nearly equal.
pub fn dynamic(width: usize, height: usize, threads: usize) -> (Vec<u32>, Vec<u64>) {
    let grid = grid(width, height);
    let mut counts = vec![0; width * height];
    let work = WorkCounter::new(threads);
    if width > 0 {
        pool::install(threads, || {
            counts
                .par_chunks_mut(width)
                .enumerate()
                .for_each(|(i, row)| {
                    mandelbrot::scalar_rows(&grid, C, i, row);
                    work.add(iterations(row));
                });
        });
    }
    (counts, work.totals())
}
// ANCHOR_END: dynamic

// ANCHOR: rayon_simd
/// Dynamic blocks of rows, each rendered with the best SIMD path.
///
/// Lesson: vectors and balanced threads together.
pub fn rayon_simd(width: usize, height: usize, threads: usize) -> (Vec<u32>, Vec<u64>) {
    let grid = grid(width, height);
    mandelbrot::render_parallel(simd::best(), &grid, C, threads)
}
// ANCHOR_END: rayon_simd

// ANCHOR: check
static REFERENCE_IMAGES: ReferenceCache<Arc<Vec<u32>>> = ReferenceCache::new();

/// The reference image of a Julia problem: the [`scalar`] variant's, computed once.
pub fn reference_image(problem: &Problem) -> Arc<Vec<u32>> {
    REFERENCE_IMAGES.get(problem, || {
        Arc::new(scalar(problem.n as usize, problem.m as usize))
    })
}

/// The one check of every Julia variant: the fractal check of
/// [`mandelbrot::check_fractal`] with KERNELS.md's Julia values at the default size.
pub fn check(problem: &Problem, variant: &str, outcome: &Outcome) -> Result<Check, CheckError> {
    let literal = (*problem == DEFAULT).then_some((REFERENCE_SUM, REFERENCE_MAXED));
    mandelbrot::check_fractal(problem, variant, outcome, literal, || {
        reference_image(problem)
    })
}
// ANCHOR_END: check

fn size(p: &Problem) -> (usize, usize) {
    (p.n as usize, p.m as usize)
}
fn threaded((counts, per_thread_work): (Vec<u32>, Vec<u64>)) -> Outcome {
    Outcome::Fractal {
        counts,
        per_thread_work,
    }
}
fn run_scalar(p: &Problem, _threads: usize) -> Outcome {
    let (w, h) = size(p);
    Outcome::Fractal {
        counts: scalar(w, h),
        per_thread_work: vec![],
    }
}
fn run_simd(p: &Problem, _threads: usize) -> Outcome {
    let (w, h) = size(p);
    Outcome::Fractal {
        counts: simd(w, h),
        per_thread_work: vec![],
    }
}
fn run_static_blocks(p: &Problem, threads: usize) -> Outcome {
    let (w, h) = size(p);
    threaded(static_blocks(w, h, threads))
}
fn run_dynamic(p: &Problem, threads: usize) -> Outcome {
    let (w, h) = size(p);
    threaded(dynamic(w, h, threads))
}
fn run_rayon_simd(p: &Problem, threads: usize) -> Outcome {
    let (w, h) = size(p);
    threaded(rayon_simd(w, h, threads))
}

/// The Julia kernel and its ladder.
pub const KERNEL: Kernel = Kernel {
    name: "julia",
    title: "Julia set of c = -0.8 + 0.156i, 1000 x 1000 pixels, at most 256 iterations",
    source_file: "src/julia.rs",
    source: include_str!("julia.rs"),
    uses: &[include_str!("mandelbrot.rs")],
    default_problem: DEFAULT,
    small_problem: SMALL,
    work_unit: "pixels",
    work: |p| (p.n * p.m) as f64,
    flops: |_, outcome| {
        mandelbrot::iterations(outcome).map(|n| mandelbrot::FLOPS_PER_ITERATION * n)
    },
    bytes: |p| Some(4.0 * (p.n * p.m) as f64),
    check,
    variants: &[
        Variant {
            name: "scalar",
            lesson: "One pixel at a time: the Mandelbrot loop started from the pixel.",
            threaded: false,
            run: run_scalar,
            simd_path: simd::no_path,
            anchor: "scalar",
        },
        Variant {
            name: "simd",
            lesson: "The Mandelbrot kernel's vector code serves the Julia set too.",
            threaded: false,
            run: run_simd,
            simd_path: simd::best_path,
            anchor: "simd",
        },
        Variant {
            name: "static-blocks",
            lesson: "One fixed block of rows per thread: equal rows, unequal work.",
            threaded: true,
            run: run_static_blocks,
            simd_path: simd::no_path,
            anchor: "static_blocks",
        },
        Variant {
            name: "dynamic",
            lesson: "Rows handed out on demand: the work evens out.",
            threaded: true,
            run: run_dynamic,
            simd_path: simd::no_path,
            anchor: "dynamic",
        },
        Variant {
            name: "rayon-simd",
            lesson: "Vectors and balanced threads together.",
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
    fn the_scalar_reference_image_matches_kernels_md() {
        let image = reference_image(&DEFAULT);
        assert_eq!(iterations(&image), REFERENCE_SUM);
        assert_eq!(
            image.iter().filter(|&&n| n == MAX_ITER).count() as u64,
            REFERENCE_MAXED
        );
    }

    #[test]
    fn static_blocks_are_unbalanced_and_dynamic_rows_are_not() {
        let (_, blocks) = static_blocks(DEFAULT.n as usize, DEFAULT.m as usize, 2);
        let (_, rows) = dynamic(DEFAULT.n as usize, DEFAULT.m as usize, 2);
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks.iter().sum::<u64>(), REFERENCE_SUM);
        assert_eq!(rows.iter().sum::<u64>(), REFERENCE_SUM);
        // Row work is symmetric about the centre, so two static halves happen to match; with
        // three threads the middle block carries most of the work.
        let (_, thirds) = static_blocks(DEFAULT.n as usize, DEFAULT.m as usize, 3);
        let max = *thirds.iter().max().unwrap() as f64;
        let min = *thirds.iter().min().unwrap() as f64;
        assert!(max > 1.2 * min, "{thirds:?}");
    }
}
