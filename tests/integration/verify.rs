//! `vllm-sim verify` end to end: backfilled history (promtool blocks, a real
//! Prometheus) for every shipped scenario, broken dashboards, and one live lab.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use vllm_sim::catalogue::Profile;
use vllm_sim::lab::{BackfillPlan, backfill};
use vllm_sim::rig::DriftStatus;
use vllm_sim::rig::{self, Format, Report, Settings, Sources, Status};
use vllm_sim::scenario::{Scenario, builtin};
use vllm_sim_tests::{Prometheus, Sim, repo_root, tool_available};

pub(crate) const WINDOW: u64 = 30 * 60;

/// The end of a backfill window: now, on a 15 s boundary.
fn end_secs() -> u64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    now / 15 * 15
}

/// A Prometheus holding the last 30 minutes of `scenario`, and the window's end.
fn backfilled(scenario: &str) -> Option<(Prometheus, u64)> {
    backfilled_lab(builtin(scenario).unwrap())
}

/// A Prometheus holding the last 30 minutes of `scenario`, and the window's end.
pub(crate) fn backfilled_lab(scenario: Scenario) -> Option<(Prometheus, u64)> {
    if !tool_available("promtool") || !tool_available("prometheus") {
        return None;
    }
    let (text, end) = backfill_text(scenario);
    Some((Prometheus::start_on_backfill(&text), end))
}

/// The last 30 minutes of `scenario` as OpenMetrics, and the window's end.
pub(crate) fn backfill_text(scenario: Scenario) -> (String, u64) {
    let end = end_secs();
    let plan = BackfillPlan {
        start_unix_secs: (end - WINDOW) as f64,
        duration: Duration::from_secs(WINDOW),
        interval: Duration::from_secs(15),
        job: "vllm".to_owned(),
        host: "127.0.0.1".to_owned(),
        gateway_port: 8000,
    };
    let mut text = Vec::new();
    backfill(Arc::new(scenario), &plan)
        .write(&mut text)
        .unwrap();
    (String::from_utf8(text).unwrap(), end)
}

