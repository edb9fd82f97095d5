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
/// zero to `plan.duration` every `plan.interval`, and the gateway after the pods.
pub fn backfill(scenario: Arc<Scenario>, plan: &BackfillPlan) -> BackfillWriter {
    backfill_on(scenario, plan, threads())
}

/// The worker threads a backfill uses: one per core.
pub(super) fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// [`backfill`] on at most `threads` worker threads.
fn backfill_on(scenario: Arc<Scenario>, plan: &BackfillPlan, threads: usize) -> BackfillWriter {
    let mut pods: Vec<Pod> = (0..scenario.pods.len())
        .map(|i| Pod::new(scenario.clone(), i, plan.start_unix_secs))
        .collect();
    let mut pods: Vec<&mut Pod> = pods.iter_mut().collect();
    scrape(&mut pods, &GatewayMetrics::default(), plan, threads)
}

/// Moves `pods` along `plan`'s scrapes, on at most `threads` worker threads, writing
/// each pod's scrapes and then the gateway's, whose `gateway` metrics count the pods'
/// scenario traffic as it happened. Each pod ends at the plan's end, its scenario
/// traffic routed to `gateway` from then on.
pub(super) fn scrape(
    pods: &mut [&mut Pod],
    gateway: &GatewayMetrics,
    plan: &BackfillPlan,
    threads: usize,
) -> BackfillWriter {
    let scrapes = plan.scrapes();
    let count = pods.len();
    let work: Vec<Mutex<Option<&mut Pod>>> = pods
        .iter_mut()
        .map(|p| Mutex::new(Some(&mut **p)))
        .collect();
    let histories: Mutex<Vec<Option<PodHistory>>> = Mutex::new((0..count).map(|_| None).collect());
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..threads.clamp(1, count.max(1)) {
            s.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(slot) = work.get(index) else {
                        break;
                    };
                    let taken = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
                    if let Some(pod) = taken {
                        let history = pod_history(pod, plan, &scrapes);
                        histories.lock().unwrap_or_else(|e| e.into_inner())[index] = Some(history);
                    }
                }
            });
        }
    });
    drop(work);
    for pod in pods.iter_mut() {
        pod.route_through(gateway.clone());
    }
    let histories: Vec<PodHistory> = histories
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .flatten()
        .collect();

    let mut registry = prometheus_client::registry::Registry::default();
    gateway.register(&mut registry);
    let instance = format!("{}:{}", plan.host, plan.gateway_port);
    let target = label_pairs(&[("instance", &instance), ("job", GATEWAY_JOB)]);
    let mut writer = BackfillWriter::new();
    let mut body = String::new();
    for (k, &(_, millis)) in scrapes.iter().enumerate() {
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
    BackfillWriter::merge(histories.into_iter().map(|h| h.writer).chain([writer]))
}

/// What a backfill keeps of one pod: its scrapes, and its gateway journal per scrape.
struct PodHistory {
    writer: BackfillWriter,
    team: Option<String>,
    /// The (HTTP status, milliseconds) of each request routed since the previous scrape.
    journal: Vec<Vec<(u16, f64)>>,
}

/// `pod` scraped at every one of `scrapes` (it is moved to each in turn), its scenario
/// traffic counted in a journal meanwhile.
fn pod_history(pod: &mut Pod, plan: &BackfillPlan, scrapes: &[(SimTime, i64)]) -> PodHistory {
    pod.route(GatewayCounts::Journal(Vec::new()));
    let spec = pod.spec();
    let instance = format!("{}:{}", plan.host, spec.port);
    let target = label_pairs(&[
        ("app", &spec.app),
        ("instance", &instance),
        ("job", &plan.job),
    ]);
    let team = spec.team.clone();
    let mut writer = BackfillWriter::new();
    let mut journal = Vec::with_capacity(scrapes.len());
    let mut body = String::new();
    for &(t, millis) in scrapes {
        pod.advance_to(t);
        writer.add_up(&target, millis, pod.is_up());
        if let Some(metrics) = pod.metrics() {
            body.clear();
            metrics.encode(Format::OpenMetrics, &mut body);
            writer.add_scrape(&body, &target, millis);
        }
        journal.push(pod.take_gateway_journal());
    }
    PodHistory {
        writer,
        team,
        journal,
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
}
