//! The harness's HTTP client of the lab gateway: `GET /<team>/v1/models` to learn a
//! team's model, and non-streaming `POST /<team>/v1/completions`, timed on the wall
//! clock (this is a real client of a real server). Blocking, one call per thread.
//!
//! It neither judges answers nor records them; a failed completion is an answer with
//! an `error`, never a panic or an abort.

use std::fmt;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::prompts::Prompt;

/// A blocking client of the gateway at one base URL.
#[derive(Clone, Debug)]
pub(super) struct Client {
    agent: ureq::Agent,
    /// The gateway's base URL, without a trailing `/`.
    base: String,
}

/// The answer to one completion request.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct Completion {
    /// `choices[0].text`.
    pub(super) text: String,
    /// `choices[0].finish_reason`.
    pub(super) finish_reason: Option<String>,
    /// `usage.prompt_tokens`.
    pub(super) prompt_tokens: u32,
    /// `usage.completion_tokens`.
    pub(super) completion_tokens: u32,
    /// From sending the request to reading the whole body.
    pub(super) latency_ms: f64,
    /// Why the request failed, when it did.
    pub(super) error: Option<String>,
}

impl Completion {
    /// Completion tokens per second of latency; 0 for a failed or instant request.
    pub(super) fn tokens_per_second(&self) -> f64 {
        if self.error.is_some() || self.latency_ms <= 0.0 {
            return 0.0;
        }
        f64::from(self.completion_tokens) / (self.latency_ms / 1000.0)
    }
}

impl Client {
    /// A client of the gateway at `base`, each request bounded by `timeout`, keeping up
    /// to `connections` idle connections for reuse.
    pub(super) fn new(base: &str, timeout: Duration, connections: usize) -> Client {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .max_idle_connections(connections.max(1))
            .max_idle_connections_per_host(connections.max(1))
            .build()
            .into();
        Client {
            agent,
            base: base.trim_end_matches('/').to_owned(),
        }
    }

    /// The URL of `path` (after `/v1/`) on `team`'s route.
    pub(super) fn url(&self, team: &str, path: &str) -> String {
        format!("{}/{team}/v1/{path}", self.base)
    }

    /// The id of the first model `team`'s endpoint lists.
    pub(super) fn model(&self, team: &str) -> Result<String, BenchError> {
        let url = self.url(team, "models");
        let mut response = self
            .agent
            .get(&url)
            .call()
            .map_err(|e| BenchError::Unreachable {
                url: url.clone(),
                message: e.to_string(),
            })?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .read_to_string()
            .map_err(|e| BenchError::Unreachable {
                url: url.clone(),
                message: e.to_string(),
            })?;
        if status != 200 {
            return Err(BenchError::Team {
                team: team.to_owned(),
                url,
                status,
                message: error_message(&body),
            });
        }
        serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|v| Some(v.get("data")?.get(0)?.get("id")?.as_str()?.to_owned()))
            .ok_or(BenchError::NoModel { url })
    }

    /// Sends `prompt` to `team`'s `model` and waits for the whole answer.
    pub(super) fn complete(&self, team: &str, model: &str, prompt: &Prompt) -> Completion {
        let url = self.url(team, "completions");
        let body = json!({"model": model, "prompt": prompt.text, "max_tokens": prompt.max_tokens});
        let started = Instant::now();
        let answer = self
            .agent
            .post(&url)
            .send_json(&body)
            .and_then(|mut r| Ok((r.status().as_u16(), r.body_mut().read_to_string()?)));
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        let mut completion = match answer {
            Ok((200, body)) => parse_completion(&body),
            Ok((status, body)) => failed(format!("HTTP {status}: {}", error_message(&body))),
            Err(e) => failed(format!("{url}: {e}")),
        };
        completion.latency_ms = latency_ms;
        completion
    }
}

fn failed(error: String) -> Completion {
    Completion {
        error: Some(error),
        ..Completion::default()
    }
}

/// Reads an OpenAI completion body.
fn parse_completion(body: &str) -> Completion {
    let Ok(v) = serde_json::from_str::<Value>(body) else {
        return failed(format!("the answer is not JSON: {}", excerpt(body)));
    };
    let Some(choice) = v.get("choices").and_then(|c| c.get(0)) else {
        return failed("the answer has no choices".to_owned());
    };
    let count = |k: &str| {
        v.get("usage")
            .and_then(|u| u.get(k))
            .and_then(Value::as_u64)
            .map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX))
    };
    Completion {
        text: choice
            .get("text")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        finish_reason: choice
            .get("finish_reason")
            .and_then(Value::as_str)
            .map(str::to_owned),
        prompt_tokens: count("prompt_tokens"),
        completion_tokens: count("completion_tokens"),
        latency_ms: 0.0,
        error: None,
    }
}

/// The `message` of an OpenAI error body (or vLLM's `detail`), else the body's start.
fn error_message(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| {
            let m = v
                .get("message")
                .or_else(|| v.get("error")?.get("message"))
                .or_else(|| v.get("detail"))?;
            Some(m.as_str().map_or_else(|| m.to_string(), str::to_owned))
        })
        .unwrap_or_else(|| excerpt(body))
}

fn excerpt(body: &str) -> String {
    body.chars().take(200).collect::<String>().trim().to_owned()
}

/// What prevents a run from starting.
#[derive(Debug, Clone, PartialEq)]
pub enum BenchError {
    /// The gateway did not answer at all.
    Unreachable {
        /// The URL asked.
        url: String,
        /// The client's error.
        message: String,
    },
    /// The gateway refused to list a team's model (unknown team, say).
    Team {
        /// The team.
        team: String,
        /// The URL asked.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The error body's message.
        message: String,
    },
    /// The model list had no model id.
    NoModel {
        /// The URL asked.
        url: String,
    },
}

impl fmt::Display for BenchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BenchError::Unreachable { url, message } => {
                write!(f, "the gateway is unreachable at {url}: {message}")
            }
            BenchError::Team {
                team,
                url,
                status,
                message,
            } => write!(
                f,
                "the gateway cannot list team {team}'s model ({url}: HTTP {status}: {message})"
            ),
            BenchError::NoModel { url } => write!(f, "{url} lists no model"),
        }
    }
}

impl std::error::Error for BenchError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completion_bodies_and_errors_are_read() {
        let c = parse_completion(
            r#"{"choices":[{"text":" 4","finish_reason":"stop"}],"usage":{"prompt_tokens":7,"completion_tokens":2}}"#,
        );
        assert_eq!(c.text, " 4");
        assert_eq!(c.finish_reason.as_deref(), Some("stop"));
        assert_eq!((c.prompt_tokens, c.completion_tokens), (7, 2));
        assert!(c.error.is_none());
        assert!(parse_completion(r#"{"choices":[]}"#).error.is_some());
        assert!(parse_completion("<html>").error.is_some());
        assert_eq!(
            error_message(r#"{"object":"error","message":"pod is down","code":503}"#),
            "pod is down"
        );
        assert_eq!(
            error_message(r#"{"error":{"message":"busy","type":"x","param":null,"code":503}}"#),
            "busy"
        );
        assert_eq!(error_message("Bad Gateway"), "Bad Gateway");
        let timed = Completion {
            completion_tokens: 50,
            latency_ms: 500.0,
            ..Completion::default()
        };
        assert_eq!(timed.tokens_per_second(), 100.0);
    }
}
