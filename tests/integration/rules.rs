//! The lab's alerting and recording rules (`dashboard/rules/`): valid for promtool,
//! each alert proven on its promtool unit test (and the tests able to fail), and the
//! Kubernetes `PrometheusRule` holding the same groups.

use serde_json::Value;
use vllm_sim_tests::{promtool, repo_root, require};

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
