//! The OpenAI-compatible API of a pod: `GET /v1/models`, `POST /v1/completions` and
//! `POST /v1/chat/completions`, streamed (server-sent events) or not, in vLLM's shapes.
//!
//! A request joins the pod's engine like any other: it waits, is batched, and gets its
//! first token and each next one when the model says so; the response carries them as
//! they come. A client that hangs up aborts its request (`finished_reason="abort"`).

mod error;
#[cfg(test)]
mod fuzz;
mod response;
mod stream;
#[cfg(test)]
mod tests;
mod types;

pub(crate) use error::ApiError;

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Body;
use hyper::{Method, Request, Response, StatusCode, header};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::lab::prompt::seed_of;
use crate::lab::{ClientEvent, PodHandle, Refused};
use response::{Choice, Completion, Delta, Message, ModelCard, ModelList, Usage};
use stream::{AbortGuard, SseBody};
use types::{ChatRequest, CompletionRequest, Sampling, chat_tokens, prompt_tokens};
use vllm_sim_core::catalogue::ErrorBody;
use vllm_sim_core::engine::{ClientRequest, FinishReason, Parent};

use super::BoxBody;

/// Largest request body accepted.
const MAX_BODY_BYTES: usize = 1 << 20;
/// A declared `Content-Length` above it gets its 413 before any of the body is read;
/// up to it, an oversized body is read (and dropped) so its client sees the 413.
const MAX_DRAIN_BYTES: usize = 8 << 20;
/// The most of a body without `Content-Length` read and discarded before its 413.
const MAX_CHUNKED_DRAIN_BYTES: usize = 256 << 20;
/// How long a client may take to send its request body, from the end of its headers:
/// a client trickling its body (slowloris) gets a 408 past it.
pub(crate) const BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Most choices per request.
const MAX_N: u32 = 16;
/// vLLM's default `max_tokens` for completions.
const DEFAULT_COMPLETION_TOKENS: u32 = 16;
/// Tokens the simulated model says, in turn, each with the space before it, so that
/// they join into sentences: "The model answers with simulated tokens. The model ...".
const WORDS: &[&str] = &[
    " The",
    " model",
    " answers",
    " with",
    " simulated",
    " tokens",
    ".",
];

/// Whether `path` is an OpenAI route.
pub(crate) fn is_route(path: &str) -> bool {
    route_of(path).is_some()
}

/// The OpenAI route `path` names, if any.
pub(crate) fn route_of(path: &str) -> Option<&'static str> {
    ["/v1/models", "/v1/completions", "/v1/chat/completions"]
        .into_iter()
        .find(|r| *r == path)
}

/// Tells the API requests with `n` > 1 apart.
static NEXT_PARENT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Answers an OpenAI route, reading its body within [`BODY_READ_TIMEOUT`].
pub(crate) async fn handle<B>(req: Request<B>, pod: PodHandle) -> Response<BoxBody>
where
    B: Body<Data = Bytes>,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    handle_within(req, pod, BODY_READ_TIMEOUT).await
}

/// Answers an OpenAI route, reading its body within `body_read_timeout`.
pub(crate) async fn handle_within<B>(
    req: Request<B>,
    pod: PodHandle,
    body_read_timeout: Duration,
) -> Response<BoxBody>
where
    B: Body<Data = Bytes>,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    let path = req.uri().path().to_owned();
    let job = match (req.method().clone(), path.as_str()) {
        (Method::GET, "/v1/models") => return models(&pod),
        (Method::POST, "/v1/completions") => {
            match parse::<CompletionRequest, B>(req, body_read_timeout).await {
                Ok(r) => completion_job(r, &pod),
                Err(e) => Err(e),
            }
        }
        (Method::POST, "/v1/chat/completions") => {
            match parse::<ChatRequest, B>(req, body_read_timeout).await {
                Ok(r) => chat_job(r, &pod),
                Err(e) => Err(e),
            }
        }
        _ => {
            return error_response(
                StatusCode::METHOD_NOT_ALLOWED,
                json!({"detail": "Method Not Allowed"}),
            );
        }
    };
    match job {
        Ok(job) => job.run(pod).await,
        Err(e) => {
            let (status, body) = e.to_json(error_body(&pod));
            error_response(status, body)
        }
    }
}

/// The shape of `pod`'s release's API errors.
fn error_body(pod: &PodHandle) -> ErrorBody {
    pod.profile().release().error_body
}

fn error_response(status: StatusCode, body: Value) -> Response<BoxBody> {
    let mut r = json_response(&body);
    *r.status_mut() = status;
    r
}

fn json_response(body: &impl serde::Serialize) -> Response<BoxBody> {
    let text = serde_json::to_string(body).unwrap_or_default();
    let mut r = Response::new(Full::new(Bytes::from(text)).boxed());
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    r
}

