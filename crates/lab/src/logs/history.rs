//! A lab's simulated past in Loki: the lines its battery and its scenario would have
//! logged before it served, pushed with the times they were logged at.
//!
//! They go before the lab serves, in time order, in batches, in streams of their own
//! (labelled `history="true"` beside the usual labels, so that the live streams,
//! already shipping lines of the present, never receive older ones: Loki refuses a
//! line far behind its stream's newest). Loki refuses lines older than its
//! `reject_old_samples_max_age` (168 h unless configured otherwise): lines older than
//! [`MAX_AGE`] are not pushed, and counted as such.

use std::time::Duration;

use super::push::Entry;
use super::{InitError, ShipperOptions, layer, push_url, shipper};

/// The oldest line pushed: Loki's default `reject_old_samples_max_age` (168 h) less an
/// hour, so that a line is not refused for its age while a push is on its way.
pub const MAX_AGE: Duration = Duration::from_secs(167 * 3600);

/// One log line of the simulated past.
#[derive(Clone, Debug, PartialEq)]
pub struct PastLine {
    /// Unix epoch nanoseconds of the simulated moment it was logged.
    pub unix_nanos: u128,
    /// The target it would have been logged from (`vllm_sim_lab::bench::run`...),
    /// which gives its `component` label as live.
    pub target: &'static str,
    /// `info` or `warn`.
    pub level: &'static str,
    /// The message.
    pub message: String,
}

impl PastLine {
    /// The line as the live log ships it: `LEVEL target: message`.
    pub fn text(&self) -> String {
        format!(
            "{} {}: {}",
            self.level.to_ascii_uppercase(),
            self.target,
            self.message
        )
    }
}

/// What [`push`] did with the lines.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pushed {
    /// Delivered to Loki.
    pub delivered: usize,
    /// Older than [`MAX_AGE`] at `now`: not pushed.
    pub too_old: usize,
    /// Not delivered (Loki refused them or could not be reached; said on stderr).
    pub failed: usize,
}

/// Pushes `lines` to the Loki at `loki_url` now, in time order, in batches of
/// `options.batch_size` with the shipper's retries; lines logged more than
/// [`MAX_AGE`] before `now_unix_nanos` are left out.
pub fn push(
    loki_url: &str,
    lines: &[PastLine],
    now_unix_nanos: u128,
    options: &ShipperOptions,
) -> Result<Pushed, InitError> {
    let url = push_url(loki_url)?;
    let oldest = now_unix_nanos.saturating_sub(MAX_AGE.as_nanos());
    let mut entries: Vec<Entry> = lines
        .iter()
        .filter(|l| l.unix_nanos >= oldest)
        .filter_map(|l| {
            Some(Entry {
                unix_nanos: l.unix_nanos,
                component: layer::component(l.target)?,
                level: l.level,
                line: l.text(),
                past: true,
            })
        })
        .collect();
    entries.sort_by_key(|e| e.unix_nanos);
    let too_old = lines.len() - lines.iter().filter(|l| l.unix_nanos >= oldest).count();
    let delivered = shipper::push_now(url, options, &entries);
    Ok(Pushed {
        delivered,
        too_old,
        failed: entries.len() - delivered,
    })
}
