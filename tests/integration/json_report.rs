//! `verify --format json` checked against Grafana's own code: for every stat, gauge
//! and bar gauge panel of the shipped dashboard, verified against two backfilled
//! scenarios, what the report says the panel shows (each series' reduced value, its
//! text and its colour, and the panel's colour) must be what npm's `@grafana/data`
//! (`tests/grafana-data/answer.mjs`, kind `panel`) computes from the same series, the
//! report's own `targets[].series`, and the dashboard's fieldConfig and reducer:
//! applyFieldOverrides, then getFieldDisplayValues, as the stat panel does.

use serde_json::{Value, json};
use vllm_sim::rig::Format;
use vllm_sim::scenario::builtin;
use vllm_sim_tests::grafana_data;

use crate::verify::{Expect, WINDOW, backfilled_lab, shipped_dashboard, verify};

/// The scenarios verified: one where every stat is in its base colour, one where the
/// judge's queue turns the queue and latency stats.
const SCENARIOS: &[&str] = &["healthy", "judge-backlog"];

/// Every panel of a dashboard, rows' panels included.
fn all_panels(panels: &Value) -> Vec<&Value> {
    panels
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|p| std::iter::once(p).chain(all_panels(&p["panels"])))
        .collect()
}

/// One panel of one report, and what to ask Grafana about it.
struct Case {
    scenario: &'static str,
    panel: Value,
    ask: Value,
}

fn cases(scenario: &'static str, report: &Value, dashboard: &Value) -> Vec<Case> {
    let board = all_panels(&dashboard["panels"]);
    report["panels"]
        .as_array()
        .expect("panels")
        .iter()
        .filter(|p| matches!(p["type"].as_str(), Some("stat" | "gauge" | "bargauge")))
        .map(|p| {
            let source = board
                .iter()
                .find(|d| d["id"] == p["id"])
                .unwrap_or_else(|| panic!("panel {} is not in the dashboard", p["id"]));
            let series: Vec<Value> = p["targets"]
                .as_array()
                .expect("targets")
                .iter()
                .flat_map(|t| t["series"].as_array().expect("series").iter())
                .map(|s| json!({"name": s["name"], "points": s["points"]}))
                .collect();
            let calcs = source["options"]["reduceOptions"]["calcs"].clone();
            Case {
                scenario,
                panel: p.clone(),
                ask: json!({
                    "fieldConfig": source["fieldConfig"],
                    "calcs": if calcs.is_array() { calcs } else { json!(["lastNotNull"]) },
                    "series": series,
                }),
            }
        })
        .collect()
}

/// A number the harness wrote as text, `None` for NaN (no value).
fn number(v: &Value) -> Option<f64> {
    match v.as_str() {
        Some("NaN") | None => None,
        Some(s) => Some(
            s.parse()
                .unwrap_or_else(|e| panic!("not a number {s:?}: {e}")),
        ),
    }
}

/// The differences between what the report says `case`'s panel shows and Grafana's
/// `answer`.
fn differences(case: &Case, answer: &Value) -> Vec<String> {
    let p = &case.panel;
    let name = format!(
        "{}: panel {} {:?}",
        case.scenario,
        p["id"],
        p["title"].as_str().unwrap_or("")
    );
    let ours = p["series"].as_array().expect("series");
    let theirs = answer["values"].as_array().expect("values");
    if ours.len() != theirs.len() {
        return vec![format!(
            "{name}: the report shows {} values, Grafana {}",
            ours.len(),
            theirs.len()
        )];
    }
    let mut diffs = Vec::new();
    for (i, (o, t)) in ours.iter().zip(theirs).enumerate() {
        let what = format!("{name}, series {i} {}", o["name"]);
        if o["value"].as_f64() != number(&t["value"]) {
            diffs.push(format!(
                "{what}: value {}, Grafana {}",
                o["value"], t["value"]
            ));
        }
        if o["text"] != t["text"] {
            diffs.push(format!("{what}: text {}, Grafana {}", o["text"], t["text"]));
        }
        if o["color"] != t["color"] {
            diffs.push(format!(
                "{what}: colour {}, Grafana {} ({})",
                o["color"], t["color"], t["hex"]
            ));
        }
    }
    // The panel's colour: its series', when they all agree.
    let first = &theirs[0]["color"];
    let expected = if theirs.iter().all(|t| &t["color"] == first) {
        first.clone()
    } else {
        Value::Null
    };
    if p["color"] != expected {
        diffs.push(format!(
            "{name}: panel colour {}, Grafana {expected}",
            p["color"]
        ));
    }
    diffs
}

#[test]
fn stat_values_texts_and_colours_match_grafana() {
    let dashboard = shipped_dashboard();
    let mut all = Vec::new();
    for &scenario in SCENARIOS {
        let Some((prometheus, end)) = backfilled_lab(builtin(scenario).unwrap()) else {
            return;
        };
        let mut report = verify(
            &prometheus,
            &dashboard,
            Some((scenario, Expect::All)),
            end - WINDOW,
            end,
            15,
        );
        report.scenario = Some(scenario.to_owned());
        let json: Value =
            serde_json::from_str(&report.render(Format::Json)).expect("the report is JSON");
        let found = cases(scenario, &json, &dashboard);
        assert_eq!(found.len(), 6, "{scenario}: the six stat panels");
        all.extend(found);
    }
    let asks: Vec<Value> = all.iter().map(|c| c.ask.clone()).collect();
    let Some(answers) = grafana_data::ask("answer.mjs", &json!({"kind": "panel", "cases": asks}))
    else {
        return;
    };
    let answers = answers.as_array().expect("one answer per panel");
    assert_eq!(answers.len(), all.len(), "one answer per panel");
    let diffs: Vec<String> = all
        .iter()
        .zip(answers)
        .flat_map(|(case, answer)| differences(case, answer))
        .collect();
    let values: usize = all
        .iter()
        .map(|c| c.panel["series"].as_array().map_or(0, Vec::len))
        .sum();
    eprintln!(
        "json report: {} panels, {values} values against @grafana/data",
        all.len()
    );
    assert!(values >= all.len(), "every stat panel shows a value");
    assert!(
        diffs.is_empty(),
        "the JSON report differs from @grafana/data:\n{}",
        diffs.join("\n")
    );
}
