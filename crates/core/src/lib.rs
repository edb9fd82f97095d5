//! vllm-sim's core: what one vLLM pod is, computed on injected time.
//!
//! No async runtime, no sockets: the lab (`vllm-sim-lab`) drives these types on its
//! clocks and serves what they encode.
//!
//! # Layout
//! - [`clock`]: simulated time and the clocks that drive it.
//! - [`engine`]: one pod's request-level model (arrivals, continuous batching, KV cache).
//! - [`catalogue`]: vLLM's metrics as data, per version profile.
//! - [`metrics`]: turns engine events into the catalogue's metrics, the gateway's and
//!   the benchmark harness's too.
//! - [`exposition`]: encodes metrics in Prometheus text 0.0.4 or OpenMetrics, line by
//!   line into a text body or straight into a backfill.

pub mod catalogue;
pub mod clock;
pub mod engine;
pub mod exposition;
pub mod metrics;
