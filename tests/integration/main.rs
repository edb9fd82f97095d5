//! End-to-end tests of vllm-sim against a real Prometheus and promtool.
//!
//! One binary, organised by area:
//! - `exposition`: the bytes on /metrics, as promtool and Prometheus read them;
//! - `openai`: the OpenAI API of the pods;
//! - `gateway`: the lab gateway's routes and metrics;
//! - `fleet`: replicated pods, each its own target;
//! - `bench`: the benchmark battery through the gateway, into Prometheus;
//! - `scenarios`: every spec query of Rows 1-5 against each shipped scenario;
//! - `bad_scenarios`: scenario files with mistakes, and the errors they get;
//! - `catalogue`: the data files against what vLLM's own code renders (needs PyPI);
//! - `config`: the shipped Prometheus configuration;
//! - `dashboard`: the Grafana dashboard, its provisioning and the compose stack;
//! - `grafana_data`: the rig's reducers, thresholds and value texts against npm's
//!   `@grafana/data` (needs Node.js and `npm ci` in tests/grafana-data);
//! - `interpolation`: the rig's template variable interpolation against
//!   `@grafana/scenes` and `@grafana/prometheus` (the same);
//! - `json_report`: `verify --format json`'s stat values, texts and colours for two
//!   backfilled scenarios against `@grafana/data` (the same, and Prometheus);
//! - `docker` (with `--features docker`): Prometheus from its image, and the compose
//!   stack verified through Grafana;
//! - `k8s`: the Kubernetes manifests, as kustomize renders them;
//! - `readme`: README's `kubectl apply` and `prometheus` commands, run as written;
//! - `rules`: the lab's alerting and recording rules, through promtool;
//! - `verify`: `vllm-sim verify` from backfilled history and from a live lab;
//! - `html_report`: verify's HTML page for backfilled scenarios, as headless Chromium
//!   renders it;
//! - `migrate`: the shipped dashboard on vLLM 0.33.0, before and after `vllm-sim
//!   migrate`.

mod bad_scenarios;
mod bench;
mod catalogue;
mod config;
mod dashboard;
#[cfg(feature = "docker")]
mod docker;
mod exposition;
mod fleet;
mod gateway;
mod grafana_data;
mod history;
mod html_report;
mod interpolation;
mod json_report;
mod k8s;
mod migrate;
mod openai;
mod readme;
mod rules;
mod scenarios;
mod verify;
