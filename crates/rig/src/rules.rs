//! Prometheus rule files as the rig reads them: `groups:` of recording and alerting
//! rules, each rule's expression, `for`, `keep_firing_for` and labels, checked as
//! promtool checks them (PromQL aside, which the Prometheus asked refuses) and located
//! to file, line and column for errors. Pure: the caller reads the files.

use std::collections::{BTreeMap, HashSet};
use std::fmt;

use serde::Deserialize;
use serde_saphyr::{Location, Spanned};

/// Prometheus's global `evaluation_interval` by default: a group without its own
/// `interval` is evaluated this often.
pub const DEFAULT_INTERVAL_MS: u64 = 60_000;

/// Every rule group of some rule files.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RuleSet {
    /// The files, as named to [`RuleSet::add`].
    pub files: Vec<String>,
    /// Their groups, file by file, in file order.
    pub groups: Vec<Group>,
}

/// One rule group.
#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    /// The file it is in.
    pub file: String,
    /// Its `name`.
    pub name: String,
    /// Its `interval`, milliseconds; `None` for the global evaluation interval.
    pub interval_ms: Option<u64>,
    /// Its recording rules, in order.
    pub records: Vec<RecordingRule>,
    /// Its alerting rules, in order.
    pub alerts: Vec<AlertRule>,
}

/// A recording rule.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordingRule {
    /// The series it records (`record`).
    pub name: String,
    /// Its PromQL.
    pub expr: String,
    /// Where it is: `file:line:column`.
    pub at: String,
}

/// An alerting rule.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertRule {
    /// Its `alert` name, the `alertname` label of its alerts.
    pub name: String,
    /// Its PromQL: every series it returns is an active alert.
    pub expr: String,
    /// `for`, milliseconds: how long an alert is pending before it fires.
    pub for_ms: u64,
    /// `keep_firing_for`, milliseconds: how long a firing alert keeps firing once its
    /// expression no longer returns it.
    pub keep_firing_for_ms: u64,
    /// Its `labels`, added to (and overriding) each result's labels.
    pub labels: BTreeMap<String, String>,
    /// Where it is: `file:line:column`.
    pub at: String,
}

/// Problems in rule files, one line each: `file:line:column: field: message`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleErrors(pub Vec<String>);

impl fmt::Display for RuleErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join("\n"))
    }
}

impl std::error::Error for RuleErrors {}

impl RuleSet {
    /// Adds the groups of rule file `file`, whose text is `text`; every problem found
    /// is an error, and nothing is added then.
    pub fn add(&mut self, text: &str, file: &str) -> Result<(), RuleErrors> {
        let groups = parse(text, file)?;
        let mut errors = Vec::new();
        for g in &groups {
            for a in &g.alerts {
                if let Some((other, _)) = self.alert(&a.name) {
                    errors.push(format!(
                        "{}: alert {}: also defined at {} (group {}); the rig tells alerts by name",
                        a.at, a.name, other.file, other.name
                    ));
                }
            }
        }
        if !errors.is_empty() {
            return Err(RuleErrors(errors));
        }
        self.files.push(file.to_owned());
        self.groups.extend(groups);
        Ok(())
    }

    /// The alerting rule called `name`, and its group.
    pub fn alert(&self, name: &str) -> Option<(&Group, &AlertRule)> {
        self.alerts().find(|(_, a)| a.name == name)
    }

    /// Every alerting rule, with its group, in file and group order.
    pub fn alerts(&self) -> impl Iterator<Item = (&Group, &AlertRule)> {
        self.groups
            .iter()
            .flat_map(|g| g.alerts.iter().map(move |a| (g, a)))
    }

    /// Every recording rule, with its group.
    pub fn records(&self) -> impl Iterator<Item = (&Group, &RecordingRule)> {
        self.groups
            .iter()
            .flat_map(|g| g.records.iter().map(move |r| (g, r)))
    }
}

