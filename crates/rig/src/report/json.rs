//! The report as one JSON document: `dashboard`, `window`, `scenario`, `panels`,
//! `expectations`, `alerts` (with `--rules`), `drift` and `summary`; times in Unix
//! seconds. Each panel carries the data behind its verdict: its grid place and
//! display settings, each target's series (`targets`: name, labels and
//! `[time, value]` points) and, for logs, its `lines`. Null and non-finite values are
//! `null`, with `text` saying which where there is one.

use serde_json::{Value, json};

use super::{AlertsReport, Display, LogLine, Outcome, Report, Status, TargetData};

/// The JSON text, pretty-printed.
pub fn render(report: &Report) -> String {
    let mut text = serde_json::to_string_pretty(&document(report)).unwrap_or_default();
    text.push('\n');
    text
}

/// The JSON value.
pub fn document(report: &Report) -> Value {
    let panels: Vec<Value> = report
        .panels
        .iter()
        .map(|p| {
            let reason = match &p.status {
                Status::Skipped(why) => Some(why.as_str()),
                _ => None,
            };
            json!({
                "id": p.id,
                "title": p.title,
                "type": p.kind,
                "row": p.row,
                "status": p.status.label(),
                "skip_reason": reason,
                "reducer": p.reducer,
                "series": p.series.iter().map(|s| json!({
                    "name": s.name,
                    "value": finite(s.value),
                    "text": s.text,
                    "color": s.color,
                })).collect::<Vec<_>>(),
                "color": p.color,
                "messages": p.messages,
                "grid_pos": p.grid_pos.map(|g| json!({"x": g.x, "y": g.y, "w": g.w, "h": g.h})),
                "display": display(&p.display),
                "targets": p.targets.iter().map(target).collect::<Vec<_>>(),
                "lines": p.lines.iter().map(line).collect::<Vec<_>>(),
            })
        })
        .collect();
    let expectations: Vec<Value> = report
        .expectations
        .iter()
        .map(|e| {
            let panel = e.panel.and_then(|i| report.panels.get(i));
            json!({
                "panel": panel.map(|p| json!({"id": p.id, "title": p.title})),
                "panel_ref": e.panel_ref,
                "note": e.note,
                "status": match e.outcome {
                    Outcome::Passed => "passed",
                    Outcome::Failed => "failed",
                    Outcome::Skipped => "skipped",
                },
                "message": e.message,
            })
        })
        .collect();
    let drift: Vec<Value> = report
        .drift
        .iter()
        .map(|d| {
            let panel = report.panels.get(d.panel);
            json!({
                "panel": panel.map(|p| json!({"id": p.id, "title": p.title})),
                "ref_id": d.ref_id,
                "old_metric": d.old,
                "new_metric": d.new,
                "status": d.status.label(),
                "history": d.history,
                "query": d.query,
                "suggested": d.suggested,
                "answer": match &d.answer {
                    Ok(n) => json!({"series": n}),
                    Err(e) => json!({"error": e}),
                },
            })
        })
        .collect();
    let alerts = report.alerts.as_ref().map(alerts);
    let s = report.summary();
    let secs = |ms: i64| ms as f64 / 1000.0;
    json!({
        "dashboard": {"uid": report.dashboard, "title": report.title},
        "window": report.window.map(|w| json!({"from": secs(w.from_ms), "to": secs(w.to_ms)})),
        "scenario": report.scenario,
        "panels": panels,
        "expectations": expectations,
        "alerts": alerts,
        "drift": drift,
        "drift_error": report.drift_error,
        "error": report.unreachable,
        "summary": {"ok": s.ok, "failed": s.failed, "skipped": s.skipped, "total": s.total()},
    })
}

