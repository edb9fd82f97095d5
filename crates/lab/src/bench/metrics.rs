//! The harness metrics of design-11's "Harness Metrics" table, labelled by
//! `scenario_id` (the suite) and `team`: `lab_harness_requests_total`,
//! `lab_harness_pass_total`, `lab_harness_fail_total` and the histogram
//! `lab_harness_latency_ms`, with OpenTelemetry's default bucket bounds (the lab's
//! harness exports them through OTEL to Prometheus).
//!
//! Only the team's own request of each prompt is counted; the baseline comparison
//! request is not.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use vllm_sim_core::metrics::gateway::OTEL_DEFAULT_BOUNDS_MS;

use super::result::HarnessResult;
use super::suite::Suite;

/// The labels of every harness series.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Labels {
    scenario_id: String,
    team: String,
}

fn latency_histogram() -> Histogram {
    Histogram::new(OTEL_DEFAULT_BOUNDS_MS)
}

/// The harness's counters and latency histogram, with a registry holding them.
/// Share it through an `Arc`; every method takes `&self`.
#[derive(Debug)]
pub struct HarnessMetrics {
    requests: Family<Labels, Counter>,
    passed: Family<Labels, Counter>,
    failed: Family<Labels, Counter>,
    latency: Family<Labels, Histogram>,
    registry: Registry,
}

impl Default for HarnessMetrics {
    fn default() -> HarnessMetrics {
        HarnessMetrics::new()
    }
}

impl HarnessMetrics {
    /// The four families, registered in a registry of their own.
    pub fn new() -> HarnessMetrics {
        let mut metrics = HarnessMetrics {
            requests: Family::default(),
            passed: Family::default(),
            failed: Family::default(),
            latency: Family::new_with_constructor(latency_histogram),
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
        registry.register(
            "lab_harness_requests",
            "Benchmark prompts sent to a team's model",
            self.requests.clone(),
        );
        registry.register(
            "lab_harness_pass",
            "Benchmark prompts whose response passed",
            self.passed.clone(),
        );
        registry.register(
            "lab_harness_fail",
            "Benchmark prompts whose response failed or whose request erred",
            self.failed.clone(),
        );
        registry.register(
            "lab_harness_latency_ms",
            "Latency of benchmark prompts, in milliseconds",
            self.latency.clone(),
        );
    }

    /// Creates `suite`'s series at zero, so that they exist from the first scrape.
    pub fn init_suite(&self, suite: &Suite) {
        let labels = Labels {
            scenario_id: suite.id.to_owned(),
            team: suite.team.to_owned(),
        };
        drop(self.requests.get_or_create(&labels));
        drop(self.passed.get_or_create(&labels));
        drop(self.failed.get_or_create(&labels));
        drop(self.latency.get_or_create(&labels));
    }

    /// Counts one result: a request, a pass or a fail, and its latency.
    pub fn record(&self, result: &HarnessResult) {
        let labels = Labels {
            scenario_id: result.scenario_id.clone(),
            team: result.team.clone(),
        };
        self.requests.get_or_create(&labels).inc();
        if result.passed {
            self.passed.get_or_create(&labels).inc();
        } else {
            self.failed.get_or_create(&labels).inc();
        }
        self.latency
            .get_or_create(&labels)
            .observe(result.latency_ms);
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
