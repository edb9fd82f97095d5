//! Series names as Grafana's Prometheus backend gives them (`getName` in
//! `pkg/promlib/querydata`): the target's `legendFormat` with `{{label}}` replaced
//! by the label's value (empty when missing); for `__auto` or no legend, the metric
//! name with its other labels, `up{app="a", job="b"}`; for a series with no labels
//! at all, the query itself.

use std::collections::BTreeMap;

/// The display name of a series with `labels`, from `legend` and the query `expr`.
pub fn series_name(legend: Option<&str>, labels: &BTreeMap<String, String>, expr: &str) -> String {
    let name = match legend {
        Some(l) if !l.is_empty() && l != "__auto" => substitute(l, labels),
        _ => label_set(labels),
    };
    if name == "{}" {
        return expr.replace('\n', "");
    }
    name
}

/// Replaces each `{{ label }}`.
fn substitute(legend: &str, labels: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(legend.len());
    let mut rest = legend;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start + 2..].find("}}") else {
            break;
        };
        out.push_str(&rest[..start]);
        let label = rest[start + 2..start + 2 + len].trim();
        if let Some(value) = labels.get(label) {
            out.push_str(value);
        }
        rest = &rest[start + 2 + len + 2..];
    }
    out.push_str(rest);
    out
}

/// `name{a="b", c="d"}`, `name`, or `{}` without labels.
fn label_set(labels: &BTreeMap<String, String>) -> String {
    let name = labels.get("__name__").map_or("", String::as_str);
    let others: Vec<String> = labels
        .iter()
        .filter(|(k, _)| *k != "__name__")
        .map(|(k, v)| format!("{k}={v:?}"))
        .collect();
    if others.is_empty() && !name.is_empty() {
        return name.to_owned();
    }
    format!("{name}{{{}}}", others.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn legend_templates() {
        let l = labels(&[("app", "mistral-7b-awq"), ("pod", "p1")]);
        assert_eq!(series_name(Some("AWQ"), &l, "x"), "AWQ");
        assert_eq!(
            series_name(Some("{{app}} / {{ pod }}"), &l, "x"),
            "mistral-7b-awq / p1"
        );
        assert_eq!(series_name(Some("{{missing}}!"), &l, "x"), "!");
        assert_eq!(series_name(Some("{{app"), &l, "x"), "{{app");
    }

    #[test]
    fn auto_and_empty_give_the_label_set() {
        let l = labels(&[("__name__", "up"), ("job", "vllm"), ("app", "a")]);
        assert_eq!(
            series_name(Some("__auto"), &l, "x"),
            "up{app=\"a\", job=\"vllm\"}"
        );
        assert_eq!(series_name(None, &l, "x"), "up{app=\"a\", job=\"vllm\"}");
        assert_eq!(
            series_name(Some(""), &labels(&[("team", "awq")]), "x"),
            "{team=\"awq\"}"
        );
        assert_eq!(series_name(None, &labels(&[("__name__", "up")]), "x"), "up");
    }

    #[test]
    fn no_labels_gives_the_query() {
        assert_eq!(
            series_name(Some("__auto"), &labels(&[]), "sum(\n up)"),
            "sum( up)"
        );
    }
}
