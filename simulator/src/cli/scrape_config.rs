//! `vllm-sim scrape-config [SCENARIO]`: print a Prometheus configuration that scrapes
//! every pod of a scenario (replicas included) with its `app` label, and the gateway,
//! on the ports `vllm-sim run` gives them with the same `--base-port` and
//! `--gateway-port`.

use clap::Args;

use vllm_sim_lab::scenario::Scenario;

/// Arguments of `scrape-config`, as typed.
#[derive(Debug, Args)]
pub struct ScrapeConfigArgs {
    /// A built-in scenario name or a scenario file.
    #[arg(env = "VLLM_SIM_SCENARIO", default_value = "healthy")]
    pub scenario: String,
    /// The host Prometheus reaches the simulator at.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// The pods are on consecutive ports from this one, in scenario order, as `run
    /// --base-port` puts them; the scenario's ports when omitted.
    #[arg(long, env = "VLLM_SIM_BASE_PORT")]
    pub base_port: Option<u16>,
    /// The gateway's port, as `run --gateway-port`: 8000, or the port before
    /// `--base-port`.
    #[arg(long, env = "VLLM_SIM_GATEWAY_PORT")]
    pub gateway_port: Option<u16>,
    /// `scrape_interval`, in Prometheus's duration syntax.
    #[arg(long, default_value = "15s")]
    pub interval: String,
}

/// The scenario with each pod on the port `run` gives it, and the gateway's port.
fn placed(args: &ScrapeConfigArgs) -> anyhow::Result<(Scenario, u16)> {
    anyhow::ensure!(
        args.base_port != Some(0),
        "--base-port 0 picks free ports when `run` starts, which no configuration can know; \
         give the first port instead"
    );
    let mut scenario = super::resolve_scenario(&args.scenario)?;
    let ports = super::pod_ports(&scenario, args.base_port)?;
    for (pod, port) in scenario.pods.iter_mut().zip(ports) {
        pod.port = port;
    }
    let gateway = super::gateway_port(args.gateway_port, args.base_port);
    anyhow::ensure!(
        gateway != 0,
        "--gateway-port 0 picks a free port when `run` starts; give the port instead"
    );
    Ok((scenario, gateway))
}

pub(super) fn execute(args: ScrapeConfigArgs) -> anyhow::Result<()> {
    let (scenario, gateway_port) = placed(&args)?;
    print!(
        "{}",
        scenario.scrape_config(&args.host, gateway_port, &args.interval)
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;
    use crate::cli::{Cli, Command};

    fn config(args: &[&str]) -> anyhow::Result<String> {
        let cli = Cli::try_parse_from(["vllm-sim", "scrape-config"].iter().chain(args))?;
        let Some(Command::ScrapeConfig(args)) = cli.command else {
            anyhow::bail!("not scrape-config");
        };
        let (scenario, gateway) = placed(&args)?;
        Ok(scenario.scrape_config(&args.host, gateway, &args.interval))
    }

    /// The targets of each job, in order.
    fn targets(yaml: &str) -> Vec<Vec<String>> {
        let config: serde_json::Value = serde_saphyr::from_str(yaml).unwrap();
        config["scrape_configs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|job| {
                job["static_configs"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .flat_map(|s| s["targets"].as_array().unwrap().clone())
                    .map(|t| t.as_str().unwrap().to_owned())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn base_port_moves_the_pods_and_the_gateway_as_run_does() {
        let moved = config(&["--base-port", "22101"]).unwrap();
        assert_eq!(
            targets(&moved),
            [
                vec![
                    "127.0.0.1:22101",
                    "127.0.0.1:22102",
                    "127.0.0.1:22103",
                    "127.0.0.1:22104"
                ],
                vec!["127.0.0.1:22100"]
            ]
        );
        let gateway = config(&["--base-port", "22101", "--gateway-port", "22000"]).unwrap();
        assert_eq!(targets(&gateway)[1], ["127.0.0.1:22000"]);
        let default = config(&[]).unwrap();
        assert_eq!(targets(&default)[0][0], "127.0.0.1:8001");
        assert_eq!(targets(&default)[1], ["127.0.0.1:8000"]);
    }

    #[test]
    fn free_ports_cannot_be_configured() {
        let e = config(&["--base-port", "0"]).unwrap_err().to_string();
        assert!(e.starts_with("--base-port 0 picks free ports"), "{e}");
        let e = config(&["--gateway-port", "0"]).unwrap_err().to_string();
        assert!(e.starts_with("--gateway-port 0 picks a free port"), "{e}");
        let e = config(&["--base-port", "65534"]).unwrap_err().to_string();
        assert_eq!(e, "--base-port leaves no room for every pod");
    }
}
