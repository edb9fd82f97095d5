//! How a dashboard variable's value is written into a query: Grafana's variable
//! formats (`${var:regex}`, `${var:pipe}`, …, `@grafana/scenes`' formatRegistry) and
//! the Prometheus datasource's own escaping, used where a reference names no format
//! (`@grafana/prometheus`' interpolateQueryExpr, with Grafana 13's default feature
//! toggles).
//!
//! A value is one string or a list ([`Selection`]); where Grafana's JavaScript turns a
//! list into a string without a format's help it joins it with commas, as `String()`
//! does, and so does this module.

use crate::dashboard::Selection;

/// What a variable is, for formats that ask.
#[derive(Clone, Copy, Debug)]
pub struct Var<'a> {
    /// Its name (the `distributed` format repeats it).
    pub name: &'a str,
    /// Several values can be selected.
    pub multi: bool,
    /// It has an "All" option.
    pub include_all: bool,
    /// What the selection shows (the `text` format): texts are joined with ` + `.
    pub text: &'a Selection,
}

/// `value` written with the format a reference names (`regex`, `pipe`, … with
/// `:`-separated arguments, as in `join:;`); an unknown format is Grafana's fallback,
/// `glob`. `None` for formats the rig does not port (`lucene`, `date`, `queryparam`,
/// `customqueryparam`).
pub fn format(value: &Selection, format: &str, var: &Var<'_>) -> Option<String> {
    let (id, args) = match format.split_once(':') {
        Some((id, args)) => (id, args.split(':').collect::<Vec<_>>()),
        None => (format, Vec::new()),
    };
    use Selection::{Many, One};
    Some(match (id, value) {
        ("raw", v) => string(v),
        ("regex", One(v)) => escape_regex(v),
        ("regex", Many(v)) => alternation(v.iter().map(|v| escape_regex(v)).collect()),
        ("pipe", Many(v)) => v.join("|"),
        ("csv", Many(v)) => v.join(","),
        ("distributed", Many(v)) => v
            .iter()
            .enumerate()
            .map(|(i, v)| {
                if i == 0 {
                    v.clone()
                } else {
                    format!("{}={v}", var.name)
                }
            })
            .collect::<Vec<_>>()
            .join(","),
        ("html", One(v)) => escape_html(v),
        ("html", Many(v)) => escape_html(&v.join(", ")),
        ("json", One(v)) => v.clone(),
        ("json", Many(v)) => serde_json::to_string(v).expect("strings serialise"),
        ("percentencode", One(v)) => encode_uri_component(v),
        ("percentencode", Many(v)) => encode_uri_component(&format!("{{{}}}", v.join(","))),
        ("uriencode", One(v)) => encode_uri(v),
        ("uriencode", Many(v)) => encode_uri(&format!("{{{}}}", v.join(","))),
        ("singlequote", v) => quoted(v, '\'', |s| s.replace('\'', "\\'")),
        ("doublequote", v) => quoted(v, '"', |s| s.replace('"', "\\\"")),
        ("sqlstring", v) => quoted(v, '\'', |s| s.replace('\'', "''").replace('"', "\\\"")),
        ("join", Many(v)) => v.join(args.first().copied().unwrap_or(",")),
        ("text", _) => match var.text {
            One(t) => t.clone(),
            Many(t) => t.join(" + "),
        },
        ("pipe" | "csv" | "distributed" | "join", One(v)) => v.clone(),
        ("lucene" | "date" | "queryparam" | "customqueryparam", _) => return None,
        // `glob`, and Grafana's fallback for a format it does not know.
        (_, Many(v)) if v.len() > 1 => format!("{{{}}}", v.join(",")),
        (_, v) => string(v),
    })
}

/// `value` written as the Prometheus datasource writes a reference that names no
/// format: escaped for a string literal (a single-value variable), else for a regex,
/// several values as an alternation `(a|b)`.
pub fn prometheus(value: &Selection, var: &Var<'_>) -> String {
    if !var.multi && !var.include_all {
        return match value {
            Selection::One(v) => v.replace('\\', "\\\\").replace('\'', "\\\\'"),
            // Left as it is, then joined as JavaScript joins a list.
            many => string(many),
        };
    }
    match value {
        Selection::One(v) => prometheus_regex_escape(v),
        Selection::Many(v) => alternation(v.iter().map(|v| prometheus_regex_escape(v)).collect()),
    }
}

