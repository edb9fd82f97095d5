//! The outcome of a run, per panel and per expectation, with the data behind each
//! verdict, and its renderings: a table for people ([`table`]), a self-contained HTML
//! page drawing each panel ([`html`]), JSON ([`json`]) and JUnit XML ([`junit`]) for CI.
//!
//! A panel fails when it has no data, an error (query, datasource, dashboard
//! problem) or a failed expectation; every panel and every expectation is a check,
//! and so is every alert expectation, and every alerting rule that could not be
//! evaluated.

pub mod html;
pub mod json;
pub mod junit;
pub mod table;

use std::collections::BTreeMap;
use std::fmt;

use super::DriftStatus;
use super::dashboard::{GridPos, Thresholds};

/// Everything a run found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    /// The dashboard's uid, else its title: JUnit's class name.
    pub dashboard: String,
    /// The dashboard's title.
    pub title: Option<String>,
    /// One entry per panel (rows excluded), in display order.
    pub panels: Vec<PanelReport>,
    /// One entry per expectation, in the scenario's order.
    pub expectations: Vec<ExpectationReport>,
    /// Queries naming vLLM metrics the fleet renamed or dropped; informational,
    /// not checks (a gone metric already fails its panel with no data).
    pub drift: Vec<super::Drift>,
    /// Why drift could not be looked for, when it could not.
    pub drift_error: Option<String>,
    /// A datasource that could not be reached, found before any panel was asked:
    /// then nothing was checked, and the run fails with this one error.
    pub unreachable: Option<String>,
    /// The alerting rules evaluated over the window (`verify --rules`), and the
    /// scenario's alert expectations.
    pub alerts: Option<AlertsReport>,
    /// The dashboard range asked, when panels were asked.
    pub window: Option<Window>,
    /// The scenario whose expectations were checked, as the caller names it.
    pub scenario: Option<String>,
}

/// A time range, Unix milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Window {
    /// Its start.
    pub from_ms: i64,
    /// Its end.
    pub to_ms: i64,
}

/// The alerting rules over the verify window.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AlertsReport {
    /// The rule files.
    pub files: Vec<String>,
    /// The start of the verify window, Unix ms: times in messages are relative to it.
    pub start_ms: i64,
    /// One per alerting rule, in file and group order.
    pub timelines: Vec<AlertTimeline>,
    /// The scenario's alert expectations and the check that nothing else fires,
    /// when the scenario lists its alerts.
    pub checks: Vec<AlertCheck>,
    /// Problems beyond one rule (a recorded series an alert reads is absent), each a
    /// failed check.
    pub errors: Vec<String>,
}

/// One alerting rule's alerts over the window.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertTimeline {
    /// The rule's name.
    pub alert: String,
    /// Its group.
    pub group: String,
    /// Where the rule is: `file:line:column`.
    pub at: String,
    /// How often it was evaluated, ms.
    pub interval_ms: u64,
    /// The first evaluation, Unix ms.
    pub first_ms: i64,
    /// The last evaluation, Unix ms.
    pub last_ms: i64,
    /// Its alerts, each from pending to resolved, by when they became active.
    pub episodes: Vec<crate::alerting::Episode>,
    /// Why it could not be evaluated (a failed check), if it could not.
    pub error: Option<String>,
}

/// One alert expectation's verdict.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertCheck {
    /// What was expected.
    pub name: String,
    /// The verdict.
    pub outcome: Outcome,
    /// What was seen.
    pub message: String,
}

