//! Test harness for vllm-sim: a real Prometheus process, an in-process simulated lab,
//! and helpers to query one from the other.
//!
//! Prometheus is Debian's binary (`prometheus` on `PATH`), started on 127.0.0.1 with a
//! temporary data directory and killed when its guard drops. Where it is missing the
//! tests say so and skip, unless `CI` or `VLLM_SIM_REQUIRE_PROMETHEUS` is set, which
//! makes that a failure.

use std::net::{IpAddr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use prometheus_client::registry::Registry;
use serde_json::Value;
use tokio::sync::watch;
use vllm_sim::bench::HarnessMetrics;
use vllm_sim::clock::WallClock;
use vllm_sim::lab::{BackfillPlan, Lab, PastBattery};
use vllm_sim::scenario::{POD_JOB, Scenario};
use vllm_sim::serve::Listeners;

pub mod grafana_data;
pub mod schema;

/// Returns early from a test, saying why, when a tool is missing.
#[macro_export]
macro_rules! require {
    ($tool:expr) => {
        if !$crate::tool_available($tool) {
            return;
        }
    };
}

/// Whether `tool` is on `PATH`; prints a SKIP line when it is not (or panics, when
/// `CI` or `VLLM_SIM_REQUIRE_PROMETHEUS` says a skip would hide a broken set-up).
pub fn tool_available(tool: &str) -> bool {
    let found = Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        skip(&format!(
            "`{tool}` is not installed (apt-get install --no-install-recommends prometheus)"
        ));
    }
    found
}

/// Says why a test cannot run, as a `SKIP:` line; under `CI` or
/// `VLLM_SIM_REQUIRE_PROMETHEUS`, where a skip would hide a broken set-up, fails with
/// `why` instead.
pub fn skip(why: &str) {
    for strict in ["CI", "VLLM_SIM_REQUIRE_PROMETHEUS"] {
        assert!(
            std::env::var_os(strict).is_none(),
            "{why} ({strict} is set)"
        );
    }
    eprintln!("SKIP: {why}");
}

