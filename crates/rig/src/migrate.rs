//! A dashboard moved to a vLLM release: every Prometheus query naming a vLLM metric
//! the release does not expose is rewritten with the drift rewrites
//! ([`CHANGES`](super::drift::CHANGES)), and nothing else in the file changes.
//!
//! The file is read twice: as the rig's [`Dashboard`](super::Dashboard), which checks
//! its shape, and for where each target's `expr` string sits in the text, so that a
//! rewritten expression replaces exactly those bytes and every other byte (key order,
//! spacing, escapes) stays as it was. Which metrics the release has, and when each
//! one went, come from the [`Releases`] the caller hands over.
//!
//! A query is rewritten one metric at a time, until every vLLM metric it names is in
//! the release: a change is taken only when its rewrite names nothing the release
//! lacks that the query did not already lack. Renames also work backwards, for a
//! dashboard moving to an older release. A metric no change moves (dropped with no
//! successor, or a range selector over a gauge that became a counter) is reported and
//! left as it was.

use std::fmt;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::dashboard::{self, DataSourceRef};
use super::drift::{self, Change};
use super::releases::{Release, Releases};

/// A dashboard moved to a release.
#[derive(Clone, Debug, PartialEq)]
pub struct Migration {
    /// The dashboard file, rewritten.
    pub text: String,
    /// The release it was moved to, e.g. `0.33.0`.
    pub to: String,
    /// Every target whose query was rewritten, in file order.
    pub rewritten: Vec<Rewritten>,
    /// The metrics that could not be moved, and why; their queries are as they were.
    pub unresolved: Vec<Unresolved>,
    /// Metrics the release still has but calls deprecated.
    pub deprecated: Vec<Deprecated>,
}

/// A target of a panel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetRef {
    /// The panel's id.
    pub panel: Option<u64>,
    /// The panel's title.
    pub title: String,
    /// The target's `refId` (`#N`, its position, when it has none).
    pub ref_id: String,
}

/// One rewritten query.
#[derive(Clone, Debug, PartialEq)]
pub struct Rewritten {
    /// Where it is.
    pub target: TargetRef,
    /// The query as it was.
    pub old: String,
    /// The query now.
    pub new: String,
    /// The metrics it moved, in the order they were moved.
    pub moves: Vec<Move>,
}

/// One metric moved to its successor.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Move {
    /// The series the query named, e.g. `vllm:gpu_cache_usage_perc`.
    pub old: String,
    /// The one it names now.
    pub new: String,
    /// When the old one was deprecated and went, and the change's note.
    pub history: String,
}

/// A metric left as it was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unresolved {
    /// Where it is.
    pub target: TargetRef,
    /// The series the query names.
    pub metric: String,
    /// Why it could not be moved.
    pub why: String,
}

/// A metric the release has, and deprecates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deprecated {
    /// Where it is.
    pub target: TargetRef,
    /// The series the query names.
    pub metric: String,
    /// When it was deprecated and goes.
    pub history: String,
}

/// A dashboard that cannot be migrated: not JSON, or not a dashboard's shape.
#[derive(Debug)]
pub struct MigrateError(String);

impl fmt::Display for MigrateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for MigrateError {}

