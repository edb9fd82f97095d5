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

use vllm_sim_lab::scenario::{self, BUILTIN, Scenario};

pub use releases::vllm_releases;
pub use verify::verify_report;

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
}

/// Where log lines go besides stderr: an argument of the subcommands that log (`run`,
/// `bench`, `backfill`), and of no other.
#[derive(Debug, Default, clap::Args)]
pub struct LogArgs {
    /// Also push log lines to this Loki (http:// only; its base URL, e.g.
    /// http://loki:3100, or the full push URL).
    #[arg(long, value_name = "URL", env = "VLLM_SIM_LOKI_URL")]
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
    /// The Loki to ship log lines to, for the subcommands that log.
    pub fn loki_url(&self) -> Option<&str> {
        let logs = match &self.command {
            None => &self.run.logs,
            Some(Command::Run(args)) => &args.logs,
            Some(Command::Bench(args)) => &args.logs,
            Some(Command::Backfill(args)) => &args.logs,
            Some(
                Command::Check(_)
                | Command::Metrics(_)
                | Command::Verify(_)
                | Command::Migrate(_)
                | Command::ScrapeConfig(_),
            ) => return None,
        };
        logs.loki_url.as_deref()
    }

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
                print!("{}", vllm_sim_core::catalogue::markdown(args.profile.0));
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
pub struct ProfileArg(pub vllm_sim_core::catalogue::Profile);

pub(super) fn parse_profile(name: &str) -> Result<ProfileArg, String> {
    vllm_sim_core::catalogue::Profile::from_name(name)
        .map(ProfileArg)
        .map_err(|e| e.to_string())
}

/// The lab gateway's port, as the shipped scrape configurations expect it.
const DEFAULT_GATEWAY_PORT: u16 = 8000;

/// The port each pod of `scenario` listens on under `--base-port`: consecutive ports
/// from `base`, in scenario order (each replica its own); every one 0 (a free port)
/// when `base` is 0; the scenario's own ports without it.
fn pod_ports(scenario: &Scenario, base_port: Option<u16>) -> anyhow::Result<Vec<u16>> {
    scenario
        .pods
        .iter()
        .enumerate()
        .map(|(i, p)| match base_port {
            Some(0) => Ok(0),
            Some(base) => u16::try_from(usize::from(base) + i)
                .context("--base-port leaves no room for every pod"),
            None => Ok(p.port),
        })
        .collect()
}

/// The gateway's port: `--gateway-port`, else the port before `--base-port` (0, a free
/// port, when that is 0), else 8000.
fn gateway_port(gateway_port: Option<u16>, base_port: Option<u16>) -> u16 {
    match (gateway_port, base_port) {
        (Some(port), _) => port,
        (None, Some(base)) => base.saturating_sub(1),
        (None, None) => DEFAULT_GATEWAY_PORT,
    }
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

#[cfg(test)]
mod tests {
    use clap::{CommandFactory as _, Parser as _};

    use super::*;

    const URL: &str = "http://loki:3100";

    #[test]
    fn loki_url_belongs_to_the_subcommands_that_log() {
        let run = Cli::try_parse_from(["vllm-sim", "--loki-url", URL, "judge-backlog"]).unwrap();
        assert!(run.command.is_none());
        assert_eq!(run.run.scenario, "judge-backlog");
        assert_eq!(run.loki_url(), Some(URL));
        for sub in ["run", "bench", "backfill"] {
            let cli = Cli::try_parse_from(["vllm-sim", sub, "--loki-url", URL]).unwrap();
            assert_eq!(cli.loki_url(), Some(URL), "{sub}");
        }
        let bench = Cli::try_parse_from(["vllm-sim", "bench", "--loki-url", URL]).unwrap();
        assert!(matches!(bench.command, Some(Command::Bench(_))));
    }

    #[test]
    fn loki_url_is_no_flag_of_the_subcommands_that_do_not_log() {
        for sub in [
            &["check", "x.yaml"][..],
            &["metrics"],
            &["migrate", "d.json", "--to", "latest"],
            &["scrape-config"],
            &["verify", "--prometheus", "http://p:9090"],
        ] {
            let args = [&["vllm-sim"][..], sub, &["--loki-url", URL]].concat();
            let err = Cli::try_parse_from(&args).unwrap_err().to_string();
            assert!(
                err.contains("unexpected argument '--loki-url'"),
                "{sub:?}: {err}"
            );
            let help = Cli::command()
                .find_subcommand_mut(sub[0])
                .unwrap()
                .render_long_help()
                .to_string();
            assert!(!help.contains("loki-url"), "{sub:?}: {help}");
        }
        // `args_conflicts_with_subcommands`: a top-level flag means "no subcommand".
        assert!(Cli::try_parse_from(["vllm-sim", "--loki-url", URL, "check", "x.yaml"]).is_err());
    }

    #[test]
    fn base_port_counts_the_pods_in_scenario_order() {
        let healthy = scenario::builtin("healthy").unwrap();
        assert_eq!(pod_ports(&healthy, None).unwrap(), [8001, 8002, 8003, 8004]);
        assert_eq!(
            pod_ports(&healthy, Some(9101)).unwrap(),
            [9101, 9102, 9103, 9104]
        );
        assert_eq!(pod_ports(&healthy, Some(0)).unwrap(), [0, 0, 0, 0]);
        let e = pod_ports(&healthy, Some(65534)).unwrap_err();
        assert_eq!(e.to_string(), "--base-port leaves no room for every pod");
        assert_eq!(gateway_port(None, None), 8000);
        assert_eq!(gateway_port(None, Some(9101)), 9100);
        assert_eq!(gateway_port(None, Some(0)), 0);
        assert_eq!(gateway_port(Some(7000), Some(9101)), 7000);
    }
}
