//! The benchmark battery in a lab's simulated past: the runs `run --bench` would have
//! made before the lab served, played in process on the history's pods.
//!
//! Live, the battery is an HTTP client of the gateway, run when the lab starts serving
//! and every `--bench-every` after. In a history the same schedule reaches back: a run
//! at every `every` before the seam (`history − every`, `history − 2·every`, …, none
//! before time zero), so the live run at the seam is the next one of the series. Each
//! past run sends what a live one sends (every suite's prompts, in order, on
//! `concurrency` workers, each prompt to its team and then to the baseline) as client
//! requests submitted straight to the team's pod, round robin over the team's
//! replicas as the gateway picks them; while a run is in flight every pod moves in
//! lockstep, in [`QUANTUM`] steps, so that a worker sends its next prompt when its
//! last answer is done. A request's latency is its simulated end-to-end time plus the
//! gateway's routing time. The results are judged by the battery's own pass rule and
//! counted in the [`HarnessMetrics`] that the live gateway goes on serving; the
//! gateway's `lab_gateway_*` count each request as it would have routed it; and the
//! lines the battery logs live are kept, with their simulated times, for Loki.
//!
//! A run still in flight at the seam is cut there: its requests are aborted and its
//! remaining prompts are not sent (said in its last line).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedReceiver;

use super::{ClientEvent, Pod, Refused};
use crate::bench::prompts::{Prompt, prompts};
use crate::bench::result::HarnessResult;
use crate::bench::suite::{BASELINE_TEAM, SUITES, Suite};
use crate::bench::{HarnessMetrics, rules, summary};

use crate::logs::history::PastLine;
use crate::scenario::Scenario;
use vllm_sim_core::clock::SimTime;
use vllm_sim_core::engine::ClientRequest;
use vllm_sim_core::metrics::gateway::ROUTING_MS;

/// How far the pods move at a time while a past run is in flight: a worker whose
/// answer came sends its next prompt at most this much later (a live client's round
/// trip is of this order).
pub(super) const QUANTUM: Duration = Duration::from_millis(5);

/// The battery as `run --bench` runs it, for a history.
#[derive(Debug)]
pub struct PastBattery<'a> {
    /// The harness metrics the live gateway serves, counted into from the first run.
    pub harness: &'a HarnessMetrics,
    /// Time from the start of one run to the next (`--bench-every`).
    pub every: Duration,
    /// At most this many prompts per suite (`--bench-limit`).
    pub limit: Option<usize>,
    /// Workers, each with one prompt in flight.
    pub concurrency: usize,
    /// Whether each prompt goes to the baseline too.
    pub compare_baseline: bool,
    /// The log lines of the past runs, in time order, filled in by the history.
    pub lines: Vec<PastLine>,
}

/// The module the live battery logs from: its lines carry this target.
const TARGET: &str = "vllm_sim_lab::bench::run";

/// Where the history stands with the battery.
pub(super) struct Battery<'a, 'b> {
    past: &'b mut PastBattery<'a>,
    scenario: Arc<Scenario>,
    epoch_unix_secs: f64,
    /// Run starts not yet made, latest first.
    starts: Vec<SimTime>,
    /// Per team, its pods (scenario indices) and whose turn it is.
    routes: BTreeMap<String, (Vec<usize>, usize)>,
    run: Option<Run>,
}

