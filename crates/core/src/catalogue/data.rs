//! The release data files as the binary holds them, parsed once on first use.
//!
//! Each file is what `tools/vllm-metrics` rendered from one vLLM release's own code;
//! `data/signals.json` maps family names to the engine [`Signal`] that feeds them.
//! Parsing checks the few facts the rest of the crate relies on, so a bad data file
//! fails every test at once with its release named.

use std::collections::{BTreeMap, HashMap};
use std::sync::{LazyLock, OnceLock};

use serde::Deserialize;

use super::{
    Buckets, ChildSignal, Engine, Gate, HttpLabels, Kind, LabelSet, MetricDef, Release, Serving,
    Signal,
};

include!(concat!(env!("OUT_DIR"), "/releases.rs"));

/// `data/signals.json`: family name to the signal that feeds it.
static SIGNALS: &str = include_str!("../../data/signals.json");

/// What `data/signals.json` says of one family.
#[derive(Clone, Deserialize)]
#[serde(untagged)]
pub(super) enum Feeds {
    /// One signal feeds every child.
    Family(Signal),
    /// By one label's value, the signal that feeds that child.
    Children(BTreeMap<String, BTreeMap<String, Signal>>),
}

/// `data/signals.json`, parsed.
pub(super) fn signals() -> HashMap<String, Feeds> {
    serde_json::from_str(SIGNALS).unwrap_or_else(|e| panic!("data/signals.json: {e}"))
}

/// The signals, parsed once.
static SIGNALS_PARSED: LazyLock<HashMap<String, Feeds>> = LazyLock::new(signals);

/// Each release, parsed on first use: a run reads only the releases it serves.
static PARSED: LazyLock<Vec<OnceLock<Release>>> =
    LazyLock::new(|| FILES.iter().map(|_| OnceLock::new()).collect());

/// How many releases the data hold.
pub(super) fn count() -> usize {
    FILES.len()
}

/// The `i`th release, oldest first.
pub(super) fn release(i: usize) -> &'static Release {
    PARSED[i].get_or_init(|| {
        let (name, text) = FILES[i];
        parse(name, text, &SIGNALS_PARSED)
    })
}

/// The index of `version` (`0.11.0`) among the releases.
pub(super) fn index_of(version: &str) -> Option<usize> {
    FILES.iter().position(|(name, _)| *name == version)
}

/// Every release's version, oldest first, without parsing any.
pub(super) fn versions() -> impl Iterator<Item = &'static str> {
    FILES.iter().map(|(name, _)| *name)
}

fn parse(name: &str, text: &str, signals: &HashMap<String, Feeds>) -> Release {
    let file: ReleaseFile =
        serde_json::from_str(text).unwrap_or_else(|e| panic!("data/vllm/{name}.json: {e}"));
    assert_eq!(
        file.release, name,
        "data/vllm/{name}.json names another release"
    );
    let cache_labels: Vec<&str> = file
        .cache_config_info
        .iter()
        .map(|l| l.label.as_str())
        .collect();
    let metric = |f| family(name, f, signals, &cache_labels);
    let metrics = file.families.into_iter().map(metric).collect();
    let server_metrics = file.server_families.into_iter().map(metric).collect();
    let http = file.status_label.map(|statuses| HttpLabels {
        grouped_status: statuses.get("200").is_some_and(|s| s == "2xx"),
        unknown_handler: file
            .handler_label_values
            .and_then(|h| h.get("unknown").cloned().flatten())
            .unwrap_or_else(|| "none".to_owned()),
    });
    Release {
        version: file.release.clone(),
        profile_name: format!("vllm-{}", file.release),
        uploaded: file.uploaded,
        engine: file.engine,
        prometheus_client: file.prometheus_client,
        created_series: file.created_series,
        serving: file.serving,
        finish_reasons: file.finish_reasons,
        error_body: file.error_body,
        sleep_mode: file.sleep_mode,
        defaults: file.defaults,
        cache_config_info: file.cache_config_info,
        prefill_decode_swapped: file.prefill_decode_swapped,
        metrics,
        server_metrics,
        http,
    }
}

