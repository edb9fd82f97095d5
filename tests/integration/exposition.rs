//! What a scraper sees on /metrics.

use std::time::Duration;

use vllm_sim::catalogue::{Kind, Profile, build_1_2_5_buckets};
use vllm_sim::scenario::builtin;
use vllm_sim_tests::{Prometheus, Sim, eventually, get, promtool, require};

/// A 0.0.4 scrape once every family has samples.
fn full_scrape(sim: &Sim, pod: &str) -> String {
    let url = format!("http://{}/metrics", sim.addr(pod));
    eventually(Duration::from_secs(30), || {
        let (_, _, body) = get(&url, "text/plain");
        body.contains("vllm:avg_generation_throughput_toks_per_s")
            .then_some(body)
    })
    .expect("every family shows up within 30 s")
}

/// Prometheus's metadata has every family of `profile` with its type and HELP text;
/// returns the metadata.
fn metadata_matches(prometheus: &Prometheus, profile: Profile) -> serde_json::Value {
    let mut response = ureq::get(&format!("{}/api/v1/metadata", prometheus.url))
        .call()
        .expect("metadata");
    let metadata: serde_json::Value = response.body_mut().read_json().expect("JSON");
    // Every family a pod shows: those fed by the engine or held from start-up.
    let shown = profile
        .metrics()
        .iter()
        .filter(|d| d.signal.is_some() || !d.startup.is_empty());
    // Prometheus keys metadata by the TYPE line's name: a counter's has `_total` in
    // text, which is all V1's `/metrics` serves, and none in OpenMetrics.
    let openmetrics = profile
        .serving("/metrics")
        .is_some_and(|s| s.openmetrics_content_type.is_some());
    for def in shown {
        let family = if openmetrics {
            def.name.clone()
        } else {
            def.sample_name()
        };
        let family = family.as_str();
        let entry = &metadata["data"][family][0];
        assert_eq!(entry["type"], def.kind.as_str(), "{family}: {entry}");
        assert_eq!(entry["help"], def.help, "{family}");
    }
    metadata
}

/// promtool lints that vLLM's own metric names draw, and so must be drawn here too.
const VLLM_NAME_LINTS: &[&str] = &[
    // Every vLLM metric.
    "metric names should not contain ':'",
    // vllm:avg_prompt_throughput_toks_per_s and vllm:avg_generation_throughput_toks_per_s.
    "_throughput_toks_per_s metric names should not contain abbreviated units",
    // vllm:iteration_tokens_total is a histogram.
    "vllm:iteration_tokens_total non-counter metrics should not have \"_total\" suffix",
];

#[test]
fn promtool_reports_only_the_lints_vllm_names_draw() {
    require!("promtool");
    let sim = Sim::start(builtin("healthy").unwrap(), 20.0);
    for (pod, _) in &sim.pods {
        let body = full_scrape(&sim, pod);
        let (code, out) = promtool(&["check", "metrics"], &body);
        let other: Vec<_> = out
            .lines()
            .filter(|l| {
                !l.trim().is_empty() && !VLLM_NAME_LINTS.iter().any(|lint| l.contains(lint))
            })
            .collect();
        assert!(
            code == 0 || code == 3,
            "promtool exit {code} for {pod}:\n{out}"
        );
        assert!(
            other.is_empty(),
            "promtool complains about {pod}:\n{}",
            other.join("\n")
        );
        assert!(
            out.contains("should not contain ':'"),
            "the lint names every vllm: metric"
        );
    }
}

