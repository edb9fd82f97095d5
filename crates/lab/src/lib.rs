//! vllm-sim's lab: scenario files, and the pods and gateway they describe, on their
//! sockets.
//!
//! It drives the core's engines (`vllm-sim-core`) on a timeline of phases and hands
//! the rig (`vllm-sim-rig`) a scenario's expectations.
//!
//! # Layout
//! - [`scenario`]: scenario files: schema, loading, validation, built-ins.
//! - [`lab`]: a running lab: pods on a timeline of phases.
//! - [`server`]: the HTTP listener of each pod.
//! - [`gateway`]: the lab gateway: routes each team to its pod and counts requests.
//! - [`serve`](mod@serve): a lab on its sockets: every pod and the gateway, until stopped.
//! - [`bench`](mod@bench): the benchmark battery: prompts, pass rules, runs, results.
//! - [`logs`]: log lines to stderr and, when asked, batched to Loki.

pub mod bench;
pub mod gateway;
pub mod lab;
pub mod logs;
pub mod scenario;
pub mod serve;
pub mod server;