/// A lab serving every pod of a scenario on ephemeral loopback ports.
pub struct Sim {
    /// Each pod's name and address, in scenario order.
    pub pods: Vec<(String, SocketAddr)>,
    /// The lab gateway's address.
    pub gateway: SocketAddr,
    /// Each pod's `app` label, in scenario order.
    apps: Vec<String>,
    stop: watch::Sender<bool>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Sim {
    /// Serves `scenario` with simulated time running `speed` times the wall clock.
    pub fn start(scenario: Scenario, speed: f64) -> Sim {
        Sim::start_with_harness(scenario, speed, None)
    }

    /// Like [`Sim::start`], listening on `ip` (e.g. every address, for a container to
    /// scrape).
    pub fn start_on(scenario: Scenario, speed: f64, ip: IpAddr) -> Sim {
        Sim::start_full(scenario, speed, None, ip)
    }

    /// Like [`Sim::start`], the gateway's /metrics also showing `harness`'s families, as
    /// with `vllm-sim run --bench`.
    pub fn start_with_harness(
        scenario: Scenario,
        speed: f64,
        harness: Option<&HarnessMetrics>,
    ) -> Sim {
        Sim::start_full(scenario, speed, harness, IpAddr::from([127, 0, 0, 1]))
    }

    fn start_full(
        scenario: Scenario,
        speed: f64,
        harness: Option<&HarnessMetrics>,
        ip: IpAddr,
    ) -> Sim {
        Sim::start_after(scenario, speed, harness, ip, None, None)
    }

    /// Serves `scenario` at speed 1 after writing `history` of it, scraped every
    /// `interval` with the labels [`Sim::scrape_config`] gives, to `out` (as
    /// `vllm-sim run --history` does): the lab's clock started `history` ago.
    pub fn start_with_history(
        scenario: Scenario,
        history: Duration,
        interval: Duration,
        out: &Path,
    ) -> Sim {
        let ip = IpAddr::from([127, 0, 0, 1]);
        Sim::start_after(
            scenario,
            1.0,
            None,
            ip,
            Some((history, interval, out)),
            None,
        )
    }

    /// Like [`Sim::start_with_history`], as `vllm-sim run --history --bench` does: the
    /// history holds the benchmark battery's runs of that past (every `every`, at most
    /// `limit` prompts per suite, counted in `harness`), whose families the gateway's
    /// /metrics then goes on showing live. Returns the lab and the past's log lines.
    pub fn start_with_history_and_battery(
        scenario: Scenario,
        (history, interval, out): (Duration, Duration, &Path),
        harness: &HarnessMetrics,
        (every, limit): (Duration, Option<usize>),
    ) -> (Sim, Vec<vllm_sim::logs::history::PastLine>) {
        let ip = IpAddr::from([127, 0, 0, 1]);
        let mut battery = PastBattery {
            harness,
            every,
            limit,
            concurrency: vllm_sim::bench::DEFAULT_CONCURRENCY,
            compare_baseline: true,
            lines: Vec::new(),
        };
        let sim = Sim::start_after(
            scenario,
            1.0,
            Some(harness),
            ip,
            Some((history, interval, out)),
            Some(&mut battery),
        );
        (sim, battery.lines)
    }

    fn start_after(
        mut scenario: Scenario,
        speed: f64,
        harness: Option<&HarnessMetrics>,
        ip: IpAddr,
        history: Option<(Duration, Duration, &Path)>,
        battery: Option<&mut PastBattery<'_>>,
    ) -> Sim {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let bind = || {
            runtime
                .block_on(tokio::net::TcpListener::bind((ip, 0)))
                .expect("bind a port")
        };
        let listeners = Listeners {
            pods: scenario.pods.iter().map(|_| bind()).collect(),
            gateway: bind(),
        };
        for (pod, listener) in scenario.pods.iter_mut().zip(&listeners.pods) {
            pod.port = listener.local_addr().expect("local addr").port();
        }
        let gateway = listeners.gateway.local_addr().expect("local addr");
        let past = history.map_or(Duration::ZERO, |(d, _, _)| d);
        let lab = Lab::new(scenario, Arc::new(WallClock::started_ago(past, speed)));
        if let Some((duration, interval, out)) = history {
            let plan = BackfillPlan {
                start_unix_secs: lab.clock().epoch_unix_secs(),
                duration,
                interval,
                job: POD_JOB.to_owned(),
                host: ip.to_string(),
                gateway_port: gateway.port(),
            };
            lab.write_history_with(&plan, out, battery)
                .expect("write the history");
        }
        let (stop, stopped) = watch::channel(false);
        let pods = lab
            .pods()
            .zip(&listeners.pods)
            .map(|(pod, l)| (pod.name(), l.local_addr().expect("local addr")))
            .collect();
        let apps = lab.pods().map(|pod| pod.app()).collect();
        let mut registry = Registry::default();
        if let Some(harness) = harness {
            harness.register(&mut registry);
        }
        runtime.spawn(vllm_sim::serve::serve(lab, listeners, registry, stopped));
        Sim {
            pods,
            gateway,
            apps,
            stop,
            runtime: Some(runtime),
        }
    }

    /// A Prometheus configuration scraping each pod every `interval`, with the `app`
    /// label added by the scrape config as Kubernetes relabelling would, and the
    /// gateway as job `lab-gateway`; targets on `host` (their own address if `None`).
    pub fn scrape_config(&self, interval: &str, host: Option<&str>) -> String {
        let target = |addr: &SocketAddr| match host {
            Some(h) => format!("{h}:{}", addr.port()),
            None => addr.to_string(),
        };
        let pods: Vec<(&str, String)> = (self.pods.iter().zip(&self.apps))
            .map(|((_, addr), app)| (app.as_str(), target(addr)))
            .collect();
        vllm_sim::scenario::scrape::config(&pods, &target(&self.gateway), interval)
    }

    /// The address of the pod called `name`.
    pub fn addr(&self, name: &str) -> SocketAddr {
        self.pods
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, a)| *a)
            .expect("no such pod")
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_timeout(Duration::from_secs(5));
        }
    }
}

