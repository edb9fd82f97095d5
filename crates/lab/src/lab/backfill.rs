//! Backfill: a scenario's history scraped on simulated time, pods in parallel.
//!
//! The scrapes go in spans of [`SPAN_SCRAPES`]. In each, every pod is moved from where
//! it stands to the end of the span on its own, by whichever worker thread takes it,
//! into a writer of its own; its scenario traffic is kept as a gateway journal per
//! scrape. The gateway's metrics are then replayed from those journals in the order one
//! thread would have produced them (scrape by scrape, pod by pod), so the document is
//! the same whatever the number of threads. Given a directory, every writer then spills
//! the span's points there, so that memory holds a span, not the whole history.
//!
//! With the benchmark battery (see [`super::battery`]), the pods move in parallel only
//! between the battery's runs; while one is in flight they move in lockstep, and the
//! gateway's scrapes carry the harness's families as they stood at each scrape.
//!
//! [`backfill`] does this for fresh pods; [`Lab::history`](super::Lab::history) for a
//! lab's own pods and gateway, which then go on serving live from where the history
//! ends.

use std::io;
use std::path::Path;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::battery::{Battery, PastBattery};
use super::{GATEWAY_JOB, GatewayCounts, Pod};
use crate::scenario::Scenario;
use vllm_sim_core::clock::SimTime;
use vllm_sim_core::exposition::text::label_pairs;
use vllm_sim_core::exposition::{self, BackfillWriter, Format};
use vllm_sim_core::metrics::gateway::GatewayMetrics;

/// How a backfill scrapes the lab.
#[derive(Clone, Debug, PartialEq)]
pub struct BackfillPlan {
    /// Unix time (seconds) of the first scrape; simulated time zero.
    pub start_unix_secs: f64,
    /// How much simulated time to cover.
    pub duration: Duration,
    /// Time between scrapes.
    pub interval: Duration,
    /// The `job` label.
    pub job: String,
    /// The host part of each pod's `instance` label (`host:port`).
    pub host: String,
    /// The gateway's port: it shows as job `lab-gateway`, instance `host:port`.
    pub gateway_port: u16,
}

impl BackfillPlan {
    /// Each scrape's simulated time and Unix milliseconds, from time zero to the end.
    fn scrapes(&self) -> Vec<(SimTime, i64)> {
        let start_millis = (self.start_unix_secs * 1000.0).round() as i64;
        std::iter::successors(Some(Duration::ZERO), |t| {
            Some(*t + self.interval).filter(|t| *t <= self.duration)
        })
        .map(|t| {
            (
                SimTime::from_duration(t),
                start_millis + t.as_millis() as i64,
            )
        })
        .collect()
    }
}

/// Scrapes every pod of `scenario` as Prometheus would, on simulated time, from time
/// zero to `plan.duration` every `plan.interval`, and the gateway after the pods; kept
/// in memory.
pub fn backfill(scenario: Arc<Scenario>, plan: &BackfillPlan) -> BackfillWriter {
    backfill_with(scenario, plan, threads(), None)
        .expect("a backfill kept in memory writes no file")
}

/// The worker threads a backfill uses: one per core.
pub(super) fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The scrapes simulated between two spills: a spilled backfill keeps this many
/// scrapes' points in memory (an hour at Prometheus's usual 15 s), whatever its length.
pub(super) const SPAN_SCRAPES: usize = 240;

/// [`backfill`] with every span's points but the last's spilled to unnamed temporary
/// files in `dir` (see [`BackfillWriter::spill`]): memory holds a span of scrapes, not
/// the history.
pub fn backfill_spilled(
    scenario: Arc<Scenario>,
    plan: &BackfillPlan,
    dir: &Path,
) -> io::Result<BackfillWriter> {
    backfill_with(scenario, plan, threads(), Some(dir))
}

