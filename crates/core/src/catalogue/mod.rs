//! The vLLM metric catalogue: every metric each vLLM release exposes, as data.
//!
//! A [`Profile`] is one vLLM release. Its families, TYPE, HELP text, label names,
//! bucket bounds, children at start-up, finish reasons, `cache_config_info` labels
//! and how it serves `/metrics` come from `data/vllm/<release>.json`, which
//! `tools/vllm-metrics` renders by executing that release's own code; which engine
//! [`Signal`] feeds each family comes from `data/signals.json`. Registration,
//! encoding, backfill and `docs/metrics.md` all read this table; no Rust source spells
//! a metric name. This module holds no values and knows nothing of the engine.

mod buckets;
mod data;
mod markdown;

use std::fmt;

use serde::Deserialize;

pub use buckets::build_1_2_5_buckets;
pub use markdown::markdown;

/// The Prometheus metric type, as printed on the `# TYPE` line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A monotonically increasing count; exposed with a `_total` suffix.
    Counter,
    /// A value that goes up and down.
    Gauge,
    /// Cumulative buckets plus `_sum` and `_count`.
    Histogram,
    /// `_count` and `_sum` without quantiles (the HTTP instrumentator's sizes).
    Summary,
}

impl Kind {
    /// The name on the `# TYPE` line.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
            Kind::Summary => "summary",
        }
    }
}

/// The role of a family's labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LabelSet {
    /// `model_name` (and `engine` where the release has it) only.
    ModelName,
    /// `finished_reason` besides the model labels.
    FinishedReason,
    /// `max_lora`, `running_lora_adapters`, `waiting_lora_adapters` (no `model_name`).
    LoraInfo,
    /// The fields of vLLM's `CacheConfig`, one label each (no `model_name`).
    CacheConfig,
    /// Other labels besides the model labels (`source`, `reason`, ...): the children
    /// the release creates at start-up, held at zero.
    Other,
}

/// How a histogram's bucket bounds are chosen.
#[derive(Clone, Debug, PartialEq)]
pub enum Buckets {
    /// Not a histogram.
    None,
    /// A fixed list of upper bounds (`+Inf` is implied).
    Fixed(Vec<f64>),
    /// vLLM's `build_1_2_5_buckets(max_model_len)`.
    OneTwoFiveToMaxModelLen,
}

impl Buckets {
    /// The upper bounds for a pod with the given `max_model_len`; empty for non-histograms.
    pub fn bounds(&self, max_model_len: u32) -> Vec<f64> {
        match self {
            Buckets::None => Vec::new(),
            Buckets::Fixed(b) => b.clone(),
            Buckets::OneTwoFiveToMaxModelLen => build_1_2_5_buckets(max_model_len),
        }
    }
}

/// What in the engine feeds a metric. Several metrics may share a signal
/// (vLLM 0.6 exposes queue time twice, for instance). A family no signal feeds keeps
/// the zero values of its start-up children.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
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
    /// A finished request's decode time over its output tokens after the first.
    RequestTimePerOutputToken,
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
    /// Prompt tokens of a finished request whose KV was computed (none is cached).
    RequestPrefillKvComputedTokens,
    /// Output length of a finished request.
    RequestGenerationTokens,
    /// The largest output length among a finished request's sequences.
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
    /// 1 while the engine is awake, 0 while a scenario phase has it asleep.
    Awake,
    /// 1 while the engine sleeps at level 1 (its weights offloaded).
    WeightsOffloaded,
    /// Prompt tokens computed, not found in the prefix cache.
    PromptTokensComputed,
    /// Tokens of preempted requests computed again.
    PromptTokensRecomputed,
    /// Times a finished request was preempted.
    RequestNumPreemptions,
    /// Requests admission rejected (`--max-num-queued-reqs`).
    AdmissionRejections,
    /// The API server's start, Unix seconds.
    ProcessStartTime,
    /// 1: an info family's one child (`python_info`).
    Info,
    /// HTTP requests the API server answered, by handler, method and status.
    HttpRequests,
    /// Their `Content-Length`, by handler.
    HttpRequestSize,
    /// Their responses' `Content-Length` (0 when streamed), by handler.
    HttpResponseSize,
    /// Their duration, arrival to the last byte.
    HttpDuration,
    /// LoRA adapters running and waiting, stamped with the time of the step.
    LoraRequestsInfo,
    /// The pod's cache configuration, a constant 1. (Keep it last: see [`Signal::COUNT`].)
    CacheConfigInfo,
}

impl Signal {
    /// How many signals there are, so that a signal can index a table.
    pub const COUNT: usize = Signal::CacheConfigInfo as usize + 1;
}

