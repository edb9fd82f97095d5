//! The catalogue as a Markdown table: `docs/metrics.md` and `vllm-sim metrics` print it.

use super::{Buckets, Gate, Profile};

/// One row per family: name, type, labels, buckets and HELP text.
pub fn markdown(profile: Profile) -> String {
    let mut out =
        String::from("| Metric | Type | Labels | Buckets | HELP |\n|---|---|---|---|---|\n");
    for m in profile.metrics() {
        let buckets = match &m.buckets {
            Buckets::None => String::new(),
            Buckets::Fixed(b) => b.iter().map(f64::to_string).collect::<Vec<_>>().join(", "),
            Buckets::OneTwoFiveToMaxModelLen => {
                "1, 2, 5, 10, 20, 50, … up to max_model_len".to_owned()
            }
        };
        let fed = m.signal.is_some() || !m.children.is_empty();
        let only = match (m.gate, fed, m.startup.is_empty()) {
            (Some(Gate::Lora), _, _) => " (LoRA pods only)",
            (None, false, true) => " (not shown: needs a feature the pods do not simulate)",
            (None, false, false) => " (held at its start-up value)",
            (None, true, _) => "",
        };
        out.push_str(&format!(
            "| `{}`{only} | {} | {} | {buckets} | `{}` |\n",
            m.sample_name(),
            m.kind.as_str(),
            m.label_names.join(", "),
            m.help
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docs_list_the_catalogue() {
        let doc = include_str!("../../../../docs/metrics.md");
        for name in ["vllm-0.6", "vllm-0.11", "latest"] {
            let profile = Profile::from_name(name).unwrap();
            let table = markdown(profile);
            assert!(
                doc.contains(&table),
                "docs/metrics.md is out of date; regenerate its {profile} table with `vllm-sim metrics --profile {profile}`:\n{table}",
            );
        }
    }
}