impl AlertsReport {
    /// The timelines as text, a line per rule and per alert: `VLLMModelDown (1m):
    /// {app="x"} pending 2m, firing 3m until 5m`.
    pub fn timelines_text(&self) -> String {
        let mut out = String::new();
        for t in &self.timelines {
            let head = format!(
                "{} ({}, group {}, every {})",
                t.alert,
                t.at,
                t.group,
                crate::rules::format_duration(t.interval_ms)
            );
            match (&t.error, t.episodes.is_empty()) {
                (Some(e), _) => out.push_str(&format!("{head}: error: {e}\n")),
                (None, true) => out.push_str(&format!("{head}: never active\n")),
                (None, false) => {
                    out.push_str(&format!("{head}:\n"));
                    for e in &t.episodes {
                        let line = crate::alerting::describe(e, self.start_ms);
                        out.push_str(&format!("  {line}\n"));
                    }
                }
            }
        }
        out
    }
}

/// What one panel showed.
#[derive(Clone, Debug, PartialEq)]
pub struct PanelReport {
    /// The panel's id.
    pub id: Option<u64>,
    /// The panel's title.
    pub title: String,
    /// The panel plugin, e.g. `stat`.
    pub kind: String,
    /// The title of the row it sits in.
    pub row: Option<String>,
    /// The verdict.
    pub status: Status,
    /// The reducer behind each series' value (the stat's own, `lastNotNull` for
    /// other panels, `count` of lines for logs).
    pub reducer: Option<String>,
    /// Each series and its reduced value.
    pub series: Vec<SeriesValue>,
    /// The threshold colour, when every series shows the same one.
    pub color: Option<String>,
    /// Errors and dashboard problems.
    pub messages: Vec<String>,
    /// Where the panel sits on the dashboard's grid, as the dashboard says.
    pub grid_pos: Option<GridPos>,
    /// What drawing its values needs: unit, decimals, scale, thresholds.
    pub display: Display,
    /// What each target it ran answered, in the panel's target order.
    pub targets: Vec<TargetData>,
    /// The log lines its targets answered (logs panels), newest first.
    pub lines: Vec<LogLine>,
}

/// How a panel draws its values, from its `fieldConfig.defaults`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Display {
    /// Grafana's unit id.
    pub unit: Option<String>,
    /// Decimals to display.
    pub decimals: Option<f64>,
    /// The scale's minimum, when set.
    pub min: Option<f64>,
    /// The scale's maximum, when set.
    pub max: Option<f64>,
    /// The threshold steps and mode.
    pub thresholds: Option<Thresholds>,
    /// How a time series shows its thresholds (`custom.thresholdsStyle.mode`:
    /// `off`, `line`, `dashed`, `area`, …).
    pub thresholds_style: Option<String>,
}

/// What one target of a panel answered.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TargetData {
    /// The target's `refId`.
    pub ref_id: String,
    /// Why it has no answer (a failed query, or not asked), if it has none.
    pub error: Option<String>,
    /// Its series, in answer order.
    pub series: Vec<SeriesData>,
}

/// One answered series, as the panel names it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SeriesData {
    /// Its display name (legend).
    pub name: String,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// `(Unix seconds, value)` in time order; NaN stands for a null.
    pub points: Vec<(f64, f64)>,
}

/// One log line.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LogLine {
    /// When, Unix seconds.
    pub time: f64,
    /// Its stream's labels.
    pub labels: BTreeMap<String, String>,
    /// The line.
    pub line: String,
}

/// One series of a panel.
#[derive(Clone, Debug, PartialEq)]
pub struct SeriesValue {
    /// Its display name (legend).
    pub name: String,
    /// The reduced value; `None` for null.
    pub value: Option<f64>,
    /// The value with the panel's unit, e.g. `1.47 s`.
    pub text: String,
    /// Its threshold colour (stat, gauge and bar gauge panels with thresholds).
    pub color: Option<String>,
}

/// A panel's verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// Data, and every expectation met.
    Ok,
    /// Every query answered with no series.
    NoData,
    /// An expected threshold colour was not shown.
    WrongColour,
    /// A bound on a value or ratio was not met.
    ExpectationFailed,
    /// A query failed, or the panel is wrong before querying.
    Error,
    /// Not checked, and why.
    Skipped(String),
}