/// One child of a family and the signal that feeds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChildSignal {
    /// The label that tells the family's children apart.
    pub label: String,
    /// Its value for this child.
    pub value: String,
    /// What feeds the child.
    pub signal: Signal,
}

/// A feature a family needs before the release registers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gate {
    /// Only pods serving LoRA adapters.
    Lora,
}

/// One metric family as a vLLM release exposes it.
#[derive(Clone, Debug)]
pub struct MetricDef {
    /// The family name (a counter's without `_total`).
    pub name: String,
    /// The `# TYPE`.
    pub kind: Kind,
    /// The `# HELP` text, verbatim (typos and missing periods included).
    pub help: String,
    /// The label names, sorted.
    pub label_names: Vec<String>,
    /// What the labels are.
    pub labels: LabelSet,
    /// Histogram bucket bounds.
    pub buckets: Buckets,
    /// What feeds its children, if anything: all of them (one per model), or
    /// `children`.
    pub signal: Option<Signal>,
    /// Children fed one signal each, by one label's value (`source="local_compute"`).
    pub children: Vec<ChildSignal>,
    /// The feature it needs, if any.
    pub gate: Option<Gate>,
    /// Whether it prints `_created` series where its release prints them (the
    /// process and gc collectors' families never do).
    pub created: bool,
    /// The children that exist from start-up, each by its labels other than `engine`
    /// and `model_name`, sorted by name.
    pub startup: Vec<Vec<(String, String)>>,
}

impl MetricDef {
    /// The sample name of a counter (`_total`) or gauge; a histogram's family name.
    pub fn sample_name(&self) -> String {
        match self.kind {
            Kind::Counter => format!("{}_total", self.name),
            _ => self.name.clone(),
        }
    }
}

/// Which engine a release runs by default.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// `vllm/engine/metrics.py`; the OpenAI server in multiprocess mode.
    V0,
    /// `vllm/v1/metrics/loggers.py`; one API server, the default registry.
    V1,
}

/// How one path of the server answers a scrape.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Serving {
    /// The path, e.g. `/metrics` or `/metrics/`.
    pub path: String,
    /// The `Content-Type` of the text format.
    pub text_content_type: String,
    /// The `Content-Type` of OpenMetrics when `Accept` asks for it; `None` when this
    /// path serves text whatever `Accept` says.
    pub openmetrics_content_type: Option<String>,
    /// Whether the body is gzipped when `Accept-Encoding` names gzip.
    pub gzip: bool,
}

/// The release's defaults for the engine arguments a scenario may leave out.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Defaults {
    /// `--gpu-memory-utilization`.
    pub gpu_memory_utilization: f64,
    /// `--enable-prefix-caching`.
    pub enable_prefix_caching: bool,
    /// `--block-size`, when the release sets one before it sees the model.
    pub block_size: Option<u32>,
    /// `--swap-space`, GiB, in releases that have it.
    pub swap_space: Option<f64>,
}

/// One label of `vllm:cache_config_info`: a constant, or a pod parameter printed as
/// Python prints a value of that type.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct CacheLabel {
    /// The label name.
    pub label: String,
    /// The constant value, if it is one.
    pub value: Option<String>,
    /// The pod parameter: `block_size`, `gpu_memory_utilization`, `swap_space`,
    /// `swap_space_bytes`, `num_gpu_blocks`, `num_cpu_blocks`, `enable_prefix_caching`.
    pub param: Option<String>,
    /// `int`, `float` or `bool`: how the parameter prints.
    pub format: Option<String>,
}

/// How the OpenAI server's error body holds its fields.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ErrorBody {
    /// `{"object": "error", "message": …, "type": …, "param": …, "code": …}` (to 0.10.0).
    #[default]
    Flat,
    /// `{"error": {"message": …, "type": …, "param": …, "code": …}}` (0.10.1 on).
    Nested,
}

/// One vLLM release's metrics and serving, from its data file.
#[derive(Debug)]
pub struct Release {
    /// The release, e.g. `0.11.0`.
    pub version: String,
    /// `vllm-<version>`.
    pub profile_name: String,
    /// The day its wheel was published.
    pub uploaded: String,
    /// The engine it runs by default.
    pub engine: Engine,
    /// The prometheus_client version its exposition was rendered with.
    pub prometheus_client: String,
    /// Whether counters and histograms print `<family>_created` series.
    pub created_series: bool,
    /// How each metrics path answers.
    pub serving: Vec<Serving>,
    /// Every `finished_reason` it can report, in its order.
    pub finish_reasons: Vec<String>,
    /// The shape of its API errors.
    pub error_body: ErrorBody,
    /// Whether its OpenAI server's engine can sleep (vLLM's sleep mode).
    pub sleep_mode: bool,
    /// Its engine-argument defaults.
    pub defaults: Defaults,
    /// The labels of `vllm:cache_config_info`, sorted.
    pub cache_config_info: Vec<CacheLabel>,
    /// vLLM 0.6.4's bug: prefill times observed into the decode-time histogram and
    /// decode times into the prefill-time one.
    pub prefill_decode_swapped: bool,
    /// Its families, in registration order.
    pub metrics: Vec<MetricDef>,
    /// The families its API server process adds (V1's default registry:
    /// `python_gc_*`, `python_info`, `process_*`, and the HTTP instrumentator's).
    pub server_metrics: Vec<MetricDef>,
    /// How the HTTP instrumentator labels requests, where it runs.
    pub http: Option<HttpLabels>,
}

