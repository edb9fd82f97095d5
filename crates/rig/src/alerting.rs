//! An alerting rule evaluated as Prometheus's rule manager evaluates it (2.42,
//! `rules/alerting.go`), from the answers of its expression at each evaluation time:
//! each label set (the result's labels without `__name__`, then the rule's labels,
//! then `alertname`) pending from the first evaluation that returns it, firing once
//! pending for at least `for`, gone (resolved, when it fired) at the first evaluation
//! that no longer returns it, unless `keep_firing_for` keeps it firing. Pure.

use std::collections::{BTreeMap, BTreeSet};

use super::answer::Series;
use super::rules::AlertRule;

/// A label set.
pub type Labels = BTreeMap<String, String>;

/// The evaluation times of a group in `[from_ms, to_ms]`: every `interval_ms`, on
/// multiples of it (a rule manager started at `from_ms`). `None` when none falls in
/// the range.
pub fn evaluation_times(from_ms: i64, to_ms: i64, interval_ms: u64) -> Option<(i64, i64)> {
    let step = i64::try_from(interval_ms).ok().filter(|s| *s > 0)?;
    let first = from_ms.div_euclid(step) * step
        + if from_ms.rem_euclid(step) == 0 {
            0
        } else {
            step
        };
    let last = to_ms.div_euclid(step) * step;
    (first <= last).then_some((first, last))
}

/// One alert's life: from the evaluation that first returned its label set to the one
/// that let it go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Episode {
    /// Its labels, `alertname` included.
    pub labels: Labels,
    /// When it became active (pending), Unix ms.
    pub active_at_ms: i64,
    /// When it started firing, if it did.
    pub fired_at_ms: Option<i64>,
    /// The evaluation at which it was no longer active (resolved, if it fired);
    /// `None` when it still was at the last evaluation.
    pub ended_at_ms: Option<i64>,
}

/// An alert's state at one evaluation, as the `alertstate` label of `ALERTS` says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum State {
    /// Active for less than `for`.
    Pending,
    /// Active for `for` or more (or kept firing).
    Firing,
}

impl State {
    /// `pending` or `firing`.
    pub fn label(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Firing => "firing",
        }
    }
}

impl Episode {
    /// Its state at evaluation time `t_ms`, `None` when inactive then.
    pub fn state_at(&self, t_ms: i64) -> Option<State> {
        if t_ms < self.active_at_ms || self.ended_at_ms.is_some_and(|end| t_ms >= end) {
            return None;
        }
        match self.fired_at_ms {
            Some(fired) if t_ms >= fired => Some(State::Firing),
            _ => Some(State::Pending),
        }
    }

    /// Whether it fired, and whether every label of `wanted` is among its labels.
    pub fn matches(&self, wanted: &Labels) -> bool {
        wanted.iter().all(|(k, v)| self.labels.get(k) == Some(v))
    }
}

