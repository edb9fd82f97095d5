//! Property tests (fuzzing) of a pod's request handling: whatever the method, path,
//! headers and body, [`crate::server::route`] answers without panicking, with a status
//! from a known set, and every error is a JSON body in OpenAI's shape (or FastAPI's
//! `{"detail": …}` for unknown routes and methods).
//!
//! Accepted requests wait for tokens that the pod makes as its clock moves: the test
//! moves the [`ManualClock`] in steps while it waits, as a pod's driver would.
//! `PROPTEST_CASES=10000 cargo test -p vllm-sim --lib server::openai::fuzz` runs longer.

use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderName, HeaderValue};
use hyper::{Method, Request, StatusCode};
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

use super::BODY_READ_TIMEOUT;
use crate::lab::{Lab, PodHandle};
use crate::scenario::{Scenario, builtin};
use vllm_sim_core::clock::ManualClock;

/// The model pod 0 of the healthy scenario serves.
const MODEL: &str = "mistral-7b-fp16";
/// Simulated time per step while a request waits for its tokens.
const STEP: Duration = Duration::from_millis(500);
/// Most steps a request may take (an hour of simulated time).
const MAX_STEPS: usize = 7200;

static HEALTHY: LazyLock<Scenario> = LazyLock::new(|| builtin("healthy").expect("a built-in"));

/// Cases per property unless `PROPTEST_CASES` says otherwise.
fn config(cases: u32) -> ProptestConfig {
    let mut config = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = cases;
    }
    config
}

/// Arbitrary JSON, a few levels deep.
fn junk() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        "[ -~]{0,12}".prop_map(Value::from),
        "\\PC{0,8}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            btree_map("[a-z_]{1,10}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A `max_tokens`: mostly small and valid, sometimes zero, huge, negative or no number.
fn max_tokens() -> impl Strategy<Value = Value> {
    prop_oneof![
        16 => (1u32..=8).prop_map(Value::from),
        1 => Just(json!(0)),
        1 => (100_000u64..=u64::from(u32::MAX) + 10).prop_map(Value::from),
        1 => (i64::MIN..0).prop_map(Value::from),
        1 => Just(json!(1.5)),
        1 => Just(json!("8")),
        1 => Just(Value::Null),
        1 => junk(),
    ]
}

fn model() -> impl Strategy<Value = Value> {
    prop_oneof![
        12 => Just(json!(MODEL)),
        1 => "[a-z0-9-]{0,20}".prop_map(Value::from),
        1 => junk(),
    ]
}

fn prompt() -> impl Strategy<Value = Value> {
    prop_oneof![
        10 => "[ -~]{1,40}".prop_map(Value::from),
        1 => vec("[ -~]{0,10}", 0..4).prop_map(|v| json!(v)),
        1 => vec(0u32..50_000, 0..8).prop_map(|v| json!(v)),
        1 => Just(json!("")),
        1 => Just(Value::Null),
        1 => Just(json!([])),
        1 => junk(),
    ]
}

fn messages() -> impl Strategy<Value = Value> {
    let content = prop_oneof![
        10 => "[ -~]{0,40}".prop_map(Value::from),
        2 => vec("[ -~]{0,10}", 0..3)
            .prop_map(|t| json!(t.iter().map(|t| json!({"type": "text", "text": t})).collect::<Vec<_>>())),
        1 => junk(),
    ];
    let role = prop_oneof![
        10 => Just(json!("user")),
        2 => Just(json!("system")),
        1 => junk()
    ];
    let message = (role, proptest::option::of(content)).prop_map(|(role, content)| {
        let mut m = Map::new();
        m.insert("role".to_owned(), role);
        if let Some(c) = content {
            m.insert("content".to_owned(), c);
        }
        Value::Object(m)
    });
    prop_oneof![
        12 => vec(message, 0..4).prop_map(Value::Array),
        1 => junk(),
    ]
}

