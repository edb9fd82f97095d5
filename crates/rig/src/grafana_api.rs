//! A blocking client for Grafana's `POST /api/ds/query`, so that `verify --grafana`
//! asks every panel's question through Grafana itself: its datasources, its macro and
//! interval handling, its Prometheus and Loki plugins.
//!
//! Each planned query goes as one request, its expression as Grafana's frontend sends
//! it (dashboard variables replaced, `$__rate_interval` and friends left for Grafana's
//! backend), with the target's datasource uid and legend format. The answer's data
//! frames become the same [`Series`] the Prometheus and Loki clients return: a number
//! field per series (its labels from the field, or from the string columns of a table
//! frame; null is NaN, `+Inf` and `-Inf` come from the frame's `entities`), and for log
//! frames one point per line, grouped by the line's labels, as the Loki client does.
//!
//! It does not plan, interpolate or judge: [`plan`](mod@super::plan) and
//! [`evaluate`](mod@super::evaluate) do.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};

use super::answer::{ApiError, Series};
use super::plan::QueryKind;
use super::prom_api::{self, Prometheus};

/// The environment variable a Grafana service-account token is read from.
pub const TOKEN_VARIABLE: &str = "VLLM_SIM_GRAFANA_TOKEN";

/// A Grafana server.
#[derive(Clone, Debug)]
pub struct Grafana {
    base: String,
    /// The `Authorization` header, if any.
    authorization: Option<String>,
    agent: ureq::Agent,
}

/// One query, as `/api/ds/query` takes it.
#[derive(Clone, Debug, PartialEq)]
pub struct DsQuery<'a> {
    /// `prometheus` or `loki`.
    pub datasource_type: &'a str,
    /// The datasource's uid.
    pub datasource_uid: &'a str,
    /// The expression, as Grafana's frontend sends it.
    pub expr: &'a str,
    /// The target's `legendFormat`, if it has one.
    pub legend_format: Option<&'a str>,
    /// The range, step or time the rig planned.
    pub kind: &'a QueryKind,
    /// The panel's `maxDataPoints`, if it sets one.
    pub max_data_points: Option<f64>,
}

impl Grafana {
    /// A client for `url`, e.g. `http://127.0.0.1:3000`. Credentials in the URL
    /// (`http://admin:admin@host:3000`) are sent as basic auth; otherwise a token in
    /// `VLLM_SIM_GRAFANA_TOKEN`, when set, as a bearer token.
    pub fn new(url: &str, timeout: Duration) -> Result<Grafana, String> {
        let token = std::env::var(TOKEN_VARIABLE).ok().filter(|t| !t.is_empty());
        Grafana::with_token(url, token.as_deref(), timeout)
    }

    fn with_token(url: &str, token: Option<&str>, timeout: Duration) -> Result<Grafana, String> {
        if !url.starts_with("http://") && !url.starts_with("https://") {
            return Err(format!(
                "{:?} is not an http:// or https:// URL",
                super::urls::redacted(url)
            ));
        }
        let (base, basic) = super::urls::with_basic_auth(url);
        let authorization = basic.or_else(|| token.map(|t| format!("Bearer {t}")));
        Ok(Grafana {
            base: base.trim_end_matches('/').to_owned(),
            authorization,
            agent: prom_api::agent(timeout),
        })
    }

    /// The server's base URL, without credentials.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The Prometheus datasource `uid`, through Grafana's datasource proxy.
    pub fn prometheus_proxy(&self, uid: &str, timeout: Duration) -> Prometheus {
        Prometheus::with_authorization(
            &format!("{}/api/datasources/proxy/uid/{uid}", self.base),
            self.authorization.clone(),
            timeout,
        )
    }

    /// Runs one query.
    pub fn query(&self, q: &DsQuery<'_>) -> Result<Vec<Series>, ApiError> {
        let url = format!("{}/api/ds/query", self.base);
        let mut request = self.agent.post(&url);
        if let Some(auth) = &self.authorization {
            request = request.header("Authorization", auth);
        }
        let transport = |e: ureq::Error| ApiError::Transport {
            url: url.clone(),
            message: e.to_string(),
        };
        let mut response = request.send_json(request_body(q)).map_err(transport)?;
        let status = response.status().as_u16();
        let body = response.body_mut().read_to_string().map_err(transport)?;
        answer(&url, status, &body)
    }
}

