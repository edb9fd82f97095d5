//! The command line: clap types, their one-time conversion into typed configs, and
//! one file per subcommand; `releases` turns the catalogue into the plain table the
//! rig reads. This is the only module that uses `anyhow`.

mod backfill;
mod bench;
mod check;
mod migrate;
mod releases;
mod run;
mod scrape_config;
mod verify;

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::scenario::{self, BUILTIN, Scenario};

pub use releases::vllm_releases;

/// A synthetic vLLM lab: four Mistral-7B pods exposing vLLM's Prometheus metrics.
#[derive(Debug, Parser)]
#[command(name = "vllm-sim", version, about, propagate_version = true)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// What to do; `run` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// The arguments of `run`, for when no subcommand is given.
    #[command(flatten)]
    pub run: run::RunArgs,
    /// Loki base URL to ship log lines to (e.g. http://loki:3100)
    #[arg(long, global = true, env = "VLLM_SIM_LOKI_URL")]
    pub loki_url: Option<String>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve every pod of a scenario until Ctrl-C.
    Run(run::RunArgs),
    /// Validate scenario files without serving them.
    Check(check::CheckArgs),
    /// Print the simulated vLLM metrics as a Markdown table.
    Metrics(MetricsArgs),
    /// Check every panel of a Grafana dashboard against a Prometheus.
    Verify(verify::VerifyArgs),
    /// Rewrite a dashboard's queries for a vLLM release's metrics.
    Migrate(migrate::MigrateArgs),
    /// Write a scenario's history as timestamped OpenMetrics, for promtool's backfill.
    Backfill(backfill::BackfillArgs),
    /// Run the benchmark battery against the lab gateway.
    Bench(bench::BenchArgs),
    /// Print a Prometheus scrape configuration for a scenario's pods and gateway.
    ScrapeConfig(scrape_config::ScrapeConfigArgs),
}

impl Cli {
    /// Runs the command; the process exit code follows from the result.
    pub fn execute(self) -> anyhow::Result<()> {
        match self.command.unwrap_or(Command::Run(self.run)) {
            Command::Run(args) => run::execute(args),
            Command::Check(args) => check::execute(args),
            Command::Verify(args) => verify::execute(args),
            Command::Migrate(args) => migrate::execute(args),
            Command::Backfill(args) => backfill::execute(args),
            Command::Bench(args) => bench::execute(args),
            Command::ScrapeConfig(args) => scrape_config::execute(args),
            Command::Metrics(args) => {
                print!("{}", crate::catalogue::markdown(args.profile.0));
                Ok(())
            }
        }
    }
}

/// Arguments of `metrics`.
#[derive(Debug, clap::Args)]
pub struct MetricsArgs {
    /// The vLLM release whose metrics to list: vllm-X.Y.Z, vllm-0.6, vllm-0.11 or latest.
    #[arg(long, value_name = "PROFILE", default_value = "vllm-0.6", value_parser = parse_profile)]
    pub profile: ProfileArg,
}

/// A profile named on the command line.
#[derive(Clone, Copy, Debug)]
pub struct ProfileArg(pub crate::catalogue::Profile);

pub(super) fn parse_profile(name: &str) -> Result<ProfileArg, String> {
    crate::catalogue::Profile::from_name(name)
        .map(ProfileArg)
        .map_err(|e| e.to_string())
}

/// A scenario named on the command line: a built-in name or a file path.
fn resolve_scenario(arg: &str) -> anyhow::Result<Scenario> {
    if let Some(s) = scenario::builtin(arg) {
        return Ok(s);
    }
    let path = PathBuf::from(arg);
    if !path.exists() {
        let names: Vec<_> = BUILTIN.iter().map(|(n, _)| *n).collect();
        anyhow::bail!(
            "no scenario file {arg:?} and no built-in scenario of that name (built-ins: {})",
            names.join(", ")
        );
    }
    scenario::load_file(&path).with_context(|| format!("invalid scenario {}", path.display()))
}
