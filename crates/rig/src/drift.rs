//! Metric drift: which panels lose their vLLM metrics when a fleet upgrades, and the
//! query that replaces each.
//!
//! vLLM renamed or removed metrics that older dashboards query. [`CHANGES`] holds
//! what vLLM's data cannot say: which metric carries an old one's data now, and how
//! to rewrite a query for it. When each change happened comes from the
//! [`Releases`] the caller hands over (the catalogue, for `vllm-sim`): the release
//! that deprecates the old metric and the one it is gone in.
//!
//! [`find`] asks the Prometheus which metric names it holds in the dashboard's range,
//! then looks at every Prometheus target: a query naming an old metric the fleet no
//! longer exposes has *gone* blank; one naming an old metric that is still exposed
//! next to its successor is *deprecated* and goes blank at a later release. Each gets
//! its query rewritten for the new metric, and the rewrite is run, planned as
//! Grafana would plan the panel, to show that it answers.

use std::collections::BTreeSet;

use super::answer::ApiError;
use super::dashboard::Dashboard;
use super::plan::{Action, PanelPlan, QueryKind, Settings, plan_panel};
use super::prom_api::Prometheus;
use super::releases::Releases;

/// How a query moves from an old metric to its successor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rewrite {
    /// The same samples under a new name; histogram suffixes are kept.
    Rename,
    /// The old selector `m{…}` becomes this expression, `$SEL` standing for the
    /// selector's `{…}` (or nothing).
    Expr(&'static str),
}

/// One metric vLLM renamed or removed, and what replaces it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Change {
    /// The name older dashboards query (a histogram's base name).
    pub old: &'static str,
    /// The metric that carries its data now.
    pub new: &'static str,
    /// What the change means beyond its releases (which come from the release
    /// data); empty when a rename says it all.
    pub note: &'static str,
    /// How to rewrite a query.
    pub rewrite: Rewrite,
}

impl Change {
    /// The same rename the other way, for a dashboard moving to an older release;
    /// `None` for a rewrite that is not a rename.
    pub fn reversed(&self) -> Option<Change> {
        (self.rewrite == Rewrite::Rename).then_some(Change {
            old: self.new,
            new: self.old,
            note: self.note,
            rewrite: Rewrite::Rename,
        })
    }

    /// The successor of `name`, the series a query names, if this change moves it:
    /// `name` itself is the old metric, or (for a rename) one of its histogram
    /// series.
    pub fn successor(&self, name: &str) -> Option<String> {
        let suffix = name.strip_prefix(self.old)?;
        match self.rewrite {
            Rewrite::Expr(_) if suffix.is_empty() => Some(self.new.to_owned()),
            Rewrite::Rename if suffix.is_empty() || HISTOGRAM_SUFFIXES.contains(&suffix) => {
                Some(format!("{}{suffix}", self.new))
            }
            _ => None,
        }
    }
}