/// A list as JavaScript's `String()` writes it.
fn string(v: &Selection) -> String {
    match v {
        Selection::One(v) => v.clone(),
        Selection::Many(v) => v.join(","),
    }
}

/// One value as it is, several as `(a|b)` (none as `()`).
fn alternation(v: Vec<String>) -> String {
    match v.as_slice() {
        [one] => one.clone(),
        many => format!("({})", many.join("|")),
    }
}

fn quoted(v: &Selection, quote: char, escape: impl Fn(&str) -> String) -> String {
    v.values()
        .iter()
        .map(|s| format!("{quote}{}{quote}", escape(s)))
        .collect::<Vec<_>>()
        .join(",")
}

/// `@grafana/data`'s escapeRegex.
fn escape_regex(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        if "\\^$*+?.()|[]{}/".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The Prometheus datasource's escape for values inside `=~"…"`: a backslash
/// becomes four, the other regex metacharacters get two in front.
fn prometheus_regex_escape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\\\\\"),
            '$' | '^' | '*' | '{' | '}' | '[' | ']' | '+' | '?' | '.' | '(' | ')' | '|' => {
                out.push_str("\\\\");
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// `@grafana/data`'s textUtil.escapeHtml.
fn escape_html(v: &str) -> String {
    v.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\'', "&#39;")
        .replace('"', "&quot;")
}

/// JavaScript's encodeURIComponent, then `!'()*` encoded too (Grafana's
/// encodeURIComponentStrict).
fn encode_uri_component(v: &str) -> String {
    percent_encode(v, |c| c.is_ascii_alphanumeric() || "-_.~".contains(c))
}

/// JavaScript's encodeURI, then `!'()*` encoded too (Grafana's encodeURIStrict).
fn encode_uri(v: &str) -> String {
    percent_encode(v, |c| {
        c.is_ascii_alphanumeric() || "-_.~;,/?:@&=+$#".contains(c)
    })
}

fn percent_encode(v: &str, keep: impl Fn(char) -> bool) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        if keep(c) {
            out.push(c);
        } else {
            let mut buf = [0; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn var(text: &Selection) -> Var<'_> {
        Var {
            name: "v",
            multi: true,
            include_all: false,
            text,
        }
    }

    fn many(v: &[&str]) -> Selection {
        Selection::Many(v.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn formats_of_a_list() {
        let v = many(&["a.b", "it's", "c\"d"]);
        let text = many(&["A", "B", "C"]);
        let f = |fmt| format(&v, fmt, &var(&text)).unwrap();
        assert_eq!(f("regex"), r#"(a\.b|it's|c"d)"#);
        assert_eq!(f("pipe"), r#"a.b|it's|c"d"#);
        assert_eq!(f("csv"), r#"a.b,it's,c"d"#);
        assert_eq!(f("raw"), r#"a.b,it's,c"d"#);
        assert_eq!(f("glob"), r#"{a.b,it's,c"d}"#);
        assert_eq!(f("json"), r#"["a.b","it's","c\"d"]"#);
        assert_eq!(f("singlequote"), r#"'a.b','it\'s','c"d'"#);
        assert_eq!(f("doublequote"), r#""a.b","it's","c\"d""#);
        assert_eq!(f("sqlstring"), r#"'a.b','it''s','c\"d'"#);
        assert_eq!(f("text"), "A + B + C");
        assert_eq!(f("distributed"), r#"a.b,v=it's,v=c"d"#);
        assert_eq!(f("join:;"), r#"a.b;it's;c"d"#);
        assert_eq!(f("percentencode"), "%7Ba.b%2Cit%27s%2Cc%22d%7D");
        assert_eq!(f("nope"), f("glob"));
        assert_eq!(format(&v, "lucene", &var(&text)), None);
    }

    #[test]
    fn prometheus_escaping() {
        let text = Selection::One(String::new());
        let single = Var {
            multi: false,
            ..var(&text)
        };
        let one = Selection::One(r"it's a\b".to_owned());
        assert_eq!(prometheus(&one, &single), r"it\\'s a\\b");
        assert_eq!(prometheus(&one, &var(&text)), r"it's a\\\\b");
        assert_eq!(prometheus(&many(&["a.b", "c"]), &var(&text)), r"(a\\.b|c)");
        assert_eq!(prometheus(&many(&[]), &var(&text)), "()");
    }
}