/// An answer from `url` as series, or the error it names: the query's own error
/// (Grafana's 400 when a datasource refused it), else for another failing status
/// Grafana's `message` (e.g. 404 "Data source not found") or the body's start.
fn answer(url: &str, status: u16, body: &str) -> Result<Vec<Series>, ApiError> {
    match parse_frames(body) {
        Err(ApiError::Decode(_)) if !(200..300).contains(&status) => {
            let message = serde_json::from_str::<Value>(body)
                .ok()
                .and_then(|v| Some(v.get("message")?.as_str()?.to_owned()));
            let body = message.unwrap_or_else(|| body.chars().take(300).collect());
            Err(ApiError::Http {
                url: url.to_owned(),
                status,
                body: body.trim().to_owned(),
            })
        }
        other => other,
    }
}

/// Splits `user:pass@host:port` into the host part (with `path`) and the userinfo.
/// The `/api/ds/query` body for one query, refId `A`.
pub fn request_body(q: &DsQuery<'_>) -> Value {
    let ms = |s: f64| format!("{}", (s * 1000.0).round() as i64);
    let datasource = json!({"type": q.datasource_type, "uid": q.datasource_uid});
    let max_data_points = q.max_data_points.unwrap_or(1000.0);
    let (from, to, query) = match q.kind {
        QueryKind::Range { start, end, step } => (
            ms(*start),
            ms(*end),
            json!({"range": true, "instant": false, "intervalMs": (step * 1000.0).round() as i64}),
        ),
        QueryKind::Instant { time } => (
            ms(*time - 1.0),
            ms(*time),
            json!({"range": false, "instant": true, "format": "table"}),
        ),
        QueryKind::Loki {
            start,
            end,
            step,
            limit,
            direction,
        } => (
            ms(*start),
            ms(*end),
            json!({
                "queryType": "range",
                "maxLines": limit,
                "direction": direction,
                "intervalMs": (step * 1000.0).round() as i64,
            }),
        ),
    };
    let mut query = query;
    query["refId"] = json!("A");
    query["datasource"] = datasource;
    query["expr"] = json!(q.expr);
    query["maxDataPoints"] = json!(max_data_points);
    if let Some(legend) = q.legend_format {
        query["legendFormat"] = json!(legend);
    }
    json!({"from": from, "to": to, "queries": [query]})
}

/// Parses an `/api/ds/query` answer for refId `A` into series.
pub fn parse_frames(body: &str) -> Result<Vec<Series>, ApiError> {
    let v: Value =
        serde_json::from_str(body).map_err(|e| ApiError::Decode(format!("not JSON ({e})")))?;
    let Some(result) = v.get("results").and_then(|r| r.get("A")) else {
        let message = v.get("message").and_then(Value::as_str).unwrap_or_default();
        return Err(ApiError::Decode(format!(
            "no results for refId A{}",
            if message.is_empty() {
                String::new()
            } else {
                format!(": {message}")
            }
        )));
    };
    if let Some(error) = result.get("error").and_then(Value::as_str) {
        return Err(ApiError::Query {
            error_type: format!(
                "grafana {}",
                result.get("status").and_then(Value::as_u64).unwrap_or(400)
            ),
            error: error.to_owned(),
        });
    }
    let frames = result
        .get("frames")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut series = Vec::new();
    for frame in frames {
        frame_series(frame, &mut series)?;
    }
    Ok(series)
}

/// One field of a frame: its name, type, labels and values.
struct Field<'a> {
    name: &'a str,
    kind: &'a str,
    labels: BTreeMap<String, String>,
    values: &'a [Value],
    /// The rows holding `+Inf` and `-Inf`: JSON has no infinities, so a frame sends
    /// null and lists the rows under `data.entities` (NaN rows are null already).
    infinities: Vec<(usize, f64)>,
}