/// vLLM's renames and removals from 0.6 (V0) to the V1 engine, as vLLM's deprecation
/// notes give them (`vllm/v1/metrics/loggers.py`, the V1 metrics design doc). When
/// two changes share an old metric, the first whose successor a release has wins.
pub static CHANGES: &[Change] = &[
    Change {
        old: "vllm:gpu_cache_usage_perc",
        new: "vllm:kv_cache_usage_perc",
        note: "",
        rewrite: Rewrite::Rename,
    },
    Change {
        old: "vllm:avg_generation_throughput_toks_per_s",
        new: "vllm:generation_tokens_total",
        note: "a gauge of the last stats interval (vLLM PR #12383); the counter's rate replaces it",
        rewrite: Rewrite::Expr("rate(vllm:generation_tokens_total$SEL[$__rate_interval])"),
    },
    Change {
        old: "vllm:avg_prompt_throughput_toks_per_s",
        new: "vllm:prompt_tokens_total",
        note: "a gauge of the last stats interval (vLLM PR #12383); the counter's rate replaces it",
        rewrite: Rewrite::Expr("rate(vllm:prompt_tokens_total$SEL[$__rate_interval])"),
    },
    Change {
        old: "vllm:time_per_output_token_seconds",
        new: "vllm:inter_token_latency_seconds",
        note: "",
        rewrite: Rewrite::Rename,
    },
    Change {
        old: "vllm:gpu_prefix_cache_hit_rate",
        new: "vllm:prefix_cache_hits_total",
        note: "V0 only; V1 counts hits and queries instead",
        rewrite: Rewrite::Expr(
            "(rate(vllm:prefix_cache_hits_total$SEL[$__rate_interval]) / rate(vllm:prefix_cache_queries_total$SEL[$__rate_interval]))",
        ),
    },
    Change {
        old: "vllm:gpu_prefix_cache_hit_rate",
        new: "vllm:gpu_prefix_cache_hits_total",
        note: "V0 only; V1 counts hits and queries instead",
        rewrite: Rewrite::Expr(
            "(rate(vllm:gpu_prefix_cache_hits_total$SEL[$__rate_interval]) / rate(vllm:gpu_prefix_cache_queries_total$SEL[$__rate_interval]))",
        ),
    },
    Change {
        old: "vllm:gpu_prefix_cache_queries_total",
        new: "vllm:prefix_cache_queries_total",
        note: "",
        rewrite: Rewrite::Rename,
    },
    Change {
        old: "vllm:gpu_prefix_cache_hits_total",
        new: "vllm:prefix_cache_hits_total",
        note: "",
        rewrite: Rewrite::Rename,
    },
    Change {
        old: "vllm:time_in_queue_requests",
        new: "vllm:request_queue_time_seconds",
        note: "V0 only, a duplicate of the queue-time histogram",
        rewrite: Rewrite::Rename,
    },
];

/// What the report says about a change of `old` (the series a query names) to
/// `new`: when the old one was deprecated and went, from `releases`, when the new one
/// came if not from the start, and the change's note.
pub fn history(old: &str, new: &str, note: &str, releases: &Releases) -> String {
    let mut parts = Vec::new();
    if !releases.0.is_empty() {
        parts.push(releases.lifetime(old).to_string());
        if let Some(added) = releases.lifetime(new).added
            && releases.0.first().is_some_and(|r| r.version != added)
        {
            parts.push(format!("{new} added in {added}"));
        }
    }
    if !note.is_empty() {
        parts.push(note.to_owned());
    }
    if parts.is_empty() {
        return "no release data".to_owned();
    }
    parts.join("; ")
}

/// The suffixes of a histogram's series.
const HISTOGRAM_SUFFIXES: [&str; 3] = ["_bucket", "_sum", "_count"];

/// Whether a query's metric is gone or only deprecated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DriftStatus {
    /// The fleet no longer exposes it: the query has no data.
    Gone,
    /// Still exposed, next to its successor: it goes blank at a later release.
    Deprecated,
}

impl DriftStatus {
    /// `gone` or `deprecated`.
    pub fn label(self) -> &'static str {
        match self {
            DriftStatus::Gone => "gone",
            DriftStatus::Deprecated => "deprecated",
        }
    }
}

/// One query that names a changed metric.
#[derive(Clone, Debug, PartialEq)]
pub struct Drift {
    /// The panel's position in the report.
    pub panel: usize,
    /// The target's `refId`.
    pub ref_id: String,
    /// The metric as the query names it, e.g. `vllm:time_per_output_token_seconds_bucket`.
    pub old: String,
    /// Its successor, e.g. `vllm:inter_token_latency_seconds_bucket`.
    pub new: String,
    /// Gone or deprecated.
    pub status: DriftStatus,
    /// When and how it changed: the releases that deprecate and drop the old
    /// metric, from the release data, and the change's note.
    pub history: String,
    /// The query as the dashboard has it.
    pub query: String,
    /// The query rewritten for the successor; `None` when it cannot be rewritten
    /// mechanically (e.g. a range selector over a metric that became a rate).
    pub suggested: Option<String>,
    /// How many series the rewrite returned, or why it could not run.
    pub answer: Result<usize, String>,
}

