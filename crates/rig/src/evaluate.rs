//! From query answers to verdicts: a pure function of the dashboard, the settings,
//! the answers and the expectations, so every rule is testable without a network.
//!
//! Each panel's series are named by their legend and reduced (a stat, gauge or bar
//! gauge with its own reducer and threshold colour; other panels with `lastNotNull`;
//! logs by counting lines). Then each expectation is checked (module `check`).

use std::collections::BTreeMap;

use super::answer::{ApiError, Series};
use super::check::{self, Verdict};
use super::dashboard::{Dashboard, Panel};
use super::expect::{Expectation, PanelRef};
use super::legend::series_name;
use super::plan::{Action, PanelPlan, QueryKind, Settings, plan};
use super::reduce::Reducer;
use super::report::{
    Display, ExpectationReport, LogLine, PanelReport, Report, SeriesData, SeriesValue, Status,
    TargetData, Window,
};
use super::shown::{Named, display_reducer, scale, shows_thresholds};
use super::threshold;
use super::units::format_value;

/// Which query an answer belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct QueryKey {
    /// The panel's position in [`Dashboard::panels`].
    pub panel: usize,
    /// The target's position in the panel's `targets`.
    pub target: usize,
}

/// Every answer of a run. A Loki query without an answer means Loki was not asked.
pub type Answers = BTreeMap<QueryKey, Result<Vec<Series>, ApiError>>;

/// Why a Loki panel is not checked.
pub const NO_LOKI: &str = "Loki; pass --loki-datasource URL";

/// Judges a dashboard from its query answers.
pub fn evaluate(
    dashboard: &Dashboard,
    settings: &Settings,
    answers: &Answers,
    expectations: &[Expectation],
) -> Report {
    judge(
        dashboard,
        settings,
        &plan(dashboard, settings),
        answers,
        expectations,
    )
}

