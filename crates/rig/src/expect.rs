//! What a scenario says its dashboard must show: expectations as plain data.
//!
//! Scenario files carry them under `expect:`; `vllm-sim verify` checks them against the
//! values it reads from Prometheus.

use std::fmt;

/// Which panel an expectation is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PanelRef {
    /// The panel's `id`.
    Id(u64),
    /// The panel's `title` (the first panel with it).
    Title(String),
}

impl fmt::Display for PanelRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PanelRef::Id(id) => write!(f, "panel {id}"),
            PanelRef::Title(t) => write!(f, "panel {t:?}"),
        }
    }
}

/// One thing a panel must show.
#[derive(Clone, Debug, PartialEq)]
pub struct Expectation {
    /// The panel.
    pub panel: PanelRef,
    /// The series, by its display name (the target's legend); `None` for a panel's only series.
    pub series: Option<String>,
    /// How to reduce a series to one value (Grafana reducer id such as `lastNotNull` or
    /// `mean`); `None` for the panel's own reducer (stat) or `mean` (other panels).
    pub reduce: Option<String>,
    /// The threshold colour the value must show (stat panels), e.g. `green`.
    pub color: Option<String>,
    /// Lower bound on the value, or on the ratio when `ratio_to` is set.
    pub min: Option<f64>,
    /// Upper bound on the value, or on the ratio when `ratio_to` is set.
    pub max: Option<f64>,
    /// Compare against this other series of the same panel: the value checked is
    /// `series / ratio_to`.
    pub ratio_to: Option<String>,
    /// The panel is expected to show nothing yet, and why; the panel is reported as
    /// skipped instead of failing for lack of data.
    pub skip: Option<String>,
    /// What the expectation means, for reports, e.g. "AWQ P95 at least 20% below FP16".
    pub note: String,
}

/// What a scenario says of one alert: when it fires, or that it does not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertExpectation {
    /// The alerting rule's name (`alertname`).
    pub alert: String,
    /// Labels the alert must carry (a subset of its labels); empty for any.
    pub labels: std::collections::BTreeMap<String, String>,
    /// When it fires; `None` when it must not fire at all (or, with `may_fire`,
    /// when it may or may not).
    pub firing: Option<FiringSpan>,
    /// Whether it may fire or not, anywhere in the window: for an expression that
    /// hovers at its threshold, whose alerts depend on where the evaluations fall.
    pub may_fire: bool,
    /// Where the scenario says so, for errors: `file:line:column: alerts[0]`.
    pub origin: String,
    /// What the expectation means, for reports.
    pub note: String,
}

/// A stretch of firing, in milliseconds from the start of the verify window (for a
/// backfill of the scenario, the scenario's start).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FiringSpan {
    /// When it starts firing.
    pub from_ms: u64,
    /// When it is resolved; `None` for still firing at the window's end.
    pub until_ms: Option<u64>,
    /// How far either edge may be from the one written; `None` for one evaluation
    /// interval of the alert's group.
    pub within_ms: Option<u64>,
}
