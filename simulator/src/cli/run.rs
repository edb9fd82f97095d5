//! `vllm-sim run [SCENARIO]`: serve every pod of a scenario until Ctrl-C or SIGTERM.

use std::fs::File;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use tokio::net::TcpListener;
use tokio::sync::watch;

use indicatif::ProgressBar;
use prometheus_client::registry::Registry;
use vllm_sim_core::clock::{Clock, WallClock};

use vllm_sim_lab::bench::{self, BenchConfig, DEFAULT_CONCURRENCY, HarnessMetrics, SUITES};
use vllm_sim_lab::lab::{BackfillPlan, Lab, PastBattery, partial_path};
use vllm_sim_lab::logs::{self, ShipperOptions, history::PastLine};
use vllm_sim_lab::scenario::{POD_JOB, Scenario};
use vllm_sim_lab::serve::{self, Listeners};

/// The fastest `--speed`: beyond it a pod's steps outrun the drive loop's ticks and
/// `/metrics` waits on the simulation.
const MAX_SPEED: f64 = 1000.0;

/// Arguments of `run`, as typed.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// A built-in scenario name or a scenario file.
    #[arg(env = "VLLM_SIM_SCENARIO", default_value = "healthy")]
    pub scenario: String,
    /// Address every pod listens on.
    #[arg(long, env = "VLLM_SIM_BIND", default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// Listen on consecutive ports from this one, in scenario order, instead of the
    /// scenario's ports; 0 picks free ports.
    #[arg(long, env = "VLLM_SIM_BASE_PORT")]
    pub base_port: Option<u16>,
    /// Simulated seconds per wall-clock second (at most 1000).
    #[arg(long, env = "VLLM_SIM_SPEED", default_value_t = 1.0)]
    pub speed: f64,
    /// Replace the scenario's seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Every pod impersonates this vLLM release (vllm-X.Y.Z from 0.6.0 to 0.33.0, vllm-0.6, vllm-0.11 or latest) instead of
    /// the one the scenario gives it.
    #[arg(long, env = "VLLM_SIM_PROFILE", value_name = "PROFILE", value_parser = super::parse_profile)]
    pub profile: Option<super::ProfileArg>,
    /// Serve only these pods (by `app` or name, comma-separated), as one Kubernetes
    /// Deployment per model does; each behaves as in the whole scenario.
    #[arg(long, env = "VLLM_SIM_ONLY", value_delimiter = ',')]
    pub only: Vec<String>,
    /// Port of the lab gateway (`/<team>/v1/...`, `lab_gateway_*`): 8000, or the port
    /// before `--base-port` (free when that is 0); 0 picks a free port.
    #[arg(long, env = "VLLM_SIM_GATEWAY_PORT")]
    pub gateway_port: Option<u16>,
    /// Run the benchmark battery through the gateway (baseline compared) once the lab
    /// is up, and again every `--bench-every`; its `lab_harness_*` metrics show on the
    /// gateway's /metrics.
    #[arg(long, env = "VLLM_SIM_BENCH")]
    pub bench: bool,
    /// Wall time from the start of one `--bench` run to the next.
    #[arg(long, env = "VLLM_SIM_BENCH_EVERY", default_value = "30m", value_parser = humantime::parse_duration)]
    pub bench_every: Duration,
    /// Prompts per suite in each `--bench` run (all when omitted).
    #[arg(long, env = "VLLM_SIM_BENCH_LIMIT", value_parser = clap::value_parser!(u64).range(1..))]
    pub bench_limit: Option<u64>,
    /// Start with this much history behind the lab (wall time, at most 7 days; 0 for
    /// none): simulated at full speed and written to `--history-out` for promtool
    /// before the lab serves, then continued live from the same state.
    #[arg(long, env = "VLLM_SIM_HISTORY", default_value = "0", value_parser = humantime::parse_duration)]
    pub history: Duration,
    /// Where the history goes: timestamped OpenMetrics for `promtool tsdb
    /// create-blocks-from openmetrics` (written beside as FILE.partial, then renamed).
    #[arg(long, env = "VLLM_SIM_HISTORY_OUT", value_name = "FILE")]
    pub history_out: Option<PathBuf>,
    /// The host Prometheus scrapes the lab at, for the history's `instance` labels (as
    /// `scrape-config --host`).
    #[arg(long, env = "VLLM_SIM_HOST", default_value = "127.0.0.1")]
    pub host: String,
    /// Time between the history's scrapes, as Prometheus's scrape_interval (as
    /// `scrape-config --interval`).
    #[arg(long, env = "VLLM_SIM_INTERVAL", default_value = "15s", value_parser = humantime::parse_duration)]
    pub interval: Duration,
    /// Log shipping.
    #[command(flatten)]
    pub logs: super::LogArgs,
}

