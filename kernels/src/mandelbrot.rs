//! mandelbrot: escape counts of the Mandelbrot set on a 1000 x 1000 grid.
//!
//! Pixel (row i, column j) is `c = (xmin + j dx) + (ymin + i dy) i` over x in [-2, 1],
//! y in [-1.5, 1.5]; its count is the number of updates `z <- z^2 + c` (from z = 0) before
//! |z|^2 > 4, at most 256 (shared/KERNELS.md). Problem: `n` = width, `m` = height.
//!
//! The vectorised escape loops in this file are shared with [`crate::julia`], which iterates
//! the same map from a different start ([`Orbit`]). The file also holds the Computer
//! Language Benchmarks Game's variant of the problem ([`pbm`]).

use num_complex::Complex;
use rayon::prelude::*;
use std::sync::Arc;

use crate::pool::{self, WorkCounter};
use crate::reference::{ReferenceCache, mismatch, wrong_outcome};
use crate::simd::{self, Level};
use crate::{Check, CheckError, Kernel, Outcome, Problem, Variant};

/// The escape loop's iteration cap.
pub const MAX_ITER: u32 = 256;

/// The KERNELS.md problem: 1000 x 1000 pixels.
pub const DEFAULT: Problem = Problem {
    n: 1000,
    m: 1000,
    seed: 0,
};

/// A small problem for fast tests; its odd sizes exercise every tail path.
pub const SMALL: Problem = Problem {
    n: 203,
    m: 101,
    seed: 0,
};

/// Sum of counts and pixels reaching `MAX_ITER` at the default size (KERNELS.md).
pub const REFERENCE_SUM: u64 = 47_554_280;
/// Pixels reaching `MAX_ITER` at the default size (KERNELS.md).
pub const REFERENCE_MAXED: u64 = 169_267;

/// Useful floating-point operations per escape-loop iteration: zr^2, zi^2, their sum, and
/// 2 zr zi + ci, zr^2 - zi^2 + cr (KERNELS.md counts 8).
pub const FLOPS_PER_ITERATION: f64 = 8.0;

/// A `width x height` pixel grid over a rectangle of the complex plane.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Grid {
    pub width: usize,
    pub height: usize,
    pub xmin: f64,
    pub xmax: f64,
    pub ymin: f64,
    pub ymax: f64,
}

impl Grid {
    /// The Mandelbrot grid of KERNELS.md: x in [-2, 1], y in [-1.5, 1.5].
    pub fn mandelbrot(width: usize, height: usize) -> Grid {
        Grid {
            width,
            height,
            xmin: -2.0,
            xmax: 1.0,
            ymin: -1.5,
            ymax: 1.5,
        }
    }

    /// The pixel width `(xmax - xmin) / width`.
    pub fn dx(&self) -> f64 {
        (self.xmax - self.xmin) / self.width as f64
    }

    /// The pixel height `(ymax - ymin) / height`.
    pub fn dy(&self) -> f64 {
        (self.ymax - self.ymin) / self.height as f64
    }

    /// The real part of column `j`: `xmin + j dx` (a multiply, then an add, in every variant).
    #[inline(always)]
    pub fn x(&self, j: usize) -> f64 {
        self.xmin + j as f64 * self.dx()
    }

    /// The imaginary part of row `i`: `ymin + i dy`.
    #[inline(always)]
    pub fn y(&self, i: usize) -> f64 {
        self.ymin + i as f64 * self.dy()
    }
}

/// Which orbit of `z <- z^2 + c` a pixel follows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Orbit {
    /// z starts at 0 and c is the pixel.
    Mandelbrot,
    /// z starts at the pixel and c is fixed.
    Julia { cr: f64, ci: f64 },
}

// ANCHOR: naive
/// The textbook program: a complex-number type, `z = z * z + c`, and an image as a vector
/// of rows.
///
/// Lesson: the baseline. Readable, but every row is a separate heap allocation and the
/// generic complex arithmetic hides what the loop does; the compiler still makes it fast
/// enough to be the reference for speed-ups.
pub fn naive(width: usize, height: usize) -> Vec<Vec<u32>> {
    let (xmin, xmax, ymin, ymax) = (-2.0, 1.0, -1.5, 1.5);
    let dx = (xmax - xmin) / width as f64;
    let dy = (ymax - ymin) / height as f64;
    let mut image = Vec::new();
    for i in 0..height {
        let mut row = Vec::new();
        for j in 0..width {
            let c = Complex::new(xmin + j as f64 * dx, ymin + i as f64 * dy);
            let mut z = Complex::new(0.0, 0.0);
            let mut n = 0;
            while n < MAX_ITER && z.norm_sqr() <= 4.0 {
                z = z * z + c;
                n += 1;
            }
            row.push(n);
        }
        image.push(row);
    }
    image
}
// ANCHOR_END: naive

// ANCHOR: scalar
/// The escape count of one orbit: `z <- z^2 + c` from `z`, tested before each update.
#[inline(always)]
pub fn escape_count(mut zr: f64, mut zi: f64, cr: f64, ci: f64, max_iter: u32) -> u32 {
    let mut n = 0;
    while n < max_iter {
        let zr2 = zr * zr;
        let zi2 = zi * zi;
        if zr2 + zi2 > 4.0 {
            break;
        }
        zi = 2.0 * zr * zi + ci;
        zr = zr2 - zi2 + cr;
        n += 1;
    }
    n
}

