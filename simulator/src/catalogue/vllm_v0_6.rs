//! vLLM 0.6.4, V0 engine, OpenAI server in multiprocess mode (`vllm/engine/metrics.py`).
//!
//! Left out, because such a pod shows no samples for them: `vllm:tokens_total` (never
//! implemented), `vllm:model_forward_time_milliseconds` and
//! `vllm:model_execute_time_milliseconds` (only with `--collect-detailed-traces`),
//! `vllm:request_params_best_of` (hidden since 0.6.3) and the `vllm:spec_decode_*`
//! families (only with speculative decoding). In multiprocess mode a family without
//! samples is not printed at all.

use super::Buckets::{CudaGraphCaptureSizes, Fixed};
use super::common::*;
use super::{MetricDef, Signal, gauge, histogram};

const TTFT_BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];
const TPOT_BUCKETS: &[f64] = &[
    0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5,
];
const REQUEST_LATENCY_BUCKETS: &[f64] = &[
    0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0,
];

/// The metrics, in the order `vllm/engine/metrics.py` defines them.
pub(super) static METRICS: &[MetricDef] = &[
    CACHE_CONFIG_INFO,
    gauge(
        "vllm:num_requests_running",
        "Number of requests currently running on GPU.",
        Signal::Running,
    ),
    NUM_REQUESTS_WAITING,
    LORA_REQUESTS_INFO,
    gauge(
        "vllm:num_requests_swapped",
        "Number of requests swapped to CPU.",
        Signal::Swapped,
    ),
    gauge(
        "vllm:gpu_cache_usage_perc",
        "GPU KV-cache usage. 1 means 100 percent usage.",
        Signal::GpuCacheUsage,
    ),
    gauge(
        "vllm:cpu_cache_usage_perc",
        "CPU KV-cache usage. 1 means 100 percent usage.",
        Signal::CpuCacheUsage,
    ),
    gauge(
        "vllm:cpu_prefix_cache_hit_rate",
        "CPU prefix cache block hit rate.",
        Signal::CpuPrefixCacheHitRate,
    ),
    gauge(
        "vllm:gpu_prefix_cache_hit_rate",
        "GPU prefix cache block hit rate.",
        Signal::GpuPrefixCacheHitRate,
    ),
    NUM_PREEMPTIONS,
    PROMPT_TOKENS,
    GENERATION_TOKENS,
    histogram(
        "vllm:iteration_tokens_total",
        "Histogram of number of tokens per engine_step.",
        CudaGraphCaptureSizes,
        Signal::IterationTokens,
    ),
    time_to_first_token(TTFT_BUCKETS),
    histogram(
        "vllm:time_per_output_token_seconds",
        "Histogram of time per output token in seconds.",
        Fixed(TPOT_BUCKETS),
        Signal::TimePerOutputToken,
    ),
    histogram(
        "vllm:e2e_request_latency_seconds",
        "Histogram of end to end request latency in seconds.",
        Fixed(REQUEST_LATENCY_BUCKETS),
        Signal::E2eLatency,
    ),
    queue_time(REQUEST_LATENCY_BUCKETS),
    inference_time(REQUEST_LATENCY_BUCKETS),
    prefill_time(REQUEST_LATENCY_BUCKETS),
    decode_time(REQUEST_LATENCY_BUCKETS),
    histogram(
        "vllm:time_in_queue_requests",
        "Histogram of time the request spent in the queue in seconds.",
        Fixed(REQUEST_LATENCY_BUCKETS),
        Signal::QueueTime,
    ),
    REQUEST_PROMPT_TOKENS,
    REQUEST_GENERATION_TOKENS,
    REQUEST_MAX_NUM_GENERATION_TOKENS,
    REQUEST_PARAMS_N,
    REQUEST_PARAMS_MAX_TOKENS,
    REQUEST_SUCCESS,
    gauge(
        "vllm:avg_prompt_throughput_toks_per_s",
        "Average prefill throughput in tokens/s.",
        Signal::AvgPromptThroughput,
    ),
    gauge(
        "vllm:avg_generation_throughput_toks_per_s",
        "Average generation throughput in tokens/s.",
        Signal::AvgGenerationThroughput,
    ),
];