/// Reads and parses a JSON body, within the size limit and `timeout`.
async fn parse<T: serde::de::DeserializeOwned, B>(
    req: Request<B>,
    timeout: Duration,
) -> Result<T, ApiError>
where
    B: Body<Data = Bytes>,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_DRAIN_BYTES) {
        return Err(ApiError::TooLarge(MAX_BODY_BYTES));
    }
    let bytes = tokio::time::timeout(timeout, read_body(req.into_body()))
        .await
        .map_err(|_| ApiError::Timeout(timeout))??;
    let mut json = serde_json::Deserializer::from_slice(&bytes);
    let parsed = serde_path_to_error::deserialize(&mut json).map_err(|e| {
        // A wrong value is named by its path (unknown inside flattened fields, which
        // name themselves); a syntax error by its line and column alone.
        let path = e.path().to_string();
        let named =
            e.inner().is_data() && !matches!(path.as_str(), "" | ".") && !path.contains('?');
        let message = if named {
            format!("invalid request: {path}: {}", e.inner())
        } else {
            format!("invalid request: {}", e.inner())
        };
        ApiError::BadRequest(message)
    })?;
    // Nothing but whitespace may follow the value, as `serde_json::from_slice` checks.
    json.end()
        .map_err(|e| ApiError::BadRequest(format!("invalid request: {e}")))?;
    Ok(parsed)
}

/// Reads a body of at most [`MAX_BODY_BYTES`].
///
/// An oversized body is read on and discarded, to its end (within the read timeout)
/// or up to [`MAX_CHUNKED_DRAIN_BYTES`], before the 413 goes out: a server that hangs
/// up on a client still sending makes the client see a broken pipe instead of the
/// error. (A `Content-Length` over [`MAX_DRAIN_BYTES`] is answered before any of it is
/// read.)
async fn read_body<B>(body: B) -> Result<Vec<u8>, ApiError>
where
    B: Body<Data = Bytes>,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    let mut body = std::pin::pin!(body);
    let mut bytes = Vec::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame
            .map_err(|e| ApiError::BadRequest(format!("cannot read the request body: {e}")))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        seen += data.len();
        if seen > MAX_CHUNKED_DRAIN_BYTES {
            break;
        }
        if seen <= MAX_BODY_BYTES {
            bytes.extend_from_slice(&data);
        }
    }
    if seen > MAX_BODY_BYTES {
        return Err(ApiError::TooLarge(MAX_BODY_BYTES));
    }
    Ok(bytes)
}

fn models(pod: &PodHandle) -> Response<BoxBody> {
    let (model, max_model_len) = pod.model();
    json_response(&ModelList {
        object: "list",
        data: [ModelCard {
            id: &model,
            object: "model",
            created: pod.unix_now() as u64,
            owned_by: "vllm",
            root: &model,
            parent: None,
            max_model_len,
        }],
    })
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Completion,
    Chat,
}

/// A validated request, ready for the engine.
struct Job {
    kind: Kind,
    model: String,
    prompt_tokens: u32,
    max_tokens: u32,
    n: u32,
    stream: bool,
    include_usage: bool,
    ignore_eos: bool,
    /// A hash of the prompt: the same prompt gets answers of the same lengths.
    prompt_seed: u64,
}

fn completion_job(r: CompletionRequest, pod: &PodHandle) -> Result<Job, ApiError> {
    check_model(&r.model, pod)?;
    let prompt_tokens = prompt_tokens(&r.prompt).ok_or_else(|| {
        ApiError::BadRequest(
            "`prompt` must be a non-empty string, list of strings or list of token ids".to_owned(),
        )
    })?;
    let max_tokens = r
        .sampling
        .max_tokens
        .unwrap_or(i64::from(DEFAULT_COMPLETION_TOKENS));
    let seed = seed_of([&r.prompt]);
    job(
        Kind::Completion,
        r.model,
        (prompt_tokens, seed),
        Some(max_tokens),
        &r.sampling,
        pod,
    )
}

fn chat_job(r: ChatRequest, pod: &PodHandle) -> Result<Job, ApiError> {
    check_model(&r.model, pod)?;
    if r.messages.is_empty() {
        return Err(ApiError::BadRequest(
            "`messages` must not be empty".to_owned(),
        ));
    }
    let max_tokens = r.max_completion_tokens.or(r.sampling.max_tokens);
    let seed = seed_of(r.messages.iter().map(|m| &m.content));
    job(
        Kind::Chat,
        r.model,
        (chat_tokens(&r.messages), seed),
        max_tokens,
        &r.sampling,
        pod,
    )
}