/// A tight loop on plain `f64`s, writing into one flat, row-major buffer.
///
/// Lesson: say what you mean. Real arithmetic with the squares reused for the test, and one
/// allocation for the whole image instead of one per row.
pub fn scalar(width: usize, height: usize) -> Vec<u32> {
    let grid = Grid::mandelbrot(width, height);
    let mut counts = vec![0; width * height];
    scalar_rows(&grid, Orbit::Mandelbrot, 0, &mut counts);
    counts
}

/// Escape counts of whole rows `first_row..` of `grid` into `out`, one pixel at a time.
pub fn scalar_rows(grid: &Grid, orbit: Orbit, first_row: usize, out: &mut [u32]) {
    if grid.width == 0 {
        return;
    }
    for (r, row) in out.chunks_mut(grid.width).enumerate() {
        let y = grid.y(first_row + r);
        for (j, count) in row.iter_mut().enumerate() {
            let x = grid.x(j);
            *count = match orbit {
                Orbit::Mandelbrot => escape_count(0.0, 0.0, x, y, MAX_ITER),
                Orbit::Julia { cr, ci } => escape_count(x, y, cr, ci, MAX_ITER),
            };
        }
    }
}
// ANCHOR_END: scalar

// ANCHOR: ilp8
/// Eight pixels of a row iterated together in plain arrays, until all eight have escaped.
///
/// Lesson: independent work in one loop. One pixel's iterations form a chain where each step
/// waits for the previous one; eight pixels give the CPU eight chains to overlap, and give the
/// compiler a loop body it can put in vector registers. The price: a lane that escaped early
/// idles until the slowest of the eight is done.
pub fn ilp8(width: usize, height: usize) -> Vec<u32> {
    let grid = Grid::mandelbrot(width, height);
    let mut counts = vec![0; width * height];
    if width == 0 {
        return counts;
    }
    for (i, row) in counts.chunks_mut(width).enumerate() {
        let ci = grid.y(i);
        for (block, out) in row.chunks_mut(8).enumerate() {
            // Columns past the edge start far outside the set and escape at once.
            let cr: [f64; 8] = std::array::from_fn(|l| {
                let j = block * 8 + l;
                if j < width { grid.x(j) } else { 100.0 }
            });
            let (mut zr, mut zi) = ([0.0f64; 8], [0.0f64; 8]);
            let mut inside = [true; 8];
            let mut n = [0u32; 8];
            for _ in 0..MAX_ITER {
                for l in 0..8 {
                    let zr2 = zr[l] * zr[l];
                    let zi2 = zi[l] * zi[l];
                    inside[l] &= zr2 + zi2 <= 4.0;
                    n[l] += inside[l] as u32;
                    let zrzi = zr[l] * zi[l];
                    zi[l] = zrzi + zrzi + ci; // 2 zr zi + ci, exactly
                    zr[l] = zr2 - zi2 + cr[l];
                }
                if !inside.iter().any(|&b| b) {
                    break;
                }
            }
            out.copy_from_slice(&n[..out.len()]);
        }
    }
    counts
}
// ANCHOR_END: ilp8

// ANCHOR: dispatch
/// Rows iterated together by the SIMD paths: each loop step advances `ROWS` independent
/// vectors, which hides the latency of each vector's dependent chain.
pub const ROWS: usize = 4;

/// Rows the AVX2 path iterates together: two, not [`ROWS`]. AVX2 has 16 vector registers,
/// and four rows of state (z, count and mask per row, plus the constants) need about 23, so
/// the compiler spills them to the stack. Rust aligns the stack to 16 bytes, not 32, so
/// whether those 32-byte spills straddle cache lines depends on where the stack happens to
/// start: the same binary took 20.5, 26.7 or 49 ms depending only on the size of its
/// environment. Two rows fit in registers and run at one speed.
const AVX2_ROWS: usize = 2;

/// Escape counts of whole rows `first_row..` of `grid` into `out` on the given SIMD path,
/// [`ROWS`] rows at a time (the scalar loop when `level` is [`Level::Scalar`]).
pub fn render_rows(level: Level, grid: &Grid, orbit: Orbit, first_row: usize, out: &mut [u32]) {
    if grid.width == 0 {
        return;
    }
    for (g, block) in out.chunks_mut(ROWS * grid.width).enumerate() {
        let row = first_row + g * ROWS;
        let full = block.len() == ROWS * grid.width;
        match level {
            #[cfg(target_arch = "x86_64")]
            Level::Avx512 => {
                if full {
                    // SAFETY: `level` is Avx512 only when avx512f was detected on this CPU.
                    unsafe { avx512::rows::<ROWS>(grid, orbit, row, block) }
                } else {
                    for (r, one_row) in block.chunks_mut(grid.width).enumerate() {
                        // SAFETY: as above.
                        unsafe { avx512::rows::<1>(grid, orbit, row + r, one_row) }
                    }
                }
            }
            #[cfg(target_arch = "x86_64")]
            Level::Avx2 => {
                if full {
                    for (h, pair) in block.chunks_mut(AVX2_ROWS * grid.width).enumerate() {
                        let first = row + h * AVX2_ROWS;
                        // SAFETY: `level` is Avx2 only when avx2 and fma were detected.
                        unsafe { avx2::rows::<AVX2_ROWS>(grid, orbit, first, pair) }
                    }
                } else {
                    for (r, one_row) in block.chunks_mut(grid.width).enumerate() {
                        // SAFETY: as above.
                        unsafe { avx2::rows::<1>(grid, orbit, row + r, one_row) }
                    }
                }
            }
            _ => scalar_rows(grid, orbit, row, block),
        }
    }
}
// ANCHOR_END: dispatch

