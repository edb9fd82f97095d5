//! A classic Prometheus histogram that takes many equal observations in one update.
//!
//! An engine step gives every running sequence the same inter-token latency, so a batch
//! of 256 observes one value 256 times; [`Histogram::observe_n`] records that at the
//! cost of one. prometheus-client's histogram takes one observation per call.

use std::sync::{Arc, Mutex};

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

impl Histogram {
    /// Calls `f` with each upper bound (`+Inf` last) and its cumulative count, then
    /// returns the count and the sum.
    pub(crate) fn visit(&self, mut f: impl FnMut(f64, u64)) -> (u64, f64) {
        let inner = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let mut acc = 0;
        for (&bound, &n) in inner.bounds.iter().zip(&inner.counts) {
            acc += n;
            f(bound, acc);
        }
        (inner.count, inner.sum)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(h: &Histogram) -> (Vec<(f64, u64)>, u64, f64) {
        let mut buckets = Vec::new();
        let (count, sum) = h.visit(|b, n| buckets.push((b, n)));
        (buckets, count, sum)
    }

    #[test]
    fn buckets_are_cumulative_and_inclusive() {
        let h = Histogram::new([0.01, 0.025, 0.05, 0.1]);
        for v in [0.0, 0.01, 0.02, 0.05, 0.05, 0.07, 1.0, f64::NAN, 0.025] {
            h.observe(v);
        }
        let (buckets, count, sum) = snapshot(&h);
        let counts: Vec<u64> = buckets.iter().map(|b| b.1).collect();
        // An observation equal to a bound counts in that bucket, as in vLLM's
        // prometheus_client; NaN lands in +Inf.
        assert_eq!(counts, [2, 4, 6, 7, 9]);
        assert_eq!(count, 9);
        assert!(sum.is_nan());
    }

    #[test]
    fn many_equal_observations_are_one_update() {
        let bounds = [0.01, 0.025, 0.05, 0.1];
        let (batch, single) = (Histogram::new(bounds), Histogram::new(bounds));
        batch.observe_n(0.03, 256);
        for _ in 0..256 {
            single.observe(0.03);
        }
        let (b, s) = (snapshot(&batch), snapshot(&single));
        assert_eq!((b.0, b.1), (s.0, s.1));
        // But for the sum's rounding: one product, not 256 additions.
        assert_eq!(b.2, 7.68);
        assert_eq!(s.2, 7.680000000000019);
    }
}