/// One family of a data file as the catalogue holds it, fed as `signals` says.
fn family(
    release: &str,
    f: FamilyFile,
    signals: &HashMap<String, Feeds>,
    cache_labels: &[&str],
) -> MetricDef {
    let (signal, children) = match signals.get(&f.name) {
        None => (None, Vec::new()),
        Some(Feeds::Family(signal)) => (Some(*signal), Vec::new()),
        Some(Feeds::Children(by_label)) => (
            None,
            by_label
                .iter()
                .flat_map(|(label, values)| {
                    values.iter().map(|(value, &signal)| ChildSignal {
                        label: label.clone(),
                        value: value.clone(),
                        signal,
                    })
                })
                .collect(),
        ),
    };
    let labels = label_set(&f.labels, signal, cache_labels);
    let buckets = match (f.kind, f.buckets_rule.as_deref(), f.buckets) {
        (Kind::Histogram, Some("1-2-5"), _) => Buckets::OneTwoFiveToMaxModelLen,
        // The CUDA graph capture sizes for vLLM's default `max_num_seqs`, which
        // the simulated pods keep.
        (Kind::Histogram, None | Some("cudagraph"), Some(b)) => Buckets::Fixed(b),
        (Kind::Histogram, rule, _) => {
            panic!("data/vllm/{release}.json: {}: buckets {rule:?}", f.name)
        }
        _ => Buckets::None,
    };
    let gate = match f.gate.as_deref() {
        None => None,
        Some("lora") => Some(Gate::Lora),
        Some(other) => panic!("data/vllm/{release}.json: {}: gate {other:?}", f.name),
    };
    MetricDef {
        name: f.name,
        kind: f.kind,
        help: f.help,
        label_names: f.labels,
        labels,
        buckets,
        signal,
        children,
        gate,
        created: f.created.unwrap_or(true),
        startup: f
            .startup
            .into_iter()
            .map(|child| {
                let mut child: Vec<_> = child.into_iter().collect();
                child.sort();
                child
            })
            .collect(),
    }
}

/// What a family's labels are, from the signal that feeds it and its label names.
fn label_set(labels: &[String], signal: Option<Signal>, cache_labels: &[&str]) -> LabelSet {
    let extra: Vec<&str> = labels
        .iter()
        .map(String::as_str)
        .filter(|l| !matches!(*l, "engine" | "model_name"))
        .collect();
    match signal {
        Some(Signal::CacheConfigInfo) => LabelSet::CacheConfig,
        Some(Signal::LoraRequestsInfo) => LabelSet::LoraInfo,
        _ if extra.is_empty() => LabelSet::ModelName,
        _ if extra == ["finished_reason"] => LabelSet::FinishedReason,
        _ if labels.len() == cache_labels.len()
            && extra.iter().all(|l| cache_labels.contains(l)) =>
        {
            LabelSet::CacheConfig
        }
        _ => LabelSet::Other,
    }
}

/// One data file, as `tools/vllm-metrics` writes it.
#[derive(Deserialize)]
struct ReleaseFile {
    release: String,
    uploaded: String,
    engine: Engine,
    prometheus_client: String,
    created_series: bool,
    serving: Vec<Serving>,
    finish_reasons: Vec<String>,
    error_body: super::ErrorBody,
    #[serde(default)]
    sleep_mode: bool,
    defaults: super::Defaults,
    cache_config_info: Vec<super::CacheLabel>,
    families: Vec<FamilyFile>,
    #[serde(default)]
    prefill_decode_swapped: bool,
    #[serde(default)]
    server_families: Vec<FamilyFile>,
    #[serde(default)]
    handler_label_values: Option<HashMap<String, Option<String>>>,
    #[serde(default)]
    status_label: Option<HashMap<String, String>>,
}

/// One family of a data file.
#[derive(Deserialize)]
struct FamilyFile {
    name: String,
    #[serde(rename = "type")]
    kind: Kind,
    help: String,
    labels: Vec<String>,
    buckets: Option<Vec<f64>>,
    #[serde(default)]
    buckets_rule: Option<String>,
    startup: Vec<HashMap<String, String>>,
    #[serde(default)]
    gate: Option<String>,
    #[serde(default)]
    created: Option<bool>,
}
