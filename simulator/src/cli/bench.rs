//! `vllm-sim bench`: the benchmark battery against the lab gateway. Results go to a
//! JSON-lines file (or stdout), the summary table to stdout (or stderr when stdout
//! holds the results). Failed prompts are results, not errors: the exit status is
//! non-zero only when the run cannot start or its results cannot be written.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use clap::builder::PossibleValuesParser;
use indicatif::{HumanDuration, ProgressBar, ProgressState, ProgressStyle};

use vllm_sim_lab::bench::{self, BenchConfig, HarnessMetrics, HarnessResult, SUITES};

/// Arguments of `bench`, as typed.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Base URL of the lab gateway; team `t` is at `<URL>/t/v1/...`.
    #[arg(
        long,
        value_name = "URL",
        env = "VLLM_SIM_GATEWAY",
        default_value = "http://127.0.0.1:8000"
    )]
    pub gateway: String,
    /// A suite to run (repeatable); every suite when omitted.
    #[arg(long = "suite", value_name = "ID",
          value_parser = PossibleValuesParser::new(SUITES.iter().map(|s| s.id)))]
    pub suites: Vec<String>,
    /// At most this many prompts per suite.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub limit: Option<u64>,
    /// Requests in flight at once.
    #[arg(long, value_name = "N", default_value_t = bench::DEFAULT_CONCURRENCY as u64,
          value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub concurrency: u64,
    /// Also send every prompt to the FP16 baseline and compare.
    #[arg(long)]
    pub compare_baseline: bool,
    /// The scenario the lab runs (a built-in name or a file), which gives each team's
    /// pass rates and the seed of the pass rule.
    #[arg(
        long,
        value_name = "NAME|FILE",
        env = "VLLM_SIM_SCENARIO",
        default_value = "healthy"
    )]
    pub scenario: String,
    /// Replace the scenario's seed (as `run --seed` does).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Where to write the results, one JSON object per line; `-` for stdout.
    #[arg(long, value_name = "FILE", default_value = "harness-results.jsonl")]
    pub out: PathBuf,
    /// How long one request may take.
    #[arg(long, value_name = "DURATION", default_value = "120s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
    /// Log shipping.
    #[command(flatten)]
    pub logs: super::LogArgs,
}

/// A validated `bench` configuration.
#[derive(Debug)]
struct BenchPlan {
    config: BenchConfig,
    /// `None` for stdout.
    out: Option<PathBuf>,
    quiet: bool,
}

impl TryFrom<BenchArgs> for BenchPlan {
    type Error = anyhow::Error;

    fn try_from(args: BenchArgs) -> anyhow::Result<BenchPlan> {
        let mut scenario = super::resolve_scenario(&args.scenario)?;
        if let Some(seed) = args.seed {
            scenario.seed = seed;
        }
        let suites = if args.suites.is_empty() {
            SUITES.iter().collect()
        } else {
            args.suites
                .iter()
                .map(|id| bench::suite::suite(id).with_context(|| format!("no suite {id}")))
                .collect::<anyhow::Result<_>>()?
        };
        let config = BenchConfig {
            suites,
            limit: args.limit.map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
            concurrency: usize::try_from(args.concurrency).unwrap_or(bench::DEFAULT_CONCURRENCY),
            compare_baseline: args.compare_baseline,
            timeout: args.timeout,
            ..BenchConfig::new(args.gateway, Arc::new(scenario))
        };
        let out = (args.out.as_os_str() != "-").then_some(args.out);
        Ok(BenchPlan {
            config,
            out,
            quiet: args.quiet,
        })
    }
}

