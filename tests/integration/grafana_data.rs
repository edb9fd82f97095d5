//! The rig's copies of Grafana's frontend logic checked against Grafana's own code:
//! npm's `@grafana/data`, at the version `tests/grafana-data/package.json` pins, asked
//! by `tests/grafana-data/answer.mjs` (installed by `scripts/test`).
//!
//! Each test generates thousands of cases from a fixed seed, asks Node once for all of
//! them and compares every answer with the rig's: reducers (`reduceField`), threshold
//! steps (`getActiveThreshold`, and through `applyFieldOverrides` with percentage
//! mode and the panel's range), a value's text with its unit and decimals
//! (`getDisplayProcessor`) and the HTML report's colours (`createTheme()`). Any
//! difference fails, printing the case, the rig's answer and Grafana's. Nulls are JSON nulls for Grafana and NaN for the rig, which has no
//! other NaN: Prometheus' NaN samples are nulls to it.

use serde_json::{Value, json};
use vllm_sim::rig::dashboard::{Step, ThresholdMode, Thresholds};
use vllm_sim::rig::reduce::Reducer;
use vllm_sim::rig::threshold::{FALLBACK_COLOR, Scale, active_step, color};
use vllm_sim::rig::units::format_value;
use vllm_sim_tests::grafana_data::{self, Rng};

/// Grafana's answers to `cases` of `kind` (`tests/grafana-data/answer.mjs`), or `None`
/// after a SKIP line when Node.js or the pinned packages are missing.
fn grafana(kind: &str, cases: &[Value]) -> Option<Vec<Value>> {
    let answers = grafana_data::ask("answer.mjs", &json!({ "kind": kind, "cases": cases }))?;
    let Value::Array(answers) = answers else {
        panic!("answer.mjs answered {answers}, not one answer per case");
    };
    assert_eq!(answers.len(), cases.len(), "one answer per case");
    Some(answers)
}

/// A number as the harness reads it: JSON cannot hold NaN and the infinities.
fn num(v: f64) -> Value {
    if v.is_nan() {
        json!("NaN")
    } else if v == f64::INFINITY {
        json!("+Inf")
    } else if v == f64::NEG_INFINITY {
        json!("-Inf")
    } else {
        json!(v)
    }
}

/// A number or null from the harness, which writes numbers as text: parsed here
/// exactly, where serde_json's default parser may miss the last digit.
fn from_json(v: &Value) -> Option<f64> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(match s.as_str() {
            "NaN" => f64::NAN,
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            other => other
                .parse()
                .unwrap_or_else(|e| panic!("not a number: {other:?} ({e})")),
        }),
        v => Some(v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))),
    }
}

/// The rig's null (NaN) as Grafana's.
fn nullable(v: f64) -> Value {
    if v.is_nan() { Value::Null } else { num(v) }
}

fn same(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a == b || (a.is_nan() && b.is_nan()),
        (a, b) => a == b,
    }
}

