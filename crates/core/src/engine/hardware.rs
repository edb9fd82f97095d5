//! GPUs, model shapes and what follows from them: weight size, KV bytes per token
//! and how many KV blocks vLLM would carve out of the memory that is left.

use std::fmt;

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// A GPU as the model sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct Gpu {
    /// A short name, e.g. `a10g`.
    pub name: String,
    /// Memory PyTorch reports as total capacity, in GiB.
    pub memory_gib: f64,
    /// Peak memory bandwidth, GB/s.
    pub bandwidth_gb_s: f64,
    /// Peak dense FP16 tensor throughput, TFLOPS.
    pub fp16_tflops: f64,
}

/// GPUs known by name: (name, memory GiB, bandwidth GB/s, FP16 TFLOPS).
const GPUS: &[(&str, f64, f64, f64)] = &[
    ("t4", 14.58, 320.0, 65.0),
    ("a10g", 22.49, 600.0, 125.0),
    ("l4", 22.49, 300.0, 121.0),
    ("a100-40gb", 39.39, 1555.0, 312.0),
    ("a100-80gb", 79.15, 2039.0, 312.0),
    ("h100", 79.11, 3350.0, 989.0),
];

impl Gpu {
    /// A GPU from the built-in table.
    pub fn builtin(name: &str) -> Option<Gpu> {
        GPUS.iter()
            .find(|g| g.0 == name)
            .map(|&(name, memory_gib, bandwidth_gb_s, fp16_tflops)| Gpu {
                name: name.to_owned(),
                memory_gib,
                bandwidth_gb_s,
                fp16_tflops,
            })
    }

    /// The names of the built-in GPUs.
    pub fn builtin_names() -> impl Iterator<Item = &'static str> {
        GPUS.iter().map(|g| g.0)
    }
}

/// How the weights are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Quantization {
    /// FP16 weights.
    #[default]
    None,
    /// AWQ 4-bit weights (group size 128), dequantized by the GEMM kernels.
    Awq,
}

impl Quantization {
    /// Bytes per quantized weight, group scales and zeros included.
    pub fn bytes_per_weight(self) -> f64 {
        match self {
            Quantization::None => 2.0,
            Quantization::Awq => 0.5 + (2.0 + 0.5) / 128.0,
        }
    }
}

impl fmt::Display for Quantization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Quantization::None => "none",
            Quantization::Awq => "awq",
        })
    }
}

/// The parts of a transformer's shape that decide memory and speed.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelShape {
    /// Parameters, in billions.
    pub params_b: f64,
    /// Parameters that stay FP16 under quantization (embeddings, LM head), in billions.
    pub unquantized_params_b: f64,
    /// Transformer layers.
    pub layers: u32,
    /// Key/value heads (grouped-query attention).
    pub kv_heads: u32,
    /// Dimension of one head.
    pub head_dim: u32,
    /// How the weights are stored.
    pub quantization: Quantization,
}

impl ModelShape {
    /// Mistral-7B: 7.24 B parameters, 32 layers, 8 KV heads of 128.
    pub fn mistral_7b(quantization: Quantization) -> ModelShape {
        ModelShape {
            params_b: 7.24,
            unquantized_params_b: 0.262,
            layers: 32,
            kv_heads: 8,
            head_dim: 128,
            quantization,
        }
    }

    /// Bytes of weights in GPU memory.
    pub fn weight_bytes(&self) -> f64 {
        let unquantized = self.unquantized_params_b.min(self.params_b);
        let quantized = self.params_b - unquantized;
        (quantized * self.quantization.bytes_per_weight() + unquantized * 2.0) * 1e9
    }

    /// Bytes of FP16 KV cache per token: keys and values for every layer.
    pub fn kv_bytes_per_token(&self) -> f64 {
        2.0 * f64::from(self.layers) * f64::from(self.kv_heads) * f64::from(self.head_dim) * 2.0
    }

    /// FLOPs to push one token through the model.
    pub fn flops_per_token(&self) -> f64 {
        2.0 * self.params_b * 1e9
    }
}

/// How vLLM splits GPU memory, as in its profiling run.
#[derive(Clone, Debug, PartialEq)]
pub struct MemoryPlan {
    /// The budget: total memory times `gpu_memory_utilization`, GiB.
    pub budget_gib: f64,
    /// Weights, GiB.
    pub weights_gib: f64,
    /// Activations, CUDA graphs and non-torch memory, GiB.
    pub overhead_gib: f64,
    /// What is left for the KV cache, GiB (may be negative: the model does not fit).
    pub kv_gib: f64,
    /// GPU KV blocks.
    pub num_gpu_blocks: u32,
}

impl MemoryPlan {
    /// Plans memory for `model` on `gpu`.
    pub fn new(
        gpu: &Gpu,
        model: &ModelShape,
        gpu_memory_utilization: f64,
        overhead_gib: f64,
        block_size: u32,
    ) -> MemoryPlan {
        let budget_gib = gpu.memory_gib * gpu_memory_utilization;
        let weights_gib = model.weight_bytes() / GIB;
        let kv_gib = budget_gib - weights_gib - overhead_gib;
        let block_bytes = model.kv_bytes_per_token() * f64::from(block_size);
        let num_gpu_blocks = if kv_gib > 0.0 {
            (kv_gib * GIB / block_bytes).floor() as u32
        } else {
            0
        };
        MemoryPlan {
            budget_gib,
            weights_gib,
            overhead_gib,
            kv_gib,
            num_gpu_blocks,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mistral_fp16_does_not_fit_a_t4() {
        let t4 = Gpu::builtin("t4").unwrap();
        let fp16 = ModelShape::mistral_7b(Quantization::None);
        assert!((fp16.weight_bytes() / GIB - 13.49).abs() < 0.01);
        assert_eq!(fp16.kv_bytes_per_token(), 131072.0);
        let plan = MemoryPlan::new(&t4, &fp16, 0.9, 1.2, 16);
        assert!(plan.kv_gib < 0.0);
        assert_eq!(plan.num_gpu_blocks, 0);
    }

    #[test]
    fn awq_leaves_more_kv_than_fp16() {
        let a10g = Gpu::builtin("a10g").unwrap();
        let fp16 = MemoryPlan::new(
            &a10g,
            &ModelShape::mistral_7b(Quantization::None),
            0.9,
            1.2,
            16,
        );
        let awq = MemoryPlan::new(
            &a10g,
            &ModelShape::mistral_7b(Quantization::Awq),
            0.9,
            1.2,
            16,
        );
        assert!((3.5..4.2).contains(&awq.weights_gib), "{}", awq.weights_gib);
        assert!(awq.num_gpu_blocks > 2 * fp16.num_gpu_blocks);
    }
}
