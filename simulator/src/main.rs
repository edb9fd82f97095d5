//! The `vllm-sim` binary: parse the command line, set up logging, run it, map errors to
//! exit codes.

use std::process::ExitCode;

use clap::Parser;
use vllm_sim::cli::Cli;
use vllm_sim::logs;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Held to the end of `main`: dropping it ships the last log lines.
    let _logs = match logs::init(cli.loki_url()) {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    match cli.execute() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
