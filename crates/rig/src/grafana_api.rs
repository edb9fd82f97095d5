//! A blocking client for Grafana's `POST /api/ds/query`, so that `verify --grafana`
//! asks every panel's question through Grafana itself: its datasources, its macro and
//! interval handling, its Prometheus and Loki plugins.
//!
//! Each planned query goes as one request ([`RequestBody`]), its expression as
//! Grafana's frontend sends it (dashboard variables replaced, `$__rate_interval` and
//! friends left for Grafana's backend), with the target's datasource uid and legend
//! format. The answer is read as the API documents it, its data frames becoming the
//! same [`Series`] the Prometheus and Loki clients return: a number field per series
//! (its labels from the field, or from the string columns of a table frame; null is
//! NaN, a number may come as text, `+Inf`, `-Inf` and `NaN` come from the frame's
//! `entities`), and for log frames one point per line (and its text), grouped by the
//! line's labels, as the Loki client does.
//!
//! It does not plan, interpolate or judge: [`plan`](mod@super::plan) and
//! [`evaluate`](mod@super::evaluate) do.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::de::IgnoredAny;
use serde::{Deserialize, Deserializer, Serialize};

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
            let message = serde_json::from_str::<Failure>(body)
                .ok()
                .and_then(|f| f.message);
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

/// The `/api/ds/query` body for one query, refId `A`: the time range in Unix
/// milliseconds (as text, as Grafana's frontend sends it) and the query.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RequestBody<'a> {
    /// Start, Unix milliseconds.
    from: String,
    /// End, Unix milliseconds.
    to: String,
    /// The one query.
    queries: [Query<'a>; 1],
}

/// One query of a [`RequestBody`]: what every kind sends, then the kind's own fields.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
struct Query<'a> {
    /// Always `A`, the refId [`parse_frames`] reads.
    ref_id: &'static str,
    /// Which datasource answers.
    datasource: Datasource<'a>,
    /// The expression, as Grafana's frontend sends it.
    expr: &'a str,
    /// The panel's `maxDataPoints`, 1000 when it sets none.
    max_data_points: f64,
    /// The target's `legendFormat`, left out when it has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    legend_format: Option<&'a str>,
    /// The range, instant or Loki fields.
    #[serde(flatten)]
    kind: KindFields<'a>,
}

/// A datasource reference: its plugin type and uid.
#[derive(Clone, Debug, PartialEq, Serialize)]
struct Datasource<'a> {
    /// `prometheus` or `loki`.
    #[serde(rename = "type")]
    kind: &'a str,
    /// The datasource's uid.
    uid: &'a str,
}

/// The fields of a [`Query`] that depend on its [`QueryKind`].
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged, rename_all_fields = "camelCase")]
enum KindFields<'a> {
    /// A Prometheus range query (`range`, not `instant`) at the planned step.
    Range {
        /// Always true.
        range: bool,
        /// Always false.
        instant: bool,
        /// The step, milliseconds.
        interval_ms: i64,
    },
    /// A Prometheus instant query, as a table (one row per series).
    Instant {
        /// Always false.
        range: bool,
        /// Always true.
        instant: bool,
        /// Always `table`.
        format: &'static str,
    },
    /// A Loki range query.
    Loki {
        /// Always `range`.
        query_type: &'static str,
        /// The line limit.
        max_lines: u64,
        /// `backward` or `forward`.
        direction: &'a str,
        /// The step for metric queries, milliseconds.
        interval_ms: i64,
    },
}

/// The `/api/ds/query` body for one query, refId `A`.
pub fn request_body<'a>(q: &DsQuery<'a>) -> RequestBody<'a> {
    let ms = |s: f64| (s * 1000.0).round() as i64;
    let (from, to, kind) = match q.kind {
        QueryKind::Range { start, end, step } => (
            ms(*start),
            ms(*end),
            KindFields::Range {
                range: true,
                instant: false,
                interval_ms: ms(*step),
            },
        ),
        QueryKind::Instant { time } => (
            ms(*time - 1.0),
            ms(*time),
            KindFields::Instant {
                range: false,
                instant: true,
                format: "table",
            },
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
            KindFields::Loki {
                query_type: "range",
                max_lines: *limit,
                direction,
                interval_ms: ms(*step),
            },
        ),
    };
    RequestBody {
        from: from.to_string(),
        to: to.to_string(),
        queries: [Query {
            ref_id: "A",
            datasource: Datasource {
                kind: q.datasource_type,
                uid: q.datasource_uid,
            },
            expr: q.expr,
            max_data_points: q.max_data_points.unwrap_or(1000.0),
            legend_format: q.legend_format,
            kind,
        }],
    }
}

