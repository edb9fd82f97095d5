//! Property tests (fuzzing) of the scenario parser, `vllm_sim_lab::scenario::load`.
//!
//! Whatever the text — arbitrary strings and bytes, or the shipped scenarios with lines
//! deleted or duplicated, values replaced with junk, or cut short — `load` returns a
//! scenario or errors, never panics, and every error renders as one
//! `file:line:col: field: message` line. An error with a line of 0 is about the whole
//! file (it has no place to point at): its column is 0 too and its field is a
//! top-level one (`pods`, `phases`, `(document)`).
//!
//! `PROPTEST_CASES=100000 cargo test -p vllm-sim --test fuzz_scenarios --release`
//! runs longer; a failure is shrunk to a minimal input and saved under
//! `proptest-regressions/`, to be replayed first on the next run.

use std::sync::Arc;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::sample::Index;
use vllm_sim_core::clock::SimTime;
use vllm_sim_core::exposition::Format;
use vllm_sim_lab::lab::{BackfillPlan, Pod, backfill};
use vllm_sim_lab::scenario::{BUILTIN, ScenarioErrors, load};

/// The name errors carry.
const FILE: &str = "fuzz.yaml";

/// Cases per property unless `PROPTEST_CASES` says otherwise.
fn config(cases: u32) -> ProptestConfig {
    let mut config = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = cases;
    }
    config
}

/// Checks the shape of `load`'s answer for `text`.
fn check(text: &str) -> Result<(), TestCaseError> {
    let Err(errors) = load(text, FILE) else {
        return Ok(());
    };
    check_errors(&errors, text)
}

fn check_errors(errors: &ScenarioErrors, text: &str) -> Result<(), TestCaseError> {
    prop_assert!(!errors.0.is_empty(), "an error without problems");
    // YAML breaks lines at `\n`, `\r\n` and a lone `\r`; count every break as one.
    let lines = text.matches(['\n', '\r']).count() as u64 + 1;
    for e in &errors.0 {
        prop_assert_eq!(e.file.as_str(), FILE);
        prop_assert!(!e.message.trim().is_empty(), "no message: {e}");
        prop_assert!(!e.field.trim().is_empty(), "no field: {e}");
        if e.line == 0 {
            prop_assert_eq!(e.column, 0, "a column without a line: {}", e);
            prop_assert!(
                !e.field.contains(['.', '[']),
                "a nested field without a line: {e}"
            );
        } else {
            prop_assert!(e.line <= lines + 1, "line {} of {lines}: {e}", e.line);
        }
    }
    // One problem a line, each `file:line:col: field: message`.
    let rendered = errors.to_string();
    prop_assert_eq!(rendered.lines().count(), errors.0.len(), "{}", rendered);
    for (line, e) in rendered.lines().zip(&errors.0) {
        let expected = format!("{FILE}:{}:{}: {}: ", e.line, e.column, e.field);
        prop_assert!(line.starts_with(&expected), "{line}");
    }
    Ok(())
}

/// Text that looks a little like YAML: its punctuation, keys and values.
fn yamlish() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("\n".to_owned()),
        Just("  ".to_owned()),
        Just("- ".to_owned()),
        Just(": ".to_owned()),
        Just("{".to_owned()),
        Just("}".to_owned()),
        Just("[".to_owned()),
        Just("]".to_owned()),
        Just(", ".to_owned()),
        Just("&a ".to_owned()),
        Just("*a".to_owned()),
        Just("<<: ".to_owned()),
        Just("---\n".to_owned()),
        Just("|\n".to_owned()),
        Just("'".to_owned()),
        Just("\"".to_owned()),
        Just("#".to_owned()),
        Just("!!str ".to_owned()),
        Just("~".to_owned()),
        prop::sample::select(vec![
            "name", "pods", "phases", "seed", "port", "gpu", "model", "workload", "traffic",
            "rate", "duration", "down", "expect", "repeat", "engine",
        ])
        .prop_map(str::to_owned),
        "[a-z_]{1,8}",
        any::<i64>().prop_map(|n| n.to_string()),
    ];
    prop::collection::vec(token, 0..60).prop_map(|t| t.concat())
}

