//! The rig's template variable interpolation (`crates/rig/src/interpolate.rs`,
//! `variable_format.rs`) checked against Grafana's own code: `@grafana/scenes`'
//! sceneInterpolator and formatRegistry with `@grafana/prometheus`' escaping, at the
//! versions `tests/grafana-data/package.json` pins, run by
//! `tests/grafana-data/interpolate.mjs`.
//!
//! Thousands of queries are generated from a fixed seed, each with its own variables
//! (single- and multi-value, with "All" and with and without a custom all value, some
//! selected values holding regex and quote characters) and references to them in
//! every spelling (`$var`, `${var}`, `[[var]]`, `${var:format}`, `[[var:format]]`)
//! with every format the rig ports, unknown formats, unknown variables and stray
//! `$`, `[`, `{`. Any difference fails, printing the case, the rig's text and
//! Grafana's.
//!
//! Not generated, and why: `$__` names (Grafana's macros: `$__rate_interval`,
//! `$__interval` and `$__range` are computed by its Go backend, pkg/tsdb; `$__from`
//! and `$__to` by the scene's time range; `interpolate.rs` keeps reference cases for
//! them); field paths (`${var.key}`: the rig's values are strings); the formats the
//! rig does not port (`lucene`, `date`, `queryparam`, `customqueryparam`); "All"
//! without a custom all value on a variable with no saved options (Grafana uses the
//! options its datasource returned; the rig writes `.*`).

use serde_json::{Value, json};
use vllm_sim::rig::dashboard;
use vllm_sim::rig::interpolate::{Scope, variables};
use vllm_sim_tests::grafana_data::{self, Rng};

const NAMES: &[&str] = &["app", "apps", "job", "pod", "model_1", "x"];

/// Values a variable may hold: plain, with regex metacharacters, quotes, backslashes,
/// `$` (never interpolated again), commas, non-ASCII, empty.
const VALUES: &[&str] = &[
    "mistral-7b",
    "llama",
    "a.b",
    "it's",
    "c\"d",
    r"back\slash",
    "x|y",
    "(p)",
    "$app",
    "[br]",
    "{c}",
    "a+b?",
    "^s*",
    "sp ace",
    "ü-ñ",
    "",
    "1",
    "a/b",
    "<h>&",
    "a,b",
    "50%",
    "q:r",
];

const ALL_VALUES: &[&str] = &[".*", "all", "a|b", "[a-z]+", "", "x.*$nobody", "it's"];

/// The formats the rig ports, with arguments, and some Grafana does not know.
const FORMATS: &[&str] = &[
    "regex",
    "pipe",
    "csv",
    "raw",
    "glob",
    "json",
    "doublequote",
    "singlequote",
    "sqlstring",
    "text",
    "distributed",
    "html",
    "percentencode",
    "uriencode",
    "join",
    "join:;",
    "join:",
    "regex:x",
    "nope",
    "Regex",
    "pipe x",
];

/// Text between references: PromQL, stray reference characters.
const NOISE: &[&str] = &[
    "up{a=~\"",
    "\"}",
    " ",
    "rate(x[5m])",
    "$",
    "${",
    "[[",
    "]]",
    "[",
    "}",
    ":",
    "$1",
    "${}",
    "[x]",
    "label_replace(up, \"a\", \"$1\", \"b\", \"(.*)\")",
];

fn variable(rng: &mut Rng, name: &str) -> Value {
    let multi = rng.chance(50);
    let include_all = rng.chance(40);
    let options: Vec<Value> = (0..1 + rng.below(4))
        .map(|_| {
            let value = rng.pick(VALUES);
            let text = if rng.chance(20) {
                value.to_uppercase()
            } else {
                value.to_owned()
            };
            json!({"text": text, "value": value})
        })
        .collect();
    let current = if include_all && rng.chance(40) {
        if multi {
            json!({"text": ["All"], "value": ["$__all"]})
        } else {
            json!({"text": "All", "value": "$__all"})
        }
    } else if multi {
        let chosen: Vec<&Value> = (0..rng.below(4))
            .map(|_| &options[rng.below(options.len())])
            .collect();
        json!({
            "text": chosen.iter().map(|o| o["text"].clone()).collect::<Vec<_>>(),
            "value": chosen.iter().map(|o| o["value"].clone()).collect::<Vec<_>>(),
        })
    } else {
        let o = &options[rng.below(options.len())];
        json!({"text": o["text"], "value": o["value"]})
    };
    let mut v = json!({
        "name": name,
        "type": "custom",
        "multi": multi,
        "includeAll": include_all,
        "options": options,
        "current": current,
    });
    if include_all && rng.chance(50) {
        v["allValue"] = json!(rng.pick(ALL_VALUES));
    }
    v
}

fn reference(rng: &mut Rng, name: &str) -> String {
    let format = rng.pick(FORMATS);
    match rng.below(6) {
        0 => format!("${name}"),
        1 => format!("${{{name}}}"),
        2 => format!("[[{name}]]"),
        3 => format!("[[{name}:{format}]]"),
        _ => format!("${{{name}:{format}}}"),
    }
}

fn case(rng: &mut Rng) -> Value {
    let count = 1 + rng.below(4);
    let names: Vec<&str> = NAMES[..count].to_vec();
    let variables: Vec<Value> = names.iter().map(|n| variable(rng, n)).collect();
    let mut expr = String::new();
    for _ in 0..1 + rng.below(5) {
        if rng.chance(40) {
            expr.push_str(rng.pick(NOISE));
        }
        // Now and then a name no variable has.
        let name = if rng.chance(10) {
            rng.pick(&["unknown", "nope_2", "appx"])
        } else {
            names[rng.below(names.len())]
        };
        expr.push_str(&reference(rng, name));
    }
    json!({"expr": expr, "variables": variables})
}

/// What the rig makes of a case's expression, with the case's variables as a
/// dashboard's.
fn rig(case: &Value) -> String {
    let board = json!({"templating": {"list": case["variables"]}});
    let d = dashboard::parse(&board.to_string()).expect("a dashboard");
    let scope = Scope {
        dashboard: &d,
        datasource_uid: "prometheus",
        from_ms: 0,
        to_ms: 3_600_000,
    };
    variables(case["expr"].as_str().expect("an expression"), &scope)
}

#[test]
fn interpolation_matches_grafana() {
    let mut rng = Rng(0x5eed_0016);
    let cases: Vec<Value> = (0..6000).map(|_| case(&mut rng)).collect();
    let Some(answers) = grafana_data::ask("interpolate.mjs", &Value::from(cases.clone())) else {
        return;
    };
    let answers = answers.as_array().expect("one answer per case");
    assert_eq!(answers.len(), cases.len(), "one answer per case");
    let mut diffs = Vec::new();
    for (case, answer) in cases.iter().zip(answers) {
        let theirs = answer["text"].as_str().expect("a text");
        let ours = rig(case);
        if ours != theirs {
            diffs.push(format!("{case}\n  rig:     {ours}\n  Grafana: {theirs}"));
        }
    }
    eprintln!(
        "interpolation: {} cases against @grafana/scenes",
        cases.len()
    );
    assert!(
        diffs.is_empty(),
        "{} of {} interpolation cases differ from Grafana's:\n{}",
        diffs.len(),
        cases.len(),
        diffs
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
