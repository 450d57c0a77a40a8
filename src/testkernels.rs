//! Test-only kernels that misbehave on purpose: a wrong result, a panic, an abort (signal), a
//! hang, and a variant that can be slowed down. They exist so the tests can prove that the
//! build contains each failure and names the variant. The worker only offers them when
//! `PERFGUIDE_TEST_KERNELS=1` is set.

use perfguide_kernels::{Check, CheckError, Kernel, Outcome, Problem, Variant};

/// The expected value of the `test` kernel: the sum 0 + 1 + ... + (n - 1).
fn expected(p: &Problem) -> u64 {
    p.n * p.n.saturating_sub(1) / 2
}

fn sum_to(p: &Problem) -> u64 {
    (0..std::hint::black_box(p.n)).fold(0u64, |a, i| a.wrapping_add(std::hint::black_box(i)))
}

fn ok(p: &Problem, _threads: usize) -> Outcome {
    Outcome::Walk {
        sum_sq: sum_to(p),
        walkers: p.n,
    }
}

fn wrong(p: &Problem, _threads: usize) -> Outcome {
    Outcome::Walk {
        sum_sq: sum_to(p) + 1,
        walkers: p.n,
    }
}

fn panics(_p: &Problem, _threads: usize) -> Outcome {
    panic!("deliberate panic in test/panic")
}

fn aborts(_p: &Problem, _threads: usize) -> Outcome {
    std::process::abort()
}

fn hangs(_p: &Problem, _threads: usize) -> Outcome {
    loop {
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
}

/// Runs the `ok` work `PERFGUIDE_TEST_SLOWDOWN` times (default 1): a variant whose speed the
/// baseline tests can change without touching its code.
fn slowable(p: &Problem, threads: usize) -> Outcome {
    let factor: u64 = std::env::var("PERFGUIDE_TEST_SLOWDOWN")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let mut out = ok(p, threads);
    for _ in 1..factor {
        out = ok(p, threads);
    }
    out
}

/// The `ok` work split over `threads` scoped threads, each summing its share: a threaded
/// variant whose CPU time per wall second shows whether it got every core it asked for.
fn threads(p: &Problem, threads: usize) -> Outcome {
    let t = threads.max(1) as u64;
    let chunk = p.n.div_ceil(t);
    let sum = std::thread::scope(|s| {
        let handles: Vec<_> = (0..t)
            .map(|i| {
                s.spawn(move || {
                    let (lo, hi) = (i * chunk, ((i + 1) * chunk).min(p.n));
                    (lo..hi).fold(0u64, |a, x| a.wrapping_add(std::hint::black_box(x)))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or(0))
            .fold(0u64, u64::wrapping_add)
    });
    Outcome::Walk {
        sum_sq: sum,
        walkers: p.n,
    }
}

fn check(p: &Problem, id: &str, o: &Outcome) -> Result<Check, CheckError> {
    match o {
        Outcome::Walk { sum_sq, .. } if *sum_sq == expected(p) => Ok(Check {
            summary: format!("sum = {sum_sq} (exact)"),
            error: None,
        }),
        Outcome::Walk { sum_sq, .. } => Err(CheckError {
            variant: id.to_string(),
            expected: expected(p).to_string(),
            got: sum_sq.to_string(),
        }),
        other => Err(CheckError {
            variant: id.to_string(),
            expected: "a sum".into(),
            got: format!("{other:?}"),
        }),
    }
}

fn no_simd() -> Option<&'static str> {
    None
}

const fn variant(name: &'static str, run: fn(&Problem, usize) -> Outcome) -> Variant {
    Variant {
        name,
        lesson: "test-only",
        threaded: false,
        run,
        simd_path: no_simd,
        anchor: name,
    }
}

static VARIANTS: [Variant; 7] = [
    variant("ok", ok),
    variant("wrong", wrong),
    variant("panic", panics),
    variant("abort", aborts),
    variant("hang", hangs),
    variant("slowable", slowable),
    Variant {
        name: "threads",
        lesson: "test-only",
        threaded: true,
        run: threads,
        simd_path: no_simd,
        anchor: "threads",
    },
];

/// The test kernel: sums integers; n = 2,000,000 takes about a millisecond.
pub static KERNELS: [Kernel; 1] = [Kernel {
    name: "test",
    title: "Test-only kernel (sum of integers)",
    source_file: "src/testkernels.rs",
    source: include_str!("testkernels.rs"),
    uses: &[],
    default_problem: Problem {
        n: 2_000_000,
        m: 0,
        seed: 0,
    },
    small_problem: Problem {
        n: 1000,
        m: 0,
        seed: 0,
    },
    work_unit: "additions",
    work: |p| p.n as f64,
    flops: |_, _| None,
    bytes: |_| None,
    check,
    variants: &VARIANTS,
}];