/// A Prometheus server scraping given targets, killed on drop.
pub struct Prometheus {
    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub url: String,
    child: Child,
    config: String,
    dir: Option<tempfile::TempDir>,
}

impl Prometheus {
    /// Starts Prometheus scraping each pod of `sim` every `interval`, with the `app`
    /// label added by the scrape config as Kubernetes relabelling would, and its gateway
    /// as job `lab-gateway`.
    pub fn start(sim: &Sim, interval: &str) -> Prometheus {
        let dir = tempfile::tempdir().expect("temporary directory");
        Prometheus::start_with_config(&sim.scrape_config(interval, None), dir)
    }

    /// Starts Prometheus, scraping nothing, on TSDB blocks built by
    /// `promtool tsdb create-blocks-from openmetrics` from the OpenMetrics `backfill`.
    pub fn start_on_backfill(backfill: &str) -> Prometheus {
        let dir = tempfile::tempdir().expect("temporary directory");
        let input = dir.path().join("backfill.om");
        std::fs::write(&input, backfill).expect("write the backfill");
        blocks_from_openmetrics(&input, &dir.path().join("data"));
        Prometheus::start_with_config("global:\n  scrape_interval: 15s\n", dir)
    }

    /// Starts Prometheus on TSDB blocks that promtool builds from the OpenMetrics file
    /// `history`, scraping `sim` every `interval` from there on.
    pub fn start_on_history(sim: &Sim, history: &Path, interval: &str) -> Prometheus {
        let dir = tempfile::tempdir().expect("temporary directory");
        blocks_from_openmetrics(history, &dir.path().join("data"));
        Prometheus::start_with_config(&sim.scrape_config(interval, None), dir)
    }

    /// Starts Prometheus on the data directory `data` (copied, so that the original
    /// stays as it is), scraping `sim` every `interval`.
    pub fn start_on_data(sim: &Sim, data: &Path, interval: &str) -> Prometheus {
        let dir = tempfile::tempdir().expect("temporary directory");
        let copy = Command::new("cp")
            .arg("-r")
            .arg(data)
            .arg(dir.path().join("data"))
            .status()
            .expect("cp");
        assert!(copy.success(), "cannot copy {}", data.display());
        Prometheus::start_with_config(&sim.scrape_config(interval, None), dir)
    }

