//! Errors of the OpenAI endpoints, turned into vLLM's JSON error body in one place.

use std::fmt;

use std::time::Duration;
use vllm_sim_core::catalogue::ErrorBody;

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

impl ApiError {
    /// The `data:` event of a stream that fails, as vLLM's
    /// `create_streaming_error_response` writes it: `{"error": <the flat error>}` up
    /// to 0.10.0, the nested `ErrorResponse` itself (also `{"error": {...}}`, without
    /// `object`) from 0.10.1.
    pub(crate) fn to_stream_json(&self, shape: ErrorBody) -> serde_json::Value {
        match (shape, self.to_json(shape).1) {
            (ErrorBody::Flat, flat) => serde_json::json!({ "error": flat }),
            (ErrorBody::Nested, nested) => nested,
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A failing stream's event in each release's shape (vLLM's
    /// `create_streaming_error_response`, 0.10.0 and 0.10.1).
    #[test]
    fn stream_errors_take_their_releases_shape() {
        let flat = ApiError::Unavailable.to_stream_json(ErrorBody::Flat);
        assert_eq!(flat["error"]["object"], "error");
        assert_eq!(flat["error"]["code"], 503);
        let nested = ApiError::Unavailable.to_stream_json(ErrorBody::Nested);
        assert_eq!(nested["error"]["code"], 503);
        assert!(nested["error"].get("object").is_none(), "{nested}");
        assert_eq!(nested.as_object().unwrap().len(), 1);
    }
}
