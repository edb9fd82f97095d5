//! Variable interpolation of a query, as Grafana's frontend and Prometheus backend
//! do it together (reference §3).
//!
//! Grafana's own macros (`$__rate_interval`, `$__interval`, `$__range`, their `_ms`
//! and `_s` forms and `${…}` spellings) go first, longest names first; then
//! `$__from`/`$__to`; then dashboard variables (`$name`, `${name}`, `${name:fmt}`,
//! `[[name]]`), a datasource variable standing for the Prometheus datasource's uid.
//! Any `$__` left afterwards is an error: Prometheus would reject the query or, worse,
//! read it differently from Grafana.

use std::fmt;

use super::dashboard::Dashboard;
use super::interval::{Intervals, format_interval, go_duration};

/// What a query's text is interpolated with.
#[derive(Clone, Copy, Debug)]
pub struct Scope<'a> {
    /// The dashboard, for its variables.
    pub dashboard: &'a Dashboard,
    /// The uid a datasource variable resolves to.
    pub datasource_uid: &'a str,
    /// Start of the range, Unix milliseconds (`$__from`).
    pub from_ms: i64,
    /// End of the range, Unix milliseconds (`$__to`).
    pub to_ms: i64,
}

/// A `$__` variable that nothing replaced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leftover {
    /// The variable as written, e.g. `$__auto_interval_x`.
    pub variable: String,
    /// The query after interpolation.
    pub expr: String,
}

