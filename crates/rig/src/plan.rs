//! What Grafana would ask its datasources for each panel: the datasource check,
//! interpolation, and each target's query (range or instant, start, end, step).
//!
//! Pure: no network. A panel's plan is to run its queries, to skip it (no queries,
//! or a datasource the rig does not check), or to report it invalid (a datasource
//! that is not the Prometheus under test, a bad interval, an uninterpolated `$__`).

use super::dashboard::{Dashboard, DataSourceRef, Panel, Target};
use super::interpolate::{Scope, interpolate, variables};
use super::interval::{IntervalInputs, Intervals};

/// How a run is set up.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// Start of the dashboard range, Unix milliseconds.
    pub from_ms: i64,
    /// End of the dashboard range, Unix milliseconds.
    pub to_ms: i64,
    /// The Prometheus datasource's scrape interval (`jsonData.timeInterval`), ms.
    pub scrape_interval_ms: i64,
    /// The uid the dashboard's Prometheus targets must use.
    pub datasource_uid: String,
}

/// One panel and what to do with it.
#[derive(Clone, Debug)]
pub struct PanelPlan<'a> {
    /// The panel's position in [`Dashboard::panels`].
    pub index: usize,
    /// The panel.
    pub panel: &'a Panel,
    /// The title of its row.
    pub row: Option<&'a str>,
    /// What to do.
    pub action: Action,
}

/// What to do with a panel.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Nothing to check, and why.
    Skip(String),
    /// The panel is wrong before any query runs; the messages say how.
    Invalid(Vec<String>),
    /// Run these queries.
    Run(Vec<Query>),
}

/// One query to run.
#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    /// The target's position in the panel's `targets`.
    pub target: usize,
    /// The target's `refId`.
    pub ref_id: String,
    /// The interpolated expression.
    pub expr: String,
    /// The expression as Grafana's frontend sends it to its backend: dashboard
    /// variables, `$__from` and `$__to` replaced, the interval macros
    /// (`$__rate_interval` and friends) left for the backend.
    pub grafana_expr: String,
    /// The uid of the datasource it goes to.
    pub datasource_uid: String,
    /// The target's `legendFormat`.
    pub legend: Option<String>,
    /// How to run it.
    pub kind: QueryKind,
}

/// How to run a query; times in Unix seconds.
#[derive(Clone, Debug, PartialEq)]
pub enum QueryKind {
    /// Prometheus `query_range`, start and end aligned to the step as Grafana does.
    Range {
        /// Start.
        start: f64,
        /// End.
        end: f64,
        /// Step, seconds.
        step: f64,
    },
    /// Prometheus instant `query`.
    Instant {
        /// Evaluation time.
        time: f64,
    },
    /// Loki `query_range`.
    Loki {
        /// Start.
        start: f64,
        /// End.
        end: f64,
        /// Step for metric queries, seconds.
        step: f64,
        /// Line limit.
        limit: u64,
        /// `backward` or `forward`.
        direction: String,
    },
}

/// Where a target's queries go.
enum Source {
    Prometheus,
    /// A Loki datasource, by uid.
    Loki(String),
    Unchecked(String),
    Wrong(String),
}

/// Plans every panel of `dashboard`, in [`Dashboard::panels`] order.
pub fn plan<'a>(dashboard: &'a Dashboard, settings: &Settings) -> Vec<PanelPlan<'a>> {
    dashboard
        .panels()
        .into_iter()
        .enumerate()
        .map(|(index, placed)| PanelPlan {
            index,
            panel: placed.panel,
            row: placed.row,
            action: plan_panel(dashboard, placed.panel, settings),
        })
        .collect()
}