/// Fresh pods of `scenario` scraped along `plan` on at most `threads` threads, spilled
/// to `spill` when given.
fn backfill_with(
    scenario: Arc<Scenario>,
    plan: &BackfillPlan,
    threads: usize,
    spill: Option<&Path>,
) -> io::Result<BackfillWriter> {
    let mut pods: Vec<Pod> = (0..scenario.pods.len())
        .map(|i| Pod::new(scenario.clone(), i, plan.start_unix_secs))
        .collect();
    let mut pods: Vec<&mut Pod> = pods.iter_mut().collect();
    let gateway = GatewayMetrics::default();
    scrape(&mut pods, &gateway, plan, threads, spill, None)
}

/// Moves `pods` along `plan`'s scrapes, on at most `threads` worker threads, writing
/// each pod's scrapes and then the gateway's, whose `gateway` metrics count the pods'
/// scenario traffic as it happened. Each pod ends at the plan's end, its scenario
/// traffic routed to `gateway` from then on.
///
/// The scrapes go in spans of [`SPAN_SCRAPES`]: every pod through the span (pods in
/// parallel), then the gateway through it; with `spill`, every writer then spills the
/// span's points to a temporary file in that directory (but the last span's), so memory
/// holds one span.
pub(super) fn scrape(
    pods: &mut [&mut Pod],
    gateway: &GatewayMetrics,
    plan: &BackfillPlan,
    threads: usize,
    spill: Option<&Path>,
    battery: Option<&mut PastBattery<'_>>,
) -> io::Result<BackfillWriter> {
    let scrapes = plan.scrapes();
    let mut histories: Vec<PodHistory> =
        pods.iter_mut().map(|p| PodHistory::new(p, plan)).collect();
    // The gateway's /metrics: the harness's families (with a battery), then its own.
    // The harness's are read as each scrape happens, the gateway's replayed later.
    let mut registry = prometheus_client::registry::Registry::default();
    gateway.register(&mut registry);
    let harness = battery.as_ref().map(|b| {
        let mut registry = prometheus_client::registry::Registry::default();
        b.harness.register(&mut registry);
        registry
    });
    let harness_body = || -> Arc<str> {
        let mut body = String::new();
        if let Some(harness) = &harness
            && exposition::encode(harness, Format::OpenMetrics, &mut body).is_ok()
        {
            let whole = body.strip_suffix("# EOF\n").map_or(body.len(), str::len);
            body.truncate(whole);
        }
        body.into()
    };
    let mut harness_bodies: Vec<Arc<str>> = Vec::with_capacity(SPAN_SCRAPES);
    let mut battery = match (battery, pods.first()) {
        (Some(past), Some(first)) => Some(Battery::new(
            past,
            first.scenario.clone(),
            plan.start_unix_secs,
            plan.duration,
        )),
        _ => None,
    };
    let instance = format!("{}:{}", plan.host, plan.gateway_port);
    let target = label_pairs(&[("instance", &instance), ("job", GATEWAY_JOB)]);
    let mut writer = BackfillWriter::new();
    let mut body = String::new();
    let spans = scrapes.len().div_ceil(SPAN_SCRAPES);
    for (n, span) in scrapes.chunks(SPAN_SCRAPES).enumerate() {
        let mut k = 0;
        while k < span.len() {
            if let Some(battery) = battery.as_mut().filter(|b| b.running()) {
                // In lockstep while the run is in flight, every pod scraped in turn.
                let (t, millis) = span[k];
                if !battery.run_until(pods, t) {
                    for (pod, history) in pods.iter_mut().zip(&mut histories) {
                        history.scrape(pod, &[(t, millis)]);
                    }
                    harness_bodies.push(harness_body());
                    k += 1;
                }
                continue;
            }
            let start = battery.as_ref().and_then(Battery::next_start);
            let until = span[k..]
                .iter()
                .take_while(|(t, _)| start.is_none_or(|s| *t < s))
                .count();
            let part = &span[k..k + until];
            let to = start.filter(|_| k + until < span.len());
            let body = harness_body();
            harness_bodies.extend(part.iter().map(|_| body.clone()));
            parallel(pods, &mut histories, threads, |pod, history| {
                history.scrape(pod, part);
                if let Some(to) = to {
                    pod.advance_to(to);
                }
                Ok(())
            })?;
            if let (Some(battery), Some(to)) = (battery.as_mut(), to) {
                battery.start(pods, to);
            }
            k += until;
        }
        for (k, &(_, millis)) in span.iter().enumerate() {
            for history in &histories {
                if let Some(team) = &history.team {
                    for &(status, ms) in &history.journal[k] {
                        gateway.observe(team, status, ms);
                    }
                }
            }
            body.clear();
            body.push_str(&harness_bodies[k]);
            if exposition::encode(&registry, Format::OpenMetrics, &mut body).is_ok() {
                writer.add_up(&target, millis, true);
                exposition::read_openmetrics(&body, &mut writer.scrape(&target, millis));
            }
        }
        for history in &mut histories {
            history.journal.clear();
        }
        harness_bodies.clear();
        // The last span stays in memory: it would only be copied straight back.
        if let Some(dir) = spill.filter(|_| n + 1 < spans) {
            parallel(pods, &mut histories, threads, |_, history| {
                history.writer.spill(dir)
            })?;
            writer.spill(dir)?;
        }
    }
    if let Some(battery) = battery.as_mut() {
        battery.cut(pods, SimTime::from_duration(plan.duration));
    }
    for pod in pods.iter_mut() {
        pod.route_through(gateway.clone());
    }
    Ok(BackfillWriter::merge(
        histories.into_iter().map(|h| h.writer).chain([writer]),
    ))
}

