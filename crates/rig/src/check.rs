//! Checking one [`Expectation`] against what its panel shows: pick the series by
//! display name, reduce it, then compare the threshold colour and the bounds (on
//! the value, or on its ratio to another series of the panel).

use super::dashboard::Panel;
use super::expect::Expectation;
use super::reduce::Reducer;
use super::report::{Outcome, PanelReport, Status};
use super::shown::{Named, outcome_for_status, scale, shows_thresholds};
use super::threshold;
use super::units::format_value;

/// An expectation's verdict and what it does to its panel.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Verdict {
    /// Passed, failed or skipped.
    pub(super) outcome: Outcome,
    /// The values seen and what was wanted.
    pub(super) message: String,
    /// The status a failure gives the panel.
    pub(super) panel_status: Option<Status>,
}

impl Verdict {
    pub(super) fn failed(message: String) -> Verdict {
        Verdict {
            outcome: Outcome::Failed,
            message,
            panel_status: None,
        }
    }

    fn of(outcome: Outcome, message: String) -> Verdict {
        Verdict {
            outcome,
            message,
            panel_status: None,
        }
    }

    fn failed_on_panel(message: String, status: Status) -> Verdict {
        Verdict {
            outcome: Outcome::Failed,
            message,
            panel_status: Some(status),
        }
    }
}

/// Checks `e` against `panel`, already judged as `report` with series `named`.
pub(super) fn check(
    e: &Expectation,
    panel: &Panel,
    report: &PanelReport,
    named: &[Named],
) -> Verdict {
    if let Some((outcome, message)) = outcome_for_status(&report.status) {
        return match (&report.status, &e.skip) {
            (Status::Skipped(shown), Some(why)) if shown == why => {
                Verdict::of(Outcome::Skipped, "no data, as expected".to_owned())
            }
            _ => Verdict::of(outcome, message),
        };
    }
    let checks = e.color.is_some() || e.min.is_some() || e.max.is_some();
    if let (Some(why), false) = (&e.skip, checks) {
        return Verdict::of(
            Outcome::Passed,
            format!("the panel has data (none was expected yet: {why})"),
        );
    }
    let fail = |m: String| Verdict::failed_on_panel(m, Status::ExpectationFailed);
    let series = match pick(named, e.series.as_deref()) {
        Ok(s) => s,
        Err(m) => return fail(m),
    };
    let default = match panel.kind.as_str() {
        "logs" => "count",
        _ if shows_thresholds(panel) => panel.reducer(),
        _ => "mean",
    };
    let reducer = match Reducer::from_id(e.reduce.as_deref().unwrap_or(default)) {
        Ok(r) => r,
        Err(err) => return fail(err.to_string()),
    };
    let d = &panel.field_config.defaults;
    let text = |v: Option<f64>| format_value(v, d.unit.as_deref(), d.decimals);
    let Some(value) = reducer.apply(&series.values) else {
        return fail(format!("{} {reducer} is null", series.name));
    };
    let mut seen = format!("{} {reducer}={}", series.name, text(Some(value)));
    let mut checked = value;
    if let Some(other_name) = &e.ratio_to {
        let other = match pick(named, Some(other_name)) {
            Ok(s) => s,
            Err(m) => return fail(m),
        };
        let base = reducer.apply(&other.values);
        seen.push_str(&format!(" / {} {reducer}={}", other.name, text(base)));
        match base {
            Some(b) if b != 0.0 && b.is_finite() => checked = value / b,
            _ => {
                return fail(format!(
                    "{seen}: no ratio to a null, zero or infinite value"
                ));
            }
        }
        seen.push_str(&format!(" = {checked:.3}"));
    }
    let mut wants = Vec::new();
    let mut wrong_colour = false;
    if let Some(want) = &e.color {
        match &d.thresholds {
            Some(t) => {
                let shown = threshold::color(t, Some(value), scale(panel, named));
                seen.push_str(&format!(" → {shown}"));
                if !shown.eq_ignore_ascii_case(want) {
                    wrong_colour = true;
                    wants.push(want.clone());
                }
            }
            None => {
                return fail(format!(
                    "{seen}: the panel has no thresholds to show {want}"
                ));
            }
        }
    }
    let below = e.min.is_some_and(|m| checked < m);
    let above = e.max.is_some_and(|m| checked > m);
    if below || above {
        wants.push(match (e.min, e.max) {
            (Some(lo), Some(hi)) => format!("{lo} to {hi}"),
            (Some(lo), None) => format!("at least {lo}"),
            (None, Some(hi)) => format!("at most {hi}"),
            (None, None) => String::new(),
        });
    }
    if wants.is_empty() {
        return Verdict::of(Outcome::Passed, seen);
    }
    let message = format!("{seen}, want {}", wants.join(" and "));
    let status = if wrong_colour {
        Status::WrongColour
    } else {
        Status::ExpectationFailed
    };
    Verdict::failed_on_panel(message, status)
}

