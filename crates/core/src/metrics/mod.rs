//! One pod's metrics: engine events in, the catalogue's families out.
//!
//! [`VllmMetrics`] is the engine's [`EventSink`]. It updates the families of the
//! pod's [`Profile`], creating each child when that vLLM version would: V0 on first
//! use (so an idle pod shows little, and a `finished_reason` appears once a request
//! finished with it), V1 at start-up with zero values. It keeps counters monotonic. A restarted pod gets a new `VllmMetrics`, which is how
//! its counters reset. It holds no randomness and no clock, and writes no bytes: see
//! [`crate::exposition`].
//!
//! [`gateway`] holds the lab gateway's own families (`lab_gateway_*`), which the lab
//! counts and the gateway serves.

mod families;
pub mod gateway;
mod histogram;

use std::collections::HashMap;

use crate::catalogue::{LabelSet, MetricDef, Profile, Signal};
use crate::engine::{EventSink, FinishReason, FinishedRequest, StepStats};
use crate::exposition::text::Dialect;
use crate::exposition::{Format, Sink};
use families::{Families, Labels, Value};

/// vLLM's `CacheConfig`, as `vllm:cache_config_info` labels it.
#[derive(Clone, Debug, PartialEq)]
pub struct CacheConfigInfo {
    /// Tokens per KV block.
    pub block_size: u32,
    /// Fraction of GPU memory vLLM may use.
    pub gpu_memory_utilization: f64,
    /// KV blocks on the GPU.
    pub num_gpu_blocks: u32,
    /// KV blocks in CPU swap space.
    pub num_cpu_blocks: u32,
    /// CPU swap space, GiB.
    pub swap_space_gib: u32,
    /// Whether prefix caching is on.
    pub enable_prefix_caching: bool,
}

impl CacheConfigInfo {
    /// The labels `vllm:cache_config_info` carries in `profile`: the fields of that
    /// release's `CacheConfig`, sorted, each a constant or a parameter of this pod
    /// printed as Python prints it.
    fn labels(&self, profile: Profile) -> Labels {
        profile
            .release()
            .cache_config_info
            .iter()
            .map(|l| {
                let value = match (&l.value, l.param.as_deref()) {
                    (Some(v), _) => v.clone(),
                    (None, Some(param)) => self.param(param, l.format.as_deref()),
                    (None, None) => "None".to_owned(),
                };
                (l.label.as_str(), value)
            })
            .collect()
    }

    /// A pod parameter as Python's `str()` prints it in `format` (`int`, `float`, `bool`).
    fn param(&self, param: &str, format: Option<&str>) -> String {
        let swap_bytes = u64::from(self.swap_space_gib) << 30;
        let value = match param {
            "block_size" => f64::from(self.block_size),
            "gpu_memory_utilization" => self.gpu_memory_utilization,
            "swap_space" => f64::from(self.swap_space_gib),
            "swap_space_bytes" => swap_bytes as f64,
            "num_gpu_blocks" => f64::from(self.num_gpu_blocks),
            "num_cpu_blocks" => f64::from(self.num_cpu_blocks),
            "enable_prefix_caching" => f64::from(u8::from(self.enable_prefix_caching)),
            _ => return "None".to_owned(),
        };
        match format {
            Some("bool") => if value != 0.0 { "True" } else { "False" }.to_owned(),
            Some("float") => {
                let mut out = String::new();
                crate::exposition::text::python_float(value, &mut out);
                out
            }
            _ => format!("{}", value as u64),
        }
    }
}

/// A pod's LoRA set-up.
#[derive(Clone, Debug, PartialEq)]
pub struct LoraInfo {
    /// The adapter's name, as `running_lora_adapters` shows it.
    pub adapter: String,
    /// `--max-loras`.
    pub max_lora: u32,
}

