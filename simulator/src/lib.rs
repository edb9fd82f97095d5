//! vllm-sim: a synthetic vLLM lab for testing dashboards without GPUs.
//!
//! # Layout
//! - [`clock`]: simulated time and the clocks that drive it.
//! - [`engine`]: one pod's request-level model (arrivals, continuous batching, KV cache).
//! - [`catalogue`]: vLLM's metrics as data, per version profile.
//! - [`metrics`]: turns engine events into the catalogue's metrics.
//! - [`exposition`]: encodes metrics in Prometheus text 0.0.4 or OpenMetrics.
//! - [`scenario`]: scenario files: schema, loading, validation, built-ins.
//! - [`lab`]: a running lab: pods on a timeline of phases.
//! - [`server`]: the HTTP listener of each pod.
//! - [`gateway`]: the lab gateway: routes each team to its pod and counts requests.
//! - [`serve`](mod@serve): a lab on its sockets: every pod and the gateway, until stopped.
//! - [`bench`](mod@bench): the benchmark battery: prompts, pass rules, runs, results.
//! - [`logs`]: log lines to stderr and, when asked, batched to Loki.
//! - [`rig`]: checks a Grafana dashboard's panels against a Prometheus.
//! - [`cli`]: the command line.

pub mod bench;
pub mod catalogue;
pub mod cli;
pub mod clock;
pub mod engine;
pub mod exposition;
pub mod gateway;
pub mod lab;
pub mod logs;
pub mod metrics;
pub mod rig;
pub mod scenario;
pub mod serve;
pub mod server;