impl Status {
    /// Whether this counts as a failure.
    pub fn failed(&self) -> bool {
        !matches!(self, Status::Ok | Status::Skipped(_))
    }

    /// The verdict without the skip reason: `ok`, `no data`, `skipped`, …
    pub fn label(&self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::NoData => "no data",
            Status::WrongColour => "wrong colour",
            Status::ExpectationFailed => "expectation failed",
            Status::Error => "error",
            Status::Skipped(_) => "skipped",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Status::Skipped(why) => write!(f, "skipped: {why}"),
            other => f.write_str(other.label()),
        }
    }
}

/// What came of one expectation.
#[derive(Clone, Debug, PartialEq)]
pub struct ExpectationReport {
    /// The panel's position in [`Report::panels`]; `None` when no panel matches.
    pub panel: Option<usize>,
    /// The panel as the expectation names it, e.g. `panel 11`.
    pub panel_ref: String,
    /// What the expectation means.
    pub note: String,
    /// The verdict.
    pub outcome: Outcome,
    /// The values seen and what was wanted.
    pub message: String,
}

/// An expectation's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Met.
    Passed,
    /// Not met.
    Failed,
    /// Not checked (the panel is skipped or expected to be empty).
    Skipped,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Outcome::Passed => "passed",
            Outcome::Failed => "failed",
            Outcome::Skipped => "skipped",
        })
    }
}

/// Counts of checks: panels and expectations together.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Checks that passed.
    pub ok: usize,
    /// Checks that failed.
    pub failed: usize,
    /// Checks not made.
    pub skipped: usize,
}

impl Summary {
    /// All checks.
    pub fn total(&self) -> usize {
        self.ok + self.failed + self.skipped
    }
}

impl PanelReport {
    /// `panel 11 "P95 E2E Latency"`.
    pub fn label(&self) -> String {
        match self.id {
            Some(id) => format!("panel {id} {:?}", self.title),
            None => format!("panel {:?}", self.title),
        }
    }

    /// The values in one line, e.g. `AWQ=1.47 s FP16=2.05 s; green`.
    pub fn values_line(&self, limit: usize) -> String {
        let mut parts: Vec<String> = self
            .series
            .iter()
            .take(limit)
            .map(|s| match (&s.color, &self.color) {
                (Some(c), None) => format!("{}={} ({c})", s.name, s.text),
                _ => format!("{}={}", s.name, s.text),
            })
            .collect();
        if self.series.len() > limit {
            parts.push(format!("… {} more", self.series.len() - limit));
        }
        let mut line = parts.join(" ");
        if let Some(c) = &self.color {
            line.push_str(&format!("; {c}"));
        }
        line
    }
}

impl Report {
    /// The metric drift as a Markdown table (panel, target, old metric, new metric,
    /// status, suggested PromQL, what it answered), under a heading line; empty when
    /// there is none to report.
    pub fn drift_table(&self) -> String {
        let mut out = String::new();
        if let Some(e) = &self.drift_error {
            out.push_str(&format!("{e}\n"));
        }
        if self.drift.is_empty() {
            return out;
        }
        let gone = self.drift.iter().filter(|d| d.status == DriftStatus::Gone);
        out.push_str(&format!(
            "Metric drift: {} queries name vLLM metrics this fleet has dropped, {} name deprecated ones\n\n",
            gone.count(),
            self.drift.iter().filter(|d| d.status == DriftStatus::Deprecated).count()
        ));
        out.push_str(
            "| Panel | Target | Old metric | New metric | Status | Suggested PromQL | Answers |\n",
        );
        out.push_str("|---|---|---|---|---|---|---|\n");
        let cell = |s: &str| s.replace('|', "\\|");
        for d in &self.drift {
            let panel = self
                .panels
                .get(d.panel)
                .map_or_else(|| "?".to_owned(), |p| p.label());
            let suggested = d
                .suggested
                .as_deref()
                .map_or_else(|| "(by hand)".to_owned(), |s| format!("`{}`", cell(s)));
            let answers = match &d.answer {
                Ok(1) => "1 series".to_owned(),
                Ok(n) => format!("{n} series"),
                Err(e) => cell(e),
            };
            out.push_str(&format!(
                "| {} | {} | `{}` | `{}` | {} ({}) | {suggested} | {answers} |\n",
                cell(&panel),
                d.ref_id,
                d.old,
                d.new,
                d.status.label(),
                d.history,
            ));
        }
        out
    }
}

