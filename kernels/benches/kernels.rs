//! criterion benchmarks of every variant of every kernel at its KERNELS.md size, plus the
//! Benchmarks Game Mandelbrot at N = 16000.
//!
//! `cargo bench -p perfguide-kernels` runs them all (about ten minutes on two cores);
//! `cargo bench -p perfguide-kernels -- mandelbrot/` runs one kernel. Threaded variants use
//! every core (`PERFGUIDE_THREADS=N` overrides). Each variant's result is checked before it
//! is timed: a wrong answer aborts the run. Runs are kept short (20 samples, 3 s): these
//! numbers are for kernels/README.md, the guide measures with its own engine.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use perfguide_kernels::{kernels, mandelbrot};

fn threads() -> usize {
    std::env::var("PERFGUIDE_THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

fn ladders(c: &mut Criterion) {
    let threads = threads();
    for kernel in kernels() {
        let problem = kernel.default_problem;
        let mut group = c.benchmark_group(kernel.name);
        group.throughput(Throughput::Elements((kernel.work)(&problem) as u64));
        for variant in kernel.variants {
            let id = format!("{}/{}", kernel.name, variant.name);
            let start = Instant::now();
            let outcome = (variant.run)(&problem, threads);
            let once = start.elapsed();
            if let Err(e) = (kernel.check)(&problem, &id, &outcome) {
                panic!("not benchmarking a wrong answer: {e}");
            }
            // Long runs: one iteration per sample, fewer samples.
            if once > Duration::from_millis(50) {
                group.sampling_mode(SamplingMode::Flat).sample_size(10);
            } else {
                group.sampling_mode(SamplingMode::Auto).sample_size(20);
            }
            group.bench_function(variant.name, |b| {
                b.iter(|| black_box((variant.run)(black_box(&problem), threads)))
            });
        }
        group.finish();
    }
}

fn benchmarks_game(c: &mut Criterion) {
    let threads = threads();
    let mut group = c.benchmark_group("benchmarks-game");
    group.sampling_mode(SamplingMode::Flat).sample_size(10);
    group.bench_function("mandelbrot-pbm-16000", |b| {
        b.iter(|| black_box(mandelbrot::pbm(16_000, threads)))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = ladders, benchmarks_game
}
criterion_main!(benches);
