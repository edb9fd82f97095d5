//! Errors of the OpenAI endpoints, turned into vLLM's JSON error body in one place.

use std::fmt;

use crate::catalogue::ErrorBody;
use std::time::Duration;

use hyper::StatusCode;

/// Why an OpenAI request failed.
#[derive(Debug, PartialEq)]
pub(crate) enum ApiError {
    /// Malformed JSON, missing or invalid fields.
    BadRequest(String),
    /// The `model` is not the one this pod serves.
    UnknownModel(String),
    /// The body exceeds the limit.
    TooLarge(usize),
    /// The client did not send its body within the limit.
    Timeout(Duration),
    /// The pod is down (scenario outage), or went down mid-request.
    Unavailable,
    /// `--max-num-queued-reqs` unfinished requests already (vLLM 0.32's
    /// `QueueOverflowError`).
    QueueFull,
}

impl ApiError {
    /// The HTTP status and vLLM's `type` for this error.
    fn status(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "BadRequestError"),
            ApiError::UnknownModel(_) => (StatusCode::NOT_FOUND, "NotFoundError"),
            ApiError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "BadRequestError"),
            ApiError::Timeout(_) => (StatusCode::REQUEST_TIMEOUT, "RequestTimeoutError"),
            ApiError::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailableError"),
            ApiError::QueueFull => (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable"),
        }
    }

    /// The status and the JSON body the release's `ErrorResponse` would carry, in
    /// its `shape`.
    pub(crate) fn to_json(&self, shape: ErrorBody) -> (StatusCode, serde_json::Value) {
        let (status, kind) = self.status();
        let (message, code) = (self.to_string(), status.as_u16());
        let body = match shape {
            ErrorBody::Flat => serde_json::json!({
                "object": "error",
                "message": message,
                "type": kind,
                "param": null,
                "code": code,
            }),
            ErrorBody::Nested => serde_json::json!({
                "error": {"message": message, "type": kind, "param": null, "code": code},
            }),
        };
        (status, body)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::BadRequest(m) => f.write_str(m),
            ApiError::UnknownModel(m) => write!(f, "The model `{m}` does not exist."),
            ApiError::TooLarge(limit) => write!(f, "Request body is larger than {limit} bytes."),
            ApiError::Timeout(limit) => write!(
                f,
                "The request body did not arrive within {} seconds.",
                limit.as_secs_f64()
            ),
            ApiError::Unavailable => f.write_str("The model pod is down (scenario outage)."),
            ApiError::QueueFull => f.write_str(
                "The engine is currently busy and cannot accept new requests. Please try again later or on a different instance.",
            ),
        }
    }
}
