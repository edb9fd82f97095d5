//! A blocking client for Loki's `/loki/api/v1/query_range`.
//!
//! Log queries come back as streams, each turned into a [`Series`] with one point
//! (value 1) per line, so counting lines is the `count` reducer, and the lines' text
//! beside them; metric queries come back as a matrix, like Prometheus's.

use std::time::Duration;

use super::answer::{ApiError, Series};
use super::prom_api;

/// A Loki server.
#[derive(Clone, Debug)]
pub struct Loki {
    base: String,
    /// Basic auth, from credentials in the URL.
    authorization: Option<String>,
    agent: ureq::Agent,
}

/// One Loki range query.
#[derive(Clone, Debug, PartialEq)]
pub struct LokiQuery<'a> {
    /// The LogQL.
    pub expr: &'a str,
    /// Start, Unix seconds.
    pub start: f64,
    /// End, Unix seconds.
    pub end: f64,
    /// Step for metric queries, in seconds.
    pub step: f64,
    /// Most lines to return.
    pub limit: u64,
    /// `backward` (newest first) or `forward`.
    pub direction: &'a str,
}

impl Loki {
    /// A client for the server at `base_url` (e.g. `http://127.0.0.1:3100`);
    /// credentials in the URL are sent as basic auth, and never appear in its errors.
    pub fn new(base_url: &str, timeout: Duration) -> Loki {
        let (base, authorization) = super::urls::with_basic_auth(base_url);
        Loki {
            base: base.trim_end_matches('/').to_owned(),
            authorization,
            agent: prom_api::agent(timeout),
        }
    }

    /// Runs a range query.
    pub fn query_range(&self, q: &LokiQuery<'_>) -> Result<Vec<Series>, ApiError> {
        let url = format!("{}/loki/api/v1/query_range", self.base);
        let nanos = |s: f64| format!("{}", (s * 1e3).round() as i64 * 1_000_000);
        let mut request = self.agent.get(&url);
        if let Some(auth) = &self.authorization {
            request = request.header("Authorization", auth);
        }
        let answer = request
            .query("query", q.expr)
            .query("start", nanos(q.start))
            .query("end", nanos(q.end))
            .query("step", format!("{}", q.step))
            .query("limit", q.limit.to_string())
            .query("direction", q.direction)
            .call();
        prom_api::read(&url, answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreachable_server_is_a_transport_error() {
        let l = Loki::new("http://127.0.0.1:9", Duration::from_secs(2));
        let q = LokiQuery {
            expr: "{a=\"b\"}",
            start: 0.0,
            end: 60.0,
            step: 15.0,
            limit: 10,
            direction: "backward",
        };
        let e = l.query_range(&q).unwrap_err();
        assert!(matches!(e, ApiError::Transport { .. }), "{e}");
    }
}