/// A past run in flight.
struct Run {
    started: SimTime,
    suites: Vec<(&'static Suite, String)>,
    baseline: Option<String>,
    jobs: Vec<(usize, Prompt)>,
    next: usize,
    workers: Vec<Option<Ask>>,
    results: Vec<Option<HarnessResult>>,
    /// Per suite: prompts done, passed, errors.
    tallies: Vec<(usize, usize, usize)>,
}

/// One worker's prompt: its team's answer, then the baseline's.
struct Ask {
    job: usize,
    result: Option<HarnessResult>,
    request: Option<Request>,
}

/// A request in flight at a pod.
struct Request {
    pod: usize,
    id: u64,
    submitted: SimTime,
    events: UnboundedReceiver<ClientEvent>,
    tokens: u32,
    last_token: SimTime,
}

/// What a request came back with.
struct Answer {
    text_present: bool,
    finish_reason: Option<&'static str>,
    prompt_tokens: u32,
    completion_tokens: u32,
    latency_ms: f64,
    error: Option<String>,
}

impl<'a, 'b> Battery<'a, 'b> {
    /// The battery's past runs in a history of `duration` of `scenario`.
    pub(super) fn new(
        past: &'b mut PastBattery<'a>,
        scenario: Arc<Scenario>,
        epoch_unix_secs: f64,
        duration: Duration,
    ) -> Battery<'a, 'b> {
        let mut starts = Vec::new();
        if !past.every.is_zero() {
            let mut back = past.every;
            while back <= duration {
                starts.push(SimTime::from_duration(duration - back));
                back += past.every;
            }
        }
        let mut routes: BTreeMap<String, (Vec<usize>, usize)> = BTreeMap::new();
        for (i, pod) in scenario.pods.iter().enumerate() {
            if let Some(team) = &pod.team {
                routes.entry(team.clone()).or_default().0.push(i);
            }
        }
        for suite in SUITES {
            past.harness.init_suite(suite);
        }
        Battery {
            past,
            scenario,
            epoch_unix_secs,
            starts,
            routes,
            run: None,
        }
    }

    /// When the next past run starts, if none is in flight.
    pub(super) fn next_start(&self) -> Option<SimTime> {
        if self.run.is_some() {
            return None;
        }
        self.starts.last().copied()
    }

    /// Whether a run is in flight.
    pub(super) fn running(&self) -> bool {
        self.run.is_some()
    }

    fn log(&mut self, at: SimTime, level: &'static str, message: String) {
        let unix = self.epoch_unix_secs + at.as_secs_f64();
        self.past.lines.push(PastLine {
            unix_nanos: (unix * 1e9).round() as u128,
            target: TARGET,
            level,
            message,
        });
    }

    /// The pod of `team` whose turn it is (the gateway's round robin).
    fn route(&mut self, team: &str) -> Option<usize> {
        let (pods, turn) = self.routes.get_mut(team)?;
        let pod = pods[*turn % pods.len()];
        *turn += 1;
        Some(pod)
    }

    /// Starts the next run at `now`, where every pod stands.
    pub(super) fn start(&mut self, pods: &mut [&mut Pod], now: SimTime) {
        self.starts.pop();
        let mut teams: Vec<&str> = SUITES.iter().map(|s| s.team).collect();
        if self.past.compare_baseline {
            teams.push(BASELINE_TEAM);
        }
        let mut models: BTreeMap<&str, String> = BTreeMap::new();
        for team in teams {
            if models.contains_key(team) {
                continue;
            }
            // `GET /<team>/v1/models`, which the gateway counts.
            if let Some(pod) = self.route(team) {
                let up = pods[pod].is_up();
                pods[pod].count_at_gateway(if up { 200 } else { 503 }, ROUTING_MS);
                if !up {
                    let name = pods[pod].spec().model_name.clone();
                    self.log(now, "warn", format!(
                        "benchmark: {team} answered HTTP 503 (the pod is down); using the scenario's model {name} for team {team}"
                    ));
                }
                models.insert(team, pods[pod].spec().model_name.clone());
            }
        }
        let mut suites = Vec::new();
        let mut jobs = Vec::new();
        for suite in SUITES {
            let model = models.get(suite.team).cloned().unwrap_or_default();
            let list = prompts(suite, self.past.limit);
            jobs.extend(list.into_iter().map(|p| (suites.len(), p)));
            suites.push((suite, model));
        }
        let baseline = models.get(BASELINE_TEAM).cloned();
        let workers = self.past.concurrency.max(1);
        self.log(now, "info", format!(
            "benchmark started: {} suites, {} prompts through the gateway, concurrency {workers}{}",
            suites.len(),
            jobs.len(),
            baseline.as_ref().map_or(String::new(), |m| format!(", compared with {BASELINE_TEAM} ({m})")),
        ));
        self.run = Some(Run {
            started: now,
            results: (0..jobs.len()).map(|_| None).collect(),
            tallies: vec![(0, 0, 0); suites.len()],
            suites,
            baseline,
            jobs,
            next: 0,
            workers: (0..workers).map(|_| None).collect(),
        });
    }