/// The longest `--history`: a week of scrapes is 40,320 per target.
const MAX_HISTORY: Duration = Duration::from_secs(7 * 24 * 3600);

/// A history to write before serving.
#[derive(Debug)]
struct History {
    duration: Duration,
    interval: Duration,
    host: String,
    out: PathBuf,
}

impl History {
    /// `--history` and its companions, checked; `None` for `--history 0`.
    fn from_args(args: &RunArgs) -> anyhow::Result<Option<History>> {
        if args.history.is_zero() {
            return Ok(None);
        }
        anyhow::ensure!(
            args.history <= MAX_HISTORY,
            "--history must be at most 7 days, got {}",
            humantime::format_duration(args.history)
        );
        anyhow::ensure!(
            args.speed == 1.0,
            "--history needs --speed 1: the history is stamped in wall time, which a faster lab outruns"
        );
        anyhow::ensure!(
            !args.interval.is_zero() && args.interval <= args.history,
            "--interval must be longer than 0s and at most --history, got {}",
            humantime::format_duration(args.interval)
        );
        let out = args
            .history_out
            .clone()
            .context("--history needs --history-out FILE: where to write it for promtool")?;
        let partial = partial_path(&out);
        File::create(&partial)
            .with_context(|| format!("--history-out: cannot write {}", partial.display()))?;
        Ok(Some(History {
            duration: args.history,
            interval: args.interval,
            host: args.host.clone(),
            out,
        }))
    }
}

/// When and how much the headless harness runs.
#[derive(Debug)]
struct Headless {
    every: Duration,
    limit: Option<usize>,
}

/// A validated `run` configuration.
#[derive(Debug)]
struct RunConfig {
    scenario: Scenario,
    addrs: Vec<SocketAddr>,
    gateway: SocketAddr,
    speed: f64,
    bench: Option<Headless>,
    history: Option<History>,
    loki_url: Option<String>,
}

impl TryFrom<RunArgs> for RunConfig {
    type Error = anyhow::Error;

    fn try_from(args: RunArgs) -> anyhow::Result<RunConfig> {
        let history = History::from_args(&args)?;
        let mut scenario = super::resolve_scenario(&args.scenario)?;
        if let Some(seed) = args.seed {
            scenario.seed = seed;
        }
        if let Some(profile) = args.profile {
            scenario = scenario.with_profile(profile.0);
        }
        if !args.only.is_empty() {
            scenario = scenario.only(&args.only).map_err(anyhow::Error::msg)?;
        }
        anyhow::ensure!(
            args.speed > 0.0 && args.speed <= MAX_SPEED,
            "--speed must be greater than 0 and at most {MAX_SPEED}, got {}",
            args.speed
        );
        let addrs: Vec<SocketAddr> = super::pod_ports(&scenario, args.base_port)?
            .into_iter()
            .map(|port| SocketAddr::new(args.bind, port))
            .collect();
        // Logs name the ports the pods really take (free ones are only known later).
        for (pod, addr) in scenario.pods.iter_mut().zip(&addrs) {
            if addr.port() != 0 {
                pod.port = addr.port();
            }
        }
        let gateway_port = super::gateway_port(args.gateway_port, args.base_port);
        Ok(RunConfig {
            scenario,
            addrs,
            gateway: SocketAddr::new(args.bind, gateway_port),
            speed: args.speed,
            bench: args.bench.then(|| Headless {
                every: args.bench_every,
                limit: args.bench_limit.map(|n| n as usize),
            }),
            history,
            loki_url: args.logs.loki_url,
        })
    }
}

pub(super) fn execute(args: RunArgs) -> anyhow::Result<()> {
    let config = RunConfig::try_from(args)?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let served = runtime.block_on(serve(config));
    // A headless benchmark in flight is not waited for.
    runtime.shutdown_timeout(Duration::from_millis(100));
    served
}