/// Fails listing the first differences, when there are any.
fn report(kind: &str, total: usize, diffs: &[String]) {
    eprintln!("{kind}: {total} cases against @grafana/data");
    assert!(
        diffs.is_empty(),
        "{} of {total} {kind} cases differ from @grafana/data:\n{}",
        diffs.len(),
        diffs
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

const REDUCERS: &[Reducer] = &[
    Reducer::LastNotNull,
    Reducer::Last,
    Reducer::First,
    Reducer::FirstNotNull,
    Reducer::Mean,
    Reducer::Max,
    Reducer::Min,
    Reducer::Sum,
    Reducer::Count,
    Reducer::Range,
    Reducer::Diff,
    Reducer::Delta,
    Reducer::Step,
    Reducer::LogMin,
    Reducer::Variance,
    Reducer::StdDev,
    Reducer::ChangeCount,
    Reducer::DistinctCount,
];

#[test]
fn reducers_match_grafana() {
    let mut rng = Rng(0x5eed_0001);
    let mut cases = Vec::new();
    for &reducer in REDUCERS {
        let fixed = [vec![], vec![f64::NAN], vec![f64::NAN, f64::NAN], vec![0.0]];
        for values in fixed.into_iter().chain((0..400).map(|_| rng.series())) {
            cases.push((reducer, values));
        }
    }
    let json: Vec<Value> = cases
        .iter()
        .map(|(r, v)| json!({"reducer": r.id(), "values": v.iter().map(|x| nullable(*x)).collect::<Vec<_>>()}))
        .collect();
    let Some(answers) = grafana("reduce", &json) else {
        return;
    };
    let mut diffs = Vec::new();
    for ((case, (reducer, values)), answer) in json.iter().zip(&cases).zip(&answers) {
        let rig = reducer.apply(values);
        let theirs = from_json(&answer["value"]);
        if !same(rig, theirs) {
            diffs.push(format!("{case}: rig {rig:?}, Grafana {theirs:?}"));
        }
    }
    report("reducer", cases.len(), &diffs);
}

const COLORS: &[&str] = &["green", "yellow", "orange", "red", "purple", "blue"];

/// 0-5 steps, some out of order, the base step's value usually null, a later step's
/// now and then; values drawn so that the checked values often sit on them.
fn steps(rng: &mut Rng, pool: &[f64]) -> Vec<Step> {
    let n = rng.below(6);
    let mut values: Vec<Option<f64>> = (0..n).map(|_| Some(rng.pick(pool))).collect();
    if !rng.chance(20) {
        values.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    }
    if let Some(base) = values.first_mut()
        && rng.chance(80)
    {
        *base = None;
    }
    for v in values.iter_mut().skip(1) {
        if rng.chance(5) {
            *v = None;
        }
    }
    values
        .into_iter()
        .enumerate()
        .map(|(i, value)| Step {
            color: COLORS[i].to_owned(),
            value,
        })
        .collect()
}

fn steps_json(steps: &[Step]) -> Value {
    steps
        .iter()
        .map(|s| json!({"color": s.color, "value": s.value.map(num)}))
        .collect()
}

#[test]
fn active_steps_match_grafana() {
    let mut rng = Rng(0x5eed_0002);
    let pool = [-10.0, 0.0, 1.0, 50.0, 80.0, 90.0, 100.0, 1e9];
    let mut cases = Vec::new();
    for _ in 0..3000 {
        let steps = steps(&mut rng, &pool);
        let value = if rng.chance(50) {
            rng.pick(&pool)
        } else {
            rng.value()
        };
        cases.push((steps, value));
    }
    let json: Vec<Value> = cases
        .iter()
        .map(|(s, v)| json!({"steps": steps_json(s), "value": num(*v)}))
        .collect();
    let Some(answers) = grafana("active", &json) else {
        return;
    };
    let mut diffs = Vec::new();
    for ((case, (steps, value)), answer) in json.iter().zip(&cases).zip(&answers) {
        let rig = active_step(steps, *value).map_or(FALLBACK_COLOR, |s| s.color.as_str());
        let theirs = answer["color"].as_str().expect("a colour");
        if rig != theirs {
            diffs.push(format!("{case}: rig {rig}, Grafana {theirs}"));
        }
    }
    report("active step", cases.len(), &diffs);
}

#[test]
fn threshold_colors_match_grafana() {
    let mut rng = Rng(0x5eed_0003);
    let pool = [0.0, 10.0, 25.0, 50.0, 80.0, 90.0, 100.0];
    let mut cases = Vec::new();
    for _ in 0..3000 {
        let mode = if rng.chance(60) {
            ThresholdMode::Percentage
        } else {
            ThresholdMode::Absolute
        };
        let thresholds = Thresholds {
            mode,
            steps: steps(&mut rng, &pool),
        };
        let bound = |rng: &mut Rng| {
            rng.chance(50)
                .then(|| rng.pick(&[0.0, 1.0, 50.0, 100.0, 200.0]))
        };
        let (min, max) = (bound(&mut rng), bound(&mut rng));
        let series: Vec<Vec<f64>> = (0..1 + rng.below(3)).map(|_| rng.series()).collect();
        // A value of the series (a stat's reduced value), on a percentage boundary,
        // null or any other.
        let all: Vec<f64> = series.iter().flatten().copied().collect();
        let value = match rng.below(4) {
            0 if !all.is_empty() => Some(rng.pick(&all)).filter(|v| !v.is_nan()),
            1 => Some(rng.pick(&pool)),
            2 if rng.chance(30) => None,
            _ => Some(rng.value()),
        };
        cases.push((thresholds, min, max, series, value));
    }
    let json: Vec<Value> = cases
        .iter()
        .map(|(t, min, max, series, value)| {
            json!({
                "mode": match t.mode { ThresholdMode::Absolute => "absolute", ThresholdMode::Percentage => "percentage" },
                "steps": steps_json(&t.steps),
                "min": min.map(num),
                "max": max.map(num),
                "series": series.iter().map(|s| s.iter().map(|x| nullable(*x)).collect::<Vec<_>>()).collect::<Vec<_>>(),
                "value": value.map(num),
            })
        })
        .collect();
    let Some(answers) = grafana("color", &json) else {
        return;
    };
    let mut diffs = Vec::new();
    for ((case, (t, min, max, series, value)), answer) in json.iter().zip(&cases).zip(&answers) {
        if let Some(e) = answer.get("error") {
            diffs.push(format!("{case}: the harness says {e}"));
            continue;
        }
        let scale = Scale::new(*min, *max, series.iter().flatten().copied());
        let rig = color(t, *value, scale);
        let theirs = answer["color"].as_str().expect("a colour");
        if rig != theirs {
            diffs.push(format!(
                "{case}: rig {rig} (scale {scale:?}), Grafana {theirs} (percent {})",
                answer["percent"]
            ));
        }
    }
    report("threshold colour", cases.len(), &diffs);
}

/// The units the shipped dashboard uses, then others the rig ports, then custom ones.
const UNITS: &[Option<&str>] = &[
    Some("percent"),
    Some("reqps"),
    Some("s"),
    Some("short"),
    Some("suffix:tok/s"),
    None,
    Some("none"),
    Some("percentunit"),
    Some("ms"),
    Some("µs"),
    Some("ns"),
    Some("m"),
    Some("h"),
    Some("d"),
    Some("bytes"),
    Some("decbytes"),
    Some("kbytes"),
    Some("mbytes"),
    Some("gbytes"),
    Some("deckbytes"),
    Some("decmbytes"),
    Some("decgbytes"),
    Some("bits"),
    Some("decbits"),
    Some("Bps"),
    Some("binBps"),
    Some("bps"),
    Some("sishort"),
    Some("ops"),
    Some("rps"),
    Some("wps"),
    Some("iops"),
    Some("cps"),
    Some("prefix:$"),
    Some("suffix: req"),
    Some("widgets"),
];

#[test]
fn display_text_matches_grafana() {
    let mut rng = Rng(0x5eed_0004);
    let edges = [
        0.0,
        1.0,
        999.0,
        999.5,
        1000.0,
        1023.0,
        1024.0,
        59.99,
        60.0,
        3600.0,
        86400.0,
        0.001,
        1e-6,
        1e-7,
        1e21,
        0.5,
        2.25,
        1.005,
        f64::NAN,
    ];
    let mut cases = Vec::new();
    for &unit in UNITS {
        for decimals in [None, Some(0.0), Some(1.0), Some(2.0), Some(3.0)] {
            for _ in 0..60 {
                let mut value = if rng.chance(25) {
                    rng.pick(&edges)
                } else {
                    rng.value()
                };
                if rng.chance(20) {
                    value = -value;
                }
                cases.push((unit, decimals, value));
            }
        }
    }
    let json: Vec<Value> = cases
        .iter()
        .map(|(u, d, v)| json!({"unit": u, "decimals": d, "value": num(*v)}))
        .collect();
    let Some(answers) = grafana("display", &json) else {
        return;
    };
    let mut diffs = Vec::new();
    for ((case, (unit, decimals, value)), answer) in json.iter().zip(&cases).zip(&answers) {
        let rig = format_value(Some(*value), *unit, *decimals);
        let theirs = answer["text"].as_str().expect("a text");
        if rig != theirs {
            diffs.push(format!(
                "{case} ({value:e}): rig {rig:?}, Grafana {theirs:?}"
            ));
        }
    }
    report("display text", cases.len(), &diffs);
}

/// The HTML report's colours are Grafana's dark theme's: every colour name the rig
/// knows, the CSS colours Grafana passes through, the classic palette and the page's
/// greys, each as `createTheme()` of `@grafana/data` has it.
#[test]
fn report_colours_match_grafana_theme() {
    use vllm_sim::rig::theme;
    let mut names: Vec<&str> = theme::NAMED.iter().map(|(n, _)| *n).collect();
    names.extend([
        "",
        "#abc",
        "#FF000080",
        "rgba(1, 2, 3, 0.5)",
        "rgb(10,20,30)",
    ]);
    let mut cases: Vec<Value> = names.iter().map(|n| json!({"name": n})).collect();
    cases.extend((0..theme::PALETTE.len()).map(|i| json!({"palette": i})));
    let greys = [
        ("background.primary", theme::PANEL),
        ("background.canvas", theme::CANVAS),
        ("text.primary", theme::TEXT),
        ("text.secondary", theme::TEXT_SECONDARY),
        ("border.weak", theme::BORDER),
    ];
    cases.extend(greys.iter().map(|(path, _)| json!({"path": path})));
    let Some(answers) = grafana("theme", &cases) else {
        return;
    };
    let mut diffs = Vec::new();
    let mut answers = answers.iter();
    for name in &names {
        let want = answers.next().unwrap()["css"].clone();
        if json!(theme::css(name)) != want {
            diffs.push(format!(
                "{name:?}: rig {:?}, Grafana {want}",
                theme::css(name)
            ));
        }
    }
    for (i, name) in theme::PALETTE.iter().enumerate() {
        let want = answers.next().unwrap()["name"].clone();
        if json!(name) != want {
            diffs.push(format!("palette[{i}]: rig {name:?}, Grafana {want}"));
        }
    }
    for (path, css) in greys {
        let want = answers.next().unwrap()["css"].clone();
        if json!(css) != want {
            diffs.push(format!("{path}: rig {css:?}, Grafana {want}"));
        }
    }
    report("theme", cases.len(), &diffs);
}
