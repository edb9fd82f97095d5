//! A replicated lab: each replica its own target, as Prometheus sees a Deployment's pods.

use vllm_sim::scenario;
use vllm_sim_tests::{Prometheus, Sim, repo_root, tool_available};

const REPLICAS: usize = 10;

/// The healthy lab with every model at `REPLICAS` replicas.
fn fleet() -> scenario::Scenario {
    let mut text = std::fs::read_to_string(repo_root().join("scenarios/healthy.yaml")).unwrap();
    for (i, port) in ["8001", "8002", "8003", "8004"].iter().enumerate() {
        text = text.replace(
            &format!("    port: {port}\n"),
            &format!("    port: {}\n    replicas: {REPLICAS}\n", 9000 + 100 * i),
        );
    }
    scenario::load(&text, "fleet.yaml").expect("a valid fleet")
}

#[test]
fn every_replica_is_its_own_target() {
    let fleet = fleet();
    assert_eq!(fleet.pods.len(), 4 * REPLICAS);
    if !tool_available("prometheus") {
        return;
    }
    let sim = Sim::start(fleet, 2.0);
    let prometheus = Prometheus::start(&sim, "2s");
    prometheus.wait_for_scrapes(3);
    let up = prometheus.query("count by (app)(up{job=\"vllm\"} == 1)");
    assert_eq!(up.len(), 4, "{up:?}");
    for series in &up {
        assert_eq!(series["value"][1], REPLICAS.to_string(), "{series}");
    }
    // Each replica simulates its own traffic: every instance reports requests.
    let busy = prometheus
        .scalar("count(sum by (instance)(vllm:request_success_total{app=\"mistral-7b-awq\"}) > 0)");
    assert_eq!(busy, Some(REPLICAS as f64));
    // The gateway counts every replica's traffic for its team.
    let teams = prometheus.query("sum by (team)(lab_gateway_requests_total)");
    assert_eq!(teams.len(), 4, "{teams:?}");
}
