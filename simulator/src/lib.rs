//! vllm-sim: a synthetic vLLM lab for testing dashboards without GPUs.
//!
//! The binary's command line ([`cli`]), over three crates that the compiler keeps in
//! their lanes:
//! - `vllm-sim-core`: simulated time, the engine, vLLM's metrics per release, their
//!   exposition (no async runtime, no HTTP);
//! - `vllm-sim-rig`: checks any Grafana dashboard against any Prometheus (depends on
//!   nothing of the project);
//! - `vllm-sim-lab`: scenarios, the lab on its sockets, the gateway, the benchmark
//!   battery and logs.
//!
//! Their modules are re-exported here under the names they had in one crate, for
//! the tests and anyone embedding the simulator.

pub mod cli;

pub use vllm_sim_core::{catalogue, clock, engine, exposition, metrics};
pub use vllm_sim_lab::{bench, gateway, lab, logs, scenario, serve, server};
pub use vllm_sim_rig as rig;