/// A request with random field values, some fields missing, and unknown fields added.
/// It has both a `prompt` and `messages` (mostly), so it suits either endpoint: each
/// ignores the other's field.
fn request() -> impl Strategy<Value = Value> {
    let shared = (
        proptest::option::weighted(0.95, model()),
        proptest::option::weighted(0.9, max_tokens()),
        proptest::option::of(prop_oneof![
            8 => (1u32..=4).prop_map(Value::from),
            2 => (0u32..20).prop_map(Value::from),
            1 => junk()
        ]),
        proptest::option::of(prop_oneof![10 => any::<bool>().prop_map(Value::from), 1 => junk()]),
        proptest::option::of(prop_oneof![
            10 => any::<bool>().prop_map(|b| json!({"include_usage": b})),
            1 => junk()
        ]),
        proptest::option::of(prop_oneof![10 => any::<bool>().prop_map(Value::from), 1 => junk()]),
        btree_map("[a-z_]{1,12}", junk(), 0..3),
    );
    let chat = (
        proptest::option::weighted(0.95, prompt()),
        proptest::option::weighted(0.95, messages()),
        proptest::option::weighted(0.2, max_tokens()),
    );
    (shared, chat).prop_map(
        |(
            (model, max_tokens, n, stream, stream_options, ignore_eos, extra),
            (prompt, messages, max_completion_tokens),
        )| {
            let mut m: Map<String, Value> = extra.into_iter().collect();
            let fields = [
                ("model", model),
                ("max_tokens", max_tokens),
                ("n", n),
                ("stream", stream),
                ("stream_options", stream_options),
                ("ignore_eos", ignore_eos),
                ("prompt", prompt),
                ("messages", messages),
                ("max_completion_tokens", max_completion_tokens),
            ];
            for (name, value) in fields {
                if let Some(value) = value {
                    m.insert(name.to_owned(), value);
                }
            }
            Value::Object(m)
        },
    )
}

/// A request body: a JSON request, cut short, arbitrary JSON or arbitrary bytes.
fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => request().prop_map(|r| r.to_string().into_bytes()),
        2 => (request(), any::<prop::sample::Index>()).prop_map(|(r, cut)| {
            let text = r.to_string().into_bytes();
            text[..cut.index(text.len())].to_vec()
        }),
        1 => junk().prop_map(|v| v.to_string().into_bytes()),
        1 => vec(any::<u8>(), 0..200),
        1 => Just(Vec::new()),
    ]
}

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![
        48 => Just(Method::POST),
        2 => Just(Method::GET),
        1 => Just(Method::HEAD),
        1 => Just(Method::PUT),
        1 => Just(Method::DELETE),
        1 => Just(Method::PATCH),
        1 => Just(Method::OPTIONS),
    ]
}

fn path() -> impl Strategy<Value = String> {
    prop_oneof![
        12 => Just("/v1/completions".to_owned()),
        12 => Just("/v1/chat/completions".to_owned()),
        1 => Just("/v1/models".to_owned()),
        1 => Just("/metrics".to_owned()),
        1 => Just("/health".to_owned()),
        1 => Just("/v1/completions?stream=true".to_owned()),
        1 => Just("/v1/completions/".to_owned()),
        1 => Just("/V1/Models".to_owned()),
        1 => "/[a-zA-Z0-9/._~%-]{0,30}",
    ]
}

