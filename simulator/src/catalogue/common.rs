//! Metrics that vLLM 0.6 and 0.11 define alike (name, TYPE, HELP, labels, and buckets
//! or a bucket argument), written once for both profiles.

use super::Buckets::{self, Fixed, OneTwoFiveToMaxModelLen};
use super::Kind::{Counter, Gauge};
use super::LabelSet::{CacheConfig, FinishedReason, LoraInfo};
use super::{MetricDef, Signal, counter, def, gauge, histogram};

pub(super) const CACHE_CONFIG_INFO: MetricDef = def(
    "vllm:cache_config_info",
    Gauge,
    "Information of the LLMEngine CacheConfig",
    CacheConfig,
    Buckets::None,
    Signal::CacheConfigInfo,
);

pub(super) const NUM_REQUESTS_WAITING: MetricDef = gauge(
    "vllm:num_requests_waiting",
    "Number of requests waiting to be processed.",
    Signal::Waiting,
);

pub(super) const LORA_REQUESTS_INFO: MetricDef = MetricDef {
    lora_only: true,
    ..def(
        "vllm:lora_requests_info",
        Gauge,
        "Running stats on lora requests.",
        LoraInfo,
        Buckets::None,
        Signal::LoraRequestsInfo,
    )
};

pub(super) const NUM_PREEMPTIONS: MetricDef = counter(
    "vllm:num_preemptions_total",
    "Cumulative number of preemption from the engine.",
    Signal::Preemptions,
);

pub(super) const PROMPT_TOKENS: MetricDef = counter(
    "vllm:prompt_tokens_total",
    "Number of prefill tokens processed.",
    Signal::PromptTokens,
);

pub(super) const GENERATION_TOKENS: MetricDef = counter(
    "vllm:generation_tokens_total",
    "Number of generation tokens processed.",
    Signal::GenerationTokens,
);

pub(super) const REQUEST_SUCCESS: MetricDef = def(
    "vllm:request_success_total",
    Counter,
    "Count of successfully processed requests.",
    FinishedReason,
    Buckets::None,
    Signal::RequestSuccess,
);

pub(super) const REQUEST_PROMPT_TOKENS: MetricDef = histogram(
    "vllm:request_prompt_tokens",
    "Number of prefill tokens processed.",
    OneTwoFiveToMaxModelLen,
    Signal::RequestPromptTokens,
);

pub(super) const REQUEST_GENERATION_TOKENS: MetricDef = histogram(
    "vllm:request_generation_tokens",
    "Number of generation tokens processed.",
    OneTwoFiveToMaxModelLen,
    Signal::RequestGenerationTokens,
);

pub(super) const REQUEST_MAX_NUM_GENERATION_TOKENS: MetricDef = histogram(
    "vllm:request_max_num_generation_tokens",
    "Histogram of maximum number of requested generation tokens.",
    OneTwoFiveToMaxModelLen,
    Signal::RequestMaxGenerationTokens,
);

pub(super) const REQUEST_PARAMS_N: MetricDef = histogram(
    "vllm:request_params_n",
    "Histogram of the n request parameter.",
    Fixed(&[1.0, 2.0, 5.0, 10.0, 20.0]),
    Signal::RequestParamsN,
);

pub(super) const REQUEST_PARAMS_MAX_TOKENS: MetricDef = histogram(
    "vllm:request_params_max_tokens",
    "Histogram of the max_tokens request parameter.",
    OneTwoFiveToMaxModelLen,
    Signal::RequestParamsMaxTokens,
);

/// `vllm:time_to_first_token_seconds` with a version's buckets.
pub(super) const fn time_to_first_token(buckets: &'static [f64]) -> MetricDef {
    histogram(
        "vllm:time_to_first_token_seconds",
        "Histogram of time to first token in seconds.",
        Fixed(buckets),
        Signal::TimeToFirstToken,
    )
}

/// `vllm:request_queue_time_seconds` with a version's buckets.
pub(super) const fn queue_time(buckets: &'static [f64]) -> MetricDef {
    histogram(
        "vllm:request_queue_time_seconds",
        "Histogram of time spent in WAITING phase for request.",
        Fixed(buckets),
        Signal::QueueTime,
    )
}

/// `vllm:request_inference_time_seconds` with a version's buckets.
pub(super) const fn inference_time(buckets: &'static [f64]) -> MetricDef {
    histogram(
        "vllm:request_inference_time_seconds",
        "Histogram of time spent in RUNNING phase for request.",
        Fixed(buckets),
        Signal::InferenceTime,
    )
}

/// `vllm:request_prefill_time_seconds` with a version's buckets.
pub(super) const fn prefill_time(buckets: &'static [f64]) -> MetricDef {
    histogram(
        "vllm:request_prefill_time_seconds",
        "Histogram of time spent in PREFILL phase for request.",
        Fixed(buckets),
        Signal::PrefillTime,
    )
}

/// `vllm:request_decode_time_seconds` with a version's buckets.
pub(super) const fn decode_time(buckets: &'static [f64]) -> MetricDef {
    histogram(
        "vllm:request_decode_time_seconds",
        "Histogram of time spent in DECODE phase for request.",
        Fixed(buckets),
        Signal::DecodeTime,
    )
}