// ANCHOR: simd_avx2
/// AVX2: 4 pixels per vector, 2 rows interleaved ([`AVX2_ROWS`]); runs the scalar loop on CPUs
/// without AVX2.
///
/// Lesson: explicit vectors with masks. Each lane keeps its own count; a lane that escaped
/// stops counting (its mask bit clears) while the others go on, and the loop stops when no
/// lane of any row is left.
pub fn simd_avx2(width: usize, height: usize) -> Vec<u32> {
    let grid = Grid::mandelbrot(width, height);
    let mut counts = vec![0; width * height];
    render_rows(simd::avx2(), &grid, Orbit::Mandelbrot, 0, &mut counts);
    counts
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use super::{Grid, MAX_ITER, Orbit};

    /// Counts of `R` vectors of 4 orbits iterated in lockstep. `lanes` has all bits set in
    /// the lanes that hold real pixels.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn escape<const R: usize>(
        mut zr: [__m256d; R],
        mut zi: [__m256d; R],
        cr: [__m256d; R],
        ci: [__m256d; R],
        lanes: __m256d,
    ) -> [__m256i; R] {
        let four = _mm256_set1_pd(4.0);
        let mut inside = [lanes; R];
        let mut counts = [_mm256_setzero_si256(); R];
        for _ in 0..MAX_ITER {
            let mut any = _mm256_setzero_pd();
            for r in 0..R {
                let zr2 = _mm256_mul_pd(zr[r], zr[r]);
                let zi2 = _mm256_mul_pd(zi[r], zi[r]);
                let mag = _mm256_add_pd(zr2, zi2);
                // Ordered compare: a lane whose z overflowed to NaN counts as escaped.
                inside[r] = _mm256_and_pd(inside[r], _mm256_cmp_pd::<_CMP_LE_OQ>(mag, four));
                // A true lane is all ones, i.e. -1 as an integer: subtracting it counts 1.
                counts[r] = _mm256_sub_epi64(counts[r], _mm256_castpd_si256(inside[r]));
                any = _mm256_or_pd(any, inside[r]);
                zi[r] = _mm256_fmadd_pd(_mm256_add_pd(zr[r], zr[r]), zi[r], ci[r]);
                zr[r] = _mm256_add_pd(_mm256_sub_pd(zr2, zi2), cr[r]);
            }
            if _mm256_movemask_pd(any) == 0 {
                break;
            }
        }
        counts
    }

    /// Rows `first_row..first_row + R` of `grid` into `out` (R whole rows).
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn rows<const R: usize>(
        grid: &Grid,
        orbit: Orbit,
        first_row: usize,
        out: &mut [u32],
    ) {
        let width = grid.width;
        let lane_index = _mm256_setr_pd(0.0, 1.0, 2.0, 3.0);
        let mut y = [_mm256_setzero_pd(); R];
        for (r, y) in y.iter_mut().enumerate() {
            *y = _mm256_set1_pd(grid.y(first_row + r));
        }
        for j in (0..width).step_by(4) {
            let valid = (width - j).min(4);
            let lanes = _mm256_castsi256_pd(_mm256_cmpgt_epi64(
                _mm256_set1_epi64x(valid as i64),
                _mm256_setr_epi64x(0, 1, 2, 3),
            ));
            // x = xmin + (j + lane) dx: the same multiply, then add, as `Grid::x`.
            let column = _mm256_add_pd(_mm256_set1_pd(j as f64), lane_index);
            let x = _mm256_add_pd(
                _mm256_set1_pd(grid.xmin),
                _mm256_mul_pd(column, _mm256_set1_pd(grid.dx())),
            );
            let counts = match orbit {
                Orbit::Mandelbrot => {
                    let zero = [_mm256_setzero_pd(); R];
                    escape::<R>(zero, zero, [x; R], y, lanes)
                }
                Orbit::Julia { cr, ci } => escape::<R>(
                    [x; R],
                    y,
                    [_mm256_set1_pd(cr); R],
                    [_mm256_set1_pd(ci); R],
                    lanes,
                ),
            };
            for (r, c) in counts.iter().enumerate() {
                let mut lane_counts = [0i64; 4];
                // SAFETY: `lane_counts` holds 4 i64, exactly one unaligned 256-bit store.
                unsafe { _mm256_storeu_si256(lane_counts.as_mut_ptr().cast(), *c) };
                let start = r * width + j;
                for (dst, &n) in out[start..start + valid].iter_mut().zip(&lane_counts) {
                    *dst = n as u32;
                }
            }
        }
    }
}
// ANCHOR_END: simd_avx2

