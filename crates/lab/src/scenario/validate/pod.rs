//! One pod, lowered: its GPU, model, engine arguments and memory plan, team and
//! pass rates.

use super::*;

pub(super) fn pod(
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
    if let Some(served) = &p.served_model_name
        && (served.is_empty() || served.len() > 256 || served.chars().any(char::is_control))
    {
        problems.add(
            &spanned.referenced,
            field("served_model_name"),
            format!("{served:?} is not a model name: 1 to 256 characters, none of them control characters"),
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
        if crate::scenario::suite::default_pass_rate(category).is_none() {
            let known: Vec<_> = crate::scenario::suite::categories().collect();
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
