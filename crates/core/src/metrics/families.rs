//! Storage for one pod's metric families, created from the catalogue, and their
//! encoding as the release's prometheus_client writes them (see
//! [`crate::exposition::text`]).

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard};

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;

use super::histogram::Histogram;
use crate::catalogue::{Kind, MetricDef, Profile};
use crate::exposition::Sink;
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

    /// Tells every family in `dialect` to `sink` (OpenMetrics without its `# EOF`).
    pub(crate) fn encode(&self, dialect: Dialect, sink: &mut impl Sink) {
        let mut out = Lines {
            sink,
            exponent: self.exponent,
        };
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
            out.family(dialect, &name, &def.help, def.kind.as_str());
            let inline_created = created && dialect == Dialect::OpenMetrics;
            for c in children.iter() {
                out.sink.metric();
                encode_child(family, c, inline_created, self.multiprocess, &mut out);
            }
            // Text puts each family's `_created` series in a gauge family of its own,
            // with the same HELP, right after the family.
            if created && dialect == Dialect::Text {
                let name = format!("{}_created", def.name);
                out.family(dialect, &name, &def.help, "gauge");
                for c in children.iter() {
                    out.sink.metric();
                    out.sample(&name, "", &c.labels, None, c.created_unix_secs);
                }
            }
        }
    }
}

/// A sink, and how the pod's release writes exponents.
struct Lines<'a, S> {
    sink: &'a mut S,
    exponent: Exponent,
}

impl<S: Sink> Lines<'_, S> {
    fn family(&mut self, dialect: Dialect, name: &str, help: &str, kind: &str) {
        (self.sink).family(name, |out| header(dialect, name, help, kind, out));
    }

    fn sample(&mut self, name: &str, suffix: &str, labels: &Labels, le: Option<&str>, v: f64) {
        let e = self.exponent;
        (self.sink).sample(|out| sample(name, suffix, labels, le, v, e, out));
    }
}

/// Writes one child's samples in prometheus_client's order: a histogram's buckets,
/// `_count` and `_sum`, or from multiprocess files `_sum`, buckets and `_count`.
fn encode_child<S: Sink>(
    family: &Family,
    c: &Child,
    created: bool,
    multiprocess: bool,
    out: &mut Lines<'_, S>,
) {
    let (name, labels) = (family.def.name.as_str(), &c.labels);
    match &c.value {
        Value::Counter(v) => out.sample(name, "_total", labels, None, v.get()),
        Value::Gauge(v) => out.sample(name, "", labels, None, v.get()),
        Value::Histogram(h) => {
            if multiprocess {
                let (_, sum) = h.visit(|_, _| {});
                out.sample(name, "_sum", labels, None, sum);
            }
            let mut le = family.le.iter();
            let (count, sum) = h.visit(|_, n| {
                let bound = le.next().map(String::as_str);
                out.sample(name, "_bucket", labels, bound, n as f64);
            });
            out.sample(name, "_count", labels, None, count as f64);
            if !multiprocess {
                out.sample(name, "_sum", labels, None, sum);
            }
        }
        Value::Summary(h) => {
            let (count, sum) = h.visit(|_, _| {});
            out.sample(name, "_count", labels, None, count as f64);
            out.sample(name, "_sum", labels, None, sum);
        }
    }
    if created {
        out.sample(name, "_created", labels, None, c.created_unix_secs);
    }
}

/// Locks `m`, ignoring poisoning: the data are plain values that stay consistent.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
