//! The lab gateway, through real HTTP: `/<team>/v1/...` reaches the team's pod, and
//! every routed request is counted in `lab_gateway_*` with its team and status.

use std::io::{BufRead, BufReader};
use std::time::Duration;

use serde_json::{Value, json};
use vllm_sim::scenario::{self, builtin};
use vllm_sim_tests::{Sim, eventually, get, repo_root};

/// The healthy lab without scenario traffic (so the gateway counts only what the test
/// sends), the judge held down.
fn quiet_lab() -> Sim {
    let text = std::fs::read_to_string(repo_root().join("scenarios/healthy.yaml")).unwrap();
    let pods = &text[..text.find("\nphases:").unwrap()];
    let quiet = format!(
        "{pods}\nphases:\n  - name: quiet\n    traffic: {{}}\n    down: [mistral-7b-judge]\n"
    );
    let scenario = scenario::load(&quiet, "quiet.yaml").expect("a valid scenario");
    Sim::start(scenario, 1.0)
}

fn send(url: &str, body: &Value) -> (u16, Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut response = agent.post(url).send(body.to_string()).unwrap();
    let status = response.status().as_u16();
    (status, response.body_mut().read_json().unwrap())
}

/// The value of a sample of the gateway's exposition, 0 if absent.
fn sample(sim: &Sim, name: &str) -> f64 {
    let (_, _, body) = get(&format!("http://{}/metrics", sim.gateway), "text/plain");
    body.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}

#[test]
fn teams_reach_their_pods_and_every_request_is_counted() {
    let sim = quiet_lab();
    let base = format!("http://{}", sim.gateway);
    let (status, _, models) = get(&format!("{base}/quantization/v1/models"), "*/*");
    assert_eq!(status, 200);
    let models: Value = serde_json::from_str(&models).unwrap();
    assert_eq!(models["data"][0]["id"], "mistral-7b-awq");

    let completion = json!({"model": "mistral-7b-awq", "prompt": "Route me", "max_tokens": 4});
    let (status, body) = send(&format!("{base}/quantization/v1/completions"), &completion);
    assert_eq!(
        (status, body["model"].as_str()),
        (200, Some("mistral-7b-awq"))
    );
    let chat = json!({"model": "mistral-7b-lora", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 3});
    let (status, body) = send(&format!("{base}/fine-tuning/v1/chat/completions"), &chat);
    assert_eq!(
        (status, body["object"].as_str()),
        (200, Some("chat.completion"))
    );
    let judge = json!({"model": "mistral-7b-judge", "prompt": "Score", "max_tokens": 3});
    let (status, body) = send(&format!("{base}/evaluation/v1/completions"), &judge);
    assert_eq!((status, body["object"].as_str()), (503, Some("error")));
    let (status, body) = send(&format!("{base}/marketing/v1/completions"), &completion);
    assert_eq!(
        (status, body["type"].as_str()),
        (404, Some("NotFoundError"))
    );
    assert_eq!(get(&format!("{base}/quantization/metrics"), "*/*").0, 404);

    let count = |team: &str, status: u16| {
        sample(
            &sim,
            &format!(r#"lab_gateway_requests_total{{team="{team}",status="{status}"}}"#),
        )
    };
    assert_eq!(
        count("quantization", 200),
        2.0,
        "the model list and the completion"
    );
    assert_eq!(count("fine-tuning", 200), 1.0);
    assert_eq!(count("evaluation", 503), 1.0);
    let (_, _, text) = get(&format!("{base}/metrics"), "text/plain");
    assert!(!text.contains("marketing"), "unknown teams are not counted");
    assert!(text.contains("# TYPE lab_gateway_request_duration_ms histogram"));
    let latency = sample(
        &sim,
        r#"lab_gateway_request_duration_ms_sum{team="quantization"}"#,
    );
    assert!(
        latency > 1.5,
        "the pod's latency shows at the gateway: {latency} ms"
    );
}

#[test]
fn a_client_that_hangs_up_mid_stream_counts_as_499() {
    let sim = quiet_lab();
    let url = format!("http://{}/baseline/v1/completions", sim.gateway);
    let request = json!({"model": "mistral-7b-fp16", "prompt": "Go on", "max_tokens": 2000, "ignore_eos": true, "stream": true});
    let agent: ureq::Agent = ureq::Agent::config_builder().build().into();
    let response = agent.post(&url).send(request.to_string()).unwrap();
    let mut reader = BufReader::new(response.into_body().into_reader());
    let mut first = String::new();
    reader.read_line(&mut first).unwrap();
    assert!(first.starts_with("data: "), "{first}");
    drop(reader);
    let closed = r#"lab_gateway_requests_total{team="baseline",status="499"}"#;
    let seen = eventually(Duration::from_secs(10), || {
        (sample(&sim, closed) == 1.0).then_some(())
    });
    assert!(seen.is_some(), "the hang-up was not counted");
    assert_eq!(
        sample(
            &sim,
            r#"lab_gateway_requests_total{team="baseline",status="200"}"#
        ),
        0.0
    );
}

#[test]
fn scenario_traffic_passes_the_gateway() {
    let sim = Sim::start(builtin("healthy").unwrap(), 20.0);
    let seen = eventually(Duration::from_secs(20), || {
        let teams = ["baseline", "quantization", "fine-tuning", "evaluation"];
        teams
            .iter()
            .all(|t| {
                sample(
                    &sim,
                    &format!(r#"lab_gateway_requests_total{{team="{t}",status="200"}}"#),
                ) > 0.0
            })
            .then_some(())
    });
    assert!(seen.is_some(), "every team's scenario traffic is counted");
}