/// What the metrics need to know about their pod.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricsConfig {
    /// The vLLM version to impersonate.
    pub profile: Profile,
    /// `--served-model-name`, the `model_name` label.
    pub model_name: String,
    /// Bounds the token histograms' buckets.
    pub max_model_len: u32,
    /// The cache configuration.
    pub cache_config: CacheConfigInfo,
    /// The LoRA set-up, if the pod serves an adapter.
    pub lora: Option<LoraInfo>,
    /// Unix time of simulated time zero, for vLLM's wall-clock gauge values.
    pub epoch_unix_secs: f64,
    /// Unix time this incarnation started, when V1 creates its children.
    pub started_unix_secs: f64,
}

/// One request the pod's API server answered.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HttpRequest<'a> {
    /// The route it matched (`/v1/completions`), or `None`.
    pub handler: Option<&'a str>,
    /// `GET`, `POST`, ...
    pub method: &'a str,
    /// The response's status code.
    pub status: u16,
    /// The request's `Content-Length` (0 without one).
    pub request_bytes: u64,
    /// The response's `Content-Length` (0 when streamed).
    pub response_bytes: u64,
    /// Arrival to the last byte, seconds.
    pub seconds: f64,
}

/// The metrics of one pod incarnation.
#[derive(Debug)]
pub struct VllmMetrics {
    info: MetricsConfig,
    families: Families,
    /// By signal, the families it feeds whose labels are not just the model's.
    by_signal: Vec<Vec<usize>>,
    /// By signal, the children it feeds labelled by the model (and, for some, one
    /// more label): each family and the child's labels.
    feeds: Vec<Vec<(usize, Labels)>>,
    /// The children of each signal's feeds, by signal, once created.
    children: Vec<Option<Vec<Value>>>,
    /// `model_name`, and `engine` where the profile has it, sorted.
    model_labels: Labels,
    /// Unix time of the last engine step, when children created now are stamped.
    now_unix_secs: f64,
    /// Inter-token latencies of the current step not yet observed: the value and how
    /// many times (a step gives every sequence in its batch the same one).
    pending_token_gaps: Option<(f64, u64)>,
    /// `request_success_total` children, by finish reason, once created.
    success: [Option<Vec<Value>>; 3],
    /// `lora_requests_info` children, by (adapter running, adapter waiting), once
    /// created; on a pod without LoRA only the first is used (`max_lora="0"`).
    lora_info: [Option<Vec<Value>>; 4],
    /// For each API request with `n` > 1 still running: its sequences finished so far
    /// and the largest output among them.
    parents: HashMap<u64, (u32, u32)>,
}