/// An `/api/ds/query` answer: each query's result by refId, and (when Grafana
/// refused the request as a whole) its `message`.
#[derive(Deserialize)]
struct Response {
    /// The results, by refId.
    #[serde(default, deserialize_with = "nullable")]
    results: BTreeMap<String, QueryResult>,
    /// Why there are no results, e.g. "Data source not found".
    message: Option<String>,
}

/// The `message` of a failing answer, whatever else it holds.
#[derive(Deserialize)]
struct Failure {
    /// Grafana's message.
    message: Option<String>,
}

/// One query's result: its error and status, or its data frames.
#[derive(Deserialize)]
struct QueryResult {
    /// The datasource's error, e.g. a PromQL parse error.
    error: Option<String>,
    /// The HTTP status Grafana gives the error.
    status: Option<u64>,
    /// The data frames.
    #[serde(default, deserialize_with = "nullable")]
    frames: Vec<Frame>,
}

/// A data frame: its fields' schema and their values, column by column.
#[derive(Deserialize)]
struct Frame {
    /// The schema; a frame without one is not read.
    schema: Option<Schema>,
    /// The columns.
    #[serde(default, deserialize_with = "nullable")]
    data: FrameData,
}

/// A frame's schema: its fields.
#[derive(Deserialize)]
struct Schema {
    /// The fields, in column order.
    fields: Option<Vec<FieldSchema>>,
}

/// A field's name, type and labels.
#[derive(Deserialize)]
struct FieldSchema {
    /// The name, e.g. `Time`, `Value` or a table's column name.
    #[serde(default, deserialize_with = "nullable")]
    name: String,
    /// The type: `time`, `number`, `string`, `other`.
    #[serde(rename = "type", default, deserialize_with = "nullable")]
    kind: String,
    /// The labels: an object of strings, or a JSON text of one.
    labels: Option<Cell>,
}

/// A frame's columns, and the rows that JSON cannot hold.
#[derive(Default, Deserialize)]
struct FrameData {
    /// One column per field; a null column has no rows.
    #[serde(default, deserialize_with = "nullable")]
    values: Vec<Option<Vec<Cell>>>,
    /// Per field, the rows holding `+Inf`, `-Inf` or `NaN` (null in `values`);
    /// null for a field without any.
    #[serde(default, deserialize_with = "nullable")]
    entities: Vec<Option<Entities>>,
}

/// The rows of a field that JSON has no number for (`{"Inf": [1], "NegInf": [4]}`):
/// the frame sends null there and lists the rows here.
#[derive(Deserialize)]
struct Entities {
    /// The `+Inf` rows.
    #[serde(rename = "Inf", default, deserialize_with = "nullable")]
    inf: Vec<usize>,
    /// The `-Inf` rows.
    #[serde(rename = "NegInf", default, deserialize_with = "nullable")]
    neg_inf: Vec<usize>,
    /// The `NaN` rows.
    #[serde(rename = "NaN", default, deserialize_with = "nullable")]
    nan: Vec<usize>,
}

impl Entities {
    /// Row `row`'s value, if it is one of these.
    fn at(&self, row: usize) -> Option<f64> {
        [
            (&self.inf, f64::INFINITY),
            (&self.neg_inf, f64::NEG_INFINITY),
            (&self.nan, f64::NAN),
        ]
        .into_iter()
        .find_map(|(rows, value)| rows.contains(&row).then_some(value))
    }
}

/// One value of a frame's column, whatever its field's type.
#[derive(Deserialize)]
#[serde(untagged)]
enum Cell {
    /// A number: a time in Unix milliseconds, or a value.
    Number(f64),
    /// A string: a label, a log line, a number written as text, or labels as a
    /// JSON text.
    String(String),
    /// An object: a log line's labels.
    Labels(BTreeMap<String, Cell>),
    /// Anything else: null (no value), a boolean, a list.
    None(IgnoredAny),
}

impl Cell {
    /// As a value: a number, or a number written as Prometheus does (`"NaN"`,
    /// `"+Inf"`, `"1.5"`); null and anything else is NaN.
    fn number(&self) -> f64 {
        match self {
            Cell::Number(n) => *n,
            Cell::String(s) => prom_api::sample_value(s).unwrap_or(f64::NAN),
            Cell::Labels(_) | Cell::None(_) => f64::NAN,
        }
    }

