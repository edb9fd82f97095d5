//! Each release's pods against the goldens that release's own code rendered
//! (`data/vllm/golden/`, written by `tools/vllm-metrics`): every family, HELP, TYPE,
//! label names and values, label order, buckets, `le` text, number format and
//! sample order, for a plain pod and a LoRA pod at start-up. Family order aside, and
//! timestamps aside (both sides' are checked to print as prometheus_client prints).

use std::collections::BTreeMap;

use super::*;
use crate::exposition::text::go_float;

/// The pod `tools/vllm-metrics` renders.
fn golden_pod(profile: Profile, lora: bool) -> PodInfo {
    PodInfo {
        profile,
        model_name: if lora {
            "mistral-7b-lora"
        } else {
            "mistral-7b-fp16"
        }
        .to_owned(),
        max_model_len: 4096,
        cache_config: CacheConfigInfo {
            block_size: 16,
            gpu_memory_utilization: 0.9,
            num_gpu_blocks: 2841,
            num_cpu_blocks: 2048,
            swap_space_gib: 4,
            enable_prefix_caching: profile.release().defaults.enable_prefix_caching,
        },
        lora: lora.then(|| LoraInfo {
            adapter: "domain-adapter".to_owned(),
            max_lora: 1,
        }),
        epoch_unix_secs: 1.7e9,
        started_unix_secs: 1.7e9,
    }
}

/// Families by name: their lines, a sample's value replaced by `<time>` when it is a
/// Unix time (after checking that it prints as `floatToGoString` prints it).
fn families(text: &str) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut current = String::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            current = rest.split(' ').next().unwrap_or_default().to_owned();
        }
        let line = match line.rsplit_once(' ') {
            Some((series, value)) if !line.starts_with('#') => {
                let v: f64 = value.parse().unwrap_or_else(|_| panic!("value of {line}"));
                let mut printed = String::new();
                go_float(v, &mut printed);
                assert_eq!(printed, value, "{line} does not print as prometheus_client");
                if v >= 1e9 {
                    format!("{series} <time>")
                } else {
                    line.to_owned()
                }
            }
            _ => line.to_owned(),
        };
        out.entry(current.clone()).or_default().push(line);
    }
    out
}

#[test]
fn every_release_starts_as_its_golden() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/data/vllm/golden");
    for profile in Profile::all() {
        for (lora, kind) in [(false, "plain"), (true, "lora")] {
            let path = format!("{dir}/{}-{kind}.txt", profile.version());
            let golden = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
            let mut ours = String::new();
            PodMetrics::new(golden_pod(profile, lora)).encode(Format::PrometheusText, &mut ours);
            let (golden, ours) = (families(&golden), families(&ours));
            let names = |f: &BTreeMap<String, Vec<String>>| f.keys().cloned().collect::<Vec<_>>();
            assert_eq!(names(&ours), names(&golden), "{profile} {kind}: families");
            for (name, lines) in &golden {
                let theirs = lines.iter().map(Some).chain(std::iter::repeat(None));
                let first_difference = ours[name]
                    .iter()
                    .map(Some)
                    .chain(std::iter::repeat(None))
                    .zip(theirs)
                    .take(lines.len().max(ours[name].len()))
                    .find(|(a, b)| a != b);
                assert_eq!(
                    first_difference, None,
                    "{profile} {kind}: {name}: ours, golden"
                );
            }
        }
    }
}
