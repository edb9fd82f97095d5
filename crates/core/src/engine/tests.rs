//! Invariants of the engine, checked by stepping simulated time.

use super::*;

/// Records everything the engine reports.
#[derive(Debug, Default, PartialEq)]
struct Recorder {
    first_tokens: u64,
    next_tokens: u64,
    finished: Vec<FinishedRequest>,
    steps: Vec<StepStats>,
    throughput: Vec<(f64, f64)>,
    client_tokens: Vec<(u64, SimTime)>,
    rejected: u64,
}

impl EventSink for Recorder {
    fn first_token(&mut self, _latency: f64) {
        self.first_tokens += 1;
    }
    fn next_token(&mut self, latency: f64) {
        assert!(latency > 0.0);
        self.next_tokens += 1;
    }
    fn finished(&mut self, request: &FinishedRequest) {
        self.finished.push(request.clone());
    }
    fn step(&mut self, stats: &StepStats) {
        self.steps.push(stats.clone());
    }
    fn throughput(&mut self, prompt: f64, generation: f64) {
        self.throughput.push((prompt, generation));
    }
    fn client_token(&mut self, client: u64, at: SimTime) {
        self.client_tokens.push((client, at));
    }
    fn rejected(&mut self) {
        self.rejected += 1;
    }
}

impl Recorder {
    fn generated(&self) -> u64 {
        self.steps.iter().map(|s| s.generation_tokens).sum()
    }
    fn preemptions(&self) -> u64 {
        self.steps.iter().map(|s| s.preemptions).sum()
    }
}

fn config(gpu: &str, quantization: Quantization, max_model_len: u32) -> EngineConfig {
    let gpu = Gpu::builtin(gpu).unwrap();
    let model = ModelShape::mistral_7b(quantization);
    let plan = MemoryPlan::new(&gpu, &model, 0.9, 1.2, 16);
    EngineConfig {
        max_model_len,
        max_num_seqs: 256,
        max_num_batched_tokens: max_model_len.max(2048),
        block_size: 16,
        num_gpu_blocks: plan.num_gpu_blocks,
        perf: PerfModel::new(&gpu, &model, 0.0),
        workload: WorkloadConfig {
            prompt_tokens: LengthDist {
                median: 300.0,
                p90: 700.0,
            },
            output_tokens: LengthDist {
                median: 60.0,
                p90: 150.0,
            },
            max_tokens: 256,
            shared_prefix_tokens: 0,
        },
        lora: false,
        prefix_caching: false,
        idle_log_every: None,
        max_num_queued_reqs: None,
    }
}

fn secs(s: f64) -> SimTime {
    SimTime::from_secs_f64(s)
}

fn run(config: EngineConfig, traffic: Traffic, seconds: f64) -> (Engine, Recorder) {
    let mut pod = Engine::new(config, 42, SimTime::ZERO);
    pod.set_traffic(traffic, SimTime::ZERO);
    let mut rec = Recorder::default();
    pod.advance_to(secs(seconds), &mut rec);
    (pod, rec)
}

#[test]
fn token_counts_agree() {
    let (pod, rec) = run(
        config("a10g", Quantization::None, 4096),
        Traffic::Poisson { rate: 3.0 },
        300.0,
    );
    assert!(rec.finished.len() > 500, "{} finished", rec.finished.len());
    let finished_tokens: u64 = rec
        .finished
        .iter()
        .map(|f| u64::from(f.generation_tokens))
        .sum();
    assert_eq!(
        rec.generated(),
        finished_tokens + pod.in_flight_generated_tokens()
    );
    // Every generated token is either a first token or a next token.
    assert_eq!(rec.generated(), rec.first_tokens + rec.next_tokens);
    for f in &rec.finished {
        assert!((f.e2e - (f.queue + f.inference)).abs() < 1e-6);
        assert!((f.inference - (f.prefill + f.decode)).abs() < 1e-6);
        assert!(f.generation_tokens <= f.max_tokens);
        let length = f.generation_tokens == f.max_tokens;
        assert!(f.reason == FinishReason::Length || !length || f.reason == FinishReason::Stop);
    }
}

#[test]
fn kv_usage_follows_the_batch() {
    let (_, rec) = run(
        config("a10g", Quantization::None, 4096),
        Traffic::Poisson { rate: 2.0 },
        120.0,
    );
    for s in &rec.steps {
        assert_eq!(s.running == 0, s.gpu_cache_usage == 0.0, "{s:?}");
        assert!((0.0..=1.0).contains(&s.gpu_cache_usage));
    }
}

#[test]
fn overload_builds_a_queue_and_preempts() {
    let mut cfg = config("t4", Quantization::None, 2048);
    cfg.num_gpu_blocks = 256;
    let (pod, rec) = run(cfg, Traffic::Poisson { rate: 3.0 }, 300.0);
    assert!(pod.waiting() > 50, "waiting {}", pod.waiting());
    assert!(rec.preemptions() > 0);
    let peak = rec
        .steps
        .iter()
        .map(|s| s.gpu_cache_usage)
        .fold(0.0, f64::max);
    assert!(peak > 0.9, "peak usage {peak}");
}

