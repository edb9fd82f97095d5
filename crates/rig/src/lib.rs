//! The test rig: checks any Grafana dashboard against any Prometheus.
//!
//! It reads only the dashboard JSON it is given and Prometheus's (and Loki's) HTTP
//! API; it knows nothing of the engine, the catalogue or the metrics of this crate,
//! so it tests dashboards, never a copy of itself. What it knows of vLLM's releases
//! (which metrics each has and deprecates) the caller hands it as plain data, a
//! [`Releases`] table.
//!
//! # Layout
//! - [`dashboard`]: the dashboard JSON, only the fields read, and the panel walk.
//! - [`interval`] and [`interpolate`]: the step, `$__rate_interval` and friends,
//!   dashboard variables, as Grafana computes and replaces them; [`variable_format`]:
//!   how a variable's value is written (`${var:regex}`, …, the Prometheus escaping).
//! - [`mod@plan`]: each panel's datasource check and queries (pure).
//! - [`answer`]: what every datasource answers ([`Series`], or an [`ApiError`]).
//! - [`prom_api`], [`loki_api`]: blocking HTTP clients and their result parsing;
//!   [`grafana_api`]: the same questions asked through Grafana's `/api/ds/query`.
//! - [`legend`], [`reduce`], [`threshold`], [`units`]: naming series, reducing
//!   them, colouring values and writing them, as Grafana shows them.
//! - [`mod@evaluate`] and `check`: from answers and [`Expectation`]s to a [`Report`]
//!   (pure), both reading what a panel shows (`shown`).
//! - [`time`]: `now-30m` and the other time expressions of a dashboard.
//! - [`run`]: the network part: [`verify`] asks the servers, then evaluates.
//! - [`releases`]: the vLLM releases the caller knows (which series each exposes,
//!   which it deprecates), handed over as plain data.
//! - [`drift`]: which queries name vLLM metrics the fleet renamed or dropped, and
//!   their rewrites.
//! - [`migrate`](mod@migrate): a dashboard rewritten for a vLLM release, the rest of
//!   its file left as it was (pure).
//! - [`rules`]: Prometheus rule files, as read and checked; [`alerting`]: an
//!   alerting rule's alerts from its expression's answers, as Prometheus's rule
//!   manager has them (pure); [`alert_check`]: a scenario's alert expectations
//!   against them (pure); [`run::alerts`] asks the expressions.
//! - [`report`]: the outcome, as a table, an HTML page, JSON or JUnit XML;
//!   [`theme`]: Grafana's dark theme colours the page draws with.
//! - [`urls`]: server URLs with their credentials split off, for requests and messages.

pub mod alert_check;
pub mod alerting;
pub mod answer;
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
pub mod migrate;
pub mod plan;
pub mod prom_api;
pub mod reduce;
pub mod releases;
pub mod report;
pub mod rules;
pub mod run;
mod shown;
pub mod theme;
pub mod threshold;
pub mod time;
pub mod units;
pub mod urls;
pub mod variable_format;

pub use answer::{ApiError, Series};
pub use dashboard::{Dashboard, DashboardError};
pub use drift::{Drift, DriftStatus};
pub use evaluate::{Answers, QueryKey, evaluate};
pub use expect::{AlertExpectation, Expectation, FiringSpan, PanelRef};
pub use grafana_api::Grafana;
pub use loki_api::Loki;
pub use migrate::{Migration, migrate};
pub use plan::{Settings, plan};
pub use prom_api::Prometheus;
pub use releases::{Release, ReleaseMetric, Releases};
pub use report::{AlertsReport, Format, Report, Status};
pub use rules::RuleSet;
pub use run::{Sources, verify};
