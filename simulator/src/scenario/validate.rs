//! Rules that relate several values of a scenario, checked after parsing. Every
//! problem is collected, not just the first.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use serde_saphyr::{Location, Spanned};

use super::error::{ScenarioError, ScenarioErrors};
use super::schema::{
    EngineFile, ExpectationFile, GpuFile, LengthFile, PanelFile, PodFile, ProfileName,
    QuantizationName, ScenarioFile, TrafficFile,
};
use super::{LoraSpec, Phase, PodSpec, Scenario};
use crate::engine::{
    EngineConfig, Gpu, LengthDist, MemoryPlan, ModelShape, PerfModel, Quantization, Traffic,
    WorkloadConfig,
};
use crate::rig::{Expectation, PanelRef};

/// Collects located problems.
struct Problems<'a> {
    file: &'a str,
    list: Vec<ScenarioError>,
}

impl Problems<'_> {
    fn add(&mut self, at: &Location, field: impl Into<String>, message: impl Into<String>) {
        let at = (at.line(), at.column());
        self.list
            .push(ScenarioError::new(self.file, at, field, message));
    }
}

/// Whether `name` may name a pod: it becomes a label value, a Prometheus target's
/// label, a log field and a Kubernetes name, so letters, digits, `.`, `_` and `-`,
/// starting with a letter or digit, at most 63 characters.
fn label_safe(name: &str) -> Result<(), String> {
    let ok = name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not a name: use letters, digits, '.', '_' and '-', starting with a letter or digit, at most 63 characters"
        ))
    }
}

/// Turns a parsed file into a [`Scenario`], or every reason it cannot be one.
pub(super) fn validate(raw: ScenarioFile, file: &str) -> Result<Scenario, ScenarioErrors> {
    let mut problems = Problems {
        file,
        list: Vec::new(),
    };
    let top = Location::UNKNOWN;
    if raw.pods.is_empty() {
        problems.add(&top, "pods", "a scenario needs at least one pod");
    }
    if raw.phases.is_empty() {
        problems.add(&top, "phases", "a scenario needs at least one phase");
    }
    let mut names: HashMap<&str, usize> = HashMap::new();
    let mut ports: HashMap<u16, usize> = HashMap::new();
    let mut counts = Vec::with_capacity(raw.pods.len());
    for (i, pod) in raw.pods.iter().enumerate() {
        let name = &pod.value.name;
        if let Err(why) = label_safe(&name.value) {
            problems.add(&name.referenced, format!("pods[{i}].name"), why);
        }
        if names.insert(name.value.as_str(), i).is_some() {
            problems.add(
                &name.referenced,
                format!("pods[{i}].name"),
                format!("pod name `{}` is used twice", name.value),
            );
        }
        let port = &pod.value.port;
        let count = replicas(i, &pod.value, &mut problems);
        counts.push(count);
        for p in u32::from(port.value)..u32::from(port.value) + count {
            let Ok(p) = u16::try_from(p) else {
                problems.add(
                    &port.referenced,
                    format!("pods[{i}].port"),
                    format!(
                        "{count} replicas from port {} run past port 65535",
                        port.value
                    ),
                );
                break;
            };
            if let Some(other) = ports.insert(p, i) {
                problems.add(
                    &port.referenced,
                    format!("pods[{i}].port"),
                    format!("port {p} is already used by pods[{other}]"),
                );
                break;
            }
        }
    }
    let pods: Vec<PodSpec> = raw
        .pods
        .iter()
        .enumerate()
        .filter_map(|(i, p)| pod(i, p, raw.profile, &mut problems))
        .collect();
    let mut teams = HashMap::new();
    for (i, pod) in raw.pods.iter().enumerate() {
        let Some(team) = &pod.value.team else {
            continue;
        };
        if let Some(other) = teams.insert(team.value.as_str(), i) {
            problems.add(
                &team.referenced,
                format!("pods[{i}].team"),
                format!("team `{}` is already routed to pods[{other}]", team.value),
            );
        }
    }
    let phases = phases(&raw, &names, &mut problems);
    let expectations = raw
        .expect
        .iter()
        .enumerate()
        .filter_map(|(i, e)| expectation(i, e, &mut problems))
        .collect();
    if !problems.list.is_empty() {
        return Err(ScenarioErrors(problems.list));
    }
    let (pods, phases) = replicate(pods, phases, &counts);
    Ok(Scenario {
        name: raw.name,
        description: raw.description.trim().to_owned(),
        seed: raw.seed,
        repeat: raw.repeat,
        pods,
        phases,
        expectations,
    })
}