/// A rule file, as Prometheus's `rulefmt` reads it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDoc {
    #[serde(default)]
    groups: Vec<Spanned<GroupDoc>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupDoc {
    #[serde(default)]
    name: String,
    interval: Option<Spanned<String>>,
    #[serde(default)]
    limit: Option<u64>,
    #[serde(default)]
    rules: Vec<Spanned<RuleDoc>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleDoc {
    record: Option<String>,
    alert: Option<String>,
    #[serde(default)]
    expr: String,
    #[serde(rename = "for")]
    for_: Option<Spanned<String>>,
    keep_firing_for: Option<Spanned<String>>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: Option<BTreeMap<String, String>>,
}

/// The groups of one rule file, or every problem in it.
pub fn parse(text: &str, file: &str) -> Result<Vec<Group>, RuleErrors> {
    let doc: FileDoc = serde_saphyr::from_str(text).map_err(|e| {
        let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
        let text = e.without_snippet().to_string();
        let message = text.rsplit_once(" at line ").map_or(text.as_str(), |m| m.0);
        RuleErrors(vec![format!("{file}:{line}:{column}: {message}")])
    })?;
    let mut errors = Vec::new();
    let mut add = |at: &Location, field: String, message: String| {
        errors.push(format!(
            "{file}:{}:{}: {field}: {message}",
            at.line(),
            at.column()
        ));
    };
    let mut names = HashSet::new();
    let mut groups = Vec::new();
    for (i, g) in doc.groups.iter().enumerate() {
        let (at, gd) = (&g.referenced, &g.value);
        let field = format!("groups[{i}]");
        if gd.name.is_empty() {
            add(at, format!("{field}.name"), "a group needs a name".into());
        } else if !names.insert(gd.name.as_str()) {
            let message = format!("group {:?} is repeated in the same file", gd.name);
            add(at, format!("{field}.name"), message);
        }
        let interval_ms = match &gd.interval {
            None => None,
            Some(d) => match parse_duration(&d.value) {
                Ok(0) => {
                    let message = "a group's interval must be longer than 0s".into();
                    add(&d.referenced, format!("{field}.interval"), message);
                    None
                }
                Ok(ms) => Some(ms),
                Err(e) => {
                    add(&d.referenced, format!("{field}.interval"), e);
                    None
                }
            },
        };
        let mut group = Group {
            file: file.to_owned(),
            name: gd.name.clone(),
            interval_ms,
            records: Vec::new(),
            alerts: Vec::new(),
        };
        let _ = gd.limit;
        for (j, r) in gd.rules.iter().enumerate() {
            let (at, rd) = (&r.referenced, &r.value);
            let here = format!("{file}:{}:{}", at.line(), at.column());
            let field = match (&rd.alert, &rd.record) {
                (Some(a), _) => format!("{field}.rules[{j}] (alert {a})"),
                (None, Some(rec)) => format!("{field}.rules[{j}] (record {rec})"),
                (None, None) => format!("{field}.rules[{j}]"),
            };
            if rd.expr.trim().is_empty() {
                add(at, format!("{field}.expr"), "a rule needs an expr".into());
            }
            for (name, value) in &rd.labels {
                if !label_name(name) || name == "__name__" {
                    add(
                        at,
                        format!("{field}.labels"),
                        format!("invalid label name {name:?}"),
                    );
                }
                let _ = value;
            }
            for name in rd.annotations.iter().flat_map(|a| a.keys()) {
                if !label_name(name) {
                    let message = format!("invalid annotation name {name:?}");
                    add(at, format!("{field}.annotations"), message);
                }
            }
            let mut duration = |d: &Option<Spanned<String>>, key: &str| match d {
                None => 0,
                Some(d) => parse_duration(&d.value).unwrap_or_else(|e| {
                    add(&d.referenced, format!("{field}.{key}"), e);
                    0
                }),
            };
            match (&rd.alert, &rd.record) {
                (Some(_), Some(_)) => add(
                    at,
                    field.clone(),
                    "only one of `record` and `alert` may be set".into(),
                ),
                (None, None) => add(at, field.clone(), "set `record` or `alert`".into()),
                (Some(name), None) => {
                    let for_ms = duration(&rd.for_, "for");
                    let keep_firing_for_ms = duration(&rd.keep_firing_for, "keep_firing_for");
                    if name.is_empty() {
                        add(at, format!("{field}.alert"), "an alert needs a name".into());
                    }
                    group.alerts.push(AlertRule {
                        name: name.clone(),
                        expr: rd.expr.clone(),
                        for_ms,
                        keep_firing_for_ms,
                        labels: rd.labels.clone(),
                        at: here,
                    });
                }
                (None, Some(name)) => {
                    if !metric_name(name) {
                        let message = format!("invalid recording rule name {name:?}");
                        add(at, format!("{field}.record"), message);
                    }
                    for (key, given) in [
                        ("for", rd.for_.is_some()),
                        ("keep_firing_for", rd.keep_firing_for.is_some()),
                        ("annotations", rd.annotations.is_some()),
                    ] {
                        if given {
                            let message = format!("a recording rule has no `{key}`");
                            add(at, format!("{field}.{key}"), message);
                        }
                    }
                    group.records.push(RecordingRule {
                        name: name.clone(),
                        expr: rd.expr.clone(),
                        at: here,
                    });
                }
            }
        }
        groups.push(group);
    }
    if errors.is_empty() {
        Ok(groups)
    } else {
        Err(RuleErrors(errors))
    }
}

/// Whether `name` is a Prometheus label name: `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn label_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Whether `name` is a Prometheus metric name: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
fn metric_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// Whether `expr` names the series `name` (not as part of a longer name).
pub fn names_series(expr: &str, name: &str) -> bool {
    let part = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    expr.match_indices(name).any(|(i, _)| {
        let before = expr[..i].chars().next_back();
        let after = expr[i + name.len()..].chars().next();
        !before.is_some_and(part) && !after.is_some_and(part)
    })
}

/// Milliseconds in a Prometheus duration: `0`, or units from largest to smallest, each
/// once (`1h30m`, `90s`, `1d`, `500ms`; `y` is 365 days, `w` 7).
pub fn parse_duration(text: &str) -> Result<u64, String> {
    const UNITS: [(&str, u64); 7] = [
        ("y", 365 * 86_400_000),
        ("w", 7 * 86_400_000),
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
        ("ms", 1),
    ];
    let bad = || format!("{text:?} is not a Prometheus duration (write e.g. 30s, 5m or 1h30m)");
    if text == "0" {
        return Ok(0);
    }
    if text.is_empty() {
        return Err(bad());
    }
    let (mut rest, mut next, mut total) = (text, 0, 0u64);
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit = if rest.starts_with("ms") {
            "ms"
        } else {
            rest.get(..1).ok_or_else(bad)?
        };
        let index = (next..UNITS.len())
            .find(|&k| UNITS[k].0 == unit)
            .ok_or_else(bad)?;
        total = n
            .checked_mul(UNITS[index].1)
            .and_then(|ms| total.checked_add(ms))
            .ok_or_else(|| format!("{text:?} is too long a duration"))?;
        rest = &rest[unit.len()..];
        next = index + 1;
    }
    Ok(total)
}