/// The byte spans of scalar values in `text`: what follows `: ` or `- ` up to the end
/// of the line, a comment, or the `,`, `}` or `]` of a flow collection.
fn scalar_spans(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut spans = Vec::new();
    let mut i = 0;
    while i + 1 < bytes.len() {
        let starts = (bytes[i] == b':' || bytes[i] == b'-') && bytes[i + 1] == b' ';
        i += 1;
        if !starts {
            continue;
        }
        let start = i + 1;
        if start >= bytes.len() || b"{[&*|>\n#".contains(&bytes[start]) {
            continue;
        }
        let end = start
            + bytes[start..]
                .iter()
                .position(|b| b"\n,}]#".contains(b))
                .unwrap_or(bytes.len() - start);
        if end > start {
            spans.push((start, end));
        }
    }
    spans
}

/// A value to put where a scalar was.
fn junk_value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        (i64::MIN..0).prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| f.to_string()),
        prop::sample::select(vec![
            "0",
            "-0",
            "-1",
            "99999999999999999999999999999",
            "-99999999999999999999999999999",
            "1e400",
            "-1e-400",
            ".nan",
            ".inf",
            "-.inf",
            "~",
            "null",
            "[]",
            "{}",
            "[1, 2",
            "{a: b}",
            "''",
            "\"\"",
            "*nope",
            "&x",
            "yes",
            "true",
            "0x10",
            "1h",
            "-5s",
            "10 minutes",
            "18446744073709551616",
            "4294967296",
            "65536",
        ])
        .prop_map(str::to_owned),
        "[ -~]{0,20}",
        "\\PC{0,10}",
    ]
}

/// One change to a scenario's text.
#[derive(Clone, Debug)]
enum Mutation {
    DeleteLine(Index),
    DuplicateLine(Index),
    SwapLines(Index, Index),
    ReplaceScalar(Index, String),
    TruncateBytes(Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        2 => any::<Index>().prop_map(Mutation::DeleteLine),
        2 => any::<Index>().prop_map(Mutation::DuplicateLine),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        4 => (any::<Index>(), junk_value()).prop_map(|(i, v)| Mutation::ReplaceScalar(i, v)),
        1 => any::<Index>().prop_map(Mutation::TruncateBytes),
    ]
}

impl Mutation {
    fn apply(&self, text: &str) -> String {
        let mut lines: Vec<&str> = text.split_inclusive('\n').collect();
        if lines.is_empty() {
            return String::new();
        }
        match self {
            Mutation::DeleteLine(i) => {
                lines.remove(i.index(lines.len()));
            }
            Mutation::DuplicateLine(i) => {
                let at = i.index(lines.len());
                lines.insert(at, lines[at]);
            }
            Mutation::SwapLines(a, b) => {
                let (a, b) = (a.index(lines.len()), b.index(lines.len()));
                lines.swap(a, b);
            }
            Mutation::ReplaceScalar(i, value) => {
                let spans = scalar_spans(text);
                if spans.is_empty() {
                    return text.to_owned();
                }
                let (start, end) = spans[i.index(spans.len())];
                return format!("{}{value}{}", &text[..start], &text[end..]);
            }
            Mutation::TruncateBytes(i) => {
                let cut = i.index(text.len() + 1);
                return String::from_utf8_lossy(&text.as_bytes()[..cut]).into_owned();
            }
        }
        lines.concat()
    }
}