/// What to do with one panel.
pub(super) fn plan_panel(dashboard: &Dashboard, panel: &Panel, settings: &Settings) -> Action {
    if panel.targets.is_empty() {
        return Action::Skip(if panel.library_panel.is_some() {
            "library panel: its queries are not in the dashboard".to_owned()
        } else {
            "no queries".to_owned()
        });
    }
    let scope = Scope {
        dashboard,
        datasource_uid: &settings.datasource_uid,
        from_ms: settings.from_ms,
        to_ms: settings.to_ms,
    };
    let mut queries = Vec::new();
    let mut problems = Vec::new();
    let mut unchecked = Vec::new();
    for (i, target) in panel.targets.iter().enumerate() {
        let Some(expr) = target.expr.as_deref().filter(|e| !e.trim().is_empty()) else {
            continue;
        };
        if target.hide == Some(true) {
            continue;
        }
        let ref_id = if target.ref_id.is_empty() {
            format!("#{i}")
        } else {
            target.ref_id.clone()
        };
        let source = source(dashboard, panel, target, settings);
        let (loki, datasource_uid) = match source {
            Source::Prometheus => (false, settings.datasource_uid.clone()),
            Source::Loki(uid) => (true, uid),
            Source::Unchecked(kind) => {
                unchecked.push(kind);
                continue;
            }
            Source::Wrong(m) => {
                problems.push(format!("{}: target {ref_id}: {m}", panel.label()));
                continue;
            }
        };
        match query(panel, target, expr, loki, settings, &scope) {
            Ok(kind_expr) => queries.push(Query {
                target: i,
                ref_id,
                expr: kind_expr.1,
                grafana_expr: variables(expr, &scope),
                datasource_uid,
                legend: target.legend_format.clone(),
                kind: kind_expr.0,
            }),
            Err(m) => problems.push(format!("{}: target {ref_id}: {m}", panel.label())),
        }
    }
    if !problems.is_empty() {
        Action::Invalid(problems)
    } else if !queries.is_empty() {
        Action::Run(queries)
    } else if let Some(kind) = unchecked.first() {
        Action::Skip(format!("datasource type '{kind}' is not checked"))
    } else {
        Action::Skip("no queries (every target is hidden or empty)".to_owned())
    }
}

fn query(
    panel: &Panel,
    target: &Target,
    expr: &str,
    loki: bool,
    settings: &Settings,
    scope: &Scope<'_>,
) -> Result<(QueryKind, String), String> {
    let panel_interval = panel.interval.as_deref().map(|s| variables(s, scope));
    let target_interval = target.interval.as_deref().map(|s| variables(s, scope));
    let intervals = Intervals::compute(&IntervalInputs {
        range_ms: settings.to_ms - settings.from_ms,
        scrape_ms: settings.scrape_interval_ms,
        max_data_points: panel.max_data_points,
        panel_interval: panel_interval.as_deref(),
        target_interval: target_interval.as_deref(),
    })
    .map_err(|e| e.to_string())?;
    let expr = interpolate(expr, &intervals, scope).map_err(|e| e.to_string())?;
    let seconds = |ms: i64| ms as f64 / 1000.0;
    let step = intervals.step_ms.max(1);
    let kind = if loki {
        QueryKind::Loki {
            start: seconds(settings.from_ms),
            end: seconds(settings.to_ms),
            step: seconds(step),
            limit: target.max_lines.unwrap_or(1000),
            direction: target
                .direction
                .clone()
                .unwrap_or_else(|| "backward".to_owned()),
        }
    } else if instant(panel, target) {
        QueryKind::Instant {
            time: seconds(settings.to_ms),
        }
    } else {
        // Grafana aligns both ends down to a multiple of the step.
        let align = |ms: i64| seconds(ms.div_euclid(step) * step);
        QueryKind::Range {
            start: align(settings.from_ms),
            end: align(settings.to_ms),
            step: seconds(step),
        }
    };
    Ok((kind, expr))
}

/// Table panels, table-format targets and instant-only targets run instant queries.
fn instant(panel: &Panel, target: &Target) -> bool {
    panel.kind == "table"
        || target.format.as_deref() == Some("table")
        || (target.instant == Some(true) && target.range != Some(true))
}

/// Which datasource a target's query goes to: its own, else the panel's (unless
/// the panel's is `-- Mixed --`), else the default, taken to be the Prometheus.
fn source(dashboard: &Dashboard, panel: &Panel, target: &Target, settings: &Settings) -> Source {
    let mixed = |d: &&DataSourceRef| d.uid.as_deref() == Some("-- Mixed --");
    let ds = target
        .datasource
        .as_ref()
        .or_else(|| panel.datasource.as_ref().filter(|d| !mixed(d)));
    let Some(ds) = ds else {
        return Source::Prometheus;
    };
    let want = settings.datasource_uid.as_str();
    let uid = ds.uid.as_deref().filter(|u| !u.is_empty());
    if let Some(name) = uid.and_then(variable_name) {
        let Some(var) = dashboard.variable(name).filter(|v| v.kind == "datasource") else {
            return Source::Wrong(format!(
                "datasource uid '{}' is not a datasource variable of the dashboard",
                uid.unwrap_or_default()
            ));
        };
        let plugin = var.query.as_str().unwrap_or_default();
        let kind = ds
            .kind
            .as_deref()
            .filter(|k| !k.is_empty())
            .unwrap_or(plugin);
        return match kind {
            "loki" => Source::Loki(
                var.values()
                    .first()
                    .cloned()
                    .unwrap_or_else(|| "loki".to_owned()),
            ),
            "prometheus" => match var.values().first().map(String::as_str) {
                None | Some("default") => Source::Prometheus,
                Some(v) if v == want => Source::Prometheus,
                Some(v) => Source::Wrong(format!(
                    "datasource uid '{}' resolves to '{v}', not the Prometheus datasource '{want}'",
                    uid.unwrap_or_default()
                )),
            },
            other => Source::Unchecked(other.to_owned()),
        };
    }
    match ds.kind.as_deref().unwrap_or("prometheus") {
        "loki" => Source::Loki(uid.unwrap_or("loki").to_owned()),
        "prometheus" | "" => match uid {
            None => Source::Prometheus,
            Some(u) if u == want => Source::Prometheus,
            Some(u) => Source::Wrong(format!(
                "datasource uid '{u}' is not the Prometheus datasource '{want}'"
            )),
        },
        other => Source::Unchecked(other.to_owned()),
    }
}

