//! A run against real servers: plan the dashboard, ask Prometheus (and Loki, when
//! given) every query once, then judge the answers with [`evaluate`].

use std::collections::BTreeMap;

use super::dashboard::Dashboard;
use super::drift;
use super::evaluate::{Answers, QueryKey, evaluate};
use super::expect::Expectation;
use super::loki_api::{Loki, LokiQuery};
use super::plan::{Action, PanelPlan, QueryKind, Settings, plan};
use super::prom_api::{ApiError, Prometheus, Series};
use super::report::Report;

/// The servers a run asks.
#[derive(Clone, Debug)]
pub struct Sources {
    /// The Prometheus behind the dashboard's Prometheus datasource.
    pub prometheus: Prometheus,
    /// The Loki behind its Loki datasource; Loki panels are skipped without one.
    pub loki: Option<Loki>,
}

/// Checks every panel of `dashboard` against `sources`, and `expectations` on top,
/// and looks for queries of renamed or dropped vLLM metrics.
pub fn verify(
    dashboard: &Dashboard,
    settings: &Settings,
    sources: &Sources,
    expectations: &[Expectation],
) -> Report {
    let plans = plan(dashboard, settings);
    let answers = fetch(&plans, sources);
    let mut report = evaluate(dashboard, settings, &answers, expectations);
    match drift::find(dashboard, &plans, settings, &sources.prometheus) {
        Ok(found) => report.drift = found,
        Err(e) => report.drift_error = Some(format!("metric drift not checked: {e}")),
    }
    report
}

/// Runs every planned query, each distinct one once; Loki queries only with a
/// Loki server.
pub fn fetch(plans: &[PanelPlan<'_>], sources: &Sources) -> Answers {
    let mut answers = Answers::new();
    let mut asked: BTreeMap<String, Result<Vec<Series>, ApiError>> = BTreeMap::new();
    for p in plans {
        let Action::Run(queries) = &p.action else {
            continue;
        };
        for q in queries {
            let is_loki = matches!(q.kind, QueryKind::Loki { .. });
            if is_loki && sources.loki.is_none() {
                continue;
            }
            let key = format!("{:?}\u{0}{}", q.kind, q.expr);
            let answer = asked
                .entry(key)
                .or_insert_with(|| ask(sources, &q.kind, &q.expr))
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

fn ask(sources: &Sources, kind: &QueryKind, expr: &str) -> Result<Vec<Series>, ApiError> {
    match kind {
        QueryKind::Range { start, end, step } => {
            sources.prometheus.query_range(expr, *start, *end, *step)
        }
        QueryKind::Instant { time } => sources.prometheus.query(expr, *time),
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
            None => Err(ApiError::Decode("no Loki server given".to_owned())),
        },
    }
}