    /// As a time, Unix milliseconds to seconds; anything not a number is NaN.
    fn seconds(&self) -> f64 {
        match self {
            Cell::Number(ms) => ms / 1000.0,
            _ => f64::NAN,
        }
    }

    /// As a string, if it is one.
    fn text(&self) -> Option<&str> {
        match self {
            Cell::String(s) => Some(s),
            _ => None,
        }
    }

    /// As labels: the string values of an object, or of the object a JSON text
    /// holds (as log frames carry labels); none for anything else.
    fn labels(&self) -> BTreeMap<String, String> {
        let strings = |object: &BTreeMap<String, Cell>| {
            object
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), v.text()?.to_owned())))
                .collect()
        };
        match self {
            Cell::Labels(object) => strings(object),
            Cell::String(text) => serde_json::from_str(text)
                .map(|object| strings(&object))
                .unwrap_or_default(),
            Cell::Number(_) | Cell::None(_) => BTreeMap::new(),
        }
    }
}

/// A field's value that may be null, null read as the default (as a missing one).
fn nullable<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Option::<T>::deserialize(deserializer).map(Option::unwrap_or_default)
}

/// Parses an `/api/ds/query` answer for refId `A` into series.
pub fn parse_frames(body: &str) -> Result<Vec<Series>, ApiError> {
    let response: Response = serde_json::from_str(body).map_err(|e| {
        ApiError::Decode(if e.is_data() {
            format!("not an /api/ds/query answer ({e})")
        } else {
            format!("not JSON ({e})")
        })
    })?;
    let Some(result) = response.results.get("A") else {
        let message = response.message.unwrap_or_default();
        return Err(ApiError::Decode(format!(
            "no results for refId A{}",
            if message.is_empty() {
                String::new()
            } else {
                format!(": {message}")
            }
        )));
    };
    if let Some(error) = &result.error {
        return Err(ApiError::Query {
            error_type: format!("grafana {}", result.status.unwrap_or(400)),
            error: error.clone(),
        });
    }
    let mut series = Vec::new();
    for frame in &result.frames {
        frame_series(frame, &mut series)?;
    }
    Ok(series)
}

/// One field of a frame: its schema and its column.
struct Field<'a> {
    /// The field's name.
    name: &'a str,
    /// The field's type.
    kind: &'a str,
    /// The field's labels.
    labels: BTreeMap<String, String>,
    /// The field's column.
    values: &'a [Cell],
    /// The field's `+Inf`, `-Inf` and `NaN` rows.
    entities: Option<&'a Entities>,
}

impl Field<'_> {
    /// Row `row`'s number; null (and anything not a number) is NaN.
    fn number(&self, row: usize) -> f64 {
        if let Some(special) = self.entities.and_then(|e| e.at(row)) {
            return special;
        }
        self.values.get(row).map_or(f64::NAN, Cell::number)
    }
}

