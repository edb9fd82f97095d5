//! Storage for one pod's metric families, created from the catalogue, and the
//! prometheus-client [`Collector`] that encodes them with vLLM's names and HELP text
//! (and, for profiles that print them, each family's `_created` gauge family).

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};

use super::histogram::Histogram;
use crate::catalogue::{Kind, MetricDef};

/// Label pairs, sorted by name as prometheus_client prints them.
pub(crate) type Labels = Vec<(&'static str, String)>;

/// One child's value; clones share the same storage.
#[derive(Clone, Debug)]
pub(crate) enum Value {
    Counter(Counter<f64, AtomicU64>),
    Gauge(Gauge<f64, AtomicU64>),
    Histogram(Histogram),
}

impl Value {
    fn encode(&self, encoder: prometheus_client::encoding::MetricEncoder) -> std::fmt::Result {
        match self {
            Value::Counter(c) => c.encode(encoder),
            Value::Gauge(g) => g.encode(encoder),
            Value::Histogram(h) => h.encode(encoder),
        }
    }
}

/// One child: its labels, its value and the Unix time it was created.
#[derive(Debug)]
struct Child {
    labels: Labels,
    value: Value,
    created_unix_secs: f64,
}

/// A family and the children created so far.
#[derive(Debug)]
struct Family {
    def: &'static MetricDef,
    bounds: Vec<f64>,
    /// `<family>_created`, when the profile prints it for this family.
    created_name: Option<String>,
    children: Mutex<Vec<Child>>,
}

/// Every family of one pod. Families without children print nothing, as in vLLM's
/// multiprocess mode.
#[derive(Debug, Clone)]
pub(crate) struct Families(Arc<Vec<Family>>);

impl Families {
    /// Families for `defs`, histogram bounds chosen for `max_model_len`; with
    /// `created_series`, counters and histograms print a `_created` family too.
    pub(crate) fn new(
        defs: &[&'static MetricDef],
        max_model_len: u32,
        created_series: bool,
    ) -> Families {
        Families(Arc::new(
            defs.iter()
                .map(|&def| Family {
                    def,
                    bounds: def.buckets.bounds(max_model_len),
                    created_name: (created_series && def.kind != Kind::Gauge)
                        .then(|| format!("{}_created", def.family_name())),
                    children: Mutex::new(Vec::new()),
                })
                .collect(),
        ))
    }

    /// The catalogue entries, by index.
    pub(crate) fn defs(&self) -> impl Iterator<Item = &'static MetricDef> + '_ {
        self.0.iter().map(|f| f.def)
    }

    /// The child of family `index` with `labels`, created on first use, at
    /// `now_unix_secs`.
    pub(crate) fn child(&self, index: usize, labels: &Labels, now_unix_secs: f64) -> Value {
        let family = &self.0[index];
        let mut children = lock(&family.children);
        if let Some(c) = children.iter().find(|c| &c.labels == labels) {
            return c.value.clone();
        }
        let value = match family.def.kind {
            Kind::Counter => Value::Counter(Counter::default()),
            Kind::Gauge => Value::Gauge(Gauge::default()),
            Kind::Histogram => Value::Histogram(Histogram::new(family.bounds.iter().copied())),
        };
        children.push(Child {
            labels: labels.clone(),
            value: value.clone(),
            created_unix_secs: now_unix_secs,
        });
        value
    }
}

impl Collector for Families {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        for family in self.0.iter() {
            let children = lock(&family.children);
            if children.is_empty() {
                continue;
            }
            let kind = match family.def.kind {
                Kind::Counter => MetricType::Counter,
                Kind::Gauge => MetricType::Gauge,
                Kind::Histogram => MetricType::Histogram,
            };
            let mut metric =
                encoder.encode_descriptor(family.def.family_name(), family.def.help, None, kind)?;
            for c in children.iter() {
                c.value.encode(metric.encode_family(&c.labels)?)?;
            }
            // As prometheus_client prints them in text 0.0.4: a gauge family of its own,
            // with the same HELP text, right after the family.
            if let Some(name) = &family.created_name {
                let mut metric =
                    encoder.encode_descriptor(name, family.def.help, None, MetricType::Gauge)?;
                for c in children.iter() {
                    ConstGauge::new(c.created_unix_secs)
                        .encode(metric.encode_family(&c.labels)?)?;
                }
            }
        }
        Ok(())
    }
}

/// Locks `m`, ignoring poisoning: the data are plain values that stay consistent.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
