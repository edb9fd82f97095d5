//! Upgrading the fleet to the newest vLLM in the catalogue, 0.33.0: the shipped
//! dashboard's panels that go blank there, each explained by the drift report, and
//! `vllm-sim migrate`'s dashboard passing against the same history and Grafana's
//! dashboard model; a wrong rewrite does not.

use serde_json::Value;
use vllm_sim::catalogue::Profile;
use vllm_sim::cli::vllm_releases;
use vllm_sim::rig::drift::{CHANGES, Change, Rewrite};
use vllm_sim::rig::{self, DriftStatus, Format, Report, Status};
use vllm_sim::scenario::builtin;
use vllm_sim_tests::{Prometheus, repo_root, schema};

use crate::verify::{Expect, WINDOW, backfilled_lab, shipped_dashboard, verify};

const RELEASE: &str = "vllm-0.33.0";

/// The panels the shipped dashboard shows blank on 0.33.0: Avg Throughput, GPU Cache
/// Avg, each row's throughput and KV-cache panels, and (gone in 0.12.0) both Decode
/// Time per Token panels.
const BLANK: [u64; 12] = [5, 6, 12, 14, 15, 22, 24, 25, 32, 34, 42, 43];

/// A Prometheus holding the last 30 minutes of the healthy lab on 0.33.0.
fn upgraded() -> Option<(Prometheus, u64)> {
    let lab = builtin("healthy")
        .unwrap()
        .with_profile(Profile::from_name(RELEASE).unwrap());
    backfilled_lab(lab)
}

/// The shipped dashboard's text moved to 0.33.0 with `changes`.
fn migrated(changes: &[Change]) -> rig::Migration {
    let text =
        std::fs::read_to_string(repo_root().join("dashboard/llm-platform-overview.json")).unwrap();
    let version = Profile::from_name(RELEASE).unwrap().version();
    let to = vllm_releases().get(version).unwrap();
    rig::migrate(&text, to, vllm_releases(), changes).expect("the shipped dashboard migrates")
}

fn check(prometheus: &Prometheus, end: u64, dashboard: &Value) -> Report {
    verify(
        prometheus,
        dashboard,
        Some(("healthy", Expect::All)),
        end - WINDOW,
        end,
        15,
    )
}

fn blank(report: &Report) -> Vec<u64> {
    report
        .panels
        .iter()
        .filter(|p| p.status == Status::NoData)
        .filter_map(|p| p.id)
        .collect()
}

#[test]
fn on_0_33_the_shipped_dashboard_blanks_and_the_migrated_one_passes() {
    let Some((prometheus, end)) = upgraded() else {
        return;
    };
    let report = check(&prometheus, end, &shipped_dashboard());
    let table = report.render(Format::Table);
    assert_eq!(blank(&report), BLANK, "{table}");
    let panel_id = |d: &rig::Drift| report.panels[d.panel].id.unwrap();
    let mut explained: Vec<_> = report
        .drift
        .iter()
        .filter(|d| d.status == DriftStatus::Gone)
        .map(panel_id)
        .collect();
    explained.dedup();
    assert_eq!(
        explained, BLANK,
        "every blank panel has a drift row:\n{table}"
    );
    assert!(
        report.drift.iter().all(|d| d.status == DriftStatus::Gone),
        "nothing the dashboard queries is merely deprecated in 0.33.0:\n{table}"
    );
    assert!(
        report.drift.iter().all(|d| d.answer == Ok(1)),
        "every suggestion answers:\n{table}"
    );
    for history in [
        "gone (gone in 0.7.0; a gauge of the last stats interval",
        "gone (deprecated in 0.9.2, gone in 0.11.0; vllm:kv_cache_usage_perc added in 0.9.2)",
        "gone (deprecated in 0.10.2, gone in 0.12.0; vllm:inter_token_latency_seconds_bucket added in 0.10.2)",
    ] {
        assert!(table.contains(history), "{history}:\n{table}");
    }

    let m = migrated(CHANGES);
    assert!(m.unresolved.is_empty(), "{}", m.summary());
    assert!(m.deprecated.is_empty(), "{}", m.summary());
    let mut rewritten: Vec<u64> = m.rewritten.iter().filter_map(|r| r.target.panel).collect();
    rewritten.dedup();
    assert_eq!(rewritten, BLANK, "{}", m.summary());
    // Migrate rewrites exactly the queries the drift report suggests rewrites for.
    let mut suggested: Vec<_> = report
        .drift
        .iter()
        .map(|d| (panel_id(d), d.ref_id.clone(), d.suggested.clone().unwrap()))
        .collect();
    suggested.dedup();
    let moved: Vec<_> = m
        .rewritten
        .iter()
        .map(|r| {
            (
                r.target.panel.unwrap(),
                r.target.ref_id.clone(),
                r.new.clone(),
            )
        })
        .collect();
    assert_eq!(moved, suggested);

    let dashboard: Value = serde_json::from_str(&m.text).unwrap();
    let report = check(&prometheus, end, &dashboard);
    let table = report.render(Format::Table);
    assert_eq!(report.summary().failed, 0, "{table}");
    let without_data: Vec<_> = report
        .panels
        .iter()
        .filter(|p| p.status != Status::Ok)
        .map(|p| (p.id, p.status.label()))
        .collect();
    assert_eq!(
        without_data,
        [(Some(51), "skipped")],
        "every panel but the Loki one has data: {table}"
    );
    assert!(report.drift.is_empty(), "{table}");
}

