//! The scenarios shipped in `scenarios/`, compiled in so `vllm-sim run` needs no files.

use super::{Scenario, load};

/// The shipped scenarios: (name, YAML text). The first is the default.
pub const BUILTIN: &[(&str, &str)] = &[
    (
        "healthy",
        include_str!("../../../../scenarios/healthy.yaml"),
    ),
    (
        "awq-not-quantized",
        include_str!("../../../../scenarios/awq-not-quantized.yaml"),
    ),
    (
        "judge-backlog",
        include_str!("../../../../scenarios/judge-backlog.yaml"),
    ),
    (
        "spot-preemption",
        include_str!("../../../../scenarios/spot-preemption.yaml"),
    ),
    (
        "t4-reality",
        include_str!("../../../../scenarios/t4-reality.yaml"),
    ),
];

/// The built-in scenario called `name`, if there is one.
pub fn builtin(name: &str) -> Option<Scenario> {
    let (_, text) = BUILTIN.iter().find(|(n, _)| *n == name)?;
    // Shipped scenarios are validated by the tests below, so this cannot fail.
    load(text, &format!("scenarios/{name}.yaml")).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_scenario_is_valid() {
        for (name, text) in BUILTIN {
            let s = load(text, name).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(&s.name, name);
            assert_eq!(s.pods.len(), 4);
        }
    }
}