impl VllmMetrics {
    /// Fresh metrics: the children the release creates at start-up, at zero, and
    /// `vllm:cache_config_info`.
    pub fn new(info: MetricsConfig) -> VllmMetrics {
        let profile = info.profile;
        let defs: Vec<_> = profile
            .metrics()
            .iter()
            .filter(|d| d.gate.is_none() || info.lora.is_some())
            .chain(&profile.release().server_metrics)
            .collect();
        let families = Families::new(&defs, info.max_model_len, profile);
        let model_labels = sorted(
            [
                profile.engine_label().then(|| ("engine", "0".to_owned())),
                Some(("model_name", info.model_name.clone())),
            ]
            .into_iter()
            .flatten()
            .collect(),
        );
        let mut by_signal = vec![Vec::new(); Signal::COUNT];
        let mut feeds = vec![Vec::new(); Signal::COUNT];
        for (i, def) in families.defs().enumerate() {
            let base = family_model_labels(def, &model_labels);
            match def.signal {
                Some(signal) if def.labels == LabelSet::ModelName => {
                    feeds[signal as usize].push((i, base.clone()));
                }
                Some(signal) => {
                    by_signal[signal as usize].push(i);
                    // A family-wide signal also feeds the children it starts with.
                    if def.labels == LabelSet::Other {
                        for extra in &def.startup {
                            let extra = extra.iter().filter_map(|(k, v)| {
                                Some((label_name(&def.label_names, k)?, v.clone()))
                            });
                            let labels = sorted(base.iter().cloned().chain(extra).collect());
                            feeds[signal as usize].push((i, labels));
                        }
                    }
                }
                None => {}
            }
            for child in &def.children {
                if let Some(label) = label_name(&def.label_names, &child.label) {
                    let labels =
                        sorted([base.clone(), vec![(label, child.value.clone())]].concat());
                    feeds[child.signal as usize].push((i, labels));
                }
            }
        }
        let now_unix_secs = info.started_unix_secs;
        let mut metrics = VllmMetrics {
            info,
            families,
            by_signal,
            feeds,
            children: vec![None; Signal::COUNT],
            model_labels,
            now_unix_secs,
            pending_token_gaps: None,
            success: Default::default(),
            lora_info: Default::default(),
            parents: HashMap::new(),
        };
        metrics.create_children_at_startup();
        metrics.sleep_state(false);
        let started = metrics.info.started_unix_secs;
        metrics.set(Signal::ProcessStartTime, started);
        metrics.set(Signal::Info, 1.0);
        let cache_labels = metrics.info.cache_config.labels(profile);
        metrics.set_labelled(Signal::CacheConfigInfo, &cache_labels, 1.0);
        if profile.multiprocess() {
            // V0's engine logs its stats while idle too, the first time as it starts:
            // every gauge set, one step of 0 tokens observed.
            let started = metrics.info.started_unix_secs - metrics.info.epoch_unix_secs;
            metrics.step(&StepStats {
                at: crate::clock::SimTime::from_secs_f64(started.max(0.0)),
                ..StepStats::default()
            });
        }
        metrics
    }

    /// The children the release creates at start-up (V1's `make_per_engine`, with a
    /// `request_success` child per finish reason), with zero values.
    fn create_children_at_startup(&mut self) {
        let model_labels = &self.model_labels;
        let startup: Vec<(usize, Labels)> =
            self.families
                .defs()
                .enumerate()
                .filter(|(_, d)| {
                    matches!(
                        d.labels,
                        LabelSet::ModelName | LabelSet::FinishedReason | LabelSet::Other
                    )
                })
                .flat_map(|(i, d)| {
                    d.startup.iter().map(move |extra| {
                        let mut labels = family_model_labels(d, model_labels);
                        labels.extend(extra.iter().filter_map(|(k, v)| {
                            Some((label_name(&d.label_names, k)?, v.clone()))
                        }));
                        (i, sorted(labels))
                    })
                })
                .collect();
        for (i, labels) in startup {
            self.families.child(i, &labels, self.now_unix_secs);
        }
    }

    fn indices(&self, signal: Signal) -> &[usize] {
        &self.by_signal[signal as usize]
    }

    /// Counts one request the pod's API server answered, as the release's HTTP
    /// instrumentator does (releases without it count nothing).
    pub fn http(&mut self, r: &HttpRequest<'_>) {
        let Some(http) = &self.info.profile.release().http else {
            return;
        };
        let status = if http.grouped_status {
            format!("{}xx", r.status / 100)
        } else {
            r.status.to_string()
        };
        let handler = r.handler.unwrap_or(&http.unknown_handler);
        for signal in [
            Signal::HttpRequests,
            Signal::HttpRequestSize,
            Signal::HttpResponseSize,
            Signal::HttpDuration,
        ] {
            let mut indices: Vec<usize> = self.by_signal[signal as usize]
                .iter()
                .copied()
                .chain(self.feeds[signal as usize].iter().map(|(i, _)| *i))
                .collect();
            indices.sort_unstable();
            indices.dedup();
            for i in indices {
                let def = self.families.def(i);
                let labels: Labels = def
                    .label_names
                    .iter()
                    .map(|n| {
                        let value = match n.as_str() {
                            "handler" => handler,
                            "method" => r.method,
                            "status" => status.as_str(),
                            _ => "",
                        };
                        (n.as_str(), value.to_owned())
                    })
                    .collect();
                match self.families.child(i, &labels, self.now_unix_secs) {
                    Value::Counter(c) => {
                        c.inc();
                    }
                    Value::Summary(s) if signal == Signal::HttpRequestSize => {
                        s.observe_n(r.request_bytes as f64, 1)
                    }
                    Value::Summary(s) => s.observe_n(r.response_bytes as f64, 1),
                    Value::Histogram(h) => h.observe_n(r.seconds, 1),
                    Value::Gauge(_) => {}
                }
            }
        }
    }

