//! vLLM 0.6.4, V0 engine, OpenAI server in multiprocess mode (`vllm/engine/metrics.py`).
//!
//! Left out, because such a pod shows no samples for them: `vllm:tokens_total` (never
//! implemented), `vllm:model_forward_time_milliseconds` and
//! `vllm:model_execute_time_milliseconds` (only with `--collect-detailed-traces`),
//! `vllm:request_params_best_of` (hidden since 0.6.3) and the `vllm:spec_decode_*`
//! families (only with speculative decoding). In multiprocess mode a family without
//! samples is not printed at all.

use super::Buckets::{self, CudaGraphCaptureSizes, Fixed, OneTwoFiveToMaxModelLen};
use super::Kind::{Counter, Gauge};
use super::LabelSet::{CacheConfig, FinishedReason, LoraInfo};
use super::{MetricDef, Signal, counter, def, gauge, histogram};

const TTFT_BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];
const TPOT_BUCKETS: &[f64] = &[
    0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5,
];
const REQUEST_LATENCY_BUCKETS: &[f64] = &[
    0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0,
];
const N_BUCKETS: &[f64] = &[1.0, 2.0, 5.0, 10.0, 20.0];

/// The metrics, in the order `vllm/engine/metrics.py` defines them.
pub(super) static METRICS: &[MetricDef] = &[
    def(
        "vllm:cache_config_info",
        Gauge,
        "Information of the LLMEngine CacheConfig",
        CacheConfig,
        Buckets::None,
        Signal::CacheConfigInfo,
    ),
    gauge(
        "vllm:num_requests_running",
        "Number of requests currently running on GPU.",
        Signal::Running,
    ),
    gauge(
        "vllm:num_requests_waiting",
        "Number of requests waiting to be processed.",
        Signal::Waiting,
    ),
    MetricDef {
        lora_only: true,
        ..def(
            "vllm:lora_requests_info",
            Gauge,
            "Running stats on lora requests.",
            LoraInfo,
            Buckets::None,
            Signal::LoraRequestsInfo,
        )
    },
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
    counter(
        "vllm:num_preemptions_total",
        "Cumulative number of preemption from the engine.",
        Signal::Preemptions,
    ),
    counter(
        "vllm:prompt_tokens_total",
        "Number of prefill tokens processed.",
        Signal::PromptTokens,
    ),
    counter(
        "vllm:generation_tokens_total",
        "Number of generation tokens processed.",
        Signal::GenerationTokens,
    ),
    histogram(
        "vllm:iteration_tokens_total",
        "Histogram of number of tokens per engine_step.",
        CudaGraphCaptureSizes,
        Signal::IterationTokens,
    ),
    histogram(
        "vllm:time_to_first_token_seconds",
        "Histogram of time to first token in seconds.",
        Fixed(TTFT_BUCKETS),
        Signal::TimeToFirstToken,
    ),
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
    histogram(
        "vllm:request_queue_time_seconds",
        "Histogram of time spent in WAITING phase for request.",
        Fixed(REQUEST_LATENCY_BUCKETS),
        Signal::QueueTime,
    ),
    histogram(
        "vllm:request_inference_time_seconds",
        "Histogram of time spent in RUNNING phase for request.",
        Fixed(REQUEST_LATENCY_BUCKETS),
        Signal::InferenceTime,
    ),
    histogram(
        "vllm:request_prefill_time_seconds",
        "Histogram of time spent in PREFILL phase for request.",
        Fixed(REQUEST_LATENCY_BUCKETS),
        Signal::PrefillTime,
    ),
    histogram(
        "vllm:request_decode_time_seconds",
        "Histogram of time spent in DECODE phase for request.",
        Fixed(REQUEST_LATENCY_BUCKETS),
        Signal::DecodeTime,
    ),
    histogram(
        "vllm:time_in_queue_requests",
        "Histogram of time the request spent in the queue in seconds.",
        Fixed(REQUEST_LATENCY_BUCKETS),
        Signal::QueueTime,
    ),
    histogram(
        "vllm:request_prompt_tokens",
        "Number of prefill tokens processed.",
        OneTwoFiveToMaxModelLen,
        Signal::RequestPromptTokens,
    ),
    histogram(
        "vllm:request_generation_tokens",
        "Number of generation tokens processed.",
        OneTwoFiveToMaxModelLen,
        Signal::RequestGenerationTokens,
    ),
    histogram(
        "vllm:request_max_num_generation_tokens",
        "Histogram of maximum number of requested generation tokens.",
        OneTwoFiveToMaxModelLen,
        Signal::RequestMaxGenerationTokens,
    ),
    histogram(
        "vllm:request_params_n",
        "Histogram of the n request parameter.",
        Fixed(N_BUCKETS),
        Signal::RequestParamsN,
    ),
    histogram(
        "vllm:request_params_max_tokens",
        "Histogram of the max_tokens request parameter.",
        OneTwoFiveToMaxModelLen,
        Signal::RequestParamsMaxTokens,
    ),
    def(
        "vllm:request_success_total",
        Counter,
        "Count of successfully processed requests.",
        FinishedReason,
        Buckets::None,
        Signal::RequestSuccess,
    ),
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
