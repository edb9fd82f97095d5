//! `HarnessResult`, the record of one benchmark prompt as design-11's Operations
//! Console reads it: written one JSON object per line.
//!
//! The `baseline_*` fields are present only when the run compared against the FP16
//! baseline (`--compare-baseline`); otherwise they are left out of the JSON, and read
//! back as `None`. `error` and `baseline_error` are likewise left out when the request
//! succeeded.

use serde::{Deserialize, Serialize};

/// The outcome of one prompt of one suite.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HarnessResult {
    /// The suite's id (`benchmark-quant`...), the `scenario_id` of the harness metrics.
    pub scenario_id: String,
    /// The team whose model answered.
    pub team: String,
    /// The model id the team's endpoint serves.
    pub model: String,
    /// The prompt's index in its suite.
    pub prompt_id: usize,
    /// The prompt's category.
    pub category: String,
    /// The prompt's text.
    pub prompt: String,
    /// The model's text; empty when the request failed.
    pub response: String,
    /// Whether the response passed the suite's rule (see [`super::rules`]).
    pub passed: bool,
    /// Time from sending the request to reading the whole answer, milliseconds.
    pub latency_ms: f64,
    /// Completion tokens per second of `latency_ms`; 0 when the request failed.
    pub tokens_per_second: f64,
    /// `usage.prompt_tokens`; 0 when the request failed.
    pub prompt_tokens: u32,
    /// `usage.completion_tokens`; 0 when the request failed.
    pub completion_tokens: u32,
    /// Why the request failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The baseline model's text for the same prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_response: Option<String>,
    /// The baseline request's latency, milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_latency_ms: Option<f64>,
    /// Whether the baseline's response passed the same rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_passed: Option<bool>,
    /// The baseline's completion tokens per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_tokens_per_second: Option<f64>,
    /// Why the baseline request failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_error: Option<String>,
}

impl HarnessResult {
    /// Whether the team's request got an answer (whatever the verdict).
    pub fn succeeded(&self) -> bool {
        self.error.is_none()
    }

    /// Whether the baseline was asked and answered.
    pub fn baseline_succeeded(&self) -> bool {
        self.baseline_response.is_some() && self.baseline_error.is_none()
    }
}

#[cfg(test)]
pub(super) fn sample(category: &str, passed: bool, latency_ms: f64) -> HarnessResult {
    HarnessResult {
        scenario_id: "benchmark-quant".to_owned(),
        team: "quantization".to_owned(),
        model: "mistral-7b-awq".to_owned(),
        prompt_id: 0,
        category: category.to_owned(),
        prompt: "What is 2 plus 2?".to_owned(),
        response: "4".to_owned(),
        passed,
        latency_ms,
        tokens_per_second: 10_000.0 / latency_ms,
        prompt_tokens: 5,
        completion_tokens: 10,
        error: None,
        baseline_response: None,
        baseline_latency_ms: None,
        baseline_passed: None,
        baseline_tokens_per_second: None,
        baseline_error: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn baseline_fields_are_left_out_unless_compared() {
        let plain = sample("math", true, 100.0);
        let line = serde_json::to_string(&plain).expect("serialize");
        assert!(!line.contains("baseline"), "{line}");
        assert!(!line.contains("error"), "{line}");
        assert!(
            line.contains(r#""scenario_id":"benchmark-quant""#),
            "{line}"
        );
        assert_eq!(
            serde_json::from_str::<HarnessResult>(&line).expect("parse"),
            plain
        );

        let compared = HarnessResult {
            baseline_response: Some("four".to_owned()),
            baseline_latency_ms: Some(160.0),
            baseline_passed: Some(false),
            baseline_tokens_per_second: Some(62.5),
            ..plain
        };
        let line = serde_json::to_string(&compared).expect("serialize");
        assert!(line.contains(r#""baseline_passed":false"#), "{line}");
        assert_eq!(
            serde_json::from_str::<HarnessResult>(&line).expect("parse"),
            compared
        );
    }
}