    /// Moves the run in flight and every pod towards `t`: whether the run ended on the
    /// way (the pods then stand where it ended); else every pod stands at `t`.
    pub(super) fn run_until(&mut self, pods: &mut [&mut Pod], t: SimTime) -> bool {
        let mut now = pods.iter().map(|p| p.now).max().unwrap_or(SimTime::ZERO);
        loop {
            self.feed(pods, now);
            if self.finish_if_done(now) {
                return true;
            }
            if now >= t {
                return false;
            }
            now = (now + QUANTUM).min(t);
            for pod in pods.iter_mut() {
                pod.advance_to(now);
            }
            self.collect(pods, now);
        }
    }

    /// Cuts the run in flight at the seam `now`.
    pub(super) fn cut(&mut self, pods: &mut [&mut Pod], now: SimTime) {
        let Some(mut run) = self.run.take() else {
            return;
        };
        for ask in run.workers.iter_mut().filter_map(Option::take) {
            if let Some(request) = ask.request {
                pods[request.pod].abort(request.id);
            }
        }
        let done = run.results.iter().flatten().count();
        self.log(now, "info", format!(
            "benchmark cut short by the end of the history: {done} of {} prompts done; the live lab runs the battery anew",
            run.jobs.len()
        ));
    }

    /// Gives every idle worker its next prompt, and every worker whose team answered
    /// its baseline request.
    fn feed(&mut self, pods: &mut [&mut Pod], now: SimTime) {
        let Some(mut run) = self.run.take() else {
            return;
        };
        for w in 0..run.workers.len() {
            loop {
                match &run.workers[w] {
                    Some(ask) if ask.request.is_some() => break,
                    Some(_) => {
                        // The team answered: the baseline's turn, or done.
                        let mut ask = run.workers[w].take().unwrap_or_else(|| unreachable!());
                        let result = ask.result.as_ref();
                        let needs_baseline = run.baseline.is_some()
                            && result.is_some_and(|r| r.baseline_passed.is_none());
                        if needs_baseline {
                            let prompt = run.jobs[ask.job].1.clone();
                            let team = BASELINE_TEAM;
                            match self.send(pods, team, &prompt, now) {
                                Ok(request) => {
                                    ask.request = Some(request);
                                    run.workers[w] = Some(ask);
                                    break;
                                }
                                Err(answer) => {
                                    let model = run.baseline.clone().unwrap_or_default();
                                    self.judge_baseline(&run, &mut ask, &model, answer, now);
                                }
                            }
                        }
                        self.done(&mut run, ask, now);
                    }
                    None => {
                        let Some((suite, prompt)) = run.jobs.get(run.next).cloned() else {
                            break;
                        };
                        let job = run.next;
                        run.next += 1;
                        let (s, model) = (run.suites[suite].0, run.suites[suite].1.clone());
                        if prompt.index == 0 {
                            self.log(now, "info", format!(
                                "benchmark {} started: {} prompts against {} ({model}), concurrency {}",
                                s.id,
                                run.jobs.iter().filter(|(i, _)| *i == suite).count(),
                                s.team,
                                run.workers.len()
                            ));
                        }
                        let mut ask = Ask {
                            job,
                            result: None,
                            request: None,
                        };
                        match self.send(pods, s.team, &prompt, now) {
                            Ok(request) => ask.request = Some(request),
                            Err(answer) => self.judge_team(&run, &mut ask, &model, answer, now),
                        }
                        run.workers[w] = Some(ask);
                    }
                }
            }
        }
        self.run = Some(run);
    }