    /// Like [`Prometheus::start_on_backfill`], with the recording rules of `rules`
    /// backfilled too, from `start` to `end` (Unix seconds): promtool's `tsdb
    /// create-blocks-from rules` evaluates them against this Prometheus, and it
    /// restarts on the raw and the recorded blocks together.
    pub fn start_on_backfill_with_rules(
        backfill: &str,
        rules: &[PathBuf],
        start: u64,
        end: u64,
    ) -> Prometheus {
        let prometheus = Prometheus::start_on_backfill(backfill);
        let out = prometheus.path().join("rules-blocks");
        let mut args = vec![
            "tsdb".to_owned(),
            "create-blocks-from".to_owned(),
            "rules".to_owned(),
            "--quiet".to_owned(),
            format!("--start={start}"),
            format!("--end={end}"),
            format!("--url={}", prometheus.url),
            format!("--output-dir={}", out.display()),
        ];
        args.extend(rules.iter().map(|r| r.display().to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, text) = promtool(&args, "");
        assert_eq!(code, 0, "promtool could not backfill the rules:\n{text}");
        let config = prometheus.config.clone();
        let dir = prometheus.into_dir();
        for block in std::fs::read_dir(&out).expect("the rule blocks") {
            let block = block.expect("a rule block").path();
            let name = block.file_name().expect("a block name").to_owned();
            std::fs::rename(&block, dir.path().join("data").join(name)).expect("move a block");
        }
        Prometheus::start_with_config(&config, dir)
    }

    /// Starts Prometheus with `config`, holding its data in a temporary directory.
    pub fn start_config(config: &str) -> Prometheus {
        let dir = tempfile::tempdir().expect("temporary directory");
        Prometheus::start_with_config(config, dir)
    }

    /// Its temporary directory (`data/` holds the TSDB).
    pub fn path(&self) -> &Path {
        self.dir.as_ref().expect("the data directory").path()
    }

    /// Stops it and hands back its directory.
    fn into_dir(mut self) -> tempfile::TempDir {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.dir.take().expect("the data directory")
    }

    fn start_with_config(config: &str, dir: tempfile::TempDir) -> Prometheus {
        let config_path = dir.path().join("prometheus.yml");
        std::fs::write(&config_path, config).expect("write prometheus.yml");
        let port = free_port();
        let log = std::fs::File::create(dir.path().join("prometheus.log")).expect("log file");
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start prometheus");
        let prometheus = Prometheus {
            url: format!("http://127.0.0.1:{port}"),
            child,
            config: config.to_owned(),
            dir: Some(dir),
        };
        let ready = eventually(Duration::from_secs(30), || {
            ureq::get(&format!("{}/-/ready", prometheus.url))
                .call()
                .ok()
                .map(|_| ())
        });
        if ready.is_none() {
            panic!("prometheus did not become ready:\n{}", prometheus.log());
        }
        prometheus
    }

    /// Prometheus's own log, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.path().join("prometheus.log")).unwrap_or_default()
    }

    /// The `data.result` of an instant query.
    pub fn query(&self, expr: &str) -> Vec<Value> {
        let mut response = ureq::get(&format!("{}/api/v1/query", self.url))
            .query("query", expr)
            .call()
            .unwrap_or_else(|e| panic!("query {expr}: {e}"));
        let body: Value = response.body_mut().read_json().expect("JSON response");
        assert_eq!(body["status"], "success", "query {expr}: {body}");
        body["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The single value an instant query returns, if it returns exactly one series.
    pub fn scalar(&self, expr: &str) -> Option<f64> {
        match self.query(expr).as_slice() {
            [one] => one["value"][1].as_str()?.parse().ok(),
            _ => None,
        }
    }

    /// Waits until every target has been scraped successfully at least `scrapes` times.
    pub fn wait_for_scrapes(&self, scrapes: usize) {
        let expr = format!("min(count_over_time(up[10m])) >= {scrapes} and min(up) == 1");
        let done = eventually(Duration::from_secs(90), || {
            (!self.query(&expr).is_empty()).then_some(())
        });
        assert!(
            done.is_some(),
            "targets not scraped {scrapes} times: {:?}",
            self.query("up")
        );
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// TSDB blocks in `data` from the timestamped OpenMetrics file `input`, by
/// `promtool tsdb create-blocks-from openmetrics`.
fn blocks_from_openmetrics(input: &Path, data: &Path) {
    let (code, out) = promtool(
        &[
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            input.to_str().unwrap(),
            data.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(code, 0, "promtool rejected {}:\n{out}", input.display());
}

/// Polls `f` every 250 ms until it returns `Some`, or `timeout` passes.
pub fn eventually<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// GETs `url` with an `Accept` header; returns status, content type and body.
pub fn get(url: &str, accept: &str) -> (u16, String, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut response = agent
        .get(url)
        .header("Accept", accept)
        .call()
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body = response.body_mut().read_to_string().expect("body");
    (status, content_type, body)
}

/// Runs `promtool` with `args`, feeding `stdin`; returns exit code and combined output.
pub fn promtool(args: &[&str], stdin: &str) -> (i32, String) {
    use std::io::Write;
    let mut child = Command::new("promtool")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start promtool");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("feed promtool");
    let out = child.wait_with_output().expect("promtool output");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

/// The repository root.
pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
}
