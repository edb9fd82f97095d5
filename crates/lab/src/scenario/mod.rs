//! Scenario files: what each pod is and what happens to it over time.
//!
//! A scenario names each pod (GPU, model, engine arguments, workload) and a timeline
//! of phases, each saying how much traffic every pod gets and which pods are down.
//! [`load`] turns YAML text into a validated [`Scenario`], reporting every problem
//! with its file, line, column and field; [`builtin`] holds the shipped scenarios;
//! [`suite`] the benchmark battery's suites, whose categories `pass_rates` name.
//! This module owns no clocks, tasks, sockets or metric names.

mod builtin;
mod error;
mod load;
mod schema;
pub mod scrape;
pub mod suite;
mod validate;

pub use builtin::{BUILTIN, builtin};
pub use error::{ScenarioError, ScenarioErrors};
pub use load::{load, load_file};

use std::collections::BTreeMap;
use std::time::Duration;

use vllm_sim_core::catalogue::Profile;
use vllm_sim_core::clock::SimTime;
use vllm_sim_core::engine::{EngineConfig, Gpu, MemoryPlan, ModelShape, Traffic};
use vllm_sim_rig::{AlertExpectation, Expectation};

/// The `job` label of the gateway's series, as the shipped scrape configs name it.
pub const GATEWAY_JOB: &str = "lab-gateway";

/// The `job` of every pod's scrapes.
pub const POD_JOB: &str = "vllm";

/// A validated scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    /// A short name.
    pub name: String,
    /// What the scenario shows.
    pub description: String,
    /// Seeds every pod's random stream.
    pub seed: u64,
    /// Whether the timeline starts over after its last phase.
    pub repeat: bool,
    /// The pods.
    pub pods: Vec<PodSpec>,
    /// The timeline, in order.
    pub phases: Vec<Phase>,
    /// What the dashboard must show under this scenario.
    pub expectations: Vec<Expectation>,
    /// Which alerts fire under it and when (`alerts:`); `None` when the file does
    /// not say, `Some` (even empty) when no other alert may fire.
    pub alerts: Option<Vec<AlertExpectation>>,
}

/// One pod of a scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct PodSpec {
    /// The pod's name: as the scenario names it, or `<name>-<i>` for replica `i` of a
    /// replicated pod.
    pub name: String,
    /// The `app` label scrape configs give it: the name in the scenario, shared by
    /// every replica.
    pub app: String,
    /// The port it listens on.
    pub port: u16,
    /// `--served-model-name`.
    pub model_name: String,
    /// The vLLM version whose metrics it exposes.
    pub profile: Profile,
    /// The GPU it runs on.
    pub gpu: Gpu,
    /// The model it serves.
    pub model: ModelShape,
    /// How GPU memory is split.
    pub memory: MemoryPlan,
    /// `--gpu-memory-utilization`.
    pub gpu_memory_utilization: f64,
    /// Whether the scenario gave it, or the release's default stands.
    pub gpu_memory_utilization_given: bool,
    /// `--swap-space`, GiB.
    pub swap_space_gib: u32,
    /// The LoRA adapter its requests use.
    pub lora: Option<LoraSpec>,
    /// The engine model's configuration.
    pub config: EngineConfig,
    /// The team the gateway routes here (`/<team>/v1/...`), if any.
    pub team: Option<String>,
    /// The share of benchmark prompts the model passes, per category; categories not
    /// named pass at their suite's default rate.
    pub pass_rates: BTreeMap<String, f64>,
}

impl PodSpec {
    /// Puts the pod on `profile`, with what that release's engine does by default:
    /// its prefix cache on or off, and whether it logs stats while idle.
    pub fn set_profile(&mut self, profile: Profile) {
        self.profile = profile;
        let defaults = &profile.release().defaults;
        self.config.prefix_caching = defaults.enable_prefix_caching;
        self.config.idle_log_every = profile.idle_log_every();
        if !self.gpu_memory_utilization_given
            && self.gpu_memory_utilization != defaults.gpu_memory_utilization
        {
            // The KV cache vLLM would size with this release's default budget.
            self.gpu_memory_utilization = defaults.gpu_memory_utilization;
            self.memory = MemoryPlan::new(
                &self.gpu,
                &self.model,
                self.gpu_memory_utilization,
                self.memory.overhead_gib,
                self.config.block_size,
            );
            self.config.num_gpu_blocks = self.memory.num_gpu_blocks.max(1);
        }
    }

    /// The share of `category`'s prompts this model passes.
    pub fn pass_rate(&self, category: &str) -> f64 {
        self.pass_rates
            .get(category)
            .copied()
            .or_else(|| suite::default_pass_rate(category))
            .unwrap_or(1.0)
    }
}

