//! The pass rule: whether one response counts as a pass. A response passes when the
//! request succeeded and a deterministic draw, keyed by the scenario seed, the suite,
//! the prompt and the model, falls under the model's pass rate for the prompt's
//! category. The same inputs always give the same verdict, so reruns are comparable.
//!
//! This module does not send requests or judge text content: the simulated models
//! answer with filler, so quality is the scenario's pass rate, not the words.

use crate::scenario::Scenario;

use super::suite;

/// Whether a completion came back usable: text present and a normal finish.
pub fn completed(text: &str, finish_reason: Option<&str>) -> bool {
    !text.is_empty() && matches!(finish_reason, Some("stop" | "length"))
}

/// A number in [0, 1) drawn from the inputs: FNV-1a 64 over them, then the top 53
/// bits as a fraction.
pub fn unit_hash(seed: u64, suite_id: &str, prompt: usize, model: &str) -> f64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let prompt = u64::try_from(prompt).unwrap_or(u64::MAX);
    // A zero byte after each string keeps ("ab", "c") and ("a", "bc") apart.
    for b in seed
        .to_le_bytes()
        .iter()
        .chain(suite_id.as_bytes())
        .chain(&[0])
        .chain(&prompt.to_le_bytes())
        .chain(model.as_bytes())
        .chain(&[0])
    {
        h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
    }
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// The share of `category`'s prompts the model of `team` passes under `scenario`: the
/// rate of the pod routed to that team, or the category's default when no pod is.
pub fn pass_rate(scenario: &Scenario, team: &str, category: &str) -> f64 {
    scenario
        .pods
        .iter()
        .find(|p| p.team.as_deref() == Some(team))
        .map(|p| p.pass_rate(category))
        .or_else(|| suite::default_pass_rate(category))
        .unwrap_or(1.0)
}

/// The verdict on one response: `completed` (see [`completed`]) and the draw for
/// (`seed`, `suite_id`, `prompt`, `model`) under `rate`.
pub fn passes(
    completed: bool,
    rate: f64,
    seed: u64,
    suite_id: &str,
    prompt: usize,
    model: &str,
) -> bool {
    completed && unit_hash(seed, suite_id, prompt, model) < rate
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pass_share_tracks_the_rate() {
        for rate in [0.0, 0.25, 0.78, 0.95, 1.0] {
            let n = 4000;
            let passed = (0..n)
                .filter(|&i| passes(true, rate, 42, "benchmark-quant", i, "mistral-7b-awq"))
                .count();
            let share = passed as f64 / n as f64;
            assert!((share - rate).abs() < 0.03, "rate {rate}: share {share}");
        }
    }

    #[test]
    fn the_same_inputs_give_the_same_verdict() {
        let a = unit_hash(7, "benchmark-eval", 12, "mistral-7b-judge");
        assert_eq!(a, unit_hash(7, "benchmark-eval", 12, "mistral-7b-judge"));
        assert!((0.0..1.0).contains(&a));
        assert_ne!(a, unit_hash(8, "benchmark-eval", 12, "mistral-7b-judge"));
        assert_ne!(a, unit_hash(7, "benchmark-eval", 13, "mistral-7b-judge"));
        assert_ne!(a, unit_hash(7, "benchmark-eval", 12, "mistral-7b-fp16"));
    }

    #[test]
    fn a_failed_or_empty_response_never_passes() {
        assert!(!passes(false, 1.0, 1, "s", 0, "m"));
        assert!(completed("4", Some("stop")));
        assert!(completed("long", Some("length")));
        assert!(!completed("", Some("stop")));
        assert!(!completed("x", Some("abort")));
        assert!(!completed("x", None));
    }

    #[test]
    fn the_rate_comes_from_the_teams_pod() {
        let mut scenario = crate::scenario::builtin("healthy").expect("healthy");
        let awq = scenario
            .pods
            .iter_mut()
            .find(|p| p.team.as_deref() == Some("quantization"))
            .expect("a quantization pod");
        awq.pass_rates.insert("math".to_owned(), 0.5);
        // healthy.yaml gives AWQ code 0.78; factual keeps the suite default.
        assert_eq!(pass_rate(&scenario, "quantization", "math"), 0.5);
        assert_eq!(pass_rate(&scenario, "quantization", "code"), 0.78);
        assert_eq!(pass_rate(&scenario, "quantization", "factual"), 0.92);
        assert_eq!(pass_rate(&scenario, "nobody", "edge_case"), 0.78);
        assert_eq!(pass_rate(&scenario, "nobody", "poetry"), 1.0);
    }
}