/// vLLM checks the model before anything in the request but its JSON shape: an
/// unknown model is a 404 whatever else is wrong.
fn check_model(model: &str, pod: &PodHandle) -> Result<(), ApiError> {
    if model == pod.model().0 {
        Ok(())
    } else {
        Err(ApiError::UnknownModel(model.to_owned()))
    }
}

/// Validates a request against the pod, in vLLM's order: the context length, then
/// the sampling parameters (`SamplingParams._verify_args`' messages).
fn job(
    kind: Kind,
    model: String,
    (prompt_tokens, prompt_seed): (u32, u64),
    max_tokens: Option<i64>,
    sampling: &Sampling,
    pod: &PodHandle,
) -> Result<Job, ApiError> {
    let max_model_len = pod.model().1;
    let room = max_model_len.saturating_sub(prompt_tokens);
    let max_tokens = max_tokens.unwrap_or(i64::from(room));
    let requested = i64::from(prompt_tokens).saturating_add(max_tokens);
    if requested > i64::from(max_model_len) {
        return Err(ApiError::BadRequest(format!(
            "This model's maximum context length is {max_model_len} tokens. However, you requested {requested} tokens ({prompt_tokens} in the messages, {max_tokens} in the completion). Please reduce the length of the messages or completion.",
        )));
    }
    let n = sampling.n.unwrap_or(1);
    if n < 1 {
        return Err(ApiError::BadRequest(format!(
            "n must be at least 1, got {n}."
        )));
    }
    if n > i64::from(MAX_N) {
        return Err(ApiError::BadRequest(format!(
            "`n` must be between 1 and {MAX_N}, got {n}"
        )));
    }
    let Ok(max_tokens @ 1..) = u32::try_from(max_tokens) else {
        return Err(ApiError::BadRequest(format!(
            "max_tokens must be at least 1, got {max_tokens}."
        )));
    };
    let n = n as u32;
    Ok(Job {
        kind,
        model,
        prompt_tokens,
        max_tokens,
        n,
        stream: sampling.stream,
        include_usage: sampling
            .stream_options
            .as_ref()
            .is_some_and(|o| o.include_usage),
        ignore_eos: sampling.ignore_eos,
        prompt_seed,
    })
}

