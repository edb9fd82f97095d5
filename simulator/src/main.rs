//! The `vllm-sim` binary: parse the command line, set up logging, run it, map errors to
//! exit codes. It allocates with jemalloc, which gives freed memory back to the system.

use std::process::ExitCode;

use clap::Parser;
use vllm_sim::cli::Cli;
use vllm_sim::logs;

/// jemalloc with its background thread, which returns freed memory to the system
/// within seconds. glibc's malloc kept what a flood of 19,800 idle connections had
/// freed, some 300 MB, after they all closed (BENCHMARKS.md, section 5).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Held to the end of `main`: dropping it ships the last log lines.
    let _logs = match logs::init(cli.loki_url.as_deref()) {
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

#[cfg(test)]
mod tests {
    use clap::Parser as _;
    use vllm_sim::cli::{Cli, Command};

    const URL: &str = "http://loki:3100";

    #[test]
    fn loki_url_is_taken_without_a_subcommand_and_after_any_subcommand() {
        let run = Cli::try_parse_from(["vllm-sim", "--loki-url", URL, "judge-backlog"]).unwrap();
        assert!(run.command.is_none());
        assert_eq!(run.run.scenario, "judge-backlog");
        assert_eq!(run.loki_url.as_deref(), Some(URL));
        for sub in ["run", "bench", "metrics"] {
            let cli = Cli::try_parse_from(["vllm-sim", sub, "--loki-url", URL]).unwrap();
            assert_eq!(cli.loki_url.as_deref(), Some(URL), "{sub}");
        }
        let bench = Cli::try_parse_from(["vllm-sim", "bench", "--loki-url", URL]).unwrap();
        assert!(matches!(bench.command, Some(Command::Bench(_))));
    }

    #[test]
    fn loki_url_before_a_subcommand_is_a_run_argument() {
        // `args_conflicts_with_subcommands`: any top-level flag, this global one included,
        // means "no subcommand", so the flag goes after the subcommand (or in the env).
        assert!(Cli::try_parse_from(["vllm-sim", "--loki-url", URL, "check", "x.yaml"]).is_err());
    }
}
