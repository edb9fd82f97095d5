//! A run against real servers: plan the dashboard, ask Prometheus (and Loki, when
//! given) every query once, then judge the answers with
//! [`evaluate`](mod@super::evaluate); and, with rule files, ask each alerting rule's
//! expression over the window ([`alerts`]).

use std::collections::BTreeMap;
use std::time::Duration;

use super::alert_check;
use super::alerting::{episodes, evaluation_times};
use super::answer::{ApiError, Series};
use super::dashboard::Dashboard;
use super::drift;
use super::evaluate::{Answers, QueryKey, judge};
use super::expect::AlertExpectation;
use super::expect::Expectation;
use super::grafana_api::{DsQuery, Grafana};
use super::loki_api::{Loki, LokiQuery};
use super::plan::{Action, PanelPlan, Query, QueryKind, Settings, plan};
use super::prom_api::Prometheus;
use super::releases::Releases;
use super::report::{AlertTimeline, AlertsReport, Report};
use super::rules::{self, RuleSet};

/// The servers a run asks.
#[derive(Clone, Debug)]
pub struct Sources {
    /// The Prometheus behind the dashboard's Prometheus datasource.
    pub prometheus: Option<Prometheus>,
    /// The Loki behind its Loki datasource; Loki panels are skipped without one (or
    /// Grafana).
    pub loki: Option<Loki>,
    /// A Grafana holding the datasources: when given, every query goes through it.
    pub grafana: Option<Grafana>,
}

/// Checks every panel of `dashboard` against `sources`, and `expectations` on top,
/// and looks for queries of renamed or dropped vLLM metrics, telling each one's
/// history from `releases`.
pub fn verify(
    dashboard: &Dashboard,
    settings: &Settings,
    sources: &Sources,
    expectations: &[Expectation],
    releases: &Releases,
) -> Report {
    if let Some(unreachable) = unreachable(sources, settings) {
        return Report {
            dashboard: dashboard.name().to_owned(),
            title: dashboard.title.clone(),
            unreachable: Some(unreachable),
            ..Report::default()
        };
    }
    let plans = plan(dashboard, settings);
    let answers = fetch(&plans, sources);
    let mut report = judge(dashboard, settings, &plans, &answers, expectations);
    let names = sources.prometheus.clone().or_else(|| {
        let g = sources.grafana.as_ref()?;
        Some(g.prometheus_proxy(&settings.datasource_uid, NAMES_TIMEOUT))
    });
    let Some(names) = names else {
        return report;
    };
    match drift::find(dashboard, &plans, settings, &names, releases) {
        Ok(found) => report.drift = found,
        Err(e) => report.drift_error = Some(format!("metric drift not checked: {e}")),
    }
    report
}