/// Appends a frame's series to `out`: a series per number field, a series per row
/// of a table frame, a series per label set of a log frame.
fn frame_series(frame: &Frame, out: &mut Vec<Series>) -> Result<(), ApiError> {
    let schema = frame
        .schema
        .as_ref()
        .and_then(|s| s.fields.as_deref())
        .ok_or_else(|| ApiError::Decode("a frame without schema.fields".to_owned()))?;
    let fields: Vec<Field<'_>> = schema
        .iter()
        .enumerate()
        .map(|(i, f)| Field {
            name: &f.name,
            kind: &f.kind,
            labels: f.labels.as_ref().map(Cell::labels).unwrap_or_default(),
            values: frame
                .data
                .values
                .get(i)
                .and_then(Option::as_deref)
                .unwrap_or_default(),
            entities: frame.data.entities.get(i).and_then(Option::as_ref),
        })
        .collect();
    let time = fields.iter().find(|f| f.kind == "time");
    let at = |row: usize| -> f64 {
        time.and_then(|t| t.values.get(row))
            .map_or(f64::NAN, Cell::seconds)
    };
    let line = fields
        .iter()
        .find(|f| f.kind == "string" && matches!(f.name, "Line" | "line" | "body"));
    if let Some(line) = line {
        // Log lines: one point per line, a series per distinct label set.
        let labels = fields.iter().find(|f| f.name == "labels");
        let mut streams: BTreeMap<BTreeMap<String, String>, Series> = BTreeMap::new();
        for row in 0..line.values.len() {
            let key = labels
                .and_then(|l| l.values.get(row))
                .map(Cell::labels)
                .unwrap_or_default();
            let text = line
                .values
                .get(row)
                .and_then(Cell::text)
                .unwrap_or_default();
            let stream = streams.entry(key.clone()).or_insert_with(|| Series {
                labels: key,
                ..Series::default()
            });
            stream.points.push((at(row), 1.0));
            stream.lines.push(text.to_owned());
        }
        out.extend(streams.into_values());
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
                lines: Vec::new(),
            });
        } else {
            // A table frame: each row is a series, labelled by the string columns.
            for row in 0..field.values.len() {
                let mut labels = field.labels.clone();
                for s in &strings {
                    if let Some(v) = s.values.get(row).and_then(Cell::text) {
                        labels.insert(s.name.to_owned(), v.to_owned());
                    }
                }
                out.push(Series {
                    labels,
                    points: vec![(at(row), field.number(row))],
                    lines: Vec::new(),
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    /// The body [`Grafana::query`] sends, as JSON.
    fn body(q: &DsQuery<'_>) -> Value {
        serde_json::to_value(request_body(q)).unwrap()
    }

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
            body(&q),
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
        let body = body(&DsQuery {
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

    /// Every kind's whole body, as the `json!` literals that built it before it was
    /// typed: the same keys, and numbers of the same JSON type (`maxDataPoints` a
    /// float, `intervalMs` and `maxLines` integers, the times strings).
    #[test]
    fn bodies_of_every_kind_are_what_grafana_takes() {
        let range = range();
        let q = DsQuery {
            datasource_type: "prometheus",
            datasource_uid: "prom-uid",
            expr: "up",
            legend_format: None,
            kind: &range,
            max_data_points: Some(300.0),
        };
        assert_eq!(
            body(&q),
            json!({"from": "1700000000000", "to": "1700001800000", "queries": [{
                "refId": "A", "datasource": {"type": "prometheus", "uid": "prom-uid"},
                "expr": "up", "range": true, "instant": false, "intervalMs": 15000,
                "maxDataPoints": 300.0}]})
        );
        let instant = QueryKind::Instant {
            time: 1_700_000_000.5,
        };
        let q = DsQuery {
            legend_format: Some("{{team}}"),
            kind: &instant,
            max_data_points: None,
            ..q
        };
        assert_eq!(
            body(&q),
            json!({"from": "1699999999500", "to": "1700000000500", "queries": [{
                "refId": "A", "datasource": {"type": "prometheus", "uid": "prom-uid"},
                "expr": "up", "range": false, "instant": true, "format": "table",
                "maxDataPoints": 1000.0, "legendFormat": "{{team}}"}]})
        );
        let loki = QueryKind::Loki {
            start: 10.0,
            end: 70.0,
            step: 0.25,
            limit: 50,
            direction: "forward".to_owned(),
        };
        let q = DsQuery {
            datasource_type: "loki",
            datasource_uid: "loki-uid",
            expr: "count_over_time({a=\"b\"}[1m])",
            legend_format: Some("{{a}}"),
            kind: &loki,
            max_data_points: Some(500.0),
        };
        assert_eq!(
            body(&q),
            json!({"from": "10000", "to": "70000", "queries": [{
                "refId": "A", "datasource": {"type": "loki", "uid": "loki-uid"},
                "expr": "count_over_time({a=\"b\"}[1m])", "queryType": "range",
                "maxLines": 50, "direction": "forward", "intervalMs": 250,
                "maxDataPoints": 500.0, "legendFormat": "{{a}}"}]})
        );
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
    fn nan_entities_and_numbers_as_text() {
        let body = r#"{"results":{"A":{"frames":[{"schema":{"fields":[
            {"name":"Time","type":"time"},{"name":"Value","type":"number"}]},
            "data":{"values":[[1000,2000,3000,4000,5000,6000,"7000"],
              [null,"1.5","+Inf","-Inf","NaN","many",true]],
              "entities":[null,{"NaN":[0],"Inf":null}]}}]}}}"#;
        let s = parse_frames(body).unwrap();
        let values: Vec<f64> = s[0].points.iter().map(|p| p.1).collect();
        assert!(values[0].is_nan(), "a NaN entity");
        assert_eq!(values[1..4], [1.5, f64::INFINITY, f64::NEG_INFINITY]);
        assert!(values[4..].iter().all(|v| v.is_nan()), "{values:?}");
        assert_eq!(s[0].points[1].0, 2.0);
        assert!(s[0].points[6].0.is_nan(), "a time as text is no time");
    }

    #[test]
    fn labels_may_be_json_text() {
        let body = r#"{"results":{"A":{"frames":[{"schema":{"fields":[
            {"name":"Time","type":"time"},
            {"name":"Value","type":"number","labels":"{\"app\":\"awq\",\"n\":1}"},
            {"name":"Value","type":"number","labels":"not labels"},
            {"name":"Value","type":"number","labels":null}]},
            "data":{"values":[[1000],[1],[2],[3]]}}]}}}"#;
        let s = parse_frames(body).unwrap();
        assert_eq!(s.len(), 3);
        assert_eq!(
            s[0].labels,
            BTreeMap::from([("app".to_owned(), "awq".to_owned())]),
            "non-string label values are left out"
        );
        assert!(s[1].labels.is_empty() && s[2].labels.is_empty());
        let logs = r#"{"results":{"A":{"frames":[{"schema":{"fields":[
            {"name":"labels","type":"other"},{"name":"Time","type":"time"},
            {"name":"body","type":"string"}]},
            "data":{"values":[["{\"job\":\"x\"}",{"job":"x"},null,"[1]"],
              [1000,2000,3000,4000],["a","b","c","d"]]}}]}}}"#;
        let s = parse_frames(logs).unwrap();
        assert_eq!(s.len(), 2);
        assert!(s[0].labels.is_empty());
        assert_eq!(s[0].points, [(3.0, 1.0), (4.0, 1.0)]);
        assert_eq!(s[1].labels["job"], "x");
        assert_eq!(s[1].points, [(1.0, 1.0), (2.0, 1.0)]);
    }

    #[test]
    fn nulls_are_empty() {
        for body in [
            r#"{"results":{"A":{"status":200,"frames":null}}}"#,
            r#"{"results":{"A":{"frames":[{"schema":{"fields":[
                {"name":"Value","type":"number"}]},"data":null}]}}}"#,
            r#"{"results":{"A":{"frames":[{"schema":{"fields":[
                {"name":"Value","type":"number"}]},"data":{"values":[null],"entities":null}}]}}}"#,
        ] {
            let s = parse_frames(body).unwrap();
            assert!(s.iter().all(|s| s.points.is_empty()), "{body}");
        }
        let e = parse_frames(r#"{"results":null,"message":null}"#).unwrap_err();
        assert_eq!(e.to_string(), "unexpected answer: no results for refId A");
        let e = parse_frames(r#"{"results":{"A":{"frames":[{"schema":null}]}}}"#).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unexpected answer: a frame without schema.fields"
        );
    }

    #[test]
    fn answers_of_another_shape_are_decode_errors() {
        for body in [
            r#"{"results":{"A":{"frames":5}}}"#,
            r#"{"results":{"A":{"error":"x","status":"bad"}}}"#,
            r#"{"results":{"A":{"frames":[{"schema":{"fields":{}}}]}}}"#,
        ] {
            let e = parse_frames(body).unwrap_err();
            assert!(
                matches!(&e, ApiError::Decode(m) if m.starts_with("not an /api/ds/query answer (")),
                "{body}: {e}"
            );
        }
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
        assert_eq!(s[0].lines, ["a", "b"], "each line's text is kept");
        assert_eq!(s[1].labels["component"], "run");
        assert_eq!(s[1].lines, ["c"]);
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
        // A message, with results that are not the query's or not results at all.
        let failed = r#"{"message":"Query data error","results":{}}"#;
        assert_eq!(
            answer(url, 500, failed).unwrap_err().to_string(),
            "HTTP 500 from http://g:3000/api/ds/query: Query data error"
        );
        let denied = r#"{"message":"Permission denied","results":{"A":{"frames":"x"}}}"#;
        assert_eq!(
            answer(url, 403, denied).unwrap_err().to_string(),
            "HTTP 403 from http://g:3000/api/ds/query: Permission denied"
        );
        // A message that is not text is no message: the body says why.
        let odd = r#"{"message":{"text":"no"}}"#;
        assert_eq!(
            answer(url, 503, odd).unwrap_err().to_string(),
            format!("HTTP 503 from http://g:3000/api/ds/query: {odd}")
        );
        // A successful status with an answer of another shape is a decode error.
        assert!(matches!(
            answer(url, 200, r#"{"results":{"A":{"frames":5}}}"#),
            Err(ApiError::Decode(_))
        ));
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