/// Every drifted query of `plans`, checked against what `prometheus` holds between
/// `settings.from_ms` and `settings.to_ms`; each change's history from `releases`.
pub fn find(
    dashboard: &Dashboard,
    plans: &[PanelPlan<'_>],
    settings: &Settings,
    prometheus: &Prometheus,
    releases: &Releases,
) -> Result<Vec<Drift>, ApiError> {
    let names = prometheus.metric_names(
        settings.from_ms as f64 / 1000.0,
        settings.to_ms as f64 / 1000.0,
    )?;
    let mut found = Vec::new();
    for p in plans {
        let Action::Run(queries) = &p.action else {
            continue;
        };
        for q in queries {
            if matches!(q.kind, QueryKind::Loki { .. }) {
                continue;
            }
            let Some(expr) = p.panel.targets[q.target].expr.as_deref() else {
                continue;
            };
            for mut d in detect(expr, &names, releases) {
                d.panel = p.index;
                d.ref_id = q.ref_id.clone();
                d.answer = match &d.suggested {
                    Some(s) => run_rewrite(dashboard, p, q.target, s, settings, prometheus),
                    None => Err("rewrite it by hand".to_owned()),
                };
                found.push(d);
            }
        }
    }
    Ok(found)
}

/// Plans the panel again with target `target` replaced by `expr`, and runs it.
fn run_rewrite(
    dashboard: &Dashboard,
    p: &PanelPlan<'_>,
    target: usize,
    expr: &str,
    settings: &Settings,
    prometheus: &Prometheus,
) -> Result<usize, String> {
    let mut panel = p.panel.clone();
    panel.targets[target].expr = Some(expr.to_owned());
    let Action::Run(queries) = plan_panel(dashboard, &panel, settings) else {
        return Err("the rewritten panel does not plan".to_owned());
    };
    let q = queries
        .iter()
        .find(|q| q.target == target)
        .ok_or("the rewritten target does not plan")?;
    let answer = match q.kind {
        QueryKind::Range { start, end, step } => prometheus.query_range(&q.expr, start, end, step),
        QueryKind::Instant { time } => prometheus.query(&q.expr, time),
        QueryKind::Loki { .. } => return Err("a Loki target".to_owned()),
    };
    answer
        .map(|series| series.iter().filter(|s| !s.points.is_empty()).count())
        .map_err(|e| e.to_string())
}

/// The changed metrics `expr` names, judged against the metric `names` the fleet
/// has, with their history from `releases`. Pure; `panel`, `ref_id` and `answer`
/// are left for [`find`] to fill in.
pub fn detect(expr: &str, names: &BTreeSet<String>, releases: &Releases) -> Vec<Drift> {
    let mut found: Vec<Drift> = Vec::new();
    for ident in identifiers(expr) {
        let name = &expr[ident.clone()];
        for change in CHANGES {
            let Some(new) = change.successor(name) else {
                continue;
            };
            if found.iter().any(|d| d.old == name) {
                continue;
            }
            let status = match (names.contains(name), names.contains(&new)) {
                (false, true) => DriftStatus::Gone,
                (true, true) => DriftStatus::Deprecated,
                _ => continue,
            };
            found.push(Drift {
                panel: 0,
                ref_id: String::new(),
                old: name.to_owned(),
                history: history(name, &new, change.note, releases),
                new,
                status,
                query: expr.to_owned(),
                suggested: rewrite(expr, change),
                answer: Err("not run".to_owned()),
            });
        }
    }
    found
}

/// `expr` with every use of `change.old` moved to its successor; `None` when a use
/// cannot be rewritten mechanically.
pub fn rewrite(expr: &str, change: &Change) -> Option<String> {
    let mut out = String::new();
    let mut at = 0;
    for ident in identifiers(expr) {
        let name = &expr[ident.clone()];
        let Some(suffix) = name.strip_prefix(change.old) else {
            continue;
        };
        match change.rewrite {
            Rewrite::Rename if suffix.is_empty() || HISTOGRAM_SUFFIXES.contains(&suffix) => {
                out.push_str(&expr[at..ident.start]);
                out.push_str(change.new);
                out.push_str(suffix);
                at = ident.end;
            }
            Rewrite::Expr(template) if suffix.is_empty() => {
                let selector_end = selector_end(expr, ident.end)?;
                if expr[selector_end..].trim_start().starts_with('[') {
                    return None;
                }
                out.push_str(&expr[at..ident.start]);
                out.push_str(&template.replace("$SEL", expr[ident.end..selector_end].trim()));
                at = selector_end;
            }
            _ => {}
        }
    }
    out.push_str(&expr[at..]);
    Some(out)
}

/// The byte ranges of the identifiers of a PromQL (or Grafana-templated) query:
/// metric, label and function names, outside string literals and durations.
pub(super) fn identifiers(expr: &str) -> Vec<std::ops::Range<usize>> {
    let bytes = expr.as_bytes();
    let ident_start = |b: u8| b.is_ascii_alphabetic() || b == b'_' || b == b':';
    let ident_part = |b: u8| ident_start(b) || b.is_ascii_digit();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if matches!(b, b'"' | b'\'' | b'`') {
            i = string_end(bytes, i);
        } else if b.is_ascii_digit() || b == b'$' {
            // A number, a duration (`5m`) or a variable (`$__rate_interval`).
            i += 1;
            while i < bytes.len() && (ident_part(bytes[i]) || bytes[i] == b'.') {
                i += 1;
            }
        } else if ident_start(b) {
            let start = i;
            while i < bytes.len() && ident_part(bytes[i]) {
                i += 1;
            }
            out.push(start..i);
        } else {
            i += 1;
        }
    }
    out
}

