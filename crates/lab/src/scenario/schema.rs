//! The scenario file format, as serde reads it.
//!
//! Every struct denies unknown fields. Values that can be wrong on their own (a
//! negative rate, a zero length, a malformed duration) are rejected while parsing, so
//! the error carries the line and column of the offending value. Rules that relate
//! several values live in `validate`.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;
use std::num::NonZeroU32;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_saphyr::Spanned;

/// A scenario file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ScenarioFile {
    pub(super) name: String,
    #[serde(default)]
    pub(super) description: String,
    #[serde(default)]
    pub(super) seed: u64,
    #[serde(default)]
    pub(super) profile: ProfileName,
    #[serde(default)]
    pub(super) repeat: bool,
    pub(super) pods: Vec<Spanned<PodFile>>,
    pub(super) phases: Vec<Spanned<PhaseFile>>,
    #[serde(default)]
    pub(super) expect: Vec<Spanned<ExpectationFile>>,
    /// Which alerts fire, and when; once given, no other may fire.
    pub(super) alerts: Option<Vec<Spanned<AlertFile>>>,
}

/// What an alerting rule does under this scenario (`vllm-sim verify --rules`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AlertFile {
    pub(super) alert: Spanned<String>,
    #[serde(default)]
    pub(super) labels: BTreeMap<String, Spanned<String>>,
    pub(super) firing: Option<Spanned<Firing>>,
    pub(super) firing_from: Option<Spanned<WindowTime>>,
    pub(super) until: Option<Spanned<Until>>,
    pub(super) within: Option<Spanned<WindowTime>>,
    pub(super) note: Option<String>,
}

/// Whether an alert fires: `true`, `false`, or `maybe` (either, by where the
/// evaluations fall).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Firing {
    Yes,
    No,
    Maybe,
}

impl<'de> Deserialize<'de> for Firing {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct FiringVisitor;
        impl Visitor<'_> for FiringVisitor {
            type Value = Firing;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("true, false or maybe")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Firing, E> {
                Ok(if v { Firing::Yes } else { Firing::No })
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Firing, E> {
                match v {
                    "maybe" => Ok(Firing::Maybe),
                    "true" => Ok(Firing::Yes),
                    "false" => Ok(Firing::No),
                    _ => Err(E::custom(format_args!(
                        "must be true, false or maybe, got {v:?}"
                    ))),
                }
            }
        }
        d.deserialize_any(FiringVisitor)
    }
}

/// A time into the verify window: a duration from 0 s to one day.
#[derive(Clone, Copy, Debug)]
pub(super) struct WindowTime(pub(super) Duration);

/// The longest time into a verify window an alert expectation may name.
pub(super) const MAX_WINDOW_TIME: Duration = Duration::from_secs(86_400);

impl<'de> Deserialize<'de> for WindowTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let HumanDuration(t) = HumanDuration::deserialize(d)?;
        if t > MAX_WINDOW_TIME {
            return Err(de::Error::custom(format_args!(
                "must be at most 1 day, got {}",
                humantime::format_duration(t)
            )));
        }
        Ok(WindowTime(t))
    }
}

/// When a firing alert is resolved: a time into the window, or `end` (still firing
/// at the window's end).
#[derive(Clone, Copy, Debug)]
pub(super) enum Until {
    At(Duration),
    End,
}

impl<'de> Deserialize<'de> for Until {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s.trim() == "end" {
            return Ok(Until::End);
        }
        let t = humantime::parse_duration(&s).map_err(|e| {
            de::Error::custom(format_args!(
                "invalid duration {s:?} ({e}); write `end` or e.g. 90s, 5m or 1h 30m"
            ))
        })?;
        if t > MAX_WINDOW_TIME {
            return Err(de::Error::custom(format_args!(
                "must be at most 1 day, got {}",
                humantime::format_duration(t)
            )));
        }
        Ok(Until::At(t))
    }
}

/// What a dashboard panel must show under this scenario (`vllm-sim verify`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ExpectationFile {
    pub(super) panel: PanelFile,
    pub(super) series: Option<String>,
    pub(super) reduce: Option<String>,
    pub(super) color: Option<String>,
    pub(super) min: Option<f64>,
    pub(super) max: Option<f64>,
    pub(super) ratio_to: Option<String>,
    pub(super) skip: Option<String>,
    pub(super) note: Option<String>,
}

/// A panel by id (a number) or title (a string).
#[derive(Debug)]
pub(super) enum PanelFile {
    Id(u64),
    Title(String),
}