impl Field<'_> {
    /// Row `row`'s number; null (and anything not a number) is NaN.
    fn number(&self, row: usize) -> f64 {
        if let Some((_, inf)) = self.infinities.iter().find(|(r, _)| *r == row) {
            return *inf;
        }
        self.values.get(row).map_or(f64::NAN, number)
    }
}

/// The `+Inf` and `-Inf` rows of an `entities` entry (`{"Inf": [1], "NegInf": [4]}`).
fn infinities(entity: Option<&Value>) -> Vec<(usize, f64)> {
    let rows = |key: &str, value: f64| {
        entity
            .and_then(|e| e.get(key))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_u64)
            .filter_map(move |r| Some((usize::try_from(r).ok()?, value)))
    };
    rows("Inf", f64::INFINITY)
        .chain(rows("NegInf", f64::NEG_INFINITY))
        .collect()
}

fn frame_series(frame: &Value, out: &mut Vec<Series>) -> Result<(), ApiError> {
    let schema = frame
        .pointer("/schema/fields")
        .and_then(Value::as_array)
        .ok_or_else(|| ApiError::Decode("a frame without schema.fields".to_owned()))?;
    let values = frame
        .pointer("/data/values")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let entities = frame
        .pointer("/data/entities")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let fields: Vec<Field<'_>> = schema
        .iter()
        .enumerate()
        .map(|(i, f)| Field {
            name: f.get("name").and_then(Value::as_str).unwrap_or_default(),
            kind: f.get("type").and_then(Value::as_str).unwrap_or_default(),
            labels: string_map(f.get("labels")),
            values: values
                .get(i)
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or_default(),
            infinities: infinities(entities.get(i)),
        })
        .collect();
    let time = fields.iter().find(|f| f.kind == "time");
    let at = |row: usize| -> f64 {
        time.and_then(|t| t.values.get(row))
            .and_then(Value::as_f64)
            .map_or(f64::NAN, |ms| ms / 1000.0)
    };
    let line = fields
        .iter()
        .find(|f| f.kind == "string" && matches!(f.name, "Line" | "line" | "body"));
    if let Some(line) = line {
        // Log lines: one point per line, a series per distinct label set.
        let labels = fields.iter().find(|f| f.name == "labels");
        let mut streams: BTreeMap<BTreeMap<String, String>, Vec<(f64, f64)>> = BTreeMap::new();
        for row in 0..line.values.len() {
            let key = labels
                .map(|l| string_map(l.values.get(row)))
                .unwrap_or_default();
            streams.entry(key).or_default().push((at(row), 1.0));
        }
        out.extend(
            streams
                .into_iter()
                .map(|(labels, points)| Series { labels, points }),
        );
        return Ok(());
    }
    let strings: Vec<&Field<'_>> = fields.iter().filter(|f| f.kind == "string").collect();
    for field in fields.iter().filter(|f| f.kind == "number") {
        if strings.is_empty() {
            let points = (0..field.values.len())
                .map(|row| (at(row), field.number(row)))
                .collect();
            out.push(Series {
                labels: field.labels.clone(),
                points,
            });
        } else {
            // A table frame: each row is a series, labelled by the string columns.
            for row in 0..field.values.len() {
                let mut labels = field.labels.clone();
                for s in &strings {
                    if let Some(v) = s.values.get(row).and_then(Value::as_str) {
                        labels.insert(s.name.to_owned(), v.to_owned());
                    }
                }
                out.push(Series {
                    labels,
                    points: vec![(at(row), field.number(row))],
                });
            }
        }
    }
    Ok(())
}

/// A frame value as a number; null (and anything else) is NaN.
fn number(v: &Value) -> f64 {
    match v {
        Value::Number(n) => n.as_f64().unwrap_or(f64::NAN),
        Value::String(s) => prom_api::sample_value(s).unwrap_or(f64::NAN),
        _ => f64::NAN,
    }
}

