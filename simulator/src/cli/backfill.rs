//! `vllm-sim backfill`: a scenario's history as timestamped OpenMetrics.

use clap::Args;

/// Arguments of `backfill`.
#[derive(Debug, Args)]
pub struct BackfillArgs {}

pub(super) fn execute(_args: BackfillArgs) -> anyhow::Result<()> {
    anyhow::bail!("not implemented yet")
}