#[test]
fn light_load_never_queues() {
    let (_, rec) = run(
        config("a10g", Quantization::Awq, 4096),
        Traffic::Poisson { rate: 0.5 },
        300.0,
    );
    assert!(rec.steps.iter().all(|s| s.waiting == 0));
    assert_eq!(rec.preemptions(), 0);
}

#[test]
fn closed_loop_holds_concurrency() {
    let traffic = Traffic::ClosedLoop {
        concurrency: 10,
        think_time: Duration::ZERO,
    };
    let (_, rec) = run(config("a10g", Quantization::None, 4096), traffic, 120.0);
    assert!(rec.steps.iter().all(|s| s.running + s.waiting <= 10));
    assert!(
        rec.steps
            .iter()
            .filter(|s| s.running + s.waiting == 10)
            .count()
            > rec.steps.len() / 2
    );
}

#[test]
fn awq_is_faster_than_fp16_under_the_same_load() {
    let traffic = Traffic::ClosedLoop {
        concurrency: 10,
        think_time: Duration::ZERO,
    };
    let (_, fp16) = run(config("a10g", Quantization::None, 4096), traffic, 300.0);
    let (_, awq) = run(config("a10g", Quantization::Awq, 4096), traffic, 300.0);
    let mean =
        |r: &Recorder| r.finished.iter().map(|f| f.e2e).sum::<f64>() / r.finished.len() as f64;
    assert!(
        mean(&awq) < 0.8 * mean(&fp16),
        "awq {} fp16 {}",
        mean(&awq),
        mean(&fp16)
    );
    assert!(awq.generated() as f64 > 1.3 * fp16.generated() as f64);
}

#[test]
fn throughput_is_logged_every_five_seconds() {
    let (_, rec) = run(
        config("a10g", Quantization::None, 4096),
        Traffic::Poisson { rate: 2.0 },
        60.0,
    );
    assert!(
        (10..=12).contains(&rec.throughput.len()),
        "{}",
        rec.throughput.len()
    );
    let logged: f64 = rec.throughput.iter().map(|t| t.1).sum::<f64>() * 5.0;
    let generated = rec.generated() as f64;
    assert!(
        (logged - generated).abs() < 0.1 * generated,
        "{logged} vs {generated}"
    );
}

#[test]
fn same_seed_same_run_whatever_the_step_size() {
    let cfg = config("a10g", Quantization::None, 4096);
    let traffic = Traffic::Poisson { rate: 3.0 };
    let (_, once) = run(cfg.clone(), traffic, 120.0);
    let mut pod = Engine::new(cfg, 42, SimTime::ZERO);
    pod.set_traffic(traffic, SimTime::ZERO);
    let mut stepped = Recorder::default();
    for i in 1..=1200 {
        pod.advance_to(secs(f64::from(i) * 0.1), &mut stepped);
    }
    assert_eq!(once, stepped);
}

#[test]
fn api_requests_join_the_batch_and_report_their_tokens() {
    let mut pod = Engine::new(config("a10g", Quantization::None, 4096), 42, SimTime::ZERO);
    pod.set_traffic(
        Traffic::ClosedLoop {
            concurrency: 8,
            think_time: Duration::ZERO,
        },
        SimTime::ZERO,
    );
    let mut rec = Recorder::default();
    pod.advance_to(secs(10.0), &mut rec);
    let request = |id, max_tokens| ClientRequest {
        id,
        prompt_tokens: 50,
        max_tokens,
        ignore_eos: true,
        seed: 0,
        parent: None,
    };
    pod.submit(request(7, 30), secs(10.0));
    pod.submit(request(8, 500), secs(10.0));
    pod.advance_to(secs(30.0), &mut rec);
    let tokens = |rec: &Recorder, id| rec.client_tokens.iter().filter(|(c, _)| *c == id).count();
    assert_eq!(tokens(&rec, 7), 30);
    let done = rec
        .finished
        .iter()
        .find(|f| f.client == Some(7))
        .expect("request 7 finished");
    assert_eq!(
        (done.generation_tokens, done.reason),
        (30, FinishReason::Length)
    );
    // Tokens arrive over time, one per engine step, under the synthetic load.
    let times: Vec<SimTime> = rec
        .client_tokens
        .iter()
        .filter(|(c, _)| *c == 7)
        .map(|t| t.1)
        .collect();
    assert!(times.windows(2).all(|w| w[0] < w[1]));
    assert!(times[0] > secs(10.0));
    // The client of request 8 goes away: it finishes as an abort.
    let streamed = tokens(&rec, 8);
    assert!(streamed > 0 && streamed < 500);
    pod.abort(8, &mut rec);
    let aborted = rec
        .finished
        .iter()
        .find(|f| f.client == Some(8))
        .expect("request 8 aborted");
    assert_eq!(aborted.reason, FinishReason::Abort);
    assert_eq!(aborted.generation_tokens as usize, streamed);
    pod.advance_to(secs(40.0), &mut rec);
    assert_eq!(
        rec.finished.iter().filter(|f| f.client == Some(8)).count(),
        1
    );
}