impl fmt::Display for Leftover {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` is left after interpolation in `{}`",
            self.variable, self.expr
        )
    }
}

impl std::error::Error for Leftover {}

/// Replaces Grafana's interval and range macros.
pub fn macros(expr: &str, i: &Intervals) -> String {
    let range_s = ((i.range_ms as f64) / 1000.0).round() as i64;
    let values = [
        ("__rate_interval_ms", i.rate_interval_ms.to_string()),
        ("__rate_interval", go_duration(i.rate_interval_ms)),
        ("__interval_ms", i.step_ms.to_string()),
        ("__interval", format_interval(i.step_ms)),
        ("__range_ms", i.range_ms.to_string()),
        ("__range_s", range_s.to_string()),
        ("__range", format!("{range_s}s")),
    ];
    let mut out = expr.to_owned();
    for (name, value) in &values {
        out = out.replace(&format!("${{{name}}}"), value);
        out = out.replace(&format!("${name}"), value);
    }
    out
}

/// Replaces `$__from`, `$__to` and dashboard variables; unknown names stay as written
/// (PromQL's `label_replace` uses `$1`).
pub fn variables(expr: &str, scope: &Scope<'_>) -> String {
    let mut out = String::with_capacity(expr.len());
    let mut rest = expr;
    while let Some(pos) = rest.find(['$', '[']) {
        out.push_str(&rest[..pos]);
        rest = &rest[pos..];
        let (len, name, format) = match reference(rest) {
            Some(r) => r,
            None => {
                let ch = rest.chars().next().unwrap_or('$');
                out.push(ch);
                rest = &rest[ch.len_utf8()..];
                continue;
            }
        };
        match value(name, format, scope) {
            Some(v) => out.push_str(&v),
            None => out.push_str(&rest[..len]),
        }
        rest = &rest[len..];
    }
    out.push_str(rest);
    out
}

/// Interpolates a whole query and checks nothing of Grafana's is left.
pub fn interpolate(
    expr: &str,
    intervals: &Intervals,
    scope: &Scope<'_>,
) -> Result<String, Leftover> {
    let out = variables(&macros(expr, intervals), scope);
    match leftover(&out) {
        Some(variable) => Err(Leftover {
            variable,
            expr: out,
        }),
        None => Ok(out),
    }
}

/// The first `$__name` or `${__name…}` in `text`.
pub fn leftover(text: &str) -> Option<String> {
    let at = text.find("$__").or_else(|| text.find("${__"))?;
    let tail = &text[at..];
    let end = if tail.starts_with("${") {
        tail.find('}').map_or(tail.len(), |e| e + 1)
    } else {
        1 + word_len(&tail[1..])
    };
    Some(tail[..end].to_owned())
}

fn word_len(s: &str) -> usize {
    s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len())
}

/// A variable reference at the start of `s`: its length, name and format.
fn reference(s: &str) -> Option<(usize, &str, Option<&str>)> {
    if let Some(inner) = s.strip_prefix("${") {
        let end = inner.find('}')?;
        let body = &inner[..end];
        let (name, format) = match body.split_once(':') {
            Some((n, f)) => (n, Some(f)),
            None => (body, None),
        };
        let name = name.split('.').next().unwrap_or(name);
        (!name.is_empty() && word_len(name) == name.len()).then_some((end + 3, name, format))
    } else if let Some(inner) = s.strip_prefix("[[") {
        let end = inner.find("]]")?;
        let body = &inner[..end];
        let (name, format) = match body.split_once(':') {
            Some((n, f)) => (n, Some(f)),
            None => (body, None),
        };
        (!name.is_empty() && word_len(name) == name.len()).then_some((end + 4, name, format))
    } else if let Some(inner) = s.strip_prefix('$') {
        let len = word_len(inner);
        (len > 0).then_some((len + 1, &inner[..len], None))
    } else {
        None
    }
}

fn value(name: &str, format: Option<&str>, scope: &Scope<'_>) -> Option<String> {
    let seconds = format == Some("date:seconds");
    match name {
        "__from" if seconds => return Some((scope.from_ms / 1000).to_string()),
        "__to" if seconds => return Some((scope.to_ms / 1000).to_string()),
        "__from" => return Some(scope.from_ms.to_string()),
        "__to" => return Some(scope.to_ms.to_string()),
        _ => {}
    }
    let var = scope.dashboard.variable(name)?;
    if var.kind == "datasource" {
        return Some(scope.datasource_uid.to_owned());
    }
    let values = var.values();
    let all = values.iter().any(|v| v == "$__all");
    if all {
        return Some(var.all_value.clone().unwrap_or_else(|| ".*".to_owned()));
    }
    if !var.multi && !var.include_all {
        // Prometheus's regular escape: backslashes and single quotes.
        let v = values.first()?;
        return Some(v.replace('\\', "\\\\").replace('\'', "\\\\'"));
    }
    let escaped: Vec<String> = values.iter().map(|v| regex_escape(v)).collect();
    match escaped.as_slice() {
        [] => None,
        [one] => Some(one.clone()),
        many => Some(format!("({})", many.join("|"))),
    }
}

/// The Prometheus datasource's escape for values used inside `=~"…"`.
fn regex_escape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\\\\\"),
            '$' | '^' | '*' | '{' | '}' | '[' | ']' | '\'' | '+' | '?' | '.' | '(' | ')' | '|' => {
                out.push_str("\\\\");
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dashboard;
    use crate::interval::IntervalInputs;

    fn hour() -> Intervals {
        Intervals::compute(&IntervalInputs {
            range_ms: 3_600_000,
            scrape_ms: 15_000,
            max_data_points: None,
            panel_interval: None,
            target_interval: None,
        })
        .unwrap()
    }

    fn board() -> Dashboard {
        dashboard::parse(
            r#"{"templating": {"list": [
              {"name": "datasource", "type": "datasource", "query": "prometheus"},
              {"name": "app", "type": "custom", "current": {"value": "mistral-7b-awq"}},
              {"name": "apps", "type": "custom", "multi": true, "current": {"value": ["a.b", "c"]}},
              {"name": "job", "type": "query", "includeAll": true, "current": {"value": ["$__all"]}},
              {"name": "k", "type": "constant", "query": "5m"}]}}"#,
        )
        .unwrap()
    }

    fn scope(d: &Dashboard) -> Scope<'_> {
        Scope {
            dashboard: d,
            datasource_uid: "prometheus",
            from_ms: 1_000_000,
            to_ms: 4_600_000,
        }
    }

    #[test]
    fn macros_with_the_reference_values() {
        let i = hour();
        assert_eq!(
            macros(
                "rate(x[$__rate_interval]) [${__rate_interval}] $__rate_interval_ms",
                &i
            ),
            "rate(x[1m0s]) [1m0s] 60000"
        );
        assert_eq!(
            macros(
                "$__interval ${__interval} $__interval_ms ${__interval_ms}",
                &i
            ),
            "15s 15s 15000 15000"
        );
        assert_eq!(
            macros("$__range $__range_s $__range_ms ${__range}", &i),
            "3600s 3600 3600000 3600s"
        );
    }

    #[test]
    fn dashboard_variables() {
        let d = board();
        let s = scope(&d);
        assert_eq!(
            variables("up{app=\"$app\"}", &s),
            "up{app=\"mistral-7b-awq\"}"
        );
        assert_eq!(
            variables("${app}-[[app]]", &s),
            "mistral-7b-awq-mistral-7b-awq"
        );
        assert_eq!(
            variables("${datasource} $datasource", &s),
            "prometheus prometheus"
        );
        assert_eq!(variables("x{a=~\"$apps\"}", &s), "x{a=~\"(a\\\\.b|c)\"}");
        assert_eq!(variables("x{job=~\"$job\"}", &s), "x{job=~\".*\"}");
        assert_eq!(variables("x[$k]", &s), "x[5m]");
        assert_eq!(
            variables("$__from ${__to:date:seconds}", &s),
            "1000000 4600"
        );
    }

    #[test]
    fn unknown_names_and_dollars_stay() {
        let d = board();
        let s = scope(&d);
        let e = "label_replace(up, \"x\", \"$1\", \"a\", \"(.*)\") $apple $ [x] ${} x$";
        assert_eq!(variables(e, &s), e);
    }

    #[test]
    fn longest_names_first() {
        // `$__range_ms` must not become `3600s_ms`.
        let out = macros("$__range_ms/$__interval_ms", &hour());
        assert_eq!(out, "3600000/15000");
    }

    #[test]
    fn leftovers_are_errors() {
        let d = board();
        let s = scope(&d);
        let err = interpolate("x[$__auto_interval_job]", &hour(), &s).unwrap_err();
        assert_eq!(err.variable, "$__auto_interval_job");
        assert_eq!(
            err.to_string(),
            "`$__auto_interval_job` is left after interpolation in `x[$__auto_interval_job]`"
        );
        let err = interpolate("x[${__user.login}]", &hour(), &s).unwrap_err();
        assert_eq!(err.variable, "${__user.login}");
        assert_eq!(
            interpolate("sum(rate(x[$__rate_interval]))", &hour(), &s).unwrap(),
            "sum(rate(x[1m0s]))"
        );
    }
}
