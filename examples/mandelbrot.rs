//! Runs one Mandelbrot variant of the kernels crate standalone: prints its time and checksum
//! and writes the image.
//!
//! ```text
//! cargo run --release --example mandelbrot -- --variant rayon-simd --threads 2 --png m.png
//! cargo run --release --example mandelbrot -- --list
//! cargo run --release --example mandelbrot -- --pbm 16000 > out.pbm
//! ```
//!
//! `--pbm N` writes the Computer Language Benchmarks Game's output (a P4 bitmap of N x N
//! pixels, 50 iterations, region [-1.5, 0.5] x [-1, 1]) to standard output, and its time to
//! standard error, so it can be compared byte for byte and second for second with their
//! programs.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use perfguide_kernels::mandelbrot::{self, MAX_ITER};
use perfguide_kernels::{Outcome, Problem};

#[derive(Parser)]
#[command(about = "Run a Mandelbrot variant of perfguide's kernels")]
struct Args {
    /// The variant (see --list).
    #[arg(long, default_value = "rayon-simd")]
    variant: String,
    /// Threads for threaded variants (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Image width in pixels.
    #[arg(long, default_value_t = 1000)]
    width: u64,
    /// Image height in pixels.
    #[arg(long, default_value_t = 1000)]
    height: u64,
    /// Runs to time (the best and the median are printed).
    #[arg(long, default_value_t = 1)]
    runs: usize,
    /// Write the image as a PNG file.
    #[arg(long)]
    png: Option<PathBuf>,
    /// Write the Benchmarks Game's N x N P4 bitmap to standard output instead.
    #[arg(long, value_name = "N")]
    pbm: Option<usize>,
    /// List the variants and the SIMD path each would take on this CPU.
    #[arg(long)]
    list: bool,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let kernel = &mandelbrot::KERNEL;
    if args.list {
        for v in kernel.variants {
            let path = (v.simd_path)().unwrap_or("-");
            println!("{:12} {:7} {}", v.name, path, v.lesson);
        }
        return Ok(());
    }
    if let Some(n) = args.pbm {
        let start = Instant::now();
        let bitmap = mandelbrot::pbm(n, threads);
        let elapsed = start.elapsed();
        std::io::stdout().lock().write_all(&bitmap)?;
        eprintln!(
            "pbm {n}x{n}: {:.3} s with {threads} threads",
            elapsed.as_secs_f64()
        );
        return Ok(());
    }
    let Some(variant) = kernel.variant(&args.variant) else {
        let names: Vec<_> = kernel.variants.iter().map(|v| v.name).collect();
        return Err(format!(
            "no variant {:?}; try one of {}",
            args.variant,
            names.join(", ")
        )
        .into());
    };
    let problem = Problem {
        n: args.width,
        m: args.height,
        seed: 0,
    };
    let mut times = Vec::new();
    let mut outcome = None;
    for _ in 0..args.runs.max(1) {
        let start = Instant::now();
        let result = (variant.run)(&problem, threads);
        times.push(start.elapsed().as_secs_f64());
        outcome = Some(result);
    }
    let outcome = outcome.expect("at least one run");
    times.sort_by(f64::total_cmp);
    let id = format!("mandelbrot/{}", variant.name);
    let Outcome::Fractal {
        counts,
        per_thread_work,
    } = &outcome
    else {
        return Err("a Mandelbrot variant returned no image".into());
    };
    let iterations: u64 = counts.iter().map(|&n| n as u64).sum();
    let maxed = counts.iter().filter(|&&n| n == MAX_ITER).count();
    println!(
        "{id} on {}x{} ({} threads, SIMD path {})",
        args.width,
        args.height,
        if variant.threaded { threads } else { 1 },
        (variant.simd_path)().unwrap_or("none")
    );
    println!(
        "time: best {:.3} ms, median {:.3} ms of {} run(s); {:.1} GFLOP/s useful",
        times[0] * 1e3,
        times[times.len() / 2] * 1e3,
        times.len(),
        8.0 * iterations as f64 / times[0] / 1e9
    );
    println!("checksum: sum of counts {iterations}, {maxed} pixels at {MAX_ITER}");
    if !per_thread_work.is_empty() {
        println!("iterations per thread: {per_thread_work:?}");
    }
    match (kernel.check)(&problem, &id, &outcome) {
        Ok(check) => println!("check: {}", check.summary),
        Err(e) => return Err(e.into()),
    }
    if let Some(path) = &args.png {
        write_png(path, args.width as u32, args.height as u32, counts)?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

/// Writes escape counts as an RGB PNG: black inside the set, a smooth blue-gold ramp outside.
fn write_png(
    path: &std::path::Path,
    width: u32,
    height: u32,
    counts: &[u32],
) -> Result<(), Box<dyn std::error::Error>> {
    let mut rgb = Vec::with_capacity(counts.len() * 3);
    for &n in counts {
        rgb.extend_from_slice(&colour(n));
    }
    let file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut encoder = png::Encoder::new(file, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.write_header()?.write_image_data(&rgb)?;
    Ok(())
}

fn colour(n: u32) -> [u8; 3] {
    if n >= MAX_ITER {
        return [0, 0, 0];
    }
    let t = (n as f64 / 64.0).min(1.0).sqrt();
    let ramp = |a: f64, b: f64| (255.0 * (a + (b - a) * t)).round() as u8;
    [ramp(0.05, 1.0), ramp(0.05, 0.85), ramp(0.25, 0.3)]
}
