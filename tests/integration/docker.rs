//! Tests that need a Docker daemon, built only with `--features docker`:
//! Prometheus from its official image (testcontainers) scraping a lab in this process,
//! and the compose stack (simulator, Prometheus, Loki, Grafana) verified through
//! Grafana's own `/api/ds/query`, every panel, the Loki one included.
//!
//! ```sh
//! cargo test -p vllm-sim-tests --features docker --test integration docker -- --nocapture
//! ```
//!
//! Each test first asks the daemon for a ping; without an answer it prints a `SKIP:` line
//! and passes. The compose test builds the simulator's image, holds ports 3000, 3100,
//! 8000-8004 and 9090 as `docker compose up` does; the lab's hour of history is in
//! Prometheus before it starts, so the panels are checked as soon as the stack is up.

use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use testcontainers::compose::DockerCompose;
use testcontainers::core::client::docker_client_instance;
use testcontainers::core::{Host, IntoContainerPort, WaitFor};
use testcontainers::runners::AsyncRunner;
use testcontainers::{GenericImage, ImageExt};
use vllm_sim::rig::{self, Format, Report, Settings, Sources, Status};
use vllm_sim::scenario::builtin;
use vllm_sim_tests::{Sim, eventually, repo_root};

/// Why Docker cannot be used here, if it cannot.
async fn docker_unavailable() -> Option<String> {
    let client = match docker_client_instance().await {
        Ok(client) => client,
        Err(e) => return Some(format!("no Docker client ({e})")),
    };
    match tokio::time::timeout(Duration::from_secs(3), client.ping()).await {
        Ok(Ok(_)) => None,
        Ok(Err(e)) => Some(format!("the Docker daemon does not answer ({e})")),
        Err(_) => Some("the Docker daemon does not answer within 3 s".to_owned()),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Returns early, saying why, when no Docker daemon answers.
macro_rules! require_docker {
    ($rt:expr) => {
        if let Some(why) = $rt.block_on(docker_unavailable()) {
            eprintln!(
                "SKIP: {why}; run these tests on a host with Docker: \
                 cargo test -p vllm-sim-tests --features docker --test integration docker"
            );
            return;
        }
    };
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn shipped_dashboard() -> rig::Dashboard {
    let text =
        std::fs::read_to_string(repo_root().join("dashboard/llm-platform-overview.json")).unwrap();
    rig::dashboard::parse(&text).expect("the shipped dashboard parses")
}

/// Verifies the shipped dashboard from `from` (Unix seconds) to now, with the healthy
/// scenario's colour and skip expectations.
fn verify(sources: &Sources, from: i64, scrape_secs: i64) -> Report {
    let settings = Settings {
        from_ms: from * 1000,
        to_ms: unix_now() * 1000,
        scrape_interval_ms: scrape_secs * 1000,
        datasource_uid: "prometheus".to_owned(),
    };
    let mut expectations = builtin("healthy").unwrap().expectations;
    expectations.retain(|e| e.color.is_some() || e.skip.is_some());
    rig::verify(
        &shipped_dashboard(),
        &settings,
        sources,
        &expectations,
        vllm_sim::cli::vllm_releases(),
    )
}

/// Whether an instant query at `url` returns any series.
fn has_series(url: &str, expr: &str) -> bool {
    let Ok(mut response) = ureq::get(&format!("{url}/api/v1/query"))
        .query("query", expr)
        .call()
    else {
        return false;
    };
    let body: serde_json::Value = response.body_mut().read_json().unwrap_or_default();
    body["data"]["result"]
        .as_array()
        .is_some_and(|r| !r.is_empty())
}

#[test]
fn prometheus_from_its_image_scrapes_the_lab_and_every_panel_has_data() {
    let rt = runtime();
    require_docker!(rt);
    // Every address, so that the container reaches the lab through the host gateway.
    let sim = Sim::start_on(
        builtin("healthy").unwrap(),
        20.0,
        IpAddr::from([0, 0, 0, 0]),
    );
    let config = sim.scrape_config("1s", Some("host.docker.internal"));
    let prometheus = rt
        .block_on(
            GenericImage::new("prom/prometheus", "v2.42.0")
                .with_exposed_port(9090.tcp())
                .with_wait_for(WaitFor::message_on_stderr(
                    "Server is ready to receive web requests.",
                ))
                .with_copy_to("/etc/prometheus/prometheus.yml", config.into_bytes())
                .with_host("host.docker.internal", Host::HostGateway)
                .with_startup_timeout(Duration::from_secs(120))
                .start(),
        )
        .expect("start prom/prometheus:v2.42.0");
    let port = rt
        .block_on(prometheus.get_host_port_ipv4(9090.tcp()))
        .expect("the mapped port");
    let url = format!("http://127.0.0.1:{port}");
    let scraped = eventually(Duration::from_secs(120), || {
        has_series(&url, "min(count_over_time(up[10m])) >= 10 and min(up) == 1").then_some(())
    });
    assert!(
        scraped.is_some(),
        "the container never scraped every target"
    );
    let sources = Sources {
        prometheus: Some(rig::Prometheus::new(&url, Duration::from_secs(30))),
        loki: None,
        grafana: None,
    };
    let report = verify(&sources, unix_now() - 60, 1);
    assert_eq!(
        report.summary().failed,
        0,
        "{}",
        report.render(Format::Table)
    );
}

#[test]
fn the_compose_stack_verifies_through_grafana() {
    let rt = runtime();
    require_docker!(rt);
    let compose_file = repo_root().join("compose.yaml");
    let mut stack = DockerCompose::with_local_client(&[compose_file.as_path()])
        .with_build(true)
        .with_wait(true);
    let started = unix_now();
    rt.block_on(stack.up()).expect("docker compose up");
    // The lab started with an hour of history, in Prometheus's blocks before it
    // started: the panels answer at once, over the last half hour, after one live
    // scrape of every pod.
    let live = eventually(Duration::from_secs(60), || {
        has_series(
            "http://127.0.0.1:9090",
            &format!(
                "min(count_over_time(up{{job=\"vllm\"}}[{}s])) >= 1",
                unix_now() - started + 1
            ),
        )
        .then_some(())
    });
    assert!(
        live.is_some(),
        "the stack's Prometheus never scraped the lab"
    );
    let history = has_series(
        "http://127.0.0.1:9090",
        "min(count_over_time(up{job=\"vllm\"}[30m] offset 2m)) >= 100",
    );
    assert!(history, "the stack's Prometheus holds no history");
    let grafana = rig::Grafana::new("http://admin:admin@127.0.0.1:3000", Duration::from_secs(30))
        .expect("a Grafana URL");
    let sources = Sources {
        prometheus: None,
        loki: None,
        grafana: Some(grafana),
    };
    // The last half hour: the history, then every live scrape and benchmark log line.
    let report = verify(&sources, unix_now() - 30 * 60, 15);
    let table = report.render(Format::Table);
    println!("{table}");
    rt.block_on(stack.down()).expect("docker compose down");
    assert_eq!(report.summary().failed, 0, "{table}");
    let logs = report.panels.iter().find(|p| p.id == Some(51)).unwrap();
    assert_eq!(
        logs.status,
        Status::Ok,
        "the Loki panel answers through Grafana:\n{table}"
    );
    assert!(
        report.panels.iter().all(|p| p.status == Status::Ok),
        "through Grafana nothing is skipped:\n{table}"
    );
}
