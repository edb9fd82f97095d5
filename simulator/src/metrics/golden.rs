//! Each release's pods against the goldens that release's own code rendered
//! (`data/vllm/golden/`, written by `tools/vllm-metrics`): every family, HELP, TYPE,
//! label names and values, label order, buckets, `le` text, number format and
//! sample order, for a plain pod and a LoRA pod at start-up. Family order aside, and
//! timestamps aside (both sides' are checked to print as prometheus_client prints).

use std::collections::BTreeMap;

use super::*;
use crate::exposition::text::go_float;

/// The pod `tools/vllm-metrics` renders.
pub(super) fn golden_pod(profile: Profile, lora: bool) -> PodInfo {
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
/// Unix time (after checking that it prints as `profile`'s `floatToGoString` prints it).
fn families(text: &str, profile: Profile) -> BTreeMap<String, Vec<String>> {
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
                go_float(v, profile.exponent(), &mut printed);
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

/// Whether `name` (as a HELP line names it) is one of the API server's own families.
fn is_server_family(profile: Profile, name: &str) -> bool {
    profile
        .release()
        .server_metrics
        .iter()
        .any(|m| name == m.name || name == m.sample_name() || name == format!("{}_created", m.name))
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
            let golden = families(&golden, profile);
            let mut ours = families(&ours, profile);
            // The goldens hold vLLM's families; the API server's have goldens of their own.
            ours.retain(|name, _| !is_server_family(profile, name));
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

/// Under traffic (and idle after it), every family still prints its release's HELP and
/// TYPE lines, every sample carries exactly the family's label names (and `le` on
/// buckets), and every number prints as prometheus_client prints it.
#[test]
fn every_release_serves_traffic_in_its_own_shapes() {
    use crate::clock::SimTime;
    use crate::engine::{Gpu, ModelShape, PerfModel, Pod, Quantization, Traffic};
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/data/vllm/golden");
    let gpu = Gpu::builtin("a10g").unwrap();
    let model = ModelShape::mistral_7b(Quantization::None);
    for profile in Profile::all() {
        let golden =
            std::fs::read_to_string(format!("{dir}/{}-lora.txt", profile.version())).unwrap();
        let golden = families(&golden, profile);
        let mut metrics = PodMetrics::new(golden_pod(profile, true));
        let mut config = super::tests::config();
        config.perf = PerfModel::new(&gpu, &model, 0.07);
        config.workload.shared_prefix_tokens = 64;
        config.lora = true;
        config.prefix_caching = profile.release().defaults.enable_prefix_caching;
        config.idle_log_every = profile.idle_log_every();
        let mut pod = Pod::new(config, 7, SimTime::ZERO);
        pod.set_traffic(Traffic::Poisson { rate: 4.0 }, SimTime::ZERO);
        pod.advance_to(SimTime::from_secs_f64(60.0), &mut metrics);
        pod.set_traffic(Traffic::Idle, SimTime::from_secs_f64(60.0));
        pod.advance_to(SimTime::from_secs_f64(90.0), &mut metrics);
        let mut text = String::new();
        metrics.encode(Format::PrometheusText, &mut text);
        let ours = families(&text, profile);
        for (name, lines) in ours
            .into_iter()
            .filter(|(n, _)| !is_server_family(profile, n))
        {
            let def = profile
                .metrics()
                .iter()
                .find(|d| {
                    name == d.name
                        || name == d.sample_name()
                        || name == format!("{}_created", d.name)
                })
                .unwrap_or_else(|| panic!("{profile}: {name} is no family of the release"));
            if let Some(theirs) = golden.get(&name) {
                assert_eq!(lines[..2], theirs[..2], "{profile}: {name}");
            }
            for line in &lines[2..] {
                let (series, _) = line.rsplit_once(' ').unwrap();
                let mut names: Vec<&str> = series
                    .split_once('{')
                    .map(|(_, l)| l.trim_end_matches('}'))
                    .unwrap_or_default()
                    .split("\",")
                    .filter_map(|pair| pair.split_once('=').map(|(k, _)| k))
                    .collect();
                names.retain(|n| *n != "le" || !series.contains("_bucket{"));
                let expected: Vec<&str> = def.label_names.iter().map(String::as_str).collect();
                assert_eq!(names, expected, "{profile}: {line}");
            }
        }
    }
}