async fn serve(mut config: RunConfig) -> anyhow::Result<()> {
    let past = config
        .history
        .as_ref()
        .map_or(Duration::ZERO, |h| h.duration);
    let clock: Arc<dyn Clock> = Arc::new(WallClock::started_ago(past, config.speed));
    tracing::info!(
        "scenario {}: {} (speed x{})",
        config.scenario.name,
        config.scenario.description,
        config.speed
    );
    for line in super::check::summary(&config.scenario).lines().skip(1) {
        tracing::info!("{}", line.trim_start());
    }
    let mut pods = Vec::new();
    for (pod, addr) in config.scenario.pods.iter_mut().zip(&config.addrs) {
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("{} cannot listen on {addr}", pod.name))?;
        pod.port = listener.local_addr()?.port();
        pods.push(listener);
    }
    let listener = TcpListener::bind(config.gateway)
        .await
        .with_context(|| format!("the gateway cannot listen on {}", config.gateway))?;
    let lab = Lab::new(config.scenario, clock);
    let harness = HarnessMetrics::new();
    if let Some(history) = &config.history {
        let battery = config.bench.as_ref().map(|headless| PastBattery {
            harness: &harness,
            every: headless.every,
            limit: headless.limit,
            concurrency: DEFAULT_CONCURRENCY,
            compare_baseline: true,
            lines: Vec::new(),
        });
        let port = listener.local_addr()?.port();
        let lines = write_history(&lab, history, port, battery)?;
        if let Some(url) = &config.loki_url {
            push_history_lines(url, &lines);
        }
    }
    for (pod, listener) in lab.pods().zip(&pods) {
        tracing::info!(
            "{} listening on http://{} (/metrics, /health)",
            pod.name(),
            listener.local_addr()?
        );
    }
    let (stop, stopped) = watch::channel(false);
    let mut registry = Registry::default();
    if config.bench.is_some() {
        for suite in SUITES {
            harness.init_suite(suite);
        }
        harness.register(&mut registry);
    }
    let gateway_addr = listener.local_addr()?;
    let mut teams: Vec<&str> = (lab.scenario().pods.iter())
        .filter_map(|p| p.team.as_deref())
        .collect();
    teams.sort_unstable();
    teams.dedup();
    tracing::info!(
        "gateway listening on http://{gateway_addr} (/<team>/v1/..., /metrics); teams: {}",
        teams.join(", ")
    );
    let listeners = Listeners {
        pods,
        gateway: listener,
    };
    let mut tasks = vec![tokio::spawn(serve::serve(
        lab.clone(),
        listeners,
        registry,
        stopped,
    ))];
    let served = tasks.len();
    tasks.push(tokio::spawn(log_phases(lab.clone(), config.speed)));
    if let Some(headless) = config.bench {
        let url = match gateway_addr.ip() {
            ip if ip.is_unspecified() => format!("http://127.0.0.1:{}", gateway_addr.port()),
            _ => format!("http://{gateway_addr}"),
        };
        let mut bench = BenchConfig::new(url, Arc::new(lab.scenario().clone()));
        bench.compare_baseline = true;
        bench.limit = headless.limit;
        tasks.push(tokio::spawn(benchmark(bench, harness, headless.every)));
    }
    shutdown_signal().await;
    tracing::info!("shutting down");
    let _ = stop.send(true);
    for task in tasks.drain(..served) {
        let _ = task.await;
    }
    Ok(())
}

