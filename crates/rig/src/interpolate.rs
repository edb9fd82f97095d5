//! Variable interpolation of a query, as Grafana's frontend and Prometheus backend
//! do it together (reference §3).
//!
//! Grafana's own macros (`$__rate_interval`, `$__interval`, `$__range`, their `_ms`
//! and `_s` forms and `${…}` spellings) go first, longest names first; then
//! `$__from`/`$__to`; then dashboard variables (`$name`, `${name}`, `${name:fmt}`,
//! `[[name]]`, found as Grafana's VARIABLE_REGEX finds them), a datasource variable
//! standing for the Prometheus datasource's uid, each value written by
//! [`variable_format`](super::variable_format).
//! Any `$__` left afterwards is an error: Prometheus would reject the query or, worse,
//! read it differently from Grafana.

use std::fmt;

use super::dashboard::{Dashboard, Selection};
use super::interval::{Intervals, format_interval, go_duration};
use super::variable_format::{self, Var};

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
/// (PromQL's `label_replace` uses `$1`), and so do references whose format the rig does
/// not port ([`variable_format::format`]).
pub fn variables(expr: &str, scope: &Scope<'_>) -> String {
    replace(expr, scope, Default::Prometheus, 0)
}

/// How a reference that names no format is written.
#[derive(Clone, Copy)]
enum Default {
    /// As the Prometheus datasource writes it: a query's.
    Prometheus,
    /// `glob`: within a custom "All" value, which Grafana interpolates again without
    /// the datasource's format.
    Glob,
}

/// How deep custom "All" values that name variables are followed (Grafana follows them
/// until its stack runs out).
const MAX_DEPTH: usize = 8;

fn replace(expr: &str, scope: &Scope<'_>, default: Default, depth: usize) -> String {
    let mut out = String::with_capacity(expr.len());
    let mut rest = expr;
    while let Some(pos) = rest.find(['$', '[']) {
        out.push_str(&rest[..pos]);
        rest = &rest[pos..];
        let Some(r) = reference(rest) else {
            let ch = rest.chars().next().unwrap_or('$');
            out.push(ch);
            rest = &rest[ch.len_utf8()..];
            continue;
        };
        match value(&r, scope, default, depth) {
            Some(v) => out.push_str(&v),
            None => out.push_str(&rest[..r.len]),
        }
        rest = &rest[r.len..];
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

/// A variable reference, as Grafana's VARIABLE_REGEX finds it: `$name`,
/// `[[name]]`, `[[name:format]]`, `${name}`, `${name.path}`, `${name:format}`.
struct Reference<'a> {
    /// Its length in the text.
    len: usize,
    name: &'a str,
    format: Option<&'a str>,
}

/// The reference at the start of `s`, if one is.
fn reference(s: &str) -> Option<Reference<'_>> {
    if let Some(inner) = s.strip_prefix("${") {
        let name = &inner[..word_len(inner)];
        if name.is_empty() {
            return None;
        }
        let mut at = name.len() + field_path_len(&inner[name.len()..]);
        let mut format = None;
        if let Some(f) = inner[at..].strip_prefix(':') {
            let len = f.find('}').unwrap_or(f.len());
            if len == 0 {
                return None;
            }
            format = Some(&f[..len]);
            at += 1 + len;
        }
        inner[at..].starts_with('}').then_some(Reference {
            len: 2 + at + 1,
            name,
            format,
        })
    } else if let Some(inner) = s.strip_prefix("[[") {
        let name = &inner[..word_len(inner)];
        let after = &inner[name.len()..];
        let (format, tail) = match after.strip_prefix(':') {
            Some(f) => {
                let len = word_len(f);
                if len == 0 {
                    return None;
                }
                (Some(&f[..len]), &f[len..])
            }
            None => (None, after),
        };
        (!name.is_empty() && tail.starts_with("]]")).then(|| Reference {
            len: s.len() - tail.len() + 2,
            name,
            format,
        })
    } else if let Some(inner) = s.strip_prefix('$') {
        let len = word_len(inner);
        (len > 0).then(|| Reference {
            len: len + 1,
            name: &inner[..len],
            format: None,
        })
    } else {
        None
    }
}

