//! The benchmark suites of design-11: which team each one tests, how many prompts it
//! sends and in which categories, and how often a model passes each category by default.

/// One benchmark suite.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Suite {
    /// The suite's id, the `scenario_id` label of the harness metrics.
    pub id: &'static str,
    /// The team whose model it tests, the gateway route `/<team>/v1/...`.
    pub team: &'static str,
    /// Prompts in a full run.
    pub prompts: usize,
    /// Categories, each with its default pass rate; prompts cycle through them.
    pub categories: &'static [(&'static str, f64)],
}

/// The team of the FP16 baseline, which `--compare-baseline` also asks.
pub const BASELINE_TEAM: &str = "baseline";

/// The suites, in the order a full benchmark runs them.
pub const SUITES: &[Suite] = &[
    Suite {
        id: "benchmark-quant",
        team: "quantization",
        prompts: 250,
        categories: &[
            ("math", 0.86),
            ("reasoning", 0.84),
            ("code", 0.82),
            ("factual", 0.92),
            ("long_form", 0.90),
        ],
    },
    Suite {
        id: "benchmark-finetune",
        team: "fine-tuning",
        prompts: 250,
        categories: &[
            ("medical", 0.88),
            ("legal", 0.86),
            ("technical", 0.90),
            ("regression", 0.95),
            ("cross_domain", 0.80),
        ],
    },
    Suite {
        id: "benchmark-eval",
        team: "evaluation",
        prompts: 200,
        categories: &[
            ("coherence", 0.93),
            ("helpfulness", 0.90),
            ("factuality", 0.88),
            ("edge_case", 0.78),
        ],
    },
];

/// The suite of that id.
pub fn suite(id: &str) -> Option<&'static Suite> {
    SUITES.iter().find(|s| s.id == id)
}

/// Every category of every suite, in order, without repeats.
pub fn categories() -> impl Iterator<Item = &'static str> {
    SUITES
        .iter()
        .flat_map(|s| s.categories.iter().map(|(c, _)| *c))
}

/// The default pass rate of `category`, if some suite has it.
pub fn default_pass_rate(category: &str) -> Option<f64> {
    SUITES
        .iter()
        .flat_map(|s| s.categories)
        .find(|(c, _)| *c == category)
        .map(|(_, r)| *r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_suites_are_design_11s() {
        let sizes: Vec<_> = SUITES.iter().map(|s| (s.id, s.team, s.prompts)).collect();
        assert_eq!(
            sizes,
            [
                ("benchmark-quant", "quantization", 250),
                ("benchmark-finetune", "fine-tuning", 250),
                ("benchmark-eval", "evaluation", 200),
            ]
        );
        assert_eq!(categories().count(), 14);
        assert_eq!(default_pass_rate("edge_case"), Some(0.78));
        assert_eq!(default_pass_rate("poetry"), None);
    }
}
