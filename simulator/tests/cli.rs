//! The `vllm-sim` binary as a user runs it: exit codes, messages, listeners, shutdown.
//!
//! These live beside the binary (not in the workspace's `tests/` crate) because only
//! this package's tests can locate the built binary through `CARGO_BIN_EXE_vllm-sim`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn sim() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vllm-sim"));
    cmd.current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap());
    cmd.env_remove("VLLM_SIM_SCENARIO")
        .env_remove("VLLM_SIM_BIND")
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1");
    cmd
}

#[test]
fn check_accepts_the_shipped_scenarios() {
    let out = sim()
        .args([
            "check",
            "scenarios/healthy.yaml",
            "scenarios/t4-reality.yaml",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("scenarios/t4-reality.yaml: ok"));
    assert!(stdout.contains("257 blocks (4112 tokens)"), "{stdout}");
    assert!(stdout.contains(", vllm-0.6.4 metrics\n"), "{stdout}");
}

#[test]
fn check_rejects_a_bad_file_with_its_location() {
    let out = sim()
        .args([
            "check",
            "scenarios/healthy.yaml",
            "tests/fixtures/bad-scenarios/negative-rate.yaml",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("tests/fixtures/bad-scenarios/negative-rate.yaml:13:31: phases[0].traffic.mistral-7b-fp16.rate: must be at least 0.000001 and at most 10000, got -2.0"),
        "{stderr}"
    );
    assert!(
        stderr.contains("error: 1 of 2 scenario files are invalid"),
        "{stderr}"
    );
}

#[test]
fn run_rejects_a_speed_out_of_range() {
    for speed in ["0", "1e5", "inf", "NaN"] {
        let out = sim().args(["run", "--speed", speed]).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "--speed {speed}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("--speed must be greater than 0 and at most 1000"),
            "--speed {speed}: {stderr}"
        );
    }
}

#[test]
fn run_rejects_an_unknown_scenario() {
    let out = sim().args(["run", "no-such-scenario"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "built-ins: healthy, awq-not-quantized, judge-backlog, spot-preemption, t4-reality"
        ),
        "{stderr}"
    );
}

/// Starts `vllm-sim` with `args` and waits for its four pods' "listening" lines.
fn serve(args: &[&str]) -> (std::process::Child, Vec<String>) {
    serve_pods(args, 4)
}

/// Starts `vllm-sim` with `args` and waits for `pods` pods' "listening" lines.
fn serve_pods(args: &[&str], pods: usize) -> (std::process::Child, Vec<String>) {
    let mut child = sim().args(args).stderr(Stdio::piped()).spawn().unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut urls = Vec::new();
    while urls.len() < pods {
        let line = lines.next().expect("the simulator exited early").unwrap();
        if let Some(rest) = line.split("listening on ").nth(1) {
            urls.push(rest.split(' ').next().unwrap().to_owned());
        }
    }
    std::thread::spawn(move || lines.for_each(drop));
    (child, urls)
}

#[test]
fn run_serves_four_pods_and_stops_cleanly_on_sigterm() {
    // No scenario argument: the built-in healthy scenario.
    let (mut child, urls) = serve(&["--base-port", "0", "--speed", "10"]);
    for url in &urls {
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
        let response = ureq::get(&format!("{url}/health")).call().unwrap();
        assert_eq!(response.status(), 200);
    }
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    exits_cleanly_within_10_s(&mut child, "of SIGTERM");
}

/// A scenario with every range at its edge, which `check` accepts: far more traffic
/// than the machine simulates at `--speed 1000`. Every pod still answers `/metrics`
/// at once, SIGTERM still stops it, and a backfill of it ends.
#[test]
fn a_scenario_at_its_ranges_edges_runs_and_stops() {
    let file = "tests/fixtures/extremes.yaml";
    let (mut child, urls) = serve(&[
        file,
        "--base-port",
        "0",
        "--gateway-port",
        "0",
        "--speed",
        "1000",
    ]);
    std::thread::sleep(Duration::from_secs(2));
    for url in &urls {
        let started = Instant::now();
        let response = ureq::get(&format!("{url}/metrics")).call();
        let took = started.elapsed();
        if response.is_err() || took > Duration::from_secs(2) {
            child.kill().unwrap();
        }
        assert_eq!(response.unwrap().status(), 200, "{url}");
        assert!(
            took <= Duration::from_secs(2),
            "{url}/metrics took {took:?}"
        );
    }
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    exits_cleanly_within_10_s(&mut child, "of SIGTERM");
    let out = std::env::temp_dir().join(format!("vllm-sim-extremes-{}.om", std::process::id()));
    let mut backfill = sim()
        .args(["backfill", file, "--duration", "1m", "--out"])
        .arg(&out)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = backfill.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            backfill.kill().unwrap();
            panic!("backfill of {file} did not end within 120 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    std::fs::remove_file(&out).ok();
    assert!(status.success(), "backfill: {status}");
}

#[test]
fn only_serves_the_named_pods() {
    let only = ["--only", "mistral-7b-awq,mistral-7b-judge"];
    let (mut child, urls) = serve_pods(&[&["--base-port", "0"][..], &only].concat(), 2);
    for (url, model) in urls.iter().zip(["mistral-7b-awq", "mistral-7b-judge"]) {
        let mut response = ureq::get(&format!("{url}/v1/models")).call().unwrap();
        let text = response.body_mut().read_to_string().unwrap();
        let served = text.contains(&format!("\"id\":\"{model}\""));
        if !served {
            child.kill().unwrap();
        }
        assert!(served, "{url} does not serve {model}: {text}");
    }
    child.kill().unwrap();
    child.wait().unwrap();

    let out = sim()
        .args(["run", "--only", "mistral-7b-fp8"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("scenario healthy has no pod mistral-7b-fp8 (it has mistral-7b-fp16, "),
        "{stderr}"
    );
}

#[test]
fn a_port_in_use_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = sim()
        .args(["run", "healthy", "--base-port", &port])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "mistral-7b-fp16 cannot listen on 127.0.0.1:{port}"
        )),
        "{stderr}"
    );
}

