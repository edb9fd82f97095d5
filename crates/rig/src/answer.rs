//! What every datasource answers, whichever client asked (Prometheus, Loki, or
//! either through Grafana): series, or why there are none.

use std::collections::BTreeMap;
use std::fmt;

/// One series: its labels and its points in time order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Series {
    /// The labels, `__name__` included when Prometheus keeps it.
    pub labels: BTreeMap<String, String>,
    /// `(Unix seconds, value)`; NaN stands for a null.
    pub points: Vec<(f64, f64)>,
    /// For a log stream, each point's line, in the points' order; empty for numbers.
    pub lines: Vec<String>,
}

/// Why a query gave no answer.
#[derive(Clone, Debug, PartialEq)]
pub enum ApiError {
    /// The server could not be reached or its answer not read.
    Transport {
        /// The URL asked.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// The server refused the query, e.g. `bad_data` for a PromQL syntax error.
    Query {
        /// Prometheus's `errorType`.
        error_type: String,
        /// Prometheus's `error`.
        error: String,
    },
    /// A non-success HTTP status without an API error body.
    Http {
        /// The URL asked.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The start of the body.
        body: String,
    },
    /// The answer is not what the API documents.
    Decode(String),
    /// No server of the kind was given to ask.
    NoServer(&'static str),
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::Transport { url, message } => write!(f, "cannot query {url}: {message}"),
            ApiError::Query { error_type, error } => write!(f, "{error_type}: {error}"),
            ApiError::Http { url, status, body } => write!(f, "HTTP {status} from {url}: {body}"),
            ApiError::Decode(m) => write!(f, "unexpected answer: {m}"),
            ApiError::NoServer(kind) => write!(f, "no {kind} server given"),
        }
    }
}

impl std::error::Error for ApiError {}
