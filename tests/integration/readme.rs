//! README's commands that need no simulator binary, run as written: the Kubernetes
//! manifests it applies and the local Prometheus it starts. (The `vllm-sim` commands
//! and their output are checked by `simulator/tests/cli.rs`, beside the binary.)

use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use vllm_sim_tests::{eventually, free_port, repo_root, require};

fn readme() -> String {
    std::fs::read_to_string(repo_root().join("README.md")).expect("README.md")
}

/// README's shell lines, continuation lines (`\`) joined, comments dropped.
fn shell_lines(markdown: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut in_sh = false;
    let mut pending = String::new();
    for line in markdown.lines() {
        let trimmed = line.trim_start();
        if let Some(info) = trimmed.strip_prefix("```") {
            in_sh = !in_sh && info.trim() == "sh";
            continue;
        }
        if !in_sh {
            continue;
        }
        let code = match trimmed.find(" #") {
            Some(at) => &trimmed[..at],
            None => trimmed,
        };
        match code.trim_end().strip_suffix('\\') {
            Some(start) => pending.push_str(start),
            None => {
                pending.push_str(code.trim_end());
                if !pending.trim().is_empty() {
                    lines.push(std::mem::take(&mut pending).trim().to_owned());
                }
                pending.clear();
            }
        }
    }
    lines
}

/// The YAML documents of a file of the repository.
fn documents(path: &str) -> Vec<Value> {
    let text =
        std::fs::read_to_string(repo_root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_saphyr::from_multiple(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn readme_kubectl_commands_install_the_models_and_the_dashboard() {
    let applies: Vec<String> = shell_lines(&readme())
        .into_iter()
        .filter(|l| l.starts_with("kubectl apply "))
        .collect();
    assert!(!applies.is_empty(), "README applies nothing");
    let mut objects = Vec::new();
    let mut kubectl = true;
    for line in &applies {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["kubectl", "apply", "-f", file] => objects.extend(documents(file)),
            ["kubectl", "apply", "-k", dir] => {
                assert!(
                    repo_root().join(dir).join("kustomization.yaml").is_file(),
                    "{line}"
                );
                if !kubectl {
                    continue;
                }
                let Ok(out) = Command::new("kubectl")
                    .args(["kustomize", dir])
                    .current_dir(repo_root())
                    .output()
                else {
                    eprintln!("SKIP: kubectl is not installed; {dir} is not rendered");
                    kubectl = false;
                    continue;
                };
                let stderr = String::from_utf8_lossy(&out.stderr);
                assert!(out.status.success(), "{line}: {stderr}");
                let text = String::from_utf8(out.stdout).expect("UTF-8");
                objects.extend(serde_saphyr::from_multiple::<Value>(&text).expect(dir));
            }
            _ => panic!("README's {line:?} is neither `kubectl apply -f FILE` nor `-k DIR`"),
        }
    }
    // The ConfigMap README says ships the dashboard, where Grafana's sidecar finds it.
    let shipped: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("dashboard/llm-platform-overview.json")).unwrap(),
    )
    .unwrap();
    let dashboards: Vec<&Value> = objects
        .iter()
        .filter(|o| o["kind"] == "ConfigMap" && o["metadata"]["labels"]["grafana_dashboard"] == "1")
        .collect();
    assert_eq!(
        dashboards.len(),
        1,
        "README's kubectl commands install no dashboard ConfigMap: {applies:?}"
    );
    let data = dashboards[0]["data"]["llm-platform.json"]
        .as_str()
        .expect("llm-platform.json");
    let installed: Value = serde_json::from_str(data).unwrap();
    assert_eq!(
        installed, shipped,
        "the ConfigMap holds the shipped dashboard"
    );
    if kubectl {
        // And the model pods: a Deployment per model of the dashboard (k8s.rs checks them).
        let deployments = objects.iter().filter(|o| o["kind"] == "Deployment").count();
        assert!(deployments >= 4, "{deployments} Deployments: {applies:?}");
    }
}

#[test]
fn readme_prometheus_command_keeps_its_data_out_of_the_checkout_and_off_the_network() {
    require!("prometheus");
    let command = shell_lines(&readme())
        .into_iter()
        .find(|l| l.starts_with("prometheus --config.file=examples/prometheus.yml"))
        .expect("README starts Prometheus on examples/prometheus.yml");
    assert!(
        command.contains("--web.listen-address=127.0.0.1:9090"),
        "{command}"
    );
    // README's port is 9090; the test takes a free one.
    let port = free_port();
    let command = command.replace(":9090", &format!(":{port}"));
    let tmp = tempfile::tempdir().unwrap();
    let data_in_checkout = repo_root().join("data");
    let had_data = data_in_checkout.exists();
    let mut child = Command::new("bash")
        .args(["-c", &format!("exec {command}")])
        .current_dir(repo_root())
        .env("TMPDIR", tmp.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let flags = eventually(Duration::from_secs(30), || {
        let mut response = ureq::get(&format!("{url}/api/v1/status/flags"))
            .call()
            .ok()?;
        serde_json::from_str::<Value>(&response.body_mut().read_to_string().ok()?).ok()
    });
    let _ = child.kill();
    let _ = child.wait();
    let flags = flags.expect("prometheus did not answer");
    let data = &flags["data"];
    assert_eq!(data["web.listen-address"], format!("127.0.0.1:{port}"));
    let tsdb = data["storage.tsdb.path"].as_str().unwrap();
    assert!(
        std::path::Path::new(tsdb).starts_with(tmp.path()),
        "the TSDB is in a temporary directory, not {tsdb}"
    );
    assert_eq!(
        data_in_checkout.exists(),
        had_data,
        "./data appeared in the checkout"
    );
}