fn expectation(
    i: usize,
    spanned: &Spanned<ExpectationFile>,
    problems: &mut Problems<'_>,
) -> Option<Expectation> {
    let e = &spanned.value;
    let field = format!("expect[{i}]");
    let checks = e.color.is_some() || e.min.is_some() || e.max.is_some() || e.skip.is_some();
    if !checks {
        problems.add(
            &spanned.referenced,
            field,
            "say what to expect: `color`, `min`, `max` or `skip`",
        );
        return None;
    }
    for (name, bound) in [("min", e.min), ("max", e.max)] {
        if bound.is_some_and(|b| !b.is_finite()) {
            problems.add(
                &spanned.referenced,
                format!("{field}.{name}"),
                format!("{name} must be a finite number"),
            );
            return None;
        }
    }
    if e.ratio_to.is_some() && e.min.is_none() && e.max.is_none() {
        problems.add(
            &spanned.referenced,
            format!("{field}.ratio_to"),
            "a ratio needs `min` or `max`",
        );
        return None;
    }
    if let (Some(min), Some(max)) = (e.min, e.max)
        && min > max
    {
        problems.add(
            &spanned.referenced,
            format!("{field}.min"),
            format!("min ({min}) is above max ({max})"),
        );
        return None;
    }
    let panel = match &e.panel {
        PanelFile::Id(id) => PanelRef::Id(*id),
        PanelFile::Title(t) => PanelRef::Title(t.clone()),
    };
    let note = e.note.clone().unwrap_or_else(|| describe(&panel, e));
    Some(Expectation {
        panel,
        series: e.series.clone(),
        reduce: e.reduce.clone(),
        color: e.color.clone(),
        min: e.min,
        max: e.max,
        ratio_to: e.ratio_to.clone(),
        skip: e.skip.clone(),
        note,
    })
}

/// A default note, e.g. `panel 11: AWQ / FP16 at most 0.8`.
fn describe(panel: &PanelRef, e: &ExpectationFile) -> String {
    let mut what = match (&e.series, &e.ratio_to) {
        (Some(s), Some(r)) => format!("{panel}: {s} / {r}"),
        (Some(s), None) => format!("{panel}: {s}"),
        (None, Some(r)) => format!("{panel}: value / {r}"),
        (None, None) => format!("{panel}"),
    };
    if let Some(c) = &e.color {
        what.push_str(&format!(" shows {c}"));
    }
    if let Some(min) = e.min {
        what.push_str(&format!(" at least {min}"));
    }
    if let Some(max) = e.max {
        what.push_str(&format!(" at most {max}"));
    }
    if let Some(skip) = &e.skip {
        what.push_str(&format!(" skipped: {skip}"));
    }
    what
}