    /// Submits `prompt` to `team`'s pod; a refusal is the answer the gateway gives.
    fn send(
        &mut self,
        pods: &mut [&mut Pod],
        team: &str,
        prompt: &Prompt,
        now: SimTime,
    ) -> Result<Request, Answer> {
        let refused = |message: &str| Answer {
            text_present: false,
            finish_reason: None,
            prompt_tokens: 0,
            completion_tokens: 0,
            latency_ms: ROUTING_MS,
            error: Some(format!("HTTP 503: {message}")),
        };
        let Some(pod) = self.route(team) else {
            return Err(refused("no route"));
        };
        let (prompt_tokens, seed) = super::prompt::completion_prompt(&prompt.text);
        let request = ClientRequest {
            id: 0,
            prompt_tokens,
            max_tokens: prompt.max_tokens,
            ignore_eos: false,
            seed,
            parent: None,
        };
        match pods[pod].submit(request) {
            Ok((id, events)) => Ok(Request {
                pod,
                id,
                submitted: now,
                events,
                tokens: 0,
                last_token: now,
            }),
            Err(why) => {
                pods[pod].count_at_gateway(503, ROUTING_MS);
                Err(refused(match why {
                    Refused::Down => "Service Unavailable",
                    Refused::QueueFull => "the queue is full",
                }))
            }
        }
    }

    /// Reads what the pods told the requests in flight by `now`.
    fn collect(&mut self, pods: &mut [&mut Pod], now: SimTime) {
        let Some(mut run) = self.run.take() else {
            return;
        };
        for w in 0..run.workers.len() {
            let Some(mut ask) = run.workers[w].take() else {
                continue;
            };
            let mut answer = None;
            if let Some(request) = &mut ask.request {
                while let Ok(event) = request.events.try_recv() {
                    match event {
                        ClientEvent::Token(at) => {
                            request.tokens += 1;
                            request.last_token = at;
                        }
                        ClientEvent::Finished {
                            reason,
                            prompt_tokens,
                            generation_tokens,
                        } => {
                            let end = request.last_token.max(request.submitted);
                            answer = Some(Answer {
                                text_present: request.tokens > 0,
                                finish_reason: Some(reason.as_str()),
                                prompt_tokens,
                                completion_tokens: generation_tokens,
                                latency_ms: end.secs_since(request.submitted) * 1000.0 + ROUTING_MS,
                                error: None,
                            });
                        }
                        ClientEvent::PodDown => {
                            answer = Some(Answer {
                                text_present: false,
                                finish_reason: None,
                                prompt_tokens: 0,
                                completion_tokens: 0,
                                latency_ms: now.secs_since(request.submitted) * 1000.0 + ROUTING_MS,
                                error: Some("HTTP 503: Service Unavailable".to_owned()),
                            });
                        }
                    }
                    if answer.is_some() {
                        break;
                    }
                }
            }
            if let Some(a) = answer
                && let Some(request) = ask.request.take()
            {
                let status = if a.error.is_some() { 503 } else { 200 };
                pods[request.pod].count_at_gateway(status, a.latency_ms);
                if ask.result.is_none() {
                    let model = run.suites[run.jobs[ask.job].0].1.clone();
                    self.judge_team(&run, &mut ask, &model, a, now);
                } else {
                    let model = run.baseline.clone().unwrap_or_default();
                    self.judge_baseline(&run, &mut ask, &model, a, now);
                }
            }
            run.workers[w] = Some(ask);
        }
        self.run = Some(run);
    }

    /// The verdict of the live pass rule on `answer` from `team`. The simulated
    /// models answer one filler word per token: text is there when a token is.
    fn verdict(&self, run: &Run, job: usize, team: &str, model: &str, answer: &Answer) -> bool {
        let (suite, prompt) = (run.suites[run.jobs[job].0].0, &run.jobs[job].1);
        let text = if answer.text_present { " " } else { "" };
        let completed = answer.error.is_none() && rules::completed(text, answer.finish_reason);
        rules::passes(
            completed,
            rules::pass_rate(&self.scenario, team, prompt.category),
            self.scenario.seed,
            suite.id,
            prompt.index,
            model,
        )
    }

