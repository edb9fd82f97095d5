//! The lab's alerting and recording rules (`dashboard/rules/`): valid for promtool,
//! each alert proven on its promtool unit test (and the tests able to fail), the
//! Kubernetes `PrometheusRule` holding the same groups; and `verify --rules`: every
//! shipped scenario's alerts from its backfill, rules that cannot fire or parse, bad
//! input, and the rig's timeline against Prometheus's own rule manager.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::Parser;
use serde_json::Value;
use vllm_sim::cli::{Cli, Command};
use vllm_sim::rig::alert_check::NOTHING_ELSE;
use vllm_sim::rig::alerting::{Labels, describe};
use vllm_sim::rig::report::Outcome;
use vllm_sim::rig::{self, Format, Report};
use vllm_sim::scenario::builtin;
use vllm_sim_tests::{Prometheus, Sim, eventually, promtool, repo_root, require, tool_available};

const RULES: &str = "dashboard/rules/vllm-lab.rules.yaml";
const RULE_TESTS: &str = "dashboard/rules/tests/vllm-lab.test.yaml";

fn path(relative: &str) -> String {
    repo_root().join(relative).to_str().unwrap().to_owned()
}

fn yaml(relative: &str) -> Value {
    let text = std::fs::read_to_string(path(relative)).unwrap();
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

#[test]
fn promtool_accepts_the_rules() {
    require!("promtool");
    let (code, out) = promtool(&["check", "rules", &path(RULES)], "");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("SUCCESS: 9 rules found"), "{out}");
}

#[test]
fn every_alert_fires_on_its_incident_and_not_beside_it() {
    require!("promtool");
    let (code, out) = promtool(&["test", "rules", &path(RULE_TESTS)], "");
    assert_eq!(code, 0, "{out}");
    // Every alert the rules define has a case that expects it to fire.
    let tests = std::fs::read_to_string(path(RULE_TESTS)).unwrap();
    for alert in alerts() {
        assert!(
            tests.contains(&format!(
                "alertname: {alert}\n        exp_alerts:\n          - exp_labels:"
            )),
            "no firing case for {alert}"
        );
    }
}

/// The unit tests can fail: the judge's threshold raised so that it never fires.
#[test]
fn a_rule_that_can_never_fire_fails_its_test() {
    require!("promtool");
    let dir = tempfile::tempdir().unwrap();
    let rules = std::fs::read_to_string(path(RULES)).unwrap();
    let broken = rules.replace(
        r#"vllm:num_requests_waiting{app="mistral-7b-judge"}) > 10"#,
        r#"vllm:num_requests_waiting{app="mistral-7b-judge"}) > 10000"#,
    );
    assert_ne!(broken, rules);
    std::fs::create_dir(dir.path().join("tests")).unwrap();
    std::fs::write(dir.path().join("vllm-lab.rules.yaml"), broken).unwrap();
    let tests = std::fs::read_to_string(path(RULE_TESTS)).unwrap();
    let test_file = dir.path().join("tests/vllm-lab.test.yaml");
    std::fs::write(&test_file, tests).unwrap();
    let (code, out) = promtool(&["test", "rules", test_file.to_str().unwrap()], "");
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("alertname: VLLMJudgeBacklog"), "{out}");
}

#[test]
fn the_prometheus_rule_holds_the_same_groups() {
    let rule = yaml("k8s/base/observability/vllm-lab-rules.yaml");
    assert_eq!(rule["kind"], "PrometheusRule");
    assert_eq!(
        rule["spec"]["groups"],
        yaml(RULES)["groups"],
        "regenerate the PrometheusRule (its header says how)"
    );
}