    /// Appends the pod's exposition in `format`, as its release's prometheus_client
    /// writes it.
    pub fn encode(&self, format: Format, out: &mut String) {
        match format {
            Format::PrometheusText => self.families.encode(Dialect::Text, out),
            Format::OpenMetrics => {
                self.families.encode(Dialect::OpenMetrics, out);
                out.push_str("# EOF\n");
            }
        }
    }

    /// Tells the pod's families to `sink` as OpenMetrics, without its `# EOF`: a
    /// backfill's scrape, encoded straight into the backfill.
    pub fn encode_into(&self, sink: &mut impl Sink) {
        self.families.encode(Dialect::OpenMetrics, sink);
    }

    /// The `model_name` children fed by `signal`, created on first use.
    fn values(&mut self, signal: Signal) -> &[Value] {
        let s = signal as usize;
        if self.children[s].is_none() {
            let created: Vec<Value> = self.feeds[s]
                .iter()
                .map(|(i, labels)| self.families.child(*i, labels, self.now_unix_secs))
                .collect();
            self.children[s] = Some(created);
        }
        self.children[s].as_deref().unwrap_or_default()
    }

    fn set(&mut self, signal: Signal, value: f64) {
        for v in self.values(signal) {
            if let Value::Gauge(g) = v {
                g.set(value);
            }
        }
    }

    fn inc(&mut self, signal: Signal, by: f64) {
        for v in self.values(signal) {
            if let Value::Counter(c) = v {
                c.inc_by(by.max(0.0));
            }
        }
    }

    fn observe(&mut self, signal: Signal, value: f64) {
        self.observe_n(signal, value, 1);
    }

    fn observe_n(&mut self, signal: Signal, value: f64, n: u64) {
        for v in self.values(signal) {
            if let Value::Histogram(h) = v {
                h.observe_n(value, n);
            }
        }
    }

    /// Observes the inter-token latencies held back so far.
    fn flush_token_gaps(&mut self) {
        if let Some((latency, n)) = self.pending_token_gaps.take() {
            self.observe_n(Signal::TimePerOutputToken, latency, n);
        }
    }

    /// Sets a gauge whose labels are not just `model_name`.
    fn set_labelled(&mut self, signal: Signal, labels: &Labels, value: f64) {
        for &i in self.indices(signal) {
            if let Value::Gauge(g) = self.families.child(i, labels, self.now_unix_secs) {
                g.set(value);
            }
        }
    }