impl<'de> Deserialize<'de> for PanelFile {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct PanelVisitor;
        impl Visitor<'_> for PanelVisitor {
            type Value = PanelFile;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a panel id (number) or title (string)")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<PanelFile, E> {
                Ok(PanelFile::Id(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<PanelFile, E> {
                u64::try_from(v)
                    .map(PanelFile::Id)
                    .map_err(|_| E::custom("panel ids are not negative"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<PanelFile, E> {
                Ok(PanelFile::Title(v.to_owned()))
            }
        }
        d.deserialize_any(PanelVisitor)
    }
}

/// The vLLM release whose metrics a pod exposes: `vllm-X.Y.Z`, an alias or `latest`.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct ProfileName(pub(super) vllm_sim_core::catalogue::Profile);

impl<'de> Deserialize<'de> for ProfileName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        vllm_sim_core::catalogue::Profile::from_name(&name)
            .map(ProfileName)
            .map_err(de::Error::custom)
    }
}

/// One pod.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PodFile {
    pub(super) name: Spanned<String>,
    pub(super) port: Spanned<u16>,
    pub(super) served_model_name: Option<String>,
    /// The vLLM version this pod impersonates; the scenario's `profile` when absent.
    pub(super) profile: Option<ProfileName>,
    pub(super) gpu: GpuFile,
    #[serde(default)]
    pub(super) model: ModelFile,
    pub(super) engine: Option<Spanned<EngineFile>>,
    pub(super) lora: Option<LoraFile>,
    pub(super) workload: WorkloadFile,
    /// The team whose requests the gateway routes here.
    pub(super) team: Option<Spanned<String>>,
    /// Identical copies of the pod, on consecutive ports.
    pub(super) replicas: Option<Spanned<u32>>,
    /// Per benchmark category, the share of prompts the model passes.
    pub(super) pass_rates: Option<Spanned<BTreeMap<String, In<Probability>>>>,
}

/// A GPU: a built-in name, or a custom specification.
#[derive(Debug)]
pub(super) enum GpuFile {
    Builtin(String),
    Custom(CustomGpu),
}

/// A GPU the built-in table does not know.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CustomGpu {
    #[serde(default = "custom_name")]
    pub(super) name: String,
    pub(super) memory_gib: In<GpuMemory>,
    pub(super) bandwidth_gb_s: In<Bandwidth>,
    pub(super) fp16_tflops: In<Tflops>,
}

fn custom_name() -> String {
    "custom".to_owned()
}

impl<'de> Deserialize<'de> for GpuFile {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct GpuVisitor;
        impl<'de> Visitor<'de> for GpuVisitor {
            type Value = GpuFile;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a GPU name or a mapping with memory_gib, bandwidth_gb_s, fp16_tflops")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<GpuFile, E> {
                Ok(GpuFile::Builtin(v.to_owned()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<GpuFile, A::Error> {
                CustomGpu::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(GpuFile::Custom)
            }
        }
        d.deserialize_any(GpuVisitor)
    }
}

/// The model's shape; every field defaults to Mistral-7B's.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ModelFile {
    #[serde(default)]
    pub(super) quantization: QuantizationName,
    pub(super) params_b: Option<In<Params>>,
    pub(super) unquantized_params_b: Option<In<SomeParams>>,
    pub(super) layers: Option<Int<1, 1024>>,
    pub(super) kv_heads: Option<Int<1, 1024>>,
    pub(super) head_dim: Option<Int<1, 4096>>,
}

/// How the weights are stored.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum QuantizationName {
    #[default]
    None,
    Awq,
}

/// vLLM engine arguments.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct EngineFile {
    pub(super) max_model_len: Int<16, 1_048_576>,
    pub(super) max_num_seqs: Int<1, 65_536>,
    pub(super) max_num_batched_tokens: Option<Int<1, 4_194_304>>,
    /// The release's default when absent (0.9, or 0.92 from vLLM 0.20).
    pub(super) gpu_memory_utilization: Option<In<Utilization>>,
    pub(super) block_size: Int<1, 256>,
    pub(super) swap_space_gib: Int<0, 1024>,
    /// Activations, CUDA graphs and non-torch memory, which vLLM's profiling run
    /// subtracts before sizing the KV cache.
    pub(super) overhead_gib: In<OverheadGib>,
    /// `--max-num-queued-reqs` (vLLM 0.32 on): unfinished requests beyond it get 503.
    pub(super) max_num_queued_reqs: Option<Int<1, 1_000_000>>,
}

impl Default for EngineFile {
    fn default() -> Self {
        EngineFile {
            max_model_len: Int(4096),
            max_num_seqs: Int(256),
            max_num_batched_tokens: None,
            gpu_memory_utilization: None,
            block_size: Int(16),
            swap_space_gib: Int(4),
            overhead_gib: In::new(1.2),
            max_num_queued_reqs: None,
        }
    }
}

/// A LoRA adapter every request of the pod runs through.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LoraFile {
    pub(super) adapter: String,
    #[serde(default = "one")]
    pub(super) max_lora: Int<1, 256>,
    /// Step-time overhead of the adapter, as a fraction.
    #[serde(default = "default_lora_overhead")]
    pub(super) step_overhead: In<StepOverhead>,
}

fn one() -> Int<1, 256> {
    Int(1)
}

fn default_lora_overhead() -> In<StepOverhead> {
    In::new(0.07)
}

/// The requests a pod receives.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct WorkloadFile {
    pub(super) prompt_tokens: Spanned<LengthFile>,
    pub(super) output_tokens: Spanned<LengthFile>,
    pub(super) max_tokens: Int<1, 1_048_576>,
    /// Tokens at the start of every prompt shared by all requests (a system prompt),
    /// which the prefix cache of releases that have it on serves.
    #[serde(default)]
    pub(super) shared_prefix_tokens: Int<0, 1_048_576>,
}

