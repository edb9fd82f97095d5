//! `vllm-sim verify`: check every panel of a dashboard against a Prometheus.

use clap::Args;

/// Arguments of `verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {}

pub(super) fn execute(_args: VerifyArgs) -> anyhow::Result<()> {
    anyhow::bail!("not implemented yet")
}