pub(crate) fn shipped_dashboard() -> Value {
    let text =
        std::fs::read_to_string(repo_root().join("dashboard/llm-platform-overview.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Which of a scenario's expectations to check.
#[derive(Clone, Copy)]
pub(crate) enum Expect {
    All,
    /// Colours and skips only: a minute of live scrapes is too few samples for the
    /// ratio bounds, which the backfilled half hour checks.
    ColoursAndSkips,
}

pub(crate) fn verify(
    prometheus: &Prometheus,
    dashboard: &Value,
    scenario: Option<(&str, Expect)>,
    from: u64,
    to: u64,
    scrape: u64,
) -> Report {
    let dashboard = rig::dashboard::parse(&dashboard.to_string()).expect("dashboard parses");
    let settings = Settings {
        from_ms: from as i64 * 1000,
        to_ms: to as i64 * 1000,
        scrape_interval_ms: scrape as i64 * 1000,
        datasource_uid: "prometheus".to_owned(),
    };
    let sources = Sources {
        prometheus: Some(rig::Prometheus::new(
            &prometheus.url,
            Duration::from_secs(30),
        )),
        loki: None,
        grafana: None,
    };
    let mut expectations = scenario
        .map(|(s, _)| builtin(s).unwrap().expectations)
        .unwrap_or_default();
    if let Some((_, Expect::ColoursAndSkips)) = scenario {
        expectations.retain(|e| e.color.is_some() || e.skip.is_some());
    }
    rig::verify(
        &dashboard,
        &settings,
        &sources,
        &expectations,
        vllm_sim::cli::vllm_releases(),
    )
}

/// Verifies the shipped dashboard against `scenario`'s backfilled history.
fn scenario_verifies(scenario: &str) {
    let Some((prometheus, end)) = backfilled(scenario) else {
        return;
    };
    let report = verify(
        &prometheus,
        &shipped_dashboard(),
        Some((scenario, Expect::All)),
        end - WINDOW,
        end,
        15,
    );
    let summary = report.summary();
    assert_eq!(
        summary.failed,
        0,
        "{scenario}:\n{}",
        report.render(Format::Table)
    );
    assert!(!report.expectations.is_empty());
    assert_eq!(report.drift_error, None);
    assert!(
        report
            .drift
            .iter()
            .all(|d| d.status == DriftStatus::Deprecated
                && d.old == "vllm:avg_generation_throughput_toks_per_s"),
        "a 0.6 fleet has drifted nowhere; its throughput gauges are deprecated:\n{}",
        report.drift_table()
    );
    let skipped: Vec<_> = report
        .panels
        .iter()
        .filter(|p| matches!(p.status, Status::Skipped(_)))
        .map(|p| p.id)
        .collect();
    assert_eq!(skipped, [Some(51)], "only the logs panel (Loki) is skipped");
    let gateway = report.panels.iter().find(|p| p.id == Some(52)).unwrap();
    assert!(
        matches!(gateway.status, Status::Ok),
        "{scenario}: the gateway table has data"
    );
}

#[test]
fn healthy_verifies_from_backfill() {
    scenario_verifies("healthy");
}

/// The healthy lab upgraded to vLLM 0.11: the panels on renamed or dropped metrics
/// go blank, and the drift report names each query and a rewrite that answers.
#[test]
fn a_v1_fleet_blanks_panels_and_the_drift_report_says_what_replaces_them() {
    let lab = builtin("healthy")
        .unwrap()
        .with_profile(Profile::from_name("vllm-0.11").unwrap());
    let Some((prometheus, end)) = backfilled_lab(lab) else {
        return;
    };
    let report = verify(
        &prometheus,
        &shipped_dashboard(),
        Some(("healthy", Expect::All)),
        end - WINDOW,
        end,
        15,
    );
    let table = report.render(Format::Table);
    let blank: Vec<_> = report
        .panels
        .iter()
        .filter(|p| p.status == Status::NoData)
        .filter_map(|p| p.id)
        .collect();
    // Avg Throughput, GPU Cache Avg, and each row's throughput and KV-cache panels.
    assert_eq!(blank, [5, 6, 12, 14, 22, 24, 32, 34, 42, 43], "{table}");
    let panel_id = |d: &vllm_sim::rig::Drift| report.panels[d.panel].id.unwrap();
    let mut gone: Vec<_> = report
        .drift
        .iter()
        .filter(|d| d.status == DriftStatus::Gone)
        .map(panel_id)
        .collect();
    gone.dedup();
    assert_eq!(gone, blank, "every blank panel is explained:\n{table}");
    for d in &report.drift {
        assert_eq!(
            d.answer,
            Ok(1),
            "{} {}: {:?}\n{table}",
            panel_id(d),
            d.ref_id,
            d
        );
    }
    let deprecated: Vec<_> = report
        .drift
        .iter()
        .filter(|d| d.status == DriftStatus::Deprecated)
        .map(|d| (panel_id(d), d.old.as_str(), d.new.as_str()))
        .collect();
    assert_eq!(
        deprecated.len(),
        4,
        "both Decode Time per Token panels, two targets each: {deprecated:?}"
    );
    assert!(
        deprecated
            .iter()
            .all(|&(id, old, new)| [15, 25].contains(&id)
                && old == "vllm:time_per_output_token_seconds_bucket"
                && new == "vllm:inter_token_latency_seconds_bucket")
    );
    let kv = report.drift.iter().find(|d| panel_id(d) == 14).unwrap();
    assert_eq!(
        kv.suggested.as_deref(),
        Some(r#"vllm:kv_cache_usage_perc{app="mistral-7b-awq"} * 100"#)
    );
    assert!(table.contains(
        "| `vllm:avg_generation_throughput_toks_per_s` | `vllm:generation_tokens_total` | gone"
    ));
    // The history is vLLM's own data: deprecated where its HELP says so, gone where
    // the family is no longer registered.
    assert!(
        table.contains(
            "| gone (deprecated in 0.9.2, gone in 0.11.0; vllm:kv_cache_usage_perc added in 0.9.2) |"
        ),
        "{table}"
    );
    assert!(
        table.contains("| deprecated (deprecated in 0.10.2, gone in 0.12.0; vllm:inter_token_latency_seconds_bucket added in 0.10.2) |"),
        "{table}"
    );
    assert!(table.contains(
        r#"`avg(rate(vllm:generation_tokens_total{app=~"mistral-7b-.*"}[$__rate_interval]))`"#
    ));
}

#[test]
fn awq_not_quantized_verifies_from_backfill() {
    scenario_verifies("awq-not-quantized");
}

#[test]
fn judge_backlog_verifies_from_backfill() {
    scenario_verifies("judge-backlog");
}

#[test]
fn spot_preemption_verifies_from_backfill() {
    scenario_verifies("spot-preemption");
}

#[test]
fn t4_reality_verifies_from_backfill() {
    scenario_verifies("t4-reality");
}

/// Finds the panel with `id` at the top level or inside a row.
fn panel_mut(d: &mut Value, id: u64) -> &mut Value {
    let top = d["panels"].as_array_mut().unwrap();
    if let Some(i) = top.iter().position(|p| p["id"] == id) {
        return &mut top[i];
    }
    top.iter_mut()
        .filter_map(|row| row.get_mut("panels").and_then(Value::as_array_mut))
        .flat_map(|children| children.iter_mut())
        .find(|p| p["id"] == id)
        .expect("panel")
}

#[test]
fn a_broken_dashboard_fails_and_names_the_panel() {
    let Some((prometheus, end)) = backfilled("healthy") else {
        return;
    };
    let check = |what: &str, id: u64, status: Status, breaks: &dyn Fn(&mut Value)| {
        let mut d = shipped_dashboard();
        breaks(panel_mut(&mut d, id));
        let report = verify(
            &prometheus,
            &d,
            Some(("healthy", Expect::All)),
            end - WINDOW,
            end,
            15,
        );
        let panel = report.panels.iter().find(|p| p.id == Some(id)).unwrap();
        assert_eq!(
            panel.status,
            status,
            "{what}:\n{}",
            report.render(Format::Table)
        );
        assert!(report.summary().failed > 0, "{what} passed");
        let table = report.render(Format::Table);
        assert!(
            table.contains(&panel.title),
            "{what}: the report names the panel:\n{table}"
        );
        let junit = report.render(Format::Junit);
        assert!(
            junit.contains(&format!("panel {id} ")) && junit.contains("<failure"),
            "{what}:\n{junit}"
        );
    };
    check("a typo in a metric name", 3, Status::NoData, &|p| {
        let expr = p["targets"][0]["expr"]
            .as_str()
            .unwrap()
            .replace("e2e_request_latency", "e2e_request_latncy");
        p["targets"][0]["expr"] = json!(expr);
    });
    check("swapped thresholds", 1, Status::WrongColour, &|p| {
        let steps = &mut p["fieldConfig"]["defaults"]["thresholds"]["steps"];
        steps[0]["color"] = json!("green");
        steps[2]["color"] = json!("red");
    });
    check("a wrong datasource uid", 12, Status::Error, &|p| {
        p["datasource"]["uid"] = json!("prom");
        for t in p["targets"].as_array_mut().unwrap() {
            t["datasource"]["uid"] = json!("prom");
        }
    });
}

#[test]
fn a_live_scraped_lab_verifies() {
    if !tool_available("prometheus") {
        return;
    }
    let sim = Sim::start(builtin("healthy").unwrap(), 20.0);
    let prometheus = Prometheus::start(&sim, "1s");
    prometheus.wait_for_scrapes(10);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let report = verify(
        &prometheus,
        &shipped_dashboard(),
        Some(("healthy", Expect::ColoursAndSkips)),
        now - 60,
        now,
        1,
    );
    assert_eq!(
        report.summary().failed,
        0,
        "{}",
        report.render(Format::Table)
    );
    let active = report.panels.iter().find(|p| p.id == Some(1)).unwrap();
    assert_eq!(
        active.color.as_deref(),
        Some("green"),
        "{}",
        report.render(Format::Table)
    );
}
