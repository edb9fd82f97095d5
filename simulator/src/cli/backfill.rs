//! `vllm-sim backfill`: a scenario's history as timestamped OpenMetrics, ready for
//! `promtool tsdb create-blocks-from openmetrics`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use clap::Args;

use vllm_sim_lab::lab::{BackfillPlan, backfill_spilled};

/// Arguments of `backfill`, as typed.
#[derive(Debug, Args)]
pub struct BackfillArgs {
    /// A built-in scenario name or a scenario file.
    #[arg(default_value = "healthy")]
    pub scenario: String,
    /// How much history to write.
    #[arg(long, default_value = "30m", value_parser = humantime::parse_duration)]
    pub duration: Duration,
    /// Time between scrapes, as Prometheus's scrape_interval.
    #[arg(long, default_value = "15s", value_parser = humantime::parse_duration)]
    pub interval: Duration,
    /// When the history ends: `now` or Unix seconds. Give it for byte-identical files.
    #[arg(long, default_value = "now")]
    pub end: String,
    /// Where to write; `-` for standard output.
    #[arg(long, short, default_value = "-")]
    pub out: PathBuf,
    /// The `job` label of every series.
    #[arg(long, default_value = vllm_sim_lab::scenario::POD_JOB)]
    pub job: String,
    /// The host part of each pod's `instance` label.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Replace the scenario's seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Every pod impersonates this vLLM release (vllm-X.Y.Z from 0.6.0 to 0.33.0, vllm-0.6, vllm-0.11 or latest) instead of
    /// the one the scenario gives it.
    #[arg(long, value_name = "PROFILE", value_parser = super::parse_profile)]
    pub profile: Option<super::ProfileArg>,
    /// The port of the gateway's `instance` label (job `lab-gateway`).
    #[arg(long, default_value_t = 8000)]
    pub gateway_port: u16,
    /// Log shipping.
    #[command(flatten)]
    pub logs: super::LogArgs,
}

pub(super) fn execute(args: BackfillArgs) -> anyhow::Result<()> {
    let mut scenario = super::resolve_scenario(&args.scenario)?;
    if let Some(seed) = args.seed {
        scenario.seed = seed;
    }
    if let Some(profile) = args.profile {
        scenario = scenario.with_profile(profile.0);
    }
    anyhow::ensure!(
        !args.interval.is_zero(),
        "--interval must be longer than 0s"
    );
    let end = match args.end.as_str() {
        "now" => SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .context("the clock is before 1970")?
            .as_secs(),
        unix => unix
            .parse()
            .with_context(|| format!("--end {unix:?} is neither `now` nor Unix seconds"))?,
    };
    let plan = BackfillPlan {
        start_unix_secs: end.saturating_sub(args.duration.as_secs()) as f64,
        duration: args.duration,
        interval: args.interval,
        job: args.job,
        host: args.host,
        gateway_port: args.gateway_port,
    };
    // Standard output is line-buffered: one large buffer either way. The file is
    // made first, so that a path it cannot take fails before the history is simulated.
    let to_stdout = args.out.as_os_str() == "-";
    let out: Box<dyn Write> = if to_stdout {
        Box::new(std::io::stdout().lock())
    } else {
        Box::new(
            File::create(&args.out)
                .with_context(|| format!("cannot create {}", args.out.display()))?,
        )
    };
    let started = Instant::now();
    // Each hour of scrapes but the last is spilled to the temporary directory (TMPDIR)
    // as it is simulated: memory holds an hour.
    let spill_dir = std::env::temp_dir();
    let writer = backfill_spilled(Arc::new(scenario), &plan, &spill_dir)
        .with_context(|| format!("cannot spill the history to {}", spill_dir.display()))?;
    let mut out = BufWriter::with_capacity(1 << 20, out);
    let samples = writer.write(&mut out)?;
    out.flush()?;
    let secs = started.elapsed().as_secs_f64();
    tracing::info!(
        "{samples} samples from {} to {} in {secs:.2} s ({:.0} samples/s)",
        plan.start_unix_secs,
        end,
        samples as f64 / secs
    );
    Ok(())
}