/// Evaluates every alerting rule of `rules` over the window of `settings` as a rule
/// manager started at its start would: one range query per rule, its step the
/// group's interval (`interval_ms` when given, else the group's own, else
/// [`rules::DEFAULT_INTERVAL_MS`]) and its times the evaluation times. Checks that the
/// recorded series the alerts read are there, and, when the scenario lists its
/// alerts (`expectations`), checks them.
pub fn alerts(
    rules: &RuleSet,
    settings: &Settings,
    sources: &Sources,
    interval_ms: Option<u64>,
    expectations: Option<&[AlertExpectation]>,
) -> AlertsReport {
    let mut report = AlertsReport {
        files: rules.files.clone(),
        start_ms: settings.from_ms,
        ..AlertsReport::default()
    };
    let prometheus = sources.prometheus.clone().or_else(|| {
        let g = sources.grafana.as_ref()?;
        Some(g.prometheus_proxy(&settings.datasource_uid, NAMES_TIMEOUT))
    });
    let Some(prometheus) = prometheus else {
        report
            .errors
            .push("alerting rules need a Prometheus (--prometheus or --grafana)".to_owned());
        return report;
    };
    let (from, to) = (
        settings.from_ms as f64 / 1000.0,
        settings.to_ms as f64 / 1000.0,
    );
    let read: Vec<_> = rules
        .records()
        .filter(|(_, r)| {
            rules
                .alerts()
                .any(|(_, a)| rules::names_series(&a.expr, &r.name))
        })
        .collect();
    if !read.is_empty() {
        match prometheus.metric_names(from, to) {
            Ok(names) => {
                for (group, r) in read.iter().filter(|(_, r)| !names.contains(&r.name)) {
                    report.errors.push(format!(
                        "{}: recorded series {} (group {}), which alerts read, has no samples in the window: \
                         load the rules into Prometheus (rule_files), or backfill them \
                         (promtool tsdb create-blocks-from rules)",
                        r.at, r.name, group.name
                    ));
                }
            }
            Err(e) => report.errors.push(format!(
                "cannot list the series in the window to find the recorded ones: {e}"
            )),
        }
    }
    for (group, rule) in rules.alerts() {
        let interval = interval_ms
            .or(group.interval_ms)
            .unwrap_or(rules::DEFAULT_INTERVAL_MS);
        let mut timeline = AlertTimeline {
            alert: rule.name.clone(),
            group: group.name.clone(),
            at: rule.at.clone(),
            interval_ms: interval,
            first_ms: settings.from_ms,
            last_ms: settings.to_ms,
            episodes: Vec::new(),
            error: None,
        };
        let Some((first, last)) = evaluation_times(settings.from_ms, settings.to_ms, interval)
        else {
            timeline.error = Some(format!(
                "{}: no evaluation every {} falls in the window",
                rule.at,
                rules::format_duration(interval)
            ));
            report.timelines.push(timeline);
            continue;
        };
        (timeline.first_ms, timeline.last_ms) = (first, last);
        let step = interval as f64 / 1000.0;
        let answer = prometheus.query_range(
            &rule.expr,
            first as f64 / 1000.0,
            last as f64 / 1000.0,
            step,
        );
        let evaluated = answer
            .map_err(|e| e.to_string())
            .and_then(|series| episodes(rule, &series, first, last, interval));
        match evaluated {
            Ok(found) => timeline.episodes = found,
            Err(e) => {
                timeline.error = Some(format!(
                    "{}: alert {} (group {}): {e}",
                    rule.at, rule.name, group.name
                ))
            }
        }
        report.timelines.push(timeline);
    }
    if let Some(expectations) = expectations {
        report.checks = alert_check::check(&report.timelines, expectations, settings.from_ms);
    }
    report
}

/// Every alert `expectations` name that no rule of `rules` defines, as an error naming
/// where the scenario names it.
pub fn unknown_alerts(rules: &RuleSet, expectations: &[AlertExpectation]) -> Vec<String> {
    let defined: Vec<&str> = rules.alerts().map(|(_, a)| a.name.as_str()).collect();
    expectations
        .iter()
        .filter(|e| rules.alert(&e.alert).is_none())
        .map(|e| {
            format!(
                "{}.alert: no alerting rule named {} in {} (they define {})",
                e.origin,
                e.alert,
                rules.files.join(", "),
                defined.join(", ")
            )
        })
        .collect()
}

/// The first given server that cannot be reached at all (refused, unresolvable,
/// timed out), asked once with a query every server answers, and why; an error in
/// the answer is left to the panels.
fn unreachable(sources: &Sources, settings: &Settings) -> Option<String> {
    let time = settings.to_ms as f64 / 1000.0;
    let refused = |what: &str, answer: Result<Vec<Series>, ApiError>| match answer {
        Err(e @ ApiError::Transport { .. }) => Some(format!("{what}: {e}")),
        _ => None,
    };
    if let Some(grafana) = &sources.grafana {
        let probe = grafana.query(&DsQuery {
            datasource_type: "prometheus",
            datasource_uid: &settings.datasource_uid,
            expr: "vector(1)",
            legend_format: None,
            kind: &QueryKind::Instant { time },
            max_data_points: None,
        });
        return refused("Grafana", probe);
    }
    let prometheus = sources.prometheus.as_ref()?;
    refused("Prometheus", prometheus.query("vector(1)", time))
}