/// Runs `work` on every pod and its history, on at most `threads` worker threads;
/// the first error, if any.
fn parallel(
    pods: &mut [&mut Pod],
    histories: &mut [PodHistory],
    threads: usize,
    work: impl Fn(&mut Pod, &mut PodHistory) -> io::Result<()> + Sync,
) -> io::Result<()> {
    let slots: Vec<Mutex<(&mut Pod, &mut PodHistory)>> = (pods.iter_mut())
        .zip(histories.iter_mut())
        .map(|(p, h)| Mutex::new((&mut **p, h)))
        .collect();
    let next = AtomicUsize::new(0);
    let failed: Mutex<Option<io::Error>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..threads.clamp(1, slots.len().max(1)) {
            s.spawn(|| {
                while let Some(slot) = slots.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let mut guard = slot.lock().unwrap_or_else(|e| e.into_inner());
                    let (pod, history) = &mut *guard;
                    if let Err(e) = work(pod, history) {
                        *failed.lock().unwrap_or_else(|e| e.into_inner()) = Some(e);
                    }
                }
            });
        }
    });
    match failed.into_inner().unwrap_or_else(|e| e.into_inner()) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// What a backfill keeps of one pod: its scrapes, and its gateway journal per scrape
/// of the current span.
struct PodHistory {
    writer: BackfillWriter,
    target: String,
    team: Option<String>,
    /// The (HTTP status, milliseconds) of each request routed since the previous scrape.
    journal: Vec<Vec<(u16, f64)>>,
}

impl PodHistory {
    /// Nothing yet of `pod`, whose scenario traffic is counted in a journal from now on.
    fn new(pod: &mut Pod, plan: &BackfillPlan) -> PodHistory {
        pod.route(GatewayCounts::Journal(Vec::new()));
        let spec = pod.spec();
        let instance = format!("{}:{}", plan.host, spec.port);
        PodHistory {
            writer: BackfillWriter::new(),
            target: label_pairs(&[
                ("app", &spec.app),
                ("instance", &instance),
                ("job", &plan.job),
            ]),
            team: spec.team.clone(),
            journal: Vec::with_capacity(SPAN_SCRAPES),
        }
    }

