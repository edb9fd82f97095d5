//! The Kubernetes manifests under `k8s/`, checked offline: each overlay rendered by
//! `kubectl kustomize` (skipped when kubectl is missing) must give one locked-down,
//! probed Deployment and one Service per model of the dashboard, in namespace
//! `llm-baseline`, each serving its own pod of a scenario the simulator knows.

use std::collections::BTreeSet;
use std::process::Command;

use serde_json::Value;
use vllm_sim::scenario::{Scenario, builtin, load};
use vllm_sim_tests::repo_root;

const KUSTOMIZATIONS: [&str; 2] = ["k8s/base", "k8s/overlays/judge-backlog"];

/// The `app` labels the dashboard selects: the shipped scenarios' pods.
fn apps() -> BTreeSet<String> {
    let healthy = builtin("healthy").expect("healthy");
    healthy.pods.iter().map(|p| p.app.clone()).collect()
}

/// The objects `kubectl kustomize dir` renders, or `None` (with a SKIP line) when
/// kubectl is not installed.
fn render(dir: &str) -> Option<Vec<Value>> {
    let output = Command::new("kubectl")
        .args(["kustomize", dir])
        .current_dir(repo_root())
        .output();
    let Ok(output) = output else {
        eprintln!("SKIP: kubectl is not installed; {dir} is not rendered");
        return None;
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "kubectl kustomize {dir}: {stderr}");
    let text = String::from_utf8(output.stdout).expect("UTF-8");
    Some(serde_saphyr::from_multiple(&text).unwrap_or_else(|e| panic!("{dir}: {e}")))
}

fn of_kind<'a>(objects: &'a [Value], kind: &str) -> Vec<&'a Value> {
    objects.iter().filter(|o| o["kind"] == kind).collect()
}

/// The scenario a Deployment plays: its ConfigMap's `VLLM_SIM_SCENARIO`, a built-in
/// name or a file of that ConfigMap mounted at /etc/vllm-sim.
fn scenario_of(config_map: &Value) -> Scenario {
    let name = config_map["data"]["VLLM_SIM_SCENARIO"]
        .as_str()
        .expect("VLLM_SIM_SCENARIO");
    match name.strip_prefix("/etc/vllm-sim/") {
        Some(file) => {
            let text = config_map["data"][file].as_str().expect("scenario file");
            load(text, file).unwrap_or_else(|e| panic!("{e}"))
        }
        None => builtin(name).unwrap_or_else(|| panic!("no built-in scenario {name}")),
    }
}

#[test]
fn kustomize_renders_one_locked_down_deployment_and_service_per_model() {
    for dir in KUSTOMIZATIONS {
        let Some(objects) = render(dir) else { return };
        for o in &objects {
            if o["kind"] != "Namespace" {
                assert_eq!(o["metadata"]["namespace"], "llm-baseline", "{dir}: {o}");
            }
        }
        let config_maps = of_kind(&objects, "ConfigMap");
        assert_eq!(config_maps.len(), 1, "{dir}");
        let config_map = config_maps[0];
        let scenario = scenario_of(config_map);

        let deployments = of_kind(&objects, "Deployment");
        let names: BTreeSet<String> = deployments
            .iter()
            .map(|d| d["metadata"]["name"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(names, apps(), "{dir}: one Deployment per model");
        for d in deployments {
            let app = d["metadata"]["name"].as_str().unwrap();
            let template = &d["spec"]["template"];
            assert_eq!(template["metadata"]["labels"]["app"], app, "{dir}");
            assert_eq!(d["spec"]["selector"]["matchLabels"]["app"], app, "{dir}");
            let spec = &template["spec"];
            assert_eq!(spec["securityContext"]["runAsNonRoot"], true, "{app}");
            let container = &spec["containers"][0];
            let security = &container["securityContext"];
            assert_eq!(security["readOnlyRootFilesystem"], true, "{app}");
            assert_eq!(security["allowPrivilegeEscalation"], false, "{app}");
            assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/health");
            assert!(container["livenessProbe"].is_object(), "{app}");
            assert!(container["resources"]["requests"]["cpu"].is_string());
            assert!(container["resources"]["limits"]["memory"].is_string());
            // The scenario comes from the generated ConfigMap, hash suffix and all.
            assert_eq!(
                container["envFrom"][0]["configMapRef"]["name"], config_map["metadata"]["name"],
                "{app}"
            );
            // The pod it serves is the one its `app` label names, and the scenario has it.
            let only = container["env"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["name"] == "VLLM_SIM_ONLY")
                .expect("VLLM_SIM_ONLY");
            let field = &only["valueFrom"]["fieldRef"]["fieldPath"];
            assert_eq!(field, "metadata.labels['app']", "{app}");
            let served = scenario.clone().only(&[app.to_owned()]);
            assert!(served.is_ok_and(|s| s.pods.len() == 1), "{dir}: {app}");
        }

        let services = of_kind(&objects, "Service");
        let selected: BTreeSet<String> = services
            .iter()
            .map(|s| s["spec"]["selector"]["app"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(selected, apps(), "{dir}: one Service per model");

        // The PodMonitor picks every model pod and keeps its `app` label on the series.
        let monitors = of_kind(&objects, "PodMonitor");
        assert_eq!(monitors.len(), 1, "{dir}");
        let monitor = &monitors[0]["spec"];
        assert_eq!(monitor["podTargetLabels"][0], "app");
        let wanted = monitor["selector"]["matchLabels"].as_object().unwrap();
        for d in of_kind(&objects, "Deployment") {
            let labels = &d["spec"]["template"]["metadata"]["labels"];
            for (key, value) in wanted {
                assert_eq!(&labels[key], value, "{dir}: PodMonitor misses {key}");
            }
        }
    }
}

#[test]
fn the_overlay_plays_another_scenario() {
    let (Some(base), Some(overlay)) = (render(KUSTOMIZATIONS[0]), render(KUSTOMIZATIONS[1])) else {
        return;
    };
    let played = |objects: &[Value]| scenario_of(of_kind(objects, "ConfigMap")[0]).name;
    assert_eq!(played(&base), "healthy");
    assert_eq!(played(&overlay), "judge-backlog");
}