/// How prometheus-fastapi-instrumentator labels a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpLabels {
    /// `status` is the class (`2xx`), not the code.
    pub grouped_status: bool,
    /// The `handler` of a path no route matched.
    pub unknown_handler: String,
}

/// A vLLM release whose metrics can be impersonated.
#[derive(Clone, Copy)]
pub struct Profile(&'static Release);

/// Names that stand for a release.
const ALIASES: &[(&str, &str)] = &[("vllm-0.6", "0.6.4"), ("vllm-0.11", "0.11.0")];

impl Profile {
    /// Every profile, oldest first.
    pub fn all() -> impl Iterator<Item = Profile> {
        (0..data::count()).map(|i| Profile(data::release(i)))
    }

    /// The newest release in the data.
    pub fn latest() -> Profile {
        Profile(data::release(data::count() - 1))
    }

    /// The release itself.
    pub fn release(self) -> &'static Release {
        self.0
    }

    /// The metrics of this profile, in registration order.
    pub fn metrics(self) -> &'static [MetricDef] {
        &self.0.metrics
    }

    /// The name scenario files and `--profile` use, e.g. `vllm-0.11.0`.
    pub fn name(self) -> &'static str {
        &self.0.profile_name
    }

    /// The release's version, e.g. `0.11.0`.
    pub fn version(self) -> &'static str {
        &self.0.version
    }

    /// The profile called `name`: `vllm-X.Y.Z`, an alias (`vllm-0.6`, `vllm-0.11`)
    /// or `latest`.
    pub fn from_name(name: &str) -> Result<Profile, UnknownProfile> {
        if name == "latest" {
            return Ok(Profile::latest());
        }
        let version = ALIASES
            .iter()
            .find(|(alias, _)| *alias == name)
            .map_or_else(|| name.strip_prefix("vllm-").unwrap_or(name), |(_, v)| *v);
        data::index_of(version)
            .map(|i| Profile(data::release(i)))
            .ok_or_else(|| UnknownProfile(name.to_owned()))
    }

    /// Whether metrics carry V1's `engine` label (the data-parallel engine index,
    /// `"0"` for one engine).
    pub fn engine_label(self) -> bool {
        self.0
            .metrics
            .iter()
            .any(|m| m.labels == LabelSet::ModelName && m.label_names.iter().any(|l| l == "engine"))
    }

    /// Whether every counter and histogram is followed by `<family>_created` series:
    /// the default registry prints them, multiprocess mode does not.
    pub fn created_series(self) -> bool {
        self.0.created_series
    }

    /// Whether the server reads its metrics from prometheus_client's multiprocess
    /// files (V0's OpenAI server): families without samples print nothing, and a
    /// histogram prints its `_sum` before its buckets. Otherwise one process's default
    /// registry prints every family, buckets first.
    pub fn multiprocess(self) -> bool {
        self.0.engine == Engine::V0
    }

    /// Whether the release has `--max-num-queued-reqs` (and counts its rejections).
    pub fn admission_control(self) -> bool {
        self.0.metrics.iter().any(|m| {
            m.children
                .iter()
                .any(|c| c.signal == Signal::AdmissionRejections)
        })
    }

    /// How the release's prometheus_client writes the exponent of large floats.
    pub fn exponent(self) -> crate::exposition::text::Exponent {
        let version: Vec<u32> = self
            .0
            .prometheus_client
            .split('.')
            .map(|p| p.parse().unwrap_or(0))
            .collect();
        if version >= vec![0, 26] {
            crate::exposition::text::Exponent::TwoDigits
        } else {
            crate::exposition::text::Exponent::ZeroPrefixed
        }
    }

    /// How often an idle engine logs its stats: V0's engine loop polls for requests for
    /// 10 s (`POLLING_TIMEOUT_MS` in `vllm/engine/multiprocessing/engine.py`) and logs
    /// each time it finds none; V1 records stats only when it steps.
    pub fn idle_log_every(self) -> Option<std::time::Duration> {
        (self.0.engine == Engine::V0).then_some(std::time::Duration::from_secs(10))
    }

    /// The `finished_reason` children created at start-up, in vLLM's order.
    pub fn startup_finish_reasons(self) -> impl Iterator<Item = &'static str> {
        self.0
            .metrics
            .iter()
            .filter(|m| m.labels == LabelSet::FinishedReason)
            .take(1)
            .flat_map(|m| m.startup.iter())
            .filter_map(|child| child.iter().find(|(k, _)| k == "finished_reason"))
            .map(|(_, v)| v.as_str())
    }

    /// How `path` answers a scrape, if it serves metrics.
    pub fn serving(self, path: &str) -> Option<&'static Serving> {
        self.0.serving.iter().find(|s| s.path == path)
    }
}