/// The variable a uid names: `$x`, `${x}`, `${x:fmt}` or `[[x]]`.
fn variable_name(uid: &str) -> Option<&str> {
    let name = if let Some(inner) = uid.strip_prefix("${").and_then(|s| s.strip_suffix('}')) {
        inner.split(':').next().unwrap_or(inner)
    } else if let Some(inner) = uid.strip_prefix("[[").and_then(|s| s.strip_suffix("]]")) {
        inner
    } else {
        uid.strip_prefix('$')?
    };
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dashboard;

    fn settings() -> Settings {
        Settings {
            from_ms: 1_700_000_007_000,
            to_ms: 1_700_003_607_000,
            scrape_interval_ms: 15_000,
            datasource_uid: "prometheus".to_owned(),
        }
    }

    fn actions(json: &str) -> Vec<Action> {
        let d = dashboard::parse(json).unwrap();
        plan(&d, &settings())
            .into_iter()
            .map(|p| p.action)
            .collect()
    }

    fn one(panel: &str) -> Action {
        let json = format!(
            r#"{{"templating": {{"list": [
                 {{"name": "datasource", "type": "datasource", "query": "prometheus"}},
                 {{"name": "other", "type": "datasource", "query": "prometheus", "current": {{"value": "thanos"}}}},
                 {{"name": "logs", "type": "datasource", "query": "loki"}}]}},
               "panels": [{panel}]}}"#
        );
        actions(&json).remove(0)
    }

    #[test]
    fn range_query_with_grafana_step_and_alignment() {
        let a = one(
            r#"{"type": "timeseries", "id": 1, "title": "T", "datasource": {"type": "prometheus", "uid": "prometheus"},
                "targets": [{"refId": "A", "expr": "rate(x[$__rate_interval])", "legendFormat": "L"}]}"#,
        );
        let Action::Run(q) = a else { panic!("{a:?}") };
        assert_eq!(q[0].expr, "rate(x[1m0s])");
        assert_eq!(q[0].grafana_expr, "rate(x[$__rate_interval])");
        assert_eq!(q[0].legend.as_deref(), Some("L"));
        assert_eq!(
            q[0].kind,
            QueryKind::Range {
                start: 1_699_999_995.0,
                end: 1_700_003_595.0,
                step: 15.0
            }
        );
    }

    #[test]
    fn grafana_gets_variables_replaced_and_interval_macros_left() {
        let a = actions(
            r#"{"templating": {"list": [{"name": "app", "type": "custom", "current": {"value": "awq"}}]},
                "panels": [{"type": "stat", "targets": [{"refId": "A",
                  "expr": "sum(rate(x{app=\"$app\"}[$__rate_interval])) @ ${__to:date:seconds}"}]}]}"#,
        );
        let Action::Run(q) = &a[0] else {
            panic!("{a:?}")
        };
        assert_eq!(
            q[0].grafana_expr,
            "sum(rate(x{app=\"awq\"}[$__rate_interval])) @ 1700003607"
        );
        assert_eq!(q[0].expr, "sum(rate(x{app=\"awq\"}[1m0s])) @ 1700003607");
    }

    #[test]
    fn instant_for_tables_and_instant_targets() {
        for panel in [
            r#"{"type": "table", "targets": [{"refId": "A", "expr": "x"}]}"#,
            r#"{"type": "timeseries", "targets": [{"refId": "A", "expr": "x", "format": "table"}]}"#,
            r#"{"type": "stat", "targets": [{"refId": "A", "expr": "x", "instant": true, "range": false}]}"#,
        ] {
            let Action::Run(q) = one(panel) else {
                panic!("{panel}")
            };
            assert_eq!(
                q[0].kind,
                QueryKind::Instant {
                    time: 1_700_003_607.0
                },
                "{panel}"
            );
        }
        let Action::Run(q) =
            one(r#"{"type": "stat", "targets": [{"expr": "x", "instant": true, "range": true}]}"#)
        else {
            panic!()
        };
        assert!(matches!(q[0].kind, QueryKind::Range { .. }));
    }

    #[test]
    fn datasource_checks() {
        let wrong = one(
            r#"{"type": "stat", "id": 7, "title": "Bad", "datasource": {"type": "prometheus", "uid": "thanos"},
                "targets": [{"refId": "A", "expr": "x"}]}"#,
        );
        assert_eq!(
            wrong,
            Action::Invalid(vec![
                "panel 7 \"Bad\": target A: datasource uid 'thanos' is not the Prometheus datasource 'prometheus'"
                    .to_owned()
            ])
        );
        // The target's datasource overrides the panel's.
        let ok = one(
            r#"{"type": "stat", "datasource": {"type": "prometheus", "uid": "thanos"},
                "targets": [{"refId": "A", "expr": "x", "datasource": {"type": "prometheus", "uid": "${datasource}"}}]}"#,
        );
        assert!(matches!(ok, Action::Run(_)), "{ok:?}");
        let via_var = one(
            r#"{"type": "stat", "datasource": {"type": "prometheus", "uid": "$other"}, "targets": [{"expr": "x"}]}"#,
        );
        let Action::Invalid(m) = via_var else {
            panic!("{via_var:?}")
        };
        assert!(m[0].ends_with("datasource uid '$other' resolves to 'thanos', not the Prometheus datasource 'prometheus'"), "{m:?}");
        let unknown_var = one(
            r#"{"type": "stat", "datasource": {"uid": "${DS_PROMETHEUS}"}, "targets": [{"expr": "x"}]}"#,
        );
        assert!(matches!(unknown_var, Action::Invalid(_)), "{unknown_var:?}");
        let default = one(r#"{"type": "stat", "targets": [{"expr": "x"}]}"#);
        assert!(matches!(default, Action::Run(_)));
    }

    #[test]
    fn loki_and_other_datasources() {
        let Action::Run(q) = one(
            r#"{"type": "logs", "datasource": {"type": "loki", "uid": "loki"},
                "targets": [{"refId": "A", "expr": "{a=\"b\"}", "maxLines": 50}]}"#,
        ) else {
            panic!()
        };
        assert!(
            matches!(&q[0].kind, QueryKind::Loki { limit: 50, direction, .. } if direction == "backward")
        );
        let Action::Run(q) = one(
            r#"{"type": "logs", "datasource": {"uid": "$logs"}, "targets": [{"expr": "{a=\"b\"}"}]}"#,
        ) else {
            panic!()
        };
        assert!(matches!(q[0].kind, QueryKind::Loki { .. }));
        assert_eq!(
            one(
                r#"{"type": "stat", "datasource": {"type": "testdata", "uid": "t"}, "targets": [{"refId": "A"}, {"expr": "x"}]}"#
            ),
            Action::Skip("datasource type 'testdata' is not checked".to_owned())
        );
    }

    #[test]
    fn skips_rows_hidden_and_empty() {
        assert_eq!(
            one(r#"{"type": "text", "title": "Notes"}"#),
            Action::Skip("no queries".to_owned())
        );
        assert_eq!(
            one(r#"{"type": "stat", "targets": [{"expr": "x", "hide": true}, {"expr": " "}]}"#),
            Action::Skip("no queries (every target is hidden or empty)".to_owned())
        );
        let Action::Run(q) = one(
            r#"{"type": "stat", "targets": [{"refId": "A", "expr": "x", "hide": true}, {"refId": "B", "expr": "y"}]}"#,
        ) else {
            panic!()
        };
        assert_eq!((q.len(), q[0].target, q[0].ref_id.as_str()), (1, 1, "B"));
    }

    #[test]
    fn leftover_macros_name_the_panel() {
        let a = one(
            r#"{"type": "stat", "id": 3, "title": "S", "targets": [{"refId": "A", "expr": "x[$__auto]"}]}"#,
        );
        assert_eq!(
            a,
            Action::Invalid(vec![
                "panel 3 \"S\": target A: `$__auto` is left after interpolation in `x[$__auto]`"
                    .to_owned()
            ])
        );
    }

    #[test]
    fn the_shipped_dashboard_plans_cleanly() {
        let d = dashboard::parse(include_str!(
            "../../../dashboard/llm-platform-overview.json"
        ))
        .unwrap();
        for p in plan(&d, &settings()) {
            match &p.action {
                Action::Run(_) => {}
                other => panic!("{}: {other:?}", p.panel.label()),
            }
        }
    }
}
