//! A running lab: each pod of a scenario, moved along its timeline.
//!
//! A [`Pod`] owns one pod's engine and metrics and applies the scenario's
//! phases to it: traffic changes, outages, and restarts with fresh counters. It moves
//! only when asked to reach a simulated time, so an idle lab costs nothing between
//! scrapes. [`Lab`] shares the runtimes with the HTTP listeners, each behind its own
//! lock, and reads the time from an injected [`Clock`].

mod backfill;
mod battery;
mod clients;
pub(crate) mod prompt;

pub use backfill::{BackfillPlan, backfill, backfill_spilled};
pub use battery::PastBattery;
pub use clients::ClientEvent;

use std::fs::File;
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{Notify, mpsc};

use crate::scenario::{PodSpec, Scenario};
use clients::{Clients, GatewayCounts, GatewayRoute, Tee};
use vllm_sim_core::catalogue::Profile;
use vllm_sim_core::clock::{Clock, SimTime};
use vllm_sim_core::engine::{ClientRequest, Engine, EventSink, Traffic};
use vllm_sim_core::exposition::{BackfillWriter, Format};
use vllm_sim_core::metrics::gateway::GatewayMetrics;
use vllm_sim_core::metrics::{CacheConfigInfo, LoraInfo, MetricsConfig, VllmMetrics};

/// A live incarnation of a pod: from one start to its next outage.
#[derive(Debug)]
struct Incarnation {
    engine: Engine,
    metrics: VllmMetrics,
    traffic: Traffic,
}

/// One pod, driven along the scenario's timeline.
#[derive(Debug)]
pub struct Pod {
    scenario: Arc<Scenario>,
    index: usize,
    epoch_unix_secs: f64,
    now: SimTime,
    starts: u64,
    live: Option<Incarnation>,
    clients: Clients,
    /// Where the scenario's own traffic is counted as gateway traffic, if routed.
    gateway: Option<GatewayRoute>,
    /// Whether the log has said that the pod fell behind the clock.
    said_behind: bool,
}

impl Pod {
    /// Pod `index` of `scenario` at time zero, which happened at Unix time `epoch_unix_secs`.
    pub fn new(scenario: Arc<Scenario>, index: usize, epoch_unix_secs: f64) -> Pod {
        let mut runtime = Pod {
            scenario,
            index,
            epoch_unix_secs,
            now: SimTime::ZERO,
            starts: 0,
            live: None,
            clients: Clients::default(),
            gateway: None,
            said_behind: false,
        };
        runtime.enter_phase();
        runtime
    }

    /// Counts the scenario's traffic of this pod in `metrics`, as requests the gateway
    /// routed for the pod's team (the scenario's traffic is a harness behind the
    /// gateway). A pod without a team gets no gateway traffic.
    pub fn route_through(&mut self, metrics: GatewayMetrics) {
        self.route(GatewayCounts::Metrics(metrics));
    }

    /// The requests routed since the last call, when counted in a journal.
    fn take_gateway_journal(&mut self) -> Vec<(u16, f64)> {
        match self.gateway.as_mut().map(|route| &mut route.counts) {
            Some(GatewayCounts::Journal(journal)) => std::mem::take(journal),
            _ => Vec::new(),
        }
    }

    /// Counts a request the gateway answered for this pod's team, with its HTTP
    /// status and milliseconds, where the pod's scenario traffic is counted.
    fn count_at_gateway(&mut self, status: u16, millis: f64) {
        if let Some(route) = &mut self.gateway {
            match &mut route.counts {
                GatewayCounts::Metrics(metrics) => metrics.observe(&route.team, status, millis),
                GatewayCounts::Journal(journal) => journal.push((status, millis)),
            }
        }
    }

    fn route(&mut self, counts: GatewayCounts) {
        self.gateway = self
            .spec()
            .team
            .clone()
            .map(|team| GatewayRoute { team, counts });
    }

    /// The pod's specification.
    pub fn spec(&self) -> &PodSpec {
        &self.scenario.pods[self.index]
    }

    /// Whether the pod is up (not held down by the timeline).
    pub fn is_up(&self) -> bool {
        self.live.is_some()
    }

    /// How many times the pod has started.
    pub fn starts(&self) -> u64 {
        self.starts
    }

