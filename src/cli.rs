//! Command-line interface (clap). Exit codes: 0 ok, 1 error, 2 usage.

use std::process::ExitCode;

use clap::Parser;

#[derive(Debug, Parser)]
#[command(name = "perfguide", version, about)]
pub struct Cli {}

pub fn main() -> ExitCode {
    let _cli = Cli::parse();
    ExitCode::SUCCESS
}