/// The episodes of `rule`, evaluated every `interval_ms` from `first_ms` to `last_ms`,
/// given its expression's range answer over those times (step `interval_ms`). An
/// evaluation whose answer holds one label set twice fails, as in Prometheus, and
/// that is the error.
pub fn episodes(
    rule: &AlertRule,
    answer: &[Series],
    first_ms: i64,
    last_ms: i64,
    interval_ms: u64,
) -> Result<Vec<Episode>, String> {
    let mut at: BTreeMap<i64, BTreeSet<Labels>> = BTreeMap::new();
    for s in answer {
        let labels = alert_labels(rule, &s.labels);
        for &(t, _) in &s.points {
            let t_ms = (t * 1000.0).round() as i64;
            if !at.entry(t_ms).or_default().insert(labels.clone()) {
                return Err(format!(
                    "at {t_ms} ms the expression returns {} twice once the rule's labels are added (Prometheus fails that evaluation)",
                    show_labels(&labels)
                ));
            }
        }
    }
    let step = i64::try_from(interval_ms).unwrap_or(i64::MAX).max(1);
    let (for_ms, keep_ms) = (as_ms(rule.for_ms), as_ms(rule.keep_firing_for_ms));
    struct Active {
        active_at: i64,
        fired_at: Option<i64>,
        keep_since: Option<i64>,
    }
    let mut active: BTreeMap<Labels, Active> = BTreeMap::new();
    let mut done = Vec::new();
    let none = BTreeSet::new();
    let mut t = first_ms;
    while t <= last_ms {
        let present = at.get(&t).unwrap_or(&none);
        for labels in present {
            active.entry(labels.clone()).or_insert(Active {
                active_at: t,
                fired_at: None,
                keep_since: None,
            });
        }
        active.retain(|labels, a| {
            if present.contains(labels) {
                a.keep_since = None;
            } else {
                let mut keep = false;
                if a.fired_at.is_some() && keep_ms > 0 {
                    let since = *a.keep_since.get_or_insert(t);
                    keep = t - since < keep_ms;
                }
                if !keep {
                    done.push(Episode {
                        labels: labels.clone(),
                        active_at_ms: a.active_at,
                        fired_at_ms: a.fired_at,
                        ended_at_ms: Some(t),
                    });
                    return false;
                }
            }
            if a.fired_at.is_none() && t - a.active_at >= for_ms {
                a.fired_at = Some(t);
            }
            true
        });
        t = match t.checked_add(step) {
            Some(next) => next,
            None => break,
        };
    }
    done.extend(active.into_iter().map(|(labels, a)| Episode {
        labels,
        active_at_ms: a.active_at,
        fired_at_ms: a.fired_at,
        ended_at_ms: None,
    }));
    done.sort_by(|a, b| (a.active_at_ms, &a.labels).cmp(&(b.active_at_ms, &b.labels)));
    Ok(done)
}

fn as_ms(ms: u64) -> i64 {
    i64::try_from(ms).unwrap_or(i64::MAX)
}

