//! Runs one Julia-set variant of the kernels crate standalone: prints its time, checksum and
//! the work each thread did, and writes the image.
//!
//! ```text
//! cargo run --release --example julia -- --variant static-blocks --threads 3 --png j.png
//! cargo run --release --example julia -- --list
//! ```

use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use perfguide_kernels::julia;
use perfguide_kernels::mandelbrot::MAX_ITER;
use perfguide_kernels::{Outcome, Problem};

#[derive(Parser)]
#[command(about = "Run a Julia-set variant of perfguide's kernels")]
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
    /// List the variants and the SIMD path each would take on this CPU.
    #[arg(long)]
    list: bool,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let kernel = &julia::KERNEL;
    if args.list {
        for v in kernel.variants {
            let path = (v.simd_path)().unwrap_or("-");
            println!("{:14} {:7} {}", v.name, path, v.lesson);
        }
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
    let id = format!("julia/{}", variant.name);
    let Outcome::Fractal {
        counts,
        per_thread_work,
    } = &outcome
    else {
        return Err("a Julia variant returned no image".into());
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
        "time: best {:.3} ms, median {:.3} ms of {} run(s)",
        times[0] * 1e3,
        times[times.len() / 2] * 1e3,
        times.len()
    );
    println!("checksum: sum of counts {iterations}, {maxed} pixels at {MAX_ITER}");
    if !per_thread_work.is_empty() {
        let busiest = *per_thread_work.iter().max().unwrap_or(&0) as f64;
        let mean = iterations as f64 / per_thread_work.len() as f64;
        println!(
            "iterations per thread: {per_thread_work:?} (busiest thread {:.2}x the mean)",
            busiest / mean.max(1.0)
        );
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

/// Writes escape counts as an RGB PNG: black inside the set, a smooth violet-white ramp
/// outside.
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
    [ramp(0.1, 1.0), ramp(0.0, 0.9), ramp(0.3, 1.0)]
}
