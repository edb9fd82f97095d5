//! `run --history`: the lab starts with its past already written, and Prometheus,
//! given that past as blocks and the live lab to scrape, sees one continuous
//! simulation: every panel answers over the whole window at once, no counter resets
//! at the seam, rates across it as before it, and `verify` passes over the window.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use vllm_sim::rig::Format;
use vllm_sim::scenario::builtin;
use vllm_sim_tests::{Prometheus, Sim, eventually, tool_available};

use crate::verify::{Expect, WINDOW, shipped_dashboard, verify};

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn a_lab_with_history_continues_it_live() {
    if !tool_available("promtool") || !tool_available("prometheus") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("history.om");
    let started = unix_now();
    let sim = Sim::start_with_history(
        builtin("healthy").unwrap(),
        Duration::from_secs(WINDOW),
        Duration::from_secs(5),
        &out,
    );
    let prometheus = Prometheus::start_on_history(&sim, &out, "5s");
    // The live scrapes come at the history's interval, as the lab's own scrape
    // configuration and `run --interval` agree. Three of every target after the
    // history's last: of every target after the history's last.
    let live = eventually(Duration::from_secs(60), || {
        let expr = format!(
            "min(count_over_time(up[{}s])) >= 3 and min(up) == 1",
            unix_now() - started
        );
        (!prometheus.query(&expr).is_empty()).then_some(())
    });
    assert!(
        live.is_some(),
        "the live lab is not scraped: {:?}",
        prometheus.query("up")
    );
    let end = unix_now();

    // The whole window is there: every panel answers, with the scenario's expectations.
    let report = verify(
        &prometheus,
        &shipped_dashboard(),
        Some(("healthy", Expect::All)),
        end - WINDOW,
        end,
        5,
    );
    assert_eq!(
        report.summary().failed,
        0,
        "{}",
        report.render(Format::Table)
    );

    // One simulation: no vLLM counter (histogram buckets, sums and counts included)
    // went back at the seam, the gateway's neither.
    // `resets` drops the metric name; the name is kept as a label first, so that
    // series of different counters with the same labels stay apart.
    let counters = r#"label_replace({__name__=~"(vllm:|lab_gateway_).+(_total|_bucket|_count|_sum)"}, "name", "$1", "__name__", "(.+)")"#;
    let count = prometheus.scalar(&format!("count({counters})")).unwrap();
    assert!(count > 100.0, "{count} counter series");
    let range = format!("{}s", end - started + WINDOW);
    let reset = prometheus.query(&format!("resets({counters}[{range}:5s]) > 0"));
    assert!(reset.is_empty(), "counters reset at the seam: {reset:?}");

    // A rate over a window across the seam is the rate the history had: within the
    // range the one-minute rate took over the history's last ten minutes, widened by
    // a tenth. (At different scrape intervals either side, Prometheus's extrapolation
    // of the window's start would differ: the interval is the same.)
    let rate = r#"sum(rate(vllm:request_success_total{app="mistral-7b-fp16"}[1m]))"#;
    let across = prometheus.scalar(rate).expect("a rate across the seam");
    let before = |f: &str| {
        prometheus
            .scalar(&format!(
                "{f}_over_time({rate}[10m:5s] offset {}s)",
                unix_now() - started
            ))
            .unwrap()
    };
    let (low, high) = (before("min"), before("max"));
    assert!(
        low > 0.0 && across >= low * 0.9 && across <= high * 1.1,
        "rate across the seam {across}, before it {low}..{high}"
    );
}

/// compose.yaml's `history-blocks` step, run here on the history `run --history`
/// writes (its paths moved into a temporary directory): the blocks it leaves are a
/// Prometheus's data, the stale data it replaces is gone, and the history file too.
#[test]
fn the_compose_history_step_builds_prometheus_blocks() {
    if !tool_available("promtool") || !tool_available("prometheus") {
        return;
    }
    let compose: serde_json::Value = serde_saphyr::from_str(
        &std::fs::read_to_string(vllm_sim_tests::repo_root().join("compose.yaml")).unwrap(),
    )
    .unwrap();
    let step = compose["services"]["history-blocks"]["command"][0]
        .as_str()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (history, data) = (dir.path().join("history"), dir.path().join("prometheus"));
    std::fs::create_dir_all(&history).unwrap();
    std::fs::create_dir_all(data.join("stale-block")).unwrap();
    let script = step
        .replace("/history", history.to_str().unwrap())
        .replace("/prometheus", data.to_str().unwrap());
    let sim = Sim::start_with_history(
        builtin("healthy").unwrap(),
        Duration::from_secs(600),
        Duration::from_secs(15),
        &history.join("lab.om"),
    );
    let status = std::process::Command::new("sh")
        .args(["-c", &script])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(
        !history.join("lab.om").exists(),
        "the history file is removed"
    );
    assert!(
        !data.join("stale-block").exists(),
        "the old data is replaced"
    );
    let prometheus = Prometheus::start_on_data(&sim, &data, "15s");
    let up = prometheus.scalar("count(count_over_time(up{job=\"vllm\"}[9m]))");
    assert_eq!(up, Some(4.0), "every pod's history is in the blocks");
}

