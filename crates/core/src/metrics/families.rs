//! Storage for one pod's metric families, created from the catalogue, and their
//! encoding as the release's prometheus_client writes them (see
//! [`crate::exposition::text`]).

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard};

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;

use super::histogram::Histogram;
use crate::catalogue::{Kind, MetricDef, Profile};
use crate::exposition::text::{Dialect, Exponent, go_float, header, sample};

/// Label pairs, sorted by name as prometheus_client prints them.
pub(crate) type Labels = Vec<(&'static str, String)>;

/// One child's value; clones share the same storage.
#[derive(Clone, Debug)]
pub(crate) enum Value {
    Counter(Counter<f64, AtomicU64>),
    Gauge(Gauge<f64, AtomicU64>),
    Histogram(Histogram),
    /// A summary's count and sum (a histogram without buckets).
    Summary(Histogram),
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
    /// The `le` label of each bucket, `+Inf` last, written once.
    le: Vec<String>,
    children: Mutex<Vec<Child>>,
}

/// Every family of one pod, and how its release prints them.
#[derive(Debug, Clone)]
pub(crate) struct Families {
    families: Arc<Vec<Family>>,
    /// Counters and histograms print `<family>_created` series.
    created_series: bool,
    /// Read from multiprocess files: empty families print nothing, `_sum` comes first.
    multiprocess: bool,
    /// How the release's prometheus_client writes large exponents.
    exponent: Exponent,
}

impl Families {
    /// Families for `defs` as `profile` prints them, histogram bounds chosen for
    /// `max_model_len`.
    pub(crate) fn new(
        defs: &[&'static MetricDef],
        max_model_len: u32,
        profile: Profile,
    ) -> Families {
        Families {
            families: Arc::new(
                defs.iter()
                    .map(|&def| {
                        let bounds = def.buckets.bounds(max_model_len);
                        let le = bounds
                            .iter()
                            .chain([&f64::INFINITY])
                            .map(|&b| {
                                let mut text = String::new();
                                go_float(b, profile.exponent(), &mut text);
                                text
                            })
                            .collect();
                        Family {
                            def,
                            bounds,
                            le,
                            children: Mutex::new(Vec::new()),
                        }
                    })
                    .collect(),
            ),
            created_series: profile.created_series(),
            multiprocess: profile.multiprocess(),
            exponent: profile.exponent(),
        }
    }

    /// The catalogue entry of family `index`.
    pub(crate) fn def(&self, index: usize) -> &'static MetricDef {
        self.families[index].def
    }

    /// The catalogue entries, by index.
    pub(crate) fn defs(&self) -> impl Iterator<Item = &'static MetricDef> + '_ {
        self.families.iter().map(|f| f.def)
    }

    /// The child of family `index` with `labels`, created on first use, at
    /// `now_unix_secs`.
    pub(crate) fn child(&self, index: usize, labels: &Labels, now_unix_secs: f64) -> Value {
        let family = &self.families[index];
        let mut children = lock(&family.children);
        if let Some(c) = children.iter().find(|c| &c.labels == labels) {
            return c.value.clone();
        }
        let value = match family.def.kind {
            Kind::Counter => Value::Counter(Counter::default()),
            Kind::Gauge => Value::Gauge(Gauge::default()),
            Kind::Histogram => Value::Histogram(Histogram::new(family.bounds.iter().copied())),
            Kind::Summary => Value::Summary(Histogram::new([])),
        };
        children.push(Child {
            labels: labels.clone(),
            value: value.clone(),
            created_unix_secs: now_unix_secs,
        });
        value
    }

    /// Appends every family in `dialect` (OpenMetrics without its `# EOF`).
    pub(crate) fn encode(&self, dialect: Dialect, out: &mut String) {
        for family in self.families.iter() {
            let children = lock(&family.children);
            if children.is_empty() && self.multiprocess {
                continue;
            }
            let def = family.def;
            let created = self.created_series && def.kind != Kind::Gauge && def.created;
            let name = match (dialect, def.kind) {
                (Dialect::Text, Kind::Counter) => def.sample_name(),
                _ => def.name.clone(),
            };
            header(dialect, &name, &def.help, def.kind.as_str(), out);
            let inline_created = created && dialect == Dialect::OpenMetrics;
            for c in children.iter() {
                encode_child(family, c, inline_created, self, out);
            }
            // Text puts each family's `_created` series in a gauge family of its own,
            // with the same HELP, right after the family.
            if created && dialect == Dialect::Text {
                let name = format!("{}_created", def.name);
                header(dialect, &name, &def.help, "gauge", out);
                for c in children.iter() {
                    let e = self.exponent;
                    sample(&name, "", &c.labels, None, c.created_unix_secs, e, out);
                }
            }
        }
    }
}

/// Appends one child's samples in prometheus_client's order: a histogram's buckets,
/// `_count` and `_sum`, or from multiprocess files `_sum`, buckets and `_count`.
fn encode_child(family: &Family, c: &Child, created: bool, style: &Families, out: &mut String) {
    let (name, labels, e) = (family.def.name.as_str(), &c.labels, style.exponent);
    match &c.value {
        Value::Counter(v) => sample(name, "_total", labels, None, v.get(), e, out),
        Value::Gauge(v) => sample(name, "", labels, None, v.get(), e, out),
        Value::Histogram(h) => {
            if style.multiprocess {
                let (_, sum) = h.visit(|_, _| {});
                sample(name, "_sum", labels, None, sum, e, out);
            }
            let mut le = family.le.iter();
            let (count, sum) = h.visit(|_, n| {
                let bound = le.next().map(String::as_str);
                sample(name, "_bucket", labels, bound, n as f64, e, out);
            });
            sample(name, "_count", labels, None, count as f64, e, out);
            if !style.multiprocess {
                sample(name, "_sum", labels, None, sum, e, out);
            }
        }
        Value::Summary(h) => {
            let (count, sum) = h.visit(|_, _| {});
            sample(name, "_count", labels, None, count as f64, e, out);
            sample(name, "_sum", labels, None, sum, e, out);
        }
    }
    if created {
        sample(name, "_created", labels, None, c.created_unix_secs, e, out);
    }
}

/// Locks `m`, ignoring poisoning: the data are plain values that stay consistent.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
