//! Backfill: a scenario's history scraped on simulated time, pods in parallel.
//!
//! Each pod is moved from where it stands to the end of the span on its own, by
//! whichever worker thread takes it, into a writer of its own; its scenario traffic is
//! kept as a gateway journal per scrape. The gateway's metrics are then replayed from
//! those journals in the order one thread would have produced them (scrape by scrape,
//! pod by pod), so the document is the same whatever the number of threads.
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
    backfill_on(scenario, plan, threads())
}

/// The worker threads a backfill uses: one per core.
pub(super) fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The scrapes simulated between two spills: a spilled backfill keeps this many
/// scrapes' points in memory (an hour at Prometheus's usual 15 s), whatever its length.
pub(super) const SPAN_SCRAPES: usize = 240;

/// [`backfill`] on at most `threads` worker threads.
fn backfill_on(scenario: Arc<Scenario>, plan: &BackfillPlan, threads: usize) -> BackfillWriter {
    let mut pods: Vec<Pod> = (0..scenario.pods.len())
        .map(|i| Pod::new(scenario.clone(), i, plan.start_unix_secs))
        .collect();
    let mut pods: Vec<&mut Pod> = pods.iter_mut().collect();
    scrape(&mut pods, &GatewayMetrics::default(), plan, threads, None)
        .expect("a backfill kept in memory writes no file")
}

/// Moves `pods` along `plan`'s scrapes, on at most `threads` worker threads, writing
/// each pod's scrapes and then the gateway's, whose `gateway` metrics count the pods'
/// scenario traffic as it happened. Each pod ends at the plan's end, its scenario
/// traffic routed to `gateway` from then on.
///
/// The scrapes go in spans of [`SPAN_SCRAPES`]: every pod through the span (pods in
/// parallel), then the gateway through it; with `spill`, every writer then spills the
/// span's points to a temporary file in that directory, so memory holds one span.
pub(super) fn scrape(
    pods: &mut [&mut Pod],
    gateway: &GatewayMetrics,
    plan: &BackfillPlan,
    threads: usize,
    spill: Option<&Path>,
) -> io::Result<BackfillWriter> {
    let scrapes = plan.scrapes();
    let mut histories: Vec<PodHistory> =
        pods.iter_mut().map(|p| PodHistory::new(p, plan)).collect();
    let mut registry = prometheus_client::registry::Registry::default();
    gateway.register(&mut registry);
    let instance = format!("{}:{}", plan.host, plan.gateway_port);
    let target = label_pairs(&[("instance", &instance), ("job", GATEWAY_JOB)]);
    let mut writer = BackfillWriter::new();
    let mut body = String::new();
    for span in scrapes.chunks(SPAN_SCRAPES) {
        let work: Vec<Mutex<(&mut Pod, &mut PodHistory)>> = (pods.iter_mut())
            .zip(histories.iter_mut())
            .map(|(p, h)| Mutex::new((&mut **p, h)))
            .collect();
        let next = AtomicUsize::new(0);
        let failed: Mutex<Option<io::Error>> = Mutex::new(None);
        std::thread::scope(|s| {
            for _ in 0..threads.clamp(1, work.len().max(1)) {
                s.spawn(|| {
                    while let Some(slot) = work.get(next.fetch_add(1, Ordering::Relaxed)) {
                        let mut guard = slot.lock().unwrap_or_else(|e| e.into_inner());
                        let (pod, history) = &mut *guard;
                        history.scrape(pod, span);
                        if let Some(dir) = spill
                            && let Err(e) = history.writer.spill(dir)
                        {
                            *failed.lock().unwrap_or_else(|e| e.into_inner()) = Some(e);
                        }
                    }
                });
            }
        });
        if let Some(e) = failed.into_inner().unwrap_or_else(|e| e.into_inner()) {
            return Err(e);
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
            if exposition::encode(&registry, Format::OpenMetrics, &mut body).is_ok() {
                writer.add_up(&target, millis, true);
                writer.add_scrape(&body, &target, millis);
            }
        }
        for history in &mut histories {
            history.journal.clear();
        }
        if let Some(dir) = spill {
            writer.spill(dir)?;
        }
    }
    for pod in pods.iter_mut() {
        pod.route_through(gateway.clone());
    }
    Ok(BackfillWriter::merge(
        histories.into_iter().map(|h| h.writer).chain([writer]),
    ))
}

/// What a backfill keeps of one pod: its scrapes, and its gateway journal per scrape
/// of the current span.
struct PodHistory {
    writer: BackfillWriter,
    target: String,
    team: Option<String>,
    /// The (HTTP status, milliseconds) of each request routed since the previous scrape.
    journal: Vec<Vec<(u16, f64)>>,
    body: String,
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
            body: String::new(),
        }
    }

    /// `pod` scraped at every one of `scrapes` (it is moved to each in turn), its
    /// scenario traffic counted in the journal meanwhile.
    fn scrape(&mut self, pod: &mut Pod, scrapes: &[(SimTime, i64)]) {
        for &(t, millis) in scrapes {
            pod.advance_to(t);
            self.writer.add_up(&self.target, millis, pod.is_up());
            if let Some(metrics) = pod.metrics() {
                self.body.clear();
                metrics.encode(Format::OpenMetrics, &mut self.body);
                self.writer.add_scrape(&self.body, &self.target, millis);
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
            let samples = backfill_on(scenario.clone(), &plan, 4)
                .write(&mut out)
                .unwrap();
            (String::from_utf8(out).unwrap(), samples)
        };
        let (text, samples) = render();
        assert_eq!(render(), (text.clone(), samples), "same seed, same bytes");
        let mut one_thread = Vec::new();
        backfill_on(scenario.clone(), &plan, 1)
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
            let mut pods: Vec<Pod> = (0..scenario.pods.len())
                .map(|i| Pod::new(scenario.clone(), i, plan.start_unix_secs))
                .collect();
            let mut pods: Vec<&mut Pod> = pods.iter_mut().collect();
            let writer = scrape(&mut pods, &GatewayMetrics::default(), &plan, 2, spill).unwrap();
            let mut out = Vec::new();
            let samples = writer.write(&mut out).unwrap();
            (out, samples)
        };
        let (kept, samples) = render(None);
        let (spilled, spilled_samples) = render(Some(dir.path()));
        assert_eq!(samples, spilled_samples);
        assert!(kept == spilled, "the same bytes spilled or not");
    }
}