/// A duration in milliseconds the way Prometheus writes one: `1h30m`, `15s`, `0s`.
pub fn format_duration(ms: u64) -> String {
    if ms == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    let mut rest = ms;
    for (unit, size) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
        ("ms", 1),
    ] {
        if rest >= size {
            out.push_str(&format!("{}{unit}", rest / size));
            rest %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: &str = include_str!("../../../dashboard/rules/vllm-lab.rules.yaml");

    #[test]
    fn the_shipped_rules_parse() {
        let mut set = RuleSet::default();
        set.add(RULES, "vllm-lab.rules.yaml").unwrap();
        assert_eq!(set.records().count(), 3);
        let names: Vec<_> = set.alerts().map(|(_, a)| a.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "VLLMModelDown",
                "VLLMJudgeBacklog",
                "VLLMKVCacheSaturated",
                "VLLMHighP95Latency",
                "VLLMQuantizationNoSpeedup",
                "VLLMLoRAOverhead"
            ]
        );
        let (group, down) = set.alert("VLLMModelDown").unwrap();
        assert_eq!(
            (group.name.as_str(), group.interval_ms),
            ("vllm-lab-alerts", None)
        );
        assert_eq!(down.for_ms, 60_000);
        assert_eq!(down.labels["severity"], "critical");
        assert!(
            down.at.starts_with("vllm-lab.rules.yaml:24:"),
            "{}",
            down.at
        );
        let e = set.add(RULES, "again.yaml").unwrap_err().to_string();
        assert!(
            e.contains("alert VLLMModelDown: also defined at vllm-lab.rules.yaml"),
            "{e}"
        );
    }

    #[test]
    fn bad_rules_are_located() {
        let text = "groups:\n  - name: g\n    interval: 1 minute\n    rules:\n      - alert: A\n        expr: up == 0\n        for: 5 minutes\n      - record: 'not a name'\n        expr: up\n        for: 1m\n      - expr: up\n";
        let e = parse(text, "r.yaml").unwrap_err().0;
        assert_eq!(e.len(), 5, "{e:#?}");
        assert!(
            e[0].starts_with(
                "r.yaml:3:15: groups[0].interval: \"1 minute\" is not a Prometheus duration"
            ),
            "{e:#?}"
        );
        assert!(
            e[1].starts_with("r.yaml:7:14: groups[0].rules[0] (alert A).for: \"5 minutes\""),
            "{e:#?}"
        );
        assert!(
            e[2].contains(
                "groups[0].rules[1] (record not a name).record: invalid recording rule name"
            ),
            "{e:#?}"
        );
        assert!(
            e[3].contains("(record not a name).for: a recording rule has no `for`"),
            "{e:#?}"
        );
        assert!(
            e[4].starts_with("r.yaml:11:9: groups[0].rules[2]: set `record` or `alert`"),
            "{e:#?}"
        );
        let e = parse("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: x\n        fro: 1m\n", "r.yaml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("r.yaml:6:9: unknown field `fro`"), "{e}");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("0"), Ok(0));
        assert_eq!(parse_duration("1h30m"), Ok(5_400_000));
        assert_eq!(parse_duration("1m500ms"), Ok(60_500));
        assert_eq!(parse_duration("2w1d"), Ok(15 * 86_400_000));
        for bad in [
            "",
            "5",
            "1m1h",
            "1m1m",
            "-1m",
            "1.5m",
            "5 m",
            "1é",
            "99999999999999y",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(format_duration(5_430_000), "1h30m30s");
        assert_eq!(format_duration(0), "0s");
    }

    #[test]
    fn series_names_are_whole_words() {
        let expr = "app:x:rate5m{app=\"a\"} > 0 and app:x:rate5m_more";
        assert!(names_series(expr, "app:x:rate5m"));
        assert!(!names_series("app:x:rate5m_more", "app:x:rate5m"));
        assert!(!names_series("", "a"));
    }
}
