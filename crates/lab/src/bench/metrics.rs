//! The harness metrics of design-11's "Harness Metrics" table, labelled by
//! `scenario_id` (the suite) and `team`: `lab_harness_requests_total`,
//! `lab_harness_pass_total`, `lab_harness_fail_total` and the histogram
//! `lab_harness_latency_ms`, with OpenTelemetry's default bucket bounds (the lab's
//! harness exports them through OTEL to Prometheus).
//!
//! Only the team's own request of each prompt is counted; the baseline comparison
//! request is not. Series are listed in (`scenario_id`, `team`) order.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use vllm_sim_core::metrics::gateway::OTEL_DEFAULT_BOUNDS_MS;

use super::result::HarnessResult;
use super::suite::Suite;

/// One (suite, team)'s series.
#[derive(Debug)]
struct Child {
    requests: Counter,
    passed: Counter,
    failed: Counter,
    latency: Histogram,
}

impl Default for Child {
    fn default() -> Child {
        Child {
            requests: Counter::default(),
            passed: Counter::default(),
            failed: Counter::default(),
            latency: Histogram::new(OTEL_DEFAULT_BOUNDS_MS),
        }
    }
}

/// The series by (`scenario_id`, `team`), in that order, so that every scrape lists
/// them alike (a history's scrapes are compared byte for byte).
type Children = Arc<Mutex<BTreeMap<(String, String), Child>>>;

/// The harness's counters and latency histogram, with a registry holding them.
/// Share it through an `Arc`; every method takes `&self`.
#[derive(Debug)]
pub struct HarnessMetrics {
    children: Children,
    registry: Registry,
}

impl Default for HarnessMetrics {
    fn default() -> HarnessMetrics {
        HarnessMetrics::new()
    }
}

/// What a registry holds of the harness metrics: the four families.
#[derive(Debug)]
struct Families(Children);

impl HarnessMetrics {
    /// The four families, registered in a registry of their own.
    pub fn new() -> HarnessMetrics {
        let mut metrics = HarnessMetrics {
            children: Children::default(),
            registry: Registry::default(),
        };
        let mut registry = Registry::default();
        metrics.register(&mut registry);
        metrics.registry = registry;
        metrics
    }

    /// The registry holding the four families.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Registers the four families in another `registry` too (a server's, such as
    /// the gateway's); both registries show the same values.
    pub fn register(&self, registry: &mut Registry) {
        registry.register_collector(Box::new(Families(self.children.clone())));
    }

    fn with_child(&self, suite: &str, team: &str, f: impl FnOnce(&Child)) {
        let mut children = self.children.lock().unwrap_or_else(|e| e.into_inner());
        f(children
            .entry((suite.to_owned(), team.to_owned()))
            .or_default());
    }

    /// Creates `suite`'s series at zero, so that they exist from the first scrape.
    pub fn init_suite(&self, suite: &Suite) {
        self.with_child(suite.id, suite.team, |_| ());
    }

    /// Counts one result: a request, a pass or a fail, and its latency.
    pub fn record(&self, result: &HarnessResult) {
        self.with_child(&result.scenario_id, &result.team, |child| {
            child.requests.inc();
            if result.passed {
                child.passed.inc();
            } else {
                child.failed.inc();
            }
            child.latency.observe(result.latency_ms);
        });
    }
}

/// Which counter of a child a family shows.
type CounterOf = fn(&Child) -> &Counter;

impl Collector for Families {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        let children = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let labels = |(suite, team): &(String, String)| {
            [("scenario_id", suite.clone()), ("team", team.clone())]
        };
        let counters: [(&str, &str, CounterOf); 3] = [
            (
                "lab_harness_requests",
                "Benchmark prompts sent to a team's model.",
                |c| &c.requests,
            ),
            (
                "lab_harness_pass",
                "Benchmark prompts whose response passed.",
                |c| &c.passed,
            ),
            (
                "lab_harness_fail",
                "Benchmark prompts whose response failed or whose request erred.",
                |c| &c.failed,
            ),
        ];
        for (name, help, counter) in counters {
            let mut family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            for (key, child) in children.iter() {
                counter(child).encode(family.encode_family(&labels(key))?)?;
            }
        }
        let mut family = encoder.encode_descriptor(
            "lab_harness_latency_ms",
            "Latency of benchmark prompts, in milliseconds.",
            None,
            MetricType::Histogram,
        )?;
        for (key, child) in children.iter() {
            child.latency.encode(family.encode_family(&labels(key))?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use prometheus_client::encoding::text::encode;

    use super::super::result::sample;
    use super::*;

    fn is_send_sync<T: Send + Sync>() {}

    #[test]
    fn results_are_counted_by_suite_and_team() {
        is_send_sync::<HarnessMetrics>();
        let metrics = HarnessMetrics::new();
        metrics.init_suite(&super::super::suite::SUITES[2]);
        metrics.record(&sample("math", true, 40.0));
        metrics.record(&sample("math", true, 300.0));
        metrics.record(&sample("code", false, 3000.0));
        let mut text = String::new();
        encode(&mut text, metrics.registry()).expect("encode");
        let labels = r#"scenario_id="benchmark-quant",team="quantization""#;
        for line in [
            "# TYPE lab_harness_requests counter".to_owned(),
            "# HELP lab_harness_pass Benchmark prompts whose response passed.".to_owned(),
            format!("lab_harness_requests_total{{{labels}}} 3"),
            format!("lab_harness_pass_total{{{labels}}} 2"),
            format!("lab_harness_fail_total{{{labels}}} 1"),
            format!("lab_harness_latency_ms_count{{{labels}}} 3"),
            format!("lab_harness_latency_ms_bucket{{le=\"50.0\",{labels}}} 1"),
            format!("lab_harness_latency_ms_bucket{{le=\"500.0\",{labels}}} 2"),
            format!("lab_harness_latency_ms_bucket{{le=\"10000.0\",{labels}}} 3"),
            r#"lab_harness_requests_total{scenario_id="benchmark-eval",team="evaluation"} 0"#
                .to_owned(),
        ] {
            assert!(text.contains(&line), "no {line:?} in\n{text}");
        }
    }
}