/// An alert's labels from a result series: its labels without `__name__`, the
/// rule's labels over them, and `alertname`.
pub fn alert_labels(rule: &AlertRule, result: &Labels) -> Labels {
    let mut labels: Labels = result
        .iter()
        .filter(|(k, _)| k.as_str() != "__name__")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    labels.extend(rule.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
    labels.insert("alertname".to_owned(), rule.name.clone());
    labels
}

/// `{app="x", team="y"}`, without `alertname`.
pub fn show_labels(labels: &Labels) -> String {
    let parts: Vec<String> = labels
        .iter()
        .filter(|(k, _)| k.as_str() != "alertname")
        .map(|(k, v)| format!("{k}={v:?}"))
        .collect();
    format!("{{{}}}", parts.join(", "))
}

/// `{app="x"} pending 2m, firing 3m until 5m`, times from `start_ms`.
pub fn describe(e: &Episode, start_ms: i64) -> String {
    let at = |t: i64| relative(t, start_ms);
    let end = e.ended_at_ms.map_or_else(|| "the end".to_owned(), at);
    match e.fired_at_ms {
        Some(f) if f == e.active_at_ms => {
            format!("{} firing {} until {end}", show_labels(&e.labels), at(f))
        }
        Some(f) => format!(
            "{} pending {}, firing {} until {end}",
            show_labels(&e.labels),
            at(e.active_at_ms),
            at(f)
        ),
        None => format!(
            "{} pending {} until {end}",
            show_labels(&e.labels),
            at(e.active_at_ms)
        ),
    }
}

/// `t_ms` as a duration after `start_ms` (`-1m` before it).
pub fn relative(t_ms: i64, start_ms: i64) -> String {
    let d = t_ms - start_ms;
    let text = super::rules::format_duration(d.unsigned_abs());
    if d < 0 { format!("-{text}") } else { text }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(for_ms: u64, keep_ms: u64) -> AlertRule {
        AlertRule {
            name: "A".to_owned(),
            expr: "x".to_owned(),
            for_ms,
            keep_firing_for_ms: keep_ms,
            labels: [("severity".to_owned(), "page".to_owned())].into(),
            at: "r.yaml:1:1".to_owned(),
        }
    }

    /// A series active at minutes `minutes` (of 60 s evaluations from 0).
    fn series(app: &str, minutes: &[i64]) -> Series {
        Series {
            labels: [
                ("__name__".to_owned(), "up".to_owned()),
                ("app".to_owned(), app.to_owned()),
            ]
            .into(),
            points: minutes.iter().map(|m| ((m * 60) as f64, 0.0)).collect(),
            lines: Vec::new(),
        }
    }

    const M: i64 = 60_000;

    #[test]
    fn evaluation_times_are_multiples_of_the_interval() {
        assert_eq!(evaluation_times(0, 600_000, 60_000), Some((0, 600_000)));
        assert_eq!(
            evaluation_times(1, 599_999, 60_000),
            Some((60_000, 540_000))
        );
        assert_eq!(evaluation_times(1, 59_999, 60_000), None);
        assert_eq!(evaluation_times(0, 1, 0), None);
        assert_eq!(evaluation_times(-61_000, 0, 60_000), Some((-60_000, 0)));
    }

    #[test]
    fn pending_then_firing_then_resolved() {
        let answer = [series("a", &[2, 3, 4]), series("b", &[5])];
        let e = episodes(&rule(60_000, 0), &answer, 0, 10 * M, 60_000).unwrap();
        assert_eq!(e.len(), 2, "{e:#?}");
        assert_eq!(
            (e[0].active_at_ms, e[0].fired_at_ms, e[0].ended_at_ms),
            (2 * M, Some(3 * M), Some(5 * M))
        );
        assert_eq!(show_labels(&e[0].labels), r#"{app="a", severity="page"}"#);
        assert_eq!(e[0].labels["alertname"], "A");
        assert!(!e[0].labels.contains_key("__name__"));
        // Pending once, then gone: it never fired.
        assert_eq!(
            (e[1].active_at_ms, e[1].fired_at_ms, e[1].ended_at_ms),
            (5 * M, None, Some(6 * M))
        );
        assert_eq!(e[0].state_at(2 * M), Some(State::Pending));
        assert_eq!(e[0].state_at(4 * M), Some(State::Firing));
        assert_eq!(e[0].state_at(5 * M), None);
    }

    #[test]
    fn for_zero_fires_at_once_and_the_end_stays_open() {
        let e = episodes(&rule(0, 0), &[series("a", &[9, 10])], 0, 10 * M, 60_000).unwrap();
        assert_eq!(
            (e[0].active_at_ms, e[0].fired_at_ms, e[0].ended_at_ms),
            (9 * M, Some(9 * M), None)
        );
    }

    #[test]
    fn keep_firing_for_bridges_gaps() {
        // Active 1-3, a gap of 2 evaluations, active 6; kept firing for 3m.
        let answer = [series("a", &[1, 2, 3, 6])];
        let e = episodes(&rule(60_000, 3 * 60_000), &answer, 0, 12 * M, 60_000).unwrap();
        assert_eq!(e.len(), 1, "{e:#?}");
        // Gone at 7; kept firing at 7, 8, 9 (since 7 < 3m), resolved at 10.
        assert_eq!(
            (e[0].active_at_ms, e[0].fired_at_ms, e[0].ended_at_ms),
            (M, Some(2 * M), Some(10 * M))
        );
        // A pending alert is not kept.
        let e = episodes(&rule(10 * 60_000, 3 * 60_000), &answer, 0, 12 * M, 60_000).unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].ended_at_ms, Some(4 * M));
    }

    #[test]
    fn a_label_set_twice_fails_the_evaluation() {
        let mut twin = series("a", &[1]);
        twin.labels
            .insert("__name__".to_owned(), "other".to_owned());
        let e = episodes(&rule(0, 0), &[series("a", &[1]), twin], 0, M, 60_000).unwrap_err();
        assert!(e.contains("twice"), "{e}");
    }
}