// ANCHOR: simd_avx512
/// AVX-512: 8 pixels per vector, 4 rows interleaved, mask registers for the lanes still
/// iterating; runs the scalar loop on CPUs without AVX-512.
///
/// Lesson: the widest vectors, and latency hiding. One vector's iteration is a chain of
/// about five dependent instructions; four independent vectors (32 pixels) keep the vector
/// units busy. `zi = 2 zr zi + ci` is one fused multiply-add (it changes no pixel here).
pub fn simd_avx512(width: usize, height: usize) -> Vec<u32> {
    let grid = Grid::mandelbrot(width, height);
    let mut counts = vec![0; width * height];
    render_rows(simd::avx512(), &grid, Orbit::Mandelbrot, 0, &mut counts);
    counts
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    use super::{Grid, MAX_ITER, Orbit};

    /// Counts of `R` vectors of 8 orbits iterated in lockstep; bit l of `lanes` is set when
    /// lane l holds a real pixel.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn escape<const R: usize>(
        mut zr: [__m512d; R],
        mut zi: [__m512d; R],
        cr: [__m512d; R],
        ci: [__m512d; R],
        lanes: __mmask8,
    ) -> [__m512i; R] {
        let four = _mm512_set1_pd(4.0);
        let one = _mm512_set1_epi64(1);
        let mut inside = [lanes; R];
        let mut counts = [_mm512_setzero_si512(); R];
        for _ in 0..MAX_ITER {
            for r in 0..R {
                let zr2 = _mm512_mul_pd(zr[r], zr[r]);
                let zi2 = _mm512_mul_pd(zi[r], zi[r]);
                let mag = _mm512_add_pd(zr2, zi2);
                // Keep the lanes that were inside and still are (NaN compares false).
                inside[r] = _mm512_mask_cmp_pd_mask::<_CMP_LE_OQ>(inside[r], mag, four);
                counts[r] = _mm512_mask_add_epi64(counts[r], inside[r], counts[r], one);
                zi[r] = _mm512_fmadd_pd(_mm512_add_pd(zr[r], zr[r]), zi[r], ci[r]);
                zr[r] = _mm512_add_pd(_mm512_sub_pd(zr2, zi2), cr[r]);
            }
            if inside.iter().all(|&mask| mask == 0) {
                break;
            }
        }
        counts
    }

    /// Rows `first_row..first_row + R` of `grid` into `out` (R whole rows).
    #[target_feature(enable = "avx512f")]
    pub(super) fn rows<const R: usize>(
        grid: &Grid,
        orbit: Orbit,
        first_row: usize,
        out: &mut [u32],
    ) {
        let width = grid.width;
        let lane_index = _mm512_setr_pd(0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0);
        let mut y = [_mm512_setzero_pd(); R];
        for (r, y) in y.iter_mut().enumerate() {
            *y = _mm512_set1_pd(grid.y(first_row + r));
        }
        for j in (0..width).step_by(8) {
            let lanes: __mmask8 = if width - j >= 8 {
                0xFF
            } else {
                (1u8 << (width - j)) - 1
            };
            // x = xmin + (j + lane) dx: the same multiply, then add, as `Grid::x`.
            let column = _mm512_add_pd(_mm512_set1_pd(j as f64), lane_index);
            let x = _mm512_add_pd(
                _mm512_set1_pd(grid.xmin),
                _mm512_mul_pd(column, _mm512_set1_pd(grid.dx())),
            );
            let counts = match orbit {
                Orbit::Mandelbrot => {
                    let zero = [_mm512_setzero_pd(); R];
                    escape::<R>(zero, zero, [x; R], y, lanes)
                }
                Orbit::Julia { cr, ci } => escape::<R>(
                    [x; R],
                    y,
                    [_mm512_set1_pd(cr); R],
                    [_mm512_set1_pd(ci); R],
                    lanes,
                ),
            };
            for (r, c) in counts.iter().enumerate() {
                let dst = out[r * width + j..].as_mut_ptr();
                // SAFETY: `lanes` selects columns j..min(j + 8, width) of row r only, and
                // `out` holds R whole rows, so every written u32 lies inside `out`.
                unsafe { _mm512_mask_cvtepi64_storeu_epi32(dst.cast(), lanes, *c) };
            }
        }
    }
}
// ANCHOR_END: simd_avx512

// ANCHOR: cardioid
/// Whether c lies in the main cardioid or the period-2 bulb, where the orbit never escapes.
#[inline(always)]
pub fn in_cardioid_or_bulb(x: f64, y: f64) -> bool {
    let y2 = y * y;
    let xq = x - 0.25;
    let q = xq * xq + y2;
    q * (q + xq) <= 0.25 * y2 || (x + 1.0) * (x + 1.0) + y2 <= 0.0625
}

/// The scalar loop, skipping pixels that a closed-form test puts inside the set.
///
/// Lesson: the best optimisation is work not done. A pixel inside the set costs the full 256
/// iterations; the main cardioid and the period-2 bulb hold most of them, and two
/// inequalities recognise those pixels (count 256) at the cost of a few multiplies.
pub fn cardioid(width: usize, height: usize) -> Vec<u32> {
    let grid = Grid::mandelbrot(width, height);
    let mut counts = vec![0; width * height];
    if width == 0 {
        return counts;
    }
    for (i, row) in counts.chunks_mut(width).enumerate() {
        let ci = grid.y(i);
        for (j, count) in row.iter_mut().enumerate() {
            let cr = grid.x(j);
            *count = if in_cardioid_or_bulb(cr, ci) {
                MAX_ITER
            } else {
                escape_count(0.0, 0.0, cr, ci, MAX_ITER)
            };
        }
    }
    counts
}
// ANCHOR_END: cardioid

