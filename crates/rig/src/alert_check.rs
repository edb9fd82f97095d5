//! A scenario's alert expectations against the alerts' timelines: each entry met by
//! an episode of firing of its own (started and resolved where it says, give or take
//! its tolerance), and, once a scenario lists what fires, nothing else firing. Pure.

use super::alerting::describe;
use super::expect::AlertExpectation;
use super::report::{AlertCheck, AlertTimeline, Outcome};
use super::rules::format_duration;

/// The name of the check that nothing fires beyond what the scenario lists.
pub const NOTHING_ELSE: &str = "no other alert fires";

/// One check per expectation, then [`NOTHING_ELSE`]; times are relative to
/// `start_ms`, the start of the verify window.
pub fn check(
    timelines: &[AlertTimeline],
    expectations: &[AlertExpectation],
    start_ms: i64,
) -> Vec<AlertCheck> {
    let mut claimed: Vec<Vec<bool>> = timelines
        .iter()
        .map(|t| vec![false; t.episodes.len()])
        .collect();
    let mut checks = Vec::new();
    for e in expectations {
        let Some(k) = timelines.iter().position(|t| t.alert == e.alert) else {
            checks.push(AlertCheck {
                name: e.note.clone(),
                outcome: Outcome::Failed,
                message: format!(
                    "{}: no alerting rule named {} was evaluated",
                    e.origin, e.alert
                ),
            });
            continue;
        };
        let t = &timelines[k];
        if let Some(error) = &t.error {
            checks.push(AlertCheck {
                name: e.note.clone(),
                outcome: Outcome::Failed,
                message: format!("not evaluated: {error}"),
            });
            continue;
        }
        let fired: Vec<usize> = (0..t.episodes.len())
            .filter(|&i| t.episodes[i].fired_at_ms.is_some() && t.episodes[i].matches(&e.labels))
            .collect();
        let seen = || {
            if fired.is_empty() {
                "it never fired".to_owned()
            } else {
                let list: Vec<String> = fired
                    .iter()
                    .map(|&i| describe(&t.episodes[i], start_ms))
                    .collect();
                list.join("; ")
            }
        };
        let Some(span) = e.firing else {
            let outcome = if fired.is_empty() || e.may_fire {
                Outcome::Passed
            } else {
                Outcome::Failed
            };
            checks.push(AlertCheck {
                name: e.note.clone(),
                outcome,
                message: seen(),
            });
            continue;
        };
        let tol = i64::try_from(span.within_ms.unwrap_or(t.interval_ms)).unwrap_or(i64::MAX);
        let near = |at: i64, wanted_ms: u64| {
            let wanted = start_ms.saturating_add(i64::try_from(wanted_ms).unwrap_or(i64::MAX));
            (at - wanted).abs() <= tol
        };
        let found = fired.iter().copied().find(|&i| {
            let ep = &t.episodes[i];
            let from_ok = ep.fired_at_ms.is_some_and(|f| near(f, span.from_ms));
            let until_ok = match (span.until_ms, ep.ended_at_ms) {
                (None, None) => true,
                (Some(u), Some(end)) => near(end, u),
                _ => false,
            };
            !claimed[k][i] && from_ok && until_ok
        });
        let message = match found {
            Some(i) => {
                claimed[k][i] = true;
                describe(&t.episodes[i], start_ms)
            }
            None => {
                let until = span
                    .until_ms
                    .map_or_else(|| "the end".to_owned(), format_duration);
                format!(
                    "want firing from {} until {until} (each within {}); {}",
                    format_duration(span.from_ms),
                    format_duration(u64::try_from(tol).unwrap_or(0)),
                    seen()
                )
            }
        };
        let outcome = if found.is_some() {
            Outcome::Passed
        } else {
            Outcome::Failed
        };
        checks.push(AlertCheck {
            name: e.note.clone(),
            outcome,
            message,
        });
    }
    let mut others = Vec::new();
    for (k, t) in timelines.iter().enumerate() {
        for (i, ep) in t.episodes.iter().enumerate() {
            let listed_quiet = expectations
                .iter()
                .any(|e| e.alert == t.alert && e.firing.is_none() && ep.matches(&e.labels));
            if ep.fired_at_ms.is_some() && !claimed[k][i] && !listed_quiet {
                others.push(format!("{}{}", t.alert, describe(ep, start_ms)));
            }
        }
    }
    checks.push(AlertCheck {
        name: NOTHING_ELSE.to_owned(),
        outcome: if others.is_empty() {
            Outcome::Passed
        } else {
            Outcome::Failed
        },
        message: if others.is_empty() {
            "nothing else fired".to_owned()
        } else {
            format!("also fired: {}", others.join("; "))
        },
    });
    checks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerting::{Episode, relative};
    use crate::expect::FiringSpan;

    const M: i64 = 60_000;

    fn episode(app: &str, active: i64, fired: Option<i64>, end: Option<i64>) -> Episode {
        Episode {
            labels: [
                ("alertname".to_owned(), "Down".to_owned()),
                ("app".to_owned(), app.to_owned()),
            ]
            .into(),
            active_at_ms: active * M,
            fired_at_ms: fired.map(|f| f * M),
            ended_at_ms: end.map(|e| e * M),
        }
    }

    fn timeline(alert: &str, episodes: Vec<Episode>) -> AlertTimeline {
        AlertTimeline {
            alert: alert.to_owned(),
            group: "g".to_owned(),
            at: "r.yaml:3:7".to_owned(),
            interval_ms: 60_000,
            first_ms: 0,
            last_ms: 30 * M,
            episodes,
            error: None,
        }
    }

    fn expect(
        alert: &str,
        app: Option<&str>,
        firing: Option<(u64, Option<u64>)>,
    ) -> AlertExpectation {
        AlertExpectation {
            alert: alert.to_owned(),
            labels: app
                .map(|a| [("app".to_owned(), a.to_owned())].into())
                .unwrap_or_default(),
            firing: firing.map(|(from, until)| FiringSpan {
                from_ms: from * 60_000,
                until_ms: until.map(|u| u * 60_000),
                within_ms: None,
            }),
            may_fire: false,
            origin: "s.yaml:9:5: alerts[0]".to_owned(),
            note: format!("{alert} {firing:?}"),
        }
    }

    #[test]
    fn each_episode_meets_one_entry_and_nothing_else_may_fire() {
        let timelines = [
            timeline(
                "Down",
                vec![
                    episode("awq", 2, Some(3), Some(5)),
                    episode("awq", 12, Some(13), Some(15)),
                    episode("fp16", 20, None, Some(21)),
                ],
            ),
            timeline("Quiet", vec![]),
        ];
        let checks = check(
            &timelines,
            &[
                expect("Down", Some("awq"), Some((3, Some(5)))),
                expect("Down", Some("awq"), Some((14, Some(16)))),
                expect("Quiet", None, None),
            ],
            0,
        );
        let outcomes: Vec<_> = checks.iter().map(|c| c.outcome).collect();
        assert_eq!(outcomes, [Outcome::Passed; 4], "{checks:#?}");
        assert_eq!(
            checks[0].message,
            r#"{app="awq"} pending 2m, firing 3m until 5m"#
        );
        assert_eq!(checks[3].name, NOTHING_ELSE);
        // The same episode cannot meet two entries; an unlisted one fails the last check.
        let checks = check(
            &timelines,
            &[
                expect("Down", Some("awq"), Some((3, Some(5)))),
                expect("Down", None, Some((3, Some(5)))),
            ],
            0,
        );
        assert_eq!(checks[1].outcome, Outcome::Failed);
        assert!(
            checks[1]
                .message
                .starts_with("want firing from 3m until 5m (each within 1m); "),
            "{}",
            checks[1].message
        );
        assert_eq!(checks[2].outcome, Outcome::Failed);
        assert_eq!(
            checks[2].message,
            r#"also fired: Down{app="awq"} pending 12m, firing 13m until 15m"#
        );
    }

    #[test]
    fn still_firing_at_the_end_and_never_firing() {
        let timelines = [timeline(
            "Backlog",
            vec![episode("judge", 2, Some(4), None)],
        )];
        let met = check(&timelines, &[expect("Backlog", None, Some((4, None)))], 0);
        assert_eq!(met[0].outcome, Outcome::Passed, "{met:#?}");
        assert_eq!(
            met[0].message,
            r#"{app="judge"} pending 2m, firing 4m until the end"#
        );
        let late = check(&timelines, &[expect("Backlog", None, Some((10, None)))], 0);
        assert_eq!(late[0].outcome, Outcome::Failed);
        let resolved = check(
            &timelines,
            &[expect("Backlog", None, Some((4, Some(20))))],
            0,
        );
        assert_eq!(resolved[0].outcome, Outcome::Failed);
        let quiet = check(&timelines, &[expect("Backlog", Some("judge"), None)], 0);
        assert_eq!(quiet[0].outcome, Outcome::Failed);
        assert_eq!(
            quiet[0].message,
            r#"{app="judge"} pending 2m, firing 4m until the end"#
        );
        assert_eq!(
            quiet[1].outcome,
            Outcome::Passed,
            "listed as quiet, so not 'other'"
        );
        let other_app = check(&timelines, &[expect("Backlog", Some("awq"), None)], 0);
        assert_eq!(other_app[0].outcome, Outcome::Passed);
        assert_eq!(other_app[1].outcome, Outcome::Failed);
        let maybe = AlertExpectation {
            may_fire: true,
            ..expect("Backlog", None, None)
        };
        let maybe = check(&timelines, &[maybe], 0);
        assert_eq!(
            (maybe[0].outcome, maybe[1].outcome),
            (Outcome::Passed, Outcome::Passed)
        );
        let unknown = check(&timelines, &[expect("Nope", None, None)], 0);
        assert!(
            unknown[0]
                .message
                .starts_with("s.yaml:9:5: alerts[0]: no alerting rule named Nope")
        );
        assert_eq!(relative(-M, 0), "-1m");
    }
}
