//! Times every variant of the kernels whose name contains the first argument (median of a
//! few runs, all threads) and prints its check: a quick look at a ladder without criterion.
//!
//! `cargo run --release -p perfguide-kernels --example ladder -- mandelbrot`

use std::time::Instant;

fn main() {
    let filter = std::env::args().nth(1).unwrap_or_default();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    for kernel in perfguide_kernels::kernels() {
        for variant in kernel.variants {
            let id = format!("{}/{}", kernel.name, variant.name);
            if !id.contains(&filter) {
                continue;
            }
            let problem = kernel.default_problem;
            let outcome = (variant.run)(&problem, threads);
            let check = (kernel.check)(&problem, &id, &outcome);
            let mut times = Vec::new();
            let budget = Instant::now();
            while times.len() < 5 || (budget.elapsed().as_secs_f64() < 1.0 && times.len() < 200) {
                let start = Instant::now();
                std::hint::black_box((variant.run)(&problem, threads));
                times.push(start.elapsed().as_secs_f64());
            }
            times.sort_by(f64::total_cmp);
            let median = times[times.len() / 2];
            let gflops = (kernel.flops)(&problem, &outcome).map(|f| f / median / 1e9);
            let path = (variant.simd_path)().unwrap_or("-");
            match check {
                Ok(c) => println!(
                    "{id:32} {:>10.3} ms  {:>8} GFLOP/s  [{path}]  {}",
                    median * 1e3,
                    gflops.map_or(String::new(), |g| format!("{g:.1}")),
                    c.summary
                ),
                Err(e) => println!("{id:32} {:>10.3} ms  FAILED: {e}", median * 1e3),
            }
        }
    }
}
