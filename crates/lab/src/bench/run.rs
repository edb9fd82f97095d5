//! A benchmark run: learns each team's model, hands every prompt of the chosen suites
//! to `concurrency` worker threads through a shared queue, judges each answer, and
//! records each result (metrics, progress, logs) as it arrives. Results come back in
//! suite and prompt order, whatever order they finished in.
//!
//! Log lines say "benchmark" or "harness", which the dashboard's log panel filters on.
//! One failed request never stops a run: it becomes a failed result with an `error`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use indicatif::ProgressBar;

use crate::scenario::Scenario;

use super::client::{BenchError, Client, Completion};
use super::metrics::HarnessMetrics;
use super::prompts::{Prompt, prompts};
use super::result::HarnessResult;
use super::rules;
use super::suite::{BASELINE_TEAM, SUITES, Suite};

/// Requests in flight when not told otherwise.
pub const DEFAULT_CONCURRENCY: usize = 10;

/// How long one request may take when not told otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// What to run, and against what.
#[derive(Clone, Debug)]
pub struct BenchConfig {
    /// The gateway's base URL; team `t` is at `{gateway}/{t}/v1/...`.
    pub gateway: String,
    /// The suites to run, in order.
    pub suites: Vec<&'static Suite>,
    /// At most this many prompts per suite.
    pub limit: Option<usize>,
    /// Worker threads, each with one request in flight.
    pub concurrency: usize,
    /// Whether to send each prompt to the FP16 baseline too.
    pub compare_baseline: bool,
    /// Gives the pass rates of each team's pod and the seed of the pass rule.
    pub scenario: Arc<Scenario>,
    /// How long one request may take.
    pub timeout: Duration,
}

