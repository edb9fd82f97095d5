//! How long one engine step takes.
//!
//! A step reads every weight once (memory-bound), reads the KV cache of the batch, and
//! computes its tokens (compute-bound). AWQ kernels also pay to dequantize weights on
//! every step and run their GEMMs less efficiently at decode, which is why AWQ wins at
//! small batches and loses its edge as the batch grows. LoRA adds a fixed fraction.

use super::hardware::{Gpu, ModelShape, Quantization};

/// Fixed cost of a step: scheduling, sampling, Python overhead (seconds).
const STEP_OVERHEAD_S: f64 = 0.003;
/// Fraction of peak bandwidth that weight and KV reads reach.
const MEMORY_EFFICIENCY: f64 = 0.9;
/// Fraction of peak FLOPS that prefill GEMMs reach.
const PREFILL_COMPUTE_EFFICIENCY: f64 = 0.6;
/// Fraction of peak FLOPS that small-batch decode GEMMs reach.
const DECODE_COMPUTE_EFFICIENCY: f64 = 0.35;
/// FLOPs per weight that AWQ spends dequantizing on every step.
const AWQ_DEQUANT_FLOPS_PER_WEIGHT: f64 = 24.0;
/// Slow-down of AWQ GEMMs against FP16 ones at decode.
const AWQ_DECODE_GEMM_FACTOR: f64 = 1.25;

/// Per-step costs of one pod, precomputed from its GPU and model.
#[derive(Clone, Debug, PartialEq)]
pub struct PerfModel {
    /// Cost every step pays: overhead, weight reads, dequantization (seconds).
    fixed_s: f64,
    /// Prefill compute per token (seconds).
    prefill_s_per_token: f64,
    /// Decode compute per sequence in the batch (seconds).
    decode_s_per_seq: f64,
    /// KV read per token of context in the batch (seconds).
    kv_s_per_token: f64,
    /// Fractional slow-down while LoRA requests run.
    lora_overhead: f64,
}

impl PerfModel {
    /// The costs of `model` on `gpu`; `lora_overhead` is 0 for a pod without adapters.
    pub fn new(gpu: &Gpu, model: &ModelShape, lora_overhead: f64) -> PerfModel {
        let bandwidth = gpu.bandwidth_gb_s * 1e9 * MEMORY_EFFICIENCY;
        let flops = gpu.fp16_tflops * 1e12;
        let (dequant_s, decode_factor) = match model.quantization {
            Quantization::None => (0.0, 1.0),
            Quantization::Awq => (
                model.params_b * 1e9 * AWQ_DEQUANT_FLOPS_PER_WEIGHT
                    / (flops * DECODE_COMPUTE_EFFICIENCY),
                AWQ_DECODE_GEMM_FACTOR,
            ),
        };
        PerfModel {
            fixed_s: STEP_OVERHEAD_S + model.weight_bytes() / bandwidth + dequant_s,
            prefill_s_per_token: model.flops_per_token() / (flops * PREFILL_COMPUTE_EFFICIENCY),
            decode_s_per_seq: model.flops_per_token() * decode_factor
                / (flops * DECODE_COMPUTE_EFFICIENCY),
            kv_s_per_token: model.kv_bytes_per_token() / bandwidth,
            lora_overhead,
        }
    }

    /// A prefill step over `tokens` prompt tokens.
    pub fn prefill(&self, tokens: u64, lora: bool) -> f64 {
        self.with_lora(
            self.fixed_s + tokens as f64 * self.prefill_s_per_token,
            lora,
        )
    }

    /// A decode step of `batch` sequences attending to `context_tokens` tokens in all.
    pub fn decode(&self, batch: usize, context_tokens: u64, lora: bool) -> f64 {
        let t = self.fixed_s
            + batch as f64 * self.decode_s_per_seq
            + context_tokens as f64 * self.kv_s_per_token;
        self.with_lora(t, lora)
    }

    fn with_lora(&self, t: f64, lora: bool) -> f64 {
        if lora {
            t * (1.0 + self.lora_overhead)
        } else {
            t
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn perf(gpu: &str, q: Quantization) -> PerfModel {
        PerfModel::new(&Gpu::builtin(gpu).unwrap(), &ModelShape::mistral_7b(q), 0.0)
    }

    #[test]
    fn awq_on_a_t4_decodes_at_about_30ms_per_token() {
        let t = perf("t4", Quantization::Awq).decode(1, 512, false);
        assert!((0.025..0.040).contains(&t), "{t}");
    }

    #[test]
    fn awq_beats_fp16_at_moderate_batch_on_a10g() {
        let fp16 = perf("a10g", Quantization::None).decode(10, 4000, false);
        let awq = perf("a10g", Quantization::Awq).decode(10, 4000, false);
        let ratio = awq / fp16;
        assert!((0.55..0.8).contains(&ratio), "{ratio}");
    }

    #[test]
    fn decode_slows_with_batch_and_lora_costs_extra() {
        let p = PerfModel::new(
            &Gpu::builtin("a10g").unwrap(),
            &ModelShape::mistral_7b(Quantization::None),
            0.07,
        );
        assert!(p.decode(32, 16000, false) > p.decode(1, 500, false));
        assert!((p.decode(8, 2000, true) / p.decode(8, 2000, false) - 1.07).abs() < 1e-9);
    }
}
