//! The report as one JSON document: `dashboard`, `panels`, `expectations`, `alerts`
//! (with `--rules`), `drift` and `summary`; times of alerts in Unix seconds. Null and non-finite values are `null`, with `text` saying which.

use serde_json::{Value, json};

use super::{AlertsReport, Outcome, Report, Status};

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
    json!({
        "dashboard": {"uid": report.dashboard, "title": report.title},
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
}
