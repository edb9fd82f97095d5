//! The shipped Prometheus configuration: valid, and in step with the scenarios.

use vllm_sim::scenario::builtin;
use vllm_sim_tests::{promtool, repo_root, require};

#[test]
fn example_scrape_config_is_valid_and_labels_every_pod() {
    require!("promtool");
    let path = repo_root().join("examples/prometheus.yml");
    let (code, out) = promtool(&["check", "config", path.to_str().unwrap()], "");
    assert_eq!(code, 0, "{out}");
    let text = std::fs::read_to_string(&path).unwrap();
    for pod in &builtin("healthy").unwrap().pods {
        let target = format!(
            "- targets: [\"127.0.0.1:{}\"]\n        labels:\n          app: {}\n",
            pod.port, pod.name
        );
        assert!(
            text.contains(&target),
            "examples/prometheus.yml does not scrape {} on {}",
            pod.name,
            pod.port
        );
    }
}
