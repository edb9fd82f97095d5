//! The Prometheus configuration that scrapes a lab as its own scrape configuration
//! would: job `vllm` with each pod's `app` label, job `lab-gateway` for the gateway.
//! Serialized, so no host or name a user types can break the YAML.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use super::{GATEWAY_JOB, POD_JOB};

/// Prometheus's default `scrape_timeout`, which must not exceed the interval.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Serialize)]
struct Config<'a> {
    global: Global<'a>,
    scrape_configs: Vec<Job<'a>>,
}

#[derive(Serialize)]
struct Global<'a> {
    scrape_interval: &'a str,
    /// The interval itself when it is shorter than Prometheus's default timeout.
    #[serde(skip_serializing_if = "Option::is_none")]
    scrape_timeout: Option<&'a str>,
    evaluation_interval: &'a str,
}

#[derive(Serialize)]
struct Job<'a> {
    job_name: &'a str,
    static_configs: Vec<Targets<'a>>,
}

#[derive(Serialize)]
struct Targets<'a> {
    targets: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    labels: BTreeMap<&'a str, &'a str>,
}

/// The configuration for `pods` (`app` and `host:port` each; the replicas of an app
/// become one group of targets) and the gateway at `gateway`, every `interval`
/// (Prometheus's duration syntax).
pub fn config(pods: &[(&str, String)], gateway: &str, interval: &str) -> String {
    let mut apps: Vec<&str> = Vec::new();
    for (app, _) in pods {
        if !apps.contains(app) {
            apps.push(app);
        }
    }
    let groups = apps
        .into_iter()
        .map(|app| Targets {
            targets: (pods.iter())
                .filter(|(a, _)| *a == app)
                .map(|(_, target)| target.clone())
                .collect(),
            labels: BTreeMap::from([("app", app)]),
        })
        .collect();
    let short = humantime::parse_duration(interval).is_ok_and(|d| d < DEFAULT_TIMEOUT);
    let config = Config {
        global: Global {
            scrape_interval: interval,
            scrape_timeout: short.then_some(interval),
            evaluation_interval: interval,
        },
        scrape_configs: vec![
            Job {
                job_name: POD_JOB,
                static_configs: groups,
            },
            Job {
                job_name: GATEWAY_JOB,
                static_configs: vec![Targets {
                    targets: vec![gateway.to_owned()],
                    labels: BTreeMap::new(),
                }],
            },
        ],
    };
    serde_saphyr::to_string(&config).unwrap_or_else(|e| format!("# {e}\n"))
}

#[cfg(test)]
mod tests {
    /// Prometheus refuses a timeout above the interval: a short interval brings its own.
    #[test]
    fn a_short_interval_sets_the_timeout() {
        let pods = [("a", "h:1".to_owned()), ("a", "h:2".to_owned())];
        let short = super::config(&pods, "h:0", "5s");
        assert!(short.contains("scrape_timeout: 5s"), "{short}");
        let long = super::config(&pods, "h:0", "15s");
        assert!(!long.contains("scrape_timeout"), "{long}");
        assert!(long.contains("- h:1\n"), "{long}");
    }
}