/// The alert names the rule file defines.
fn alerts() -> Vec<String> {
    let rules = yaml(RULES);
    let names: Vec<String> = rules["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap())
        .filter_map(|r| r["alert"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(names.len(), 6, "{names:?}");
    names
}

// ---- verify --rules: the alerts over a scenario's history, and against Prometheus's
// ---- own rule manager.

/// The rule files, as `dashboard/rules/*.yaml` expands.
fn rule_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo_root().join("dashboard/rules"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    files
}

/// A Prometheus holding the last 30 minutes of `scenario` and its recorded series
/// (promtool's rule backfill), and the window's end.
fn backfilled_with_rules(scenario: &str) -> Option<(Prometheus, u64)> {
    if !tool_available("promtool") || !tool_available("prometheus") {
        return None;
    }
    let (text, end) = crate::verify::backfill_text(builtin(scenario).unwrap());
    let start = end - crate::verify::WINDOW;
    let prometheus = Prometheus::start_on_backfill_with_rules(&text, &rule_files(), start, end);
    Some((prometheus, end))
}

/// `vllm-sim verify ARGS` as the command line takes them, and its report.
fn verify_cli(args: &[String]) -> anyhow::Result<Report> {
    let cli = Cli::try_parse_from(
        ["vllm-sim", "verify"]
            .into_iter()
            .map(String::from)
            .chain(args.iter().cloned()),
    )?;
    match cli.command {
        Some(Command::Verify(a)) => vllm_sim::cli::verify_report(a).map(|(report, _)| report),
        other => panic!("{other:?}"),
    }
}

/// `--prometheus URL --from T --to T --rules FILE... [extra]`.
fn args(url: &str, from: u64, to: u64, rules: &[PathBuf], extra: &[&str]) -> Vec<String> {
    let mut a = vec![
        format!("--prometheus={url}"),
        format!("--from={from}"),
        format!("--to={to}"),
        "--rules".to_owned(),
    ];
    a.extend(rules.iter().map(|r| r.display().to_string()));
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

/// `verify --rules dashboard/rules/*.yaml --scenario S` passes on S's backfill, its
/// alerts as the scenario says, nothing else firing.
fn scenario_alerts_verify(scenario: &str) -> Option<Report> {
    let (prometheus, end) = backfilled_with_rules(scenario)?;
    let a = args(
        &prometheus.url,
        end - crate::verify::WINDOW,
        end,
        &rule_files(),
        &["--scenario", scenario],
    );
    let report = verify_cli(&a).unwrap();
    let table = report.render(Format::Table);
    assert_eq!(report.summary().failed, 0, "{scenario}:\n{table}");
    let alerts = report.alerts.as_ref().expect("alerts evaluated");
    assert_eq!(alerts.timelines.len(), 6, "{table}");
    assert!(alerts.errors.is_empty() && alerts.timelines.iter().all(|t| t.error.is_none()));
    let last = alerts.checks.last().expect("checks");
    assert_eq!(
        (last.name.as_str(), last.outcome),
        (NOTHING_ELSE, Outcome::Passed),
        "{table}"
    );
    let json: serde_json::Value = serde_json::from_str(&report.render(Format::Json)).unwrap();
    assert_eq!(json["alerts"]["rules"].as_array().unwrap().len(), 6);
    let junit = report.render(Format::Junit);
    assert!(
        junit.contains("alerts: no other alert fires") && junit.contains("Alerts ("),
        "{junit}"
    );
    Some(report)
}

/// The firing episodes of `alert` in `report`, as `describe` writes them.
fn fired(report: &Report, alert: &str) -> Vec<String> {
    let alerts = report.alerts.as_ref().unwrap();
    let t = alerts.timelines.iter().find(|t| t.alert == alert).unwrap();
    t.episodes
        .iter()
        .filter(|e| e.fired_at_ms.is_some())
        .map(|e| describe(e, alerts.start_ms))
        .collect()
}

#[test]
fn healthy_fires_no_alert() {
    let Some(report) = scenario_alerts_verify("healthy") else {
        return;
    };
    let alerts = report.alerts.unwrap();
    assert!(
        alerts
            .timelines
            .iter()
            .all(|t| t.episodes.iter().all(|e| e.fired_at_ms.is_none()))
    );
}

#[test]
fn judge_backlog_fires_the_backlog_alert() {
    let Some(report) = scenario_alerts_verify("judge-backlog") else {
        return;
    };
    let backlog = fired(&report, "VLLMJudgeBacklog");
    assert_eq!(backlog.len(), 1, "{backlog:?}");
    assert!(
        backlog[0].contains("app=\"mistral-7b-judge\"") && backlog[0].ends_with("until the end")
    );
}

#[test]
fn spot_preemption_fires_model_down_for_each_outage() {
    let Some(report) = scenario_alerts_verify("spot-preemption") else {
        return;
    };
    let down = fired(&report, "VLLMModelDown");
    assert_eq!(down.len(), 3, "{down:?}");
    assert!(
        down.iter()
            .all(|d| d.contains("app=\"mistral-7b-awq\"") && !d.ends_with("the end"))
    );
}

#[test]
fn awq_not_quantized_fires_no_speedup() {
    let Some(report) = scenario_alerts_verify("awq-not-quantized") else {
        return;
    };
    assert_eq!(fired(&report, "VLLMQuantizationNoSpeedup").len(), 1);
}

#[test]
fn t4_reality_fires_latency_and_backlog() {
    let Some(report) = scenario_alerts_verify("t4-reality") else {
        return;
    };
    assert_eq!(fired(&report, "VLLMHighP95Latency").len(), 4);
    assert_eq!(fired(&report, "VLLMLoRAOverhead").len(), 0);
}

/// Writes `text` as `name` in a new temporary directory.
fn temp_file(name: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(name);
    std::fs::write(&file, text).unwrap();
    (dir, file)
}

/// A judge threshold it can never pass fails verify on judge-backlog, naming the
/// alert; an expression Prometheus cannot parse is an error naming file and rule.
#[test]
fn a_rule_that_cannot_fire_or_cannot_parse_fails_verify() {
    let Some((prometheus, end)) = backfilled_with_rules("judge-backlog") else {
        return;
    };
    let rules = std::fs::read_to_string(path(RULES)).unwrap();
    let never = rules.replace(
        r#"vllm:num_requests_waiting{app="mistral-7b-judge"}) > 10"#,
        r#"vllm:num_requests_waiting{app="mistral-7b-judge"}) > 10000"#,
    );
    assert_ne!(never, rules);
    let (_dir, file) = temp_file("never.rules.yaml", &never);
    let from = end - crate::verify::WINDOW;
    let a = args(
        &prometheus.url,
        from,
        end,
        std::slice::from_ref(&file),
        &["--scenario", "judge-backlog"],
    );
    let report = verify_cli(&a).unwrap();
    let table = report.render(Format::Table);
    assert!(report.summary().failed > 0, "{table}");
    let checks = &report.alerts.as_ref().unwrap().checks;
    let failed: Vec<_> = checks
        .iter()
        .filter(|c| c.outcome == Outcome::Failed)
        .collect();
    assert_eq!(failed.len(), 1, "{table}");
    assert!(
        failed[0].name.contains("VLLMJudgeBacklog")
            && failed[0].message.ends_with("it never fired"),
        "{table}"
    );
    assert!(table.contains("[FAIL] VLLMJudgeBacklog"), "{table}");
    assert!(
        report
            .render(Format::Junit)
            .contains("alerts: VLLMJudgeBacklog")
    );

    let garbled = rules.replace(
        "up{job=\"vllm\", app=~\"mistral-7b-.*\"} == 0",
        "up{job=\"vllm\" == 0",
    );
    assert_ne!(garbled, rules);
    let (_dir2, file) = temp_file("garbled.rules.yaml", &garbled);
    let (code, out) = promtool(&["check", "rules", file.to_str().unwrap()], "");
    assert_ne!(code, 0, "promtool rejects it: {out}");
    let report = verify_cli(&args(
        &prometheus.url,
        from,
        end,
        std::slice::from_ref(&file),
        &[],
    ))
    .unwrap();
    let t = &report.alerts.as_ref().unwrap().timelines[0];
    let error = t.error.as_deref().unwrap_or_default();
    assert!(
        error.starts_with(&format!(
            "{}:24:9: alert VLLMModelDown (group vllm-lab-alerts): bad_data: ",
            file.display()
        )),
        "{error}"
    );
    assert!(report.summary().failed > 0);
}

/// Mistakes in the rule files or the scenario's alerts stop verify before it asks
/// anything, naming the file, line, column and rule or field.
#[test]
fn bad_rule_files_and_unknown_alerts_are_errors_naming_where() {
    let rules = std::fs::read_to_string(path(RULES)).unwrap();
    let bad = rules.replacen("for: 1m", "for: 1 minute", 1);
    let (_dir, file) = temp_file("bad.rules.yaml", &bad);
    if tool_available("promtool") {
        let (code, out) = promtool(&["check", "rules", file.to_str().unwrap()], "");
        assert_ne!(code, 0, "promtool rejects it too: {out}");
    }
    let e = verify_cli(&args(
        "http://127.0.0.1:9",
        0,
        60,
        std::slice::from_ref(&file),
        &[],
    ))
    .unwrap_err();
    assert_eq!(
        format!("{e:#}"),
        format!(
            "{}:26:14: groups[1].rules[0] (alert VLLMModelDown).for: \"1 minute\" is not a Prometheus duration (write e.g. 30s, 5m or 1h30m)",
            file.display()
        )
    );
    let scenario =
        std::fs::read_to_string(repo_root().join("scenarios/judge-backlog.yaml")).unwrap();
    let typo = scenario.replace("{alert: VLLMJudgeBacklog,", "{alert: VLLMJudgeBaklog,");
    assert_ne!(typo, scenario);
    let (_dir2, scenario_file) = temp_file("typo.yaml", &typo);
    let s = scenario_file.display().to_string();
    let e = verify_cli(&args(
        "http://127.0.0.1:9",
        0,
        60,
        &rule_files(),
        &["--scenario", &s],
    ))
    .unwrap_err()
    .to_string();
    let line = typo
        .lines()
        .position(|l| l.contains("VLLMJudgeBaklog"))
        .unwrap()
        + 1;
    assert!(
        e.starts_with(&format!(
            "{s}:{line}:13: alerts[0].alert: no alerting rule named VLLMJudgeBaklog in {}",
            rule_files()[0].display()
        )),
        "{e}"
    );
}

/// The rig's timeline is the one Prometheus's own rule manager keeps: the shipped
/// rules (their `for`s a twentieth, as the lab runs 20 times faster) loaded into a
/// Prometheus scraping a live spot-preemption lab every second and evaluating every
/// second, compared over the same span with `ALERTS` and `/api/v1/alerts`.
///
/// Prometheus evaluates a group at a fixed offset within its interval (from a hash of
/// its name and file) and the rig on the interval's multiples, so each reads the
/// scrapes up to a different instant: a change of state may land one evaluation (1 s)
/// apart, and no more.
#[test]
fn the_rig_agrees_with_prometheus_s_rule_manager() {
    if !tool_available("prometheus") {
        return;
    }
    let rules = std::fs::read_to_string(path(RULES)).unwrap();
    let fast = rules
        .replace("for: 10m", "for: 30s")
        .replace("for: 5m", "for: 15s")
        .replace("for: 2m", "for: 6s")
        .replace("for: 1m", "for: 3s");
    assert!(!fast.contains("for: 1m") && fast.contains("for: 3s"));
    let (_dir, file) = temp_file("fast.rules.yaml", &fast);
    let sim = Sim::start(builtin("spot-preemption").unwrap(), 20.0);
    let config = format!(
        "{}rule_files:\n  - {}\n",
        sim.scrape_config("1s", None),
        file.display()
    );
    let started = now_secs();
    let prometheus = Prometheus::start_config(&config);
    // The AWQ pod is down from 6 s to 15 s of wall time (2 m to 5 m simulated): ask
    // Prometheus's alerts while it fires, and again once it is resolved.
    let firing = eventually(Duration::from_secs(40), || {
        let alerts = api_alerts(&prometheus.url);
        alerts
            .iter()
            .any(|(l, state, _)| l["alertname"] == "VLLMModelDown" && state == "firing")
            .then_some((now_secs(), alerts))
    });
    let (asked_at, firing) = firing.expect("VLLMModelDown fires in Prometheus");
    std::thread::sleep(Duration::from_secs(12));
    let end = now_secs().floor() as u64;
    let from = started.ceil() as u64;
    let a = args(
        &prometheus.url,
        from,
        end,
        std::slice::from_ref(&file),
        &["--rules-interval=1s"],
    );
    let report = verify_cli(&a).unwrap();
    let alerts = report.alerts.as_ref().unwrap();
    let text = alerts.timelines_text();
    assert!(
        alerts.errors.is_empty() && alerts.timelines.iter().all(|t| t.error.is_none()),
        "{text}"
    );
    // Prometheus's ALERTS, at the rig's evaluation times.
    let series = rig::Prometheus::new(&prometheus.url, Duration::from_secs(30))
        .query_range("ALERTS", from as f64, end as f64, 1.0)
        .unwrap();
    let mut theirs: BTreeMap<Labels, BTreeMap<i64, &'static str>> = BTreeMap::new();
    for s in &series {
        let mut labels = s.labels.clone();
        labels.remove("__name__");
        let state = labels.remove("alertstate").unwrap();
        let at = theirs.entry(labels).or_default();
        for (t, _) in &s.points {
            at.insert(
                (t * 1000.0).round() as i64,
                if state == "firing" {
                    "firing"
                } else {
                    "pending"
                },
            );
        }
    }
    let mut ours: BTreeMap<Labels, BTreeMap<i64, &'static str>> = BTreeMap::new();
    for t in &alerts.timelines {
        for e in &t.episodes {
            let at = ours.entry(e.labels.clone()).or_default();
            for ms in (t.first_ms..=t.last_ms).step_by(1000) {
                if let Some(state) = e.state_at(ms) {
                    at.insert(ms, state.label());
                }
            }
        }
    }
    let down: Vec<_> = ours
        .keys()
        .filter(|l| l["alertname"] == "VLLMModelDown")
        .collect();
    assert_eq!(down.len(), 1, "{text}");
    assert_eq!(down[0]["app"], "mistral-7b-awq");
    assert_eq!(
        ours.keys().collect::<Vec<_>>(),
        theirs.keys().collect::<Vec<_>>(),
        "the same alerts:\n{text}\nPrometheus: {theirs:?}"
    );
    for (labels, mine) in &ours {
        let prom = &theirs[labels];
        let changes = |m: &BTreeMap<i64, &'static str>| {
            let mut last = "inactive";
            let mut out = Vec::new();
            for t in (from as i64 * 1000..=end as i64 * 1000).step_by(1000) {
                let s = m.get(&t).copied().unwrap_or("inactive");
                if s != last {
                    out.push((t, s));
                    last = s;
                }
            }
            out
        };
        let (a, b) = (changes(mine), changes(prom));
        let same_states: Vec<_> = a.iter().map(|c| c.1).collect();
        assert_eq!(
            same_states,
            b.iter().map(|c| c.1).collect::<Vec<_>>(),
            "{labels:?}: rig {a:?}, Prometheus {b:?}"
        );
        for (x, y) in a.iter().zip(&b) {
            assert!(
                (x.0 - y.0).abs() <= 1000,
                "{labels:?}: rig {a:?}, Prometheus {b:?}"
            );
        }
    }
    // What /api/v1/alerts said while it fired: the same alert, firing, active since
    // the rig's pending began (to within an evaluation).
    let (labels, _, active_at) = firing
        .iter()
        .find(|(l, s, _)| l["alertname"] == "VLLMModelDown" && s == "firing")
        .unwrap();
    let episode = alerts
        .timelines
        .iter()
        .flat_map(|t| &t.episodes)
        .find(|e| &e.labels == labels)
        .expect("the rig has the alert Prometheus fired");
    assert!(
        (episode.active_at_ms as f64 / 1000.0 - active_at).abs() <= 1.0 + 0.001,
        "{episode:?} vs {active_at}"
    );
    // Prometheus's last evaluation before the question came at most one before the
    // rig's next.
    let next = (asked_at.ceil() as i64) * 1000;
    assert_eq!(
        episode.state_at(next).map(|s| s.label()),
        Some("firing"),
        "{episode:?} at {asked_at}"
    );
    assert!(
        episode.ended_at_ms.is_some(),
        "resolved before the end: {text}"
    );
}

fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// Prometheus's `/api/v1/alerts`: each alert's labels, state and `activeAt` (Unix s).
fn api_alerts(url: &str) -> Vec<(Labels, String, f64)> {
    let body: serde_json::Value = ureq::get(&format!("{url}/api/v1/alerts"))
        .call()
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap();
    body["data"]["alerts"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|a| {
            let labels: Labels = serde_json::from_value(a["labels"].clone()).unwrap();
            let active_at = a["activeAt"].as_str().unwrap_or_default();
            let secs = humantime::parse_rfc3339_weak(active_at)
                .map(|t| t.duration_since(UNIX_EPOCH).unwrap().as_secs_f64())
                .unwrap_or_else(|e| panic!("activeAt {active_at:?}: {e}"));
            (
                labels,
                a["state"].as_str().unwrap_or_default().to_owned(),
                secs,
            )
        })
        .collect()
}
