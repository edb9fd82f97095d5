//! The test rig: checks any Grafana dashboard against any Prometheus.
//!
//! It reads only the dashboard JSON it is given and Prometheus's (and Loki's) HTTP
//! API; it knows nothing of the engine, the catalogue or the metrics of this crate,
//! so it tests dashboards, never a copy of itself.
//!
//! # Layout
//! - [`dashboard`]: the dashboard JSON, only the fields read, and the panel walk.
//! - [`interval`] and [`interpolate`]: the step, `$__rate_interval` and friends,
//!   dashboard variables, as Grafana computes and replaces them.
//! - [`mod@plan`]: each panel's datasource check and queries (pure).
//! - [`prom_api`], [`loki_api`]: blocking HTTP clients and their result parsing;
//!   [`grafana_api`]: the same questions asked through Grafana's `/api/ds/query`.
//! - [`legend`], [`reduce`], [`threshold`], [`units`]: naming series, reducing
//!   them, colouring values and writing them, as Grafana shows them.
//! - [`mod@evaluate`] and `check`: from answers and [`Expectation`]s to a [`Report`]
//!   (pure).
//! - [`time`]: `now-30m` and the other time expressions of a dashboard.
//! - [`run`]: the network part: [`verify`] asks the servers, then evaluates.
//! - [`drift`]: which queries name vLLM metrics the fleet renamed or dropped, and
//!   their rewrites.
//! - [`report`]: the outcome, as a table, JSON or JUnit XML.

mod check;
pub mod dashboard;
pub mod drift;
pub mod evaluate;
pub mod expect;
pub mod grafana_api;
pub mod interpolate;
pub mod interval;
pub mod legend;
pub mod loki_api;
pub mod plan;
pub mod prom_api;
pub mod reduce;
pub mod report;
pub mod run;
pub mod threshold;
pub mod time;
pub mod units;

pub use dashboard::{Dashboard, DashboardError};
pub use drift::{Drift, DriftStatus};
pub use evaluate::{Answers, QueryKey, evaluate};
pub use expect::{Expectation, PanelRef};
pub use grafana_api::Grafana;
pub use loki_api::Loki;
pub use plan::{Settings, plan};
pub use prom_api::{ApiError, Prometheus, Series};
pub use report::{Format, Report, Status};
pub use run::{Sources, verify};
