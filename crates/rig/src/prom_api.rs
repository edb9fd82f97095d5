//! A blocking client for Prometheus's HTTP API (`/api/v1/query`, `/api/v1/query_range`)
//! and the parsing of its answers (as [`Series`]).
//!
//! Queries are POSTed as forms, as Grafana does by default, so long expressions fit.
//! Answers are parsed by [`parse_response`], which needs no network; the envelope
//! (`status`, `data`, `errorType`, `error`) is the same for Loki, whose client
//! reuses it.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::Deserialize;

use super::answer::{ApiError, Series};

/// A Prometheus server.
#[derive(Clone, Debug)]
pub struct Prometheus {
    base: String,
    /// The `Authorization` header, for a Prometheus behind a proxy that wants one.
    authorization: Option<String>,
    agent: ureq::Agent,
}

impl Prometheus {
    /// A client for the server at `base_url` (e.g. `http://127.0.0.1:9090`), giving
    /// each request `timeout` in all. Credentials in the URL are sent as basic auth,
    /// and never appear in its errors.
    pub fn new(base_url: &str, timeout: Duration) -> Prometheus {
        let (base, authorization) = super::urls::with_basic_auth(base_url);
        Prometheus {
            base: base.trim_end_matches('/').to_owned(),
            authorization,
            agent: agent(timeout),
        }
    }

    /// The same, sending `authorization` as the `Authorization` header (e.g. through
    /// Grafana's datasource proxy).
    pub fn with_authorization(
        base_url: &str,
        authorization: Option<String>,
        timeout: Duration,
    ) -> Prometheus {
        let client = Prometheus::new(base_url, timeout);
        Prometheus {
            authorization: authorization.or(client.authorization),
            ..client
        }
    }

    fn post(&self, url: &str) -> ureq::RequestBuilder<ureq::typestate::WithBody> {
        let request = self.agent.post(url);
        match &self.authorization {
            Some(auth) => request.header("Authorization", auth),
            None => request,
        }
    }

    /// A range query; times and step in seconds.
    pub fn query_range(
        &self,
        expr: &str,
        start: f64,
        end: f64,
        step: f64,
    ) -> Result<Vec<Series>, ApiError> {
        let url = format!("{}/api/v1/query_range", self.base);
        let form = [
            ("query", expr.to_owned()),
            ("start", seconds(start)),
            ("end", seconds(end)),
            ("step", seconds(step)),
        ];
        let answer = self.post(&url).send_form(form);
        read(&url, answer)
    }

    /// The metric names with samples between `start` and `end` (Unix seconds).
    pub fn metric_names(
        &self,
        start: f64,
        end: f64,
    ) -> Result<std::collections::BTreeSet<String>, ApiError> {
        let url = format!("{}/api/v1/label/__name__/values", self.base);
        let transport = |e: ureq::Error| ApiError::Transport {
            url: url.clone(),
            message: e.to_string(),
        };
        let mut request = self
            .agent
            .get(&url)
            .query("start", seconds(start))
            .query("end", seconds(end));
        if let Some(auth) = &self.authorization {
            request = request.header("Authorization", auth);
        }
        let mut response = request.call().map_err(transport)?;
        let body = response.body_mut().read_to_string().map_err(transport)?;
        parse_names(&body)
    }

    /// An instant query at `time` (Unix seconds).
    pub fn query(&self, expr: &str, time: f64) -> Result<Vec<Series>, ApiError> {
        let url = format!("{}/api/v1/query", self.base);
        let form = [("query", expr.to_owned()), ("time", seconds(time))];
        let answer = self.post(&url).send_form(form);
        read(&url, answer)
    }
}

/// An agent that hands back error statuses with their bodies, which carry the
/// API's error message.
pub(super) fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .build()
        .into()
}