/// Extra headers: arbitrary names and values, a `Content-Length` that may lie.
fn headers() -> impl Strategy<Value = Vec<(String, String)>> {
    let any_header = ("[a-z][a-z0-9-]{0,15}", "[ -~]{0,40}");
    let length = prop_oneof![
        (0u64..1000).prop_map(|n| n.to_string()),
        Just((8u64 << 20).to_string()),
        Just(((8u64 << 20) + 1).to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        "[ -~]{0,10}",
    ]
    .prop_map(|v| (CONTENT_LENGTH.as_str().to_owned(), v));
    let content_type = prop_oneof![
        Just("application/json".to_owned()),
        Just("text/plain".to_owned()),
        "[ -~]{0,20}",
    ]
    .prop_map(|v| (CONTENT_TYPE.as_str().to_owned(), v));
    vec(
        prop_oneof![3 => any_header, 1 => length, 1 => content_type],
        0..4,
    )
}

/// Runs `fut` while moving the clock `STEP` at a time, as the pod's driver would;
/// `None` if it does not finish within `MAX_STEPS`.
async fn driven<T>(
    fut: impl Future<Output = T>,
    clock: &ManualClock,
    pod: &PodHandle,
) -> Option<T> {
    let mut fut = pin!(fut);
    for _ in 0..MAX_STEPS {
        tokio::select! {
            biased;
            out = &mut fut => return Some(out),
            () = tokio::task::yield_now() => {
                clock.advance(STEP);
                pod.catch_up();
            }
        }
    }
    None
}

/// Whether `body` is an error in OpenAI's shape for `status`.
fn openai_error(body: &Value, status: StatusCode) -> bool {
    body["object"] == "error"
        && body["message"].as_str().is_some_and(|m| !m.is_empty())
        && body["type"].as_str().is_some_and(|t| !t.is_empty())
        && body["code"] == status.as_u16()
}

/// Whether `body` is FastAPI's `{"detail": …}`.
fn detail(body: &Value) -> bool {
    body.as_object().is_some_and(|o| o.len() == 1) && body["detail"].is_string()
}

/// Sends one request to a fresh healthy lab's first pod and checks the answer.
fn check(
    method: Method,
    path: &str,
    headers: &[(String, String)],
    body: Vec<u8>,
) -> Result<StatusCode, TestCaseError> {
    let mut builder = Request::builder().method(method.clone()).uri(path);
    for (name, value) in headers {
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) else {
            continue;
        };
        builder = builder.header(name, value);
    }
    let req = builder.body(Full::new(bytes::Bytes::from(body)));
    prop_assume!(req.is_ok(), "not a valid request");
    let req = req.expect("checked");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let clock = Arc::new(ManualClock::new(1.7e9));
    let lab = Lab::new(HEALTHY.clone(), clock.clone());
    let pod = lab.pod(0);
    runtime.block_on(async {
        let route = crate::server::route(req, pod.clone(), BODY_READ_TIMEOUT);
        let response = driven(route, &clock, &pod).await;
        prop_assert!(response.is_some(), "no response");
        let response = response.expect("checked");
        let status = response.status();

        let allowed = [400, 404, 405, 413, 503];
        prop_assert!(
            status.is_success() || allowed.contains(&status.as_u16()),
            "status {status}"
        );
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let bytes = driven(response.into_body().collect(), &clock, &pod).await;
        prop_assert!(bytes.is_some(), "the body never ended");
        let bytes = bytes.expect("checked").expect("infallible").to_bytes();
        if !status.is_success() {
            prop_assert_eq!(content_type.as_str(), "application/json");
            let body: Value = serde_json::from_slice(&bytes)
                .map_err(|e| TestCaseError::fail(format!("error body is not JSON: {e}")))?;
            let routing = matches!(status.as_u16(), 404 | 405);
            prop_assert!(
                openai_error(&body, status) || (routing && detail(&body)),
                "{status}: {body}"
            );
            return Ok(status);
        }
        if content_type.starts_with("text/event-stream") {
            let text = String::from_utf8_lossy(&bytes);
            prop_assert!(text.ends_with("data: [DONE]\n\n"), "{text}");
            for event in text.trim_end().split("\n\n") {
                let data = event.strip_prefix("data: ");
                prop_assert!(data.is_some(), "{event}");
                let data = data.expect("checked");
                prop_assert!(
                    data == "[DONE]" || serde_json::from_str::<Value>(data).is_ok(),
                    "{data}"
                );
            }
        } else if content_type == "application/json" {
            let body: Value = serde_json::from_slice(&bytes)
                .map_err(|e| TestCaseError::fail(format!("body is not JSON: {e}")))?;
            prop_assert!(
                body["choices"].is_array() || body["data"].is_array(),
                "{body}"
            );
        }
        Ok(status)
    })
}

#[test]
fn the_fuzzed_pod_serves_the_healthy_model() {
    let lab = Lab::new(HEALTHY.clone(), Arc::new(ManualClock::new(1.7e9)));
    assert_eq!(lab.pod(0).model().0, MODEL);
}

proptest! {
    #![proptest_config(config(512))]

    /// OpenAI requests with random fields, truncated or junk bodies, on any route.
    #[test]
    fn any_request_gets_a_well_formed_answer(
        method in method(),
        path in path(),
        headers in headers(),
        body in body(),
    ) {
        check(method, &path, &headers, body)?;
    }

    /// Valid requests (right model, small `max_tokens`, streamed or not) are answered.
    #[test]
    fn valid_requests_are_answered(
        chat in any::<bool>(),
        stream in any::<bool>(),
        max_tokens in 1u32..=8,
        n in 1u32..=4,
        prompt in "[ -~]{1,80}",
    ) {
        let (path, body) = if chat {
            ("/v1/chat/completions", json!({"model": MODEL, "messages": [{"role": "user", "content": prompt}], "max_tokens": max_tokens, "n": n, "stream": stream}))
        } else {
            ("/v1/completions", json!({"model": MODEL, "prompt": prompt, "max_tokens": max_tokens, "n": n, "stream": stream}))
        };
        let status = check(Method::POST, path, &[], body.to_string().into_bytes())?;
        prop_assert_eq!(status, StatusCode::OK);
    }
}
