//! The HTML report (`verify --format html`) as a browser reads it: the page for the
//! shipped dashboard on backfilled `healthy` and `judge-backlog` history, and for a
//! broken copy of it, loaded from disk in Debian's headless Chromium, whose DOM (after
//! parsing, layout and any script) is checked: every panel there under its title, one
//! drawing each, the failing panel marked and no other, no markup from a title, and
//! the page under 2 MB and quick to load.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use clap::Parser;
use serde_json::{Value, json};
use vllm_sim::cli::Cli;
use vllm_sim::rig::{self, Format, Report};
use vllm_sim::scenario::builtin;
use vllm_sim_tests::{Prometheus, skip};

use super::verify::{Expect, WINDOW, backfilled_lab, shipped_dashboard, verify};

/// The page for the shipped dashboard and one scenario must stay under this.
const MAX_PAGE_BYTES: usize = 2 * 1024 * 1024;

/// Whether Debian's `chromium` is there; a SKIP line (a failure under CI) when not.
fn chromium_available() -> bool {
    let found = Command::new("chromium")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        skip("`chromium` is not installed (apt-get install --no-install-recommends chromium)");
    }
    found
}

/// The DOM Chromium builds from the file at `page`, and how long it took.
fn dump_dom(page: &Path) -> (String, Duration) {
    let profile = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    let took = started.elapsed();
    assert!(
        out.status.success(),
        "chromium failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    (String::from_utf8(out.stdout).unwrap(), took)
}

/// One panel as the DOM has it.
#[derive(Debug)]
struct Shown {
    id: Option<u64>,
    title: String,
    status: String,
    drawings: usize,
}

fn attribute<'a>(element: &'a str, name: &str) -> Option<&'a str> {
    let start = element.find(&format!(" {name}=\""))? + name.len() + 3;
    element[start..].split('"').next()
}

/// Text as Chromium serialises it, back to the text.
fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

/// Every `<article data-panel>` of a page or its DOM, in order.
fn panels(dom: &str) -> Vec<Shown> {
    dom.split("<article ")
        .skip(1)
        .map(|a| a.split("</article>").next().unwrap())
        .filter(|a| {
            // `data-panel` as written, `data-panel=""` as Chromium serialises it.
            let open = format!(" {} ", &a[..a.find('>').unwrap_or(0)]);
            open.contains(" data-panel ") || open.contains(" data-panel=\"\" ")
        })
        .map(|a| {
            let open = &a[..a.find('>').unwrap()];
            let title = a
                .split("class=\"panel-title\"")
                .nth(1)
                .and_then(|t| t.split_once('>'))
                .and_then(|(_, t)| t.split_once("</h3>"))
                .map(|(t, _)| unescape(t))
                .unwrap_or_default();
            Shown {
                id: attribute(&format!(" {open}"), "data-panel-id").and_then(|i| i.parse().ok()),
                title,
                status: attribute(&format!(" {open}"), "data-status")
                    .unwrap_or_default()
                    .to_owned(),
                drawings: a.matches(" data-drawing=\"").count(),
            }
        })
        .collect()
}

/// The report on `dashboard` for `scenario`'s backfilled history, as a page in `dir`.
fn page(
    prometheus: &Prometheus,
    end: u64,
    dashboard: &Value,
    scenario: &str,
    dir: &Path,
) -> (Report, std::path::PathBuf, usize) {
    let mut report = verify(
        prometheus,
        dashboard,
        Some((scenario, Expect::All)),
        end - WINDOW,
        end,
        15,
    );
    report.scenario = Some(scenario.to_owned());
    let html = report.render(Format::Html);
    let path = dir.join(format!("{scenario}.html"));
    std::fs::write(&path, &html).unwrap();
    (report, path, html.len())
}

/// The dashboard's panels (rows excluded), as `(id, title)`.
fn dashboard_panels(dashboard: &Value) -> Vec<(Option<u64>, String)> {
    let d = rig::dashboard::parse(&dashboard.to_string()).unwrap();
    d.panels()
        .iter()
        .map(|p| (p.panel.id, p.panel.title.clone()))
        .collect()
}

fn median(mut d: Vec<Duration>) -> Duration {
    d.sort();
    d[d.len() / 2]
}