    fn judge_team(&mut self, run: &Run, ask: &mut Ask, model: &str, a: Answer, now: SimTime) {
        let (suite, prompt) = (run.suites[run.jobs[ask.job].0].0, &run.jobs[ask.job].1);
        let passed = self.verdict(run, ask.job, suite.team, model, &a);
        if let Some(error) = &a.error {
            self.log(
                now,
                "warn",
                format!(
                    "harness request failed: {} #{} to {}: {error}",
                    suite.id, prompt.index, suite.team
                ),
            );
        }
        let tokens_per_second = if a.error.is_some() || a.latency_ms <= 0.0 {
            0.0
        } else {
            f64::from(a.completion_tokens) / (a.latency_ms / 1000.0)
        };
        ask.result = Some(HarnessResult {
            scenario_id: suite.id.to_owned(),
            team: suite.team.to_owned(),
            model: model.to_owned(),
            prompt_id: prompt.index,
            category: prompt.category.to_owned(),
            prompt: prompt.text.clone(),
            response: String::new(),
            passed,
            latency_ms: a.latency_ms,
            tokens_per_second,
            prompt_tokens: a.prompt_tokens,
            completion_tokens: a.completion_tokens,
            error: a.error,
            baseline_response: None,
            baseline_latency_ms: None,
            baseline_passed: None,
            baseline_tokens_per_second: None,
            baseline_error: None,
        });
    }

    fn judge_baseline(&mut self, run: &Run, ask: &mut Ask, model: &str, a: Answer, now: SimTime) {
        let (suite, prompt) = (run.suites[run.jobs[ask.job].0].0, &run.jobs[ask.job].1);
        let passed = self.verdict(run, ask.job, BASELINE_TEAM, model, &a);
        if let Some(error) = &a.error {
            self.log(
                now,
                "warn",
                format!(
                    "harness baseline request failed: {} #{}: {error}",
                    suite.id, prompt.index
                ),
            );
        }
        if let Some(result) = &mut ask.result {
            result.baseline_passed = Some(passed);
            result.baseline_latency_ms = Some(a.latency_ms);
            result.baseline_tokens_per_second = Some(if a.error.is_some() || a.latency_ms <= 0.0 {
                0.0
            } else {
                f64::from(a.completion_tokens) / (a.latency_ms / 1000.0)
            });
            result.baseline_response = Some(String::new());
            result.baseline_error = a.error;
        }
    }

    /// A prompt is done: counted, tallied, kept.
    fn done(&mut self, run: &mut Run, ask: Ask, now: SimTime) {
        let Some(result) = ask.result else {
            return;
        };
        self.past.harness.record(&result);
        let suite = run.jobs[ask.job].0;
        let tally = &mut run.tallies[suite];
        tally.0 += 1;
        tally.1 += usize::from(result.passed);
        tally.2 += usize::from(!result.succeeded());
        let (done, passed, errors) = *tally;
        let prompts = run.jobs.iter().filter(|(i, _)| *i == suite).count();
        if done == prompts {
            let (s, model) = &run.suites[suite];
            let message = format!(
                "benchmark {} finished: {done} prompts against {} ({model}), {passed} passed ({:.1}%), {errors} errors, after {:.1} s",
                s.id,
                s.team,
                percent(passed, done),
                now.secs_since(run.started)
            );
            self.log(now, "info", message);
        }
        run.results[ask.job] = Some(result);
    }

    /// Ends the run when every prompt is done.
    fn finish_if_done(&mut self, now: SimTime) -> bool {
        let done = self.run.as_ref().is_some_and(|run| {
            run.next >= run.jobs.len() && run.workers.iter().all(Option::is_none)
        });
        if !done {
            return false;
        }
        let Some(run) = self.run.take() else {
            return false;
        };
        let results: Vec<HarnessResult> = run.results.into_iter().flatten().collect();
        let passed = results.iter().filter(|r| r.passed).count();
        self.log(
            now,
            "info",
            format!(
                "benchmark finished: {} prompts, {passed} passed ({:.1}%) in {:.1} s",
                results.len(),
                percent(passed, results.len()),
                now.secs_since(run.started)
            ),
        );
        for line in summary(&results).lines() {
            self.log(now, "info", format!("benchmark summary | {line}"));
        }
        true
    }
}

fn percent(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        return 0.0;
    }
    100.0 * part as f64 / whole as f64
}