/// The index just past the string literal opening at `open`.
fn string_end(bytes: &[u8], open: usize) -> usize {
    let quote = bytes[open];
    let mut i = open + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if quote != b'`' => i += 2,
            b if b == quote => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// The index just past the label selector `{…}` following a metric name that ends
/// at `at` (`at` itself when there is none); `None` for an unclosed selector.
fn selector_end(expr: &str, at: usize) -> Option<usize> {
    let bytes = expr.as_bytes();
    let open = at + (expr[at..].len() - expr[at..].trim_start().len());
    if bytes.get(open) != Some(&b'{') {
        return Some(at);
    }
    let mut i = open + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'"' | b'\'' | b'`' => i = string_end(bytes, i),
            b'}' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::releases::sample;
    use super::*;

    fn names(list: &[&str]) -> BTreeSet<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    fn change(old: &str) -> &'static Change {
        CHANGES.iter().find(|c| c.old == old).unwrap()
    }

    #[test]
    fn renames_keep_selectors_and_histogram_suffixes() {
        let expr = r#"histogram_quantile(0.95, sum by (le)(rate(vllm:time_per_output_token_seconds_bucket{app="mistral-7b-awq"}[5m])))"#;
        assert_eq!(
            rewrite(expr, change("vllm:time_per_output_token_seconds")).as_deref(),
            Some(
                r#"histogram_quantile(0.95, sum by (le)(rate(vllm:inter_token_latency_seconds_bucket{app="mistral-7b-awq"}[5m])))"#
            )
        );
        assert_eq!(
            rewrite(
                r#"avg(vllm:gpu_cache_usage_perc{app=~"mistral-7b-.*"}) * 100"#,
                change("vllm:gpu_cache_usage_perc")
            )
            .as_deref(),
            Some(r#"avg(vllm:kv_cache_usage_perc{app=~"mistral-7b-.*"}) * 100"#)
        );
    }

    #[test]
    fn gauges_that_became_counters_become_rates() {
        let c = change("vllm:avg_generation_throughput_toks_per_s");
        assert_eq!(
            rewrite(
                r#"vllm:avg_generation_throughput_toks_per_s{app="mistral-7b-awq", x="}"}"#,
                c
            )
            .as_deref(),
            Some(
                r#"rate(vllm:generation_tokens_total{app="mistral-7b-awq", x="}"}[$__rate_interval])"#
            )
        );
        assert_eq!(
            rewrite("avg(vllm:avg_generation_throughput_toks_per_s)", c).as_deref(),
            Some("avg(rate(vllm:generation_tokens_total[$__rate_interval]))")
        );
        assert_eq!(
            rewrite(
                "max_over_time(vllm:avg_generation_throughput_toks_per_s[5m])",
                c
            ),
            None,
            "a range over a rate needs a subquery: by hand"
        );
        // Names inside strings, longer names and durations are not uses.
        let untouched = r#"label_replace(vllm:avg_generation_throughput_toks_per_s_x, "a", "vllm:avg_generation_throughput_toks_per_s", "", "")"#;
        assert_eq!(rewrite(untouched, c).as_deref(), Some(untouched));
    }

    #[test]
    fn gone_deprecated_or_nothing_to_say() {
        let expr = r#"vllm:gpu_cache_usage_perc{app="x"} * 100"#;
        let v1 = names(&["vllm:kv_cache_usage_perc"]);
        let releases = sample::releases();
        let d = detect(expr, &v1, &releases);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].status, DriftStatus::Gone);
        assert_eq!(d[0].new, "vllm:kv_cache_usage_perc");
        assert_eq!(
            d[0].history,
            "deprecated in 0.9.2, gone in 0.11.0; vllm:kv_cache_usage_perc added in 0.9.2",
            "the history is the release data's"
        );
        assert_eq!(
            d[0].suggested.as_deref(),
            Some(r#"vllm:kv_cache_usage_perc{app="x"} * 100"#)
        );
        let both = names(&["vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc"]);
        assert_eq!(
            detect(expr, &both, &releases)[0].status,
            DriftStatus::Deprecated
        );
        let v0 = names(&["vllm:gpu_cache_usage_perc"]);
        assert!(
            detect(expr, &v0, &releases).is_empty(),
            "an old fleet has not drifted"
        );
        assert!(
            detect(expr, &names(&[]), &releases).is_empty(),
            "nothing to go on"
        );

        let tpot = "rate(vllm:time_per_output_token_seconds_sum[5m]) / rate(vllm:time_per_output_token_seconds_count[5m])";
        let v011 = names(&[
            "vllm:time_per_output_token_seconds_sum",
            "vllm:time_per_output_token_seconds_count",
            "vllm:inter_token_latency_seconds_sum",
            "vllm:inter_token_latency_seconds_count",
        ]);
        let d = detect(tpot, &v011, &releases);
        assert_eq!(d.len(), 2);
        assert!(d.iter().all(|d| d.status == DriftStatus::Deprecated));
        assert_eq!(
            d[0].history,
            "deprecated in 0.11.0, gone in 0.12.0; vllm:inter_token_latency_seconds_sum added in 0.11.0"
        );
        assert_eq!(
            detect(tpot, &v011, &Releases::default())[0].history,
            "no release data"
        );
        assert_eq!(
            d[0].suggested.as_deref(),
            Some(
                "rate(vllm:inter_token_latency_seconds_sum[5m]) / rate(vllm:inter_token_latency_seconds_count[5m])"
            )
        );
    }

    #[test]
    fn notes_name_no_release() {
        for c in CHANGES {
            let version = c
                .note
                .as_bytes()
                .windows(3)
                .any(|w| w[0].is_ascii_digit() && w[1] == b'.' && w[2].is_ascii_digit());
            assert!(
                !version,
                "{}: releases come from the release data, not the note: {:?}",
                c.old, c.note
            );
        }
    }

    #[test]
    fn successors_and_reversed_renames() {
        let tpot = change("vllm:time_per_output_token_seconds");
        assert_eq!(
            tpot.successor("vllm:time_per_output_token_seconds_count")
                .as_deref(),
            Some("vllm:inter_token_latency_seconds_count")
        );
        assert_eq!(tpot.successor("vllm:time_per_output_token_seconds_x"), None);
        let back = tpot.reversed().unwrap();
        assert_eq!(
            back.successor("vllm:inter_token_latency_seconds_bucket")
                .as_deref(),
            Some("vllm:time_per_output_token_seconds_bucket")
        );
        let rate = change("vllm:avg_generation_throughput_toks_per_s");
        assert_eq!(
            rate.reversed(),
            None,
            "a rate does not turn back into a gauge"
        );
        assert_eq!(
            rate.successor("vllm:avg_generation_throughput_toks_per_s")
                .as_deref(),
            Some("vllm:generation_tokens_total")
        );
    }
}