    /// The children of `signal`'s families with `labels`, kept in `slot` once made.
    fn labelled<'a>(
        families: &Families,
        indices: &[usize],
        slot: &'a mut Option<Vec<Value>>,
        labels: impl FnOnce() -> Labels,
        now_unix_secs: f64,
    ) -> &'a [Value] {
        slot.get_or_insert_with(|| {
            let labels = labels();
            indices
                .iter()
                .map(|&i| families.child(i, &labels, now_unix_secs))
                .collect()
        })
    }

    /// The engine's sleep state, as vLLM's `record_sleep_state` sets it for sleep
    /// level 1: `awake` 1, or `weights_offloaded` 1 while asleep.
    pub fn sleep_state(&mut self, asleep: bool) {
        self.set(Signal::Awake, if asleep { 0.0 } else { 1.0 });
        self.set(Signal::WeightsOffloaded, if asleep { 1.0 } else { 0.0 });
    }

    /// The stats vLLM records per finished request (V1) or sequence group (V0).
    fn request_finished(&mut self, r: &FinishedRequest) {
        self.observe(Signal::E2eLatency, r.e2e);
        self.observe(Signal::QueueTime, r.queue);
        self.observe(Signal::InferenceTime, r.inference);
        let (prefill, decode) = if self.info.profile.release().prefill_decode_swapped {
            (r.decode, r.prefill)
        } else {
            (r.prefill, r.decode)
        };
        self.observe(Signal::PrefillTime, prefill);
        self.observe(Signal::DecodeTime, decode);
        self.observe(Signal::RequestPromptTokens, f64::from(r.prompt_tokens));
        self.observe(
            Signal::RequestPrefillKvComputedTokens,
            f64::from(r.prompt_tokens - r.cached_prompt_tokens),
        );
        self.observe(Signal::RequestNumPreemptions, f64::from(r.preemptions));
        let per_token = if r.generation_tokens > 1 {
            r.decode / f64::from(r.generation_tokens - 1)
        } else {
            0.0
        };
        self.observe(Signal::RequestTimePerOutputToken, per_token);
        self.observe(Signal::RequestParamsMaxTokens, f64::from(r.max_tokens));
    }

    fn count_success(&mut self, reason: FinishReason) {
        let slot = &mut self.success[reason as usize];
        let (model_labels, families) = (&self.model_labels, &self.families);
        let labels = || {
            let mut labels = model_labels.clone();
            labels.push(("finished_reason", reason.as_str().to_owned()));
            sorted(labels)
        };
        let indices = &self.by_signal[Signal::RequestSuccess as usize];
        for v in Self::labelled(families, indices, slot, labels, self.now_unix_secs) {
            if let Value::Counter(c) = v {
                c.inc_by(1.0);
            }
        }
    }
}

impl EventSink for VllmMetrics {
    fn first_token(&mut self, latency: f64) {
        self.observe(Signal::TimeToFirstToken, latency);
    }

    fn next_token(&mut self, latency: f64) {
        match &mut self.pending_token_gaps {
            Some((pending, n)) if *pending == latency => *n += 1,
            _ => {
                self.flush_token_gaps();
                self.pending_token_gaps = Some((latency, 1));
            }
        }
    }

    fn finished(&mut self, r: &FinishedRequest) {
        // vLLM records no stats for an aborted request (no success, no histogram), nor
        // for the API request it belongs to: its other sequences are aborted with it.
        if r.reason == FinishReason::Abort {
            if let Some(parent) = r.parent {
                self.parents.remove(&parent.id);
            }
            return;
        }
        // `n` and the largest output are observed once per API request, as its last
        // sequence finishes (V1's `ParentRequest.observe_finished_request`, V0's
        // finished sequence group).
        let whole = match r.parent {
            None => Some((1, r.generation_tokens)),
            Some(parent) => {
                let (done, largest) = self.parents.entry(parent.id).or_default();
                *done += 1;
                *largest = (*largest).max(r.generation_tokens);
                let whole = (*done >= parent.n).then_some((parent.n, *largest));
                if whole.is_some() {
                    self.parents.remove(&parent.id);
                }
                whole
            }
        };
        // V1 runs each sequence as a request of its own; V0 records a sequence group's
        // timings, prompt and parameters once, when it finishes.
        if !self.info.profile.multiprocess() || whole.is_some() {
            self.request_finished(r);
        }
        self.observe(
            Signal::RequestGenerationTokens,
            f64::from(r.generation_tokens),
        );
        if let Some((n, largest)) = whole {
            self.observe(Signal::RequestParamsN, f64::from(n));
            self.observe(Signal::RequestMaxGenerationTokens, f64::from(largest));
        }
        self.count_success(r.reason);
    }