fn alerts(a: &AlertsReport) -> Value {
    let secs = |ms: i64| ms as f64 / 1000.0;
    let timelines: Vec<Value> = a
        .timelines
        .iter()
        .map(|t| {
            json!({
                "alert": t.alert,
                "group": t.group,
                "at": t.at,
                "interval_seconds": t.interval_ms as f64 / 1000.0,
                "first_evaluation": secs(t.first_ms),
                "last_evaluation": secs(t.last_ms),
                "error": t.error,
                "alerts": t.episodes.iter().map(|e| json!({
                    "labels": e.labels,
                    "active_at": secs(e.active_at_ms),
                    "fired_at": e.fired_at_ms.map(secs),
                    "ended_at": e.ended_at_ms.map(secs),
                    "state_at_end": e.state_at(t.last_ms).map(|s| s.label()),
                    "summary": crate::alerting::describe(e, a.start_ms),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "files": a.files,
        "window_start": secs(a.start_ms),
        "rules": timelines,
        "checks": a.checks.iter().map(|c| json!({
            "name": c.name,
            "status": c.outcome.to_string(),
            "message": c.message,
        })).collect::<Vec<_>>(),
        "errors": a.errors,
    })
}

fn display(d: &Display) -> Value {
    json!({
        "unit": d.unit,
        "decimals": d.decimals,
        "min": d.min,
        "max": d.max,
        "thresholds": d.thresholds.as_ref().map(|t| json!({
            "mode": match t.mode {
                crate::dashboard::ThresholdMode::Absolute => "absolute",
                crate::dashboard::ThresholdMode::Percentage => "percentage",
            },
            "steps": t.steps.iter().map(|s| json!({"color": s.color, "value": s.value})).collect::<Vec<_>>(),
        })),
        "thresholds_style": d.thresholds_style,
    })
}

fn target(t: &TargetData) -> Value {
    json!({
        "ref_id": t.ref_id,
        "error": t.error,
        "series": t.series.iter().map(|s| json!({
            "name": s.name,
            "labels": s.labels,
            "points": s.points.iter().map(|(t, v)| json!([t, finite(Some(*v))])).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

fn line(l: &LogLine) -> Value {
    json!({"time": finite(Some(l.time)), "labels": l.labels, "line": l.line})
}

fn finite(v: Option<f64>) -> Option<f64> {
    v.filter(|v| v.is_finite())
}

#[cfg(test)]
mod tests {
    use super::super::sample;
    use super::*;

    #[test]
    fn round_trips_as_json() {
        let text = render(&sample::report());
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["dashboard"]["uid"], "llm-platform-overview");
        assert_eq!(v["panels"].as_array().unwrap().len(), 4);
        let d = &v["drift"][0];
        assert_eq!(d["panel"]["id"], 11);
        assert_eq!(d["old_metric"], "vllm:gpu_cache_usage_perc");
        assert_eq!(d["status"], "gone");
        assert_eq!(d["answer"]["series"], 4);
        let p = &v["panels"][0];
        assert_eq!(
            (p["id"].as_u64(), p["type"].as_str(), p["status"].as_str()),
            (Some(1), Some("stat"), Some("ok"))
        );
        assert_eq!(
            p["series"][0],
            json!({"name": "Active models", "value": 4.0, "text": "4", "color": "green"})
        );
        assert_eq!(p["color"], "green");
        assert_eq!(
            v["panels"][1]["series"][1]["value"],
            Value::Null,
            "NaN is null"
        );
        assert_eq!(v["panels"][2]["status"], "skipped");
        assert_eq!(
            v["panels"][2]["skip_reason"],
            "Loki; pass --loki-datasource URL"
        );
        assert_eq!(
            v["panels"][3]["messages"][0],
            "target A: bad_data: parse error: unexpected \"<\""
        );
        assert_eq!(
            v["expectations"][0]["panel"],
            json!({"id": 11, "title": "P95 <E2E> & 'Latency'"})
        );
        assert_eq!(v["expectations"][0]["status"], "failed");
        assert_eq!(v["expectations"][2]["panel"], Value::Null);
        assert_eq!(
            v["summary"],
            json!({"ok": 2, "failed": 4, "skipped": 1, "total": 7})
        );
    }

    /// Each panel carries what its verdict was made from, beside every field it had.
    #[test]
    fn panels_carry_their_series_and_lines() {
        let v = document(&sample::report());
        assert_eq!(
            v["window"],
            json!({"from": 1_700_000_000.0, "to": 1_700_001_800.0})
        );
        assert_eq!(v["scenario"], "healthy");
        let ts = &v["panels"][1];
        assert_eq!(
            ts["targets"][0],
            json!({"ref_id": "A", "error": null, "series": [{
                "name": "AWQ", "labels": {"model": "awq"},
                "points": [[1_700_000_000.0, 1.5], [1_700_000_015.0, null]]}]})
        );
        assert_eq!(ts["targets"][1]["ref_id"], "B");
        assert_eq!(ts["grid_pos"], json!({"x": 0, "y": 6, "w": 12, "h": 8}));
        assert_eq!(
            ts["display"],
            json!({"unit": "s", "decimals": null, "min": null, "max": null,
                   "thresholds": {"mode": "absolute", "steps": [
                       {"color": "green", "value": null}, {"color": "red", "value": 2.0}]},
                   "thresholds_style": "dashed"})
        );
        let logs = &v["panels"][2];
        assert_eq!(
            logs["lines"][0],
            json!({"time": 1_700_000_010.0, "labels": {"app": "bench"}, "line": "<b>done</b> & \"ok\""})
        );
        assert_eq!(logs["targets"][0]["error"], "not queried: no Loki given");
        assert_eq!(v["panels"][3]["grid_pos"], Value::Null);
        let keys: Vec<&str> = ts.as_object().unwrap().keys().map(String::as_str).collect();
        for old in [
            "id",
            "title",
            "type",
            "row",
            "status",
            "skip_reason",
            "reducer",
            "series",
            "color",
            "messages",
        ] {
            assert!(keys.contains(&old), "{old} kept: {keys:?}");
        }
    }
}