/// `text`, a dashboard (or Grafana's API envelope), moved to release `to` with
/// `changes` (the rig's [`CHANGES`](super::drift::CHANGES), unless a test wants
/// others); `releases` say when each metric went.
pub fn migrate(
    text: &str,
    to: &Release,
    releases: &Releases,
    changes: &[Change],
) -> Result<Migration, MigrateError> {
    if !text.trim_start().starts_with('{') && serde_json::from_str::<&RawValue>(text).is_ok() {
        return Err(MigrateError(
            "not a Grafana dashboard: the file is JSON but not an object".to_owned(),
        ));
    }
    dashboard::parse(text).map_err(|e| MigrateError(e.to_string()))?;
    let spans = file_spans(text)?;
    let mut migration = Migration {
        text: String::new(),
        to: to.version.clone(),
        rewritten: Vec::new(),
        unresolved: Vec::new(),
        deprecated: Vec::new(),
    };
    let mut edits: Vec<(std::ops::Range<usize>, String)> = Vec::new();
    let mut targets = Vec::new();
    walk(&spans, &mut targets);
    for (panel, i, target) in targets {
        let Some(raw) = target.expr else {
            continue;
        };
        if !prometheus(panel.datasource.as_ref(), target.datasource.as_ref()) {
            continue;
        }
        let at = TargetRef {
            panel: panel.id,
            title: panel.title.clone().unwrap_or_default(),
            ref_id: target.ref_id.clone().unwrap_or_else(|| format!("#{i}")),
        };
        let expr: String = serde_json::from_str(raw.get()).map_err(|e| {
            MigrateError(format!(
                "{}: target {}: expr: {e}",
                at.panel_label(),
                at.ref_id
            ))
        })?;
        let moved = migrate_expr(&expr, to, releases, changes);
        migration.unresolved.extend(
            moved
                .unresolved
                .into_iter()
                .map(|(metric, why)| Unresolved {
                    target: at.clone(),
                    metric,
                    why,
                }),
        );
        migration
            .deprecated
            .extend(
                moved
                    .deprecated
                    .into_iter()
                    .map(|(metric, history)| Deprecated {
                        target: at.clone(),
                        metric,
                        history,
                    }),
            );
        if moved.moves.is_empty() {
            continue;
        }
        let start = offset(text, raw.get())?;
        let json = serde_json::to_string(&moved.expr).expect("a string serialises");
        edits.push((start..start + raw.get().len(), json));
        migration.rewritten.push(Rewritten {
            target: at,
            old: expr,
            new: moved.expr,
            moves: moved.moves,
        });
    }
    edits.sort_by_key(|(range, _)| range.start);
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (range, json) in edits {
        out.push_str(&text[at..range.start]);
        out.push_str(&json);
        at = range.end;
    }
    out.push_str(&text[at..]);
    migration.text = out;
    Ok(migration)
}

/// One query moved to a release.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ExprMigration {
    /// The query now.
    pub expr: String,
    /// The metrics moved.
    pub moves: Vec<Move>,
    /// Metrics left as they were, and why.
    pub unresolved: Vec<(String, String)>,
    /// Metrics the release has and deprecates, and their history.
    pub deprecated: Vec<(String, String)>,
}

/// `expr` moved to release `to` with `changes`.
pub fn migrate_expr(
    expr: &str,
    to: &Release,
    releases: &Releases,
    changes: &[Change],
) -> ExprMigration {
    let mut out = ExprMigration {
        expr: expr.to_owned(),
        ..ExprMigration::default()
    };
    loop {
        let missing = missing(&out.expr, to);
        let Some(name) = missing
            .iter()
            .find(|n| !out.unresolved.iter().any(|(u, _)| u == *n))
        else {
            break;
        };
        match step(&out.expr, name, &missing, to, releases, changes) {
            Ok((expr, moved)) => {
                out.expr = expr;
                out.moves.push(moved);
            }
            Err(why) => out.unresolved.push((name.clone(), why)),
        }
    }
    for name in vllm_names(&out.expr) {
        if to.metric(&name).is_some_and(|m| m.deprecated)
            && !out.deprecated.iter().any(|(d, _)| *d == name)
        {
            let history = releases.lifetime(&name).to_string();
            out.deprecated.push((name, history));
        }
    }
    out
}

/// Moves `name` in `expr` to its successor in `to`, or says why it cannot.
fn step(
    expr: &str,
    name: &str,
    missing: &[String],
    to: &Release,
    releases: &Releases,
    changes: &[Change],
) -> Result<(String, Move), String> {
    let forward = changes.iter().copied();
    let backward = changes.iter().filter_map(Change::reversed);
    let mut why = None;
    for change in forward.chain(backward) {
        let Some(new) = change.successor(name) else {
            continue;
        };
        let Some(rewritten) = drift::rewrite(expr, &change) else {
            why = Some(format!(
                "a range selector over it becomes a rate of {new}: rewrite it by hand"
            ));
            continue;
        };
        let lacking: Vec<String> = missing_after(&rewritten, name, missing, to);
        if lacking.is_empty() {
            let history = drift::history(name, &new, change.note, releases);
            let moved = Move {
                old: name.to_owned(),
                new,
                history,
            };
            return Ok((rewritten, moved));
        }
        why.get_or_insert_with(|| {
            format!(
                "its successor {} is not in {} either",
                lacking.join(", "),
                to.version
            )
        });
    }
    Err(why.unwrap_or_else(|| {
        let life = releases.lifetime(name);
        if life.known() {
            format!("{life}; no rewrite known")
        } else {
            "in no known vLLM release; no rewrite known".to_owned()
        }
    }))
}