fn pod(
    i: usize,
    spanned: &Spanned<PodFile>,
    default_profile: ProfileName,
    problems: &mut Problems<'_>,
) -> Option<PodSpec> {
    let p = &spanned.value;
    let at = &spanned.referenced;
    let gpu = match &p.gpu {
        GpuFile::Builtin(name) => Gpu::builtin(name).or_else(|| {
            let known: Vec<_> = Gpu::builtin_names().collect();
            problems.add(
                at,
                format!("pods[{i}].gpu"),
                format!("unknown GPU `{name}`, expected one of {}", known.join(", ")),
            );
            None
        }),
        GpuFile::Custom(c) => Some(Gpu {
            name: c.name.clone(),
            memory_gib: c.memory_gib.0,
            bandwidth_gb_s: c.bandwidth_gb_s.0,
            fp16_tflops: c.fp16_tflops.0,
        }),
    };
    let quantization = match p.model.quantization {
        QuantizationName::None => Quantization::None,
        QuantizationName::Awq => Quantization::Awq,
    };
    let base = ModelShape::mistral_7b(quantization);
    let model = ModelShape {
        params_b: p.model.params_b.map_or(base.params_b, |v| v.0),
        unquantized_params_b: p
            .model
            .unquantized_params_b
            .map_or(base.unquantized_params_b, |v| v.0),
        layers: p.model.layers.map_or(base.layers, |v| v.get()),
        kv_heads: p.model.kv_heads.map_or(base.kv_heads, |v| v.get()),
        head_dim: p.model.head_dim.map_or(base.head_dim, |v| v.get()),
        quantization,
    };
    let default_engine = EngineFile::default();
    let (engine, engine_at) = match &p.engine {
        Some(e) => (&e.value, &e.referenced),
        None => (&default_engine, at),
    };
    let field = |name: &str| format!("pods[{i}].{name}");
    let max_model_len = engine.max_model_len.get();
    let batched = engine
        .max_num_batched_tokens
        .map_or(max_model_len.max(2048), |v| v.get());
    if batched < max_model_len {
        problems.add(engine_at, field("engine.max_num_batched_tokens"), format!(
            "max_num_batched_tokens ({batched}) is smaller than max_model_len ({max_model_len}), which vLLM rejects without chunked prefill"
        ));
    }
    let workload = &p.workload;
    let prompt = length(
        &workload.prompt_tokens,
        &field("workload.prompt_tokens"),
        problems,
    );
    let output = length(
        &workload.output_tokens,
        &field("workload.output_tokens"),
        problems,
    );
    let gpu = gpu?;
    let block_size = engine.block_size.get();
    let profile = p.profile.unwrap_or(default_profile).0;
    let utilization = engine
        .gpu_memory_utilization
        .map_or(profile.release().defaults.gpu_memory_utilization, |u| u.0);
    let memory = MemoryPlan::new(&gpu, &model, utilization, engine.overhead_gib.0, block_size);
    let kv_tokens = u64::from(memory.num_gpu_blocks) * u64::from(block_size);
    if memory.kv_gib <= 0.0 {
        problems.add(engine_at, field("engine"), format!(
            "the model does not fit on {}: weights {:.2} GiB + overhead {:.2} GiB exceed the budget of {:.2} GiB ({:.2} GiB x gpu_memory_utilization {})",
            gpu.name, memory.weights_gib, memory.overhead_gib, memory.budget_gib, gpu.memory_gib, utilization
        ));
        return None;
    }
    if kv_tokens < u64::from(max_model_len) * 101 / 100 {
        problems.add(engine_at, field("engine.max_model_len"), format!(
            "the model's max seq len ({max_model_len}) is larger than the maximum number of tokens that can be stored in KV cache ({kv_tokens}); lower max_model_len or raise gpu_memory_utilization"
        ));
        return None;
    }
    let lora_overhead = p.lora.as_ref().map_or(0.0, |l| l.step_overhead.0);
    let config = EngineConfig {
        max_model_len,
        max_num_seqs: engine.max_num_seqs.get() as usize,
        max_num_batched_tokens: batched,
        block_size,
        num_gpu_blocks: memory.num_gpu_blocks,
        perf: PerfModel::new(&gpu, &model, lora_overhead),
        workload: WorkloadConfig {
            prompt_tokens: prompt?,
            output_tokens: output?,
            max_tokens: workload.max_tokens.get(),
            shared_prefix_tokens: workload.shared_prefix_tokens.get(),
        },
        lora: p.lora.is_some(),
        prefix_caching: false,
        idle_log_every: None,
        max_num_queued_reqs: engine.max_num_queued_reqs.map(|n| n.get() as usize),
    };
    if config.max_num_queued_reqs.is_some() && !profile.admission_control() {
        problems.add(
            engine_at,
            field("engine.max_num_queued_reqs"),
            format!("{profile} has no --max-num-queued-reqs (vLLM 0.32.0 added it)"),
        );
    }
    let mut spec = PodSpec {
        name: p.name.value.clone(),
        app: p.name.value.clone(),
        port: p.port.value,
        model_name: p
            .served_model_name
            .clone()
            .unwrap_or_else(|| p.name.value.clone()),
        profile: p.profile.unwrap_or(default_profile).0,
        gpu,
        model,
        memory,
        gpu_memory_utilization: utilization,
        gpu_memory_utilization_given: engine.gpu_memory_utilization.is_some(),
        swap_space_gib: engine.swap_space_gib.get(),
        lora: p.lora.as_ref().map(|l| LoraSpec {
            adapter: l.adapter.clone(),
            max_lora: l.max_lora.get(),
        }),
        config,
        team: team(i, p, problems),
        pass_rates: pass_rates(i, p, problems),
    };
    spec.set_profile(profile);
    Some(spec)
}

/// Most replicas of one pod.
const MAX_REPLICAS: u32 = 10_000;

/// How long a phase may last: a whole number of clock ticks at any speed, and a
/// timeline whose sum fits the clock (docs/scenarios.md, "Ranges").
const PHASE_DURATIONS: std::ops::RangeInclusive<Duration> =
    Duration::from_secs(1)..=Duration::from_secs(100 * 31_557_600);