    /// `pod` scraped at every one of `scrapes` (it is moved to each in turn), its
    /// scenario traffic counted in the journal meanwhile.
    fn scrape(&mut self, pod: &mut Pod, scrapes: &[(SimTime, i64)]) {
        for &(t, millis) in scrapes {
            pod.advance_to(t);
            self.writer.add_up(&self.target, millis, pod.is_up());
            if let Some(metrics) = pod.metrics() {
                metrics.encode_into(&mut self.writer.scrape(&self.target, millis));
            }
            self.journal.push(pod.take_gateway_journal());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::builtin;

    #[test]
    fn backfill_is_reproducible_and_records_outages() {
        let plan = BackfillPlan {
            start_unix_secs: 1_700_000_000.0,
            duration: Duration::from_secs(600),
            interval: Duration::from_secs(15),
            job: "vllm".to_owned(),
            host: "127.0.0.1".to_owned(),
            gateway_port: 8000,
        };
        let scenario = Arc::new(builtin("spot-preemption").unwrap());
        let render = || {
            let mut out = Vec::new();
            let samples = backfill_with(scenario.clone(), &plan, 4, None)
                .unwrap()
                .write(&mut out)
                .unwrap();
            (String::from_utf8(out).unwrap(), samples)
        };
        let (text, samples) = render();
        assert_eq!(render(), (text.clone(), samples), "same seed, same bytes");
        let mut one_thread = Vec::new();
        backfill_with(scenario.clone(), &plan, 1, None)
            .unwrap()
            .write(&mut one_thread)
            .unwrap();
        assert!(
            one_thread == text.as_bytes(),
            "the same on one thread as on four"
        );
        // 41 scrapes of 4 pods; the AWQ pod is down from 120 s to 300 s (12 scrapes, 120..=285 s).
        let up = |v: &str| {
            text.lines()
                .filter(|l| {
                    l.starts_with("up{app=\"mistral-7b-awq\"") && l.contains(&format!("}} {v} "))
                })
                .count()
        };
        assert_eq!((up("1"), up("0")), (29, 12));
        assert!(text.contains("vllm:e2e_request_latency_seconds_bucket{le=\"0.3\",model_name=\"mistral-7b-fp16\",app=\"mistral-7b-fp16\",instance=\"127.0.0.1:8001\",job=\"vllm\"} "));
        assert!(text.ends_with("# EOF\n"));
        assert!(samples > 30_000, "{samples}");
        // The gateway is the fifth target; the scenario's traffic is its traffic.
        let gateway = r#"instance="127.0.0.1:8000",job="lab-gateway"}"#;
        assert!(text.contains(&format!("up{{{gateway} 1 ")));
        assert!(text.contains(&format!(
            r#"lab_gateway_requests_total{{team="quantization",status="200",{gateway}"#
        )));
        assert!(text.contains(&format!(
            r#"lab_gateway_request_duration_ms_count{{team="baseline",{gateway}"#
        )));
    }

    /// Spilled span by span to temporary files, a backfill longer than a span is the
    /// same document as one kept in memory.
    #[test]
    fn a_spilled_backfill_is_the_same_document() {
        let plan = BackfillPlan {
            start_unix_secs: 1_700_000_000.0,
            duration: Duration::from_secs(2400),
            interval: Duration::from_secs(5),
            job: "vllm".to_owned(),
            host: "127.0.0.1".to_owned(),
            gateway_port: 8000,
        };
        assert!(plan.scrapes().len() > 2 * SPAN_SCRAPES);
        let scenario = Arc::new(builtin("spot-preemption").unwrap());
        let dir = tempfile::tempdir().unwrap();
        let render = |spill: Option<&Path>| {
            let writer = backfill_with(scenario.clone(), &plan, 2, spill).unwrap();
            let mut out = Vec::new();
            let samples = writer.write(&mut out).unwrap();
            (out, samples)
        };
        let (kept, samples) = render(None);
        let (spilled, spilled_samples) = render(Some(dir.path()));
        assert_eq!(samples, spilled_samples);
        assert!(kept == spilled, "the same bytes spilled or not");
    }

    /// A history of `run --bench`: the battery's past runs leave their harness series
    /// on the gateway's scrapes, counted from zero up, their requests in the gateway's
    /// counts, and their lines in time order; the same for the same seed.
    #[test]
    fn the_battery_runs_in_the_past() {
        let plan = BackfillPlan {
            start_unix_secs: 1_700_000_000.0,
            duration: Duration::from_secs(1800),
            interval: Duration::from_secs(15),
            job: "vllm".to_owned(),
            host: "127.0.0.1".to_owned(),
            gateway_port: 8000,
        };
        let scenario = Arc::new(builtin("healthy").unwrap());
        let render = || {
            let harness = crate::bench::HarnessMetrics::new();
            let mut past = PastBattery {
                harness: &harness,
                every: Duration::from_secs(600),
                limit: Some(4),
                concurrency: 10,
                compare_baseline: true,
                lines: Vec::new(),
            };
            let mut pods: Vec<Pod> = (0..scenario.pods.len())
                .map(|i| Pod::new(scenario.clone(), i, plan.start_unix_secs))
                .collect();
            let mut pods: Vec<&mut Pod> = pods.iter_mut().collect();
            let gateway = GatewayMetrics::default();
            let writer = scrape(&mut pods, &gateway, &plan, 2, None, Some(&mut past)).unwrap();
            let mut out = Vec::new();
            writer.write(&mut out).unwrap();
            (String::from_utf8(out).unwrap(), past.lines)
        };
        let (text, lines) = render();
        assert!(
            render() == (text.clone(), lines.clone()),
            "same seed, same history"
        );
        let gateway = r#"instance="127.0.0.1:8000",job="lab-gateway"}"#;
        let requests = |suffix: &str| -> Vec<f64> {
            let series = format!(
                r#"lab_harness_requests_total{{scenario_id="benchmark-quant",team="quantization",{gateway}"#
            );
            text.lines()
                .filter_map(|l| l.strip_prefix(&series))
                .filter(|l| l.ends_with(suffix) || suffix.is_empty())
                .map(|l| l.trim().split(' ').next().unwrap().parse().unwrap())
                .collect()
        };
        let counts = requests("");
        assert_eq!(counts.len(), 121, "one sample per scrape");
        // Runs at 0, 10 and 20 minutes (the live run at 30 is the next): 4 prompts each.
        assert_eq!(counts[0], 0.0);
        assert_eq!((counts[39], counts[40 + 20]), (4.0, 8.0));
        assert_eq!(counts[120], 12.0);
        assert!(
            counts.windows(2).all(|w| w[0] <= w[1]),
            "a counter never falls"
        );
        for name in [
            "lab_harness_pass_total",
            "lab_harness_fail_total",
            "lab_harness_latency_ms_bucket",
        ] {
            assert!(text.contains(&format!("{name}{{")), "no {name}");
        }
        assert!(lines.windows(2).all(|w| w[0].unix_nanos <= w[1].unix_nanos));
        let at = |l: &crate::logs::history::PastLine| {
            (l.unix_nanos / 1_000_000_000) as i64 - 1_700_000_000
        };
        let started: Vec<_> = lines
            .iter()
            .filter(|l| l.message.starts_with("benchmark started"))
            .map(at)
            .collect();
        assert_eq!(started, [0, 600, 1200]);
        assert!(lines.iter().any(|l| l.text().starts_with(
            "INFO vllm_sim_lab::bench::run: benchmark benchmark-quant finished: 4 prompts"
        )));
        assert!(
            lines
                .iter()
                .any(|l| l.message.starts_with("benchmark summary | "))
        );
    }
}