/// The vLLM series `rewritten` names that `to` lacks and the query before the
/// rewrite did not lack (or `name`, when the rewrite kept it).
fn missing_after(rewritten: &str, name: &str, before: &[String], to: &Release) -> Vec<String> {
    missing(rewritten, to)
        .into_iter()
        .filter(|n| n == name || !before.contains(n))
        .collect()
}

/// The vLLM series `expr` names that `to` does not expose, each once, in order.
fn missing(expr: &str, to: &Release) -> Vec<String> {
    vllm_names(expr)
        .into_iter()
        .filter(|n| !to.exposes(n))
        .collect()
}

/// The `vllm:` series `expr` names, each once, in order.
fn vllm_names(expr: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for ident in drift::identifiers(expr) {
        let name = &expr[ident];
        if name.starts_with("vllm:") && !out.iter().any(|n| n == name) {
            out.push(name.to_owned());
        }
    }
    out
}

/// Whether a target goes to Prometheus: its own datasource, else its panel's (unless
/// that is Grafana's mixed datasource), is Prometheus or unnamed.
fn prometheus(panel: Option<&DataSourceRef>, target: Option<&DataSourceRef>) -> bool {
    let mixed = |d: &&DataSourceRef| d.uid.as_deref() == Some("-- Mixed --");
    let ds = target.or(panel.filter(|d| !mixed(d)));
    matches!(
        ds.and_then(|d| d.kind.as_deref()),
        None | Some("" | "prometheus")
    )
}

impl TargetRef {
    /// `panel 5 "Title"`.
    pub fn panel_label(&self) -> String {
        match self.panel {
            Some(id) => format!("panel {id} {:?}", self.title),
            None => format!("panel {:?}", self.title),
        }
    }
}

/// A dashboard file as far as migration reads it: where each target's `expr` is.
#[derive(Deserialize)]
struct FileSpans<'a> {
    #[serde(borrow, default)]
    panels: Option<Vec<PanelSpans<'a>>>,
    /// Grafana's API envelope holds the dashboard here.
    #[serde(borrow, default)]
    dashboard: Option<&'a RawValue>,
}

/// A panel or row.
#[derive(Deserialize)]
struct PanelSpans<'a> {
    #[serde(default)]
    id: Option<u64>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    datasource: Option<DataSourceRef>,
    #[serde(borrow, default)]
    targets: Vec<TargetSpans<'a>>,
    /// A collapsed row's children.
    #[serde(borrow, default)]
    panels: Vec<PanelSpans<'a>>,
}

/// A target: its `expr` as it is written in the file.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TargetSpans<'a> {
    #[serde(default)]
    ref_id: Option<String>,
    #[serde(borrow, default)]
    expr: Option<&'a RawValue>,
    #[serde(default)]
    datasource: Option<DataSourceRef>,
}

/// The panels of `text`, from inside Grafana's envelope when the dashboard is there
/// (as [`dashboard::parse`] reads it).
fn file_spans(text: &str) -> Result<Vec<PanelSpans<'_>>, MigrateError> {
    let shape = |e: serde_json::Error| MigrateError(format!("not a Grafana dashboard: {e}"));
    let file: FileSpans<'_> = serde_json::from_str(text).map_err(shape)?;
    match (file.panels, file.dashboard) {
        (Some(panels), _) => Ok(panels),
        (None, Some(inner)) if inner.get().starts_with('{') => {
            let inner: FileSpans<'_> = serde_json::from_str(inner.get()).map_err(shape)?;
            Ok(inner.panels.unwrap_or_default())
        }
        (None, _) => Ok(Vec::new()),
    }
}

