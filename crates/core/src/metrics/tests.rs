//! The metrics agree with each other and with the catalogue.

use super::*;
use crate::clock::SimTime;
use crate::engine::{
    Engine, EngineConfig, Gpu, LengthDist, ModelShape, PerfModel, Quantization, Traffic,
    WorkloadConfig,
};
use crate::exposition::Format;

/// The golden pod on vLLM 0.6.4, called `mistral-7b-fp16` with or without an adapter.
fn info(lora: bool) -> MetricsConfig {
    let mut info = super::golden::golden_pod(Profile::from_name("vllm-0.6").unwrap(), lora);
    info.model_name = "mistral-7b-fp16".to_owned();
    if let Some(lora) = &mut info.lora {
        lora.adapter = "domain".to_owned();
    }
    info
}

fn pod() -> Engine {
    pod_with(|_| {})
}

/// The test pod with `change` made to its configuration.
/// The test pod's configuration: an FP16 Mistral-7B on an A10G.
pub(super) fn config() -> EngineConfig {
    let gpu = Gpu::builtin("a10g").unwrap();
    let model = ModelShape::mistral_7b(Quantization::None);
    let d = LengthDist {
        median: 200.0,
        p90: 400.0,
    };
    EngineConfig {
        max_model_len: 4096,
        max_num_seqs: 256,
        max_num_batched_tokens: 4096,
        block_size: 16,
        num_gpu_blocks: 2841,
        perf: PerfModel::new(&gpu, &model, 0.0),
        workload: WorkloadConfig {
            prompt_tokens: d,
            output_tokens: d,
            max_tokens: 300,
            shared_prefix_tokens: 0,
        },
        lora: false,
        prefix_caching: false,
        idle_log_every: None,
        max_num_queued_reqs: None,
    }
}

fn pod_with(change: impl FnOnce(&mut EngineConfig)) -> Engine {
    let mut config = config();
    change(&mut config);
    let mut pod = Engine::new(config, 3, SimTime::ZERO);
    pod.set_traffic(Traffic::Poisson { rate: 2.0 }, SimTime::ZERO);
    pod
}

fn text(metrics: &VllmMetrics) -> String {
    let mut out = String::new();
    metrics.encode(Format::PrometheusText, &mut out);
    out
}

/// The value of the sample `name{labels}`, labels given as they print.
fn sample(text: &str, name_and_labels: &str) -> Option<f64> {
    text.lines().find_map(|l| {
        l.strip_prefix(name_and_labels)?
            .strip_prefix(' ')?
            .parse()
            .ok()
    })
}

/// The families of `profile` that an engine signal feeds.
fn fed(profile: Profile) -> impl Iterator<Item = &'static crate::catalogue::MetricDef> {
    profile.metrics().iter().filter(|d| d.signal.is_some())
}

