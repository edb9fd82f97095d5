//! The test rig: checks any Grafana dashboard against any Prometheus.
//!
//! It reads only the dashboard JSON it is given and Prometheus's HTTP API; it knows
//! nothing of the engine, the catalogue or the metrics of this crate, so it tests
//! dashboards, never a copy of itself.

pub mod expect;

pub use expect::{Expectation, PanelRef};