/// The series called `name` (exactly, else ignoring case), or the panel's only one.
fn pick<'a>(named: &'a [Named], name: Option<&str>) -> Result<&'a Named, String> {
    let names = || {
        named
            .iter()
            .map(|n| format!("{:?}", n.name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match name {
        Some(want) => named
            .iter()
            .find(|n| n.name == want)
            .or_else(|| named.iter().find(|n| n.name.eq_ignore_ascii_case(want)))
            .ok_or_else(|| format!("no series {want:?}; the panel has {}", names())),
        None => match named {
            [one] => Ok(one),
            _ => Err(format!(
                "series required: the panel has {} series: {}",
                named.len(),
                names()
            )),
        },
    }
}

#[cfg(test)]
pub(super) mod tests {
    use crate::dashboard::{self, Dashboard};
    use crate::evaluate::tests::{BOARD, answers, healthy, series, settings};
    use crate::evaluate::{Answers, evaluate};
    use crate::expect::{Expectation, PanelRef};
    use crate::report::{Outcome, Report, Status};

    pub(crate) fn expect(panel: PanelRef) -> Expectation {
        Expectation {
            panel,
            series: None,
            reduce: None,
            color: None,
            min: None,
            max: None,
            ratio_to: None,
            skip: None,
            note: "note".to_owned(),
        }
    }

    fn run(d: &Dashboard, a: &Answers, e: Expectation) -> (Report, Outcome, String) {
        let r = evaluate(d, &settings(), a, std::slice::from_ref(&e));
        let x = r.expectations[0].clone();
        (r, x.outcome, x.message)
    }

    fn board() -> Dashboard {
        dashboard::parse(BOARD).unwrap()
    }

    #[test]
    fn colour_of_a_stat() {
        let d = board();
        let a = healthy(&d);
        let e = Expectation {
            color: Some("Green".to_owned()),
            ..expect(PanelRef::Title("Active Models".to_owned()))
        };
        let (r, outcome, message) = run(&d, &a, e.clone());
        assert_eq!(
            (outcome, message.as_str()),
            (Outcome::Passed, "Active models lastNotNull=4 → green")
        );
        assert_eq!(r.panels[0].status, Status::Ok);
        // With `min`, the stat shows 3: yellow.
        let e = Expectation {
            reduce: Some("min".to_owned()),
            ..e
        };
        let (r, outcome, message) = run(&d, &a, e);
        assert_eq!(outcome, Outcome::Failed);
        assert_eq!(message, "Active models min=3 → yellow, want Green");
        assert_eq!(r.panels[0].status, Status::WrongColour);
        assert_eq!(
            r.expectations[0].describe(&r),
            "panel 1 \"Active Models\": note: Active models min=3 → yellow, want Green"
        );
    }

    #[test]
    fn ratio_between_series() {
        let d = board();
        let a = healthy(&d);
        let e = Expectation {
            series: Some("AWQ".to_owned()),
            ratio_to: Some("fp16".to_owned()),
            min: Some(0.6),
            max: Some(0.8),
            ..expect(PanelRef::Id(11))
        };
        let (_, outcome, message) = run(&d, &a, e.clone());
        assert_eq!(outcome, Outcome::Passed, "{message}");
        assert_eq!(message, "AWQ mean=1.45 s / FP16 mean=2.05 s = 0.707");
        let e = Expectation {
            max: Some(0.7),
            ..e
        };
        let (r, outcome, message) = run(&d, &a, e);
        assert_eq!(outcome, Outcome::Failed);
        assert!(message.ends_with("= 0.707, want 0.6 to 0.7"), "{message}");
        assert_eq!(r.panels[1].status, Status::ExpectationFailed);
    }

    #[test]
    fn bounds_on_a_value() {
        let d = board();
        let a = healthy(&d);
        let e = Expectation {
            series: Some("FP16".to_owned()),
            reduce: Some("max".to_owned()),
            min: Some(3.0),
            ..expect(PanelRef::Id(11))
        };
        let (_, outcome, message) = run(&d, &a, e);
        assert_eq!(
            (outcome, message.as_str()),
            (Outcome::Failed, "FP16 max=2.10 s, want at least 3")
        );
    }

    #[test]
    fn series_must_be_named_when_there_are_several() {
        let d = board();
        let (_, outcome, message) = run(
            &d,
            &healthy(&d),
            Expectation {
                max: Some(1.0),
                ..expect(PanelRef::Id(11))
            },
        );
        assert_eq!(outcome, Outcome::Failed);
        assert_eq!(
            message,
            "series required: the panel has 2 series: \"AWQ\", \"FP16\""
        );
        let e = Expectation {
            series: Some("INT8".to_owned()),
            max: Some(1.0),
            ..expect(PanelRef::Id(11))
        };
        let (_, _, message) = run(&d, &healthy(&d), e);
        assert_eq!(
            message,
            "no series \"INT8\"; the panel has \"AWQ\", \"FP16\""
        );
    }

    #[test]
    fn unknown_panels_and_reducers() {
        let d = board();
        let (r, outcome, message) = run(
            &d,
            &healthy(&d),
            Expectation {
                max: Some(1.0),
                ..expect(PanelRef::Id(99))
            },
        );
        assert_eq!(
            (outcome, message.as_str()),
            (Outcome::Failed, "no such panel in the dashboard")
        );
        assert_eq!(r.expectations[0].panel, None);
        assert_eq!(
            r.expectations[0].describe(&r),
            "panel 99: note: no such panel in the dashboard"
        );
        let e = Expectation {
            reduce: Some("median".to_owned()),
            max: Some(1.0),
            ..expect(PanelRef::Id(1))
        };
        let (_, outcome, message) = run(&d, &healthy(&d), e);
        assert_eq!(outcome, Outcome::Failed);
        assert!(
            message.starts_with("unknown reducer \"median\""),
            "{message}"
        );
    }

    #[test]
    fn skip_turns_no_data_into_skipped() {
        let d = board();
        let mut a = healthy(&d);
        a.extend(answers(&d, vec![(52, "A", Ok(vec![]))]));
        let skip = Expectation {
            skip: Some("no gateway here".to_owned()),
            ..expect(PanelRef::Id(52))
        };
        let (r, outcome, message) = run(&d, &a, skip.clone());
        let table = r.panels.iter().find(|p| p.id == Some(52)).unwrap();
        assert_eq!(table.status, Status::Skipped("no gateway here".to_owned()));
        assert_eq!(
            (outcome, message.as_str()),
            (Outcome::Skipped, "no data, as expected")
        );
        assert_eq!(r.summary().failed, 0);
        // Without the skip, no data fails both the panel and its expectations.
        let (r, outcome, message) = run(
            &d,
            &a,
            Expectation {
                min: Some(1.0),
                ..expect(PanelRef::Id(52))
            },
        );
        assert_eq!(
            (outcome, message.as_str()),
            (Outcome::Failed, "the panel has no data")
        );
        assert_eq!(r.summary().failed, 2);
        // A skip on a panel that has data passes.
        let (_, outcome, _) = run(&d, &healthy(&d), skip);
        assert_eq!(outcome, Outcome::Passed);
    }

    #[test]
    fn expectations_on_skipped_or_broken_panels() {
        let d = board();
        let (_, outcome, message) = run(
            &d,
            &healthy(&d),
            Expectation {
                min: Some(1.0),
                ..expect(PanelRef::Id(51))
            },
        );
        assert_eq!(
            (outcome, message.as_str()),
            (
                Outcome::Skipped,
                "panel skipped: Loki; pass --loki-datasource URL"
            )
        );
        let mut a = healthy(&d);
        a.extend(answers(
            &d,
            vec![(1, "A", Err(crate::ApiError::Decode("x".to_owned())))],
        ));
        let (_, outcome, message) = run(
            &d,
            &a,
            Expectation {
                color: Some("green".to_owned()),
                ..expect(PanelRef::Id(1))
            },
        );
        assert_eq!(
            (outcome, message.as_str()),
            (Outcome::Failed, "the panel has errors")
        );
    }

    #[test]
    fn colour_needs_thresholds_and_a_value() {
        let d = board();
        let e = Expectation {
            series: Some("AWQ".to_owned()),
            color: Some("green".to_owned()),
            ..expect(PanelRef::Id(11))
        };
        let (_, outcome, message) = run(&d, &healthy(&d), e);
        assert_eq!(outcome, Outcome::Failed);
        assert_eq!(
            message,
            "AWQ mean=1.45 s: the panel has no thresholds to show green"
        );
        let mut a = healthy(&d);
        a.extend(answers(
            &d,
            vec![(1, "A", Ok(vec![series(&[], &[f64::NAN])]))],
        ));
        let (_, _, message) = run(
            &d,
            &a,
            Expectation {
                color: Some("red".to_owned()),
                ..expect(PanelRef::Id(1))
            },
        );
        assert_eq!(message, "Active models lastNotNull is null");
    }
}
