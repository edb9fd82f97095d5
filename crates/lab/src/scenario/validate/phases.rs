//! The timeline, lowered: each phase's duration, traffic, outages and sleeps.

use super::*;

/// How long a phase may last: a whole number of clock ticks at any speed, and a
/// timeline whose sum fits the clock (docs/scenarios.md, "Ranges").
const PHASE_DURATIONS: std::ops::RangeInclusive<Duration> =
    Duration::from_secs(1)..=Duration::from_secs(100 * 31_557_600);

/// How long a closed-loop user may think between requests.
const THINK_TIMES: std::ops::RangeInclusive<Duration> =
    Duration::ZERO..=Duration::from_secs(86_400);

pub(super) fn phases(
    raw: &ScenarioFile,
    names: &HashMap<&str, usize>,
    problems: &mut Problems<'_>,
) -> Vec<Phase> {
    let last = raw.phases.len().saturating_sub(1);
    let mut out = Vec::new();
    for (i, spanned) in raw.phases.iter().enumerate() {
        let p = &spanned.value;
        let at = &spanned.referenced;
        let duration = p.duration.map(|d| d.0);
        if duration.is_none() && (i != last || raw.repeat) {
            let why = if raw.repeat {
                "a repeating timeline needs every phase's duration"
            } else {
                "only the last phase may run forever"
            };
            problems.add(
                at,
                format!("phases[{i}].duration"),
                format!("missing duration: {why}"),
            );
        }
        if let Some(d) = duration.filter(|d| !PHASE_DURATIONS.contains(d)) {
            problems.add(
                at,
                format!("phases[{i}].duration"),
                format!(
                    "duration must be at least 1s and at most 100years, got {}",
                    humantime::format_duration(d)
                ),
            );
        }
        let mut traffic = vec![Traffic::Idle; raw.pods.len()];
        for (pod, t) in &p.traffic {
            let field = format!("phases[{i}].traffic.{pod}");
            match names.get(pod.as_str()) {
                Some(&k) => {
                    if let Some(tr) = traffic_of(&t.value, &t.referenced, &field, problems) {
                        traffic[k] = tr;
                    }
                }
                None => problems.add(&t.referenced, field, format!("no pod is called `{pod}`")),
            }
        }
        let mut named = |list: &[Spanned<String>], what: &str| {
            let mut marked = vec![false; raw.pods.len()];
            for (j, name) in list.iter().enumerate() {
                match names.get(name.value.as_str()) {
                    Some(&k) => marked[k] = true,
                    None => problems.add(
                        &name.referenced,
                        format!("phases[{i}].{what}[{j}]"),
                        format!("no pod is called `{}`", name.value),
                    ),
                }
            }
            marked
        };
        let down = named(&p.down, "down");
        let asleep = named(&p.sleep, "sleep");
        for (j, name) in p.sleep.iter().enumerate() {
            let Some(&k) = names.get(name.value.as_str()) else {
                continue;
            };
            let profile = raw.pods[k].value.profile.as_ref().unwrap_or(&raw.profile).0;
            let why = if down[k] {
                format!("`{}` is down in this phase: it cannot sleep", name.value)
            } else if !profile.release().sleep_mode {
                format!(
                    "`{}` runs {profile}, whose server has no sleep mode",
                    name.value
                )
            } else {
                continue;
            };
            problems.add(&name.referenced, format!("phases[{i}].sleep[{j}]"), why);
        }
        out.push(Phase {
            name: p.name.clone(),
            duration,
            traffic,
            down,
            asleep,
        });
    }
    out
}

fn traffic_of(
    t: &TrafficFile,
    at: &Location,
    field: &str,
    problems: &mut Problems<'_>,
) -> Option<Traffic> {
    match (t.rate, t.concurrency) {
        (Some(rate), None) => {
            if t.think_time.is_some() {
                problems.add(
                    at,
                    format!("{field}.think_time"),
                    "think_time applies to concurrency, not rate",
                );
            }
            Some(Traffic::Poisson { rate: rate.0 })
        }
        (None, Some(c)) => {
            if c.get() > Traffic::MAX_USERS {
                let max = Traffic::MAX_USERS;
                let message = format!("{c} users are more than a pod takes ({max})");
                problems.add(at, format!("{field}.concurrency"), message);
                return None;
            }
            let think_time = t.think_time.map_or(Duration::ZERO, |d| d.0);
            if !THINK_TIMES.contains(&think_time) {
                let message = format!(
                    "think_time must be at most 1day, got {}",
                    humantime::format_duration(think_time)
                );
                problems.add(at, format!("{field}.think_time"), message);
                return None;
            }
            Some(Traffic::ClosedLoop {
                concurrency: c.get(),
                think_time,
            })
        }
        _ => {
            problems.add(
                at,
                field.to_owned(),
                "give exactly one of `rate` (requests/s) or `concurrency` (users)",
            );
            None
        }
    }
}
