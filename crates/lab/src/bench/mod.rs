//! The benchmark battery of design-11: suites of prompts per team, sent through the
//! lab gateway, judged by deterministic pass rules, reported as `HarnessResult` lines,
//! a summary table and the `lab_harness_*` metrics.
//!
//! - [`suite`]: the suites, their teams, categories and default pass rates (kept with
//!   the scenarios, whose `pass_rates` name those categories).
//! - [`prompts`](mod@prompts): the deterministic prompts of each suite.
//! - [`rules`]: the pass rule.
//! - [`run`](mod@run): a run against the gateway, on worker threads.
//! - [`result`]: [`HarnessResult`], one JSON line per prompt.
//! - [`summary`](mod@summary): the plain-text table of a run.
//! - [`metrics`]: [`HarnessMetrics`], the `lab_harness_*` families.
//!
//! The battery is an HTTP client of the gateway; it knows nothing of the engine.

mod client;
pub mod metrics;
pub mod prompts;
pub mod result;
pub mod rules;
pub mod run;
pub mod summary;

#[cfg(test)]
mod tests;

/// The suites (which the scenarios' `pass_rates` name the categories of).
pub use crate::scenario::suite;
pub use client::BenchError;
pub use metrics::HarnessMetrics;
pub use prompts::{Prompt, prompts};
pub use result::HarnessResult;
pub use run::{BenchConfig, DEFAULT_CONCURRENCY, DEFAULT_TIMEOUT, run};
pub use suite::{BASELINE_TEAM, SUITES, Suite};
pub use summary::summary;
