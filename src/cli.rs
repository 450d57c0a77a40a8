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
    },
    /// Runs every check of a build and writes nothing.
    Check {
        /// The book's root directory (where book.toml is).
        #[arg(default_value = ".")]
        dir: PathBuf,
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
        Command::Worker => unreachable!("handled in main"),
        Command::Build {
            dir,
            dest_dir,
            remeasure,
            frozen,
            quick,
        } => {
            let start = Instant::now();
            let options = BuildOptions {
                dest_dir,
                quick,
                frozen,
                remeasure,
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