    fn step(&mut self, s: &StepStats) {
        // Every step ends with this call, so no latency waits past its step.
        self.flush_token_gaps();
        self.now_unix_secs = self.info.epoch_unix_secs + s.at.as_secs_f64();
        self.set(Signal::Running, s.running as f64);
        self.set(Signal::Waiting, s.waiting as f64);
        self.set(Signal::Swapped, 0.0);
        self.set(Signal::GpuCacheUsage, s.gpu_cache_usage);
        self.set(Signal::CpuCacheUsage, 0.0);
        // V0 pods run without a prefix cache, and vLLM reports -1 for its hit rates then.
        self.set(Signal::GpuPrefixCacheHitRate, -1.0);
        self.set(Signal::CpuPrefixCacheHitRate, -1.0);
        self.inc(Signal::Preemptions, s.preemptions as f64);
        self.inc(Signal::PromptTokens, s.prompt_tokens as f64);
        // Every prompt token is looked up in V1's prefix cache; those of the
        // workload's shared prefix are found once a prefill has cached it.
        self.inc(Signal::PrefixCacheQueries, s.prompt_tokens as f64);
        self.inc(Signal::PrefixCacheHits, s.prefix_hits as f64);
        self.inc(
            Signal::PromptTokensComputed,
            s.prompt_tokens.saturating_sub(s.prefix_hits) as f64,
        );
        self.inc(Signal::PromptTokensRecomputed, s.recomputed_tokens as f64);
        self.inc(Signal::GenerationTokens, s.generation_tokens as f64);
        self.observe(
            Signal::IterationTokens,
            (s.prompt_tokens + s.generation_tokens) as f64,
        );
        if !self.indices(Signal::LoraRequestsInfo).is_empty() {
            let (adapter, max_lora) = match &self.info.lora {
                Some(lora) => (lora.adapter.as_str(), lora.max_lora),
                None => ("", 0),
            };
            let adapters = |active: bool| if active { adapter } else { "" }.to_owned();
            let labels = || {
                vec![
                    ("max_lora", max_lora.to_string()),
                    ("running_lora_adapters", adapters(s.lora_running)),
                    ("waiting_lora_adapters", adapters(s.lora_waiting)),
                ]
            };
            let slot =
                &mut self.lora_info[usize::from(s.lora_running) * 2 + usize::from(s.lora_waiting)];
            let indices = &self.by_signal[Signal::LoraRequestsInfo as usize];
            for v in Self::labelled(&self.families, indices, slot, labels, self.now_unix_secs) {
                if let Value::Gauge(g) = v {
                    g.set(self.now_unix_secs);
                }
            }
        }
    }

    fn rejected(&mut self) {
        self.inc(Signal::AdmissionRejections, 1.0);
    }

    fn throughput(&mut self, prompt: f64, generation: f64) {
        self.set(Signal::AvgPromptThroughput, prompt);
        self.set(Signal::AvgGenerationThroughput, generation);
    }
}

/// The model labels (`engine`, `model_name`) that family `def` has: some have no
/// `engine`.
fn family_model_labels(def: &MetricDef, model_labels: &Labels) -> Labels {
    model_labels
        .iter()
        .filter(|(k, _)| def.label_names.iter().any(|n| n == k))
        .cloned()
        .collect()
}

/// The `&'static` spelling of label `name` among a family's label names.
fn label_name(names: &'static [String], name: &str) -> Option<&'static str> {
    names.iter().find(|n| *n == name).map(String::as_str)
}

/// `labels` sorted by name, as prometheus_client prints them.
fn sorted(mut labels: Labels) -> Labels {
    labels.sort_by_key(|(name, _)| *name);
    labels
}

#[cfg(test)]
mod golden;
#[cfg(test)]
mod tests;