/// The length of a `${name…}` reference's field path: `.key`, `["key"]`, `['key']`
/// or `[key]`, repeated.
fn field_path_len(s: &str) -> usize {
    let mut at = 0;
    loop {
        let rest = &s[at..];
        let len = if let Some(key) = rest.strip_prefix('.') {
            Some(
                key.find([':', '^', '{', '}', '[', ']'])
                    .unwrap_or(key.len()),
            )
            .filter(|&n| n > 0)
            .map(|n| n + 1)
        } else if let Some(key) = rest.strip_prefix("[\"") {
            key.find('"')
                .filter(|&n| key[n + 1..].starts_with(']'))
                .map(|n| n + 4)
        } else if let Some(key) = rest.strip_prefix("['") {
            key.find('\'')
                .filter(|&n| key[n + 1..].starts_with(']'))
                .map(|n| n + 4)
        } else if let Some(key) = rest.strip_prefix('[') {
            key.find([']', '"', '\''])
                .filter(|&n| key[n..].starts_with(']'))
                .map(|n| n + 2)
        } else {
            None
        };
        match len {
            Some(n) => at += n,
            None => return at,
        }
    }
}

fn value(r: &Reference<'_>, scope: &Scope<'_>, default: Default, depth: usize) -> Option<String> {
    let seconds = r.format == Some("date:seconds");
    match r.name {
        "__from" if seconds => return Some((scope.from_ms / 1000).to_string()),
        "__to" if seconds => return Some((scope.to_ms / 1000).to_string()),
        "__from" => return Some(scope.from_ms.to_string()),
        "__to" => return Some(scope.to_ms.to_string()),
        _ => {}
    }
    let var = scope.dashboard.variable(r.name)?;
    if var.kind == "datasource" {
        return Some(scope.datasource_uid.to_owned());
    }
    let all = var.is_all();
    let text = if all {
        Selection::One("All".to_owned())
    } else {
        var.text()
    };
    let v = Var {
        name: &var.name,
        multi: var.multi,
        include_all: var.include_all,
        text: &text,
    };
    // An empty custom all value is none (Grafana tests it for truth).
    let custom_all = var.all_value.as_ref().filter(|v| !v.is_empty());
    let value = match (all, custom_all) {
        (true, Some(custom)) => {
            // Written as it is (but for two formats), then interpolated again.
            let custom = match r.format {
                Some("text") => "All".to_owned(),
                Some("percentencode") => {
                    variable_format::format(&Selection::One(custom.clone()), "percentencode", &v)?
                }
                Some("queryparam") => return None,
                _ => custom.clone(),
            };
            if depth >= MAX_DEPTH {
                return Some(custom);
            }
            return Some(replace(&custom, scope, Default::Glob, depth + 1));
        }
        (true, None) => {
            let options = var.option_values();
            if options.is_empty() {
                // The rig's own: a query variable's options come from its datasource,
                // which the rig does not ask; `.*` matches every value they could hold.
                return Some(".*".to_owned());
            }
            Selection::Many(options)
        }
        (false, _) => var.selection(),
    };
    match (r.format, default) {
        (Some(format), _) => variable_format::format(&value, format, &v),
        (None, Default::Prometheus) => Some(variable_format::prometheus(&value, &v)),
        (None, Default::Glob) => variable_format::format(&value, "glob", &v),
    }
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
    fn all_formats_and_empty_selections() {
        let d = dashboard::parse(
            r#"{"templating": {"list": [
              {"name": "a", "type": "custom", "includeAll": true, "current": {"value": "$__all"},
               "options": [{"text": "x", "value": "x.1"}, {"text": "y", "value": "y"}]},
              {"name": "b", "type": "custom", "includeAll": true, "allValue": "", "current": {"value": "$__all"},
               "options": [{"text": "z", "value": "z"}]},
              {"name": "c", "type": "custom", "includeAll": true, "allValue": "$a|q", "multi": true,
               "current": {"value": ["$__all"]}},
              {"name": "m", "type": "custom", "multi": true, "current": {"text": [], "value": []}}]}}"#,
        )
        .unwrap();
        let s = scope(&d);
        assert_eq!(
            variables("$a ${a:pipe} ${a:text}", &s),
            r"(x\\.1|y) x.1|y All"
        );
        assert_eq!(variables("$b", &s), "z");
        // A custom all value is interpolated again, without the datasource's format.
        assert_eq!(variables("$c ${c:text}", &s), "{x.1,y}|q All");
        assert_eq!(variables("x=~\"$m\" ${m:csv}.", &s), "x=~\"()\" .");
        // Not references: an empty format, a format `[[…]]` cannot hold.
        assert_eq!(variables("${a:} [[a:b c]]", &s), "${a:} [[a:b c]]");
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