/// `run --history --bench`: the benchmark battery's runs of the past are in the
/// history: every `lab_harness_*` series from the history's first scrape on, its
/// counts stepping up run by run at the times the live schedule reaches back to, and,
/// with the battery run live at the seam as `run --bench` does, going on from there:
/// no harness or gateway counter resets across the seam. The past's log lines carry
/// the runs' own times.
#[test]
fn the_batterys_past_runs_are_in_the_history_and_go_on_live() {
    if !tool_available("promtool") || !tool_available("prometheus") {
        return;
    }
    const PAST: u64 = 1200;
    const EVERY: u64 = 300;
    const LIMIT: usize = 2;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("history.om");
    let started = unix_now();
    let harness = vllm_sim::bench::HarnessMetrics::new();
    let (sim, lines) = Sim::start_with_history_and_battery(
        builtin("healthy").unwrap(),
        (Duration::from_secs(PAST), Duration::from_secs(5), &out),
        &harness,
        (Duration::from_secs(EVERY), Some(LIMIT)),
    );
    let seam = unix_now();
    // Four past runs: 20, 15, 10 and 5 minutes before the seam.
    let runs: Vec<u64> = lines
        .iter()
        .filter(|l| l.message.starts_with("benchmark started"))
        .map(|l| (l.unix_nanos / 1_000_000_000) as u64)
        .collect();
    assert_eq!(runs.len(), 4, "{runs:?}");
    for (k, at) in runs.iter().enumerate() {
        let expected = started - PAST + k as u64 * EVERY;
        assert!(
            at.abs_diff(expected) <= 2,
            "run {k} at {at}, not {expected}"
        );
    }
    let prometheus = Prometheus::start_on_history(&sim, &out, "5s");
    let mut config = vllm_sim::bench::BenchConfig::new(
        format!("http://{}", sim.gateway),
        std::sync::Arc::new(builtin("healthy").unwrap()),
    );
    config.limit = Some(LIMIT);
    config.compare_baseline = true;
    let results =
        vllm_sim::bench::run(&config, &harness, &indicatif::ProgressBar::hidden()).unwrap();
    assert_eq!(results.len(), 3 * LIMIT);

    let quant = r#"lab_harness_requests_total{scenario_id="benchmark-quant",team="quantization",job="lab-gateway"}"#;
    let live = eventually(Duration::from_secs(60), || {
        (prometheus.scalar(quant) == Some(5.0 * LIMIT as f64)).then_some(())
    });
    assert!(
        live.is_some(),
        "the live run did not count on from the past's: {:?}",
        prometheus.query(quant)
    );
    let now = unix_now();
    let range = format!("{}s", now - started + PAST);
    // Every harness series over the whole past window, from zero at its start.
    for family in [
        "lab_harness_requests_total",
        "lab_harness_pass_total",
        "lab_harness_fail_total",
        "lab_harness_latency_ms_bucket",
    ] {
        let samples = prometheus
            .scalar(&format!("min(count_over_time({family}[{range}]))"))
            .unwrap();
        assert!(
            samples >= (PAST / 5) as f64,
            "{samples} samples of {family}"
        );
    }
    let offset = || format!("offset {}s", unix_now() - seam + 1);
    // The first scrape, at the history's start (just after `started - PAST`).
    let first = prometheus.scalar(&format!(
        "min_over_time({quant}[60s] offset {}s)",
        unix_now() - (started - PAST + 2)
    ));
    assert_eq!(first, Some(0.0), "the harness series start at zero");
    let last = prometheus.scalar(&format!("{quant} {}", offset()));
    assert_eq!(last, Some(4.0 * LIMIT as f64), "four past runs at the seam");
    // Run by run: two prompts more after each.
    let mid = format!(
        "{quant} offset {}s",
        unix_now() - (started - PAST + EVERY + EVERY / 2)
    );
    assert_eq!(prometheus.scalar(&mid), Some(2.0 * LIMIT as f64), "{mid}");
    // The gateway counted the past runs' requests for every team, the baseline too.
    let baseline = prometheus.scalar(&format!(
        r#"sum(lab_gateway_requests_total{{team="baseline"}}) - sum(lab_gateway_requests_total{{team="baseline"}} offset {}s)"#,
        unix_now() - (started - PAST + 1)
    ));
    assert!(baseline.is_some_and(|n| n > 0.0), "{baseline:?}");

    // No harness or gateway counter went back at the seam.
    let counters = r#"label_replace({__name__=~"(lab_harness_|lab_gateway_).+(_total|_bucket|_count|_sum)"}, "name", "$1", "__name__", "(.+)")"#;
    assert!(prometheus.scalar(&format!("count({counters})")).unwrap() > 20.0);
    let reset = prometheus.query(&format!("resets({counters}[{range}:5s]) > 0"));
    assert!(reset.is_empty(), "counters reset at the seam: {reset:?}");
}