/// How long the metric-name lookup through Grafana's proxy may take.
const NAMES_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs every planned query, each distinct one once; Loki queries only with a
/// Loki server (or Grafana).
pub fn fetch(plans: &[PanelPlan<'_>], sources: &Sources) -> Answers {
    let mut answers = Answers::new();
    let mut asked: BTreeMap<String, Result<Vec<Series>, ApiError>> = BTreeMap::new();
    for p in plans {
        let Action::Run(queries) = &p.action else {
            continue;
        };
        for q in queries {
            let is_loki = matches!(q.kind, QueryKind::Loki { .. });
            if is_loki && sources.loki.is_none() && sources.grafana.is_none() {
                continue;
            }
            let key = format!(
                "{:?}\u{0}{}\u{0}{}\u{0}{}",
                q.kind, q.expr, q.grafana_expr, q.datasource_uid
            );
            let answer = asked
                .entry(key)
                .or_insert_with(|| ask(sources, q, p.panel.max_data_points))
                .clone();
            answers.insert(
                QueryKey {
                    panel: p.index,
                    target: q.target,
                },
                answer,
            );
        }
    }
    answers
}

fn ask(
    sources: &Sources,
    q: &Query,
    max_data_points: Option<f64>,
) -> Result<Vec<Series>, ApiError> {
    let (kind, expr) = (&q.kind, q.expr.as_str());
    if let Some(grafana) = &sources.grafana {
        let loki = matches!(kind, QueryKind::Loki { .. });
        return grafana.query(&DsQuery {
            datasource_type: if loki { "loki" } else { "prometheus" },
            datasource_uid: &q.datasource_uid,
            expr: &q.grafana_expr,
            legend_format: q.legend.as_deref(),
            kind,
            max_data_points,
        });
    }
    let no_prometheus = || ApiError::NoServer("Prometheus");
    match kind {
        QueryKind::Range { start, end, step } => sources
            .prometheus
            .as_ref()
            .ok_or_else(no_prometheus)?
            .query_range(expr, *start, *end, *step),
        QueryKind::Instant { time } => sources
            .prometheus
            .as_ref()
            .ok_or_else(no_prometheus)?
            .query(expr, *time),
        QueryKind::Loki {
            start,
            end,
            step,
            limit,
            direction,
        } => match &sources.loki {
            Some(loki) => loki.query_range(&LokiQuery {
                expr,
                start: *start,
                end: *end,
                step: *step,
                limit: *limit,
                direction,
            }),
            None => Err(ApiError::NoServer("Loki")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dashboard;
    use crate::evaluate::tests::{BOARD, settings};
    use crate::report::Format;

    /// A Prometheus nobody answers at is one error up front, not a row per panel.
    #[test]
    fn an_unreachable_prometheus_is_one_error() {
        let d = dashboard::parse(BOARD).unwrap();
        let sources = Sources {
            prometheus: Some(Prometheus::new(
                "http://user:s3cr3t@127.0.0.1:9",
                Duration::from_secs(2),
            )),
            loki: None,
            grafana: None,
        };
        let releases = Releases::default();
        let r = verify(&d, &settings(), &sources, &[], &releases);
        let error = r.unreachable.clone().expect("unreachable");
        assert!(
            error.starts_with("Prometheus: cannot query http://127.0.0.1:9/"),
            "{error}"
        );
        assert!(r.panels.is_empty());
        assert_eq!(r.summary().failed, 1);
        for format in [Format::Table, Format::Json, Format::Junit, Format::Html] {
            let text = r.render(format);
            assert_eq!(text.matches("cannot query").count(), 1, "{text}");
            assert!(!text.contains("s3cr3t"), "{text}");
        }
    }
}