#[test]
fn the_mutations_find_scalars() {
    let spans = scalar_spans("a: 1\nb: {c: two, d: [3, 4]}\n- x # note\ne: &z y\n");
    let text = "a: 1\nb: {c: two, d: [3, 4]}\n- x # note\ne: &z y\n";
    let found: Vec<&str> = spans.iter().map(|&(s, e)| &text[s..e]).collect();
    assert_eq!(found, ["1", "two", "x "]);
    let (_, healthy) = BUILTIN[0];
    assert!(scalar_spans(healthy).len() > 30);
}

#[test]
fn whole_file_errors_have_the_documented_shape() {
    for text in ["", "~", "[]", "{}", "a: [", "\0", "pods: []\nphases: []\n"] {
        let errors = load(text, FILE).expect_err(text);
        check_errors(&errors, text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
    }
    let errors = load(
        "name: x\ndescription: y\nseed: 1\npods: []\nphases: []\n",
        FILE,
    )
    .expect_err("no pods");
    assert!(
        errors.0.iter().any(|e| e.line == 0 && e.field == "pods"),
        "{errors}"
    );
}

#[test]
fn deep_nesting_and_alias_bombs_are_rejected_quickly() {
    let started = Instant::now();
    for depth in [1_000, 100_000] {
        let text = format!("name: {}{}", "[".repeat(depth), "]".repeat(depth));
        let errors = load(&text, FILE).expect_err("nested too deep");
        check_errors(&errors, &text).unwrap();
    }
    // A billion laughs: each level refers to the one before ten times.
    let mut bomb = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..10 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        bomb.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    let errors = load(&bomb, FILE).expect_err("not a scenario");
    check_errors(&errors, &bomb).unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
}

proptest! {
    #![proptest_config(config(2000))]

    /// Arbitrary text.
    #[test]
    fn arbitrary_text_is_answered(text in "\\PC{0,200}") {
        check(&text)?;
    }

    /// Arbitrary bytes, read as UTF-8 with replacement characters.
    #[test]
    fn arbitrary_bytes_are_answered(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        check(&String::from_utf8_lossy(&bytes))?;
    }

    /// YAML-like token soup.
    #[test]
    fn yamlish_text_is_answered(text in yamlish()) {
        check(&text)?;
    }
}

proptest! {
    #![proptest_config(config(1000))]

    /// A shipped scenario, changed in one to three places.
    #[test]
    fn mutated_scenarios_are_answered(
        scenario in 0..BUILTIN.len(),
        mutations in prop::collection::vec(mutation(), 1..=3),
    ) {
        let mut text = BUILTIN[scenario].1.to_owned();
        for m in &mutations {
            text = m.apply(&text);
        }
        check(&text)?;
    }
}

proptest! {
    #![proptest_config(config(100))]

    /// A changed scenario that loads also runs (every pod, 20 simulated seconds,
    /// its /metrics rendered) and backfills (a minute of history).
    #[test]
    fn mutated_scenarios_that_load_also_run(
        scenario in 0..BUILTIN.len(),
        mutations in prop::collection::vec(mutation(), 1..=3),
    ) {
        let mut text = BUILTIN[scenario].1.to_owned();
        for m in &mutations {
            text = m.apply(&text);
        }
        if let Ok(scenario) = load(&text, FILE) {
            let scenario = Arc::new(scenario);
            for i in 0..scenario.pods.len() {
                let mut pod = Pod::new(scenario.clone(), i, 1.7e9);
                pod.advance_to(SimTime::from_secs_f64(20.0));
                if let Some(metrics) = pod.metrics() {
                    let mut text = String::new();
                    metrics.encode(Format::PrometheusText, &mut text);
                    prop_assert!(text.contains("# TYPE "));
                }
            }
            let plan = BackfillPlan {
                start_unix_secs: 1.7e9,
                duration: Duration::from_secs(60),
                interval: Duration::from_secs(15),
                job: "vllm".to_owned(),
                host: "127.0.0.1".to_owned(),
                gateway_port: 8000,
            };
            drop(backfill(scenario, &plan));
        }
    }
}
