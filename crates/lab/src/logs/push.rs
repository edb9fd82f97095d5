//! The body of Loki's push API (`POST /loki/api/v1/push`, JSON): log entries grouped into
//! streams by their label set, each stream's values in timestamp order.
//!
//! It knows nothing of `tracing` or HTTP; [`Entry`] is the unit the layer hands over.

use std::collections::BTreeMap;

use serde::Serialize;

/// The `namespace` label of every stream; the dashboard's log panel selects on it.
pub(super) const NAMESPACE: &str = "platform";
/// The `app` label of every stream.
pub(super) const APP: &str = "vllm-sim";

/// One log line with the labels that choose its stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Entry {
    /// Unix epoch nanoseconds of the event; Loki wants them as a string.
    pub(super) unix_nanos: u128,
    /// The part of the crate that logged it (`gateway`, `bench`, `lab`...).
    pub(super) component: &'static str,
    /// Lowercase `tracing` level (`info`, `warn`...), which Grafana reads from the label.
    pub(super) level: &'static str,
    /// The text Loki stores and the panel's line filter matches.
    pub(super) line: String,
    /// Whether the line is of a lab's simulated past (see [`super::history`]): such
    /// lines go in streams of their own, labelled `history="true"`.
    pub(super) past: bool,
}

#[derive(Serialize)]
struct PushRequest<'a> {
    streams: Vec<Stream<'a>>,
}

#[derive(Serialize)]
struct Stream<'a> {
    stream: Labels<'a>,
    /// `[timestamp, line]` pairs, serialised as two-element arrays.
    values: Vec<(String, &'a str)>,
}

#[derive(Serialize)]
struct Labels<'a> {
    namespace: &'a str,
    app: &'a str,
    component: &'a str,
    level: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    history: Option<&'a str>,
}

/// The JSON push body for `entries`: one stream per (component, level), and per the
/// same for lines of the simulated past, streams in label order, values sorted by timestamp (stable, so equal timestamps keep arrival order).
pub(super) fn body(entries: &[Entry]) -> Vec<u8> {
    let mut groups: BTreeMap<(bool, &str, &str), Vec<&Entry>> = BTreeMap::new();
    for e in entries {
        groups
            .entry((e.past, e.component, e.level))
            .or_default()
            .push(e);
    }
    let streams = groups
        .into_iter()
        .map(|((past, component, level), mut group)| {
            group.sort_by_key(|e| e.unix_nanos);
            Stream {
                stream: Labels {
                    namespace: NAMESPACE,
                    app: APP,
                    component,
                    level,
                    history: past.then_some("true"),
                },
                values: group
                    .into_iter()
                    .map(|e| (e.unix_nanos.to_string(), e.line.as_str()))
                    .collect(),
            }
        })
        .collect();
    // Serialising plain structs of strings into a Vec cannot fail.
    serde_json::to_vec(&PushRequest { streams }).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(unix_nanos: u128, component: &'static str, level: &'static str, line: &str) -> Entry {
        Entry {
            unix_nanos,
            component,
            level,
            line: line.to_owned(),
            past: false,
        }
    }

    #[test]
    fn groups_by_labels_and_sorts_values_by_time() {
        let entries = [
            entry(30, "bench", "info", "third"),
            entry(10, "bench", "info", "first"),
            entry(20, "gateway", "warn", "other stream"),
            entry(20, "bench", "info", "second"),
        ];
        let got: serde_json::Value = serde_json::from_slice(&body(&entries)).unwrap();
        let want = serde_json::json!({"streams": [
            {"stream": {"namespace": "platform", "app": "vllm-sim", "component": "bench", "level": "info"},
             "values": [["10", "first"], ["20", "second"], ["30", "third"]]},
            {"stream": {"namespace": "platform", "app": "vllm-sim", "component": "gateway", "level": "warn"},
             "values": [["20", "other stream"]]},
        ]});
        assert_eq!(got, want);
    }

    #[test]
    fn timestamps_are_strings_of_full_nanoseconds() {
        let ns = 1_570_818_238_000_000_123u128;
        let got: serde_json::Value =
            serde_json::from_slice(&body(&[entry(ns, "lab", "info", "x")])).unwrap();
        assert_eq!(got["streams"][0]["values"][0][0], "1570818238000000123");
    }
}
