//! What `verify` expects of a panel, lowered from a scenario's `expect:`.

use super::*;

pub(super) fn expectation(
    i: usize,
    spanned: &Spanned<ExpectationFile>,
    problems: &mut Problems<'_>,
) -> Option<Expectation> {
    let e = &spanned.value;
    let field = format!("expect[{i}]");
    let checks = e.color.is_some() || e.min.is_some() || e.max.is_some() || e.skip.is_some();
    if !checks {
        problems.add(
            &spanned.referenced,
            field,
            "say what to expect: `color`, `min`, `max` or `skip`",
        );
        return None;
    }
    for (name, bound) in [("min", e.min), ("max", e.max)] {
        if bound.is_some_and(|b| !b.is_finite()) {
            problems.add(
                &spanned.referenced,
                format!("{field}.{name}"),
                format!("{name} must be a finite number"),
            );
            return None;
        }
    }
    if e.ratio_to.is_some() && e.min.is_none() && e.max.is_none() {
        problems.add(
            &spanned.referenced,
            format!("{field}.ratio_to"),
            "a ratio needs `min` or `max`",
        );
        return None;
    }
    if let (Some(min), Some(max)) = (e.min, e.max)
        && min > max
    {
        problems.add(
            &spanned.referenced,
            format!("{field}.min"),
            format!("min ({min}) is above max ({max})"),
        );
        return None;
    }
    let panel = match &e.panel {
        PanelFile::Id(id) => PanelRef::Id(*id),
        PanelFile::Title(t) => PanelRef::Title(t.clone()),
    };
    let note = e.note.clone().unwrap_or_else(|| describe(&panel, e));
    Some(Expectation {
        panel,
        series: e.series.clone(),
        reduce: e.reduce.clone(),
        color: e.color.clone(),
        min: e.min,
        max: e.max,
        ratio_to: e.ratio_to.clone(),
        skip: e.skip.clone(),
        note,
    })
}

/// A default note, e.g. `panel 11: AWQ / FP16 at most 0.8`.
fn describe(panel: &PanelRef, e: &ExpectationFile) -> String {
    let mut what = match (&e.series, &e.ratio_to) {
        (Some(s), Some(r)) => format!("{panel}: {s} / {r}"),
        (Some(s), None) => format!("{panel}: {s}"),
        (None, Some(r)) => format!("{panel}: value / {r}"),
        (None, None) => format!("{panel}"),
    };
    if let Some(c) = &e.color {
        what.push_str(&format!(" shows {c}"));
    }
    if let Some(min) = e.min {
        what.push_str(&format!(" at least {min}"));
    }
    if let Some(max) = e.max {
        what.push_str(&format!(" at most {max}"));
    }
    if let Some(skip) = &e.skip {
        what.push_str(&format!(" skipped: {skip}"));
    }
    what
}
