//! `vllm-sim scrape-config [SCENARIO]`: print a Prometheus configuration that scrapes
//! every pod of a scenario (replicas included) with its `app` label, and the gateway.

use clap::Args;

/// Arguments of `scrape-config`, as typed.
#[derive(Debug, Args)]
pub struct ScrapeConfigArgs {
    /// A built-in scenario name or a scenario file.
    #[arg(env = "VLLM_SIM_SCENARIO", default_value = "healthy")]
    pub scenario: String,
    /// The host Prometheus reaches the simulator at.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// The gateway's port.
    #[arg(long, default_value_t = 8000)]
    pub gateway_port: u16,
    /// `scrape_interval`, in Prometheus's duration syntax.
    #[arg(long, default_value = "15s")]
    pub interval: String,
}

pub(super) fn execute(args: ScrapeConfigArgs) -> anyhow::Result<()> {
    let scenario = super::resolve_scenario(&args.scenario)?;
    print!(
        "{}",
        scenario.scrape_config(&args.host, args.gateway_port, &args.interval)
    );
    Ok(())
}