    /// The current incarnation's metrics, if the pod is up.
    pub fn metrics(&self) -> Option<&VllmMetrics> {
        self.live.as_ref().map(|l| &l.metrics)
    }

    /// The current incarnation's engine, if the pod is up.
    pub fn engine(&self) -> Option<&Engine> {
        self.live.as_ref().map(|l| &l.engine)
    }

    /// Moves the pod to time `t`, crossing phase boundaries on the way.
    pub fn advance_to(&mut self, t: SimTime) {
        self.advance_within(t, u64::MAX);
    }

    /// Moves the pod towards time `t`, crossing phase boundaries on the way, with no
    /// more engine arrivals, steps and phase changes than `budget`: whether it got
    /// there. Short of it, the pod's time is where its engine stopped.
    pub fn advance_within(&mut self, t: SimTime, mut budget: u64) -> bool {
        while self.now < t {
            if budget == 0 {
                return false;
            }
            let (_, phase_end) = self.scenario.phase_at(self.now);
            let until = phase_end.min(t);
            if let Some(live) = &mut self.live {
                let mut sink = Tee {
                    metrics: &mut live.metrics,
                    clients: &mut self.clients,
                    gateway: self.gateway.as_mut(),
                };
                if !live.engine.advance_within(until, &mut budget, &mut sink) {
                    self.now = self.now.max(live.engine.now());
                    return false;
                }
            }
            self.now = until;
            self.enter_phase();
            budget = budget.saturating_sub(1);
        }
        true
    }

    /// Submits an API request at the pod's time; refused while the pod is down or
    /// when admission rejects it.
    pub fn submit(
        &mut self,
        request: ClientRequest,
    ) -> Result<(u64, tokio::sync::mpsc::UnboundedReceiver<ClientEvent>), Refused> {
        let live = self.live.as_mut().ok_or(Refused::Down)?;
        if !live.engine.admits() {
            live.metrics.rejected();
            return Err(Refused::QueueFull);
        }
        let (id, events) = self.clients.register();
        live.engine
            .submit(ClientRequest { id, ..request }, self.now);
        Ok((id, events))
    }

    /// The client of request `id` went away: the engine drops the request.
    pub fn abort(&mut self, id: u64) {
        if let Some(live) = &mut self.live {
            let mut sink = Tee {
                metrics: &mut live.metrics,
                clients: &mut self.clients,
                gateway: self.gateway.as_mut(),
            };
            live.engine.abort(id, &mut sink);
        }
        self.clients.forget(id);
    }

    /// Whether API requests are in flight.
    pub fn has_clients(&self) -> bool {
        self.clients.any()
    }

    /// When the pod's engine next does something (see [`Engine::next_event`]).
    pub fn next_event(&self) -> Option<SimTime> {
        self.live.as_ref()?.engine.next_event()
    }

    /// Applies the phase in force at `self.now`: starts or stops the pod, sets traffic.
    fn enter_phase(&mut self) {
        let (phase, _) = self.scenario.phase_at(self.now);
        let (down, traffic) = (phase.down[self.index], phase.traffic[self.index]);
        let asleep = phase.asleep[self.index];
        if down {
            self.live = None;
            self.clients.pod_down();
            return;
        }
        let now = self.now;
        let live = match &mut self.live {
            Some(live) => live,
            None => {
                self.starts += 1;
                let spec = &self.scenario.pods[self.index];
                let seed = pod_seed(self.scenario.seed, &spec.name, self.starts);
                let engine = Engine::new(spec.config.clone(), seed, now);
                let metrics = VllmMetrics::new(self.pod_info(now));
                self.live.insert(Incarnation {
                    engine,
                    metrics,
                    traffic: Traffic::Idle,
                })
            }
        };
        if live.traffic != traffic {
            live.engine.set_traffic(traffic, now);
            live.traffic = traffic;
        }
        if live.engine.asleep() != asleep {
            let mut sink = Tee {
                metrics: &mut live.metrics,
                clients: &mut self.clients,
                gateway: self.gateway.as_mut(),
            };
            live.engine.set_asleep(asleep, &mut sink);
            live.metrics.sleep_state(asleep);
        }
    }

