//! One pod's request-level model of vLLM's V0 engine.
//!
//! Requests arrive from a [`Workload`], wait FCFS, and join a continuous batch when the
//! batch has room (`max_num_seqs`), the step has token budget (`max_num_batched_tokens`)
//! and the KV cache has blocks. A step is either a prefill of newly admitted requests
//! or a decode of the whole batch, as in V0 without chunked prefill; its duration comes
//! from the [`PerfModel`]. When a decode step needs a block the cache does not have,
//! the newest running request is preempted (recompute mode) and goes back to the
//! front of the queue. Everything the engine does is reported to an [`EventSink`].
//!
//! The engine knows nothing of metric names, wall clocks, tasks or sockets: it moves
//! only when [`Engine::advance_to`] is called with a later simulated time.

mod event;
mod hardware;
mod kv_cache;
mod latency;
mod workload;

pub use event::{EventSink, FinishReason, FinishedRequest, Parent, StepStats};
pub use hardware::{Gpu, MemoryPlan, ModelShape, Quantization};
pub use kv_cache::BlockPool;
pub use latency::PerfModel;
pub use workload::{Arrival, LengthDist, Traffic, Workload, WorkloadConfig};

use std::collections::VecDeque;
use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;

use crate::clock::SimTime;

/// vLLM's local stat-log interval: the average-throughput gauges cover this much time.
const THROUGHPUT_LOG_INTERVAL: Duration = Duration::from_secs(5);

/// Requests a pod holds waiting before its open-loop clients give up: arrivals from
/// [`Traffic::Poisson`] beyond it are shed unseen, as callers that time out before
/// connecting would be, so an overload of any length keeps memory bounded. Closed-loop
/// users ([`Traffic::MAX_USERS`] at most) and API requests are never shed.
pub const MAX_WAITING: usize = 200_000;

/// Everything that fixes how one engine behaves.
#[derive(Clone, Debug, PartialEq)]
pub struct EngineConfig {
    /// Longest prompt plus output, in tokens.
    pub max_model_len: u32,
    /// Most requests in the running batch.
    pub max_num_seqs: usize,
    /// Most prompt tokens in one prefill step.
    pub max_num_batched_tokens: u32,
    /// Tokens per KV block.
    pub block_size: u32,
    /// KV blocks on the GPU.
    pub num_gpu_blocks: u32,
    /// Step durations.
    pub perf: PerfModel,
    /// The requests.
    pub workload: WorkloadConfig,
    /// Whether requests run through a LoRA adapter.
    pub lora: bool,
    /// Whether the prefix cache is on (`--enable-prefix-caching`; V1's default).
    pub prefix_caching: bool,
    /// How often an idle engine logs its stats (V0's engine loop, every 10 s), if at all.
    pub idle_log_every: Option<Duration>,
    /// `--max-num-queued-reqs` (vLLM 0.32 on): requests beyond this many unfinished
    /// ones are rejected at admission.
    pub max_num_queued_reqs: Option<usize>,
}

/// A request inside the engine.
#[derive(Clone, Debug)]
struct Seq {
    arrival: SimTime,
    prompt: u32,
    /// Tokens it will generate before finishing, and why it finishes there.
    target: u32,
    reason: FinishReason,
    max_tokens: u32,
    generated: u32,
    blocks: u32,
    first_scheduled: Option<SimTime>,
    first_token: Option<SimTime>,
    last_token: SimTime,
    from_user: bool,
    client: Option<u64>,
    parent: Option<Parent>,
    /// Times it was preempted.
    preemptions: u32,
    /// Prompt tokens its last prefill found in the prefix cache.
    cached: u32,
}

impl Seq {
    fn new(a: Arrival, max_model_len: u32) -> Seq {
        let prompt = a.prompt_tokens.min(max_model_len.saturating_sub(1)).max(1);
        let cap = a.max_tokens.min(max_model_len - prompt).max(1);
        let (target, reason) = if a.natural_output_tokens <= cap {
            (a.natural_output_tokens, FinishReason::Stop)
        } else {
            (cap, FinishReason::Length)
        };
        Seq {
            arrival: a.at,
            prompt,
            target,
            reason,
            max_tokens: a.max_tokens,
            generated: 0,
            blocks: 0,
            first_scheduled: None,
            first_token: None,
            last_token: a.at,
            from_user: a.from_user,
            client: a.client,
            parent: a.parent,
            preemptions: 0,
            cached: 0,
        }
    }

