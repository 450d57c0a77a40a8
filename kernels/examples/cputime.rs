//! CPU time (not wall time) per run of every variant whose id contains the first argument,
//! summed over all threads of the process (Linux: `/proc/self/task/*/schedstat`). Unlike
//! wall time it is nearly unaffected by other processes competing for the cores, so it
//! gives a fair per-core comparison on a busy machine. Threaded variants run with 2 threads.
//!
//! `cargo run --release -p perfguide-kernels --example cputime -- mandelbrot/ 20`
use std::hint::black_box;

fn cpu_ns() -> u64 {
    let mut total = 0;
    for task in std::fs::read_dir("/proc/self/task").unwrap() {
        let path = task.unwrap().path().join("schedstat");
        if let Ok(s) = std::fs::read_to_string(path) {
            total += s.split_whitespace().next().unwrap().parse::<u64>().unwrap();
        }
    }
    total
}

fn main() {
    let filter = std::env::args().nth(1).unwrap_or_default();
    let reps: u64 = std::env::args()
        .nth(2)
        .and_then(|r| r.parse().ok())
        .unwrap_or(20);
    for kernel in perfguide_kernels::kernels() {
        for variant in kernel.variants {
            let id = format!("{}/{}", kernel.name, variant.name);
            if !id.contains(&filter) {
                continue;
            }
            let p = kernel.default_problem;
            let threads = if variant.threaded { 2 } else { 1 };
            let outcome = (variant.run)(&p, threads);
            (kernel.check)(&p, &id, &outcome).unwrap();
            let mut best = u64::MAX;
            for _ in 0..3 {
                let t = cpu_ns();
                for _ in 0..reps {
                    black_box((variant.run)(&p, threads));
                }
                best = best.min((cpu_ns() - t) / reps);
            }
            let secs = best as f64 * 1e-9;
            let gf = (kernel.flops)(&p, &outcome).map_or(String::new(), |f| {
                format!("{:.1} GFLOP/s per core", f / secs / 1e9)
            });
            println!("{id:32} {threads}t {:9.3} ms cpu  {gf}", secs * 1e3);
        }
    }
}