fn sum_of(text: &str, prefix: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[test]
fn a_fresh_v0_pod_shows_its_first_idle_stats_log() {
    let out = text(&VllmMetrics::new(info(false)));
    let m = "{model_name=\"mistral-7b-fp16\"}";
    assert_eq!(
        sample(&out, &format!("vllm:num_requests_running{m}")),
        Some(0.0)
    );
    assert_eq!(
        sample(&out, &format!("vllm:prompt_tokens_total{m}")),
        Some(0.0)
    );
    // One idle step of 0 tokens, observed as the engine logs it.
    assert_eq!(
        sample(&out, &format!("vllm:iteration_tokens_total_count{m}")),
        Some(1.0)
    );
    // Per-request families wait for a finished request.
    assert!(!out.contains("vllm:e2e_request_latency_seconds"), "{out}");
    assert!(!out.contains("vllm:request_success"), "{out}");
    assert!(
        out.contains("# HELP vllm:cache_config_info Information of the LLMEngine CacheConfig\n")
    );
    assert!(out.contains("num_gpu_blocks=\"2841\""), "{out}");
}

#[test]
fn counters_and_histograms_agree() {
    let mut metrics = VllmMetrics::new(info(false));
    let mut pod = pod();
    pod.advance_to(SimTime::from_secs_f64(120.0), &mut metrics);
    let out = text(&metrics);
    let m = "{model_name=\"mistral-7b-fp16\"}";
    let success = sum_of(&out, "vllm:request_success_total{");
    assert!(success > 100.0);
    assert_eq!(
        sample(&out, &format!("vllm:e2e_request_latency_seconds_count{m}")),
        Some(success)
    );
    let generated = sample(&out, &format!("vllm:generation_tokens_total{m}")).unwrap();
    let finished = sample(&out, &format!("vllm:request_generation_tokens_sum{m}")).unwrap();
    assert_eq!(
        generated,
        finished + pod.in_flight_generated_tokens() as f64
    );
    let running = sample(&out, &format!("vllm:num_requests_running{m}")).unwrap();
    assert_eq!(running, pod.running() as f64);
    assert_eq!(
        sample(&out, &format!("vllm:gpu_prefix_cache_hit_rate{m}")),
        Some(-1.0)
    );
}

#[test]
fn every_family_matches_the_catalogue() {
    let mut metrics = VllmMetrics::new(info(true));
    let mut pod = pod();
    pod.advance_to(SimTime::from_secs_f64(60.0), &mut metrics);
    let out = text(&metrics);
    for def in fed(Profile::from_name("vllm-0.6").unwrap()) {
        let help = format!("# HELP {} {}\n", def.sample_name(), def.help);
        assert!(out.contains(&help), "missing {help}");
    }
    assert!(out.contains("vllm:lora_requests_info{max_lora=\"1\",running_lora_adapters=\"\",waiting_lora_adapters=\"\"} 1.70000"), "{out}");
    let buckets: Vec<_> = out
        .lines()
        .filter(|l| l.starts_with("vllm:request_prompt_tokens_bucket"))
        .map(|l| l.split("le=\"").nth(1).unwrap().split('"').next().unwrap())
        .collect();
    assert_eq!(
        buckets,
        [
            "1.0", "2.0", "5.0", "10.0", "20.0", "50.0", "100.0", "200.0", "500.0", "1000.0",
            "2000.0", "+Inf"
        ]
    );
}

#[test]
fn lora_info_without_lora_is_v0s_alone() {
    let mut metrics = VllmMetrics::new(info(false));
    pod().advance_to(SimTime::from_secs_f64(10.0), &mut metrics);
    // V0 sets it on every pod at every stats log.
    assert!(text(&metrics).contains(
        "vllm:lora_requests_info{max_lora=\"0\",running_lora_adapters=\"\",waiting_lora_adapters=\"\"}"
    ));
    let mut metrics = VllmMetrics::new(MetricsConfig {
        lora: None,
        ..v1_info()
    });
    pod().advance_to(SimTime::from_secs_f64(10.0), &mut metrics);
    assert!(!text(&metrics).contains("lora"));
}

fn v1_info() -> MetricsConfig {
    let mut info = info(true);
    info.cache_config.enable_prefix_caching = true;
    MetricsConfig {
        profile: Profile::from_name("vllm-0.11").unwrap(),
        started_unix_secs: 1.75e9,
        ..info
    }
}

#[test]
fn a_fresh_v1_pod_shows_every_child_at_zero_with_engine_and_created() {
    let out = text(&VllmMetrics::new(v1_info()));
    let e = "{engine=\"0\",model_name=\"mistral-7b-fp16\"}";
    assert_eq!(
        sample(&out, &format!("vllm:num_requests_running{e}")),
        Some(0.0)
    );
    assert_eq!(
        sample(&out, &format!("vllm:kv_cache_usage_perc{e}")),
        Some(0.0)
    );
    assert_eq!(
        sample(&out, &format!("vllm:prompt_tokens_total{e}")),
        Some(0.0)
    );
    assert_eq!(
        sample(&out, &format!("vllm:prompt_tokens_created{e}")),
        Some(1.75e9)
    );
    assert_eq!(
        sample(&out, &format!("vllm:e2e_request_latency_seconds_count{e}")),
        Some(0.0)
    );
    for reason in ["stop", "length", "abort"] {
        let labels =
            format!("{{engine=\"0\",finished_reason=\"{reason}\",model_name=\"mistral-7b-fp16\"}}");
        assert_eq!(
            sample(&out, &format!("vllm:request_success_total{labels}")),
            Some(0.0),
            "{out}"
        );
    }
    // As text 0.0.4 prints them: the counter under its `_total` name, then a gauge
    // family `<name>_created` with the same HELP text.
    assert!(out.contains(
        "# HELP vllm:prompt_tokens_total Number of prefill tokens processed.\n\
         # TYPE vllm:prompt_tokens_total counter\n"
    ));
    assert!(out.contains(
        "# HELP vllm:prompt_tokens_created Number of prefill tokens processed.\n\
         # TYPE vllm:prompt_tokens_created gauge\n"
    ));
    assert!(out.contains("# TYPE vllm:request_params_n_created gauge\n"));
    assert!(
        !out.contains("vllm:num_requests_running_created"),
        "gauges have none"
    );
    assert!(!out.contains("vllm:gpu_cache_usage_perc"), "renamed in V1");
    assert!(
        !out.contains("vllm:avg_generation_throughput_toks_per_s"),
        "gone in V1"
    );
    assert!(
        out.contains("enable_prefix_caching=\"True\",engine=\"0\","),
        "{out}"
    );
    // Not created before its first step, as vLLM sets it from the first iteration.
    assert!(!out.contains("vllm:lora_requests_info{"));
}

#[test]
fn v1_counters_histograms_and_renames_agree() {
    let mut metrics = VllmMetrics::new(v1_info());
    let mut pod = pod();
    pod.advance_to(SimTime::from_secs_f64(120.0), &mut metrics);
    let out = text(&metrics);
    let e = "{engine=\"0\",model_name=\"mistral-7b-fp16\"}";
    let success = sum_of(&out, "vllm:request_success_total{");
    assert!(success > 100.0);
    assert_eq!(
        sample(&out, &format!("vllm:e2e_request_latency_seconds_count{e}")),
        Some(success)
    );
    let itl = sample(&out, &format!("vllm:inter_token_latency_seconds_count{e}"));
    assert!(itl.unwrap() > 1000.0);
    assert_eq!(
        sample(
            &out,
            &format!("vllm:time_per_output_token_seconds_count{e}")
        ),
        itl,
        "the deprecated name still gets every gap in 0.11"
    );
    assert_eq!(
        sample(&out, &format!("vllm:prefix_cache_queries_total{e}")),
        sample(&out, &format!("vllm:prompt_tokens_total{e}"))
    );
    assert_eq!(
        sample(&out, &format!("vllm:prefix_cache_hits_total{e}")),
        Some(0.0)
    );
    let buckets: Vec<_> = out
        .lines()
        .filter(|l| l.starts_with("vllm:time_to_first_token_seconds_bucket"))
        .map(|l| l.split("le=\"").nth(1).unwrap().split('"').next().unwrap())
        .collect();
    assert_eq!(buckets.len(), 23, "22 bounds up to 2560 s and +Inf");
    assert_eq!(buckets[21], "2560.0");
    for def in fed(Profile::from_name("vllm-0.11").unwrap()) {
        let help = format!("# HELP {} {}\n", def.sample_name(), def.help);
        assert!(out.contains(&help), "missing {help}");
    }
    assert!(
        out.contains("vllm:lora_requests_info{max_lora=\"1\","),
        "no engine label on LoRA info"
    );
}

#[test]
fn an_idle_v0_pod_logs_its_stats_every_10_s() {
    let mut metrics = VllmMetrics::new(info(false));
    let mut pod = pod_with(|c| c.idle_log_every = Some(std::time::Duration::from_secs(10)));
    pod.set_traffic(Traffic::Idle, SimTime::ZERO);
    pod.advance_to(SimTime::from_secs_f64(35.0), &mut metrics);
    let m = "{model_name=\"mistral-7b-fp16\"}";
    // The log at start-up, then at 10, 20 and 30 s: a step of 0 tokens each.
    let out = text(&metrics);
    assert_eq!(
        sample(&out, &format!("vllm:iteration_tokens_total_count{m}")),
        Some(4.0)
    );
    assert_eq!(
        sample(&out, &format!("vllm:iteration_tokens_total_sum{m}")),
        Some(0.0)
    );
}

/// A request of 10 prompt tokens that finished for `reason` after 2.5 s: 0.25 s
/// queued, 0.25 s of prefill, 2 s of decode; 40 `max_tokens`, 20 generated.
fn finished(reason: FinishReason) -> FinishedRequest {
    FinishedRequest {
        client: None,
        reason,
        prompt_tokens: 10,
        generation_tokens: 20,
        max_tokens: 40,
        parent: None,
        preemptions: 0,
        cached_prompt_tokens: 0,
        e2e: 2.5,
        queue: 0.25,
        inference: 2.25,
        prefill: 0.25,
        decode: 2.0,
    }
}

#[test]
fn vllm_0_6_4_swaps_prefill_and_decode_times() {
    let finished = FinishedRequest {
        generation_tokens: 5,
        max_tokens: 16,
        ..finished(FinishReason::Stop)
    };
    let m = "{model_name=\"mistral-7b-fp16\"}";
    for (release, prefill, decode) in [("vllm-0.6.4", 2.0, 0.25), ("vllm-0.6.5", 0.25, 2.0)] {
        let mut metrics = VllmMetrics::new(MetricsConfig {
            profile: Profile::from_name(release).unwrap(),
            ..info(false)
        });
        metrics.finished(&finished);
        let out = text(&metrics);
        let sum =
            |family: &str| sample(&out, &format!("vllm:request_{family}_time_seconds_sum{m}"));
        assert_eq!(
            (sum("prefill"), sum("decode")),
            (Some(prefill), Some(decode)),
            "{release}"
        );
    }
}

#[test]
fn v1_prefix_cache_serves_the_shared_prefix() {
    let profile = Profile::from_name("vllm-0.33.0").unwrap();
    let mut metrics = VllmMetrics::new(MetricsConfig {
        profile,
        ..v1_info()
    });
    let mut pod = pod_with(|c| {
        c.prefix_caching = true;
        c.workload.shared_prefix_tokens = 100;
    });
    pod.advance_to(SimTime::from_secs_f64(60.0), &mut metrics);
    let out = text(&metrics);
    let e = "engine=\"0\",model_name=\"mistral-7b-fp16\"";
    let value = |name: &str| sample(&out, name).unwrap_or_else(|| panic!("{name}:\n{out}"));
    let hits = value(&format!("vllm:prefix_cache_hits_total{{{e}}}"));
    let queries = value(&format!("vllm:prefix_cache_queries_total{{{e}}}"));
    let prompt = value(&format!("vllm:prompt_tokens_total{{{e}}}"));
    // Whole blocks of the 100 shared tokens (96, or fewer of a shorter prompt).
    assert!(hits > 0.0 && hits % 16.0 == 0.0, "{hits}");
    assert_eq!(queries, prompt);
    assert_eq!(
        value(&format!("vllm:prompt_tokens_cached_total{{{e}}}")),
        hits
    );
    assert_eq!(
        value(&format!(
            "vllm:prompt_tokens_by_source_total{{{e},source=\"local_cache_hit\"}}"
        )),
        hits
    );
    assert_eq!(
        value(&format!(
            "vllm:prompt_tokens_by_source_total{{{e},source=\"local_compute\"}}"
        )),
        prompt - hits
    );
    assert_eq!(
        value(&format!(
            "vllm:num_requests_waiting_by_reason{{{e},reason=\"capacity\"}}"
        )),
        value(&format!("vllm:num_requests_waiting{{{e}}}"))
    );
    assert_eq!(
        value(&format!(
            "vllm:engine_sleep_state{{{e},sleep_state=\"awake\"}}"
        )),
        1.0
    );
    let kv_sum = value(&format!(
        "vllm:request_prefill_kv_computed_tokens_sum{{{e}}}"
    ));
    let prompt_sum = value(&format!("vllm:request_prompt_tokens_sum{{{e}}}"));
    assert!(kv_sum < prompt_sum, "{kv_sum} < {prompt_sum}");
}

#[test]
fn a_request_with_n_sequences_is_counted_as_its_release_counts_it() {
    let sequence = |generation_tokens, reason| FinishedRequest {
        generation_tokens,
        parent: Some(crate::engine::Parent { id: 3, n: 2 }),
        ..finished(reason)
    };
    // (release, model labels, e2e observations): V1 runs each sequence as a request.
    for (release, m, e2e) in [
        ("vllm-0.6.4", "{model_name=\"mistral-7b-fp16\"}", 1.0),
        (
            "vllm-0.33.0",
            "{engine=\"0\",model_name=\"mistral-7b-fp16\"}",
            2.0,
        ),
    ] {
        let mut metrics = VllmMetrics::new(MetricsConfig {
            profile: Profile::from_name(release).unwrap(),
            ..info(false)
        });
        metrics.finished(&sequence(10, FinishReason::Stop));
        let out = text(&metrics);
        let count = |out: &str, family: &str| sample(out, &format!("vllm:{family}_count{m}"));
        assert_eq!(
            count(&out, "request_params_n").unwrap_or(0.0),
            0.0,
            "{release}"
        );
        metrics.finished(&sequence(30, FinishReason::Length));
        let out = text(&metrics);
        let sum = |family: &str| sample(&out, &format!("vllm:{family}_sum{m}"));
        assert_eq!(count(&out, "request_params_n"), Some(1.0), "{release}");
        assert_eq!(sum("request_params_n"), Some(2.0), "{release}");
        assert_eq!(sum("request_max_num_generation_tokens"), Some(30.0));
        assert_eq!(count(&out, "request_generation_tokens"), Some(2.0));
        assert_eq!(count(&out, "e2e_request_latency_seconds"), Some(e2e));
        assert!(metrics.parents.is_empty());
        // A request one of whose sequences is aborted is not observed at all.
        metrics.finished(&sequence(5, FinishReason::Stop));
        metrics.finished(&sequence(5, FinishReason::Abort));
        assert!(metrics.parents.is_empty());
        assert_eq!(count(&text(&metrics), "request_params_n"), Some(1.0));
    }
}