/// How long a closed-loop user may think between requests.
const THINK_TIMES: std::ops::RangeInclusive<Duration> =
    Duration::ZERO..=Duration::from_secs(86_400);

/// How many copies of pod `i` run: `replicas`, 1 when not given.
fn replicas(i: usize, p: &PodFile, problems: &mut Problems<'_>) -> u32 {
    let Some(r) = &p.replicas else { return 1 };
    if !(1..=MAX_REPLICAS).contains(&r.value) {
        problems.add(
            &r.referenced,
            format!("pods[{i}].replicas"),
            format!(
                "replicas must be between 1 and {MAX_REPLICAS}, got {}",
                r.value
            ),
        );
        return 1;
    }
    r.value
}

/// Expands each replicated pod into its replicas (`<name>-<i>` on consecutive ports,
/// each its own seed), and each phase's traffic and outages with them: a phase's traffic is per
/// replica.
fn replicate(pods: Vec<PodSpec>, phases: Vec<Phase>, counts: &[u32]) -> (Vec<PodSpec>, Vec<Phase>) {
    if counts.iter().all(|&c| c == 1) {
        return (pods, phases);
    }
    let copies = |k: usize| 0..counts[k];
    let pods = pods
        .into_iter()
        .enumerate()
        .flat_map(|(k, pod)| {
            let single = counts[k] == 1;
            copies(k).map(move |i| PodSpec {
                name: if single {
                    pod.app.clone()
                } else {
                    format!("{}-{i}", pod.app)
                },
                port: pod.port + i as u16,
                ..pod.clone()
            })
        })
        .collect();
    let phases = phases
        .into_iter()
        .map(|phase| Phase {
            traffic: per_replica(&phase.traffic, counts),
            down: per_replica(&phase.down, counts),
            asleep: per_replica(&phase.asleep, counts),
            ..phase
        })
        .collect();
    (pods, phases)
}

/// Each pod's value repeated for each of its replicas.
fn per_replica<T: Copy>(per_pod: &[T], counts: &[u32]) -> Vec<T> {
    per_pod
        .iter()
        .zip(counts)
        .flat_map(|(&v, &c)| std::iter::repeat_n(v, c as usize))
        .collect()
}

fn team(i: usize, p: &PodFile, problems: &mut Problems<'_>) -> Option<String> {
    let team = p.team.as_ref()?;
    let ok = !team.value.is_empty()
        && team
            .value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if !ok {
        problems.add(
            &team.referenced,
            format!("pods[{i}].team"),
            format!(
                "team `{}` must be lowercase letters, digits, `-` or `_` (it is a URL path segment)",
                team.value
            ),
        );
    }
    Some(team.value.clone())
}

fn pass_rates(i: usize, p: &PodFile, problems: &mut Problems<'_>) -> BTreeMap<String, f64> {
    let Some(rates) = &p.pass_rates else {
        return BTreeMap::new();
    };
    for category in rates.value.keys() {
        if super::suite::default_pass_rate(category).is_none() {
            let known: Vec<_> = super::suite::categories().collect();
            problems.add(
                &rates.referenced,
                format!("pods[{i}].pass_rates.{category}"),
                format!(
                    "unknown benchmark category `{category}` (known: {})",
                    known.join(", ")
                ),
            );
        }
    }
    rates.value.iter().map(|(c, r)| (c.clone(), r.0)).collect()
}

fn length(l: &Spanned<LengthFile>, field: &str, problems: &mut Problems<'_>) -> Option<LengthDist> {
    let median = l.value.median.0;
    let p90 = l.value.p90.map_or(median, |v| v.0);
    if p90 < median {
        problems.add(
            &l.referenced,
            format!("{field}.p90"),
            format!("p90 ({p90}) is below the median ({median})"),
        );
        return None;
    }
    Some(LengthDist { median, p90 })
}

