//! `vllm-sim bench`: the benchmark battery against the gateway (work in progress).

use clap::Args;

/// Arguments of `bench`, as typed.
#[derive(Debug, Args)]
pub struct BenchArgs {}

pub(super) fn execute(_args: BenchArgs) -> anyhow::Result<()> {
    anyhow::bail!("not yet")
}
