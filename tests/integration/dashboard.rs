//! The Team Benchmark KPIs dashboard, proved offline: Grafana's dashboard model, the spec's
//! structure, Prometheus's own PromQL parser, Grafana's own LogQL parser
//! (`@grafana/lezer-logql`), and data from a real Prometheus scraping the simulator. Each rule is a function returning problems, and a broken copy of the
//! dashboard shows that each can fail.

use std::collections::{HashMap, HashSet};

use serde_json::{Value, json};
use vllm_sim::scenario::builtin;
use vllm_sim_tests::{
    Prometheus, Sim, grafana_data, promtool, repo_root, require, schema, tool_available,
};

const DASHBOARD: &str = "dashboard/llm-platform-overview.json";

/// The spec's panels: id, type, title, and the row each sits in (`None` for rows).
const SPEC_PANELS: &[(u64, &str, &str, Option<u64>)] = &[
    (60, "row", "Overview", None),
    (1, "stat", "Active Models", Some(60)),
    (2, "stat", "Total RPS", Some(60)),
    (3, "stat", "P95 Latency Avg", Some(60)),
    (4, "stat", "Waiting Queue", Some(60)),
    (5, "stat", "Avg Throughput", Some(60)),
    (6, "stat", "GPU Cache Avg", Some(60)),
    (10, "row", "Quantization — AWQ vs FP16 Baseline", None),
    (11, "timeseries", "P95 E2E Latency", Some(10)),
    (12, "timeseries", "Generation Throughput", Some(10)),
    (13, "timeseries", "Time to First Token", Some(10)),
    (14, "timeseries", "GPU KV-Cache Usage", Some(10)),
    (15, "timeseries", "Decode Time per Token", Some(10)),
    (16, "timeseries", "Tokens Generated", Some(10)),
    (20, "row", "Fine-Tuning — LoRA vs FP16 Baseline", None),
    (21, "timeseries", "P95 E2E Latency", Some(20)),
    (22, "timeseries", "Generation Throughput", Some(20)),
    (23, "timeseries", "Time to First Token", Some(20)),
    (24, "timeseries", "GPU KV-Cache Usage", Some(20)),
    (25, "timeseries", "Decode Time per Token", Some(20)),
    (26, "timeseries", "Tokens Generated", Some(20)),
    (30, "row", "Evaluation — Judge Model", None),
    (31, "timeseries", "P95 E2E Latency", Some(30)),
    (32, "timeseries", "Generation Throughput", Some(30)),
    (33, "timeseries", "Time to First Token", Some(30)),
    (34, "timeseries", "GPU KV-Cache Usage", Some(30)),
    (35, "timeseries", "Queue Depth", Some(30)),
    (36, "timeseries", "Avg Tokens per Request", Some(30)),
    (40, "row", "Head-to-Head — All Models", None),
    (41, "timeseries", "P95 Latency — All Models", Some(40)),
    (42, "timeseries", "Throughput — All Models", Some(40)),
    (43, "timeseries", "GPU Cache — All Models", Some(40)),
    (44, "timeseries", "Request Rate — All Models", Some(40)),
    (45, "timeseries", "TTFT — All Models", Some(40)),
    (46, "timeseries", "Queue — All Models", Some(40)),
    (50, "row", "Benchmark Traces & Logs", None),
    (51, "logs", "Benchmark Run Logs", Some(50)),
    (52, "table", "Gateway Requests by Team", Some(50)),
];

/// Threshold steps as (colour, value), base first.
type Steps = &'static [(&'static str, Option<f64>)];

/// The spec's stat thresholds, by panel id.
const SPEC_THRESHOLDS: &[(u64, Steps)] = &[
    (
        1,
        &[("red", None), ("yellow", Some(3.0)), ("green", Some(4.0))],
    ),
    (
        3,
        &[("green", None), ("yellow", Some(2.0)), ("red", Some(5.0))],
    ),
    (
        4,
        &[("green", None), ("yellow", Some(1.0)), ("red", Some(11.0))],
    ),
    (
        6,
        &[("green", None), ("yellow", Some(70.0)), ("red", Some(90.0))],
    ),
];