/// Each scenario's page shows every panel of the dashboard under its title, each with
/// one drawing, none failed (both scenarios verify), and loads in well under a second
/// beyond Chromium's own start.
#[test]
fn scenario_pages_show_every_panel_once() {
    if !chromium_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let dashboard = shipped_dashboard();
    let wanted = dashboard_panels(&dashboard);
    for scenario in ["healthy", "judge-backlog"] {
        let Some((prometheus, end)) = backfilled_lab(builtin(scenario).unwrap()) else {
            return;
        };
        let (report, path, bytes) = page(&prometheus, end, &dashboard, scenario, dir.path());
        assert_eq!(report.summary().failed, 0, "{scenario} verifies");
        assert!(
            bytes < MAX_PAGE_BYTES,
            "{scenario}: the page is {bytes} bytes"
        );
        let (dom, _) = dump_dom(&path);
        let shown = panels(&dom);
        let seen: Vec<(Option<u64>, String)> =
            shown.iter().map(|p| (p.id, p.title.clone())).collect();
        assert_eq!(seen, wanted, "{scenario}: every panel, in order, by title");
        for p in &shown {
            assert_eq!(p.drawings, 1, "{scenario}: one drawing on {p:?}");
            assert!(
                p.status == "ok" || p.status == "skipped",
                "{scenario}: {p:?}"
            );
        }
        assert_eq!(
            shown.iter().filter(|p| p.status == "skipped").count(),
            1,
            "{scenario}: only the Loki panel is skipped, without a Loki"
        );
        for row in [
            "Overview",
            "Evaluation — Judge Model",
            "Benchmark Traces &amp; Logs",
        ] {
            assert!(
                dom.contains(&format!("<h2 class=\"row-title\">{row}</h2>")),
                "{scenario}: row {row}"
            );
        }
        assert!(
            dom.contains("<svg data-drawing=\"timeseries\""),
            "{scenario}"
        );
        assert!(
            dom.contains("<table class=\"table\" data-drawing=\"table\""),
            "{scenario}"
        );
        // The command line writes the same page with --html beside its --format.
        let beside = dir.path().join(format!("{scenario}-cli.html"));
        let cli = Cli::try_parse_from([
            "vllm-sim".to_owned(),
            "verify".to_owned(),
            format!("--prometheus={}", prometheus.url),
            format!("--scenario={scenario}"),
            format!("--from={}", end - WINDOW),
            format!("--to={end}"),
            "--format=junit".to_owned(),
            format!("--html={}", beside.display()),
        ])
        .unwrap();
        cli.execute().expect("verify passes");
        let written = std::fs::read_to_string(&beside).expect("--html wrote the page");
        assert_eq!(
            panels(&written).len(),
            wanted.len(),
            "{scenario}: the --html page"
        );
        assert!(written.contains(&format!("scenario <code>{scenario}</code>")));
        if scenario == "judge-backlog" {
            // The stat the scenario expects red shows its text in Grafana's red.
            let queue = dom.split("data-panel-id=\"4\"").nth(1).unwrap();
            let queue = queue.split("</article>").next().unwrap();
            assert!(
                queue.contains("style=\"color:#F2495C\" data-color=\"red\""),
                "Waiting Queue red: {queue}"
            );
        }
        eprintln!("{scenario}: page {bytes} bytes");
    }
    // How long Chromium takes to load and dump the page, beyond an empty one.
    let blank = dir.path().join("blank.html");
    std::fs::write(&blank, "<!DOCTYPE html><title>blank</title>").unwrap();
    let page = dir.path().join("healthy.html");
    let (mut blank_runs, mut page_runs) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        blank_runs.push(dump_dom(&blank).1);
        page_runs.push(dump_dom(&page).1);
    }
    let (blank, page) = (median(blank_runs), median(page_runs));
    eprintln!(
        "chromium --dump-dom, median of 3: blank page {:.3} s, healthy report {:.3} s",
        blank.as_secs_f64(),
        page.as_secs_f64()
    );
    assert!(
        page.saturating_sub(blank) < Duration::from_secs(1),
        "the report takes {page:?} to open, an empty page {blank:?}"
    );
}

/// A broken dashboard's page marks the broken panel failed, and no other; a title
/// that is markup stays text.
#[test]
fn a_broken_panel_is_marked_and_titles_stay_text() {
    if !chromium_available() {
        return;
    }
    let Some((prometheus, end)) = backfilled_lab(builtin("healthy").unwrap()) else {
        return;
    };
    let mut dashboard = shipped_dashboard();
    let overview = dashboard["panels"].as_array_mut().unwrap();
    let by_id = |panels: &mut Vec<Value>, id: u64| panels.iter().position(|p| p["id"] == id);
    let latency = by_id(overview, 3).unwrap();
    let expr = overview[latency]["targets"][0]["expr"]
        .as_str()
        .unwrap()
        .replace("e2e_request_latency", "e2e_request_latncy");
    overview[latency]["targets"][0]["expr"] = json!(expr);
    let rps = by_id(overview, 2).unwrap();
    let title = "<script>document.title='pwned'</script><b>Total</b> RPS & \"more\"";
    overview[rps]["title"] = json!(title);
    let dir = tempfile::tempdir().unwrap();
    let (report, path, _) = page(&prometheus, end, &dashboard, "healthy", dir.path());
    assert!(report.summary().failed > 0);
    let (dom, _) = dump_dom(&path);
    let shown = panels(&dom);
    assert_eq!(shown.len(), dashboard_panels(&dashboard).len());
    let failed: Vec<Option<u64>> = shown
        .iter()
        .filter(|p| p.status == "failed")
        .map(|p| p.id)
        .collect();
    assert_eq!(failed, [Some(3)], "only the broken panel is marked failed");
    assert!(shown.iter().all(|p| p.drawings == 1), "{shown:?}");
    let rps = shown.iter().find(|p| p.id == Some(2)).unwrap();
    assert_eq!(rps.title, title, "the title is text, as written");
    assert!(!dom.contains("<script"), "no script element");
    assert!(!dom.contains("<b>Total</b>"), "no markup from the title");
    let page_title = dom
        .split("<title>")
        .nth(1)
        .and_then(|t| t.split_once("</title>"));
    let want = format!("{} — vllm-sim verify", dashboard["title"].as_str().unwrap());
    assert_eq!(
        page_title.map(|(t, _)| unescape(t)),
        Some(want),
        "no script ran"
    );
    let broken = dom.split("data-panel-id=\"3\"").nth(1).unwrap();
    let broken = broken.split("</article>").next().unwrap();
    assert!(
        broken.contains("<b>no data</b>") && broken.contains("data-outcome=\"failed\""),
        "the verdict and its failed expectation: {broken}"
    );
}