// ANCHOR: rayon
/// Rows handed out to the pool's threads one at a time, with the scalar loop; returns the
/// counts and the escape-loop iterations each thread ran.
///
/// Lesson: dynamic scheduling. Rows near the set cost far more than rows far from it;
/// rayon's work stealing lets an idle thread take the next row, so no thread waits.
pub fn rayon(width: usize, height: usize, threads: usize) -> (Vec<u32>, Vec<u64>) {
    let grid = Grid::mandelbrot(width, height);
    let mut counts = vec![0; width * height];
    let work = WorkCounter::new(threads);
    if width > 0 {
        pool::install(threads, || {
            counts
                .par_chunks_mut(width)
                .enumerate()
                .for_each(|(i, row)| {
                    scalar_rows(&grid, Orbit::Mandelbrot, i, row);
                    work.add(row.iter().map(|&n| n as u64).sum());
                });
        });
    }
    (counts, work.totals())
}
// ANCHOR_END: rayon

// ANCHOR: rayon_simd
/// Blocks of [`ROWS`] rows handed out dynamically to the pool's threads, each rendered with
/// the best SIMD path of this CPU.
///
/// Lesson: everything together: vectors, latency hiding and all cores.
pub fn rayon_simd(width: usize, height: usize, threads: usize) -> (Vec<u32>, Vec<u64>) {
    let grid = Grid::mandelbrot(width, height);
    render_parallel(simd::best(), &grid, Orbit::Mandelbrot, threads)
}

/// All rows of `grid` in blocks of [`ROWS`] rows, rendered on `level` by the pool of
/// `threads` threads; returns the counts and the escape-loop iterations each thread ran.
pub fn render_parallel(
    level: Level,
    grid: &Grid,
    orbit: Orbit,
    threads: usize,
) -> (Vec<u32>, Vec<u64>) {
    let mut counts = vec![0; grid.width * grid.height];
    let work = WorkCounter::new(threads);
    if grid.width > 0 {
        pool::install(threads, || {
            counts
                .par_chunks_mut(ROWS * grid.width)
                .enumerate()
                .for_each(|(g, block)| {
                    render_rows(level, grid, orbit, g * ROWS, block);
                    work.add(block.iter().map(|&n| n as u64).sum());
                });
        });
    }
    (counts, work.totals())
}
// ANCHOR_END: rayon_simd

// ANCHOR: benchmarks_game
/// Iterations of the Benchmarks Game's Mandelbrot program.
pub const BENCHMARKS_GAME_ITER: usize = 50;

/// The Computer Language Benchmarks Game's "mandelbrot" output: an N x N P4 bitmap of the
/// region [-1.5, 0.5] x [-1, 1], one bit per pixel (1 = inside: |z| <= 2 after 50
/// iterations), rows padded to whole bytes, rendered by `threads` threads.
///
/// The arithmetic follows the game's reference program exactly (`Cr = 2x/N - 1.5`,
/// `Zi = 2 Zr Zi + Ci`, `Zr = Tr - Ti + Cr`, no fused multiply-add), so the output is
/// byte-identical to theirs; the speed comes from AVX-512 (8 pixels = one output byte per
/// vector, 8 bytes in flight) and from testing for escape only every 5 iterations: in this
/// region |c| < 2, so once |z| > 2 it only grows, and iterating on changes no bit.
pub fn pbm(size: usize, threads: usize) -> Vec<u8> {
    let header = format!("P4\n{size} {size}\n");
    let row_bytes = size.div_ceil(8);
    let mut out = vec![0u8; header.len() + row_bytes * size];
    out[..header.len()].copy_from_slice(header.as_bytes());
    if size == 0 {
        return out;
    }
    // Real parts of every column, padded to whole bytes (padding bits are cleared below).
    let cr: Vec<f64> = (0..row_bytes * 8)
        .map(|x| 2.0 * x as f64 / size as f64 - 1.5)
        .collect();
    let level = simd::avx512();
    let padding_mask = 0xFFu8 << ((8 - size % 8) % 8);
    pool::install(threads, || {
        out[header.len()..]
            .par_chunks_mut(row_bytes)
            .enumerate()
            .for_each(|(y, row)| {
                let ci = 2.0 * y as f64 / size as f64 - 1.0;
                pbm_row(level, &cr, ci, row);
                if let Some(last) = row.last_mut() {
                    *last &= padding_mask;
                }
            });
    });
    out
}