fn read(path: &str) -> String {
    std::fs::read_to_string(repo_root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn dashboard() -> Value {
    serde_json::from_str(&read(DASHBOARD)).expect("dashboard JSON")
}

fn yaml(path: &str) -> Value {
    serde_saphyr::from_str(&read(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every panel with the id of the row it belongs to: a collapsed row's `panels`, or
/// the top-level panels after an expanded row.
fn panels(d: &Value) -> Vec<(&Value, Option<u64>)> {
    let mut out = Vec::new();
    let mut row = None;
    for p in d["panels"].as_array().into_iter().flatten() {
        if p["type"] == "row" {
            out.push((p, None));
            row = p["id"].as_u64();
            for child in p["panels"].as_array().into_iter().flatten() {
                out.push((child, row));
            }
        } else {
            out.push((p, row));
        }
    }
    out
}

fn targets(p: &Value) -> impl Iterator<Item = &Value> {
    p["targets"].as_array().into_iter().flatten()
}

/// The structural rules Grafana's schema cannot express.
fn structure_problems(d: &Value, datasource_uids: &HashSet<String>) -> Vec<String> {
    let mut problems = Vec::new();
    let all = panels(d);
    let mut ids = HashSet::new();
    for (p, _) in &all {
        if !ids.insert(p["id"].as_u64()) {
            problems.push(format!("panel id {} is used twice", p["id"]));
        }
    }
    let found: Vec<(u64, &str, &str, Option<u64>)> = all
        .iter()
        .map(|(p, row)| {
            (
                p["id"].as_u64().unwrap_or(0),
                p["type"].as_str().unwrap_or(""),
                p["title"].as_str().unwrap_or(""),
                *row,
            )
        })
        .collect();
    for spec in SPEC_PANELS {
        if !found.contains(spec) {
            problems.push(format!("the spec's panel {spec:?} is missing or differs"));
        }
    }
    if found.len() != SPEC_PANELS.len() {
        problems.push(format!(
            "{} panels, the spec has {}",
            found.len(),
            SPEC_PANELS.len()
        ));
    }
    // Geometry: inside 24 columns, below its row, no overlaps within a row.
    let mut by_row: HashMap<Option<u64>, Vec<(&Value, [i64; 4])>> = HashMap::new();
    let row_y: HashMap<u64, i64> = all
        .iter()
        .filter(|(p, _)| p["type"] == "row")
        .map(|(p, _)| {
            (
                p["id"].as_u64().unwrap(),
                p["gridPos"]["y"].as_i64().unwrap(),
            )
        })
        .collect();
    for (p, row) in &all {
        let g = &p["gridPos"];
        let [x, y, w, h] = ["x", "y", "w", "h"].map(|k| g[k].as_i64().unwrap_or(-1));
        if x < 0 || y < 0 || w <= 0 || h <= 0 || x + w > 24 {
            problems.push(format!(
                "panel {} has gridPos {g} outside the 24-column grid",
                p["id"]
            ));
        }
        if let Some(r) = row
            && y <= row_y[r]
        {
            problems.push(format!(
                "panel {} (y {y}) is not below its row {r} (y {})",
                p["id"], row_y[r]
            ));
        }
        if p["type"] != "row" {
            by_row.entry(*row).or_default().push((p, [x, y, w, h]));
        }
    }
    for group in by_row.values() {
        for (i, (a, [ax, ay, aw, ah])) in group.iter().enumerate() {
            for (b, [bx, by, bw, bh]) in &group[i + 1..] {
                if ax < &(bx + bw) && bx < &(ax + aw) && ay < &(by + bh) && by < &(ay + ah) {
                    problems.push(format!("panels {} and {} overlap", a["id"], b["id"]));
                }
            }
        }
    }
    // Rows: Overview expanded, the others collapsed.
    for (p, _) in all.iter().filter(|(p, _)| p["type"] == "row") {
        let expanded = p["id"] == 60;
        if p["collapsed"] != json!(!expanded) {
            problems.push(format!(
                "row {} should be {}",
                p["id"],
                if expanded { "expanded" } else { "collapsed" }
            ));
        }
    }
    // Datasources, thresholds, reducers.
    for (p, _) in &all {
        let refs = std::iter::once(&p["datasource"]).chain(targets(p).map(|t| &t["datasource"]));
        for ds in refs.filter(|ds| !ds.is_null()) {
            let uid = ds["uid"].as_str().unwrap_or("");
            if !datasource_uids.contains(uid) {
                problems.push(format!(
                    "panel {} uses datasource uid {uid:?}, which the provisioning does not define",
                    p["id"]
                ));
            }
        }
        let steps = p["fieldConfig"]["defaults"]["thresholds"]["steps"].as_array();
        if let Some(steps) = steps {
            if steps.first().is_some_and(|s| !s["value"].is_null()) {
                problems.push(format!(
                    "panel {}: the base threshold step must have value null",
                    p["id"]
                ));
            }
            let values: Vec<f64> = steps
                .iter()
                .skip(1)
                .filter_map(|s| s["value"].as_f64())
                .collect();
            if values.len() + 1 != steps.len() || values.windows(2).any(|w| w[0] >= w[1]) {
                problems.push(format!(
                    "panel {}: threshold steps are not sorted numbers",
                    p["id"]
                ));
            }
        }
        if p["type"] == "stat"
            && p["options"]["reduceOptions"]["calcs"]
                .as_array()
                .is_none_or(|c| c.is_empty())
        {
            problems.push(format!("stat panel {} has no reducer", p["id"]));
        }
    }
    for (id, spec) in SPEC_THRESHOLDS {
        let p = all
            .iter()
            .find(|(p, _)| p["id"] == *id)
            .map(|(p, _)| *p)
            .unwrap_or(&Value::Null);
        let steps: Vec<(&str, Option<f64>)> = p["fieldConfig"]["defaults"]["thresholds"]["steps"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| (s["color"].as_str().unwrap_or(""), s["value"].as_f64()))
            .collect();
        if steps != *spec {
            problems.push(format!(
                "panel {id} thresholds {steps:?}, the spec says {spec:?}"
            ));
        }
    }
    problems
}

fn provisioned_uids() -> HashSet<String> {
    let ds = yaml("dashboard/provisioning/datasources/datasources.yaml");
    ds["datasources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d["uid"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn dashboard_has_the_spec_structure() {
    let d = dashboard();
    let problems = structure_problems(&d, &provisioned_uids());
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert_eq!(d["uid"], "llm-platform-overview");
    assert_eq!(d["title"], "Team Benchmark KPIs");
    assert_eq!(d["refresh"], "15s");
    assert!(d["schemaVersion"].as_u64().unwrap() >= 39);
    assert_eq!(
        d["time"]["from"], "now-30m",
        "the default range covers a benchmark run (5-15 min)"
    );
    let legends: HashSet<&str> = panels(&d)
        .iter()
        .flat_map(|(p, _)| targets(p))
        .filter_map(|t| t["legendFormat"].as_str())
        .collect();
    for name in ["AWQ", "FP16", "LoRA", "Judge"] {
        assert!(legends.contains(name), "no series is called {name}");
    }
}

#[test]
fn structure_rules_catch_a_broken_dashboard() {
    let uids = provisioned_uids();
    type Breakage = (&'static str, fn(&mut Value));
    let breakages: &[Breakage] = &[
        ("duplicate id", |d| d["panels"][2]["id"] = json!(1)),
        ("overlap", |d| d["panels"][2]["gridPos"]["x"] = json!(2)),
        ("too wide", |d| d["panels"][1]["gridPos"]["w"] = json!(25)),
        ("unknown datasource", |d| {
            d["panels"][1]["datasource"]["uid"] = json!("prom")
        }),
        ("unsorted thresholds", |d| {
            d["panels"][3]["fieldConfig"]["defaults"]["thresholds"]["steps"][1]["value"] = json!(9)
        }),
        ("no reducer", |d| {
            d["panels"][1]["options"]["reduceOptions"]["calcs"] = json!([])
        }),
        ("wrong type", |d| d["panels"][1]["type"] = json!("gauge")),
        ("missing panel", |d| {
            d["panels"].as_array_mut().unwrap().remove(6);
        }),
    ];
    for (what, breaks) in breakages {
        let mut d = dashboard();
        breaks(&mut d);
        assert!(
            !structure_problems(&d, &uids).is_empty(),
            "a dashboard with {what} passed"
        );
    }
}

#[test]
fn dashboard_matches_grafana_dashboard_model() {
    let Some(errors) = schema::grafana_dashboard_errors(&[&dashboard()]) else {
        return;
    };
    assert!(errors[0].is_empty(), "{}", errors[0].join("\n"));
}

#[test]
fn grafana_dashboard_model_rejects_a_broken_dashboard() {
    // Each breakage, and the JSON path its error must name.
    type Breakage = (&'static str, fn(&mut Value));
    let breakages: &[Breakage] = &[
        (
            "panels[1].fieldConfig.defaults.thresholds.steps[1].value",
            |d| {
                d["panels"][1]["fieldConfig"]["defaults"]["thresholds"]["steps"][1]["value"] =
                    json!("3")
            },
        ),
        ("panels[2].gridPos.w", |d| {
            d["panels"][2]["gridPos"]["w"] = json!("4")
        }),
        ("panels[2].gridPos:", |d| {
            d["panels"][2]["gridPos"]
                .as_object_mut()
                .unwrap()
                .remove("h");
        }),
        ("panels[4].gridPos:", |d| {
            d["panels"][4]["gridPos"] = json!([0, 1, 4, 4])
        }),
        ("panels[1].fieldConfig.defaults.color.mode", |d| {
            d["panels"][1]["fieldConfig"]["defaults"]["color"]["mode"] = json!("purple")
        }),
        // A time series' legend is no option of a stat panel.
        ("panels[1].options.legend", |d| {
            d["panels"][1]["options"]["legend"] =
                d["panels"][7]["panels"][0]["options"]["legend"].clone()
        }),
        ("panels[7].panels[0].options.legend.placement", |d| {
            d["panels"][7]["panels"][0]["options"]["legend"]["placement"] = json!("left")
        }),
        (
            "panels[7].panels[1].fieldConfig.defaults.custom.lineWidthx",
            |d| {
                d["panels"][7]["panels"][1]["fieldConfig"]["defaults"]["custom"]["lineWidthx"] =
                    json!(1)
            },
        ),
        ("panels[7].panels[2].targets[0].refId", |d| {
            d["panels"][7]["panels"][2]["targets"][0]["refId"] = json!(1)
        }),
        ("panels[3].type", |d| {
            d["panels"][3]["type"] = json!("gauge2")
        }),
        ("panels[7]:", |d| {
            d["panels"][7].as_object_mut().unwrap().remove("collapsed");
        }),
        ("dashboard at titel:", |d| d["titel"] = d["title"].clone()),
    ];
    let broken: Vec<Value> = breakages
        .iter()
        .map(|(_, breaks)| {
            let mut d = dashboard();
            breaks(&mut d);
            d
        })
        .collect();
    let Some(errors) = schema::grafana_dashboard_errors(&broken.iter().collect::<Vec<_>>()) else {
        return;
    };
    for ((path, _), errors) in breakages.iter().zip(&errors) {
        assert!(
            errors.len() == 1 && errors[0].contains(path),
            "breaking {path} should give one error there: {errors:#?}"
        );
    }
}

/// Every `(panel id, refId, expr)` of the Prometheus targets.
fn promql(d: &Value) -> Vec<(u64, String, String)> {
    panels(d)
        .iter()
        .flat_map(|(p, _)| targets(p).map(move |t| (*p, t)))
        .filter(|(p, t)| t["datasource"]["type"] != "loki" && p["type"] != "row")
        .map(|(p, t)| {
            (
                p["id"].as_u64().unwrap(),
                t["refId"].as_str().unwrap_or("").to_owned(),
                t["expr"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

#[test]
fn every_promql_expression_parses_with_prometheus_parser() {
    require!("promtool");
    let exprs = promql(&dashboard());
    assert!(exprs.len() > 50);
    let rules: Vec<Value> = exprs
        .iter()
        .map(|(id, r, expr)| json!({"record": format!("panel_{id}:{}", r.to_lowercase()), "expr": expr}))
        .collect();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        file.path(),
        json!({"groups": [{"name": "dashboard", "rules": rules}]}).to_string(),
    )
    .unwrap();
    let (code, out) = promtool(&["check", "rules", file.path().to_str().unwrap()], "");
    assert_eq!(code, 0, "{out}");
    // And promtool does fail on a typo.
    std::fs::write(
        file.path(),
        r#"{"groups":[{"name":"x","rules":[{"record":"x:y","expr":"sum(rate(vllm:e2e[5m])"}]}]}"#,
    )
    .unwrap();
    assert_ne!(
        promtool(&["check", "rules", file.path().to_str().unwrap()], "").0,
        0
    );
}

/// The LogQL expressions that the parser must reject, and where its first error node
/// must start (in characters).
const BROKEN_LOGQL: &[(&str, usize)] = &[
    // The selector's closing brace is missing.
    (r#"{namespace="platform" |~ "bench""#, 22),
    // No braces around the matcher.
    (r#"namespace="platform""#, 0),
    // A line filter's pattern must be a string.
    (r#"{namespace="platform"} |~ bench"#, 26),
    // A matcher's value must be a string.
    (r#"{namespace=platform}"#, 11),
    // A pipe with no stage after it.
    (r#"{namespace="platform"} |= "a" |"#, 31),
];

#[test]
fn every_logql_expression_parses_with_grafana_parser() {
    let d = dashboard();
    let logql: Vec<(u64, String)> = panels(&d)
        .iter()
        .flat_map(|(p, _)| targets(p).map(move |t| (*p, t)))
        .filter(|(_, t)| t["datasource"]["type"] == "loki")
        .map(|(p, t)| {
            (
                p["id"].as_u64().unwrap(),
                t["expr"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let exprs: Vec<&str> = logql
        .iter()
        .map(|(_, e)| e.as_str())
        .chain(BROKEN_LOGQL.iter().map(|(e, _)| *e))
        .collect();
    let Some(errors) = grafana_data::logql_errors(&exprs) else {
        return;
    };
    let (shipped, broken) = errors.split_at(logql.len());
    let problems: Vec<String> = logql
        .iter()
        .zip(shipped)
        .flat_map(|((id, expr), errors)| {
            errors
                .iter()
                .map(move |e| format!("panel {id}: {expr}\n  {e}"))
        })
        .collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert_eq!(
        logql,
        [(
            51,
            r#"{namespace="platform"} |~ "bench|benchmark|harness""#.to_owned()
        )]
    );
    // And the parser does report broken expressions, where they break.
    for ((expr, at), errors) in BROKEN_LOGQL.iter().zip(broken) {
        assert_eq!(
            errors.first().map(|e| e.at),
            Some(*at),
            "{expr}: expected a syntax error at character {at}, got {errors:?}"
        );
    }
}

#[test]
fn every_prometheus_query_returns_data_from_the_simulator() {
    if !tool_available("prometheus") {
        return;
    }
    let sim = Sim::start(builtin("healthy").unwrap(), 20.0);
    let prometheus = Prometheus::start(&sim, "1s");
    prometheus.wait_for_scrapes(8);
    let mut empty = Vec::new();
    for (id, r, expr) in promql(&dashboard()) {
        if prometheus.query(&expr).is_empty() {
            empty.push(format!("panel {id} {r}: {expr}"));
        }
    }
    assert!(
        empty.is_empty(),
        "queries without data:\n{}",
        empty.join("\n")
    );
}

#[test]
fn configmap_holds_the_dashboard_verbatim() {
    let configmap = yaml("k8s/base/observability/grafana-dashboards.yaml");
    assert_eq!(configmap["kind"], "ConfigMap");
    assert_eq!(
        configmap["data"]["llm-platform.json"].as_str(),
        Some(read(DASHBOARD).as_str()),
        "regenerate the ConfigMap (docs/dashboard.md)"
    );
}

#[test]
fn provisioning_puts_the_dashboard_in_its_folder() {
    let providers = yaml("dashboard/provisioning/dashboards/dashboards.yaml");
    let provider = &providers["providers"][0];
    assert_eq!(provider["folder"], "LLM Platform");
    assert_eq!(provider["options"]["path"], "/var/lib/grafana/dashboards");
    assert_eq!(
        provided_uids_and_types(),
        HashSet::from([
            ("prometheus".to_owned(), "prometheus".to_owned()),
            ("loki".to_owned(), "loki".to_owned())
        ])
    );
}

fn provided_uids_and_types() -> HashSet<(String, String)> {
    let ds = yaml("dashboard/provisioning/datasources/datasources.yaml");
    ds["datasources"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| {
            (
                d["uid"].as_str().unwrap_or("").to_owned(),
                d["type"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

#[test]
fn compose_stack_matches_the_compose_specification() {
    let compose = yaml("compose.yaml");
    if let Some(errors) = schema::compose_errors(&repo_root().join("compose.yaml")) {
        assert!(errors.is_empty(), "{}", errors.join("\n"));
        // The schema rejects a misspelt key and a value of the wrong kind.
        type Breakage = (&'static str, fn(&mut Value));
        let breakages: &[Breakage] = &[
            ("'helthcheck' was unexpected", |c| {
                let grafana = c["services"]["grafana"].as_object_mut().unwrap();
                let check = grafana.remove("healthcheck").unwrap();
                grafana.insert("helthcheck".into(), check);
            }),
            ("$.services.loki.ports[0]", |c| {
                c["services"]["loki"]["ports"][0] = json!(true)
            }),
        ];
        let dir = tempfile::tempdir().unwrap();
        for (error, breaks) in breakages {
            let mut broken = compose.clone();
            breaks(&mut broken);
            let file = dir.path().join("compose.json");
            std::fs::write(&file, broken.to_string()).unwrap();
            let errors = schema::compose_errors(&file).unwrap();
            assert!(
                errors.iter().any(|e| e.contains(error)),
                "no {error:?} in {errors:#?}"
            );
        }
    }
    let services = compose["services"].as_object().expect("services");
    for name in ["vllm-sim", "prometheus", "loki", "grafana"] {
        let s = &services[name];
        assert!(!s["healthcheck"].is_null(), "{name} has no healthcheck");
        if let Some(image) = s["image"].as_str().filter(|_| s["build"].is_null()) {
            assert!(
                image.contains(':') && !image.ends_with(":latest"),
                "{name} image {image} is not pinned"
            );
        }
        for volume in s["volumes"].as_array().into_iter().flatten() {
            let source = volume.as_str().unwrap().split(':').next().unwrap();
            if !source.starts_with("./") {
                assert!(
                    compose["volumes"].get(source).is_some(),
                    "{name} mounts undeclared volume {source}"
                );
                continue;
            }
            assert!(
                repo_root().join(source).exists(),
                "{name} mounts missing {source}"
            );
        }
    }
    assert!(
        services["vllm-sim"]["environment"]["VLLM_SIM_SCENARIO"]
            .as_str()
            .unwrap()
            .contains("VLLM_SIM_SCENARIO")
    );
    // The history: labelled as dashboard/prometheus.yml scrapes the lab, turned into
    // blocks before Prometheus starts, in the volume Prometheus then opens.
    let lab = &services["vllm-sim"]["environment"];
    assert_eq!(lab["VLLM_SIM_HOST"], "vllm-sim");
    assert_eq!(lab["VLLM_SIM_INTERVAL"], "15s");
    assert_eq!(lab["VLLM_SIM_HISTORY"], "${VLLM_SIM_HISTORY:-1h}");
    assert_eq!(
        services["prometheus"]["depends_on"]["history-blocks"]["condition"],
        "service_completed_successfully"
    );
    let blocks = services["history-blocks"]["command"][0].as_str().unwrap();
    assert!(
        blocks.contains("promtool tsdb create-blocks-from openmetrics /history/lab.om /prometheus")
    );
    assert!(
        services["prometheus"]["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v == "prometheus-data:/prometheus")
    );
    let home = services["grafana"]["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
        .as_str()
        .unwrap();
    assert_eq!(
        home,
        "/var/lib/grafana/dashboards/llm-platform-overview.json"
    );
    assert!(
        services["grafana"]["ports"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p.as_str() == Some("3000:3000"))
    );
}

#[test]
fn prometheus_configs_are_valid_and_in_step() {
    require!("promtool");
    let (code, out) = promtool(
        &[
            "check",
            "config",
            repo_root()
                .join("dashboard/prometheus.yml")
                .to_str()
                .unwrap(),
        ],
        "",
    );
    assert_eq!(code, 0, "{out}");
    let strip = |text: &str| -> String {
        text.lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n")
            .replace("vllm-sim:", "127.0.0.1:")
    };
    assert_eq!(
        strip(&read("dashboard/prometheus.yml")),
        strip(&read("examples/prometheus.yml"))
    );
    let scrape = yaml("dashboard/prometheus.yml");
    assert_eq!(
        scrape["global"]["scrape_interval"], "15s",
        "the spec scrapes every 15 s"
    );
}
