//! Every Prometheus query of design-11's Rows 1-5, verbatim, against each shipped
//! scenario scraped by a real Prometheus, and the relations each scenario exists to show.

use std::time::Duration;

use vllm_sim::scenario::builtin;
use vllm_sim_tests::{Prometheus, Sim, eventually};

/// Simulated seconds per wall second: 10 s of scraping covers 200 s of lab time.
const SPEED: f64 = 20.0;
/// Prometheus's scrape interval: four samples a wall second, five lab seconds apart,
/// so gauges averaged over time rest on many independent engine states.
const SCRAPE_INTERVAL: &str = "250ms";

/// What a spec query returns against real vLLM metrics.
enum Expect {
    Data,
    /// No data, and why: the query itself does not fit vLLM's label sets.
    Empty(&'static str),
}

/// The spec's queries, verbatim (Row 5 repeats Rows 2-4 for all four models).
const SPEC_QUERIES: &[(&str, &str, Expect)] = &[
    (
        "Active Models",
        r#"count(up{app=~"mistral-7b-.*"} == 1)"#,
        Expect::Data,
    ),
    (
        "Total RPS",
        r#"sum(rate(vllm:request_success_total{app=~"mistral-7b-.*"}[5m]))"#,
        Expect::Data,
    ),
    (
        "P95 Latency Avg",
        r#"avg(histogram_quantile(0.95, sum by (le,app)(rate(vllm:e2e_request_latency_seconds_bucket{app=~"mistral-7b-.*"}[5m]))))"#,
        Expect::Data,
    ),
    (
        "Waiting Queue",
        r#"sum(vllm:num_requests_waiting{app=~"mistral-7b-.*"})"#,
        Expect::Data,
    ),
    (
        "Avg Throughput",
        r#"avg(vllm:avg_generation_throughput_toks_per_s{app=~"mistral-7b-.*"})"#,
        Expect::Data,
    ),
    (
        "GPU Cache Avg",
        r#"avg(vllm:gpu_cache_usage_perc{app=~"mistral-7b-.*"}) * 100"#,
        Expect::Data,
    ),
    (
        "AWQ P95",
        r#"histogram_quantile(0.95, sum by (le)(rate(vllm:e2e_request_latency_seconds_bucket{app="mistral-7b-awq"}[5m])))"#,
        Expect::Data,
    ),
    (
        "FP16 P95",
        r#"histogram_quantile(0.95, sum by (le)(rate(vllm:e2e_request_latency_seconds_bucket{app="mistral-7b-fp16"}[5m])))"#,
        Expect::Data,
    ),
    (
        "AWQ throughput",
        r#"vllm:avg_generation_throughput_toks_per_s{app="mistral-7b-awq"}"#,
        Expect::Data,
    ),
    (
        "FP16 throughput",
        r#"vllm:avg_generation_throughput_toks_per_s{app="mistral-7b-fp16"}"#,
        Expect::Data,
    ),
    (
        "AWQ TTFT",
        r#"histogram_quantile(0.95, sum by (le)(rate(vllm:time_to_first_token_seconds_bucket{app="mistral-7b-awq"}[5m])))"#,
        Expect::Data,
    ),
    (
        "FP16 TTFT",
        r#"histogram_quantile(0.95, sum by (le)(rate(vllm:time_to_first_token_seconds_bucket{app="mistral-7b-fp16"}[5m])))"#,
        Expect::Data,
    ),
    (
        "AWQ cache",
        r#"vllm:gpu_cache_usage_perc{app="mistral-7b-awq"} * 100"#,
        Expect::Data,
    ),
    (
        "FP16 cache",
        r#"vllm:gpu_cache_usage_perc{app="mistral-7b-fp16"} * 100"#,
        Expect::Data,
    ),
    (
        "AWQ decode",
        r#"histogram_quantile(0.95, sum by (le)(rate(vllm:time_per_output_token_seconds_bucket{app="mistral-7b-awq"}[5m])))"#,
        Expect::Data,
    ),
    (
        "FP16 decode",
        r#"histogram_quantile(0.95, sum by (le)(rate(vllm:time_per_output_token_seconds_bucket{app="mistral-7b-fp16"}[5m])))"#,
        Expect::Data,
    ),
    (
        "AWQ tokens",
        r#"vllm:generation_tokens_total{app="mistral-7b-awq"}"#,
        Expect::Data,
    ),
    (
        "FP16 tokens",
        r#"vllm:generation_tokens_total{app="mistral-7b-fp16"}"#,
        Expect::Data,
    ),
    (
        "LoRA P95",
        r#"histogram_quantile(0.95, sum by (le)(rate(vllm:e2e_request_latency_seconds_bucket{app="mistral-7b-lora"}[5m])))"#,
        Expect::Data,
    ),
    (
        "LoRA throughput",
        r#"vllm:avg_generation_throughput_toks_per_s{app="mistral-7b-lora"}"#,
        Expect::Data,
    ),
    (
        "LoRA TTFT",
        r#"histogram_quantile(0.95, sum by (le)(rate(vllm:time_to_first_token_seconds_bucket{app="mistral-7b-lora"}[5m])))"#,
        Expect::Data,
    ),
    (
        "LoRA cache",
        r#"vllm:gpu_cache_usage_perc{app="mistral-7b-lora"} * 100"#,
        Expect::Data,
    ),
    (
        "Judge P95",
        r#"histogram_quantile(0.95, sum by (le)(rate(vllm:e2e_request_latency_seconds_bucket{app="mistral-7b-judge"}[5m])))"#,
        Expect::Data,
    ),
    (
        "Judge throughput",
        r#"vllm:avg_generation_throughput_toks_per_s{app="mistral-7b-judge"}"#,
        Expect::Data,
    ),
    (
        "Judge running",
        r#"vllm:num_requests_running{app="mistral-7b-judge"}"#,
        Expect::Data,
    ),
    (
        "Judge waiting",
        r#"vllm:num_requests_waiting{app="mistral-7b-judge"}"#,
        Expect::Data,
    ),
    (
        "Judge tokens per request",
        r#"rate(vllm:generation_tokens_total{app="mistral-7b-judge"}[5m])
  / rate(vllm:request_success_total{app="mistral-7b-judge"}[5m])"#,
        Expect::Empty(
            "vllm:request_success_total carries a finished_reason label that \
             vllm:generation_tokens_total lacks, so one-to-one matching pairs nothing",
        ),
    ),
];

/// A lab serving the built-in `scenario`, scraped by a real Prometheus that has seen
/// at least `scrapes` scrapes of every pod.
fn scraped(scenario: &str, scrapes: usize) -> Option<(Sim, Prometheus)> {
    if !vllm_sim_tests::tool_available("prometheus") {
        return None;
    }
    let sim = Sim::start(builtin(scenario).expect("built-in scenario"), SPEED);
    let prometheus = Prometheus::start(&sim, SCRAPE_INTERVAL);
    prometheus.wait_for_scrapes(scrapes);
    Some((sim, prometheus))
}

fn value(p: &Prometheus, expr: &str) -> f64 {
    p.scalar(expr)
        .unwrap_or_else(|| panic!("no single value for {expr}: {:?}", p.query(expr)))
}

fn p95(app: &str) -> String {
    format!(
        r#"histogram_quantile(0.95, sum by (le)(rate(vllm:e2e_request_latency_seconds_bucket{{app="{app}"}}[5m])))"#
    )
}

/// KV usage averaged over every scrape: a single scrape is one engine step's view.
fn cache(app: &str) -> String {
    format!(r#"avg_over_time(vllm:gpu_cache_usage_perc{{app="{app}"}}[5m])"#)
}

/// Generation throughput averaged over every scrape.
fn throughput(app: &str) -> String {
    format!(r#"avg_over_time(vllm:avg_generation_throughput_toks_per_s{{app="{app}"}}[5m])"#)
}

#[test]
fn healthy_reads_as_the_spec_intends() {
    let Some((_sim, p)) = scraped("healthy", 40) else {
        return;
    };
    for (panel, expr, expect) in SPEC_QUERIES {
        let result = p.query(expr);
        match expect {
            Expect::Data => assert!(!result.is_empty(), "{panel} returned no data: {expr}"),
            Expect::Empty(why) => assert!(
                result.is_empty(),
                "{panel} should return nothing ({why}): {result:?}"
            ),
        }
    }
    // Counters never go backwards while pods stay up.
    for counter in [
        "vllm:prompt_tokens_total",
        "vllm:generation_tokens_total",
        "vllm:request_success_total",
        "vllm:e2e_request_latency_seconds_count",
    ] {
        let resets = format!(r#"sum(resets({counter}{{app=~"mistral-7b-.*"}}[5m]))"#);
        assert_eq!(value(&p, &resets), 0.0, "{counter} went backwards");
    }
    // Row 1: every threshold green.
    assert_eq!(value(&p, SPEC_QUERIES[0].1), 4.0, "Active Models");
    let p95_avg = value(&p, SPEC_QUERIES[2].1);
    assert!(
        p95_avg < 2.0,
        "P95 Latency Avg {p95_avg} s is not green (< 2 s)"
    );
    assert_eq!(value(&p, SPEC_QUERIES[3].1), 0.0, "Waiting Queue");
    let cache_avg = value(&p, SPEC_QUERIES[5].1);
    assert!(
        cache_avg < 70.0,
        "GPU Cache Avg {cache_avg}% is not green (< 70%)"
    );
    // Row 2: AWQ faster than FP16, with far less KV cache in use.
    let (awq, fp16) = (
        value(&p, &p95("mistral-7b-awq")),
        value(&p, &p95("mistral-7b-fp16")),
    );
    assert!(
        awq < 0.8 * fp16,
        "AWQ P95 {awq} s is not 20% below FP16's {fp16} s"
    );
    let (awq, fp16) = (
        value(&p, &throughput("mistral-7b-awq")),
        value(&p, &throughput("mistral-7b-fp16")),
    );
    assert!(
        awq > 1.3 * fp16,
        "AWQ throughput {awq} tok/s is not well above FP16's {fp16}"
    );
    let (awq, fp16) = (
        value(&p, &cache("mistral-7b-awq")),
        value(&p, &cache("mistral-7b-fp16")),
    );
    assert!(
        awq < 0.5 * fp16,
        "AWQ KV usage {awq} is not well below FP16's {fp16}"
    );
    // Row 3: LoRA close to FP16.
    let (lora, fp16) = (
        value(&p, &throughput("mistral-7b-lora")),
        value(&p, &throughput("mistral-7b-fp16")),
    );
    assert!(
        (lora / fp16 - 1.0).abs() < 0.15,
        "LoRA throughput {lora} tok/s is not within 15% of FP16's {fp16}"
    );
    // Row 4: the judge keeps up, well under 3 s.
    assert_eq!(
        value(&p, r#"vllm:num_requests_waiting{app="mistral-7b-judge"}"#),
        0.0
    );
    let judge = value(&p, &p95("mistral-7b-judge"));
    assert!(judge < 3.0, "judge P95 {judge} s");
}

#[test]
fn awq_not_quantized_tracks_fp16() {
    // KV usage sums a handful of requests: average many scrapes before comparing.
    let Some((_sim, p)) = scraped("awq-not-quantized", 160) else {
        return;
    };
    let (awq, fp16) = (
        value(&p, &cache("mistral-7b-awq")),
        value(&p, &cache("mistral-7b-fp16")),
    );
    assert!(
        (awq / fp16 - 1.0).abs() < 0.15,
        "AWQ KV usage {awq} is not within 15% of FP16's {fp16}"
    );
    let (awq, fp16) = (
        value(&p, &p95("mistral-7b-awq")),
        value(&p, &p95("mistral-7b-fp16")),
    );
    assert!(
        (awq / fp16 - 1.0).abs() < 0.15,
        "AWQ P95 {awq} s is not within 15% of FP16's {fp16} s"
    );
}

#[test]
fn judge_backlog_fills_the_queue() {
    let Some((_sim, p)) = scraped("judge-backlog", 40) else {
        return;
    };
    let waiting = value(&p, r#"vllm:num_requests_waiting{app="mistral-7b-judge"}"#);
    assert!(waiting > 10.0, "judge waiting {waiting}");
    // One scrape is one engine step's view, which dips as requests finish: take the
    // fullest of the last two seconds of scrapes.
    let cache = value(
        &p,
        r#"max_over_time(vllm:gpu_cache_usage_perc{app="mistral-7b-judge"}[2s])"#,
    );
    assert!(cache > 0.85, "judge KV usage {cache}");
    let judge = value(&p, &p95("mistral-7b-judge"));
    assert!(judge > 5.0, "judge P95 {judge} s");
    assert!(value(&p, SPEC_QUERIES[3].1) > 10.0, "Waiting Queue stat");
}

#[test]
fn spot_preemption_drops_a_model_and_brings_it_back_reset() {
    let Some((_sim, p)) = scraped("spot-preemption", 8) else {
        return;
    };
    let active = SPEC_QUERIES[0].1;
    // The AWQ pod goes down at 120 s of lab time (6 s of wall time) for 180 s (9 s).
    let three = eventually(Duration::from_secs(30), || {
        (p.scalar(active) == Some(3.0)).then_some(())
    });
    assert!(three.is_some(), "Active Models never dropped to 3");
    assert_eq!(p.scalar(r#"up{app="mistral-7b-awq"}"#), Some(0.0));
    let four = eventually(Duration::from_secs(30), || {
        (p.scalar(active) == Some(4.0)).then_some(())
    });
    assert!(four.is_some(), "Active Models never came back to 4");
    let reset = eventually(Duration::from_secs(10), || {
        let resets =
            p.scalar(r#"resets(vllm:generation_tokens_total{app="mistral-7b-awq"}[5m])"#)?;
        (resets >= 1.0).then_some(())
    });
    assert!(
        reset.is_some(),
        "the restarted pod's counters did not start again from zero"
    );
}

#[test]
fn t4_reality_pins_the_fp16_cache() {
    let Some((_sim, p)) = scraped("t4-reality", 40) else {
        return;
    };
    let fp16 = value(
        &p,
        r#"max_over_time(vllm:gpu_cache_usage_perc{app="mistral-7b-fp16"}[1m])"#,
    );
    assert!(fp16 > 0.9, "FP16 KV usage peaked at {fp16}");
    let preemptions = value(&p, r#"vllm:num_preemptions_total{app="mistral-7b-fp16"}"#);
    assert!(preemptions > 0.0, "no preemptions on the FP16 pod");
    let waiting = value(
        &p,
        r#"max_over_time(vllm:num_requests_waiting{app="mistral-7b-fp16"}[1m])"#,
    );
    assert!(waiting > 0.0, "nothing ever waited on the FP16 pod");
    let awq = value(&p, &cache("mistral-7b-awq"));
    assert!(awq < 0.5, "AWQ KV usage {awq}");
}

/// The mean of histogram `family` on a scrape, from its `_sum` and `_count`.
fn mean_of(scrape: &str, family: &str) -> f64 {
    let total = |suffix: &str| -> f64 {
        scrape
            .lines()
            .filter(|l| l.starts_with(&format!("{family}{suffix}{{")))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };
    total("_sum") / total("_count")
}

/// The scenarios' relations hold on every release: the engine is the same, only the
/// names and shapes of what it reports change.
#[test]
fn the_scenarios_read_the_same_on_every_release() {
    use std::sync::Arc;
    use vllm_sim::catalogue::Profile;
    use vllm_sim::clock::ManualClock;
    use vllm_sim::exposition::Format;
    use vllm_sim::lab::Lab;
    for profile in Profile::all() {
        let clock = Arc::new(ManualClock::new(1.7e9));
        let scrape = |scenario: &str, pod: &str, secs: u64| {
            let scenario = builtin(scenario).unwrap().with_profile(profile);
            let index = scenario.pod_index(pod).unwrap();
            let lab = Lab::new(scenario, clock.clone());
            clock.advance(std::time::Duration::from_secs(secs));
            lab.pod(index).scrape(Format::PrometheusText).unwrap()
        };
        let e2e = "vllm:e2e_request_latency_seconds";
        let (fp16, awq) = (
            mean_of(&scrape("healthy", "mistral-7b-fp16", 90), e2e),
            mean_of(&scrape("healthy", "mistral-7b-awq", 90), e2e),
        );
        assert!(awq < 0.8 * fp16, "{profile}: AWQ {awq} s vs FP16 {fp16} s");
        let judge = scrape("judge-backlog", "mistral-7b-judge", 240);
        let waiting = judge
            .lines()
            .find_map(|l| {
                l.strip_prefix("vllm:num_requests_waiting{")?
                    .rsplit(' ')
                    .next()?
                    .parse::<f64>()
                    .ok()
            })
            .unwrap();
        assert!(waiting > 10.0, "{profile}: judge waiting {waiting}");
    }
}
