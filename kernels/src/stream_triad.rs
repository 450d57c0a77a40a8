//! stream-triad: the memory-bandwidth roof of the roofline, `a[i] = b[i] + s c[i]`.
//!
//! As in McCalpin's STREAM benchmark, bandwidth counts 24 bytes per element (read b and c,
//! write a). Problem: `n` = elements per array. The default, 2^24 f64 (128 MiB per array,
//! 384 MiB in all), makes each array 4x the 32 MiB last-level cache of the development
//! machine, so the loop streams from main memory on any current CPU.
//!
//! The arrays are allocated and filled once per size and kept (allocation and page faults
//! are not bandwidth). b[i] = i and c[i] = 1, and the scalar s alternates between 1 and 2
//! from run to run, so a[i] = i + s is exactly predictable and a stale array cannot pass the
//! check: the checksum adds a[i] at every 4096th element.

use std::sync::Mutex;

use rayon::prelude::*;

use crate::reference::{mismatch, wrong_outcome};
use crate::simd;
use crate::{Check, CheckError, Kernel, Outcome, Problem, Variant, pool};

/// The default problem: 2^24 elements per array (128 MiB each).
pub const DEFAULT: Problem = Problem {
    n: 1 << 24,
    m: 0,
    seed: 0,
};

/// A small problem for fast tests (fits in cache: not a bandwidth measurement).
pub const SMALL: Problem = Problem {
    n: 100_003,
    m: 0,
    seed: 0,
};

/// Bytes counted per element: 8 read from b, 8 from c, 8 written to a.
pub const BYTES_PER_ELEMENT: f64 = 24.0;

/// Distance between the elements the checksum reads.
const SAMPLE_STRIDE: usize = 4096;

// ANCHOR: one_thread
/// The triad on one core. The compiler vectorises this loop by itself; its speed is set by
/// memory, not by arithmetic.
///
/// Lesson: the bandwidth one core can pull from memory, the roof under any kernel that
/// streams data once.
pub fn triad(a: &mut [f64], b: &[f64], c: &[f64], s: f64) {
    for ((a, b), c) in a.iter_mut().zip(b).zip(c) {
        *a = b + s * c;
    }
}
// ANCHOR_END: one_thread

// ANCHOR: all_threads
/// Elements per parallel task (256 KiB of each array).
const CHUNK: usize = 1 << 15;

/// The triad split into chunks on the pool of `threads` threads.
///
/// Lesson: one core cannot saturate the memory system; several can, up to the machine's
/// bandwidth roof, beyond which more threads add nothing.
pub fn triad_parallel(a: &mut [f64], b: &[f64], c: &[f64], s: f64, threads: usize) {
    pool::install(threads, || {
        a.par_chunks_mut(CHUNK)
            .zip(b.par_chunks(CHUNK))
            .zip(c.par_chunks(CHUNK))
            .for_each(|((a, b), c)| triad(a, b, c, s));
    });
}
// ANCHOR_END: all_threads

/// The kept arrays and the number of runs so far (which picks s).
struct Arrays {
    a: Vec<f64>,
    b: Vec<f64>,
    c: Vec<f64>,
    runs: u64,
}

static ARRAYS: Mutex<Option<Arrays>> = Mutex::new(None);

/// Runs `body` on the kept arrays of `n` elements with this run's s, and returns the probe
/// outcome. Only one size is kept at a time.
fn with_arrays(n: usize, body: impl FnOnce(&mut [f64], &[f64], &[f64], f64)) -> Outcome {
    let mut guard = ARRAYS.lock().unwrap_or_else(|e| e.into_inner());
    if guard.as_ref().is_none_or(|arrays| arrays.a.len() != n) {
        *guard = None; // free the old arrays before allocating new ones
        *guard = Some(Arrays {
            a: vec![0.0; n],
            b: (0..n).map(|i| i as f64).collect(),
            c: vec![1.0; n],
            runs: 0,
        });
    }
    let arrays = guard.as_mut().expect("arrays were just created");
    arrays.runs += 1;
    let s = if arrays.runs.is_multiple_of(2) {
        2.0
    } else {
        1.0
    };
    body(&mut arrays.a, &arrays.b, &arrays.c, s);
    let samples = (0..n).step_by(SAMPLE_STRIDE);
    Outcome::Probe {
        work: BYTES_PER_ELEMENT * n as f64,
        checksum: samples.clone().map(|i| arrays.a[i]).sum(),
        expected: samples.map(|i| i as f64 + s).sum(),
    }
}

// ANCHOR: check
/// The one check of both triad variants: the sampled checksum must equal the predicted one
/// exactly (all values are small integers) and the bytes must be 24 per element.
pub fn check(problem: &Problem, variant: &str, outcome: &Outcome) -> Result<Check, CheckError> {
    let Outcome::Probe {
        work,
        checksum,
        expected,
    } = *outcome
    else {
        return Err(wrong_outcome(variant, "Outcome::Probe", outcome));
    };
    let bytes = BYTES_PER_ELEMENT * problem.n as f64;
    if !checksum.is_finite() || checksum != expected || work != bytes {
        return Err(mismatch(
            variant,
            format!("checksum {expected} over {bytes} bytes"),
            format!("checksum {checksum} over {work} bytes"),
        ));
    }
    Ok(Check {
        summary: format!("checksum {checksum} (exact)"),
        error: None,
    })
}
// ANCHOR_END: check

fn run_one_thread(p: &Problem, _threads: usize) -> Outcome {
    with_arrays(p.n as usize, triad)
}
fn run_all_threads(p: &Problem, threads: usize) -> Outcome {
    with_arrays(p.n as usize, |a, b, c, s| {
        triad_parallel(a, b, c, s, threads)
    })
}

/// The stream-triad roofline probe.
pub const KERNEL: Kernel = Kernel {
    name: "stream-triad",
    title: "Memory bandwidth: a[i] = b[i] + s c[i] over 3 x 128 MiB",
    source_file: "src/stream_triad.rs",
    source: include_str!("stream_triad.rs"),
    uses: &[],
    default_problem: DEFAULT,
    small_problem: SMALL,
    work_unit: "bytes",
    work: |p| BYTES_PER_ELEMENT * p.n as f64,
    flops: |p, _| Some(2.0 * p.n as f64),
    bytes: |p| Some(BYTES_PER_ELEMENT * p.n as f64),
    check,
    variants: &[
        Variant {
            name: "one-thread",
            lesson: "The memory bandwidth one core can use.",
            threaded: false,
            run: run_one_thread,
            simd_path: simd::no_path,
            anchor: "one_thread",
        },
        Variant {
            name: "all-threads",
            lesson: "The machine's memory bandwidth, with every core streaming.",
            threaded: true,
            run: run_all_threads,
            simd_path: simd::no_path,
            anchor: "all_threads",
        },
    ],
};
