//! The vLLM metric catalogue: every metric a vLLM version exposes, as data.
//!
//! A profile is a static slice of [`MetricDef`]. It names each metric exactly as vLLM
//! exposes it (name, TYPE, HELP, label names, bucket bounds) and says which engine
//! [`Signal`] feeds it, plus the few ways a version prints them differently (the
//! `engine` label, `_created` series, children created at start-up). Registration,
//! encoding, backfill and `docs/metrics.md` all read this table; nothing else in the
//! crate spells a metric name. This module holds no values and knows nothing of the
//! engine's internals.

mod buckets;
mod common;
mod markdown;
mod vllm_v0_11;
mod vllm_v0_6;

pub use buckets::{build_1_2_5_buckets, cudagraph_capture_sizes};
pub use markdown::markdown;

/// The Prometheus metric type, as printed on the `# TYPE` line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A monotonically increasing count; exposed with a `_total` suffix.
    Counter,
    /// A value that goes up and down.
    Gauge,
    /// Cumulative buckets plus `_sum` and `_count`.
    Histogram,
}

/// The label names a metric carries. vLLM prints them sorted alphabetically.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LabelSet {
    /// `model_name` only: the served model name.
    ModelName,
    /// `finished_reason` and `model_name`.
    FinishedReason,
    /// `max_lora`, `running_lora_adapters`, `waiting_lora_adapters` (no `model_name`).
    LoraInfo,
    /// The fields of vLLM's `CacheConfig`, one label each (no `model_name`).
    CacheConfig,
}

/// How a histogram's bucket bounds are chosen.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Buckets {
    /// Not a histogram.
    None,
    /// A fixed list of upper bounds (`+Inf` is implied).
    Fixed(&'static [f64]),
    /// vLLM's `build_1_2_5_buckets(max_model_len)`.
    OneTwoFiveToMaxModelLen,
    /// The sorted CUDA graph capture sizes, vLLM's default batch sizes up to 256.
    CudaGraphCaptureSizes,
}

impl Buckets {
    /// The upper bounds for a pod with the given `max_model_len`; empty for non-histograms.
    pub fn bounds(self, max_model_len: u32) -> Vec<f64> {
        match self {
            Buckets::None => Vec::new(),
            Buckets::Fixed(b) => b.to_vec(),
            Buckets::OneTwoFiveToMaxModelLen => build_1_2_5_buckets(max_model_len),
            Buckets::CudaGraphCaptureSizes => cudagraph_capture_sizes(),
        }
    }
}

/// What in the engine feeds a metric. Several metrics may share a signal
/// (vLLM 0.6 exposes queue time twice, for instance).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Signal {
    /// Requests in the running batch.
    Running,
    /// Requests waiting for admission.
    Waiting,
    /// Requests swapped to CPU memory.
    Swapped,
    /// Fraction of GPU KV blocks in use.
    GpuCacheUsage,
    /// Fraction of CPU KV blocks in use.
    CpuCacheUsage,
    /// GPU prefix cache hit rate (-1 when prefix caching is off).
    GpuPrefixCacheHitRate,
    /// CPU prefix cache hit rate (-1 when prefix caching is off).
    CpuPrefixCacheHitRate,
    /// Requests preempted by the scheduler.
    Preemptions,
    /// Prefill tokens computed (recomputation included).
    PromptTokens,
    /// Tokens generated.
    GenerationTokens,
    /// Tokens computed in one engine step.
    IterationTokens,
    /// Time from arrival (or the last token) to the end of a prefill.
    TimeToFirstToken,
    /// Time between two tokens of one request.
    TimePerOutputToken,
    /// Arrival to finish of a request.
    E2eLatency,
    /// Time a request spent waiting before it was first scheduled.
    QueueTime,
    /// Time from first scheduling to finish.
    InferenceTime,
    /// Time from first scheduling to the first token.
    PrefillTime,
    /// Time from the first token to finish.
    DecodeTime,
    /// Prompt length of a finished request.
    RequestPromptTokens,
    /// Output length of a finished request.
    RequestGenerationTokens,
    /// The largest `max_tokens` among a finished request's sequences.
    RequestMaxGenerationTokens,
    /// The `n` parameter of a finished request.
    RequestParamsN,
    /// The `max_tokens` parameter of a finished request.
    RequestParamsMaxTokens,
    /// Finished requests, by finish reason.
    RequestSuccess,
    /// Prompt tokens looked up in the prefix cache.
    PrefixCacheQueries,
    /// Prompt tokens found in the prefix cache.
    PrefixCacheHits,
    /// Prefill throughput over the last log interval.
    AvgPromptThroughput,
    /// Generation throughput over the last log interval.
    AvgGenerationThroughput,
    /// LoRA adapters running and waiting, stamped with the time of the step.
    LoraRequestsInfo,
    /// The pod's cache configuration, a constant 1. (Keep it last: see [`Signal::COUNT`].)
    CacheConfigInfo,
}

impl Signal {
    /// How many signals there are, so that a signal can index a table.
    pub const COUNT: usize = Signal::CacheConfigInfo as usize + 1;
}