/// A token-length distribution.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LengthFile {
    pub(super) median: In<Tokens>,
    pub(super) p90: Option<In<Tokens>>,
}

/// A stretch of the timeline.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PhaseFile {
    pub(super) name: String,
    pub(super) duration: Option<HumanDuration>,
    #[serde(default)]
    pub(super) traffic: BTreeMap<String, Spanned<TrafficFile>>,
    #[serde(default)]
    pub(super) down: Vec<Spanned<String>>,
    /// Pods put to sleep (vLLM's sleep mode, level 1) for the phase.
    #[serde(default)]
    pub(super) sleep: Vec<Spanned<String>>,
}

/// One pod's traffic during a phase: `rate` (open loop) or `concurrency` (closed loop).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TrafficFile {
    pub(super) rate: Option<In<Rate>>,
    pub(super) concurrency: Option<NonZeroU32>,
    pub(super) think_time: Option<HumanDuration>,
}

/// The documented range of a number in a scenario file (docs/scenarios.md, "Ranges"):
/// finite, from `MIN` to `MAX`, `MIN` itself excluded where `MIN_EXCLUDED`.
pub(super) trait Range {
    const MIN: f64;
    const MIN_EXCLUDED: bool = false;
    const MAX: f64;
}

/// A number within range `R`.
pub(super) struct In<R>(pub(super) f64, PhantomData<R>);

impl<R> In<R> {
    pub(super) const fn new(v: f64) -> Self {
        In(v, PhantomData)
    }
}

impl<R> Clone for In<R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<R> Copy for In<R> {}

impl<R> std::fmt::Debug for In<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<'de, R: Range> Deserialize<'de> for In<R> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = f64::deserialize(d)?;
        let above_min = if R::MIN_EXCLUDED {
            v > R::MIN
        } else {
            v >= R::MIN
        };
        if v.is_finite() && above_min && v <= R::MAX {
            return Ok(In::new(v));
        }
        let from = if R::MIN_EXCLUDED {
            "greater than"
        } else {
            "at least"
        };
        Err(de::Error::custom(format_args!(
            "must be {from} {} and at most {}, got {v:?}",
            R::MIN,
            R::MAX
        )))
    }
}

macro_rules! ranges {
    ($($(#[$doc:meta])* $name:ident: $min:literal $(($excluded:ident))? ..= $max:literal;)*) => {$(
        $(#[$doc])*
        #[derive(Debug)]
        pub(super) struct $name;
        impl Range for $name {
            const MIN: f64 = $min;
            $(const MIN_EXCLUDED: bool = ranges!(@$excluded);)?
            const MAX: f64 = $max;
        }
    )*};
    (@excluded) => { true };
}

ranges! {
    /// GiB of GPU memory.
    GpuMemory: 0.5 ..= 4096.0;
    /// GB/s of GPU memory bandwidth.
    Bandwidth: 1.0 ..= 100000.0;
    /// FP16 TFLOPS.
    Tflops: 0.1 ..= 100000.0;
    /// Billions of parameters.
    Params: 0.001 ..= 10000.0;
    /// Billions of parameters, or none.
    SomeParams: 0.0 ..= 10000.0;
    /// GiB of memory set aside.
    OverheadGib: 0.0 ..= 4096.0;
    /// A step-time overhead, as a fraction of the step.
    StepOverhead: 0.0 ..= 10.0;
    /// Tokens, as a length distribution's median or p90.
    Tokens: 0.0 (excluded) ..= 10000000.0;
    /// Requests per second (`Traffic::MAX_RATE` at most).
    Rate: 0.000001 ..= 10000.0;
    /// A share of the GPU memory.
    Utilization: 0.0 (excluded) ..= 1.0;
    /// A probability.
    Probability: 0.0 ..= 1.0;
}

/// A whole number from `MIN` to `MAX` (docs/scenarios.md, "Ranges").
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Int<const MIN: u32, const MAX: u32>(pub(super) u32);

impl<const MIN: u32, const MAX: u32> Int<MIN, MAX> {
    pub(super) fn get(self) -> u32 {
        self.0
    }
}

impl<'de, const MIN: u32, const MAX: u32> Deserialize<'de> for Int<MIN, MAX> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = u64::deserialize(d)?;
        match u32::try_from(v) {
            Ok(n) if (MIN..=MAX).contains(&n) => Ok(Int(n)),
            _ => Err(de::Error::custom(format_args!(
                "must be from {MIN} to {MAX}, got {v}"
            ))),
        }
    }
}

/// A duration such as `90s`, `5m` or `1h 30m`.
#[derive(Clone, Copy, Debug)]
pub(super) struct HumanDuration(pub(super) Duration);

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        humantime::parse_duration(&s)
            .map(HumanDuration)
            .map_err(|e| {
                de::Error::custom(format_args!(
                    "invalid duration {s:?} ({e}); write e.g. 90s, 5m or 1h 30m"
                ))
            })
    }
}
