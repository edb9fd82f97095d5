//! What a panel shows, as both its verdict ([`evaluate`](super::evaluate)) and its
//! expectations ([`check`](super::check)) read it: its series by display name, whether
//! it colours them by thresholds and on what scale, and what its status alone decides.

use super::dashboard::Panel;
use super::report::{Outcome, Status};
use super::threshold::Scale;

/// One named series of a panel, as checks see it.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Named {
    /// The display name.
    pub(super) name: String,
    /// The values in time order; NaN is null.
    pub(super) values: Vec<f64>,
}

/// Whether Grafana colours this panel's values by its thresholds.
pub(super) fn shows_thresholds(panel: &Panel) -> bool {
    matches!(panel.kind.as_str(), "stat" | "gauge" | "bargauge")
}

/// The reducer behind a panel's displayed values.
pub(super) fn display_reducer(panel: &Panel) -> &str {
    match panel.kind.as_str() {
        "logs" => "count",
        _ if shows_thresholds(panel) => panel.reducer(),
        _ => "lastNotNull",
    }
}

/// The scale percentage thresholds use: the field config's min/max, else the
/// panel's data.
pub(super) fn scale(panel: &Panel, named: &[Named]) -> Scale {
    let d = &panel.field_config.defaults;
    Scale::new(
        d.min,
        d.max,
        named.iter().flat_map(|n| n.values.iter().copied()),
    )
}

/// An outcome for an expectation on a panel in `status`, when the status alone
/// decides it.
pub(super) fn outcome_for_status(status: &Status) -> Option<(Outcome, String)> {
    match status {
        Status::Skipped(why) => Some((Outcome::Skipped, format!("panel skipped: {why}"))),
        Status::Error => Some((Outcome::Failed, "the panel has errors".to_owned())),
        Status::NoData => Some((Outcome::Failed, "the panel has no data".to_owned())),
        _ => None,
    }
}