/// A JSON object of strings (or a JSON text of one, as log frames carry labels).
fn string_map(v: Option<&Value>) -> BTreeMap<String, String> {
    let parsed;
    let object = match v {
        Some(Value::Object(o)) => o,
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(o)) => {
                parsed = o;
                &parsed
            }
            _ => return BTreeMap::new(),
        },
        _ => return BTreeMap::new(),
    };
    object
        .iter()
        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range() -> QueryKind {
        QueryKind::Range {
            start: 1_700_000_000.0,
            end: 1_700_001_800.0,
            step: 15.0,
        }
    }

    #[test]
    fn bodies_carry_the_dashboard_expression_and_the_planned_range() {
        let kind = range();
        let q = DsQuery {
            datasource_type: "prometheus",
            datasource_uid: "prometheus",
            expr: "sum(rate(x[$__rate_interval]))",
            legend_format: Some("{{app}}"),
            kind: &kind,
            max_data_points: None,
        };
        assert_eq!(
            request_body(&q),
            json!({"from": "1700000000000", "to": "1700001800000", "queries": [{
                "refId": "A", "datasource": {"type": "prometheus", "uid": "prometheus"},
                "expr": "sum(rate(x[$__rate_interval]))", "range": true, "instant": false,
                "intervalMs": 15000, "maxDataPoints": 1000.0, "legendFormat": "{{app}}"}]})
        );
        let loki = QueryKind::Loki {
            start: 10.0,
            end: 70.0,
            step: 1.0,
            limit: 1000,
            direction: "backward".to_owned(),
        };
        let body = request_body(&DsQuery {
            datasource_type: "loki",
            datasource_uid: "loki",
            expr: "{a=\"b\"}",
            legend_format: None,
            kind: &loki,
            max_data_points: Some(500.0),
        });
        assert_eq!(body["queries"][0]["queryType"], "range");
        assert_eq!(body["queries"][0]["maxLines"], 1000);
        assert_eq!(body["queries"][0]["datasource"]["uid"], "loki");
        assert_eq!(body["queries"][0]["maxDataPoints"], 500.0);
        assert_eq!(body["from"], "10000");
        assert!(body["queries"][0].get("legendFormat").is_none());
    }

    #[test]
    fn time_series_frames() {
        let body = r#"{"results":{"A":{"status":200,"frames":[
            {"schema":{"refId":"A","fields":[{"name":"Time","type":"time"},
              {"name":"Value","type":"number","labels":{"app":"awq"}}]},
             "data":{"values":[[1700000000000,1700000015000],[1.5,null]]}},
            {"schema":{"fields":[{"name":"Time","type":"time"},
              {"name":"Value","type":"number","labels":{"app":"fp16"}}]},
             "data":{"values":[[1700000000000],[2]]}}]}}}"#;
        let s = parse_frames(body).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].labels["app"], "awq");
        assert_eq!(s[0].points[0], (1_700_000_000.0, 1.5));
        assert!(s[0].points[1].1.is_nan(), "null is NaN");
        assert_eq!(s[1].points, [(1_700_000_000.0, 2.0)]);
        let empty = r#"{"results":{"A":{"status":200,"frames":[]}}}"#;
        assert_eq!(parse_frames(empty).unwrap(), []);
    }

    #[test]
    fn infinities_come_from_the_frame_entities() {
        let body = r#"{"results":{"A":{"frames":[{"schema":{"fields":[
            {"name":"Time","type":"time"},{"name":"Value","type":"number"}]},
            "data":{"values":[[1000,2000,3000,4000],[null,null,null,0.5]],
              "entities":[null,{"NaN":[0],"Inf":[1],"NegInf":[2,99]}]}}]}}}"#;
        let s = parse_frames(body).unwrap();
        let values: Vec<f64> = s[0].points.iter().map(|p| p.1).collect();
        assert!(values[0].is_nan());
        assert_eq!(values[1..], [f64::INFINITY, f64::NEG_INFINITY, 0.5]);
    }

    #[test]
    fn table_frames_label_rows_by_their_string_columns() {
        let body = r#"{"results":{"A":{"frames":[{"schema":{"fields":[
            {"name":"Time","type":"time"},{"name":"team","type":"string"},
            {"name":"Value #A","type":"number"}]},
            "data":{"values":[[1,1],["baseline","quantization"],[22000,34000]]}}]}}}"#;
        let s = parse_frames(body).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[1].labels["team"], "quantization");
        assert_eq!(s[1].points[0].1, 34000.0);
    }

    #[test]
    fn log_frames_count_lines_per_label_set() {
        let body = r#"{"results":{"A":{"frames":[{"schema":{"fields":[
            {"name":"labels","type":"other"},{"name":"Time","type":"time"},
            {"name":"Line","type":"string"},{"name":"tsNs","type":"string"},
            {"name":"id","type":"string"}]},
            "data":{"values":[[{"component":"bench"},{"component":"bench"},"{\"component\":\"run\"}"],
              [3000,2000,1000],["a","b","c"],["3","2","1"],["x","y","z"]]}}]}}}"#;
        let s = parse_frames(body).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].labels["component"], "bench");
        assert_eq!(s[0].points, [(3.0, 1.0), (2.0, 1.0)]);
        assert_eq!(s[1].labels["component"], "run");
    }

    #[test]
    fn errors_name_what_grafana_said() {
        let body = r#"{"results":{"A":{"error":"bad_data: parse error at char 5","status":400}}}"#;
        assert_eq!(
            parse_frames(body).unwrap_err().to_string(),
            "grafana 400: bad_data: parse error at char 5"
        );
        let e = parse_frames(r#"{"message":"Data source not found"}"#).unwrap_err();
        assert!(e.to_string().contains("Data source not found"), "{e}");
        assert!(parse_frames("<html>").is_err());
    }

    #[test]
    fn failing_statuses_say_why() {
        let url = "http://g:3000/api/ds/query";
        let refused =
            r#"{"results":{"A":{"error":"parse error","errorSource":"downstream","status":400}}}"#;
        assert_eq!(
            answer(url, 400, refused).unwrap_err().to_string(),
            "grafana 400: parse error"
        );
        let unknown = r#"{"message":"Data source not found","traceID":""}"#;
        assert_eq!(
            answer(url, 404, unknown).unwrap_err().to_string(),
            "HTTP 404 from http://g:3000/api/ds/query: Data source not found"
        );
        let e = answer(url, 502, "<html>Bad Gateway</html>").unwrap_err();
        assert_eq!(
            e.to_string(),
            "HTTP 502 from http://g:3000/api/ds/query: <html>Bad Gateway</html>"
        );
        let e = answer(url, 200, "{\"results\":").unwrap_err();
        assert!(
            e.to_string().starts_with("unexpected answer: not JSON"),
            "{e}"
        );
        let unauthorized = r#"{"message":"Unauthorized"}"#;
        assert!(matches!(
            answer(url, 401, unauthorized),
            Err(ApiError::Http { status: 401, .. })
        ));
    }

    #[test]
    fn credentials_come_from_the_url_or_a_token() {
        let g = Grafana::with_token(
            "http://admin:admin@127.0.0.1:3000/",
            Some("t"),
            Duration::from_secs(1),
        )
        .unwrap();
        assert_eq!(g.base_url(), "http://127.0.0.1:3000");
        assert_eq!(g.authorization.as_deref(), Some("Basic YWRtaW46YWRtaW4="));
        let g = Grafana::with_token(
            "https://g.example/grafana",
            Some("t"),
            Duration::from_secs(1),
        )
        .unwrap();
        assert_eq!(g.base_url(), "https://g.example/grafana");
        assert_eq!(g.authorization.as_deref(), Some("Bearer t"));
        let g = Grafana::with_token("http://g:3000", None, Duration::from_secs(1)).unwrap();
        assert_eq!(g.authorization, None);
        assert!(Grafana::with_token("g:3000", None, Duration::from_secs(1)).is_err());
    }

    #[test]
    fn unreachable_grafana_is_a_transport_error() {
        let g = Grafana::with_token("http://127.0.0.1:9", None, Duration::from_secs(2)).unwrap();
        let kind = range();
        let e = g
            .query(&DsQuery {
                datasource_type: "prometheus",
                datasource_uid: "prometheus",
                expr: "up",
                legend_format: None,
                kind: &kind,
                max_data_points: None,
            })
            .unwrap_err();
        assert!(matches!(e, ApiError::Transport { .. }), "{e}");
    }
}
