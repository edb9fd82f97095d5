//! What `verify --rules` expects of the alerts, lowered from a scenario's `alerts:`.
//! Whether each alert exists is for verify to say, against the rule files it is given.

use super::*;

pub(super) fn alert(
    i: usize,
    spanned: &Spanned<AlertFile>,
    problems: &mut Problems<'_>,
) -> Option<AlertExpectation> {
    let a = &spanned.value;
    let field = format!("alerts[{i}]");
    let name = &a.alert;
    let before = problems.list.len();
    if name.value.trim().is_empty() || name.value.contains(char::is_control) {
        problems.add(
            &name.referenced,
            format!("{field}.alert"),
            "name an alerting rule",
        );
    }
    for (label, value) in &a.labels {
        if !vllm_sim_rig::rules::label_name(label) {
            problems.add(
                &value.referenced,
                format!("{field}.labels.{label}"),
                format!("{label:?} is not a label name: letters, digits and '_', not starting with a digit"),
            );
        }
    }
    let said = a.firing.as_ref().map(|f| f.value);
    let firing = if let Some(f @ (Firing::No | Firing::Maybe)) = said {
        if a.firing_from.is_some() || a.until.is_some() || a.within.is_some() {
            let what = if f == Firing::No { "false" } else { "maybe" };
            problems.add(
                &spanned.referenced,
                format!("{field}.firing"),
                format!("`firing: {what}` takes no `firing_from`, `until` or `within`"),
            );
        }
        None
    } else {
        match (&a.firing_from, &a.until) {
            (Some(from), Some(until)) => {
                let until_ms = match until.value {
                    Until::End => None,
                    Until::At(t) if t <= from.value.0 => {
                        problems.add(
                            &until.referenced,
                            format!("{field}.until"),
                            format!(
                                "must be after firing_from ({}), got {}",
                                humantime::format_duration(from.value.0),
                                humantime::format_duration(t)
                            ),
                        );
                        None
                    }
                    Until::At(t) => Some(millis(t)),
                };
                Some(FiringSpan {
                    from_ms: millis(from.value.0),
                    until_ms,
                    within_ms: a.within.as_ref().map(|w| millis(w.value.0)),
                })
            }
            (None, _) => {
                problems.add(
                    &spanned.referenced,
                    format!("{field}.firing_from"),
                    "say when it fires (`firing_from` and `until`), or `firing: false` or `maybe`",
                );
                None
            }
            (Some(_), None) => {
                problems.add(
                    &spanned.referenced,
                    format!("{field}.until"),
                    "say when it is resolved: a time, or `end` for still firing at the end",
                );
                None
            }
        }
    };
    if problems.list.len() > before {
        return None;
    }
    let labels: BTreeMap<String, String> = (a.labels.iter())
        .map(|(k, v)| (k.clone(), v.value.clone()))
        .collect();
    let may_fire = said == Some(Firing::Maybe);
    let note = (a.note.clone()).unwrap_or_else(|| describe(&name.value, &labels, firing, may_fire));
    let at = &name.referenced;
    Some(AlertExpectation {
        alert: name.value.clone(),
        labels,
        firing,
        may_fire,
        origin: format!("{}:{}:{}: {field}", problems.file, at.line(), at.column()),
        note,
    })
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// A default note, e.g. `VLLMModelDown{app="x"} fires from 3m until 5m`.
fn describe(
    alert: &str,
    labels: &BTreeMap<String, String>,
    firing: Option<FiringSpan>,
    may_fire: bool,
) -> String {
    let labels = if labels.is_empty() {
        String::new()
    } else {
        let parts: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
        format!("{{{}}}", parts.join(", "))
    };
    let show = |ms: u64| humantime::format_duration(Duration::from_millis(ms)).to_string();
    match firing {
        None if may_fire => format!("{alert}{labels} may fire"),
        None => format!("{alert}{labels} does not fire"),
        Some(span) => format!(
            "{alert}{labels} fires from {} until {}",
            show(span.from_ms),
            span.until_ms.map_or_else(|| "the end".to_owned(), show)
        ),
    }
}