impl Job {
    /// Submits every choice and answers, streamed or at the end.
    async fn run(self, pod: PodHandle) -> Response<BoxBody> {
        let mut guard = AbortGuard::new(pod.clone());
        let mut choices = Vec::new();
        // The engine runs each of the `n` choices as a request of its own, and counts
        // some of their stats once per API request.
        let parent = (self.n > 1).then(|| Parent {
            id: NEXT_PARENT.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            n: self.n,
        });
        for choice in 0..self.n {
            let request = ClientRequest {
                id: 0,
                prompt_tokens: self.prompt_tokens,
                max_tokens: self.max_tokens,
                ignore_eos: self.ignore_eos,
                seed: self.prompt_seed.wrapping_add(u64::from(choice)),
                parent,
            };
            let (id, events) = match pod.submit(request) {
                Ok(submitted) => submitted,
                Err(refused) => {
                    let error = match refused {
                        Refused::Down => ApiError::Unavailable,
                        Refused::QueueFull => ApiError::QueueFull,
                    };
                    let (status, body) = error.to_json(error_body(&pod));
                    return error_response(status, body);
                }
            };
            guard.watch(id);
            choices.push((id, events));
        }
        let id = format!(
            "{}-{:032x}",
            if self.kind == Kind::Chat {
                "chatcmpl"
            } else {
                "cmpl"
            },
            choices[0].0
        );
        let created = pod.unix_now() as u64;
        if self.stream {
            let (tx, body) = SseBody::channel();
            let error_shape = error_body(&pod);
            tokio::spawn(self.stream(id, created, choices, guard, tx, error_shape));
            let mut r = Response::new(body.boxed());
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static("text/event-stream; charset=utf-8"),
            );
            return r;
        }
        let mut answers = Vec::new();
        for (index, (request, mut events)) in choices.into_iter().enumerate() {
            let (mut text, mut tokens) = (String::new(), 0);
            loop {
                match events.recv().await {
                    Some(ClientEvent::Token(_)) => {
                        text.push_str(word(tokens));
                        tokens += 1;
                    }
                    Some(ClientEvent::Finished {
                        reason,
                        generation_tokens,
                        ..
                    }) => {
                        guard.done(request);
                        answers.push((index, text, reason, generation_tokens));
                        break;
                    }
                    Some(ClientEvent::PodDown) | None => {
                        let (status, body) = ApiError::Unavailable.to_json(error_body(&pod));
                        return error_response(status, body);
                    }
                }
            }
        }
        let completion_tokens: u32 = answers.iter().map(|a| a.3).sum();
        let choices = answers
            .iter()
            .map(|(index, text, reason, _)| {
                let (index, finish_reason) = (*index as u32, reason.as_str());
                match self.kind {
                    Kind::Completion => Choice::Text {
                        index,
                        text,
                        logprobs: None,
                        finish_reason,
                        stop_reason: None,
                        prompt_logprobs: None,
                    },
                    Kind::Chat => Choice::Message {
                        index,
                        message: Message {
                            role: "assistant",
                            reasoning_content: None,
                            content: text,
                            tool_calls: [],
                        },
                        logprobs: None,
                        finish_reason,
                        stop_reason: None,
                    },
                }
            })
            .collect();
        json_response(&Completion {
            id: &id,
            object: if self.kind == Kind::Chat {
                "chat.completion"
            } else {
                "text_completion"
            },
            created,
            model: &self.model,
            choices,
            usage: Some(self.usage(completion_tokens)),
        })
    }

    fn usage(&self, completion_tokens: u32) -> Usage {
        Usage {
            prompt_tokens: self.prompt_tokens * self.n,
            total_tokens: self.prompt_tokens * self.n + completion_tokens,
            completion_tokens,
            prompt_tokens_details: None,
        }
    }

    /// Feeds the SSE body until every choice finished, the pod went down, or the
    /// client hung up (then `guard` aborts what is left).
    async fn stream(
        self,
        id: String,
        created: u64,
        choices: Vec<(u64, mpsc::UnboundedReceiver<ClientEvent>)>,
        mut guard: AbortGuard,
        tx: mpsc::Sender<Bytes>,
        error_shape: ErrorBody,
    ) {
        let (merged_tx, mut merged) = mpsc::unbounded_channel();
        let mut requests = Vec::new();
        for (index, (request, mut events)) in choices.into_iter().enumerate() {
            requests.push(request);
            let merged_tx = merged_tx.clone();
            tokio::spawn(async move {
                while let Some(event) = events.recv().await {
                    if merged_tx.send((index, event)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(merged_tx);
        let object = if self.kind == Kind::Chat {
            "chat.completion.chunk"
        } else {
            "text_completion"
        };
        let chunk = |choice: Choice<'_>| {
            stream::event(&Completion {
                id: &id,
                object,
                created,
                model: &self.model,
                choices: vec![choice],
                usage: None,
            })
        };
        if self.kind == Kind::Chat {
            for index in 0..self.n {
                let first = chunk(Choice::Delta {
                    index,
                    delta: Delta {
                        role: Some("assistant"),
                        content: "",
                    },
                    logprobs: None,
                    finish_reason: None,
                });
                if tx.send(first).await.is_err() {
                    return;
                }
            }
        }
        let mut produced = vec![0usize; self.n as usize];
        let (mut finished, mut completion_tokens) = (0, 0);
        while let Some((index, event)) = merged.recv().await {
            let (text, reason) = match event {
                ClientEvent::Token(_) => {
                    produced[index] += 1;
                    (word(produced[index] - 1), None)
                }
                ClientEvent::Finished {
                    reason,
                    generation_tokens,
                    ..
                } => {
                    guard.done(requests[index]);
                    finished += 1;
                    completion_tokens += generation_tokens;
                    ("", Some(reason))
                }
                ClientEvent::PodDown => {
                    let body = ApiError::Unavailable.to_stream_json(error_shape);
                    let _ = tx.send(stream::event(&body)).await;
                    break;
                }
            };
            let reason = reason.map(FinishReason::as_str);
            let index = index as u32;
            let choice = match self.kind {
                Kind::Completion => Choice::TextChunk {
                    index,
                    text,
                    logprobs: None,
                    finish_reason: reason,
                    stop_reason: None,
                },
                Kind::Chat => Choice::Delta {
                    index,
                    delta: Delta {
                        role: None,
                        content: text,
                    },
                    logprobs: None,
                    finish_reason: reason,
                },
            };
            if tx.send(chunk(choice)).await.is_err() {
                return;
            }
            if finished == self.n {
                break;
            }
        }
        if self.include_usage && finished == self.n {
            let usage = stream::event(&Completion {
                id: &id,
                object,
                created,
                model: &self.model,
                choices: Vec::new(),
                usage: Some(self.usage(completion_tokens)),
            });
            if tx.send(usage).await.is_err() {
                return;
            }
        }
        let _ = tx.send(stream::done()).await;
    }
}

/// The text of a choice's `index`-th token: its word with the space before it, but for
/// the first, which starts the text.
fn word(index: usize) -> &'static str {
    let word = WORDS[index % WORDS.len()];
    if index == 0 { word.trim_start() } else { word }
}