    fn pod_info(&self, now: SimTime) -> MetricsConfig {
        let spec = self.spec();
        let block_bytes = spec.model.kv_bytes_per_token() * f64::from(spec.config.block_size);
        let num_cpu_blocks =
            ((f64::from(spec.swap_space_gib) * (1u64 << 30) as f64) / block_bytes) as u32;
        MetricsConfig {
            profile: spec.profile,
            model_name: spec.model_name.clone(),
            max_model_len: spec.config.max_model_len,
            cache_config: CacheConfigInfo {
                block_size: spec.config.block_size,
                gpu_memory_utilization: spec.gpu_memory_utilization,
                num_gpu_blocks: spec.config.num_gpu_blocks,
                num_cpu_blocks,
                swap_space_gib: spec.swap_space_gib,
                enable_prefix_caching: spec.profile.release().defaults.enable_prefix_caching,
            },
            lora: spec.lora.as_ref().map(|l| LoraInfo {
                adapter: l.adapter.clone(),
                max_lora: l.max_lora,
            }),
            epoch_unix_secs: self.epoch_unix_secs,
            started_unix_secs: self.epoch_unix_secs + now.as_secs_f64(),
        }
    }
}

/// Why a pod did not take an API request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// The scenario holds the pod down.
    Down,
    /// `--max-num-queued-reqs` unfinished requests already (vLLM's `QueueOverflowError`).
    QueueFull,
}

/// A stable seed per pod and start: FNV-1a over the scenario seed, name and start count.
fn pod_seed(seed: u64, name: &str, start: u64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in seed
        .to_le_bytes()
        .iter()
        .chain(name.as_bytes())
        .chain(&start.to_le_bytes())
    {
        h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
    }
    h
}

pub use crate::scenario::GATEWAY_JOB;

/// The engine arrivals, steps and phase changes a pod may run while a request (a
/// scrape, an API call, its driver) waits for it: tens of milliseconds of work, more
/// than 15 s of a pod taking 10,000 requests/s brings.
const CATCH_UP_BUDGET: u64 = 200_000;

/// The longest a driver waits between moves of a pod with API requests in flight
/// (wall time); it wakes sooner for an engine step that ends sooner.
const DRIVE_TICK: Duration = Duration::from_millis(5);

/// The shortest such wait, so that a step already due never makes the driver spin
/// (tokio's timer rounds it up to its 1 ms tick).
const MIN_DRIVE_WAIT: Duration = Duration::from_micros(100);

/// A scenario's pods, shared with the listeners and moved by a clock.
#[derive(Clone)]
pub struct Lab {
    scenario: Arc<Scenario>,
    clock: Arc<dyn Clock>,
    pods: Vec<Arc<Mutex<Pod>>>,
    wakers: Vec<Arc<Notify>>,
    gateway: GatewayMetrics,
}

impl Lab {
    /// Every pod of `scenario`, at the clock's time zero.
    pub fn new(scenario: Scenario, clock: Arc<dyn Clock>) -> Lab {
        let scenario = Arc::new(scenario);
        let epoch = clock.epoch_unix_secs();
        let gateway = GatewayMetrics::default();
        let pods: Vec<_> = (0..scenario.pods.len())
            .map(|i| {
                let mut pod = Pod::new(scenario.clone(), i, epoch);
                pod.route_through(gateway.clone());
                Arc::new(Mutex::new(pod))
            })
            .collect();
        let wakers = pods.iter().map(|_| Arc::new(Notify::new())).collect();
        Lab {
            scenario,
            clock,
            pods,
            wakers,
            gateway,
        }
    }

    /// The gateway's metrics, which count the scenario's traffic of routed pods.
    pub fn gateway_metrics(&self) -> &GatewayMetrics {
        &self.gateway
    }

    /// Brings every pod up to the clock's time.
    pub fn catch_up(&self) {
        for pod in self.pods() {
            pod.catch_up();
        }
    }

    /// The scenario.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// A handle on pod `index`.
    pub fn pod(&self, index: usize) -> PodHandle {
        PodHandle {
            runtime: self.pods[index].clone(),
            clock: self.clock.clone(),
            wake: self.wakers[index].clone(),
        }
    }