#[test]
fn a_wrong_rewrite_fails_the_verify_of_the_migrated_dashboard() {
    let Some((prometheus, end)) = upgraded() else {
        return;
    };
    let with = |old: &str, change: Change| -> Vec<Change> {
        CHANGES
            .iter()
            .map(|c| if c.old == old { change } else { *c })
            .collect()
    };

    // A successor misspelt: migrate will not write a metric 0.33.0 lacks, says so,
    // and the panels stay blank.
    let typo = with(
        "vllm:gpu_cache_usage_perc",
        Change {
            old: "vllm:gpu_cache_usage_perc",
            new: "vllm:kv_cache_usage_percent",
            note: "",
            rewrite: Rewrite::Rename,
        },
    );
    let m = migrated(&typo);
    assert_eq!(m.unresolved.len(), 10, "{}", m.summary());
    assert!(
        m.unresolved
            .iter()
            .all(|u| u.metric == "vllm:gpu_cache_usage_perc"
                && u.why == "its successor vllm:kv_cache_usage_percent is not in 0.33.0 either")
    );
    let report = check(&prometheus, end, &serde_json::from_str(&m.text).unwrap());
    assert_eq!(blank(&report), [6, 14, 24, 34, 43]);
    assert!(report.summary().failed > 0);

    // A rewrite that names a metric 0.33.0 has, with the wrong selector: every panel
    // has data, and the expectation that AWQ's KV cache is well below FP16's fails.
    let fp16_only = with(
        "vllm:gpu_cache_usage_perc",
        Change {
            old: "vllm:gpu_cache_usage_perc",
            new: "vllm:kv_cache_usage_perc",
            note: "",
            rewrite: Rewrite::Expr(r#"vllm:kv_cache_usage_perc{app="mistral-7b-fp16"}"#),
        },
    );
    let m = migrated(&fp16_only);
    assert!(m.unresolved.is_empty(), "{}", m.summary());
    let report = check(&prometheus, end, &serde_json::from_str(&m.text).unwrap());
    let table = report.render(Format::Table);
    assert!(blank(&report).is_empty(), "{table}");
    let failed: Vec<_> = report
        .expectations
        .iter()
        .filter(|e| e.outcome == rig::report::Outcome::Failed)
        .map(|e| e.panel_ref.as_str())
        .collect();
    assert_eq!(failed, ["panel 14"], "{table}");
    let failed_panels: Vec<_> = report
        .panels
        .iter()
        .filter(|p| p.status.failed())
        .map(|p| (p.id, p.status.label()))
        .collect();
    assert_eq!(failed_panels, [(Some(14), "expectation failed")], "{table}");
}

#[test]
fn the_migrated_dashboard_matches_grafana_dashboard_model() {
    let m = migrated(CHANGES);
    // The check reads the very text migrate wrote: a rewrite that lost an escape, or
    // put a number where the model wants a string, fails it.
    let broken = [
        (m.text.replacen(r#"\""#, r#"""#, 1), "not a JSON file"),
        (
            m.text.replacen(r#""refId": "A""#, r#""refId": 1"#, 1),
            "targets[0].refId: Type 'number' is not assignable to type 'string'",
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    let mut files = vec![dir.path().join("migrated.json")];
    std::fs::write(&files[0], &m.text).unwrap();
    for (i, (text, _)) in broken.iter().enumerate() {
        assert_ne!(*text, m.text);
        files.push(dir.path().join(format!("broken-{i}.json")));
        std::fs::write(&files[i + 1], text).unwrap();
    }
    let paths: Vec<_> = files.iter().map(|f| f.as_path()).collect();
    let Some(errors) = schema::grafana_dashboard_file_errors(&paths) else {
        return;
    };
    assert!(errors[0].is_empty(), "{:#?}", errors[0]);
    for ((_, error), errors) in broken.iter().zip(&errors[1..]) {
        assert!(errors.iter().any(|e| e.contains(error)), "{errors:#?}");
    }
}