/// One metric as vLLM exposes it.
#[derive(Clone, Copy, Debug)]
pub struct MetricDef {
    /// The exposed sample name (counters include `_total`).
    pub name: &'static str,
    /// The `# TYPE`.
    pub kind: Kind,
    /// The `# HELP` text, verbatim (typos and missing periods included).
    pub help: &'static str,
    /// The label names.
    pub labels: LabelSet,
    /// Histogram bucket bounds.
    pub buckets: Buckets,
    /// What feeds it.
    pub signal: Signal,
    /// Exposed only by pods that serve LoRA adapters.
    pub lora_only: bool,
}

impl MetricDef {
    /// The family name: the exposed name without a counter's `_total`, as
    /// OpenMetrics prints it on the `# TYPE` line.
    pub fn family_name(&self) -> &'static str {
        match self.kind {
            Kind::Counter => self.name.strip_suffix("_total").unwrap_or(self.name),
            _ => self.name,
        }
    }
}

/// A vLLM version whose metrics can be impersonated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Profile {
    /// The V0 engine as of vLLM 0.6.4, OpenAI server in multiprocess mode.
    #[default]
    VllmV0_6,
    /// The V1 engine as of vLLM 0.11, one API server (the default registry).
    VllmV0_11,
}

impl Profile {
    /// Every profile, oldest first.
    pub const ALL: [Profile; 2] = [Profile::VllmV0_6, Profile::VllmV0_11];

    /// The metrics of this profile, in exposition order.
    pub fn metrics(self) -> &'static [MetricDef] {
        match self {
            Profile::VllmV0_6 => vllm_v0_6::METRICS,
            Profile::VllmV0_11 => vllm_v0_11::METRICS,
        }
    }

    /// The name scenario files use, e.g. `vllm-0.11`.
    pub fn name(self) -> &'static str {
        match self {
            Profile::VllmV0_6 => "vllm-0.6",
            Profile::VllmV0_11 => "vllm-0.11",
        }
    }

    /// The profile called `name`.
    pub fn from_name(name: &str) -> Option<Profile> {
        Profile::ALL.into_iter().find(|p| p.name() == name)
    }

    /// Whether metrics carry V1's `engine` label (the data-parallel engine index,
    /// `"0"` for one engine); `vllm:lora_requests_info` never does.
    pub fn engine_label(self) -> bool {
        self == Profile::VllmV0_11
    }

    /// Whether every counter and histogram is followed by a `<family>_created` gauge
    /// family: the default registry prints them, multiprocess mode does not.
    pub fn created_series(self) -> bool {
        self == Profile::VllmV0_11
    }

    /// Whether children exist from start-up with zero values (V1's
    /// `make_per_engine`), rather than from their first update (V0's multiprocess
    /// files, which print a family only once it has a sample).
    pub fn children_at_startup(self) -> bool {
        self == Profile::VllmV0_11
    }

    /// The `finished_reason` children created at start-up, in vLLM's order.
    pub fn startup_finish_reasons(self) -> &'static [&'static str] {
        match self {
            Profile::VllmV0_6 => &[],
            Profile::VllmV0_11 => &["stop", "length", "abort"],
        }
    }
}

/// A metric labelled as most are: by `model_name` (and the profile's `engine`).
pub(super) const fn def(
    name: &'static str,
    kind: Kind,
    help: &'static str,
    labels: LabelSet,
    buckets: Buckets,
    signal: Signal,
) -> MetricDef {
    MetricDef {
        name,
        kind,
        help,
        labels,
        buckets,
        signal,
        lora_only: false,
    }
}

pub(super) const fn gauge(name: &'static str, help: &'static str, signal: Signal) -> MetricDef {
    def(
        name,
        Kind::Gauge,
        help,
        LabelSet::ModelName,
        Buckets::None,
        signal,
    )
}

pub(super) const fn counter(name: &'static str, help: &'static str, signal: Signal) -> MetricDef {
    def(
        name,
        Kind::Counter,
        help,
        LabelSet::ModelName,
        Buckets::None,
        signal,
    )
}

pub(super) const fn histogram(
    name: &'static str,
    help: &'static str,
    buckets: Buckets,
    signal: Signal,
) -> MetricDef {
    def(
        name,
        Kind::Histogram,
        help,
        LabelSet::ModelName,
        buckets,
        signal,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_valid_and_unique() {
        for profile in Profile::ALL {
            names_are_valid_and_unique_in(profile);
            assert_eq!(Profile::from_name(profile.name()), Some(profile));
        }
    }

    fn names_are_valid_and_unique_in(profile: Profile) {
        let metrics = profile.metrics();
        let mut seen = std::collections::HashSet::new();
        for m in metrics {
            assert!(seen.insert(m.name), "{} listed twice", m.name);
            let ok = m.name.chars().enumerate().all(|(i, c)| {
                c.is_ascii_alphabetic() || c == '_' || c == ':' || (i > 0 && c.is_ascii_digit())
            });
            assert!(ok, "{} is not a valid metric name", m.name);
            assert_eq!(
                m.kind == Kind::Counter,
                m.name.ends_with("_total") && m.kind != Kind::Histogram
            );
            assert_eq!(
                m.kind == Kind::Histogram,
                m.buckets != Buckets::None,
                "{}",
                m.name
            );
        }
    }
}
