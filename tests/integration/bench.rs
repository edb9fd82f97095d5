//! The benchmark battery end to end: `vllm_sim::bench::run` through a live gateway, its
//! results judged by the pass rule, and the harness and gateway series in a real
//! Prometheus, so the dashboard's gateway table has a row per team.

use std::sync::Arc;

use vllm_sim::bench::{self, BenchConfig, HarnessMetrics};
use vllm_sim::scenario;
use vllm_sim_tests::{Prometheus, Sim, repo_root, tool_available};

/// Prompts per suite: enough to touch every category of every suite.
const LIMIT: usize = 5;

#[test]
fn a_reduced_battery_runs_through_the_gateway_into_prometheus() {
    // The idle lab: the gateway counts nothing but the battery's requests.
    let scenario = scenario::load_file(&repo_root().join("bench/quiet.yaml")).unwrap();
    let harness = HarnessMetrics::new();
    let sim = Sim::start_with_harness(scenario.clone(), 20.0, Some(&harness));
    let mut config = BenchConfig::new(format!("http://{}", sim.gateway), Arc::new(scenario));
    config.limit = Some(LIMIT);
    config.compare_baseline = true;
    let results = bench::run(&config, &harness, &indicatif::ProgressBar::hidden()).unwrap();

    assert_eq!(results.len(), 3 * LIMIT);
    for r in &results {
        assert!(r.error.is_none(), "{r:?}");
        assert!(r.latency_ms > 0.0 && r.tokens_per_second > 0.0, "{r:?}");
        assert!(r.baseline_latency_ms.is_some() && r.baseline_passed.is_some());
        assert!(
            r.baseline_response
                .as_deref()
                .is_some_and(|t| !t.is_empty())
        );
    }
    let categories: std::collections::BTreeSet<_> =
        results.iter().map(|r| r.category.as_str()).collect();
    assert_eq!(categories.len(), 14, "every category: {categories:?}");
    let table = bench::summary(&results);
    for suite in ["benchmark-quant", "benchmark-finetune", "benchmark-eval"] {
        assert!(table.contains(suite), "{table}");
    }

    if !tool_available("prometheus") {
        return;
    }
    let prometheus = Prometheus::start(&sim, "1s");
    prometheus.wait_for_scrapes(3);
    let scalar = |q: &str| {
        prometheus
            .scalar(q)
            .unwrap_or_else(|| panic!("no value for {q}"))
    };
    for (suite, team) in [
        ("benchmark-quant", "quantization"),
        ("benchmark-finetune", "fine-tuning"),
        ("benchmark-eval", "evaluation"),
    ] {
        let labels = format!(r#"{{scenario_id="{suite}",team="{team}"}}"#);
        assert_eq!(
            scalar(&format!("lab_harness_requests_total{labels}")),
            LIMIT as f64
        );
        let passed = results
            .iter()
            .filter(|r| r.scenario_id == suite && r.passed)
            .count();
        assert_eq!(
            scalar(&format!("lab_harness_pass_total{labels}")),
            passed as f64
        );
        assert_eq!(
            scalar(&format!("lab_harness_fail_total{labels}")),
            (LIMIT - passed) as f64
        );
        assert_eq!(
            scalar(&format!("lab_harness_latency_ms_count{labels}")),
            LIMIT as f64
        );
        // Each team: one model lookup and LIMIT completions, all answered.
        assert_eq!(
            scalar(&format!(
                r#"sum(lab_gateway_requests_total{{team="{team}",status="200"}})"#
            )),
            (LIMIT + 1) as f64
        );
    }
    // The baseline answered every prompt of every suite once more.
    assert_eq!(
        scalar(r#"sum(lab_gateway_requests_total{team="baseline",status="200"})"#),
        (3 * LIMIT + 1) as f64
    );
    // Panel 52's query: a row per team.
    let rows = prometheus.query("sum by (team)(increase(lab_gateway_requests_total[1h]))");
    assert_eq!(rows.len(), 4, "{rows:?}");
}