#[test]
fn text_and_openmetrics_are_negotiated() {
    let sim = Sim::start(builtin("healthy").unwrap(), 20.0);
    let url = format!("http://{}/metrics", sim.addr("mistral-7b-awq"));
    let (status, content_type, body) = get(&url, "*/*");
    assert_eq!(
        (status, content_type.as_str()),
        (200, "text/plain; version=0.0.4; charset=utf-8")
    );
    assert!(!body.contains("# EOF"));
    let (status, content_type, body) = get(&url, "application/openmetrics-text;version=1.0.0");
    assert_eq!(status, 200);
    assert_eq!(
        content_type,
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    assert!(body.ends_with("# EOF\n"));
    let (status, _, body) = get(
        &format!("http://{}/nope", sim.addr("mistral-7b-awq")),
        "*/*",
    );
    assert_eq!((status, body.as_str()), (404, r#"{"detail":"Not Found"}"#));
}

#[test]
fn prometheus_sees_vllm_names_types_help_and_buckets() {
    require!("prometheus");
    let sim = Sim::start(builtin("healthy").unwrap(), 20.0);
    for (pod, _) in &sim.pods {
        full_scrape(&sim, pod);
    }
    let prometheus = Prometheus::start(&sim, "1s");
    prometheus.wait_for_scrapes(3);
    let metadata = metadata_matches(&prometheus, Profile::from_name("vllm-0.6").unwrap());
    assert!(metadata["data"]["vllm:prompt_tokens_created"].is_null());
    // Bucket bounds as vLLM prints them (`le="1.0"`), 1-2-5 up to max_model_len 4096.
    let series = prometheus.query(r#"vllm:request_prompt_tokens_bucket{app="mistral-7b-fp16"}"#);
    let mut les: Vec<String> = series
        .iter()
        .map(|s| s["metric"]["le"].as_str().unwrap().to_owned())
        .collect();
    les.sort_by(|a, b| {
        a.parse::<f64>()
            .unwrap()
            .total_cmp(&b.parse::<f64>().unwrap())
    });
    let mut expected: Vec<String> = build_1_2_5_buckets(4096)
        .iter()
        .map(|b| format!("{b:.1}"))
        .collect();
    expected.push("+Inf".to_owned());
    assert_eq!(les, expected);
    // Pods carry model_name; `app` comes from the scrape config alone.
    let labels =
        &prometheus.query(r#"vllm:num_requests_running{app="mistral-7b-lora"}"#)[0]["metric"];
    assert_eq!(labels["model_name"], "mistral-7b-lora");
    assert_eq!(labels["job"], "vllm");
}

/// Labs on V1 releases (0.11.0, 0.20.0, 0.33.0) as a real Prometheus scrapes them:
/// each release's names, HELP, `engine` label, start-up children and `_created`
/// series (V1 serves `/metrics` as text, so Prometheus stores them as gauges).
#[test]
fn prometheus_sees_the_v1_profiles() {
    require!("prometheus");
    for release in ["vllm-0.11", "vllm-0.20.0", "vllm-0.33.0"] {
        let profile = Profile::from_name(release).unwrap();
        let sim = Sim::start(builtin("healthy").unwrap().with_profile(profile), 20.0);
        let prometheus = Prometheus::start(&sim, "1s");
        prometheus.wait_for_scrapes(3);
        prometheus_sees_v1(&prometheus, profile);
    }
}

fn prometheus_sees_v1(prometheus: &Prometheus, profile: Profile) {
    let metadata = metadata_matches(prometheus, profile);
    let shown = profile.metrics().iter().filter(|d| !d.startup.is_empty());
    for def in shown {
        if def.kind != Kind::Gauge {
            let family = &def.name;
            let created = &metadata["data"][format!("{family}_created")][0];
            assert_eq!(
                created["type"], "gauge",
                "{profile}: {family}_created: {created}"
            );
        }
    }
    assert!(metadata["data"]["vllm:gpu_cache_usage_perc"].is_null());
    let running = prometheus.query(r#"vllm:num_requests_running{engine="0"}"#);
    assert_eq!(
        running.len(),
        4,
        "{profile}: every pod, engine 0: {running:?}"
    );
    let reasons = prometheus.query(r#"vllm:request_success_total{app="mistral-7b-awq"}"#);
    let mut reasons: Vec<_> = reasons
        .iter()
        .map(|s| s["metric"]["finished_reason"].as_str().unwrap().to_owned())
        .collect();
    reasons.sort();
    let mut expected: Vec<_> = profile.startup_finish_reasons().collect();
    expected.sort();
    assert_eq!(reasons, expected, "{profile}: created at start-up");
    let created = prometheus.scalar(r#"vllm:prompt_tokens_created{app="mistral-7b-awq"}"#);
    let start = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!(
        created.is_some_and(|c| (start - 600.0..=start).contains(&c)),
        "{profile}: the pod's start, in Unix seconds: {created:?} vs now {start}"
    );
}