#[test]
fn open_loop_overload_is_shed_at_the_waiting_cap() {
    let overload = Traffic::Poisson {
        rate: Traffic::MAX_RATE,
    };
    let seconds = 1.5 * MAX_WAITING as f64 / Traffic::MAX_RATE;
    let (mut pod, mut rec) = run(config("a10g", Quantization::None, 2048), overload, seconds);
    assert_eq!(pod.waiting(), MAX_WAITING);
    // An API request still queues, past the cap.
    let request = ClientRequest {
        id: 7,
        prompt_tokens: 10,
        max_tokens: 5,
        ignore_eos: false,
        seed: 1,
        parent: None,
    };
    pod.submit(request, secs(seconds));
    pod.advance_to(secs(seconds + 0.5), &mut rec);
    pod.abort(7, &mut rec);
    let last = rec.finished.last().unwrap();
    assert_eq!((last.client, last.reason), (Some(7), FinishReason::Abort));
    assert!(pod.waiting() <= MAX_WAITING);
}

#[test]
fn next_event_is_the_next_arrival_or_the_end_of_the_step() {
    let mut pod = Engine::new(config("a10g", Quantization::None, 4096), 1, SimTime::ZERO);
    let mut rec = Recorder::default();
    pod.advance_to(secs(1.0), &mut rec);
    assert_eq!(pod.next_event(), None, "idle, nothing coming");
    let request = ClientRequest {
        id: 1,
        prompt_tokens: 50,
        max_tokens: 4,
        ignore_eos: true,
        seed: 0,
        parent: None,
    };
    pod.submit(request, secs(1.0));
    assert_eq!(pod.next_event(), Some(secs(1.0)), "the request, due now");
    pod.advance_to(secs(1.0), &mut rec);
    let prefill_end = pod.next_event().expect("a prefill in progress");
    assert!(prefill_end > secs(1.0));
    pod.advance_to(prefill_end, &mut rec);
    assert_eq!(
        rec.client_tokens.len(),
        1,
        "the first token, at the step's end"
    );
    assert_eq!(rec.client_tokens[0].1, prefill_end);
    pod.advance_to(secs(2.0), &mut rec);
    assert_eq!(rec.client_tokens.len(), 4);
    assert_eq!(pod.next_event(), None, "done");
}

#[test]
fn a_prefix_cache_serves_the_shared_prefix_and_shortens_prefills() {
    let mut cfg = config("a10g", Quantization::None, 4096);
    cfg.workload.shared_prefix_tokens = 256;
    let traffic = Traffic::Poisson { rate: 3.0 };
    let (_, cold) = run(cfg.clone(), traffic, 120.0);
    cfg.prefix_caching = true;
    let (_, warm) = run(cfg, traffic, 120.0);
    let mean = |r: &Recorder, f: fn(&FinishedRequest) -> f64| {
        r.finished.iter().map(f).sum::<f64>() / r.finished.len() as f64
    };
    // The same requests arrive; with the cache, every one after the first finds the
    // shared prefix, in whole blocks (less of a prompt shorter than the prefix).
    assert!(cold.finished.iter().all(|r| r.cached_prompt_tokens == 0));
    let missed = warm
        .finished
        .iter()
        .filter(|r| {
            let expected = 256.min(r.prompt_tokens - 1) / 16 * 16;
            r.cached_prompt_tokens != expected
        })
        .count();
    assert!(missed <= 1, "{missed} of {}", warm.finished.len());
    assert!(mean(&warm, |r| r.prefill) < mean(&cold, |r| r.prefill) * 0.8);
}

#[test]
fn admission_rejects_beyond_max_num_queued_reqs() {
    let mut cfg = config("a10g", Quantization::None, 4096);
    cfg.max_num_queued_reqs = Some(8);
    // Far more than the pod serves: the queue would grow without bound.
    let (pod, rec) = run(cfg.clone(), Traffic::Poisson { rate: 60.0 }, 60.0);
    assert!(rec.rejected > 1000, "{}", rec.rejected);
    assert!(rec.steps.iter().all(|s| s.running + s.waiting <= 8));
    assert!(pod.running() + pod.waiting() <= 8);
    // The API is refused the same way.
    let mut pod = pod;
    let request = ClientRequest {
        id: 1,
        prompt_tokens: 10,
        max_tokens: 10,
        ignore_eos: false,
        seed: 0,
        parent: None,
    };
    assert!(pod.running() + pod.waiting() < 8 || !pod.submit(request, pod.now()));
    cfg.max_num_queued_reqs = None;
    let (_, unlimited) = run(cfg, Traffic::Poisson { rate: 60.0 }, 60.0);
    assert_eq!(unlimited.rejected, 0);
}
