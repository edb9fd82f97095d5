//! The catalogue as a Markdown table: `docs/metrics.md` and `vllm-sim metrics` print it.

use super::{Buckets, Kind, LabelSet, Profile};

/// One row per metric: name, type, labels, buckets and HELP text.
pub fn markdown(profile: Profile) -> String {
    let mut out =
        String::from("| Metric | Type | Labels | Buckets | HELP |\n|---|---|---|---|---|\n");
    for m in profile.metrics() {
        let kind = match m.kind {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        };
        let engine = if profile.engine_label() {
            "engine, "
        } else {
            ""
        };
        let labels = match m.labels {
            LabelSet::ModelName => format!("{engine}model_name"),
            LabelSet::FinishedReason => format!("{engine}finished_reason, model_name"),
            LabelSet::LoraInfo => {
                "max_lora, running_lora_adapters, waiting_lora_adapters".to_owned()
            }
            LabelSet::CacheConfig if profile.engine_label() => {
                "the CacheConfig fields, engine".to_owned()
            }
            LabelSet::CacheConfig => "the CacheConfig fields".to_owned(),
        };
        let buckets = match m.buckets {
            Buckets::None => String::new(),
            Buckets::Fixed(b) => b.iter().map(f64::to_string).collect::<Vec<_>>().join(", "),
            Buckets::OneTwoFiveToMaxModelLen => {
                "1, 2, 5, 10, 20, 50, … up to max_model_len".to_owned()
            }
            Buckets::CudaGraphCaptureSizes => {
                "1, 2, 4, 8, 16, 24, … 256 (CUDA graph sizes)".to_owned()
            }
        };
        let only = if m.lora_only { " (LoRA pods only)" } else { "" };
        out.push_str(&format!(
            "| `{}`{only} | {kind} | {labels} | {buckets} | `{}` |\n",
            m.name, m.help
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docs_list_the_catalogue() {
        let doc = include_str!("../../../docs/metrics.md");
        for profile in Profile::ALL {
            let table = markdown(profile);
            assert!(
                doc.contains(&table),
                "docs/metrics.md is out of date; regenerate its {} table with `vllm-sim metrics --profile {}`:\n{table}",
                profile.name(),
                profile.name(),
            );
        }
    }
}
