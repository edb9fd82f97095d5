//! The `vllm-sim` binary: parse the command line, set up logging, run it, map errors to
//! exit codes. With the `jemalloc` feature it allocates with jemalloc, which gives freed
//! memory back to the system.

use std::process::ExitCode;

use clap::Parser;
use vllm_sim::cli::Cli;
use vllm_sim::logs;

/// jemalloc with its background thread, which returns freed memory to the system
/// within seconds. glibc's malloc kept what a flood of 19,800 idle connections had
/// freed, some 300 MB, after they all closed (BENCHMARKS.md, section 5).
#[cfg(all(feature = "jemalloc", not(target_env = "msvc")))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

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