/// One row of the bitmap: bit 7 of byte b is column 8b.
fn pbm_row(level: Level, cr: &[f64], ci: f64, row: &mut [u8]) {
    #[cfg(target_arch = "x86_64")]
    if level == Level::Avx512 {
        // SAFETY: `level` is Avx512 only when avx512f was detected on this CPU.
        return unsafe { avx512_pbm::row(cr, ci, row) };
    }
    let _ = level;
    for (byte, cr) in row.iter_mut().zip(cr.chunks_exact(8)) {
        let mut bits = 0u8;
        for &cr in cr {
            let (mut zr, mut zi, mut tr, mut ti) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
            let mut i = 0;
            while i < BENCHMARKS_GAME_ITER && tr + ti <= 4.0 {
                zi = 2.0 * zr * zi + ci;
                zr = tr - ti + cr;
                tr = zr * zr;
                ti = zi * zi;
                i += 1;
            }
            bits = (bits << 1) | (tr + ti <= 4.0) as u8;
        }
        *byte = bits;
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512_pbm {
    use std::arch::x86_64::*;

    use super::BENCHMARKS_GAME_ITER;

    /// Bytes handled together: 8 vectors of 8 pixels in flight.
    const GROUP: usize = 8;
    /// Iterations between two escape tests (50 = 10 x 5).
    const TEST_EVERY: usize = 5;

    #[target_feature(enable = "avx512f")]
    pub(super) fn row(cr: &[f64], ci: f64, row: &mut [u8]) {
        let mut bytes = row.chunks_exact_mut(GROUP);
        let mut crs = cr.chunks_exact(8 * GROUP);
        for (out, cr) in (&mut bytes).zip(&mut crs) {
            out.copy_from_slice(&bits::<GROUP>(cr, ci));
        }
        for (out, cr) in bytes
            .into_remainder()
            .iter_mut()
            .zip(crs.remainder().chunks_exact(8))
        {
            *out = bits::<1>(cr, ci)[0];
        }
    }

    /// The output bytes of 8 * G consecutive pixels with real parts `cr`.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn bits<const G: usize>(cr: &[f64], ci: f64) -> [u8; G] {
        assert_eq!(cr.len(), 8 * G);
        let ci = _mm512_set1_pd(ci);
        let four = _mm512_set1_pd(4.0);
        let mut c = [_mm512_setzero_pd(); G];
        for (g, c) in c.iter_mut().enumerate() {
            // SAFETY: `cr` holds 8 * G f64 (asserted above), so 8 from index 8g are in bounds.
            *c = unsafe { _mm512_loadu_pd(cr.as_ptr().add(8 * g)) };
        }
        let (mut zr, mut zi) = ([_mm512_setzero_pd(); G], [_mm512_setzero_pd(); G]);
        let (mut tr, mut ti) = ([_mm512_setzero_pd(); G], [_mm512_setzero_pd(); G]);
        for _ in 0..BENCHMARKS_GAME_ITER / TEST_EVERY {
            for _ in 0..TEST_EVERY {
                for g in 0..G {
                    zi[g] = _mm512_add_pd(_mm512_mul_pd(_mm512_add_pd(zr[g], zr[g]), zi[g]), ci);
                    zr[g] = _mm512_add_pd(_mm512_sub_pd(tr[g], ti[g]), c[g]);
                    tr[g] = _mm512_mul_pd(zr[g], zr[g]);
                    ti[g] = _mm512_mul_pd(zi[g], zi[g]);
                }
            }
            let mut any_inside = 0u8;
            for g in 0..G {
                any_inside |= _mm512_cmp_pd_mask::<_CMP_LE_OQ>(_mm512_add_pd(tr[g], ti[g]), four);
            }
            if any_inside == 0 {
                return [0; G];
            }
        }
        let mut out = [0u8; G];
        for (g, out) in out.iter_mut().enumerate() {
            let inside = _mm512_cmp_pd_mask::<_CMP_LE_OQ>(_mm512_add_pd(tr[g], ti[g]), four);
            // Mask bit l is lane l (column 8b + l); the bitmap wants column 8b in bit 7.
            *out = inside.reverse_bits();
        }
        out
    }
}
// ANCHOR_END: benchmarks_game

// ANCHOR: check
static REFERENCE_IMAGES: ReferenceCache<Arc<Vec<u32>>> = ReferenceCache::new();

/// The reference image of a Mandelbrot problem: the [`scalar`] variant's, computed once.
pub fn reference_image(problem: &Problem) -> Arc<Vec<u32>> {
    REFERENCE_IMAGES.get(problem, || {
        Arc::new(scalar(problem.n as usize, problem.m as usize))
    })
}

/// The one check of every Mandelbrot variant (see [`check_fractal`]).
pub fn check(problem: &Problem, variant: &str, outcome: &Outcome) -> Result<Check, CheckError> {
    let literal = (*problem == DEFAULT).then_some((REFERENCE_SUM, REFERENCE_MAXED));
    check_fractal(problem, variant, outcome, literal, || {
        reference_image(problem)
    })
}

/// The check shared by the fractal kernels (KERNELS.md). The image must have `n x m` counts
/// of at most [`MAX_ITER`]. Its sum and its pixels at `MAX_ITER` are compared with `literal`
/// (KERNELS.md's values at the default size) or, at other sizes, with the reference image's.
/// When they differ, the pixels that differ from the reference image are counted: at most
/// 0.01% may (boundary pixels that a fused multiply-add or a closed-form test can flip), and
/// the summary reports how many did. Per-thread work, when reported, must add up to the sum.
pub fn check_fractal(
    problem: &Problem,
    variant: &str,
    outcome: &Outcome,
    literal: Option<(u64, u64)>,
    reference: impl Fn() -> Arc<Vec<u32>>,
) -> Result<Check, CheckError> {
    let Outcome::Fractal {
        counts,
        per_thread_work,
    } = outcome
    else {
        return Err(wrong_outcome(variant, "Outcome::Fractal", outcome));
    };
    let pixels = (problem.n * problem.m) as usize;
    if counts.len() != pixels {
        return Err(mismatch(
            variant,
            format!("{} x {} = {pixels} counts", problem.n, problem.m),
            format!("{} counts", counts.len()),
        ));
    }
    if let Some(&bad) = counts.iter().find(|&&n| n > MAX_ITER) {
        return Err(mismatch(
            variant,
            format!("counts <= {MAX_ITER}"),
            format!("a count of {bad}"),
        ));
    }
    let sum: u64 = counts.iter().map(|&n| n as u64).sum();
    let maxed = counts.iter().filter(|&&n| n == MAX_ITER).count() as u64;
    let thread_total: u64 = per_thread_work.iter().sum();
    if !per_thread_work.is_empty() && thread_total != sum {
        return Err(mismatch(
            variant,
            format!("per-thread work adding up to the sum of counts, {sum}"),
            format!("{per_thread_work:?} (total {thread_total})"),
        ));
    }
    let (ref_sum, ref_maxed, image) = match literal {
        Some((s, m)) => (s, m, None),
        None => {
            let image = reference();
            let s = image.iter().map(|&n| n as u64).sum();
            let m = image.iter().filter(|&&n| n == MAX_ITER).count() as u64;
            (s, m, Some(image))
        }
    };
    if sum == ref_sum && maxed == ref_maxed {
        return Ok(Check {
            summary: format!("sum = {sum}, {maxed} pixels at {MAX_ITER} (exact)"),
            error: None,
        });
    }
    let image = image.unwrap_or_else(&reference);
    let differing = counts
        .iter()
        .zip(image.iter())
        .filter(|(a, b)| a != b)
        .count();
    let allowed = pixels / 10_000;
    let got = format!("sum = {sum}, {maxed} pixels at {MAX_ITER}, {differing} pixels differ");
    if differing > allowed {
        return Err(mismatch(
            variant,
            format!(
                "sum = {ref_sum}, {ref_maxed} pixels at {MAX_ITER}, at most {allowed} pixels \
                 (0.01%) differing"
            ),
            got,
        ));
    }
    Ok(Check {
        summary: format!("{got} (at most {allowed} allowed)"),
        error: None,
    })
}
// ANCHOR_END: check

/// Sum of the escape counts: escape-loop iterations executed.
pub fn iterations(outcome: &Outcome) -> Option<f64> {
    match outcome {
        Outcome::Fractal { counts, .. } => Some(counts.iter().map(|&n| n as f64).sum()),
        _ => None,
    }
}

fn size(p: &Problem) -> (usize, usize) {
    (p.n as usize, p.m as usize)
}
fn single(counts: Vec<u32>) -> Outcome {
    Outcome::Fractal {
        counts,
        per_thread_work: vec![],
    }
}
fn threaded((counts, per_thread_work): (Vec<u32>, Vec<u64>)) -> Outcome {
    Outcome::Fractal {
        counts,
        per_thread_work,
    }
}
fn run_naive(p: &Problem, _threads: usize) -> Outcome {
    let (w, h) = size(p);
    single(naive(w, h).concat())
}
fn run_scalar(p: &Problem, _threads: usize) -> Outcome {
    let (w, h) = size(p);
    single(scalar(w, h))
}
fn run_ilp8(p: &Problem, _threads: usize) -> Outcome {
    let (w, h) = size(p);
    single(ilp8(w, h))
}
fn run_simd_avx2(p: &Problem, _threads: usize) -> Outcome {
    let (w, h) = size(p);
    single(simd_avx2(w, h))
}
fn run_simd_avx512(p: &Problem, _threads: usize) -> Outcome {
    let (w, h) = size(p);
    single(simd_avx512(w, h))
}
fn run_cardioid(p: &Problem, _threads: usize) -> Outcome {
    let (w, h) = size(p);
    single(cardioid(w, h))
}
fn run_rayon(p: &Problem, threads: usize) -> Outcome {
    let (w, h) = size(p);
    threaded(rayon(w, h, threads))
}
fn run_rayon_simd(p: &Problem, threads: usize) -> Outcome {
    let (w, h) = size(p);
    threaded(rayon_simd(w, h, threads))
}

/// The Mandelbrot kernel and its ladder.
pub const KERNEL: Kernel = Kernel {
    name: "mandelbrot",
    title: "Mandelbrot escape counts, 1000 x 1000 pixels, at most 256 iterations",
    source_file: "src/mandelbrot.rs",
    source: include_str!("mandelbrot.rs"),
    uses: &[],
    default_problem: DEFAULT,
    small_problem: SMALL,
    work_unit: "pixels",
    work: |p| (p.n * p.m) as f64,
    flops: |_, outcome| iterations(outcome).map(|n| FLOPS_PER_ITERATION * n),
    bytes: |p| Some(4.0 * (p.n * p.m) as f64),
    check,
    variants: &[
        Variant {
            name: "naive",
            lesson: "The textbook program: a complex type and a vector of rows.",
            threaded: false,
            run: run_naive,
            simd_path: simd::no_path,
            anchor: "naive",
        },
        Variant {
            name: "scalar",
            lesson: "A tight loop on plain floats into one flat buffer.",
            threaded: false,
            run: run_scalar,
            simd_path: simd::no_path,
            anchor: "scalar",
        },
        Variant {
            name: "ilp8",
            lesson: "Eight pixels per loop: independent chains the CPU can overlap.",
            threaded: false,
            run: run_ilp8,
            simd_path: simd::no_path,
            anchor: "ilp8",
        },
        Variant {
            name: "simd-avx2",
            lesson: "AVX2 vectors of 4 pixels with per-lane masks, 4 rows interleaved.",
            threaded: false,
            run: run_simd_avx2,
            simd_path: simd::avx2_path,
            anchor: "simd_avx2",
        },
        Variant {
            name: "simd-avx512",
            lesson: "AVX-512 vectors of 8 pixels and mask registers, 4 rows interleaved.",
            threaded: false,
            run: run_simd_avx512,
            simd_path: simd::avx512_path,
            anchor: "simd_avx512",
        },
        Variant {
            name: "cardioid",
            lesson: "Work not done: a closed-form test skips the main cardioid and bulb.",
            threaded: false,
            run: run_cardioid,
            simd_path: simd::no_path,
            anchor: "cardioid",
        },
        Variant {
            name: "rayon",
            lesson: "Rows handed out dynamically to all cores.",
            threaded: true,
            run: run_rayon,
            simd_path: simd::no_path,
            anchor: "rayon",
        },
        Variant {
            name: "rayon-simd",
            lesson: "The best SIMD path on all cores.",
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
        assert_eq!(image.iter().map(|&n| n as u64).sum::<u64>(), REFERENCE_SUM);
        assert_eq!(
            image.iter().filter(|&&n| n == MAX_ITER).count() as u64,
            REFERENCE_MAXED
        );
    }

    #[test]
    fn every_simd_path_matches_the_scalar_image() {
        let grid = Grid::mandelbrot(SMALL.n as usize, SMALL.m as usize);
        let reference = scalar(grid.width, grid.height);
        for level in [Level::Scalar, Level::Avx2, Level::Avx512] {
            if simd::dispatch(&[level], simd::detect(), false) == level {
                let mut counts = vec![0; reference.len()];
                render_rows(level, &grid, Orbit::Mandelbrot, 0, &mut counts);
                let differing = counts
                    .iter()
                    .zip(&reference)
                    .filter(|(a, b)| a != b)
                    .count();
                assert!(differing <= 2, "{level:?}: {differing} pixels differ");
            }
        }
    }

    #[test]
    fn a_wrong_image_fails_with_the_number_of_differing_pixels() {
        let mut counts = scalar(SMALL.n as usize, SMALL.m as usize);
        for n in counts.iter_mut().take(50) {
            *n = 1;
        }
        let outcome = single(counts);
        let err = check(&SMALL, "mandelbrot/broken", &outcome).unwrap_err();
        assert!(err.got.contains("pixels differ"), "{err}");
    }

    #[test]
    fn benchmarks_game_output_is_byte_identical_for_every_path() {
        for size in [1, 7, 8, 13, 200] {
            let fast = pbm(size, 2);
            let row_bytes = size.div_ceil(8);
            let cr: Vec<f64> = (0..row_bytes * 8)
                .map(|x| 2.0 * x as f64 / size as f64 - 1.5)
                .collect();
            let header = format!("P4\n{size} {size}\n").len();
            for y in 0..size {
                let mut row = vec![0u8; row_bytes];
                pbm_row(
                    Level::Scalar,
                    &cr,
                    2.0 * y as f64 / size as f64 - 1.0,
                    &mut row,
                );
                *row.last_mut().unwrap() &= 0xFFu8 << ((8 - size % 8) % 8);
                let start = header + y * row_bytes;
                assert_eq!(
                    &fast[start..start + row_bytes],
                    &row[..],
                    "size {size}, row {y}"
                );
            }
        }
    }
}

#[cfg(test)]
mod benchmarks_game_tests {
    use super::*;

    /// MD5 (RFC 1321), enough to compare with the Benchmarks Game's published digest.
    fn md5(message: &[u8]) -> String {
        const S: [u32; 64] = [
            7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20,
            5, 9, 14, 20, 5, 9, 14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
            6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
        ];
        let k: Vec<u32> = (0..64)
            .map(|i| ((i as f64 + 1.0).sin().abs() * 4_294_967_296.0) as u32)
            .collect();
        let mut data = message.to_vec();
        data.push(0x80);
        while data.len() % 64 != 56 {
            data.push(0);
        }
        data.extend_from_slice(&((message.len() as u64) * 8).to_le_bytes());
        let mut h: [u32; 4] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];
        for block in data.chunks_exact(64) {
            let m: Vec<u32> = block
                .chunks_exact(4)
                .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
                .collect();
            let [mut a, mut b, mut c, mut d] = h;
            for i in 0..64 {
                let (f, g) = match i / 16 {
                    0 => ((b & c) | (!b & d), i),
                    1 => ((d & b) | (!d & c), (5 * i + 1) % 16),
                    2 => (b ^ c ^ d, (3 * i + 5) % 16),
                    _ => (c ^ (b | !d), (7 * i) % 16),
                };
                let rotated = a
                    .wrapping_add(f)
                    .wrapping_add(k[i])
                    .wrapping_add(m[g])
                    .rotate_left(S[i]);
                (a, b, c, d) = (d, b.wrapping_add(rotated), b, c);
            }
            for (h, x) in h.iter_mut().zip([a, b, c, d]) {
                *h = h.wrapping_add(x);
            }
        }
        h.iter()
            .flat_map(|x| x.to_le_bytes())
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    #[test]
    fn md5_matches_rfc_1321() {
        assert_eq!(md5(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(
            md5(b"The quick brown fox jumps over the lazy dog"),
            "9e107d9d372bb6826bd81d3542a419d6"
        );
    }

    #[test]
    fn pbm_200_is_the_benchmarks_game_output() {
        assert_eq!(md5(&pbm(200, 2)), "cc65e64bd553ed18896de1dfe7fae3e5");
    }
}