impl ExpectationReport {
    /// `panel 11 "P95 E2E Latency": AWQ below FP16: AWQ mean=1.47 s …`.
    pub fn describe(&self, report: &Report) -> String {
        let panel = match self.panel.and_then(|i| report.panels.get(i)) {
            Some(p) => p.label(),
            None => self.panel_ref.clone(),
        };
        format!("{panel}: {}: {}", self.note, self.message)
    }
}

impl Report {
    /// Panels and expectations, counted.
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        if self.unreachable.is_some() {
            s.failed += 1;
        }
        for p in &self.panels {
            match p.status {
                Status::Ok => s.ok += 1,
                Status::Skipped(_) => s.skipped += 1,
                _ => s.failed += 1,
            }
        }
        let alerts = self.alerts.as_ref();
        let outcomes = self.expectations.iter().map(|e| e.outcome);
        let alert_checks = alerts
            .into_iter()
            .flat_map(|a| a.checks.iter().map(|c| c.outcome));
        for outcome in outcomes.chain(alert_checks) {
            match outcome {
                Outcome::Passed => s.ok += 1,
                Outcome::Skipped => s.skipped += 1,
                Outcome::Failed => s.failed += 1,
            }
        }
        if let Some(a) = alerts {
            s.failed += a.errors.len() + a.timelines.iter().filter(|t| t.error.is_some()).count();
        }
        s
    }
}

/// An output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// A table per panel, for people.
    Table,
    /// One JSON document.
    Json,
    /// JUnit XML.
    Junit,
    /// One self-contained HTML page.
    Html,
}

impl Report {
    /// The report in `format`.
    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Table => table::render(self),
            Format::Json => json::render(self),
            Format::Junit => junit::render(self),
            Format::Html => html::render(self),
        }
    }
}

#[cfg(test)]
pub(crate) mod sample {
    //! A small report every renderer is tested on.
    use super::*;
    use crate::dashboard::{Step, ThresholdMode};