    /// Tokens whose KV the next step needs: the prompt and every token generated so far.
    fn kv_tokens(&self) -> u32 {
        self.prompt + self.generated
    }
}

/// What the next step will do.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Plan {
    /// Prefill the first `admit` waiting requests, `tokens` tokens in all.
    Prefill { admit: usize, tokens: u64 },
    /// Decode the first `keep` running requests, preempting the rest.
    Decode { keep: usize },
}

/// A request sent through the API rather than drawn from the workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientRequest {
    /// The caller's id for it, reported back with its tokens.
    pub id: u64,
    /// Prompt tokens.
    pub prompt_tokens: u32,
    /// `max_tokens`.
    pub max_tokens: u32,
    /// Whether to ignore end-of-sequence and always generate `max_tokens`.
    pub ignore_eos: bool,
    /// Picks where the answer would end by itself: the same seed (say, a hash of the
    /// prompt) gets the same length from every pod with the same workload.
    pub seed: u64,
    /// The request it is one of the sequences of, when the API request's `n` > 1.
    pub parent: Option<Parent>,
}

/// One simulated vLLM engine.
#[derive(Debug)]
pub struct Engine {
    config: EngineConfig,
    workload: Workload,
    /// API requests not yet due, in arrival order.
    submitted: VecDeque<Arrival>,
    /// Draws the natural output length of API requests, apart from the workload's stream.
    now: SimTime,
    waiting: VecDeque<Seq>,
    running: Vec<Seq>,
    pool: BlockPool,
    log_start: SimTime,
    log_prompt_tokens: u64,
    log_generation_tokens: u64,
    /// When the engine last reported its stats.
    last_log: SimTime,
    /// Whether the workload's shared prompt prefix is in the prefix cache.
    prefix_warm: bool,
    /// In vLLM's sleep mode: nothing is scheduled until it wakes.
    asleep: bool,
}

impl Engine {
    /// An idle engine at `now`, drawing its requests from `seed`.
    pub fn new(config: EngineConfig, seed: u64, now: SimTime) -> Engine {
        let workload = Workload::new(config.workload.clone(), seed);
        let pool = BlockPool::new(config.num_gpu_blocks, config.block_size);
        Engine {
            config,
            workload,
            submitted: VecDeque::new(),
            now,
            waiting: VecDeque::new(),
            running: Vec::new(),
            pool,
            log_start: now,
            log_prompt_tokens: 0,
            log_generation_tokens: 0,
            last_log: now,
            prefix_warm: false,
            asleep: false,
        }
    }

    /// Switches the arrival process at `at` (no earlier than the engine's own time).
    pub fn set_traffic(&mut self, traffic: Traffic, at: SimTime) {
        self.workload.set_traffic(traffic, at.max(self.now));
    }

    /// Puts the engine to sleep (vLLM's `sleep`, level 1, whose default pause mode
    /// aborts every request in flight and offloads the weights, freeing the KV cache)
    /// or wakes it. Asleep, it takes requests and schedules none of them.
    pub fn set_asleep(&mut self, asleep: bool, sink: &mut impl EventSink) {
        if asleep == self.asleep {
            return;
        }
        self.asleep = asleep;
        if !asleep {
            return;
        }
        let now = self.now;
        let in_flight: Vec<Seq> = self
            .running
            .drain(..)
            .chain(self.waiting.drain(..))
            .collect();
        for seq in in_flight {
            self.finish(seq, FinishReason::Abort, now, sink);
        }
        self.prefix_warm = false;
        sink.step(&StepStats {
            at: now,
            ..StepStats::default()
        });
    }

    /// Whether the engine is asleep.
    pub fn asleep(&self) -> bool {
        self.asleep
    }

    /// The engine's time: every step that ends by then has run.
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// Requests in the running batch.
    pub fn running(&self) -> usize {
        self.running.len()
    }

