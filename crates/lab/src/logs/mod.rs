//! Log lines of the gateway, the harness and the lab: the process's `tracing` subscriber,
//! which prints to stderr and, given a Loki URL, also ships the crate's events to Loki's
//! push API for the dashboard's log panel (`{namespace="platform"}`).
//!
//! - [`layer`]: the [`LokiLayer`], which turns events into lines without blocking.
//! - [`push`]: the JSON body of Loki's push API.
//! - [`history`]: a history's past lines, pushed with their own timestamps.
//! - [`shipper`]: the thread that batches, POSTs and retries, and the [`LogGuard`].
//! - [`console`]: stderr: colours only on a terminal without `NO_COLOR`, and progress
//!   bars kept below the log lines.
//!
//! Plain `http://` only (the HTTP client is built without TLS), JSON only (no protobuf).

mod console;
pub mod history;
mod layer;
mod push;
#[cfg(any(test, feature = "testing"))]
pub mod screen;
mod shipper;

#[cfg(test)]
mod tests;

use std::fmt;
use std::io::IsTerminal as _;

use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

pub use console::progress_bar;
pub use layer::LokiLayer;
pub use shipper::{LogGuard, ShipperOptions};

/// The path of Loki's push API under its base URL.
const PUSH_PATH: &str = "/loki/api/v1/push";

/// Installs the global subscriber: stderr lines filtered by `RUST_LOG` (default `info`;
/// `target=level` directives, comma-separated, as in `vllm_sim_lab=debug,warn`),
/// coloured only on a terminal without `NO_COLOR`, written above any [`progress_bar`],
/// and, when `loki_url` is given, the same events of this crate shipped to Loki.
///
/// Keep the returned guard until the program ends: dropping it ships the last lines.
pub fn init(loki_url: Option<&str>) -> Result<LogGuard, InitError> {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .filter(|directives| !directives.trim().is_empty())
        .and_then(|directives| directives.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(tracing::Level::INFO));
    let (loki, guard) = match loki_url {
        Some(url) => {
            let (layer, guard) = loki_layer(url, ShipperOptions::default())?;
            (Some(layer), guard)
        }
        None => (None, LogGuard::disabled()),
    };
    tracing_subscriber::registry()
        .with(filter)
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(console::Stderr)
                .with_ansi(console::colour(
                    std::io::stderr().is_terminal(),
                    std::env::var_os("NO_COLOR").as_deref(),
                )),
        )
        .with(loki)
        .try_init()
        .map_err(|e| InitError::Subscriber(e.to_string()))?;
    Ok(guard)
}

/// A [`LokiLayer`] shipping to the Loki at `loki_url` (a base URL such as
/// `http://loki:3100`, or the full push URL), with its shipper thread already running.
pub fn loki_layer(
    loki_url: &str,
    options: ShipperOptions,
) -> Result<(LokiLayer, LogGuard), InitError> {
    let push_url = push_url(loki_url)?;
    let (tx, dropped, guard) = shipper::spawn(push_url, options).map_err(InitError::Spawn)?;
    Ok((LokiLayer::new(tx, dropped), guard))
}

/// The push URL for a base URL, checked to be plain `http://` with a host.
fn push_url(loki_url: &str) -> Result<String, InitError> {
    let bad = |reason: &str| InitError::Url {
        url: vllm_sim_rig::urls::redacted(loki_url),
        reason: reason.to_owned(),
    };
    let trimmed = loki_url.trim().trim_end_matches('/');
    if trimmed
        .get(..8)
        .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
    {
        return Err(bad(
            "https is not supported (this build has no TLS); use http:// or a local proxy",
        ));
    }
    let Some(rest) = trimmed.strip_prefix("http://") else {
        return Err(bad("it must start with http://"));
    };
    if rest.is_empty() || rest.starts_with(['/', ':']) {
        return Err(bad("it has no host"));
    }
    let url = if trimmed.ends_with(PUSH_PATH) {
        trimmed.to_owned()
    } else {
        format!("{trimmed}{PUSH_PATH}")
    };
    url.parse::<ureq::http::Uri>()
        .map_err(|e| bad(&e.to_string()))?;
    Ok(url)
}

/// Why logging could not be set up.
#[derive(Debug)]
pub enum InitError {
    /// The Loki URL is not a usable `http://` URL.
    Url {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The shipper thread could not be started.
    Spawn(std::io::Error),
    /// A global subscriber was already installed.
    Subscriber(String),
}

impl fmt::Display for InitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InitError::Url { url, reason } => write!(f, "invalid --loki-url {url:?}: {reason}"),
            InitError::Spawn(e) => write!(f, "cannot start the Loki shipper thread: {e}"),
            InitError::Subscriber(e) => write!(f, "cannot install the log subscriber: {e}"),
        }
    }
}

impl std::error::Error for InitError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            InitError::Spawn(e) => Some(e),
            _ => None,
        }
    }
}
