//! The OpenAI layer's limits, called without a network: the body read deadline (on
//! tokio's paused clock) and `max_tokens` bounded by the context length.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use hyper::body::Frame;
use serde_json::json;
use tokio::time::{Instant, Sleep};

use super::*;
use crate::lab::Lab;
use crate::scenario::builtin;
use vllm_sim_core::clock::ManualClock;

fn lab() -> Lab {
    Lab::new(
        builtin("healthy").expect("a built-in"),
        Arc::new(ManualClock::new(1.7e9)),
    )
}

/// A request body whose chunks arrive `gap` apart; it never ends if `hang` is set.
struct SlowBody {
    chunks: std::collections::VecDeque<Bytes>,
    gap: Duration,
    hang: bool,
    sleep: Option<Pin<Box<Sleep>>>,
}

impl SlowBody {
    fn new(text: &str, pieces: usize, gap: Duration, hang: bool) -> SlowBody {
        let bytes = text.as_bytes();
        let size = bytes.len().div_ceil(pieces).max(1);
        SlowBody {
            chunks: bytes.chunks(size).map(Bytes::copy_from_slice).collect(),
            gap,
            hang,
            sleep: None,
        }
    }
}

impl Body for SlowBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.chunks.is_empty() {
            return if self.hang {
                Poll::Pending
            } else {
                Poll::Ready(None)
            };
        }
        let gap = self.gap;
        let sleep = self
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(gap)));
        if sleep.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        self.sleep = None;
        let chunk = self.chunks.pop_front().unwrap_or_default();
        Poll::Ready(Some(Ok(Frame::data(chunk))))
    }
}

async fn answer(r: Response<BoxBody>) -> (StatusCode, Value) {
    let status = r.status();
    let bytes = r.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap())
}

fn post(body: SlowBody) -> Request<SlowBody> {
    Request::post("/v1/completions").body(body).unwrap()
}

/// Over the context length: the body was read and parsed, so it came in time.
const TOO_LONG: &str = r#"{"model": "mistral-7b-fp16", "prompt": "x", "max_tokens": 100000}"#;

#[tokio::test(start_paused = true)]
async fn a_body_trickled_past_the_deadline_gets_408() {
    let pod = lab().pod(0);
    let started = Instant::now();
    // Ten pieces five seconds apart: the whole body would take 50 s.
    let slow = SlowBody::new(TOO_LONG, 10, Duration::from_secs(5), false);
    let (status, body) = answer(handle(post(slow), pod.clone()).await).await;
    assert_eq!(status, StatusCode::REQUEST_TIMEOUT);
    assert_eq!(started.elapsed(), BODY_READ_TIMEOUT);
    assert_eq!(body["object"], "error");
    assert_eq!(body["code"], 408);
    assert_eq!(body["type"], "RequestTimeoutError");
    assert_eq!(
        body["message"],
        "The request body did not arrive within 30 seconds."
    );
    // A client that sends its headers and then nothing at all.
    let silent = SlowBody::new("", 1, Duration::ZERO, true);
    let (status, _) = answer(handle(post(silent), pod).await).await;
    assert_eq!(status, StatusCode::REQUEST_TIMEOUT);
}

#[tokio::test(start_paused = true)]
async fn a_slow_body_within_the_deadline_is_read() {
    let pod = lab().pod(0);
    let started = Instant::now();
    let slow = SlowBody::new(TOO_LONG, 3, Duration::from_secs(9), false);
    let (status, body) = answer(handle(post(slow), pod).await).await;
    assert_eq!(started.elapsed(), Duration::from_secs(27));
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("maximum context length"), "{message}");
}

fn completion(pod: &PodHandle, request: Value) -> Result<Job, ApiError> {
    completion_job(serde_json::from_value(request).unwrap(), pod)
}

#[test]
fn max_tokens_is_bounded_by_the_context_length() {
    let pod = lab().pod(0);
    let (model, max_model_len) = pod.model();
    // "abcdefgh" is two prompt tokens.
    let fits = max_model_len - 2;
    let job = completion(
        &pod,
        json!({"model": model, "prompt": "abcdefgh", "max_tokens": fits}),
    )
    .unwrap();
    assert_eq!((job.prompt_tokens, job.max_tokens), (2, fits));
    for max_tokens in [fits + 1, u32::MAX] {
        let rejected = completion(
            &pod,
            json!({"model": model, "prompt": "abcdefgh", "max_tokens": max_tokens}),
        );
        let Err(ApiError::BadRequest(message)) = rejected else {
            panic!("max_tokens {max_tokens} was accepted");
        };
        assert!(
            message.starts_with(&format!(
                "This model's maximum context length is {max_model_len} tokens."
            )),
            "{message}"
        );
    }
    for max_tokens in [0, -1] {
        let rejected = completion(
            &pod,
            json!({"model": model, "prompt": "abcdefgh", "max_tokens": max_tokens}),
        );
        let Err(ApiError::BadRequest(message)) = rejected else {
            panic!("max_tokens {max_tokens} was accepted");
        };
        assert_eq!(
            message,
            format!("max_tokens must be at least 1, got {max_tokens}.")
        );
    }
    // A chat without `max_tokens` gets the room its prompt leaves.
    let chat: ChatRequest = serde_json::from_value(
        json!({"model": model, "messages": [{"role": "user", "content": "abcd"}]}),
    )
    .unwrap();
    let job = chat_job(chat, &pod).unwrap();
    assert_eq!(job.max_tokens, max_model_len - job.prompt_tokens);
}