/// Simulates the lab's past at full speed and writes it to the history's file, with
/// the labels the lab's own scrape configuration gives (`scrape-config` with the same
/// `--host`, `--interval` and ports); with `battery`, the battery's past runs too.
/// Returns the log lines of that past: the phases as they began, and the battery's.
fn write_history(
    lab: &Lab,
    history: &History,
    gateway_port: u16,
    mut battery: Option<PastBattery<'_>>,
) -> anyhow::Result<Vec<PastLine>> {
    let started = Instant::now();
    let plan = BackfillPlan {
        start_unix_secs: lab.clock().epoch_unix_secs(),
        duration: history.duration,
        interval: history.interval,
        job: POD_JOB.to_owned(),
        host: history.host.clone(),
        gateway_port,
    };
    let samples = lab
        .write_history_with(&plan, &history.out, battery.as_mut())
        .with_context(|| format!("--history-out {}", history.out.display()))?;
    tracing::info!(
        "history: the last {} ({samples} samples) written to {} in {:.1} s; \
         promtool tsdb create-blocks-from openmetrics {} DATA_DIR turns it into blocks",
        humantime::format_duration(history.duration),
        history.out.display(),
        started.elapsed().as_secs_f64(),
        history.out.display()
    );
    let mut lines = past_phases(lab, history.duration);
    lines.extend(battery.map(|b| b.lines).unwrap_or_default());
    lines.sort_by_key(|l| l.unix_nanos);
    Ok(lines)
}

/// The lines [`log_phases`] would have logged over the first `past` of the lab.
fn past_phases(lab: &Lab, past: Duration) -> Vec<PastLine> {
    let end = vllm_sim_core::clock::SimTime::from_duration(past);
    let epoch = lab.clock().epoch_unix_secs();
    let mut lines = Vec::new();
    let mut now = vllm_sim_core::clock::SimTime::ZERO;
    while now < end {
        let (phase, next) = lab.scenario().phase_at(now);
        lines.push(PastLine {
            unix_nanos: ((epoch + now.as_secs_f64()) * 1e9).round() as u128,
            target: module_path!(),
            level: "info",
            message: phase_line(lab, phase, now),
        });
        if next <= now {
            break;
        }
        now = next;
    }
    lines
}

/// `phase NAME begins at t=T; down: [PODS]`.
fn phase_line(
    lab: &Lab,
    phase: &vllm_sim_lab::scenario::Phase,
    now: vllm_sim_core::clock::SimTime,
) -> String {
    let down: Vec<_> = (lab.scenario().pods.iter())
        .zip(&phase.down)
        .filter(|(_, d)| **d)
        .map(|(p, _)| p.name.as_str())
        .collect();
    format!(
        "phase {} begins at t={now}; down: [{}]",
        phase.name,
        down.join(", ")
    )
}

/// Pushes the history's log lines to Loki with their own timestamps, before the lab
/// serves, and says what became of them.
fn push_history_lines(url: &str, lines: &[PastLine]) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    match logs::history::push(url, lines, now, &ShipperOptions::default()) {
        Ok(pushed) => tracing::info!(
            "history: {} past log lines pushed to Loki with their own timestamps{}{}",
            pushed.delivered,
            if pushed.too_old > 0 {
                format!(
                    "; {} older than {} left out (Loki refuses them)",
                    pushed.too_old,
                    humantime::format_duration(logs::history::MAX_AGE)
                )
            } else {
                String::new()
            },
            if pushed.failed > 0 {
                format!("; {} not delivered", pushed.failed)
            } else {
                String::new()
            }
        ),
        Err(e) => tracing::error!("history: past log lines not pushed: {e}"),
    }
}

/// Runs the battery now and every `every`, on a blocking thread, for as long as the
/// lab serves.
async fn benchmark(config: BenchConfig, metrics: HarnessMetrics, every: Duration) {
    let config = Arc::new(config);
    let metrics = Arc::new(metrics);
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let (config, metrics) = (config.clone(), metrics.clone());
        let ran = tokio::task::spawn_blocking(move || {
            bench::run(&config, &metrics, &ProgressBar::hidden())
        })
        .await;
        match ran {
            Ok(Ok(results)) => {
                for line in bench::summary(&results).lines() {
                    tracing::info!("benchmark summary | {line}");
                }
            }
            Ok(Err(e)) => tracing::error!("benchmark could not run: {e}"),
            Err(e) => tracing::error!("benchmark stopped: {e}"),
        }
    }
}

/// Logs each phase as it begins.
async fn log_phases(lab: Lab, speed: f64) {
    loop {
        let now = lab.clock().now();
        let (phase, end) = lab.scenario().phase_at(now);
        tracing::info!("{}", phase_line(&lab, phase, now));
        if end == vllm_sim_core::clock::SimTime::MAX {
            return;
        }
        let wait = (end - now).as_secs_f64() / speed;
        tokio::time::sleep(Duration::from_secs_f64(wait) + Duration::from_millis(1)).await;
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