    pub(crate) fn report() -> Report {
        Report {
            dashboard: "llm-platform-overview".to_owned(),
            title: Some("Team <KPIs> & \"more\"".to_owned()),
            panels: vec![
                PanelReport {
                    id: Some(1),
                    title: "Active Models".to_owned(),
                    kind: "stat".to_owned(),
                    row: Some("Overview".to_owned()),
                    status: Status::Ok,
                    reducer: Some("lastNotNull".to_owned()),
                    series: vec![SeriesValue {
                        name: "Active models".to_owned(),
                        value: Some(4.0),
                        text: "4".to_owned(),
                        color: Some("green".to_owned()),
                    }],
                    color: Some("green".to_owned()),
                    messages: vec![],
                    grid_pos: Some(GridPos {
                        x: 0,
                        y: 1,
                        w: 4,
                        h: 4,
                    }),
                    display: Display {
                        unit: Some("short".to_owned()),
                        thresholds: Some(Thresholds {
                            mode: ThresholdMode::Absolute,
                            steps: vec![
                                Step {
                                    color: "red".to_owned(),
                                    value: None,
                                },
                                Step {
                                    color: "green".to_owned(),
                                    value: Some(4.0),
                                },
                            ],
                        }),
                        ..Display::default()
                    },
                    targets: vec![TargetData {
                        ref_id: "A".to_owned(),
                        error: None,
                        series: vec![SeriesData {
                            name: "Active models".to_owned(),
                            labels: BTreeMap::new(),
                            points: vec![(1_700_000_000.0, 3.0), (1_700_000_015.0, 4.0)],
                        }],
                    }],
                    lines: vec![],
                },
                PanelReport {
                    id: Some(11),
                    title: "P95 <E2E> & 'Latency'".to_owned(),
                    kind: "timeseries".to_owned(),
                    row: Some("Quantization".to_owned()),
                    status: Status::ExpectationFailed,
                    reducer: Some("lastNotNull".to_owned()),
                    series: vec![
                        SeriesValue {
                            name: "AWQ".to_owned(),
                            value: Some(1.47),
                            text: "1.47 s".to_owned(),
                            color: None,
                        },
                        SeriesValue {
                            name: "FP16".to_owned(),
                            value: Some(f64::NAN),
                            text: "NaN".to_owned(),
                            color: None,
                        },
                    ],
                    color: None,
                    messages: vec![],
                    grid_pos: Some(GridPos {
                        x: 0,
                        y: 6,
                        w: 12,
                        h: 8,
                    }),
                    display: Display {
                        unit: Some("s".to_owned()),
                        thresholds: Some(Thresholds {
                            mode: ThresholdMode::Absolute,
                            steps: vec![
                                Step {
                                    color: "green".to_owned(),
                                    value: None,
                                },
                                Step {
                                    color: "red".to_owned(),
                                    value: Some(2.0),
                                },
                            ],
                        }),
                        thresholds_style: Some("dashed".to_owned()),
                        ..Display::default()
                    },
                    targets: vec![
                        TargetData {
                            ref_id: "A".to_owned(),
                            error: None,
                            series: vec![SeriesData {
                                name: "AWQ".to_owned(),
                                labels: [("model".to_owned(), "awq".to_owned())].into(),
                                points: vec![(1_700_000_000.0, 1.5), (1_700_000_015.0, f64::NAN)],
                            }],
                        },
                        TargetData {
                            ref_id: "B".to_owned(),
                            error: None,
                            series: vec![SeriesData {
                                name: "FP16".to_owned(),
                                labels: BTreeMap::new(),
                                points: vec![(1_700_000_000.0, 2.5), (1_700_000_015.0, 2.0)],
                            }],
                        },
                    ],
                    lines: vec![],
                },
                PanelReport {
                    id: Some(51),
                    title: "Logs".to_owned(),
                    kind: "logs".to_owned(),
                    row: None,
                    status: Status::Skipped("Loki; pass --loki-datasource URL".to_owned()),
                    reducer: None,
                    series: vec![],
                    color: None,
                    messages: vec![],
                    grid_pos: Some(GridPos {
                        x: 12,
                        y: 6,
                        w: 12,
                        h: 8,
                    }),
                    display: Display::default(),
                    targets: vec![TargetData {
                        ref_id: "A".to_owned(),
                        error: Some("not queried: no Loki given".to_owned()),
                        series: vec![],
                    }],
                    lines: vec![
                        LogLine {
                            time: 1_700_000_010.0,
                            labels: [("app".to_owned(), "bench".to_owned())].into(),
                            line: "<b>done</b> & \"ok\"".to_owned(),
                        },
                        LogLine {
                            time: 1_700_000_001.0,
                            labels: [("app".to_owned(), "bench".to_owned())].into(),
                            line: "start".to_owned(),
                        },
                    ],
                },
                PanelReport {
                    id: Some(52),
                    title: "Broken".to_owned(),
                    kind: "table".to_owned(),
                    row: None,
                    status: Status::Error,
                    reducer: None,
                    series: vec![],
                    color: None,
                    messages: vec!["target A: bad_data: parse error: unexpected \"<\"".to_owned()],
                    grid_pos: None,
                    display: Display::default(),
                    targets: vec![TargetData {
                        ref_id: "A".to_owned(),
                        error: Some("bad_data: parse error: unexpected \"<\"".to_owned()),
                        series: vec![],
                    }],
                    lines: vec![],
                },
            ],
            drift: vec![super::super::Drift {
                panel: 1,
                ref_id: "A".to_owned(),
                old: "vllm:gpu_cache_usage_perc".to_owned(),
                new: "vllm:kv_cache_usage_perc".to_owned(),
                status: DriftStatus::Gone,
                history: "renamed in 0.9.2".to_owned(),
                query: "vllm:gpu_cache_usage_perc * 100".to_owned(),
                suggested: Some("vllm:kv_cache_usage_perc * 100".to_owned()),
                answer: Ok(4),
            }],
            drift_error: None,
            unreachable: None,
            alerts: None,
            window: Some(Window {
                from_ms: 1_700_000_000_000,
                to_ms: 1_700_001_800_000,
            }),
            scenario: Some("healthy".to_owned()),
            expectations: vec![
                ExpectationReport {
                    panel: Some(1),
                    panel_ref: "panel 11".to_owned(),
                    note: "AWQ < FP16 & \"fast\"".to_owned(),
                    outcome: Outcome::Failed,
                    message: "ratio 0.9, want at most 0.8".to_owned(),
                },
                ExpectationReport {
                    panel: Some(0),
                    panel_ref: "panel \"Active Models\"".to_owned(),
                    note: "all up".to_owned(),
                    outcome: Outcome::Passed,
                    message: "lastNotNull=4 → green".to_owned(),
                },
                ExpectationReport {
                    panel: None,
                    panel_ref: "panel 99".to_owned(),
                    note: "gone".to_owned(),
                    outcome: Outcome::Failed,
                    message: "no such panel in the dashboard".to_owned(),
                },
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_counts_panels_and_expectations() {
        let s = sample::report().summary();
        assert_eq!(
            s,
            Summary {
                ok: 2,
                failed: 4,
                skipped: 1
            }
        );
        assert_eq!(s.total(), 7);
    }

    #[test]
    fn drift_is_a_markdown_table() {
        let table = sample::report().drift_table();
        assert_eq!(
            table,
            "Metric drift: 1 queries name vLLM metrics this fleet has dropped, 0 name deprecated ones\n\n\
             | Panel | Target | Old metric | New metric | Status | Suggested PromQL | Answers |\n\
             |---|---|---|---|---|---|---|\n\
             | panel 11 \"P95 <E2E> & 'Latency'\" | A | `vllm:gpu_cache_usage_perc` | `vllm:kv_cache_usage_perc` \
             | gone (renamed in 0.9.2) | `vllm:kv_cache_usage_perc * 100` | 4 series |\n"
        );
        let none = Report {
            drift: vec![],
            ..sample::report()
        };
        assert_eq!(none.drift_table(), "");
        assert!(none.render(Format::Table).contains("checks:"));
        assert!(
            sample::report()
                .render(Format::Table)
                .contains("| `vllm:kv_cache_usage_perc * 100` | 4 series |")
        );
        assert!(
            sample::report()
                .render(Format::Junit)
                .contains("<system-out>Metric drift: 1 queries")
        );
    }

    #[test]
    fn values_line() {
        let r = sample::report();
        assert_eq!(r.panels[0].values_line(8), "Active models=4; green");
        assert_eq!(r.panels[1].values_line(1), "AWQ=1.47 s … 1 more");
    }

    #[test]
    fn describe_names_the_panel() {
        let r = sample::report();
        assert_eq!(
            r.expectations[1].describe(&r),
            "panel 1 \"Active Models\": all up: lastNotNull=4 → green"
        );
        assert_eq!(
            r.expectations[2].describe(&r),
            "panel 99: gone: no such panel in the dashboard"
        );
    }
}
