//! Runs of the battery against a lab served in-process: its pods behind the real
//! gateway on a loopback port, time running fast.

use std::sync::Arc;

use indicatif::ProgressBar;
use prometheus_client::registry::Registry;
use tokio::sync::watch;

use crate::lab::Lab;
use crate::scenario::{self, Scenario};
use crate::serve::{self, Listeners};
use vllm_sim_core::clock::WallClock;

use super::*;

/// A lab of `scenario` with its gateway, served until dropped.
struct Served {
    url: String,
    _stop: watch::Sender<bool>,
    _runtime: tokio::runtime::Runtime,
}

fn serve(scenario: Scenario) -> Served {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let lab = Lab::new(scenario, Arc::new(WallClock::start(50.0)));
    let bind = || {
        runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind a loopback port")
    };
    let listeners = Listeners {
        pods: lab.pods().map(|_| bind()).collect(),
        gateway: bind(),
    };
    let url = format!(
        "http://{}",
        listeners.gateway.local_addr().expect("local addr")
    );
    let (stop, stopped) = watch::channel(false);
    runtime.spawn(serve::serve(lab, listeners, Registry::default(), stopped));
    Served {
        url,
        _stop: stop,
        _runtime: runtime,
    }
}

fn healthy() -> Arc<Scenario> {
    Arc::new(scenario::builtin("healthy").expect("the healthy scenario"))
}

#[test]
fn a_short_run_through_the_gateway() {
    let lab = serve((*healthy()).clone());
    let config = BenchConfig {
        limit: Some(4),
        concurrency: 4,
        compare_baseline: true,
        ..BenchConfig::new(lab.url.clone(), healthy())
    };
    let metrics = HarnessMetrics::new();
    let results = run(&config, &metrics, &ProgressBar::hidden()).expect("a run");

    let order: Vec<_> = results
        .iter()
        .map(|r| (r.scenario_id.as_str(), r.prompt_id))
        .collect();
    let expected: Vec<_> = SUITES
        .iter()
        .flat_map(|s| (0..4).map(move |i| (s.id, i)))
        .collect();
    assert_eq!(order, expected);
    for r in &results {
        assert_eq!(r.error, None, "{r:?}");
        assert!(!r.response.is_empty() && r.completion_tokens > 0, "{r:?}");
        assert!(r.latency_ms > 0.0 && r.tokens_per_second > 0.0, "{r:?}");
        let rate = rules::pass_rate(&config.scenario, &r.team, &r.category);
        let expected = rules::passes(true, rate, 42, &r.scenario_id, r.prompt_id, &r.model);
        assert_eq!(r.passed, expected, "{r:?}");
        assert_eq!(r.baseline_error, None, "{r:?}");
        assert!(r.baseline_passed.is_some() && r.baseline_tokens_per_second.is_some());
    }
    assert_eq!(results[0].model, "mistral-7b-awq");

    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, metrics.registry()).expect("encode");
    for suite in SUITES {
        let line = format!(
            "lab_harness_requests_total{{scenario_id=\"{}\",team=\"{}\"}} 4",
            suite.id, suite.team
        );
        assert!(text.contains(&line), "no {line:?} in\n{text}");
    }
    assert!(!text.contains("team=\"baseline\""), "{text}");
    let table = summary(&results);
    assert!(table.contains("benchmark-eval"), "{table}");
    assert!(table.contains('x'), "{table}");
}

#[test]
fn an_unreachable_gateway_is_named() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let config = BenchConfig::new(format!("http://127.0.0.1:{port}/"), healthy());
    let err = run(&config, &HarnessMetrics::new(), &ProgressBar::hidden()).expect_err("no gateway");
    assert!(
        matches!(&err, BenchError::Unreachable { url, .. } if *url == format!("http://127.0.0.1:{port}/quantization/v1/models")),
        "{err}"
    );
    assert!(err.to_string().contains(&port.to_string()), "{err}");
}

#[test]
fn an_unknown_team_stops_the_run_before_it_starts() {
    static NOBODY: Suite = Suite {
        id: "benchmark-nobody",
        team: "nobody",
        prompts: 3,
        categories: &[("math", 1.0)],
    };
    let lab = serve((*healthy()).clone());
    let config = BenchConfig {
        suites: vec![&NOBODY],
        ..BenchConfig::new(lab.url.clone(), healthy())
    };
    let err = run(&config, &HarnessMetrics::new(), &ProgressBar::hidden()).expect_err("no team");
    assert!(
        matches!(&err, BenchError::Team { team, status: 404, .. } if team == "nobody"),
        "{err}"
    );
}