#[test]
fn sigterm_lets_an_open_stream_finish() {
    let (mut child, urls) = serve(&["--base-port", "0", "--speed", "1"]);
    let request = r#"{"model": "mistral-7b-fp16", "prompt": "Go on", "max_tokens": 40, "ignore_eos": true, "stream": true}"#;
    let response = ureq::post(&format!("{}/v1/completions", urls[0]))
        .header("Content-Type", "application/json")
        .send(request)
        .unwrap();
    let mut events = BufReader::new(response.into_body().into_reader()).lines();
    let first = events.next().unwrap().unwrap();
    assert!(first.starts_with("data: {"), "{first}");
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let sent_at = Instant::now();
    let rest: Vec<String> = events
        .map(|l| l.expect("the stream is cut"))
        .filter(|l| !l.is_empty())
        .collect();
    assert!(
        sent_at.elapsed() > Duration::from_millis(100),
        "the stream ended before SIGTERM reached it; make it longer"
    );
    assert_eq!(rest.last().map(String::as_str), Some("data: [DONE]"));
    let tokens = std::iter::once(&first)
        .chain(&rest)
        .filter(|l| l.contains(r#""text":""#) && !l.contains(r#""text":"""#))
        .count();
    assert_eq!(tokens, 40, "every token arrived");
    assert!(
        rest.iter()
            .any(|l| l.contains(r#""finish_reason":"length""#))
    );
    // The grace period is 5 s; the stream ended well within it.
    exits_cleanly_within_10_s(&mut child, "of its last stream");
}

/// Asserts that `child` exits successfully within 10 s (`after` says of what).
fn exits_cleanly_within_10_s(child: &mut std::process::Child, after: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "exit status {status}");
            return;
        }
        assert!(
            Instant::now() < deadline,
            "did not stop within 10 s {after}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
