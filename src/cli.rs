//! Command-line interface (clap). Exit codes: 0 ok, 1 error, 2 usage (clap's default).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};

use crate::build::{self, BuildOptions};

#[derive(Debug, Parser)]
#[command(
    name = "perfguide",
    version,
    about = "Builds books whose chapters run, measure and profile code",
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Builds the book into its output directory (default: book/).
    Build {
        /// The book's root directory (where book.toml is).
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Output directory (overrides [build] build-dir).
        #[arg(short = 'd', long)]
        dest_dir: Option<PathBuf>,
        /// Measure again even if stored measurements are fresh; FILTER is a substring or a
        /// glob on kernel/variant ids (default: everything).
        #[arg(long, value_name = "FILTER", num_args = 0..=1, default_missing_value = "*")]
        remeasure: Vec<String>,
        /// Never measure: fail if a needed measurement is missing or stale.
        #[arg(long, conflicts_with = "remeasure")]
        frozen: bool,
        /// Short measurement budget (for CI); such numbers are labelled on the page.
        #[arg(long)]
        quick: bool,
        /// Fail if the Python rungs cannot be measured (no interpreter or packages).
        #[arg(long)]
        require_python: bool,
    },
    /// Builds, serves the book on localhost, rebuilds on every change and reloads the open
    /// pages. Never measures: stale or missing measurements are shown as such.
    Serve {
        /// The book's root directory (where book.toml is).
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Port to listen on (0 picks a free one).
        #[arg(short = 'p', long, default_value_t = 3000)]
        port: u16,
        /// Address to bind; the default serves this machine only.
        #[arg(short = 'n', long, default_value = "127.0.0.1")]
        hostname: String,
        /// Output directory (overrides [build] build-dir).
        #[arg(short = 'd', long)]
        dest_dir: Option<PathBuf>,
        /// Open the book in the default web browser.
        #[arg(long)]
        open: bool,
    },
    /// Runs every check of a build and writes nothing.
    Check {
        /// The book's root directory (where book.toml is).
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
    /// Measures kernel variants in the terminal (a hyperfine-like table); compares with a
    /// saved baseline and exits with status 1 on a significant regression.
    Bench {
        /// Substrings or globs of kernel/variant ids (default: every variant).
        filters: Vec<String>,
        /// Short budget, for CI smoke tests.
        #[arg(long)]
        quick: bool,
        /// Write every record as JSON.
        #[arg(long, value_name = "FILE")]
        export_json: Option<PathBuf>,
        /// Write a Markdown table.
        #[arg(long, value_name = "FILE")]
        export_markdown: Option<PathBuf>,
        /// Write Bencher Metric Format (BMF) JSON.
        #[arg(long, value_name = "FILE")]
        export_bmf: Option<PathBuf>,
        /// Save the results as a named baseline (under target/perfguide/baselines/).
        #[arg(long, value_name = "NAME")]
        save_baseline: Option<String>,
        /// Compare with a saved baseline.
        #[arg(long, value_name = "NAME")]
        baseline: Option<String>,
        /// A slow-down smaller than this (percent) is not a regression, however significant.
        #[arg(long, value_name = "PCT", default_value_t = 5.0)]
        threshold: f64,
        /// The book (for its [measure] settings).
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
    /// Lists the kernels and their variants, and what each can use on this CPU.
    List {
        /// The book (for its [python] settings).
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
    /// Profiles one kernel variant and prints its top functions (self %, total %, samples).
    Profile {
        /// The variant, as kernel/variant (e.g. mandelbrot/scalar).
        id: String,
        /// Also write the flame graph (SVG) to this file.
        #[arg(long, value_name = "FILE")]
        flamegraph: Option<PathBuf>,
        /// Threads for a threaded variant (default: every logical core).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
        threads: Option<u64>,
        /// Seconds of profiled runs (at about 1,000 samples per second per thread).
        #[arg(long, value_name = "S", default_value_t = crate::profile::DEFAULT_SECONDS)]
        seconds: f64,
        /// Count instructions per function with valgrind's callgrind instead of sampling.
        #[arg(long, conflicts_with = "flamegraph")]
        instructions: bool,
        /// How many functions to list.
        #[arg(long, value_name = "N", default_value_t = 15)]
        top: usize,
    },
    /// Internal: measures one kernel variant in a child process (see worker.rs).
    #[command(name = "__worker", hide = true)]
    Worker,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if matches!(cli.command, Command::Worker) {
        return crate::worker::main();
    }
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", build::describe(&e));
            ExitCode::from(1)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Worker => {
            // Handled in `main` before any other work; kept total for the compiler.
            return Ok(());
        }
        Command::List { dir } => print!("{}", crate::bench::list(&dir)),
        Command::Profile {
            id,
            flamegraph,
            threads,
            seconds,
            instructions,
            top,
        } => {
            if !(seconds.is_finite() && seconds > 0.0 && seconds <= 600.0) {
                anyhow::bail!("--seconds must be between 0 and 600, got {seconds}");
            }
            crate::profile::cli(
                &id,
                threads.map(|t| t as usize),
                seconds,
                instructions,
                flamegraph.as_deref(),
                top,
            )?;
        }
        Command::Bench {
            filters,
            quick,
            export_json,
            export_markdown,
            export_bmf,
            save_baseline,
            baseline,
            threshold,
            dir,
        } => {
            let regressed = crate::bench::run(&crate::bench::BenchArgs {
                dir,
                filters,
                quick,
                export_json,
                export_markdown,
                export_bmf,
                save_baseline,
                baseline,
                threshold_percent: threshold,
            })?;
            if regressed {
                anyhow::bail!("a variant regressed significantly against the baseline");
            }
        }
        Command::Build {
            dir,
            dest_dir,
            remeasure,
            frozen,
            quick,
            require_python,
        } => {
            let start = Instant::now();
            let options = BuildOptions {
                dest_dir,
                quick,
                frozen,
                remeasure,
                require_python,
                ..BuildOptions::default()
            };
            let report = build::build(&dir, &options)?;
            for note in &report.notes {
                eprintln!("note: {note}");
            }
            if report.up_to_date {
                eprintln!(
                    "{} is up to date (no input changed) [{:.2?}]",
                    report.dest.display(),
                    start.elapsed()
                );
                return Ok(());
            }
            eprintln!(
                "built {} pages ({} files) into {} in {:.2?}",
                report.pages,
                report.files,
                report.dest.display(),
                start.elapsed()
            );
        }
        Command::Serve {
            dir,
            port,
            hostname,
            dest_dir,
            open,
        } => crate::serve::serve(&crate::serve::ServeOptions {
            dir,
            dest_dir,
            host: hostname,
            port,
            open,
        })?,
        Command::Check { dir } => {
            let report = build::check(&dir)?;
            for note in &report.notes {
                eprintln!("note: {note}");
            }
            eprintln!("checked {} pages: no problems found", report.pages);
        }
    }
    Ok(())
}