fn phases(
    raw: &ScenarioFile,
    names: &HashMap<&str, usize>,
    problems: &mut Problems<'_>,
) -> Vec<Phase> {
    let last = raw.phases.len().saturating_sub(1);
    let mut out = Vec::new();
    for (i, spanned) in raw.phases.iter().enumerate() {
        let p = &spanned.value;
        let at = &spanned.referenced;
        let duration = p.duration.map(|d| d.0);
        if duration.is_none() && (i != last || raw.repeat) {
            let why = if raw.repeat {
                "a repeating timeline needs every phase's duration"
            } else {
                "only the last phase may run forever"
            };
            problems.add(
                at,
                format!("phases[{i}].duration"),
                format!("missing duration: {why}"),
            );
        }
        if let Some(d) = duration.filter(|d| !PHASE_DURATIONS.contains(d)) {
            problems.add(
                at,
                format!("phases[{i}].duration"),
                format!(
                    "duration must be at least 1s and at most 100years, got {}",
                    humantime::format_duration(d)
                ),
            );
        }
        let mut traffic = vec![Traffic::Idle; raw.pods.len()];
        for (pod, t) in &p.traffic {
            let field = format!("phases[{i}].traffic.{pod}");
            match names.get(pod.as_str()) {
                Some(&k) => {
                    if let Some(tr) = traffic_of(&t.value, &t.referenced, &field, problems) {
                        traffic[k] = tr;
                    }
                }
                None => problems.add(&t.referenced, field, format!("no pod is called `{pod}`")),
            }
        }
        let mut named = |list: &[Spanned<String>], what: &str| {
            let mut marked = vec![false; raw.pods.len()];
            for (j, name) in list.iter().enumerate() {
                match names.get(name.value.as_str()) {
                    Some(&k) => marked[k] = true,
                    None => problems.add(
                        &name.referenced,
                        format!("phases[{i}].{what}[{j}]"),
                        format!("no pod is called `{}`", name.value),
                    ),
                }
            }
            marked
        };
        let down = named(&p.down, "down");
        let asleep = named(&p.sleep, "sleep");
        for (j, name) in p.sleep.iter().enumerate() {
            let Some(&k) = names.get(name.value.as_str()) else {
                continue;
            };
            let profile = raw.pods[k].value.profile.as_ref().unwrap_or(&raw.profile).0;
            let why = if down[k] {
                format!("`{}` is down in this phase: it cannot sleep", name.value)
            } else if !profile.release().sleep_mode {
                format!(
                    "`{}` runs {profile}, whose server has no sleep mode",
                    name.value
                )
            } else {
                continue;
            };
            problems.add(&name.referenced, format!("phases[{i}].sleep[{j}]"), why);
        }
        out.push(Phase {
            name: p.name.clone(),
            duration,
            traffic,
            down,
            asleep,
        });
    }
    out
}

