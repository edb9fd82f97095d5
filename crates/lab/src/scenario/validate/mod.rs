//! Rules that relate several values of a scenario, checked after parsing. Every
//! problem is collected, not just the first.
//!
//! By what they lower: [`pod`] (a pod: GPU, model, engine, memory, team, pass rates),
//! [`phases`] (the timeline and its traffic), [`expect`] (what verify expects of
//! panels), [`alerts`] (what it expects of the alerts);
//! here, the whole file and the replication of replicated pods.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use serde_saphyr::{Location, Spanned};

use super::error::{ScenarioError, ScenarioErrors};
use super::schema::{
    AlertFile, EngineFile, ExpectationFile, Firing, GpuFile, LengthFile, PanelFile, PodFile,
    ProfileName, QuantizationName, ScenarioFile, TrafficFile, Until,
};
use super::{LoraSpec, Phase, PodSpec, Scenario};
use vllm_sim_core::engine::{
    EngineConfig, Gpu, LengthDist, MemoryPlan, ModelShape, PerfModel, Quantization, Traffic,
    WorkloadConfig,
};
use vllm_sim_rig::{AlertExpectation, Expectation, FiringSpan, PanelRef};

mod alerts;
mod expect;
mod phases;
mod pod;

use alerts::alert;
use expect::expectation;
use phases::phases;
use pod::pod;

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
    let alerts = raw.alerts.as_ref().map(|list| {
        list.iter()
            .enumerate()
            .filter_map(|(i, a)| alert(i, a, &mut problems))
            .collect()
    });
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
        alerts,
    })
}

/// Most replicas of one pod.
const MAX_REPLICAS: u32 = 10_000;

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

#[cfg(test)]
mod tests;
