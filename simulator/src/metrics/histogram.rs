//! A classic Prometheus histogram that takes many equal observations in one update.
//!
//! An engine step gives every running sequence the same inter-token latency, so a batch
//! of 256 observes one value 256 times; [`Histogram::observe_n`] records that at the
//! cost of one. prometheus-client's histogram takes one observation per call. This one
//! encodes through prometheus-client all the same, so the bytes are its bytes.

use std::sync::{Arc, Mutex};

use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;

/// Buckets, sum and count; clones share the same storage.
#[derive(Clone, Debug)]
pub(crate) struct Histogram(Arc<Mutex<Inner>>);

#[derive(Debug)]
struct Inner {
    /// Upper bounds, ending in `+Inf`.
    bounds: Vec<f64>,
    /// Observations per bucket (not cumulative).
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    /// An empty histogram with these upper bounds (`+Inf` is added).
    pub(crate) fn new(bounds: impl IntoIterator<Item = f64>) -> Histogram {
        let mut bounds: Vec<f64> = bounds.into_iter().collect();
        bounds.push(f64::INFINITY);
        let counts = vec![0; bounds.len()];
        Histogram(Arc::new(Mutex::new(Inner {
            bounds,
            counts,
            sum: 0.0,
            count: 0,
        })))
    }

    /// Observes `v` once.
    #[cfg(test)]
    pub(crate) fn observe(&self, v: f64) {
        self.observe_n(v, 1);
    }

    /// Observes `v` `n` times: in the first bucket whose bound is at least `v`
    /// (`+Inf` for NaN), as prometheus-client does.
    pub(crate) fn observe_n(&self, v: f64, n: u64) {
        let mut inner = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let bucket = if v.is_nan() {
            inner.bounds.len() - 1
        } else {
            // A scan, as prometheus-client does: most values fall in the first
            // buckets, and it measured faster than a binary search.
            inner.bounds.iter().take_while(|&&b| b < v).count()
        };
        inner.counts[bucket] += n;
        inner.sum += v * n as f64;
        inner.count += n;
    }
}

impl EncodeMetric for Histogram {
    fn encode(&self, mut encoder: MetricEncoder) -> std::fmt::Result {
        let inner = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let buckets: Vec<(f64, u64)> = inner
            .bounds
            .iter()
            .copied()
            .zip(inner.counts.iter().copied())
            .collect();
        encoder.encode_histogram::<NoLabelSet>(inner.sum, inner.count, &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

#[cfg(test)]
mod tests {
    use prometheus_client::encoding::text::encode;
    use prometheus_client::metrics::histogram::Histogram as Reference;
    use prometheus_client::registry::Registry;

    use super::*;

    fn text(register: impl FnOnce(&mut Registry)) -> String {
        let mut registry = Registry::default();
        register(&mut registry);
        let mut out = String::new();
        encode(&mut out, &registry).unwrap();
        out
    }

    #[test]
    fn prints_as_prometheus_client_histograms_do() {
        let bounds = [0.01, 0.025, 0.05, 0.1];
        let values = [0.0, 0.01, 0.02, 0.05, 0.05, 0.07, 1.0, f64::NAN, 0.025];
        let ours = Histogram::new(bounds);
        let reference = Reference::new(bounds);
        for v in values {
            reference.observe(v);
        }
        for v in values.iter().filter(|v| !v.is_nan()) {
            ours.observe(*v);
        }
        ours.observe_n(f64::NAN, 1);
        let expected = text(|r| r.register("h", "Help.", reference));
        assert_eq!(text(|r| r.register("h", "Help.", ours.clone())), expected);
        // Many equal observations at once are one at a time, but for the sum's
        // rounding (one product, not 256 additions).
        let batch = Histogram::new(bounds);
        let single = Histogram::new(bounds);
        batch.observe_n(0.03, 256);
        for _ in 0..256 {
            single.observe(0.03);
        }
        let (batch, single) = (
            text(|r| r.register("h", "Help.", batch)),
            text(|r| r.register("h", "Help.", single)),
        );
        fn without_sum(t: &str) -> Vec<&str> {
            t.lines().filter(|l| !l.starts_with("h_sum")).collect()
        }
        assert_eq!(without_sum(&batch), without_sum(&single));
        assert!(batch.contains("h_sum 7.68\n"), "{batch}");
        assert!(single.contains("h_sum 7.680000000000019\n"), "{single}");
    }
}