impl BenchConfig {
    /// Every suite in full against `gateway`, with the default concurrency and timeout,
    /// no baseline comparison.
    pub fn new(gateway: impl Into<String>, scenario: Arc<Scenario>) -> BenchConfig {
        BenchConfig {
            gateway: gateway.into(),
            suites: SUITES.iter().collect(),
            limit: None,
            concurrency: DEFAULT_CONCURRENCY,
            compare_baseline: false,
            scenario,
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// One suite as this run plays it.
struct Plan {
    suite: &'static Suite,
    model: String,
    prompts: usize,
}

/// A suite's results so far.
#[derive(Clone, Copy, Default)]
struct Tally {
    done: usize,
    passed: usize,
    errors: usize,
}

/// One prompt to send.
struct Job {
    plan: usize,
    prompt: Prompt,
}

/// Runs `config`'s suites, recording each result in `metrics` and `progress` as it
/// arrives; the results come back in suite and prompt order.
///
/// Fails before sending any prompt when the gateway is unreachable or refuses a team;
/// a team whose pod is down (HTTP 5xx) is run anyway, with the scenario's model name,
/// so its prompts fail one by one as they would against the real lab.
pub fn run(
    config: &BenchConfig,
    metrics: &HarnessMetrics,
    progress: &ProgressBar,
) -> Result<Vec<HarnessResult>, BenchError> {
    let workers = config.concurrency.max(1);
    let client = Client::new(&config.gateway, config.timeout, workers);
    let mut teams: Vec<&str> = config.suites.iter().map(|s| s.team).collect();
    if config.compare_baseline {
        teams.push(BASELINE_TEAM);
    }
    let mut models = BTreeMap::new();
    for team in teams {
        if !models.contains_key(team) {
            models.insert(team, model_of(&client, &config.scenario, team)?);
        }
    }
    let mut plans = Vec::new();
    let mut jobs = Vec::new();
    for suite in &config.suites {
        metrics.init_suite(suite);
        let suite_prompts = prompts(suite, config.limit);
        plans.push(Plan {
            suite,
            model: models.get(suite.team).cloned().unwrap_or_default(),
            prompts: suite_prompts.len(),
        });
        let plan = plans.len() - 1;
        jobs.extend(suite_prompts.into_iter().map(|prompt| Job { plan, prompt }));
    }
    let baseline = models
        .get(BASELINE_TEAM)
        .filter(|_| config.compare_baseline);
    tracing::info!(
        "benchmark started: {} suites, {} prompts through {}, concurrency {workers}{}",
        plans.len(),
        jobs.len(),
        config.gateway,
        baseline.map_or(String::new(), |m| format!(
            ", compared with {BASELINE_TEAM} ({m})"
        )),
    );
    progress.set_length(jobs.len() as u64);
    let started = Instant::now();
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel();
    let mut slots: Vec<Option<HarnessResult>> = (0..jobs.len()).map(|_| None).collect();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let tx = tx.clone();
            let (client, jobs, plans, next) = (&client, &jobs, &plans, &next);
            scope.spawn(move || {
                while let Some(job) = jobs.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let plan = &plans[job.plan];
                    if job.prompt.index == 0 {
                        tracing::info!(
                            "benchmark {} started: {} prompts against {} ({}), concurrency {workers}",
                            plan.suite.id,
                            plan.prompts,
                            plan.suite.team,
                            plan.model
                        );
                    }
                    let result = ask(client, config, plan, &job.prompt, baseline);
                    if tx.send((job.plan, job.prompt.index, result)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(tx);
        let mut offsets = Vec::with_capacity(plans.len());
        let mut offset = 0;
        for plan in &plans {
            offsets.push(offset);
            offset += plan.prompts;
        }
        let mut tallies = vec![Tally::default(); plans.len()];
        for (p, index, result) in rx {
            metrics.record(&result);
            progress.inc(1);
            progress.set_message(result.scenario_id.clone());
            tally(&plans[p], &mut tallies[p], &result, started);
            if let Some(slot) = slots.get_mut(offsets[p] + index) {
                *slot = Some(result);
            }
        }
    });
    let results: Vec<_> = slots.into_iter().flatten().collect();
    let passed = results.iter().filter(|r| r.passed).count();
    tracing::info!(
        "benchmark finished: {} prompts, {passed} passed ({:.1}%) in {:.1} s",
        results.len(),
        percent(passed, results.len()),
        started.elapsed().as_secs_f64()
    );
    progress.finish_and_clear();
    Ok(results)
}

/// The model `team` serves: its endpoint's first model, or, while its pod is down,
/// the scenario's name for it.
fn model_of(client: &Client, scenario: &Scenario, team: &str) -> Result<String, BenchError> {
    match client.model(team) {
        Err(BenchError::Team {
            status,
            message,
            url,
            ..
        }) if status >= 500 => {
            let pod = scenario
                .pods
                .iter()
                .find(|p| p.team.as_deref() == Some(team));
            match pod {
                Some(pod) => {
                    tracing::warn!(
                        "benchmark: {url} answered HTTP {status} ({message}); using the scenario's model {} for team {team}",
                        pod.model_name
                    );
                    Ok(pod.model_name.clone())
                }
                None => Err(BenchError::Team {
                    team: team.to_owned(),
                    url,
                    status,
                    message,
                }),
            }
        }
        other => other,
    }
}

/// Sends one prompt (and its baseline twin) and judges the answers.
fn ask(
    client: &Client,
    config: &BenchConfig,
    plan: &Plan,
    prompt: &Prompt,
    baseline: Option<&String>,
) -> HarnessResult {
    let suite = plan.suite;
    let verdict = |team: &str, model: &str, c: &Completion| {
        let completed = c.error.is_none() && rules::completed(&c.text, c.finish_reason.as_deref());
        let rate = rules::pass_rate(&config.scenario, team, prompt.category);
        rules::passes(
            completed,
            rate,
            config.scenario.seed,
            suite.id,
            prompt.index,
            model,
        )
    };
    let answer = client.complete(suite.team, &plan.model, prompt);
    if let Some(error) = &answer.error {
        tracing::warn!(
            "harness request failed: {} #{} to {}: {error}",
            suite.id,
            prompt.index,
            suite.team
        );
    }
    let mut result = HarnessResult {
        scenario_id: suite.id.to_owned(),
        team: suite.team.to_owned(),
        model: plan.model.clone(),
        prompt_id: prompt.index,
        category: prompt.category.to_owned(),
        prompt: prompt.text.clone(),
        response: answer.text.clone(),
        passed: verdict(suite.team, &plan.model, &answer),
        latency_ms: answer.latency_ms,
        tokens_per_second: answer.tokens_per_second(),
        prompt_tokens: answer.prompt_tokens,
        completion_tokens: answer.completion_tokens,
        error: answer.error,
        baseline_response: None,
        baseline_latency_ms: None,
        baseline_passed: None,
        baseline_tokens_per_second: None,
        baseline_error: None,
    };
    if let Some(model) = baseline {
        let answer = client.complete(BASELINE_TEAM, model, prompt);
        if let Some(error) = &answer.error {
            tracing::warn!(
                "harness baseline request failed: {} #{}: {error}",
                suite.id,
                prompt.index
            );
        }
        result.baseline_passed = Some(verdict(BASELINE_TEAM, model, &answer));
        result.baseline_latency_ms = Some(answer.latency_ms);
        result.baseline_tokens_per_second = Some(answer.tokens_per_second());
        result.baseline_response = Some(answer.text);
        result.baseline_error = answer.error;
    }
    tracing::debug!(
        "harness result {} #{} {}: {} in {:.0} ms ({:.1} tok/s)",
        result.scenario_id,
        result.prompt_id,
        result.category,
        if result.passed { "pass" } else { "fail" },
        result.latency_ms,
        result.tokens_per_second
    );
    result
}

/// Counts `result` into its suite and logs the suite's end.
fn tally(plan: &Plan, tally: &mut Tally, result: &HarnessResult, started: Instant) {
    tally.done += 1;
    tally.passed += usize::from(result.passed);
    tally.errors += usize::from(!result.succeeded());
    if tally.done == plan.prompts {
        tracing::info!(
            "benchmark {} finished: {} prompts against {} ({}), {} passed ({:.1}%), {} errors, after {:.1} s",
            plan.suite.id,
            tally.done,
            plan.suite.team,
            plan.model,
            tally.passed,
            percent(tally.passed, tally.done),
            tally.errors,
            started.elapsed().as_secs_f64()
        );
    }
}

fn percent(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        return 0.0;
    }
    100.0 * part as f64 / whole as f64
}