#[tokio::test]
async fn malformed_bodies_get_400_naming_what_is_wrong() {
    let pod = lab().pod(0);
    let trailing = Request::post("/v1/completions")
        .body(Full::new(Bytes::from(format!("{TOO_LONG} x"))))
        .unwrap();
    let (status, body) = answer(handle(trailing, pod.clone()).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("trailing characters")
    );
    for max_tokens in [json!(1.5), json!("eight"), json!([8]), json!(1e300)] {
        let body = json!({"model": "mistral-7b-fp16", "prompt": "x", "max_tokens": max_tokens});
        let req = Request::post("/v1/completions")
            .body(Full::new(Bytes::from(body.to_string())))
            .unwrap();
        let (status, body) = answer(handle(req, pod.clone()).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{max_tokens}: {body}");
        let message = body["message"].as_str().unwrap();
        assert!(
            message.starts_with("invalid request: max_tokens: "),
            "{message}"
        );
    }
}

/// vLLM's request models read numbers and booleans as pydantic's lax mode does, and
/// check the model before the values' ranges: an unknown model is a 404 even with
/// `max_tokens` -1 and `n` 0.
#[test]
fn fields_are_read_as_vllm_reads_them_and_the_model_checked_first() {
    let pod = lab().pod(0);
    let model = pod.model().0;
    let job = completion(
        &pod,
        json!({"model": model, "prompt": "x", "max_tokens": "8", "n": 2.0, "stream": "true", "ignore_eos": 0}),
    )
    .unwrap();
    assert_eq!(
        (job.max_tokens, job.n, job.stream, job.ignore_eos),
        (8, 2, true, false)
    );
    for request in [
        json!({"model": "nope", "prompt": "x", "max_tokens": -1, "n": 0}),
        json!({"model": "nope", "prompt": [], "max_tokens": 100_000}),
    ] {
        let Err(ApiError::UnknownModel(m)) = completion(&pod, request.clone()) else {
            panic!("{request}: not a 404");
        };
        assert_eq!(m, "nope");
    }
    let chat: ChatRequest =
        serde_json::from_value(json!({"model": "nope", "messages": [], "n": -3})).unwrap();
    assert!(matches!(
        chat_job(chat, &pod),
        Err(ApiError::UnknownModel(_))
    ));
    let Err(ApiError::BadRequest(message)) =
        completion(&pod, json!({"model": model, "prompt": "x", "n": 0}))
    else {
        panic!("n 0 was accepted");
    };
    assert_eq!(message, "n must be at least 1, got 0.");
}

/// Errors come in the shape of the pod's release: flat up to vLLM 0.10.0, nested under
/// `error` from 0.10.1 (its `ErrorResponse` model).
#[tokio::test]
async fn errors_take_their_releases_shape() {
    let unknown = r#"{"model": "nope", "prompt": "x", "max_tokens": 4}"#;
    for (release, nested) in [
        ("vllm-0.6.4", false),
        ("vllm-0.10.0", false),
        ("vllm-0.10.1", true),
        ("vllm-0.33.0", true),
    ] {
        let profile = vllm_sim_core::catalogue::Profile::from_name(release).unwrap();
        let lab = Lab::new(
            builtin("healthy").unwrap().with_profile(profile),
            Arc::new(ManualClock::new(1.7e9)),
        );
        let body = SlowBody::new(unknown, 1, Duration::ZERO, false);
        let (status, body) = answer(handle(post(body), lab.pod(0)).await).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{release}");
        let error = if nested { &body["error"] } else { &body };
        assert_eq!(error["type"], "NotFoundError", "{release}: {body}");
        assert_eq!(error["code"], 404, "{release}: {body}");
        assert_eq!(
            error["message"], "The model `nope` does not exist.",
            "{release}: {body}"
        );
        assert_eq!(body.get("object").is_some(), !nested, "{release}: {body}");
    }
}