/// Every target of `panels` and their rows' children, in file order, with its panel
/// and position.
fn walk<'p, 'a>(
    panels: &'p [PanelSpans<'a>],
    out: &mut Vec<(&'p PanelSpans<'a>, usize, &'p TargetSpans<'a>)>,
) {
    for p in panels {
        out.extend(p.targets.iter().enumerate().map(|(i, t)| (p, i, t)));
        walk(&p.panels, out);
    }
}

/// Where `part`, a slice of `text`, starts in it.
fn offset(text: &str, part: &str) -> Result<usize, MigrateError> {
    let start = (part.as_ptr() as usize).wrapping_sub(text.as_ptr() as usize);
    if start <= text.len() && text.len() - start >= part.len() {
        Ok(start)
    } else {
        Err(MigrateError(
            "the dashboard's text moved while it was read".to_owned(),
        ))
    }
}

impl Migration {
    /// What was changed and what was not, for people: a Markdown table of the
    /// rewritten targets (panel, target, old query, new query), why each metric
    /// moved, and the metrics left as they were.
    pub fn summary(&self) -> String {
        let cell = |s: &str| s.replace('|', "\\|");
        let panels = {
            let mut ids: Vec<String> = self
                .rewritten
                .iter()
                .map(|r| r.target.panel_label())
                .collect();
            ids.dedup();
            ids.len()
        };
        let mut out = format!(
            "Moved to vLLM {}: {} targets of {panels} panels rewritten, {} metrics left as they were\n",
            self.to,
            self.rewritten.len(),
            self.unresolved.len()
        );
        if !self.rewritten.is_empty() {
            out.push_str("\n| Panel | Target | Old | New |\n|---|---|---|---|\n");
            for r in &self.rewritten {
                out.push_str(&format!(
                    "| {} | {} | `{}` | `{}` |\n",
                    cell(&r.target.panel_label()),
                    r.target.ref_id,
                    cell(&r.old),
                    cell(&r.new)
                ));
            }
            let mut moves: Vec<&Move> = self.rewritten.iter().flat_map(|r| &r.moves).collect();
            moves.sort();
            moves.dedup();
            out.push('\n');
            for m in moves {
                out.push_str(&format!("- `{}` -> `{}`: {}\n", m.old, m.new, m.history));
            }
        }
        if !self.unresolved.is_empty() {
            out.push_str(
                "\nLeft as they were:\n\n| Panel | Target | Metric | Why |\n|---|---|---|---|\n",
            );
            for u in &self.unresolved {
                out.push_str(&format!(
                    "| {} | {} | `{}` | {} |\n",
                    cell(&u.target.panel_label()),
                    u.target.ref_id,
                    u.metric,
                    cell(&u.why)
                ));
            }
        }
        if !self.deprecated.is_empty() {
            out.push_str(&format!("\nStill in {} but deprecated:\n\n", self.to));
            let mut seen: Vec<(&str, &str)> = Vec::new();
            for d in &self.deprecated {
                if !seen.contains(&(&d.metric, &d.history)) {
                    seen.push((&d.metric, &d.history));
                }
            }
            for (metric, history) in seen {
                let panels: Vec<String> = self
                    .deprecated
                    .iter()
                    .filter(|d| d.metric == metric)
                    .map(|d| format!("{} {}", d.target.panel_label(), d.target.ref_id))
                    .collect();
                out.push_str(&format!(
                    "- `{metric}` ({history}): {}\n",
                    panels.join(", ")
                ));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::super::drift::{CHANGES, Rewrite};
    use super::super::releases::sample;
    use super::*;

    /// A dashboard in Grafana's own style, with a collapsed row, a Loki panel and
    /// formatting serde_json would not write.
    const DASHBOARD: &str = r#"{
  "uid": "d",   "title": "T",
  "panels": [
    {"id": 1, "type": "stat", "title": "Throughput",
     "targets": [{"refId": "A", "expr": "avg(vllm:avg_generation_throughput_toks_per_s{app=~\"m-.*\"})"}]},
    {"id": 9, "type": "row", "title": "Row", "collapsed": true, "panels": [
      {"id": 2, "type": "timeseries", "title": "KV",
       "targets": [
         {"refId": "A", "expr": "vllm:gpu_cache_usage_perc{app=\"a\"} * 100", "legendFormat": "A"},
         {"refId": "B", "expr": "vllm:num_requests_swapped{app=\"a\"}"},
         {"refId": "C", "expr": "sum(rate(vllm:e2e_request_latency_seconds_count[5m]))"}
       ]},
      {"id": 3, "type": "logs", "title": "Logs", "datasource": {"type": "loki", "uid": "loki"},
       "targets": [{"refId": "A", "expr": "{app=\"vllm:gpu_cache_usage_perc\"} |= \"x\""}]}
    ]}
  ],
  "schemaVersion": 41
}"#;

    fn release(version: &str) -> Release {
        sample::releases().get(version).unwrap().clone()
    }

    #[test]
    fn rewrites_only_the_expressions_and_keeps_every_other_byte() {
        let releases = sample::releases();
        let m = migrate(DASHBOARD, &release("0.12.0"), &releases, CHANGES).unwrap();
        let expected = DASHBOARD
            .replace(
                r#"avg(vllm:avg_generation_throughput_toks_per_s{app=~\"m-.*\"})"#,
                r#"avg(rate(vllm:generation_tokens_total{app=~\"m-.*\"}[$__rate_interval]))"#,
            )
            .replace(
                r#""vllm:gpu_cache_usage_perc{app=\"a\"} * 100""#,
                r#""vllm:kv_cache_usage_perc{app=\"a\"} * 100""#,
            );
        assert_eq!(m.text, expected);
        let at: Vec<_> = m
            .rewritten
            .iter()
            .map(|r| (r.target.panel, r.target.ref_id.as_str()))
            .collect();
        assert_eq!(at, [(Some(1), "A"), (Some(2), "A")]);
        assert_eq!(
            m.rewritten[1].moves,
            [Move {
                old: "vllm:gpu_cache_usage_perc".to_owned(),
                new: "vllm:kv_cache_usage_perc".to_owned(),
                history:
                    "deprecated in 0.9.2, gone in 0.11.0; vllm:kv_cache_usage_perc added in 0.9.2"
                        .to_owned(),
            }]
        );
        assert_eq!(m.unresolved.len(), 1);
        assert_eq!(
            (
                m.unresolved[0].target.panel,
                m.unresolved[0].metric.as_str()
            ),
            (Some(2), "vllm:num_requests_swapped")
        );
        assert_eq!(m.unresolved[0].why, "gone in 0.9.2; no rewrite known");
        let summary = m.summary();
        assert!(
            summary.starts_with(
                "Moved to vLLM 0.12.0: 2 targets of 2 panels rewritten, 1 metrics left as they were\n"
            ),
            "{summary}"
        );
        assert!(summary.contains(r#"| panel 2 "KV" | A | `vllm:gpu_cache_usage_perc{app="a"} * 100` | `vllm:kv_cache_usage_perc{app="a"} * 100` |"#), "{summary}");
        assert!(summary.contains("| panel 2 \"KV\" | B | `vllm:num_requests_swapped` | gone in 0.9.2; no rewrite known |"), "{summary}");
    }

    #[test]
    fn a_dashboard_with_nothing_to_rewrite_is_unchanged() {
        let releases = sample::releases();
        let m = migrate(DASHBOARD, &release("0.6.4"), &releases, CHANGES).unwrap();
        assert_eq!(m.text, DASHBOARD, "every byte kept");
        assert!(m.rewritten.is_empty() && m.unresolved.is_empty());
        assert_eq!(
            m.summary(),
            "Moved to vLLM 0.6.4: 0 targets of 0 panels rewritten, 0 metrics left as they were\n"
        );
        // Migrating twice is migrating once.
        let once = migrate(DASHBOARD, &release("0.12.0"), &releases, CHANGES).unwrap();
        let twice = migrate(&once.text, &release("0.12.0"), &releases, CHANGES).unwrap();
        assert_eq!(twice.text, once.text);
        assert!(twice.rewritten.is_empty());
    }

    #[test]
    fn deprecated_metrics_are_kept_and_named() {
        let releases = sample::releases();
        let d = r#"{"panels": [{"id": 4, "title": "Decode", "targets": [{"refId": "A",
            "expr": "histogram_quantile(0.95, rate(vllm:time_per_output_token_seconds_bucket[5m]))"}]}]}"#;
        let m = migrate(d, &release("0.11.0"), &releases, CHANGES).unwrap();
        assert_eq!(m.text, d);
        assert_eq!(m.deprecated.len(), 1);
        assert_eq!(
            m.deprecated[0].history,
            "deprecated in 0.11.0, gone in 0.12.0"
        );
        assert!(m.summary().contains(
            "Still in 0.11.0 but deprecated:\n\n- `vllm:time_per_output_token_seconds_bucket` (deprecated in 0.11.0, gone in 0.12.0): panel 4 \"Decode\" A\n"
        ));
        let m = migrate(d, &release("0.12.0"), &releases, CHANGES).unwrap();
        assert!(
            m.text
                .contains("vllm:inter_token_latency_seconds_bucket[5m]")
        );
    }

    #[test]
    fn renames_run_backwards_to_an_older_release() {
        let releases = sample::releases();
        let m = migrate_expr(
            r#"vllm:kv_cache_usage_perc{app="a"} * 100"#,
            &release("0.6.4"),
            &releases,
            CHANGES,
        );
        assert_eq!(m.expr, r#"vllm:gpu_cache_usage_perc{app="a"} * 100"#);
        assert!(m.unresolved.is_empty());
    }

    #[test]
    fn a_rewrite_naming_what_the_release_lacks_is_refused() {
        let releases = sample::releases();
        let typo = [Change {
            old: "vllm:gpu_cache_usage_perc",
            new: "vllm:kv_cache_usage_percent",
            note: "",
            rewrite: Rewrite::Rename,
        }];
        let expr = r#"vllm:gpu_cache_usage_perc{app="a"}"#;
        let m = migrate_expr(expr, &release("0.12.0"), &releases, &typo);
        assert_eq!(m.expr, expr, "left as it was");
        assert_eq!(
            m.unresolved,
            [(
                "vllm:gpu_cache_usage_perc".to_owned(),
                "its successor vllm:kv_cache_usage_percent is not in 0.12.0 either".to_owned()
            )]
        );
        let by_hand = migrate_expr(
            "max_over_time(vllm:avg_generation_throughput_toks_per_s[5m])",
            &release("0.12.0"),
            &releases,
            CHANGES,
        );
        assert_eq!(
            by_hand.unresolved[0].1,
            "a range selector over it becomes a rate of vllm:generation_tokens_total: rewrite it by hand"
        );
        let unknown = migrate_expr("vllm:made_up", &release("0.12.0"), &releases, CHANGES);
        assert_eq!(
            unknown.unresolved[0].1,
            "in no known vLLM release; no rewrite known"
        );
    }

    #[test]
    fn bad_dashboards_are_errors() {
        let releases = sample::releases();
        let to = release("0.12.0");
        for (text, wanted) in [
            ("{", "not a Grafana dashboard: EOF while parsing"),
            (
                "[1]",
                "not a Grafana dashboard: the file is JSON but not an object",
            ),
            ("", "not a Grafana dashboard: EOF while parsing"),
            (
                r#"{"panels": [{"targets": [{"expr": 3}]}]}"#,
                "not a Grafana dashboard: invalid type: integer `3`",
            ),
        ] {
            let e = migrate(text, &to, &releases, CHANGES)
                .unwrap_err()
                .to_string();
            assert!(e.starts_with(wanted), "{text}: {e}");
        }
    }

    #[test]
    fn the_api_envelope_is_migrated_in_place() {
        let releases = sample::releases();
        let text = format!(r#"{{"meta": {{"slug": "d"}}, "dashboard": {DASHBOARD}}}"#);
        let m = migrate(&text, &release("0.12.0"), &releases, CHANGES).unwrap();
        assert_eq!(m.rewritten.len(), 2);
        assert!(
            m.text
                .starts_with(r#"{"meta": {"slug": "d"}, "dashboard": {"#)
        );
        assert!(
            m.text
                .contains(r#""vllm:kv_cache_usage_perc{app=\"a\"} * 100""#)
        );
    }
}