    /// Handles on every pod, in scenario order.
    pub fn pods(&self) -> impl Iterator<Item = PodHandle> + '_ {
        (0..self.pods.len()).map(|i| self.pod(i))
    }

    /// The lab's past, simulated at full speed and scraped as `plan` says: every pod
    /// and the gateway from time zero to `plan.duration`, where they then stand, so
    /// that serving live continues the same simulation (no counter reset, no gap).
    ///
    /// Refused unless the plan starts at the clock's epoch (its time zero), ends no
    /// later than the clock's present, and every pod still stands at time zero.
    ///
    /// With `spill`, the history's points go to temporary files in that directory as
    /// it is simulated, a span of scrapes at a time (see [`BackfillWriter::spill`]),
    /// so that memory holds a span, not the history.
    ///
    /// With `battery`, the benchmark battery's runs before the seam are played too (see
    /// [`PastBattery`]): their harness series join the gateway's scrapes, their lines
    /// are left in `battery.lines`.
    pub fn history(
        &self,
        plan: &BackfillPlan,
        spill: Option<&Path>,
        battery: Option<&mut PastBattery<'_>>,
    ) -> io::Result<BackfillWriter> {
        let epoch = self.clock.epoch_unix_secs();
        if (plan.start_unix_secs - epoch).abs() > 0.001 {
            return Err(io::Error::other(format!(
                "a history starts at the lab's epoch ({epoch}), not at {}",
                plan.start_unix_secs
            )));
        }
        if SimTime::from_duration(plan.duration) > self.clock.now() {
            return Err(io::Error::other(format!(
                "a history of {:?} ends after the lab's present ({})",
                plan.duration,
                self.clock.now()
            )));
        }
        let mut guards: Vec<MutexGuard<'_, Pod>> = (self.pods.iter())
            .map(|p| p.lock().unwrap_or_else(|e| e.into_inner()))
            .collect();
        if guards.iter().any(|p| p.now != SimTime::ZERO) {
            return Err(io::Error::other(
                "a history is simulated before the lab serves",
            ));
        }
        let mut pods: Vec<&mut Pod> = guards.iter_mut().map(|g| &mut **g).collect();
        backfill::scrape(
            &mut pods,
            &self.gateway,
            plan,
            backfill::threads(),
            spill,
            battery,
        )
    }

    /// [`Lab::history`] written to `out` as timestamped OpenMetrics: first to
    /// [`partial_path`]`(out)`, renamed to `out` once whole, so that a reader waiting
    /// for `out` never sees half a file. Returns the number of samples.
    ///
    /// The history is spilled as it is simulated to unnamed temporary files beside
    /// `out` (as much again on disk as `out` takes, until it is written), so a day of
    /// history takes the memory of an hour.
    pub fn write_history(&self, plan: &BackfillPlan, out: &Path) -> io::Result<u64> {
        self.write_history_with(plan, out, None)
    }

    /// [`Lab::write_history`] with the battery's past runs (see [`Lab::history`]).
    pub fn write_history_with(
        &self,
        plan: &BackfillPlan,
        out: &Path,
        battery: Option<&mut PastBattery<'_>>,
    ) -> io::Result<u64> {
        let partial = partial_path(out);
        let dir = match out.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let writer = self.history(plan, Some(dir), battery)?;
        let mut file = BufWriter::with_capacity(1 << 20, File::create(&partial)?);
        let samples = writer.write(&mut file)?;
        file.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        std::fs::rename(&partial, out)?;
        Ok(samples)
    }
}

/// Where [`Lab::write_history`] writes before the file is whole: `out` with
/// `.partial` appended.
pub fn partial_path(out: &Path) -> PathBuf {
    let mut partial = out.as_os_str().to_owned();
    partial.push(".partial");
    PathBuf::from(partial)
}

/// What a listener holds: one pod and the clock.
#[derive(Clone)]
pub struct PodHandle {
    runtime: Arc<Mutex<Pod>>,
    clock: Arc<dyn Clock>,
    /// Wakes the pod's driver when an API request arrives.
    wake: Arc<Notify>,
}