pub(super) fn execute(args: BenchArgs) -> anyhow::Result<()> {
    let plan = BenchPlan::try_from(args)?;
    // Opened first, so that a bad path fails before any prompt is sent.
    let mut out: Box<dyn Write> = match &plan.out {
        Some(path) => Box::new(BufWriter::new(
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => Box::new(BufWriter::new(io::stdout().lock())),
    };
    let progress = progress_bar(plan.quiet);
    let metrics = HarnessMetrics::new();
    let results = bench::run(&plan.config, &metrics, &progress)?;
    write_results(&mut out, &results).with_context(|| match &plan.out {
        Some(path) => format!("cannot write {}", path.display()),
        None => "cannot write the results to stdout".to_owned(),
    })?;
    drop(out);
    let table = bench::summary(&results);
    match &plan.out {
        Some(path) => {
            print!("{table}");
            eprintln!("{} results written to {}", results.len(), path.display());
        }
        None => eprint!("{table}"),
    }
    Ok(())
}

fn write_results(out: &mut dyn Write, results: &[HarnessResult]) -> anyhow::Result<()> {
    for result in results {
        serde_json::to_writer(&mut *out, result)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

/// A bar on stderr below the log lines, hidden with `--quiet` or when stderr is not a
/// terminal.
fn progress_bar(quiet: bool) -> ProgressBar {
    if quiet || !io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(0);
    bar.set_style(progress_style());
    vllm_sim_lab::logs::progress_bar(bar)
}

/// `████░░ 12/250 prompts  benchmark-quant  [4s, eta 1m]`; the eta shows once there is
/// one (a prompt done, a rate measured), never as a made-up `eta 0s` at the start.
fn progress_style() -> ProgressStyle {
    let eta = |state: &ProgressState, w: &mut dyn std::fmt::Write| {
        if state.pos() > 0 && !state.is_finished() && state.per_sec() > 0.0 {
            let _ = write!(w, ", eta {:#}", HumanDuration(state.eta()));
        }
    };
    ProgressStyle::with_template("{bar:40} {pos}/{len} prompts  {msg}  [{elapsed}{eta_known}]")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .with_key("eta_known", eta)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn plan(args: &[&str]) -> anyhow::Result<BenchPlan> {
        let cli = Cli::try_parse_from(args)?;
        match cli.command {
            Some(Command::Bench(args)) => BenchPlan::try_from(args),
            other => anyhow::bail!("not bench: {other:?}"),
        }
    }

    #[test]
    fn defaults_run_every_suite_into_a_file() {
        let p = plan(&["vllm-sim", "bench", "--gateway", "http://gw:8000"]).expect("parse");
        assert_eq!(p.config.gateway, "http://gw:8000");
        assert_eq!(p.config.suites.len(), 3);
        assert_eq!(p.config.concurrency, 10);
        assert_eq!(p.config.limit, None);
        assert!(!p.config.compare_baseline);
        assert_eq!(p.out, Some(PathBuf::from("harness-results.jsonl")));
        assert_eq!(p.config.scenario.name, "healthy");
    }

    #[test]
    fn flags_choose_suites_limits_and_stdout() {
        let p = plan(&[
            "vllm-sim",
            "bench",
            "--suite",
            "benchmark-eval",
            "--suite",
            "benchmark-quant",
            "--limit",
            "5",
            "--concurrency",
            "3",
            "--compare-baseline",
            "--seed",
            "9",
            "--out",
            "-",
            "--timeout",
            "5s",
            "--quiet",
        ])
        .expect("parse");
        let ids: Vec<_> = p.config.suites.iter().map(|s| s.id).collect();
        assert_eq!(ids, ["benchmark-eval", "benchmark-quant"]);
        assert_eq!((p.config.limit, p.config.concurrency), (Some(5), 3));
        assert!(p.config.compare_baseline && p.quiet);
        assert_eq!(p.config.scenario.seed, 9);
        assert_eq!(p.out, None);
        assert_eq!(p.config.timeout, Duration::from_secs(5));
        assert!(plan(&["vllm-sim", "bench", "--suite", "benchmark-poetry"]).is_err());
        assert!(plan(&["vllm-sim", "bench", "--limit", "0"]).is_err());
        assert!(plan(&["vllm-sim", "bench", "--concurrency", "0"]).is_err());
    }

    #[test]
    fn the_bar_shows_no_eta_until_it_has_one() {
        use indicatif::ProgressDrawTarget;

        use vllm_sim_lab::logs::screen::Screen;

        let screen = Screen::new(120);
        let bar = ProgressBar::with_draw_target(
            Some(0),
            ProgressDrawTarget::term_like(Box::new(screen.clone())),
        );
        bar.set_style(progress_style());
        bar.set_length(250);
        bar.set_message("benchmark-quant");
        bar.tick();
        let start = screen.text().join("\n");
        assert!(
            start.ends_with("0/250 prompts  benchmark-quant  [0s]"),
            "{start:?}"
        );
        for _ in 0..5 {
            std::thread::sleep(Duration::from_millis(20));
            bar.inc(1);
        }
        let later = screen.text().join("\n");
        let eta = later.split(", eta ").nth(1).unwrap_or_default();
        assert!(
            later.contains("5/250 prompts  benchmark-quant  [0s, eta ")
                && eta.trim_end_matches(']').ends_with('s')
                && !eta.starts_with("0s"),
            "{later:?}"
        );
    }
}
