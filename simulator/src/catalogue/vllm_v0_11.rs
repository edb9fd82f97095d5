//! vLLM 0.11, V1 engine, one API server (`vllm/v1/metrics/loggers.py`,
//! `PrometheusStatLogger`).
//!
//! Every metric but `vllm:lora_requests_info` carries `engine="0"`; counters and
//! histograms are followed by `_created` gauge families; children exist from start-up
//! (see [`super::Profile`]). `vllm:cache_config_info` is registered last, when the
//! engine reports itself initialised.
//!
//! Left out, because such a pod shows no samples for them: the metrics hidden behind
//! `--show-hidden-metrics-for-version=0.10` (`vllm:gpu_cache_usage_perc`,
//! `vllm:gpu_prefix_cache_queries_total`, `vllm:gpu_prefix_cache_hits_total`), the
//! `vllm:spec_decode_*` families (only with speculative decoding) and the KV-connector,
//! multi-modal cache and NaN counters (only with those features). Also left out: the
//! default registry's `python_gc_*`, `python_info` and `process_*` families and the
//! HTTP instrumentator's `http_*` families. They describe the Python process and its
//! HTTP server rather than the engine, no dashboard panel reads them, and this process
//! has no honest values to give them.

use super::Buckets::Fixed;
use super::common::*;
use super::{MetricDef, Signal, counter, gauge, histogram};

const TTFT_BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
    20.0, 40.0, 80.0, 160.0, 640.0, 2560.0,
];
const ITL_BUCKETS: &[f64] = &[
    0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0,
    40.0, 80.0,
];
const REQUEST_LATENCY_BUCKETS: &[f64] = &[
    0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0,
    480.0, 960.0, 1920.0, 7680.0,
];
const ITERATION_BUCKETS: &[f64] = &[
    1.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 2048.0, 4096.0, 8192.0, 16384.0,
];

/// The metrics, in the order `PrometheusStatLogger` registers them.
pub(super) static METRICS: &[MetricDef] = &[
    gauge(
        "vllm:num_requests_running",
        "Number of requests in model execution batches.",
        Signal::Running,
    ),
    NUM_REQUESTS_WAITING,
    gauge(
        "vllm:kv_cache_usage_perc",
        "KV-cache usage. 1 means 100 percent usage.",
        Signal::GpuCacheUsage,
    ),
    counter(
        "vllm:prefix_cache_queries_total",
        "Prefix cache queries, in terms of number of queried tokens.",
        Signal::PrefixCacheQueries,
    ),
    counter(
        "vllm:prefix_cache_hits_total",
        "Prefix cache hits, in terms of number of cached tokens.",
        Signal::PrefixCacheHits,
    ),
    NUM_PREEMPTIONS,
    PROMPT_TOKENS,
    GENERATION_TOKENS,
    REQUEST_SUCCESS,
    REQUEST_PROMPT_TOKENS,
    REQUEST_GENERATION_TOKENS,
    histogram(
        "vllm:iteration_tokens_total",
        "Histogram of number of tokens per engine_step.",
        Fixed(ITERATION_BUCKETS),
        Signal::IterationTokens,
    ),
    REQUEST_MAX_NUM_GENERATION_TOKENS,
    REQUEST_PARAMS_N,
    REQUEST_PARAMS_MAX_TOKENS,
    time_to_first_token(TTFT_BUCKETS),
    histogram(
        "vllm:time_per_output_token_seconds",
        "Histogram of time per output token in seconds.DEPRECATED: Use vllm:inter_token_latency_seconds instead.",
        Fixed(ITL_BUCKETS),
        Signal::TimePerOutputToken,
    ),
    histogram(
        "vllm:inter_token_latency_seconds",
        "Histogram of inter-token latency in seconds.",
        Fixed(ITL_BUCKETS),
        Signal::TimePerOutputToken,
    ),
    histogram(
        "vllm:e2e_request_latency_seconds",
        "Histogram of e2e request latency in seconds.",
        Fixed(REQUEST_LATENCY_BUCKETS),
        Signal::E2eLatency,
    ),
    queue_time(REQUEST_LATENCY_BUCKETS),
    inference_time(REQUEST_LATENCY_BUCKETS),
    prefill_time(REQUEST_LATENCY_BUCKETS),
    decode_time(REQUEST_LATENCY_BUCKETS),
    LORA_REQUESTS_INFO,
    CACHE_CONFIG_INFO,
];