fn traffic_of(
    t: &TrafficFile,
    at: &Location,
    field: &str,
    problems: &mut Problems<'_>,
) -> Option<Traffic> {
    match (t.rate, t.concurrency) {
        (Some(rate), None) => {
            if t.think_time.is_some() {
                problems.add(
                    at,
                    format!("{field}.think_time"),
                    "think_time applies to concurrency, not rate",
                );
            }
            Some(Traffic::Poisson { rate: rate.0 })
        }
        (None, Some(c)) => {
            if c.get() > Traffic::MAX_USERS {
                let max = Traffic::MAX_USERS;
                let message = format!("{c} users are more than a pod takes ({max})");
                problems.add(at, format!("{field}.concurrency"), message);
                return None;
            }
            let think_time = t.think_time.map_or(Duration::ZERO, |d| d.0);
            if !THINK_TIMES.contains(&think_time) {
                let message = format!(
                    "think_time must be at most 1day, got {}",
                    humantime::format_duration(think_time)
                );
                problems.add(at, format!("{field}.think_time"), message);
                return None;
            }
            Some(Traffic::ClosedLoop {
                concurrency: c.get(),
                think_time,
            })
        }
        _ => {
            problems.add(
                at,
                field.to_owned(),
                "give exactly one of `rate` (requests/s) or `concurrency` (users)",
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::catalogue::Profile;
    use crate::engine::Traffic;
    use crate::scenario::load;

    const FLEET: &str = "
name: fleet
pods:
  - name: mistral-7b-fp16
    port: 9001
    replicas: 3
    team: baseline
    gpu: a10g
    workload: {prompt_tokens: {median: 100}, output_tokens: {median: 20}, max_tokens: 64}
  - name: mistral-7b-awq
    port: 9100
    gpu: a10g
    model: {quantization: awq}
    workload: {prompt_tokens: {median: 100}, output_tokens: {median: 20}, max_tokens: 64}
phases:
  - name: busy
    duration: 1m
    traffic:
      mistral-7b-fp16: {rate: 2}
  - name: outage
    traffic:
      mistral-7b-awq: {concurrency: 3}
    down: [mistral-7b-fp16]
";

    #[test]
    fn replicas_are_pods_on_consecutive_ports_sharing_app_and_phases() {
        let s = load(FLEET, "fleet.yaml").unwrap();
        let pods: Vec<_> = s
            .pods
            .iter()
            .map(|p| (p.name.as_str(), p.app.as_str(), p.port, p.team.as_deref()))
            .collect();
        assert_eq!(
            pods,
            [
                (
                    "mistral-7b-fp16-0",
                    "mistral-7b-fp16",
                    9001,
                    Some("baseline")
                ),
                (
                    "mistral-7b-fp16-1",
                    "mistral-7b-fp16",
                    9002,
                    Some("baseline")
                ),
                (
                    "mistral-7b-fp16-2",
                    "mistral-7b-fp16",
                    9003,
                    Some("baseline")
                ),
                ("mistral-7b-awq", "mistral-7b-awq", 9100, None),
            ]
        );
        let rate = Traffic::Poisson { rate: 2.0 };
        assert_eq!(s.phases[0].traffic, [rate, rate, rate, Traffic::Idle]);
        assert_eq!(s.phases[1].down, [true, true, true, false]);
        let config: serde_json::Value =
            serde_saphyr::from_str(&s.scrape_config("sim", 8000, "15s")).unwrap();
        let jobs = &config["scrape_configs"];
        assert_eq!(
            jobs[0]["static_configs"][0],
            serde_json::json!({"targets": ["sim:9001", "sim:9002", "sim:9003"], "labels": {"app": "mistral-7b-fp16"}})
        );
        assert_eq!(jobs[1]["job_name"], "lab-gateway");
        assert_eq!(
            jobs[1]["static_configs"][0]["targets"],
            serde_json::json!(["sim:8000"])
        );
        // Whatever the user types, the configuration stays YAML that says it.
        let odd: serde_json::Value =
            serde_saphyr::from_str(&s.scrape_config("a\"b\n  - evil: 1", 8000, "15s")).unwrap();
        assert_eq!(
            odd["scrape_configs"][1]["static_configs"][0]["targets"][0],
            "a\"b\n  - evil: 1:8000"
        );
    }

    #[test]
    fn only_a_release_with_sleep_mode_sleeps() {
        let napping = FLEET.replace(
            "    down: [mistral-7b-fp16]",
            "    down: [mistral-7b-fp16]\n    sleep: [mistral-7b-awq, mistral-7b-fp16]",
        );
        let errors = load(&napping, "f.yaml").unwrap_err().to_string();
        assert!(
            errors.contains("phases[1].sleep[0]: `mistral-7b-awq` runs vllm-0.6.4, whose server has no sleep mode"),
            "{errors}"
        );
        assert!(
            errors.contains(
                "phases[1].sleep[1]: `mistral-7b-fp16` is down in this phase: it cannot sleep"
            ),
            "{errors}"
        );
        let on_033 = format!(
            "profile: vllm-0.33.0\n{}",
            napping.replace(", mistral-7b-fp16]", "]")
        );
        let s = load(&on_033, "f.yaml").unwrap();
        assert_eq!(s.phases[1].asleep, [false, false, false, true]);
    }

    #[test]
    fn pod_names_are_label_safe() {
        for (from, to, field) in [
            ("name: mistral-7b-awq", "name: \"awq\\\"x\"", "pods[1].name"),
            (
                "name: mistral-7b-awq",
                "name: \"awq\\nup{job=1} 1\"",
                "pods[1].name",
            ),
        ] {
            let text = FLEET.replacen(from, to, 1);
            let errors = load(&text, "f.yaml").unwrap_err().to_string();
            assert!(
                errors.contains(&format!("{field}: "))
                    && errors.contains("is not a name: use letters, digits"),
                "{to}: {errors}"
            );
        }
    }

    #[test]
    fn replica_ports_must_fit_and_not_collide() {
        let overlapping = FLEET.replace("port: 9100", "port: 9003");
        let errors = load(&overlapping, "f.yaml").unwrap_err().to_string();
        assert!(
            errors.contains("pods[1].port: port 9003 is already used by pods[0]"),
            "{errors}"
        );
        let too_many = FLEET.replace("replicas: 3", "replicas: 60000");
        let errors = load(&too_many, "f.yaml").unwrap_err().to_string();
        assert!(
            errors.contains("pods[0].replicas: replicas must be between 1 and 10000"),
            "{errors}"
        );
        let past_the_end = FLEET.replace("port: 9001", "port: 65534");
        let errors = load(&past_the_end, "f.yaml").unwrap_err().to_string();
        assert!(
            errors.contains("3 replicas from port 65534 run past port 65535"),
            "{errors}"
        );
    }

    #[test]
    fn traffic_is_bounded() {
        let flood = FLEET.replace("{rate: 2}", "{rate: 1e9}");
        let errors = load(&flood, "f.yaml").unwrap_err().to_string();
        assert!(
            errors.contains(
                "phases[0].traffic.mistral-7b-fp16.rate: must be at least 0.000001 and at most 10000, got 1000000000.0"
            ),
            "{errors}"
        );
        let crowd = FLEET.replace("{concurrency: 3}", "{concurrency: 4000000000}");
        let errors = load(&crowd, "f.yaml").unwrap_err().to_string();
        assert!(
            errors.contains("4000000000 users are more than a pod takes (100000)"),
            "{errors}"
        );
    }

    #[test]
    fn only_keeps_the_named_pods_with_their_timeline() {
        let s = load(FLEET, "fleet.yaml").unwrap();
        let awq = s.clone().only(&["mistral-7b-awq".to_owned()]).unwrap();
        let names: Vec<_> = awq.pods.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["mistral-7b-awq"]);
        assert_eq!(awq.phases[0].traffic, [Traffic::Idle]);
        let users = Traffic::ClosedLoop {
            concurrency: 3,
            think_time: std::time::Duration::ZERO,
        };
        assert_eq!(awq.phases[1].traffic, [users]);
        assert_eq!(awq.phases[1].down, [false]);
        let fp16 = s.clone().only(&["mistral-7b-fp16".to_owned()]).unwrap();
        assert_eq!(fp16.pods.len(), 3);
        assert_eq!(fp16.phases[1].down, [true, true, true]);
        let one = s.clone().only(&["mistral-7b-fp16-1".to_owned()]).unwrap();
        assert_eq!(one.pods[0].port, 9002);
        let err = s.only(&["nope".to_owned()]).unwrap_err();
        assert_eq!(
            err,
            "scenario fleet has no pod nope (it has mistral-7b-fp16, mistral-7b-awq)"
        );
    }

    #[test]
    fn max_num_queued_reqs_needs_vllm_0_32() {
        let limited = FLEET.replace(
            "  - name: mistral-7b-fp16\n",
            "  - name: mistral-7b-fp16\n    engine: {max_num_queued_reqs: 4}\n",
        );
        let err = load(&limited, "fleet.yaml").unwrap_err().to_string();
        assert!(
            err.contains("pods[0].engine.max_num_queued_reqs: vllm-0.6.4 has no --max-num-queued-reqs (vLLM 0.32.0 added it)"),
            "{err}"
        );
        let on_032 = limited.replace("name: fleet\n", "name: fleet\nprofile: vllm-0.32.0\n");
        let s = load(&on_032, "fleet.yaml").unwrap();
        assert_eq!(s.pods[0].config.max_num_queued_reqs, Some(4));
    }

    #[test]
    fn releases_bring_their_defaults() {
        let on = |release: &str| {
            let s = load(FLEET, "fleet.yaml")
                .unwrap()
                .with_profile(Profile::from_name(release).unwrap());
            let pod = s.pods[0].clone();
            (
                pod.gpu_memory_utilization,
                pod.config.num_gpu_blocks,
                pod.config.prefix_caching,
            )
        };
        let (v0, v1, v20) = (on("vllm-0.6.4"), on("vllm-0.11.0"), on("vllm-0.20.0"));
        assert_eq!((v0.0, v0.2), (0.9, false));
        assert_eq!((v1.0, v1.1, v1.2), (0.9, v0.1, true));
        // vLLM 0.20 raised the default to 0.92: a larger KV cache on the same GPU.
        assert_eq!((v20.0, v20.2), (0.92, true));
        assert!(v20.1 > v1.1, "{v20:?} vs {v1:?}");
        // Given in the scenario, it stays whatever the release.
        let given = FLEET.replace(
            "  - name: mistral-7b-fp16\n",
            "  - name: mistral-7b-fp16\n    engine: {gpu_memory_utilization: 0.85}\n",
        );
        let s = load(&given, "fleet.yaml")
            .unwrap()
            .with_profile(Profile::from_name("vllm-0.20.0").unwrap());
        assert_eq!(s.pods[0].gpu_memory_utilization, 0.85);
    }

    #[test]
    fn profiles_per_scenario_and_per_pod() {
        let s = load(FLEET, "fleet.yaml").unwrap();
        assert!(
            s.pods
                .iter()
                .all(|p| p.profile == Profile::from_name("vllm-0.6").unwrap())
        );
        let mixed = FLEET
            .replace("name: fleet\n", "name: fleet\nprofile: vllm-0.11\n")
            .replace(
                "    port: 9100\n",
                "    port: 9100\n    profile: vllm-0.6\n",
            );
        let s = load(&mixed, "fleet.yaml").unwrap();
        let profiles: Vec<_> = s.pods.iter().map(|p| p.profile).collect();
        assert_eq!(
            profiles,
            [
                Profile::from_name("vllm-0.11").unwrap(),
                Profile::from_name("vllm-0.11").unwrap(),
                Profile::from_name("vllm-0.11").unwrap(),
                Profile::from_name("vllm-0.6").unwrap()
            ],
            "replicas inherit the scenario's, the AWQ pod keeps its own"
        );
        let upgraded = s.with_profile(Profile::from_name("vllm-0.11").unwrap());
        assert!(
            upgraded
                .pods
                .iter()
                .all(|p| p.profile == Profile::from_name("vllm-0.11").unwrap())
        );
        let bad = FLEET.replace(
            "    port: 9100\n",
            "    port: 9100\n    profile: vllm-0.11.9\n",
        );
        let err = load(&bad, "fleet.yaml").unwrap_err().to_string();
        assert!(
            err.starts_with("fleet.yaml:12:14: pods[1].profile: unknown vLLM profile \"vllm-0.11.9\"; the nearest known are vllm-0.11.2 and vllm-0.12.0"),
            "{err}"
        );
    }

    /// Numbers and durations outside their documented ranges, each of which `run`
    /// could not survive, are refused with the file, line, column and field.
    #[test]
    fn numbers_and_durations_outside_their_ranges_are_refused() {
        let cases = [
            (
                "gpu: a10g",
                "gpu: {memory_gib: 24, bandwidth_gb_s: 1e-300, fp16_tflops: 125}",
                "pods[0].gpu.bandwidth_gb_s: must be at least 1 and at most 100000, got 1e-300",
            ),
            (
                "gpu: a10g",
                "gpu: {memory_gib: 24, bandwidth_gb_s: 600, fp16_tflops: 1e-300}",
                "pods[0].gpu.fp16_tflops: must be at least 0.1 and at most 100000, got 1e-300",
            ),
            (
                "    gpu: a10g\n    model",
                "    gpu: a10g\n    lora: {adapter: x, step_overhead: 1e308}\n    model",
                "pods[1].lora.step_overhead: must be at least 0 and at most 10, got 1e308",
            ),
            (
                "median: 100}",
                "median: .nan}",
                "must be greater than 0 and at most 10000000, got NaN",
            ),
            (
                "{rate: 2}",
                "{rate: 1e-300}",
                "phases[0].traffic.mistral-7b-fp16.rate: must be at least 0.000001",
            ),
            (
                "duration: 1m",
                "duration: 584000000000y",
                "phases[0].duration: duration must be at least 1s and at most 100years, got 584000000000years",
            ),
            (
                "duration: 1m",
                "duration: 1ns",
                "phases[0].duration: duration must be at least 1s and at most 100years, got 1ns",
            ),
            (
                "{concurrency: 3}",
                "{concurrency: 3, think_time: 5y}",
                "think_time must be at most 1day, got 5years",
            ),
            (
                "max_tokens: 64",
                "max_tokens: 4294967295",
                "pods[0].workload.max_tokens: must be from 1 to 1048576, got 4294967295",
            ),
        ];
        for (from, to, expected) in cases {
            let text = FLEET.replacen(&from.replace("\\n", "\n"), &to.replace("\\n", "\n"), 1);
            assert_ne!(text, FLEET, "{from}");
            let err = load(&text, "fleet.yaml").unwrap_err().to_string();
            assert!(err.contains(expected), "{to}: {err}");
            assert!(err.starts_with("fleet.yaml:"), "{err}");
        }
        let expect = format!("{FLEET}expect:\n  - {{panel: 5, min: .nan}}\n");
        let err = load(&expect, "fleet.yaml").unwrap_err().to_string();
        assert!(
            err.contains("expect[0].min: min must be a finite number"),
            "{err}"
        );
    }
}
