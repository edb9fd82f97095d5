//! The gateway's own metrics, as design-11's "Gateway Metrics" table names them:
//! `lab_gateway_requests_total{team,status}` and the histogram
//! `lab_gateway_request_duration_ms{team}`, with OpenTelemetry's default bucket bounds
//! (the lab's gateway exports them through OTEL to Prometheus).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// OpenTelemetry SDK's default explicit bucket bounds (milliseconds).
pub const OTEL_DEFAULT_BOUNDS_MS: [f64; 15] = [
    0.0, 5.0, 10.0, 25.0, 50.0, 75.0, 100.0, 250.0, 500.0, 750.0, 1000.0, 2500.0, 5000.0, 7500.0,
    10000.0,
];

/// What routing adds to a request's latency (milliseconds).
pub const ROUTING_MS: f64 = 1.5;

/// Status label of a request whose client hung up first (nginx's convention).
pub const CLIENT_CLOSED: u16 = 499;

/// The gateway's request counter and latency histogram, children kept in label order
/// so that encodings (and backfills) are reproducible. Clones share storage.
#[derive(Clone, Debug, Default)]
pub struct GatewayMetrics(Arc<Mutex<Children>>);

/// By team.
type Children = BTreeMap<String, Team>;

/// One team's children.
#[derive(Debug)]
struct Team {
    /// By status.
    requests: BTreeMap<u16, Counter>,
    duration: Histogram,
}

impl GatewayMetrics {
    /// Counts one request of `team` that ended with HTTP `status` after `millis`.
    pub fn observe(&self, team: &str, status: u16, millis: f64) {
        let mut children = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if !children.contains_key(team) {
            let new = Team {
                requests: BTreeMap::new(),
                duration: Histogram::new(OTEL_DEFAULT_BOUNDS_MS),
            };
            children.insert(team.to_owned(), new);
        }
        if let Some(children) = children.get_mut(team) {
            children.requests.entry(status).or_default().inc();
            children.duration.observe(millis);
        }
    }

    /// Registers both families in `registry`.
    pub fn register(&self, registry: &mut Registry) {
        registry.register_collector(Box::new(self.clone()));
    }
}

impl Collector for GatewayMetrics {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        let children = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let mut family = encoder.encode_descriptor(
            "lab_gateway_requests",
            "Requests through the lab gateway, by team and HTTP status",
            None,
            MetricType::Counter,
        )?;
        for (team, children) in children.iter() {
            for (status, counter) in &children.requests {
                let labels = [("team", team.clone()), ("status", status.to_string())];
                counter.encode(family.encode_family(&labels)?)?;
            }
        }
        let mut family = encoder.encode_descriptor(
            "lab_gateway_request_duration_ms",
            "Time from a request's arrival at the gateway to its last byte, in milliseconds",
            None,
            MetricType::Histogram,
        )?;
        for (team, children) in children.iter() {
            children
                .duration
                .encode(family.encode_family(&[("team", team.clone())])?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_print_as_the_spec_names_them() {
        let metrics = GatewayMetrics::default();
        metrics.observe("quantization", 200, 420.0);
        metrics.observe("quantization", 200, 7.0);
        metrics.observe("evaluation", 503, 1.0);
        let mut registry = Registry::default();
        metrics.register(&mut registry);
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &registry).unwrap();
        assert!(out.contains("# TYPE lab_gateway_requests counter"), "{out}");
        assert!(
            out.contains(r#"lab_gateway_requests_total{team="quantization",status="200"} 2"#),
            "{out}"
        );
        assert!(out.contains(r#"lab_gateway_requests_total{team="evaluation",status="503"} 1"#));
        assert!(out.contains("# TYPE lab_gateway_request_duration_ms histogram"));
        assert!(out.contains(
            r#"lab_gateway_request_duration_ms_bucket{le="10.0",team="quantization"} 1"#
        ));
        assert!(out.contains(r#"lab_gateway_request_duration_ms_count{team="quantization"} 2"#));
        assert!(
            out.contains(r#"lab_gateway_request_duration_ms_bucket{le="0.0",team="evaluation"} 0"#)
        );
    }
}