impl PodHandle {
    /// The pod, locked, brought up to the clock's time or as far towards it as
    /// `CATCH_UP_BUDGET` goes: a scenario that asks more than the machine simulates
    /// at the lab's speed leaves the pod behind the clock (said once, in the log),
    /// never a scrape or a shutdown waiting on it.
    pub fn caught_up(&self) -> MutexGuard<'_, Pod> {
        let mut runtime = self.runtime.lock().unwrap_or_else(|e| e.into_inner());
        let t = self.clock.now();
        if !runtime.advance_within(t, CATCH_UP_BUDGET) && !runtime.said_behind {
            runtime.said_behind = true;
            tracing::warn!(
                "pod {} is {:.1} s behind the clock: the scenario asks more than this machine simulates at this speed; it serves its state as of its own time",
                runtime.spec().name,
                t.secs_since(runtime.now)
            );
        }
        runtime
    }

    /// Brings the pod up to the clock's time (as [`PodHandle::caught_up`] does).
    pub fn catch_up(&self) {
        drop(self.caught_up());
    }

    /// The pod's metrics in `format`, or `None` while the pod is down.
    pub fn scrape(&self, format: Format) -> Option<String> {
        let runtime = self.caught_up();
        let metrics = runtime.metrics()?;
        let mut out = String::with_capacity(32 * 1024);
        metrics.encode(format, &mut out);
        Some(out)
    }

    /// The lab's time now.
    pub fn time(&self) -> SimTime {
        self.clock.now()
    }

    /// Counts a request the pod's API server answered in its HTTP metrics.
    pub fn record_http(&self, request: &vllm_sim_core::metrics::HttpRequest<'_>) {
        if let Some(live) = &mut self.caught_up().live {
            live.metrics.http(request);
        }
    }

    /// The vLLM release the pod impersonates.
    pub fn profile(&self) -> Profile {
        self.runtime
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .spec()
            .profile
    }

    /// Submits an API request now; refused while the pod is down or its queue is
    /// full. Its tokens arrive on the returned channel as the pod's driver moves the
    /// pod along the clock.
    pub fn submit(
        &self,
        request: ClientRequest,
    ) -> Result<(u64, mpsc::UnboundedReceiver<ClientEvent>), Refused> {
        let submitted = self.caught_up().submit(request);
        self.wake.notify_one();
        submitted
    }

    /// The client of request `id` went away.
    pub fn abort(&self, id: u64) {
        self.caught_up().abort(id);
    }

    /// Moves the pod along the clock while API requests are in flight, waking when its
    /// engine's next step ends, so their tokens reach their clients when they are
    /// generated; sleeps otherwise. Runs until dropped.
    pub async fn drive(self) {
        loop {
            let next = {
                let runtime = self.caught_up();
                runtime.has_clients().then(|| runtime.next_event())
            };
            match next {
                None => self.wake.notified().await,
                Some(event) => {
                    let wait = event
                        .and_then(|t| self.clock.wall_time_until(t))
                        .map_or(DRIVE_TICK, |d| d.clamp(MIN_DRIVE_WAIT, DRIVE_TICK));
                    // A request that arrives meanwhile joins at the next step, as in vLLM.
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    /// The served model name and `max_model_len`.
    pub fn model(&self) -> (String, u32) {
        let runtime = self.runtime.lock().unwrap_or_else(|e| e.into_inner());
        let spec = runtime.spec();
        (spec.model_name.clone(), spec.config.max_model_len)
    }

    /// Unix time (seconds) now, by the lab's clock.
    pub fn unix_now(&self) -> f64 {
        self.clock.epoch_unix_secs() + self.clock.now().as_secs_f64()
    }

    /// The pod's name.
    pub fn name(&self) -> String {
        self.runtime
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .spec()
            .name
            .clone()
    }

    /// The pod's `app` label (shared by the replicas of a pod).
    pub fn app(&self) -> String {
        self.runtime
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .spec()
            .app
            .clone()
    }

    /// The pod's port.
    pub fn port(&self) -> u16 {
        self.runtime
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .spec()
            .port
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::builtin;
    use vllm_sim_core::clock::ManualClock;
    use vllm_sim_core::engine::ClientRequest;

    /// A phase that puts a pod to sleep: vLLM 0.33's sleep-state gauges flip, the
    /// requests in flight are aborted, new ones queue until it wakes.
    #[test]
    fn a_sleeping_pod_queues_and_wakes() {
        let healthy = crate::scenario::BUILTIN[0].1;
        let mut text =
            healthy[..healthy.find("phases:").unwrap()].replace("name: healthy", "name: naps");
        text.push_str(
            "profile: vllm-0.33.0\nrepeat: false\nphases:\n  - name: busy\n    duration: 1m\n    traffic: {mistral-7b-awq: {concurrency: 10}}\n  - name: nap\n    duration: 1m\n    traffic: {mistral-7b-awq: {concurrency: 10}}\n    sleep: [mistral-7b-awq]\n  - name: awake\n    traffic: {mistral-7b-awq: {concurrency: 10}}\n",
        );
        let scenario = crate::scenario::load(&text, "naps.yaml").unwrap();
        let awq = scenario.pod_index("mistral-7b-awq").unwrap();
        let clock = Arc::new(ManualClock::new(1.7e9));
        let lab = Lab::new(scenario, clock.clone());
        let pod = lab.pod(awq);
        let sample = |name: &str| -> f64 {
            let text = pod.scrape(Format::PrometheusText).unwrap();
            text.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
                .unwrap_or_else(|| panic!("no {name}"))
        };
        let labels = r#"engine="0",model_name="mistral-7b-awq""#;
        let awake = format!(r#"vllm:engine_sleep_state{{{labels},sleep_state="awake"}}"#);
        let offloaded =
            format!(r#"vllm:engine_sleep_state{{{labels},sleep_state="weights_offloaded"}}"#);
        let running = format!("vllm:num_requests_running{{{labels}}}");
        let waiting = format!("vllm:num_requests_waiting{{{labels}}}");
        let generated = format!("vllm:generation_tokens_total{{{labels}}}");
        clock.advance(Duration::from_secs(50));
        assert_eq!((sample(&awake), sample(&offloaded)), (1.0, 0.0));
        assert!(sample(&running) > 0.0);
        clock.advance(Duration::from_secs(30));
        assert_eq!((sample(&awake), sample(&offloaded)), (0.0, 1.0));
        // vLLM records no scheduler stats while asleep: the gauges hold the state the
        // abort left, though the users' requests queue.
        assert_eq!((sample(&running), sample(&waiting)), (0.0, 0.0));
        assert_eq!(pod.caught_up().engine().unwrap().waiting(), 10);
        let asleep = sample(&generated);
        clock.advance(Duration::from_secs(20));
        assert_eq!(sample(&generated), asleep, "nothing runs asleep");
        clock.advance(Duration::from_secs(30));
        assert_eq!((sample(&awake), sample(&offloaded)), (1.0, 0.0));
        assert!(sample(&generated) > asleep);
    }

    /// A pod asked for more than it can simulate before a scrape comes back with
    /// its state as of its own time, and catches up scrape by scrape.
    #[test]
    fn a_pod_behind_the_clock_answers_and_catches_up() {
        let text = include_str!("../../../../tests/fixtures/extremes.yaml");
        let scenario = crate::scenario::load(text, "extremes.yaml").unwrap();
        let fp16 = scenario.pod_index("mistral-7b-fp16").unwrap();
        let clock = Arc::new(ManualClock::new(1.7e9));
        let lab = Lab::new(scenario, clock.clone());
        let pod = lab.pod(fp16);
        clock.advance(Duration::from_secs(3600));
        let first = pod.caught_up().now;
        assert!(first < clock.now(), "{first:?}");
        assert!(pod.scrape(Format::PrometheusText).is_some());
        let second = pod.caught_up().now;
        assert!(first < second && second < clock.now(), "{second:?}");
    }

    #[test]
    fn an_outage_resets_the_counters() {
        let scenario = builtin("spot-preemption").unwrap();
        let awq = scenario.pod_index("mistral-7b-awq").unwrap();
        let clock = Arc::new(ManualClock::new(1.7e9));
        let lab = Lab::new(scenario, clock.clone());
        let pod = lab.pod(awq);
        clock.advance(Duration::from_secs(110));
        let before = pod.scrape(Format::PrometheusText).unwrap();
        let generated = |text: &str| -> f64 {
            text.lines()
                .find_map(|l| {
                    l.strip_prefix("vllm:generation_tokens_total{model_name=\"mistral-7b-awq\"} ")
                })
                .map_or(0.0, |v| v.parse().unwrap())
        };
        assert!(generated(&before) > 1000.0);
        clock.advance(Duration::from_secs(60));
        assert!(pod.scrape(Format::PrometheusText).is_none());
        assert!(!pod.caught_up().is_up());
        clock.advance(Duration::from_secs(140));
        let after = pod.scrape(Format::PrometheusText).unwrap();
        assert_eq!(pod.caught_up().starts(), 2);
        assert!(
            generated(&after) > 0.0 && generated(&after) < generated(&before),
            "counters restart from zero"
        );
        // The other pods never went down.
        assert_eq!(lab.pod(0).caught_up().starts(), 1);
    }

    #[test]
    fn the_timeline_repeats() {
        let scenario = builtin("spot-preemption").unwrap();
        let (phase, end) = scenario.phase_at(SimTime::from_secs_f64(600.0 + 150.0));
        assert_eq!(phase.name, "awq-preempted");
        assert_eq!(end, SimTime::from_secs_f64(600.0 + 300.0));
    }

    #[test]
    fn api_clients_get_their_tokens_and_hear_of_outages() {
        let scenario = builtin("spot-preemption").unwrap();
        let awq = scenario.pod_index("mistral-7b-awq").unwrap();
        let clock = Arc::new(ManualClock::new(1.7e9));
        let lab = Lab::new(scenario, clock.clone());
        let pod = lab.pod(awq);
        let request = ClientRequest {
            id: 0,
            prompt_tokens: 40,
            max_tokens: 16,
            ignore_eos: true,
            seed: 0,
            parent: None,
        };
        let (_, mut events) = pod.submit(request).expect("the pod is up");
        clock.advance(Duration::from_secs(5));
        pod.catch_up();
        let mut tokens = 0;
        while let Ok(event) = events.try_recv() {
            match event {
                ClientEvent::Token(_) => tokens += 1,
                ClientEvent::Finished {
                    reason,
                    generation_tokens,
                    ..
                } => {
                    assert_eq!(
                        (reason, generation_tokens, tokens),
                        (vllm_sim_core::engine::FinishReason::Length, 16, 16)
                    );
                }
                ClientEvent::PodDown => panic!("the pod is up"),
            }
        }
        assert_eq!(tokens, 16);
        assert!(!pod.caught_up().has_clients());
        // A long request still running when the node is preempted at 120 s.
        let (_, mut events) = pod
            .submit(ClientRequest {
                max_tokens: 4000,
                ..request
            })
            .unwrap();
        clock.advance(Duration::from_secs(120));
        pod.catch_up();
        let last = std::iter::from_fn(|| events.try_recv().ok()).last();
        assert_eq!(last, Some(ClientEvent::PodDown));
        assert!(pod.submit(request).is_err(), "a down pod takes no requests");
    }

    #[test]
    fn a_full_queue_answers_503_and_counts_the_rejection() {
        let text = include_str!("../../../../bench/quiet.yaml")
            .replacen("name: quiet\n", "name: quiet\nprofile: vllm-0.32.0\n", 1)
            .replace(
                "  - name: mistral-7b-fp16\n",
                "  - name: mistral-7b-fp16\n    engine: {max_num_queued_reqs: 2}\n",
            );
        let scenario = crate::scenario::load(&text, "quiet.yaml").unwrap();
        let lab = Lab::new(scenario, Arc::new(ManualClock::new(1.7e9)));
        let pod = lab.pod(0);
        let request = ClientRequest {
            id: 0,
            prompt_tokens: 40,
            max_tokens: 1000,
            ignore_eos: true,
            seed: 0,
            parent: None,
        };
        let _first = pod.submit(request).unwrap();
        let _second = pod.submit(request).unwrap();
        assert_eq!(pod.submit(request).err(), Some(Refused::QueueFull));
        let text = pod.scrape(Format::PrometheusText).unwrap();
        let rejected = r#"vllm:admission_rejections_total{model_name="mistral-7b-fp16",reason="max_num_queued_reqs"} 1.0"#;
        assert!(text.contains(rejected), "{text}");
    }

    #[test]
    fn seeds_differ_per_pod_and_start() {
        assert_ne!(pod_seed(1, "a", 1), pod_seed(1, "b", 1));
        assert_ne!(pod_seed(1, "a", 1), pod_seed(1, "a", 2));
        assert_eq!(pod_seed(1, "a", 1), pod_seed(1, "a", 1));
    }
}