fn seconds(t: f64) -> String {
    let s = format!("{t:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// Reads an answer and parses it.
pub(super) fn read(
    url: &str,
    answer: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> Result<Vec<Series>, ApiError> {
    let transport = |e: ureq::Error| ApiError::Transport {
        url: url.to_owned(),
        message: e.to_string(),
    };
    let mut response = answer.map_err(transport)?;
    let status = response.status().as_u16();
    let body = response.body_mut().read_to_string().map_err(transport)?;
    match parse_response(&body) {
        Err(ApiError::Decode(_)) if !(200..300).contains(&status) => Err(ApiError::Http {
            url: url.to_owned(),
            status,
            body: body.chars().take(300).collect::<String>().trim().to_owned(),
        }),
        other => other,
    }
}

/// Parses an API answer: the envelope, then a matrix, vector, scalar or (Loki)
/// streams result.
pub fn parse_response(body: &str) -> Result<Vec<Series>, ApiError> {
    let envelope: Envelope =
        serde_json::from_str(body).map_err(|e| ApiError::Decode(e.to_string()))?;
    let data = match envelope {
        Envelope::Success { data } => data,
        Envelope::Error { error_type, error } => {
            return Err(ApiError::Query { error_type, error });
        }
    };
    let bad = |v: &str| ApiError::Decode(format!("bad sample value {v:?}"));
    let point = |(t, v): (f64, String)| Ok((t, sample_value(&v).ok_or_else(|| bad(&v))?));
    match data {
        Data::Matrix(result) => result
            .into_iter()
            .map(|s| {
                Ok(Series {
                    labels: s.metric,
                    points: s.values.into_iter().map(point).collect::<Result<_, _>>()?,
                    lines: Vec::new(),
                })
            })
            .collect(),
        Data::Vector(result) => result
            .into_iter()
            .map(|s| {
                Ok(Series {
                    labels: s.metric,
                    points: vec![point(s.value)?],
                    lines: Vec::new(),
                })
            })
            .collect(),
        Data::Scalar(sample) => Ok(vec![Series {
            labels: BTreeMap::new(),
            points: vec![point(sample)?],
            lines: Vec::new(),
        }]),
        // A log stream counts as one point (a line) at each of its timestamps, and
        // keeps each line's text.
        Data::Streams(result) => result
            .into_iter()
            .map(|s| {
                let points = s
                    .values
                    .iter()
                    .map(|(ns, _)| {
                        let ns = ns.parse::<f64>().map_err(|_| bad(ns))?;
                        Ok((ns / 1e9, 1.0))
                    })
                    .collect::<Result<_, ApiError>>()?;
                Ok(Series {
                    labels: s.stream,
                    points,
                    lines: s.values.into_iter().map(|(_, line)| line).collect(),
                })
            })
            .collect(),
    }
}

/// The answer of Prometheus's (and Loki's) query API, as it documents it.
#[derive(Deserialize)]
#[serde(tag = "status", rename_all = "lowercase")]
enum Envelope {
    Success {
        data: Data,
    },
    Error {
        #[serde(rename = "errorType", default)]
        error_type: String,
        #[serde(default)]
        error: String,
    },
}

/// A query's result, by its `resultType`.
#[derive(Deserialize)]
#[serde(tag = "resultType", content = "result", rename_all = "lowercase")]
enum Data {
    Matrix(Vec<RangeSeries>),
    Vector(Vec<InstantSeries>),
    /// `[<unix seconds>, "<value>"]`.
    Scalar((f64, String)),
    Streams(Vec<Stream>),
}

#[derive(Deserialize)]
struct RangeSeries {
    #[serde(default)]
    metric: BTreeMap<String, String>,
    #[serde(default)]
    values: Vec<(f64, String)>,
}

#[derive(Deserialize)]
struct InstantSeries {
    #[serde(default)]
    metric: BTreeMap<String, String>,
    value: (f64, String),
}

/// A Loki log stream: its labels and `[<unix nanoseconds>, "<line>"]` entries.
#[derive(Deserialize)]
struct Stream {
    #[serde(default)]
    stream: BTreeMap<String, String>,
    #[serde(default)]
    values: Vec<(String, String)>,
}

/// A sample value as Prometheus writes it: a float, `NaN`, `+Inf` or `-Inf`.
pub fn sample_value(s: &str) -> Option<f64> {
    match s {
        "NaN" => Some(f64::NAN),
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        _ => s.parse().ok(),
    }
}

/// `/api/v1/label/__name__/values`, as the API documents it.
#[derive(serde::Deserialize)]
#[serde(tag = "status", rename_all = "lowercase")]
enum LabelValues {
    Success { data: Vec<String> },
    Error { error: String },
}

/// Parses `/api/v1/label/__name__/values`.
fn parse_names(body: &str) -> Result<BTreeSet<String>, ApiError> {
    match serde_json::from_str(body) {
        Ok(LabelValues::Success { data }) => Ok(data.into_iter().collect()),
        Ok(LabelValues::Error { error }) => Err(ApiError::Decode(format!("label values: {error}"))),
        Err(e) => Err(ApiError::Decode(format!("label values: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Credentials in the URL go out as basic auth, never into an error: a server
    /// answering 500 and a closed port both leave the password out.
    #[test]
    fn credentials_never_reach_an_error() {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut request = [0u8; 4096];
            let n = conn.read(&mut request).unwrap();
            let body = "user secret@ went wrong";
            let answer = format!(
                "HTTP/1.1 500 Internal Server Error\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            conn.write_all(answer.as_bytes()).unwrap();
            String::from_utf8_lossy(&request[..n]).into_owned()
        });
        let p = Prometheus::new(
            &format!("http://user:s3cr3t@127.0.0.1:{port}/"),
            Duration::from_secs(5),
        );
        let error = p.query("up", 0.0).unwrap_err().to_string();
        let request = server.join().unwrap();
        assert!(
            error.starts_with("HTTP 500 from http://127.0.0.1:"),
            "{error}"
        );
        assert!(!error.contains("s3cr3t"), "{error}");
        // base64("user:s3cr3t")
        assert!(request.contains("dXNlcjpzM2NyM3Q="), "{request}");
        let closed = Prometheus::new("http://user:s3cr3t@127.0.0.1:9", Duration::from_secs(2));
        let error = closed.query("up", 0.0).unwrap_err().to_string();
        assert!(!error.contains("s3cr3t"), "{error}");
    }

    #[test]
    fn matrix() {
        let body = r#"{"status":"success","data":{"resultType":"matrix","result":[
          {"metric":{"__name__":"up","app":"a"},"values":[[1700000000,"1"],[1700000015.5,"NaN"],[1700000030,"+Inf"]]},
          {"metric":{},"values":[[1700000000,"-Inf"],[1700000015,"2.5e-3"]]}]}}"#;
        let s = parse_response(body).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].labels["app"], "a");
        assert_eq!(s[0].points[0], (1_700_000_000.0, 1.0));
        assert_eq!(s[0].points[1].0, 1_700_000_015.5);
        assert!(s[0].points[1].1.is_nan());
        assert_eq!(s[0].points[2].1, f64::INFINITY);
        assert_eq!(s[1].points[0].1, f64::NEG_INFINITY);
        assert_eq!(s[1].points[1].1, 0.0025);
        assert!(s[1].labels.is_empty());
    }

    #[test]
    fn vector_scalar_and_empty() {
        let body = r#"{"status":"success","data":{"resultType":"vector","result":[
          {"metric":{"team":"awq"},"value":[1700000000.123,"42"]}]}}"#;
        let s = parse_response(body).unwrap();
        assert_eq!(s[0].points, [(1_700_000_000.123, 42.0)]);
        let body = r#"{"status":"success","data":{"resultType":"scalar","result":[1,"3"]}}"#;
        assert_eq!(parse_response(body).unwrap()[0].points, [(1.0, 3.0)]);
        let body = r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
        assert!(parse_response(body).unwrap().is_empty());
    }

    #[test]
    fn loki_streams_count_lines() {
        let body = r#"{"status":"success","data":{"resultType":"streams","result":[
          {"stream":{"namespace":"platform"},"values":[["1700000000000000000","bench start"],["1700000001000000000","harness ok"]]}],
          "stats":{}}}"#;
        let s = parse_response(body).unwrap();
        assert_eq!(s[0].labels["namespace"], "platform");
        assert_eq!(
            s[0].points,
            [(1_700_000_000.0, 1.0), (1_700_000_001.0, 1.0)]
        );
        assert_eq!(s[0].lines, ["bench start", "harness ok"]);
    }

    #[test]
    fn api_errors_keep_their_type() {
        let body = r#"{"status":"error","errorType":"bad_data","error":"1:5: parse error: unclosed left parenthesis"}"#;
        let e = parse_response(body).unwrap_err();
        assert_eq!(
            e.to_string(),
            "bad_data: 1:5: parse error: unclosed left parenthesis"
        );
    }

    #[test]
    fn garbage_is_a_decode_error() {
        for body in [
            "<html>",
            r#"{"data":{}}"#,
            r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,2]]}]}}"#,
            r#"{"status":"success","data":{"resultType":"tree","result":[]}}"#,
        ] {
            assert!(
                matches!(parse_response(body), Err(ApiError::Decode(_))),
                "{body}"
            );
        }
    }

    #[test]
    fn unreachable_server_is_a_transport_error() {
        // Port 9 (discard) on localhost is closed on any sane machine.
        let p = Prometheus::new("http://127.0.0.1:9/", Duration::from_secs(2));
        let e = p.query("up", 0.0).unwrap_err();
        assert!(matches!(e, ApiError::Transport { .. }), "{e}");
        assert!(
            e.to_string()
                .starts_with("cannot query http://127.0.0.1:9/api/v1/query: "),
            "{e}"
        );
    }

    #[test]
    fn seconds_are_short() {
        assert_eq!(seconds(1_700_000_000.0), "1700000000");
        assert_eq!(seconds(15.0), "15");
        assert_eq!(seconds(0.5), "0.5");
        assert_eq!(seconds(1.2344), "1.234");
    }

    #[test]
    fn label_values_answers() {
        let ok = r#"{"status":"success","data":["up","vllm:kv_cache_usage_perc"]}"#;
        assert_eq!(
            parse_names(ok).unwrap(),
            BTreeSet::from(["up".to_owned(), "vllm:kv_cache_usage_perc".to_owned()])
        );
        let bad = r#"{"status":"error","errorType":"bad_data","error":"invalid time"}"#;
        assert!(
            parse_names(bad)
                .unwrap_err()
                .to_string()
                .contains("invalid time")
        );
        assert!(parse_names("<html>").is_err());
    }
}