/// A LoRA adapter.
#[derive(Clone, Debug, PartialEq)]
pub struct LoraSpec {
    /// The adapter's name.
    pub adapter: String,
    /// `--max-loras`.
    pub max_lora: u32,
}

/// A stretch of the timeline.
#[derive(Clone, Debug, PartialEq)]
pub struct Phase {
    /// A short name, for logs.
    pub name: String,
    /// How long it lasts; `None` for a last phase that never ends.
    pub duration: Option<Duration>,
    /// Each pod's traffic, by pod index.
    pub traffic: Vec<Traffic>,
    /// Whether each pod is down, by pod index.
    pub down: Vec<bool>,
    /// Whether each pod is asleep (vLLM's sleep mode, level 1), by pod index.
    pub asleep: Vec<bool>,
}

impl Scenario {
    /// A Prometheus configuration scraping every pod (job `vllm`, each with its `app`
    /// label) and the gateway (job `lab-gateway`) on `host`, every `interval`.
    pub fn scrape_config(&self, host: &str, gateway_port: u16, interval: &str) -> String {
        let pods: Vec<(&str, String)> = (self.pods.iter())
            .map(|p| (p.app.as_str(), format!("{host}:{}", p.port)))
            .collect();
        let config = scrape::config(&pods, &format!("{host}:{gateway_port}"), interval);
        // The name is the user's: `{:?}` keeps a newline in it from ending the comment.
        format!(
            "# Scrapes the pods and the gateway of vllm-sim scenario {:?}.\n{config}",
            self.name
        )
    }

    /// The scenario cut down to the pods whose `app` (every replica) or name is in
    /// `keep`, as one Kubernetes Deployment serves one model. Each pod keeps its own
    /// random stream, so it behaves as it does in the whole scenario; the gateway routes
    /// only the teams that remain.
    pub fn only(mut self, keep: &[String]) -> Result<Scenario, String> {
        if let Some(unknown) = keep
            .iter()
            .find(|k| !self.pods.iter().any(|p| &&p.app == k || &&p.name == k))
        {
            let mut apps: Vec<&str> = self.pods.iter().map(|p| p.app.as_str()).collect();
            apps.dedup();
            return Err(format!(
                "scenario {} has no pod {unknown} (it has {})",
                self.name,
                apps.join(", ")
            ));
        }
        let kept: Vec<bool> = (self.pods.iter())
            .map(|p| keep.iter().any(|k| *k == p.app || *k == p.name))
            .collect();
        retain_kept(&mut self.pods, &kept);
        for phase in &mut self.phases {
            retain_kept(&mut phase.traffic, &kept);
            retain_kept(&mut phase.down, &kept);
            retain_kept(&mut phase.asleep, &kept);
        }
        Ok(self)
    }

    /// This scenario with every pod impersonating `profile`: the same lab after an
    /// upgrade (or a downgrade) of vLLM.
    pub fn with_profile(mut self, profile: Profile) -> Scenario {
        for pod in &mut self.pods {
            pod.set_profile(profile);
        }
        self
    }

    /// The index of the pod called `name`.
    pub fn pod_index(&self, name: &str) -> Option<usize> {
        self.pods.iter().position(|p| p.name == name)
    }

    /// The phase in force at `t` and when it ends (`SimTime::MAX` if never).
    pub fn phase_at(&self, t: SimTime) -> (&Phase, SimTime) {
        let cycle: Option<Duration> = self.phases.iter().map(|p| p.duration).sum();
        let (offset, base) = match cycle {
            Some(c) if self.repeat && !c.is_zero() => {
                let c = c.as_nanos();
                let into = Duration::from_nanos((((t - SimTime::ZERO).as_nanos()) % c) as u64);
                (into, SimTime::from_duration((t - SimTime::ZERO) - into))
            }
            _ => (t - SimTime::ZERO, SimTime::ZERO),
        };
        let mut start = Duration::ZERO;
        for phase in &self.phases {
            match phase.duration {
                Some(d) if offset >= start + d => start += d,
                Some(d) => return (phase, base + (start + d)),
                None => return (phase, SimTime::MAX),
            }
        }
        // A non-repeating timeline whose phases all ended: the last one holds.
        (
            self.phases
                .last()
                .expect("validated scenarios have a phase"),
            SimTime::MAX,
        )
    }
}

/// Keeps the items of a by-pod-index list whose flag in `kept` is set.
fn retain_kept<T>(items: &mut Vec<T>, kept: &[bool]) {
    let mut flags = kept.iter();
    items.retain(|_| flags.next().copied().unwrap_or(false));
}