/// Judges a dashboard, planned as `plans`, from its query answers.
pub(super) fn judge(
    dashboard: &Dashboard,
    settings: &Settings,
    plans: &[PanelPlan<'_>],
    answers: &Answers,
    expectations: &[Expectation],
) -> Report {
    let mut panels = Vec::with_capacity(plans.len());
    let mut data = Vec::with_capacity(plans.len());
    for p in plans {
        let (report, named) = judge_panel(p, answers);
        panels.push(report);
        data.push(named);
    }
    let find = |r: &PanelRef| {
        plans.iter().position(|p| match r {
            PanelRef::Id(id) => p.panel.id == Some(*id),
            PanelRef::Title(t) => p.panel.title == *t,
        })
    };
    // Skips first, so that every expectation sees the panel's final state.
    for e in expectations {
        if let (Some(why), Some(i)) = (&e.skip, find(&e.panel))
            && panels[i].status == Status::NoData
        {
            panels[i].status = Status::Skipped(why.clone());
        }
    }
    let mut results = Vec::with_capacity(expectations.len());
    for e in expectations {
        let index = find(&e.panel);
        let verdict = match index {
            Some(i) => check::check(e, plans[i].panel, &panels[i], &data[i]),
            None => Verdict::failed("no such panel in the dashboard".to_owned()),
        };
        if let (Some(i), Some(status)) = (index, verdict.panel_status.clone())
            && matches!(panels[i].status, Status::Ok | Status::ExpectationFailed)
        {
            panels[i].status = status;
        }
        results.push(ExpectationReport {
            panel: index,
            panel_ref: e.panel.to_string(),
            note: e.note.clone(),
            outcome: verdict.outcome,
            message: verdict.message,
        });
    }
    Report {
        dashboard: dashboard.name().to_owned(),
        title: dashboard.title.clone(),
        panels,
        expectations: results,
        window: Some(Window {
            from_ms: settings.from_ms,
            to_ms: settings.to_ms,
        }),
        ..Report::default()
    }
}

fn judge_panel(p: &PanelPlan<'_>, answers: &Answers) -> (PanelReport, Vec<Named>) {
    let panel = p.panel;
    let mut report = PanelReport {
        id: panel.id,
        title: panel.title.clone(),
        kind: panel.kind.clone(),
        row: p.row.map(str::to_owned),
        status: Status::Ok,
        reducer: None,
        series: Vec::new(),
        color: None,
        messages: Vec::new(),
        grid_pos: panel.grid_pos,
        display: display(panel),
        targets: Vec::new(),
        lines: Vec::new(),
    };
    let mut named = Vec::new();
    match &p.action {
        Action::Skip(why) => report.status = Status::Skipped(why.clone()),
        Action::Invalid(problems) => {
            report.status = Status::Error;
            report.messages.clone_from(problems);
        }
        Action::Run(queries) => {
            let mut loki_missing = false;
            let mut empty = Vec::new();
            for q in queries {
                let key = QueryKey {
                    panel: p.index,
                    target: q.target,
                };
                let mut data = TargetData {
                    ref_id: q.ref_id.clone(),
                    ..TargetData::default()
                };
                match answers.get(&key) {
                    None if matches!(q.kind, QueryKind::Loki { .. }) => {
                        loki_missing = true;
                        data.error = Some("not queried: no Loki given".to_owned());
                    }
                    None => {
                        report
                            .messages
                            .push(format!("target {}: not queried", q.ref_id));
                        data.error = Some("not queried".to_owned());
                    }
                    Some(Err(e)) => {
                        report.messages.push(format!("target {}: {e}", q.ref_id));
                        data.error = Some(e.to_string());
                    }
                    Some(Ok(series)) if series.is_empty() => empty.push(q.ref_id.as_str()),
                    Some(Ok(series)) => {
                        for s in series {
                            let name = series_name(q.legend.as_deref(), &s.labels, &q.expr);
                            named.push(Named {
                                name: name.clone(),
                                values: s.points.iter().map(|(_, v)| *v).collect(),
                            });
                            report.lines.extend(s.points.iter().zip(&s.lines).map(
                                |((time, _), line)| LogLine {
                                    time: *time,
                                    labels: s.labels.clone(),
                                    line: line.clone(),
                                },
                            ));
                            data.series.push(SeriesData {
                                name,
                                labels: s.labels.clone(),
                                points: s.points.clone(),
                            });
                        }
                    }
                }
                report.targets.push(data);
            }
            // Newest first, as Grafana's logs panel shows them by default; a line
            // without a time last.
            report.lines.sort_by(|a, b| {
                b.time
                    .partial_cmp(&a.time)
                    .unwrap_or_else(|| a.time.is_nan().cmp(&b.time.is_nan()))
            });
            let failed_queries = !report.messages.is_empty();
            // Every target must answer: a panel whose second query is blank is as
            // broken as a blank panel, though it shows something.
            if !named.is_empty() {
                for ref_id in &empty {
                    report.messages.push(format!("target {ref_id}: no data"));
                }
            }
            report.status = if loki_missing {
                Status::Skipped(NO_LOKI.to_owned())
            } else if failed_queries {
                Status::Error
            } else if named.is_empty() || !empty.is_empty() {
                Status::NoData
            } else {
                Status::Ok
            };
        }
    }
    if !matches!(report.status, Status::Skipped(_)) {
        if let Some(problem) = panel
            .field_config
            .defaults
            .thresholds
            .as_ref()
            .and_then(threshold::unsorted)
        {
            report.messages.push(problem);
            report.status = Status::Error;
        }
        show_values(panel, &named, &mut report);
    }
    (report, named)
}

/// What drawing a panel's values needs, from its field config.
fn display(panel: &Panel) -> Display {
    let d = &panel.field_config.defaults;
    Display {
        unit: d.unit.clone(),
        decimals: d.decimals,
        min: d.min,
        max: d.max,
        thresholds: d.thresholds.clone(),
        thresholds_style: d
            .custom
            .as_ref()
            .and_then(|c| c.thresholds_style.as_ref())
            .map(|s| s.mode.clone()),
    }
}

fn show_values(panel: &Panel, named: &[Named], report: &mut PanelReport) {
    let id = display_reducer(panel);
    let reducer = match Reducer::from_id(id) {
        Ok(r) => r,
        Err(e) => {
            report
                .messages
                .push(format!("options.reduceOptions.calcs: {e}"));
            report.status = Status::Error;
            return;
        }
    };
    report.reducer = Some(reducer.id().to_owned());
    let d = &panel.field_config.defaults;
    let thresholds = d.thresholds.as_ref().filter(|_| shows_thresholds(panel));
    let scale = scale(panel, named);
    for n in named {
        let value = reducer.apply(&n.values);
        let text = if panel.kind == "logs" {
            format!("{} lines", value.unwrap_or(0.0))
        } else {
            format_value(value, d.unit.as_deref(), d.decimals)
        };
        report.series.push(SeriesValue {
            name: n.name.clone(),
            value,
            text,
            color: thresholds.map(|t| threshold::color(t, value, scale)),
        });
    }
    let first = report.series.first().and_then(|s| s.color.clone());
    if report.series.iter().all(|s| s.color == first) {
        report.color = first;
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::dashboard;

    /// A stat, a two-series time series, a table, a logs panel and a text panel.
    pub(crate) const BOARD: &str = r#"{
      "uid": "test-board", "title": "Test",
      "panels": [
        {"type": "row", "title": "Top", "collapsed": false, "panels": []},
        {"type": "stat", "id": 1, "title": "Active Models",
         "datasource": {"type": "prometheus", "uid": "prometheus"},
         "targets": [{"refId": "A", "expr": "count(up == 1)", "legendFormat": "Active models"}],
         "fieldConfig": {"defaults": {"unit": "short", "thresholds": {"mode": "absolute", "steps": [
            {"color": "red", "value": null}, {"color": "yellow", "value": 3}, {"color": "green", "value": 4}]}}},
         "options": {"reduceOptions": {"calcs": ["lastNotNull"]}}},
        {"type": "row", "title": "Latency", "collapsed": true, "panels": [
          {"type": "timeseries", "id": 11, "title": "P95 E2E Latency",
           "datasource": {"type": "prometheus", "uid": "prometheus"},
           "fieldConfig": {"defaults": {"unit": "s"}},
           "targets": [
             {"refId": "A", "expr": "p95{app=\"awq\"}", "legendFormat": "AWQ"},
             {"refId": "B", "expr": "p95{app=\"fp16\"}", "legendFormat": "FP16"}]},
          {"type": "table", "id": 52, "title": "Requests by Team",
           "datasource": {"type": "prometheus", "uid": "prometheus"},
           "targets": [{"refId": "A", "expr": "sum by (team)(x)", "legendFormat": "__auto", "format": "table", "instant": true}]},
          {"type": "logs", "id": 51, "title": "Logs",
           "datasource": {"type": "loki", "uid": "loki"},
           "targets": [{"refId": "A", "expr": "{namespace=\"platform\"}"}]},
          {"type": "text", "id": 60, "title": "Notes"}
        ]}
      ]}"#;

    pub(crate) fn settings() -> Settings {
        Settings {
            from_ms: 1_700_000_000_000,
            to_ms: 1_700_001_800_000,
            scrape_interval_ms: 15_000,
            datasource_uid: "prometheus".to_owned(),
        }
    }

    pub(crate) fn series(labels: &[(&str, &str)], values: &[f64]) -> Series {
        Series {
            labels: labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            points: values
                .iter()
                .enumerate()
                .map(|(i, v)| (i as f64 * 15.0, *v))
                .collect(),
            lines: Vec::new(),
        }
    }

    /// An answer for a panel id and refId, the way tests think of them.
    pub(crate) type Canned<'a> = (u64, &'a str, Result<Vec<Series>, ApiError>);

    /// Answers keyed by panel id and refId.
    pub(crate) fn answers(d: &Dashboard, list: Vec<Canned<'_>>) -> Answers {
        let panels = d.panels();
        list.into_iter()
            .map(|(id, ref_id, answer)| {
                let panel = panels.iter().position(|p| p.panel.id == Some(id)).unwrap();
                let target = panels[panel]
                    .panel
                    .targets
                    .iter()
                    .position(|t| t.ref_id == ref_id)
                    .unwrap();
                (QueryKey { panel, target }, answer)
            })
            .collect()
    }

    pub(crate) fn healthy(d: &Dashboard) -> Answers {
        answers(
            d,
            vec![
                (1, "A", Ok(vec![series(&[], &[3.0, 4.0, f64::NAN])])),
                (11, "A", Ok(vec![series(&[], &[1.4, 1.5])])),
                (11, "B", Ok(vec![series(&[], &[2.0, 2.1])])),
                (
                    52,
                    "A",
                    Ok(vec![
                        series(&[("team", "awq")], &[12.0]),
                        series(&[("team", "lora")], &[3.0]),
                    ]),
                ),
            ],
        )
    }

    #[test]
    fn statuses_values_and_colours() {
        let d = dashboard::parse(BOARD).unwrap();
        let r = evaluate(&d, &settings(), &healthy(&d), &[]);
        assert_eq!(r.dashboard, "test-board");
        let by_id = |id| r.panels.iter().find(|p| p.id == Some(id)).unwrap();
        let stat = by_id(1);
        assert_eq!(stat.status, Status::Ok);
        assert_eq!(stat.row.as_deref(), Some("Top"));
        assert_eq!(stat.series[0].value, Some(4.0), "lastNotNull skips the NaN");
        assert_eq!(stat.color.as_deref(), Some("green"));
        assert_eq!(stat.values_line(8), "Active models=4; green");
        let ts = by_id(11);
        assert_eq!(ts.row.as_deref(), Some("Latency"));
        assert_eq!(ts.values_line(8), "AWQ=1.50 s FP16=2.10 s");
        assert_eq!(ts.color, None);
        let table = by_id(52);
        assert_eq!(table.values_line(8), "{team=\"awq\"}=12 {team=\"lora\"}=3");
        assert_eq!(by_id(51).status, Status::Skipped(NO_LOKI.to_owned()));
        assert_eq!(by_id(60).status, Status::Skipped("no queries".to_owned()));
        assert_eq!(r.summary().failed, 0);
    }

    #[test]
    fn no_data_errors_and_logs() {
        let d = dashboard::parse(BOARD).unwrap();
        let mut a = healthy(&d);
        a.extend(answers(
            &d,
            vec![
                (1, "A", Ok(vec![])),
                (
                    11,
                    "B",
                    Err(ApiError::Query {
                        error_type: "bad_data".to_owned(),
                        error: "parse error".to_owned(),
                    }),
                ),
                (
                    51,
                    "A",
                    Ok(vec![series(&[("app", "bench")], &[1.0, 1.0, 1.0])]),
                ),
            ],
        ));
        let r = evaluate(&d, &settings(), &a, &[]);
        let by_id = |id| r.panels.iter().find(|p| p.id == Some(id)).unwrap();
        assert_eq!(by_id(1).status, Status::NoData);
        assert_eq!(by_id(11).status, Status::Error);
        assert_eq!(by_id(11).messages, ["target B: bad_data: parse error"]);
        let logs = by_id(51);
        assert_eq!(logs.status, Status::Ok);
        assert_eq!(logs.values_line(8), "{app=\"bench\"}=3 lines");
        assert_eq!(r.summary().failed, 2);
    }

    /// Each panel keeps what its targets answered: series by display name with their
    /// points, errors per target, log lines newest first.
    #[test]
    fn panels_keep_their_data() {
        let d = dashboard::parse(BOARD).unwrap();
        let mut a = healthy(&d);
        let stream = |app: &str, lines: &[(f64, &str)]| Series {
            labels: [("app".to_owned(), app.to_owned())].into(),
            points: lines.iter().map(|(t, _)| (*t, 1.0)).collect(),
            lines: lines.iter().map(|(_, l)| (*l).to_owned()).collect(),
        };
        a.extend(answers(
            &d,
            vec![
                (
                    51,
                    "A",
                    Ok(vec![
                        stream("bench", &[(10.0, "b1"), (30.0, "b3")]),
                        stream("run", &[(20.0, "r2")]),
                    ]),
                ),
                (
                    11,
                    "B",
                    Err(ApiError::Query {
                        error_type: "bad_data".to_owned(),
                        error: "parse error".to_owned(),
                    }),
                ),
            ],
        ));
        let r = evaluate(&d, &settings(), &a, &[]);
        assert_eq!(
            r.window,
            Some(Window {
                from_ms: 1_700_000_000_000,
                to_ms: 1_700_001_800_000
            })
        );
        let by_id = |id| r.panels.iter().find(|p| p.id == Some(id)).unwrap();
        let ts = by_id(11);
        assert_eq!(ts.display.unit.as_deref(), Some("s"));
        assert_eq!(ts.targets.len(), 2);
        assert_eq!(ts.targets[0].ref_id, "A");
        assert_eq!(ts.targets[0].series[0].name, "AWQ");
        assert_eq!(ts.targets[0].series[0].points, [(0.0, 1.4), (15.0, 1.5)]);
        assert_eq!(
            ts.targets[1].error.as_deref(),
            Some("bad_data: parse error")
        );
        assert!(ts.targets[1].series.is_empty());
        let stat = by_id(1);
        assert_eq!(
            stat.display.thresholds.as_ref().map(|t| t.steps.len()),
            Some(3)
        );
        assert_eq!(stat.targets[0].series[0].name, "Active models");
        let table = by_id(52);
        assert_eq!(table.targets[0].series[1].labels["team"], "lora");
        let logs = by_id(51);
        let lines: Vec<(f64, &str, &str)> = logs
            .lines
            .iter()
            .map(|l| (l.time, l.labels["app"].as_str(), l.line.as_str()))
            .collect();
        assert_eq!(
            lines,
            [
                (30.0, "bench", "b3"),
                (20.0, "run", "r2"),
                (10.0, "bench", "b1")
            ]
        );
        assert_eq!(
            logs.values_line(8),
            "{app=\"bench\"}=2 lines {app=\"run\"}=1 lines"
        );
        assert!(by_id(60).targets.is_empty(), "a panel without queries");
        let unasked = evaluate(&d, &settings(), &healthy(&d), &[]);
        let logs = unasked.panels.iter().find(|p| p.id == Some(51)).unwrap();
        assert_eq!(
            logs.targets[0].error.as_deref(),
            Some("not queried: no Loki given")
        );
    }

    /// A panel is as broken when one of its targets answers nothing as when all do,
    /// unless the scenario says it may be blank.
    #[test]
    fn every_target_must_answer() {
        let d = dashboard::parse(BOARD).unwrap();
        let mut a = healthy(&d);
        a.extend(answers(&d, vec![(11, "B", Ok(vec![]))]));
        let r = evaluate(&d, &settings(), &a, &[]);
        let latency = r.panels.iter().find(|p| p.id == Some(11)).unwrap();
        assert_eq!(latency.status, Status::NoData);
        assert_eq!(latency.messages, ["target B: no data"]);
        assert_eq!(latency.values_line(8), "AWQ=1.50 s");
        assert_eq!(r.summary().failed, 1);
        let skip = Expectation {
            skip: Some("FP16 is down in this phase".to_owned()),
            ..crate::check::tests::expect(PanelRef::Id(11))
        };
        let r = evaluate(&d, &settings(), &a, &[skip]);
        let latency = r.panels.iter().find(|p| p.id == Some(11)).unwrap();
        assert_eq!(
            latency.status,
            Status::Skipped("FP16 is down in this phase".to_owned())
        );
        assert_eq!(r.summary().failed, 0);
    }

    #[test]
    fn dashboard_problems_are_errors() {
        let bad = BOARD.replace(
            r#"{"color": "yellow", "value": 3}, {"color": "green", "value": 4}"#,
            r#"{"color": "green", "value": 4}, {"color": "yellow", "value": 3}"#,
        );
        let bad = bad.replace(
            r#"{"type": "prometheus", "uid": "prometheus"},
           "fieldConfig": {"defaults": {"unit": "s"}}"#,
            r#"{"type": "prometheus", "uid": "victoria"},
           "fieldConfig": {"defaults": {"unit": "s"}}"#,
        );
        let d = dashboard::parse(&bad).unwrap();
        let r = evaluate(&d, &settings(), &healthy(&d), &[]);
        let stat = &r.panels[0];
        assert_eq!(stat.status, Status::Error);
        assert!(
            stat.messages[0].starts_with("threshold steps are not sorted"),
            "{:?}",
            stat.messages
        );
        assert_eq!(stat.series[0].value, Some(4.0), "values are still shown");
        let ts = &r.panels[1];
        assert_eq!(ts.status, Status::Error);
        assert_eq!(
            ts.messages[0],
            "panel 11 \"P95 E2E Latency\": target A: datasource uid 'victoria' is not the Prometheus datasource 'prometheus'"
        );
    }

    #[test]
    fn unanswered_prometheus_queries_are_errors() {
        let d = dashboard::parse(BOARD).unwrap();
        let r = evaluate(&d, &settings(), &Answers::new(), &[]);
        assert_eq!(r.panels[0].status, Status::Error);
        assert_eq!(r.panels[0].messages, ["target A: not queried"]);
    }
}