impl Default for Profile {
    /// The seed dashboard's vLLM, 0.6.4.
    fn default() -> Profile {
        Profile::from_name("vllm-0.6").expect("the data hold vLLM 0.6.4")
    }
}

impl PartialEq for Profile {
    fn eq(&self, other: &Profile) -> bool {
        std::ptr::eq(self.0, other.0)
    }
}

impl Eq for Profile {}

impl fmt::Debug for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A profile name that names no release in the data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownProfile(pub String);

impl fmt::Display for UnknownProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let all: Vec<&str> = data::versions().collect();
        write!(f, "unknown vLLM profile {:?}", self.0)?;
        let nearest = nearest(&self.0, &all);
        if !nearest.is_empty() {
            let names: Vec<_> = nearest.iter().map(|v| format!("vllm-{v}")).collect();
            write!(f, "; the nearest known are {}", names.join(" and "))?;
        }
        write!(
            f,
            " (known: vllm-{} to vllm-{}, aliases vllm-0.6, vllm-0.11 and latest)",
            all[0],
            all[all.len() - 1]
        )
    }
}

impl std::error::Error for UnknownProfile {}

/// The known versions on either side of `name`'s version, if it reads as one.
fn nearest<'a>(name: &str, all: &[&'a str]) -> Vec<&'a str> {
    let key = |v: &str| -> Option<Vec<u64>> {
        v.split('.')
            .map(|p| p.trim_start_matches("post").parse().ok())
            .collect()
    };
    let Some(wanted) = key(name.strip_prefix("vllm-").unwrap_or(name)) else {
        return Vec::new();
    };
    let keys: Vec<Vec<u64>> = all.iter().filter_map(|v| key(v)).collect();
    let after = keys.partition_point(|k| *k < wanted);
    [after.checked_sub(1), (after < all.len()).then_some(after)]
        .into_iter()
        .flatten()
        .map(|i| all[i])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_valid_and_unique() {
        for profile in Profile::all() {
            let mut seen = std::collections::HashSet::new();
            for m in profile.metrics() {
                assert!(seen.insert(&m.name), "{profile}: {} listed twice", m.name);
                let ok = m.name.chars().enumerate().all(|(i, c)| {
                    c.is_ascii_alphabetic() || c == '_' || c == ':' || (i > 0 && c.is_ascii_digit())
                });
                assert!(ok, "{profile}: {} is not a valid metric name", m.name);
                assert!(!m.name.ends_with("_total") || m.kind != Kind::Counter);
                assert_eq!(
                    m.kind == Kind::Histogram,
                    m.buckets != Buckets::None,
                    "{profile}: {}",
                    m.name
                );
            }
            assert_eq!(Profile::from_name(profile.name()), Ok(profile));
        }
    }

    #[test]
    fn aliases_and_latest() {
        assert_eq!(Profile::from_name("vllm-0.6").unwrap().version(), "0.6.4");
        assert_eq!(Profile::from_name("vllm-0.11").unwrap().version(), "0.11.0");
        assert_eq!(Profile::from_name("latest"), Ok(Profile::latest()));
        assert_eq!(Profile::default().version(), "0.6.4");
    }

    #[test]
    fn unknown_releases_name_the_nearest() {
        let err = Profile::from_name("vllm-0.11.9").unwrap_err().to_string();
        assert!(
            err.contains("unknown vLLM profile \"vllm-0.11.9\""),
            "{err}"
        );
        assert!(err.contains("nearest known are vllm-0.11"), "{err}");
        let err = Profile::from_name("nonsense").unwrap_err().to_string();
        assert!(
            err.contains("aliases vllm-0.6, vllm-0.11 and latest"),
            "{err}"
        );
    }

    #[test]
    fn every_signal_feeds_a_family_some_release_has() {
        for name in data::signals().keys() {
            let has = |p: Profile| {
                let release = p.release();
                let mut families = release.metrics.iter().chain(&release.server_metrics);
                families.any(|m| &m.name == name)
            };
            assert!(
                Profile::all().any(has),
                "data/signals.json names {name}, which no release has"
            );
        }
    }
}
