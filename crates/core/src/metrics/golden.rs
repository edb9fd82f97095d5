//! Each release's pods against the goldens that release's own code rendered
//! (`data/vllm/golden/`, written by `tools/vllm-metrics`): every family, HELP, TYPE,
//! label names and values, label order, buckets, `le` text, number format and
//! sample order, for a plain pod and a LoRA pod at start-up. Family order aside, and
//! timestamps aside (both sides' are checked to print as prometheus_client prints).

use std::collections::BTreeMap;

use super::*;
use crate::exposition::text::go_float;

/// The pod `tools/vllm-metrics` renders.
pub(super) fn golden_pod(profile: Profile, lora: bool) -> MetricsConfig {
    MetricsConfig {
        profile,
        model_name: if lora {
            "mistral-7b-lora"
        } else {
            "mistral-7b-fp16"
        }
        .to_owned(),
        max_model_len: 4096,
        cache_config: CacheConfigInfo {
            block_size: 16,
            gpu_memory_utilization: 0.9,
            num_gpu_blocks: 2841,
            num_cpu_blocks: 2048,
            swap_space_gib: 4,
            enable_prefix_caching: profile.release().defaults.enable_prefix_caching,
        },
        lora: lora.then(|| LoraInfo {
            adapter: "domain-adapter".to_owned(),
            max_lora: 1,
        }),
        epoch_unix_secs: 1.7e9,
        started_unix_secs: 1.7e9,
    }
}

/// Families by name: their lines, a sample's value replaced by `<time>` when it is a
/// Unix time (after checking that it prints as `profile`'s `floatToGoString` prints it).
fn families(text: &str, profile: Profile) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut current = String::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            current = rest.split(' ').next().unwrap_or_default().to_owned();
        }
        let line = match line.rsplit_once(' ') {
            Some((series, value)) if !line.starts_with('#') => {
                let v: f64 = value.parse().unwrap_or_else(|_| panic!("value of {line}"));
                let mut printed = String::new();
                go_float(v, profile.exponent(), &mut printed);
                assert_eq!(printed, value, "{line} does not print as prometheus_client");
                if v >= 1e9 {
                    format!("{series} <time>")
                } else {
                    line.to_owned()
                }
            }
            _ => line.to_owned(),
        };
        out.entry(current.clone()).or_default().push(line);
    }
    out
}

/// Whether `name` (as a HELP line names it) is one of the API server's own families.
fn is_server_family(profile: Profile, name: &str) -> bool {
    profile
        .release()
        .server_metrics
        .iter()
        .any(|m| name == m.name || name == m.sample_name() || name == format!("{}_created", m.name))
}

#[test]
fn every_release_starts_as_its_golden() {
    for profile in Profile::all() {
        for lora in [false, true] {
            let mut ours = String::new();
            VllmMetrics::new(golden_pod(profile, lora)).encode(Format::PrometheusText, &mut ours);
            assert_is_golden(profile, &golden_name(profile, lora, ""), &ours);
        }
    }
}

/// The engine steps of `data/vllm/golden/traffic.json`, which `tools/vllm-metrics`
/// hands to each release's stat logger for the `*-traffic.txt` goldens.
#[derive(serde::Deserialize)]
struct TrafficStep {
    at: f64,
    /// The engines (`v0`, `v1`) that replay it, if not both.
    engines: Option<Vec<String>>,
    running: usize,
    waiting: usize,
    kv_cache_usage: f64,
    prompt_tokens: u64,
    generation_tokens: u64,
    preemptions: u64,
    lora_running: bool,
    lora_waiting: bool,
    time_to_first_token: Vec<f64>,
    inter_token_latency: Vec<f64>,
    finished: Vec<TrafficRequest>,
}

#[derive(serde::Deserialize)]
struct TrafficRequest {
    reason: String,
    prompt_tokens: u32,
    generation_tokens: u32,
    max_tokens: u32,
    n: u32,
    /// The API request it is one of the `n` sequences of.
    parent: Option<u64>,
    e2e: f64,
    queue: f64,
    prefill: f64,
    decode: f64,
}

/// Under the same engine steps as the release's logger was handed, every release's
/// pods serve what that release rendered: values included.
#[test]
fn every_release_under_traffic_is_its_golden() {
    use crate::clock::SimTime;
    use crate::engine::{EventSink, FinishReason, FinishedRequest, Parent, StepStats};
    #[derive(serde::Deserialize)]
    struct Traffic {
        steps: Vec<TrafficStep>,
    }
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/vllm/golden/traffic.json");
    let traffic: Traffic = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    for profile in Profile::all() {
        for lora in [false, true] {
            let mut metrics = VllmMetrics::new(golden_pod(profile, lora));
            let engine = if profile.multiprocess() { "v0" } else { "v1" };
            for step in &traffic.steps {
                if step
                    .engines
                    .as_ref()
                    .is_some_and(|e| !e.iter().any(|e| e == engine))
                {
                    continue;
                }
                for &latency in &step.time_to_first_token {
                    metrics.first_token(latency);
                }
                for &latency in &step.inter_token_latency {
                    metrics.next_token(latency);
                }
                for r in &step.finished {
                    metrics.finished(&FinishedRequest {
                        client: None,
                        reason: match r.reason.as_str() {
                            "stop" => FinishReason::Stop,
                            "length" => FinishReason::Length,
                            other => panic!("{path}: finish reason {other}"),
                        },
                        prompt_tokens: r.prompt_tokens,
                        generation_tokens: r.generation_tokens,
                        max_tokens: r.max_tokens,
                        parent: r.parent.map(|id| Parent { id, n: r.n }),
                        preemptions: 0,
                        cached_prompt_tokens: 0,
                        e2e: r.e2e,
                        queue: r.queue,
                        inference: r.prefill + r.decode,
                        prefill: r.prefill,
                        decode: r.decode,
                    });
                }
                metrics.step(&StepStats {
                    at: SimTime::from_secs_f64(step.at),
                    running: step.running,
                    waiting: step.waiting,
                    gpu_cache_usage: step.kv_cache_usage,
                    prompt_tokens: step.prompt_tokens,
                    generation_tokens: step.generation_tokens,
                    preemptions: step.preemptions,
                    prefix_hits: 0,
                    recomputed_tokens: 0,
                    lora_running: lora && step.lora_running,
                    lora_waiting: lora && step.lora_waiting,
                });
            }
            let mut ours = String::new();
            metrics.encode(Format::PrometheusText, &mut ours);
            assert_is_golden(profile, &golden_name(profile, lora, "-traffic"), &ours);
        }
    }
}