    /// Requests waiting.
    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }

    /// Fraction of KV blocks in use.
    pub fn gpu_cache_usage(&self) -> f64 {
        self.pool.usage()
    }

    /// Tokens generated so far by requests that have not finished.
    pub fn in_flight_generated_tokens(&self) -> u64 {
        self.running
            .iter()
            .chain(&self.waiting)
            .map(|s| u64::from(s.generated))
            .sum()
    }

    /// Queues an API request arriving at `at` (no earlier than the engine's time).
    /// Whether a new request is admitted: vLLM's `check_admission` counts the
    /// unfinished requests (waiting, running and not yet scheduled).
    pub fn admits(&self) -> bool {
        let unfinished = self.waiting.len() + self.running.len() + self.submitted.len();
        self.config
            .max_num_queued_reqs
            .is_none_or(|max| unfinished < max)
    }

    /// Queues API request `request` at `at`, unless admission rejects it (`false`).
    pub fn submit(&mut self, request: ClientRequest, at: SimTime) -> bool {
        if !self.admits() {
            return false;
        }
        let natural = if request.ignore_eos {
            // Never stops by itself: runs to max_tokens.
            request.max_tokens.saturating_add(1)
        } else {
            self.config
                .workload
                .output_tokens
                .sample(&mut ChaCha8Rng::seed_from_u64(request.seed))
        };
        self.submitted.push_back(Arrival {
            at: at.max(self.now),
            prompt_tokens: request.prompt_tokens,
            natural_output_tokens: natural,
            max_tokens: request.max_tokens,
            from_user: false,
            client: Some(request.id),
            parent: request.parent,
        });
        true
    }

    /// Drops the API request `id` (its client went away) at the engine's time;
    /// a request already admitted finishes with reason `abort`.
    pub fn abort(&mut self, id: u64, sink: &mut impl EventSink) {
        self.submitted.retain(|a| a.client != Some(id));
        let now = self.now;
        if let Some(i) = self.waiting.iter().position(|s| s.client == Some(id)) {
            if let Some(seq) = self.waiting.remove(i) {
                self.finish(seq, FinishReason::Abort, now, sink);
            }
        } else if let Some(i) = self.running.iter().position(|s| s.client == Some(id)) {
            let seq = self.running.remove(i);
            self.finish(seq, FinishReason::Abort, now, sink);
        } else {
            return;
        }
        // The scheduler frees the request at once; the gauges show it without waiting
        // for the next request.
        sink.step(&StepStats {
            at: now,
            running: self.running.len(),
            waiting: self.waiting.len(),
            gpu_cache_usage: self.pool.usage(),
            lora_running: self.config.lora && !self.running.is_empty(),
            lora_waiting: self.config.lora && !self.waiting.is_empty(),
            ..StepStats::default()
        });
    }

    /// The next request due, workload or API, at or before the engine's time.
    fn pop_due(&mut self) -> Option<Arrival> {
        let api = self
            .submitted
            .front()
            .map(|a| a.at)
            .filter(|&t| t <= self.now);
        match (api, self.workload.next_arrival().filter(|&t| t <= self.now)) {
            (Some(a), Some(w)) if w < a => self.workload.pop_due(self.now),
            (Some(_), _) => self.submitted.pop_front(),
            (None, _) => self.workload.pop_due(self.now),
        }
    }

    /// When the next request, workload or API, arrives.
    fn next_arrival(&self) -> Option<SimTime> {
        let api = self.submitted.front().map(|a| a.at);
        match (api, self.workload.next_arrival()) {
            (Some(a), Some(w)) => Some(a.min(w)),
            (a, w) => a.or(w),
        }
    }

    /// When the engine next does something: the end of the step it is in, or the next
    /// arrival when it is idle; `None` when nothing is due.
    pub fn next_event(&self) -> Option<SimTime> {
        if self.running.is_empty() && self.waiting.is_empty() {
            return self.next_arrival().map(|t| t.max(self.now));
        }
        Some(self.now + self.duration(self.plan()))
    }

    /// Runs every step that ends by `until`, reporting to `sink`.
    pub fn advance_to(&mut self, until: SimTime, sink: &mut impl EventSink) {
        let mut unlimited = u64::MAX;
        self.advance_within(until, &mut unlimited, sink);
    }

    /// Runs the steps that end by `until`, reporting to `sink`, but no more arrivals
    /// and steps than `budget` (which it spends): whether it got to `until`. Short of
    /// it, the engine's time is where it stopped.
    pub fn advance_within(
        &mut self,
        until: SimTime,
        budget: &mut u64,
        sink: &mut impl EventSink,
    ) -> bool {
        loop {
            if *budget == 0 {
                return false;
            }
            while let Some(arrival) = self.pop_due() {
                *budget = budget.saturating_sub(1);
                let open_loop = !arrival.from_user && arrival.client.is_none();
                if open_loop && self.waiting.len() >= MAX_WAITING {
                    continue;
                }
                if open_loop && !self.admits() {
                    sink.rejected();
                    continue;
                }
                self.waiting
                    .push_back(Seq::new(arrival, self.config.max_model_len));
            }
            if self.asleep {
                // Requests queue; nothing runs, nor logs, until it wakes.
                match self.next_arrival() {
                    Some(t) if t <= until => self.now = t.max(self.now),
                    _ => {
                        self.now = self.now.max(until);
                        return true;
                    }
                }
                *budget = budget.saturating_sub(1);
                continue;
            }
            if self.running.is_empty() && self.waiting.is_empty() {
                let arrival = self.next_arrival();
                let log = self
                    .config
                    .idle_log_every
                    .map(|every| self.last_log + every);
                match (arrival, log) {
                    (_, Some(log)) if log <= until && arrival.is_none_or(|t| t > log) => {
                        self.now = log;
                        self.idle_log(sink);
                    }
                    (Some(t), _) if t <= until => self.now = t,
                    _ => {
                        self.now = self.now.max(until);
                        return true;
                    }
                }
                *budget = budget.saturating_sub(1);
                continue;
            }
            let plan = self.plan();
            let end = self.now + self.duration(plan);
            if end > until {
                return true;
            }
            self.execute(plan, end, sink);
            self.now = end;
            *budget = budget.saturating_sub(1);
        }
    }

    /// The prompt tokens of `seq` its prefill finds in the prefix cache: the
    /// workload's shared prefix in whole blocks, once a prefill has cached it (never
    /// the last prompt token, which vLLM always computes).
    fn prefix_hit(&self, seq: &Seq) -> u32 {
        if !self.config.prefix_caching || !self.prefix_warm {
            return 0;
        }
        let shared = self
            .config
            .workload
            .shared_prefix_tokens
            .min(seq.prompt.saturating_sub(1));
        shared - shared % self.config.block_size.max(1)
    }

    /// Decides the next step without changing anything.
    fn plan(&self) -> Plan {
        let mut pool = self.pool.clone();
        let (mut admit, mut tokens) = (0, 0u64);
        for seq in &self.waiting {
            let need = seq.kv_tokens();
            let compute = u64::from(need - self.prefix_hit(seq));
            let blocks = pool.blocks_for(need);
            if self.running.len() + admit >= self.config.max_num_seqs
                || tokens + compute > u64::from(self.config.max_num_batched_tokens)
                || !pool.can_admit(blocks)
            {
                break;
            }
            pool.take(blocks);
            admit += 1;
            tokens += compute;
        }
        if admit > 0 || self.running.is_empty() {
            return Plan::Prefill { admit, tokens };
        }
        let mut free = self.pool.free();
        let mut keep = self.running.len();
        let mut i = 0;
        while i < keep {
            let need = self.pool.blocks_for(self.running[i].kv_tokens()) - self.running[i].blocks;
            while need > free && keep > i {
                keep -= 1;
                free += self.running[keep].blocks;
            }
            if keep == i {
                break;
            }
            free -= need;
            i += 1;
        }
        Plan::Decode { keep }
    }

    fn duration(&self, plan: Plan) -> Duration {
        let lora = self.config.lora;
        let secs = match plan {
            Plan::Prefill { admit: 0, .. } => 0.0,
            Plan::Prefill { tokens, .. } => self.config.perf.prefill(tokens, lora),
            Plan::Decode { keep } => {
                let batch = &self.running[..keep];
                let context = batch.iter().map(|s| u64::from(s.kv_tokens())).sum();
                self.config.perf.decode(keep, context, lora && keep > 0)
            }
        };
        Duration::from_secs_f64(secs)
    }

    fn execute(&mut self, plan: Plan, end: SimTime, sink: &mut impl EventSink) {
        let start = self.now;
        let mut stats = StepStats {
            at: end,
            ..StepStats::default()
        };
        match plan {
            Plan::Prefill { admit, .. } => {
                if admit == 0 {
                    // The head request can never fit: vLLM ignores it with a warning.
                    self.waiting.pop_front();
                }
                for mut seq in self.waiting.drain(..admit).collect::<Vec<_>>() {
                    let blocks = self.pool.blocks_for(seq.kv_tokens());
                    self.pool.take(blocks);
                    seq.blocks = blocks;
                    seq.first_scheduled.get_or_insert(start);
                    seq.cached = self.prefix_hit(&seq);
                    stats.prompt_tokens += u64::from(seq.kv_tokens());
                    stats.prefix_hits += u64::from(seq.cached);
                    if seq.preemptions > 0 {
                        stats.recomputed_tokens += u64::from(seq.kv_tokens());
                    }
                    sink.first_token(end.secs_since(seq.last_token));
                    seq.first_token.get_or_insert(end);
                    self.produce_token(seq, end, sink);
                    stats.generation_tokens += 1;
                }
                self.prefix_warm |= admit > 0 && self.config.workload.shared_prefix_tokens > 0;
            }
            Plan::Decode { keep } => {
                let preempted: Vec<Seq> = self.running.drain(keep..).collect();
                for mut seq in preempted.into_iter().rev() {
                    self.pool.give_back(seq.blocks);
                    seq.blocks = 0;
                    seq.preemptions += 1;
                    self.waiting.push_front(seq);
                    stats.preemptions += 1;
                }
                for mut seq in std::mem::take(&mut self.running) {
                    let need = self.pool.blocks_for(seq.kv_tokens()) - seq.blocks;
                    self.pool.take(need);
                    seq.blocks += need;
                    sink.next_token(end.secs_since(seq.last_token));
                    self.produce_token(seq, end, sink);
                    stats.generation_tokens += 1;
                }
            }
        }
        stats.running = self.running.len();
        stats.waiting = self.waiting.len();
        stats.gpu_cache_usage = self.pool.usage();
        stats.lora_running = self.config.lora && !self.running.is_empty();
        stats.lora_waiting = self.config.lora && !self.waiting.is_empty();
        sink.step(&stats);
        self.last_log = end;
        self.log_throughput(&stats, sink);
    }

    /// An idle engine's stats log: nothing computed, the gauges as they stand.
    fn idle_log(&mut self, sink: &mut impl EventSink) {
        let stats = StepStats {
            at: self.now,
            gpu_cache_usage: self.pool.usage(),
            ..StepStats::default()
        };
        sink.step(&stats);
        self.last_log = self.now;
        self.log_throughput(&stats, sink);
    }

    /// Gives `seq` its next token at `at`; finishes it or keeps it running.
    fn produce_token(&mut self, mut seq: Seq, at: SimTime, sink: &mut impl EventSink) {
        seq.generated += 1;
        seq.last_token = at;
        if let Some(id) = seq.client {
            sink.client_token(id, at);
        }
        if seq.generated < seq.target {
            self.running.push(seq);
            return;
        }
        let reason = seq.reason;
        self.finish(seq, reason, at, sink);
    }

    /// Reports `seq` finished at `at` and frees what it held.
    fn finish(&mut self, seq: Seq, reason: FinishReason, at: SimTime, sink: &mut impl EventSink) {
        let scheduled = seq.first_scheduled.unwrap_or(at);
        let first_token = seq.first_token.unwrap_or(at);
        sink.finished(&FinishedRequest {
            client: seq.client,
            reason,
            prompt_tokens: seq.prompt,
            generation_tokens: seq.generated,
            max_tokens: seq.max_tokens,
            parent: seq.parent,
            preemptions: seq.preemptions,
            cached_prompt_tokens: seq.cached,
            e2e: at.secs_since(seq.arrival),
            queue: scheduled.secs_since(seq.arrival),
            inference: at.secs_since(scheduled),
            prefill: first_token.secs_since(scheduled),
            decode: at.secs_since(first_token),
        });
        self.pool.give_back(seq.blocks);
        if seq.from_user {
            self.workload.user_request_finished(at);
        }
    }

    fn log_throughput(&mut self, stats: &StepStats, sink: &mut impl EventSink) {
        self.log_prompt_tokens += stats.prompt_tokens;
        self.log_generation_tokens += stats.generation_tokens;
        let elapsed = stats.at - self.log_start;
        if elapsed >= THROUGHPUT_LOG_INTERVAL {
            let secs = elapsed.as_secs_f64();
            sink.throughput(
                self.log_prompt_tokens as f64 / secs,
                self.log_generation_tokens as f64 / secs,
            );
            self.log_start = stats.at;
            self.log_prompt_tokens = 0;
            self.log_generation_tokens = 0;
        }
    }
}

#[cfg(test)]
mod tests;
