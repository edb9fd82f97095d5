//! The benchmark battery of design-11: suites of prompts per team, sent through the
//! lab gateway, judged by deterministic pass rules, reported as `HarnessResult` lines,
//! a summary table and the `lab_harness_*` metrics.

pub mod suite;

pub use suite::{BASELINE_TEAM, SUITES, Suite};