/// The golden file of `profile`'s plain or LoRA pod, `suffix` naming the moment.
fn golden_name(profile: Profile, lora: bool, suffix: &str) -> String {
    let kind = if lora { "lora" } else { "plain" };
    format!("{}-{kind}{suffix}.txt", profile.version())
}

/// Asserts that `ours` is the golden `name`, family by family (vLLM's families: the
/// API server's have goldens of their own).
fn assert_is_golden(profile: Profile, name: &str, ours: &str) {
    let path = format!("{}/data/vllm/golden/{name}", env!("CARGO_MANIFEST_DIR"));
    let golden = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let golden = families(&golden, profile);
    let mut ours = families(ours, profile);
    ours.retain(|family, _| !is_server_family(profile, family));
    let names = |f: &BTreeMap<String, Vec<String>>| f.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(&ours), names(&golden), "{name}: families");
    for (family, lines) in &golden {
        let theirs = lines.iter().map(Some).chain(std::iter::repeat(None));
        let first_difference = ours[family]
            .iter()
            .map(Some)
            .chain(std::iter::repeat(None))
            .zip(theirs)
            .take(lines.len().max(ours[family].len()))
            .find(|(a, b)| a != b);
        assert_eq!(first_difference, None, "{name}: {family}: ours, golden");
    }
}

/// Under traffic (and idle after it), every family still prints its release's HELP and
/// TYPE lines, every sample carries exactly the family's label names (and `le` on
/// buckets), and every number prints as prometheus_client prints it.
#[test]
fn every_release_serves_traffic_in_its_own_shapes() {
    use crate::clock::SimTime;
    use crate::engine::{Engine, Gpu, ModelShape, PerfModel, Quantization, Traffic};
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/data/vllm/golden");
    let gpu = Gpu::builtin("a10g").unwrap();
    let model = ModelShape::mistral_7b(Quantization::None);
    for profile in Profile::all() {
        let golden =
            std::fs::read_to_string(format!("{dir}/{}-lora.txt", profile.version())).unwrap();
        let golden = families(&golden, profile);
        let mut metrics = VllmMetrics::new(golden_pod(profile, true));
        let mut config = super::tests::config();
        config.perf = PerfModel::new(&gpu, &model, 0.07);
        config.workload.shared_prefix_tokens = 64;
        config.lora = true;
        config.prefix_caching = profile.release().defaults.enable_prefix_caching;
        config.idle_log_every = profile.idle_log_every();
        let mut pod = Engine::new(config, 7, SimTime::ZERO);
        pod.set_traffic(Traffic::Poisson { rate: 4.0 }, SimTime::ZERO);
        pod.advance_to(SimTime::from_secs_f64(60.0), &mut metrics);
        pod.set_traffic(Traffic::Idle, SimTime::from_secs_f64(60.0));
        pod.advance_to(SimTime::from_secs_f64(90.0), &mut metrics);
        let mut text = String::new();
        metrics.encode(Format::PrometheusText, &mut text);
        let ours = families(&text, profile);
        for (name, lines) in ours
            .into_iter()
            .filter(|(n, _)| !is_server_family(profile, n))
        {
            let def = profile
                .metrics()
                .iter()
                .find(|d| {
                    name == d.name
                        || name == d.sample_name()
                        || name == format!("{}_created", d.name)
                })
                .unwrap_or_else(|| panic!("{profile}: {name} is no family of the release"));
            if let Some(theirs) = golden.get(&name) {
                assert_eq!(lines[..2], theirs[..2], "{profile}: {name}");
            }
            for line in &lines[2..] {
                let (series, _) = line.rsplit_once(' ').unwrap();
                let mut names: Vec<&str> = series
                    .split_once('{')
                    .map(|(_, l)| l.trim_end_matches('}'))
                    .unwrap_or_default()
                    .split("\",")
                    .filter_map(|pair| pair.split_once('=').map(|(k, _)| k))
                    .collect();
                names.retain(|n| *n != "le" || !series.contains("_bucket{"));
                let expected: Vec<&str> = def.label_names.iter().map(String::as_str).collect();
                assert_eq!(names, expected, "{profile}: {line}");
            }
        }
    }
}
