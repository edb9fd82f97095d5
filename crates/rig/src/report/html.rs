//! The report as one self-contained HTML page for people: a header (dashboard,
//! window, scenario, counts), then each row of the dashboard with its panels placed on
//! Grafana's 24-column grid by their `gridPos`, each drawn from the data behind its
//! verdict (a stat's value text in its threshold colour, a time series' lines with a
//! legend and threshold lines, a table, log lines) with its verdict and the
//! expectations checked on it; then alerts and drift when there are any.
//!
//! Inline CSS and inline SVG only: no script, no external URL, so the page works as a
//! CI artifact opened from disk. Every text from dashboards, answers and scenarios is
//! escaped. Each panel is an `<article data-panel …>` with `data-status` `ok`,
//! `failed` or `skipped`, and holds exactly one element with `data-drawing` (its
//! drawing, or a no-data placeholder). Colours come from [`theme`](crate::theme).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::{AlertsReport, Outcome, PanelReport, Report, SeriesData, Status};
use crate::dashboard::{GridPos, ThresholdMode};
use crate::theme;
use crate::units::format_value;

/// Most points drawn per series: longer series are reduced to each bucket's first,
/// lowest, highest and last points.
pub const MAX_POINTS: usize = 300;
/// Most log lines shown per panel (the newest).
pub const MAX_LINES: usize = 100;
/// Most rows shown per table.
pub const MAX_ROWS: usize = 50;
/// Most values shown per stat.
const MAX_STATS: usize = 12;
/// The drawing area of a time series, in SVG units (it stretches to the panel).
const W: f64 = 600.0;
const H: f64 = 200.0;

/// The page.
pub fn render(report: &Report) -> String {
    let title = report
        .title
        .clone()
        .unwrap_or_else(|| report.dashboard.clone());
    let mut out = String::with_capacity(64 * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>{} — vllm-sim verify</title>\n<style>{}</style>\n</head>\n<body>\n",
        esc(&title),
        style()
    );
    header(report, &title, &mut out);
    if let Some(e) = &report.unreachable {
        let _ = writeln!(
            out,
            "<section class=\"error\" data-status=\"failed\"><h2>Nothing was checked</h2><p>{}</p></section>",
            esc(e)
        );
    }
    rows(report, &mut out);
    orphans(report, &mut out);
    if let Some(a) = &report.alerts {
        alerts(a, &mut out);
    }
    drift(report, &mut out);
    out.push_str("</body>\n</html>\n");
    out
}

fn header(report: &Report, title: &str, out: &mut String) {
    let s = report.summary();
    let status = if s.failed > 0 { "failed" } else { "ok" };
    let _ = write!(
        out,
        "<header data-status=\"{status}\">\n<h1>{}</h1>\n<p class=\"meta\">dashboard <code>{}</code>",
        esc(title),
        esc(&report.dashboard)
    );
    if let Some(w) = report.window {
        let _ = write!(
            out,
            " · window {} to {} ({})",
            utc(w.from_ms as f64 / 1000.0),
            utc(w.to_ms as f64 / 1000.0),
            crate::rules::format_duration((w.to_ms - w.from_ms).unsigned_abs())
        );
    }
    if let Some(sc) = &report.scenario {
        let _ = write!(out, " · scenario <code>{}</code>", esc(sc));
    }
    let _ = write!(
        out,
        "</p>\n<p class=\"summary\"><b>{}</b> checks: <span class=\"ok\">{} ok</span>, \
         <span class=\"failed\">{} failed</span>, <span class=\"skipped\">{} skipped</span></p>\n</header>\n",
        s.total(),
        s.ok,
        s.failed,
        s.skipped
    );
}

/// The panels, grouped by row in display order, each row its own grid.
fn rows(report: &Report, out: &mut String) {
    let mut groups: Vec<(Option<&str>, Vec<usize>)> = Vec::new();
    for (i, p) in report.panels.iter().enumerate() {
        match groups.last_mut() {
            Some((row, members)) if *row == p.row.as_deref() => members.push(i),
            _ => groups.push((p.row.as_deref(), vec![i])),
        }
    }
    for (row, members) in groups {
        out.push_str("<section class=\"row\">\n");
        if let Some(r) = row {
            let _ = writeln!(out, "<h2 class=\"row-title\">{}</h2>", esc(r));
        }
        out.push_str("<div class=\"grid\">\n");
        let top = members
            .iter()
            .filter_map(|&i| report.panels[i].grid_pos.map(|g| g.y))
            .min()
            .unwrap_or(0);
        for i in members {
            panel(report, i, top, out);
        }
        out.push_str("</div>\n</section>\n");
    }
}

fn panel(report: &Report, index: usize, top: u32, out: &mut String) {
    let p = &report.panels[index];
    let status = match &p.status {
        Status::Ok => "ok",
        Status::Skipped(_) => "skipped",
        _ => "failed",
    };
    let checks: Vec<_> = report
        .expectations
        .iter()
        .filter(|e| e.panel == Some(index))
        .collect();
    let place = match p.grid_pos {
        Some(GridPos { x, y, w, h }) => {
            let w = w.clamp(1, 24);
            let x = x.min(24 - w);
            format!(
                "grid-column:{} / span {w};grid-row:{} / span {}",
                x + 1,
                y.saturating_sub(top) + 1,
                h.max(2)
            )
        }
        None => "grid-column:span 8;grid-row:span 8".to_owned(),
    };
    let id =
        p.id.map_or_else(String::new, |id| format!(" data-panel-id=\"{id}\""));
    let _ = write!(
        out,
        "<article class=\"panel {status}\" data-panel{id} data-kind=\"{}\" data-status=\"{status}\" style=\"{place}\">\n\
         <h3 class=\"panel-title\" title=\"{}\">{}</h3>\n",
        esc(&p.kind),
        esc(&p.label()),
        esc(&p.title),
    );
    let _ = write!(
        out,
        "<p class=\"verdict {status}\"><b>{}</b>",
        esc(p.status.label())
    );
    if let Status::Skipped(why) = &p.status {
        let _ = write!(out, ": {}", esc(why));
    }
    out.push_str("</p>\n<div class=\"body\">");
    drawing(p, out);
    out.push_str("</div>\n");
    if !p.messages.is_empty() || !checks.is_empty() {
        out.push_str("<ul class=\"checks\">");
        for m in &p.messages {
            let _ = write!(out, "<li class=\"failed\">{}</li>", esc(m));
        }
        for e in checks {
            let _ = write!(
                out,
                "<li class=\"{0}\" data-outcome=\"{0}\"><b>{1}</b> {2}: {3}</li>",
                e.outcome,
                mark(e.outcome),
                esc(&e.note),
                esc(&e.message)
            );
        }
        out.push_str("</ul>\n");
    }
    out.push_str("</article>\n");
}

/// The one element with `data-drawing`.
fn drawing(p: &PanelReport, out: &mut String) {
    let series: Vec<&SeriesData> = p.targets.iter().flat_map(|t| &t.series).collect();
    match p.kind.as_str() {
        "logs" if !p.lines.is_empty() => logs(p, out),
        "logs" => placeholder("logs", "no log lines", out),
        _ if series.is_empty() => placeholder(&p.kind, "No data", out),
        "stat" | "gauge" | "bargauge" => stat(p, out),
        "table" => table(p, &series, out),
        _ => timeseries(p, &series, out),
    }
}

fn placeholder(kind: &str, text: &str, out: &mut String) {
    let _ = write!(
        out,
        "<div class=\"nodata\" data-drawing=\"{}\">{text}</div>",
        esc(kind)
    );
}

fn stat(p: &PanelReport, out: &mut String) {
    let _ = write!(
        out,
        "<div class=\"stat\" data-drawing=\"{}\">",
        esc(&p.kind)
    );
    for s in p.series.iter().take(MAX_STATS) {
        let colour = theme::css(s.color.as_deref().unwrap_or("text"));
        let _ = write!(
            out,
            "<div class=\"stat-item\"><span class=\"stat-value\" style=\"color:{}\" data-color=\"{}\">{}</span>",
            esc(&colour),
            esc(s.color.as_deref().unwrap_or("")),
            esc(&s.text)
        );
        if p.series.len() > 1 {
            let _ = write!(out, "<span class=\"stat-name\">{}</span>", esc(&s.name));
        }
        out.push_str("</div>");
    }
    if p.series.len() > MAX_STATS {
        let _ = write!(
            out,
            "<div class=\"more\">… {} more</div>",
            p.series.len() - MAX_STATS
        );
    }
    out.push_str("</div>");
}

fn table(p: &PanelReport, series: &[&SeriesData], out: &mut String) {
    let keys: BTreeSet<&str> = series
        .iter()
        .flat_map(|s| s.labels.keys().map(String::as_str))
        .filter(|k| *k != "__name__")
        .collect();
    let _ = write!(
        out,
        "<table class=\"table\" data-drawing=\"table\"><thead><tr>"
    );
    for k in &keys {
        let _ = write!(out, "<th>{}</th>", esc(k));
    }
    out.push_str("<th>Value</th></tr></thead><tbody>");
    let unit = p.display.unit.as_deref();
    for s in series.iter().take(MAX_ROWS) {
        out.push_str("<tr>");
        for k in &keys {
            let v = s.labels.get(*k).map_or("", String::as_str);
            let _ = write!(out, "<td>{}</td>", esc(v));
        }
        let last = s.points.last().map(|(_, v)| *v).filter(|v| !v.is_nan());
        let _ = write!(
            out,
            "<td class=\"num\">{}</td></tr>",
            esc(&format_value(last, unit, p.display.decimals))
        );
    }
    out.push_str("</tbody></table>");
    if series.len() > MAX_ROWS {
        let _ = write!(
            out,
            "<div class=\"more\">… {} more rows</div>",
            series.len() - MAX_ROWS
        );
    }
}

fn logs(p: &PanelReport, out: &mut String) {
    out.push_str("<ol class=\"logs\" data-drawing=\"logs\">");
    for l in p.lines.iter().take(MAX_LINES) {
        let labels: Vec<String> = l.labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
        let _ = write!(
            out,
            "<li><time>{}</time> <span class=\"labels\">{{{}}}</span> {}</li>",
            utc(l.time),
            esc(&labels.join(", ")),
            esc(&l.line)
        );
    }
    out.push_str("</ol>");
    if p.lines.len() > MAX_LINES {
        let _ = write!(
            out,
            "<div class=\"more\">{} newest of {} lines</div>",
            MAX_LINES,
            p.lines.len()
        );
    }
}

/// Lines on a time axis, a legend, and threshold lines when the panel shows them.
fn timeseries(p: &PanelReport, series: &[&SeriesData], out: &mut String) {
    let finite = |v: &f64| v.is_finite();
    let times = series.iter().flat_map(|s| s.points.iter().map(|(t, _)| *t));
    let (t0, t1) = bounds(times.filter(finite));
    let values = series
        .iter()
        .flat_map(|s| s.points.iter().map(|(_, v)| *v))
        .filter(finite);
    let (mut lo, mut hi) = bounds(values);
    let d = &p.display;
    let thresholds: Vec<(f64, String)> = match (&d.thresholds, d.thresholds_style.as_deref()) {
        (Some(t), Some(style)) if style != "off" && !style.is_empty() => t
            .steps
            .iter()
            .skip(1)
            .filter_map(|s| {
                let v = s.value?;
                let v = match t.mode {
                    ThresholdMode::Absolute => v,
                    ThresholdMode::Percentage => {
                        let (min, max) = (d.min.unwrap_or(lo), d.max.unwrap_or(hi));
                        min + (max - min) * v / 100.0
                    }
                };
                v.is_finite().then(|| (v, theme::css(&s.color)))
            })
            .collect(),
        _ => Vec::new(),
    };
    for (v, _) in &thresholds {
        lo = lo.min(*v);
        hi = hi.max(*v);
    }
    lo = d.min.unwrap_or(lo);
    hi = d.max.unwrap_or(hi);
    if hi <= lo || !hi.is_finite() || !lo.is_finite() {
        hi = lo + 1.0;
    }
    let x = |t: f64| {
        if t1 > t0 {
            (t - t0) / (t1 - t0) * W
        } else {
            W / 2.0
        }
    };
    let y = |v: f64| H - (v - lo) / (hi - lo) * H;
    let unit = d.unit.as_deref();
    let _ = write!(
        out,
        "<div class=\"ts\"><div class=\"plot\"><div class=\"axis\"><span>{}</span><span>{}</span></div>\
         <svg data-drawing=\"timeseries\" viewBox=\"0 0 {W} {H}\" preserveAspectRatio=\"none\" role=\"img\">",
        esc(&format_value(Some(hi), unit, d.decimals)),
        esc(&format_value(Some(lo), unit, d.decimals)),
    );
    for frac in [0.25, 0.5, 0.75] {
        let _ = write!(
            out,
            "<line class=\"gridline\" x1=\"0\" x2=\"{W}\" y1=\"{0:.1}\" y2=\"{0:.1}\"/>",
            H * frac
        );
    }
    let style = d.thresholds_style.as_deref().unwrap_or("");
    for (i, (v, colour)) in thresholds.iter().enumerate() {
        if style.contains("area") {
            let next = thresholds.get(i + 1).map_or(hi, |(n, _)| *n);
            let _ = write!(
                out,
                "<rect class=\"threshold-area\" x=\"0\" width=\"{W}\" y=\"{:.1}\" height=\"{:.1}\" fill=\"{}\"/>",
                y(next),
                (y(*v) - y(next)).max(0.0),
                esc(colour)
            );
        }
        if style.contains("line") || style.contains("dashed") {
            let dash = if style.contains("dashed") {
                " stroke-dasharray=\"8 6\""
            } else {
                ""
            };
            let _ = write!(
                out,
                "<line class=\"threshold\" data-threshold=\"{}\" x1=\"0\" x2=\"{W}\" y1=\"{2:.1}\" y2=\"{2:.1}\" stroke=\"{1}\"{dash}/>",
                js(*v),
                esc(colour),
                y(*v),
            );
        }
    }
    for (i, s) in series.iter().enumerate() {
        let colour = theme::series(i);
        for segment in segments(&downsample(&s.points, MAX_POINTS)) {
            let mut pts = String::with_capacity(segment.len() * 12);
            for (t, v) in &segment {
                let _ = write!(pts, "{:.1},{:.1} ", x(*t), y(*v));
            }
            let _ = write!(
                out,
                "<polyline points=\"{}\" stroke=\"{}\"/>",
                pts.trim_end(),
                esc(&colour)
            );
        }
    }
    let _ = write!(
        out,
        "</svg></div><div class=\"axis-x\"><span>{}</span><span>{}</span></div><ul class=\"legend\">",
        hhmm(t0),
        hhmm(t1)
    );
    let by_name: BTreeMap<&str, &super::SeriesValue> =
        p.series.iter().map(|v| (v.name.as_str(), v)).collect();
    for (i, s) in series.iter().enumerate() {
        let last = by_name
            .get(s.name.as_str())
            .map_or(String::new(), |v| format!(" <i>{}</i>", esc(&v.text)));
        let _ = write!(
            out,
            "<li><span class=\"swatch\" style=\"background:{}\"></span>{}{last}</li>",
            esc(&theme::series(i)),
            esc(&s.name)
        );
    }
    out.push_str("</ul></div>");
}

/// The finite bounds of `values`, `(0, 1)` when there are none.
fn bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if lo > hi { (0.0, 1.0) } else { (lo, hi) }
}

/// At most about `max` points: the series cut into `max / 4` buckets by position,
/// each kept as its first, lowest, highest and last point, in time order, so peaks
/// and gaps survive. Points with a non-finite value stay, as gaps.
pub fn downsample(points: &[(f64, f64)], max: usize) -> Vec<(f64, f64)> {
    if points.len() <= max || max < 4 {
        return points.to_vec();
    }
    let buckets = max / 4;
    let size = points.len().div_ceil(buckets);
    let mut out = Vec::with_capacity(max);
    for chunk in points.chunks(size) {
        let mut keep: Vec<usize> = vec![0, chunk.len() - 1];
        let numbered = chunk.iter().enumerate().filter(|(_, p)| p.1.is_finite());
        if let Some((i, _)) = numbered.clone().min_by(|a, b| a.1.1.total_cmp(&b.1.1)) {
            keep.push(i);
        }
        if let Some((i, _)) = numbered.max_by(|a, b| a.1.1.total_cmp(&b.1.1)) {
            keep.push(i);
        }
        if let Some(gap) = chunk.iter().position(|p| !p.1.is_finite()) {
            keep.push(gap);
        }
        keep.sort_unstable();
        keep.dedup();
        out.extend(keep.into_iter().map(|i| chunk[i]));
    }
    out
}

/// Runs of points with finite times and values: a null breaks the line.
fn segments(points: &[(f64, f64)]) -> Vec<Vec<(f64, f64)>> {
    let mut out: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
    for &(t, v) in points {
        if t.is_finite() && v.is_finite() {
            if let Some(s) = out.last_mut() {
                s.push((t, v));
            }
        } else if out.last().is_some_and(|s| !s.is_empty()) {
            out.push(Vec::new());
        }
    }
    out.retain(|s| !s.is_empty());
    out
}

fn orphans(report: &Report, out: &mut String) {
    let orphans: Vec<_> = report
        .expectations
        .iter()
        .filter(|e| e.panel.is_none())
        .collect();
    if orphans.is_empty() {
        return;
    }
    out.push_str("<section class=\"extra\"><h2>Expectations about no panel of this dashboard</h2><ul class=\"checks\">");
    for e in orphans {
        let _ = write!(
            out,
            "<li class=\"{0}\" data-outcome=\"{0}\"><b>{1}</b> {2}: {3}: {4}</li>",
            e.outcome,
            mark(e.outcome),
            esc(&e.panel_ref),
            esc(&e.note),
            esc(&e.message)
        );
    }
    out.push_str("</ul></section>\n");
}

/// A bar per alerting rule across the window: pending yellow, firing red.
fn alerts(a: &AlertsReport, out: &mut String) {
    let _ = write!(
        out,
        "<section class=\"extra alerts\"><h2>Alerts</h2><p class=\"meta\">{}</p><table class=\"timeline\">",
        if a.files.is_empty() {
            "alerting rules not evaluated: pass the rule files with --rules".to_owned()
        } else {
            esc(&a.files.join(", "))
        }
    );
    for t in &a.timelines {
        let span = (t.last_ms - t.first_ms).max(1) as f64;
        let x = |ms: i64| ((ms - t.first_ms) as f64 / span * 100.0).clamp(0.0, 100.0);
        let _ = write!(
            out,
            "<tr><th title=\"{}\">{}</th><td>",
            esc(&t.at),
            esc(&t.alert)
        );
        if let Some(e) = &t.error {
            let _ = write!(out, "<span class=\"failed\">{}</span>", esc(e));
        } else {
            out.push_str("<svg viewBox=\"0 0 100 6\" preserveAspectRatio=\"none\">");
            out.push_str("<rect class=\"track\" x=\"0\" y=\"0\" width=\"100\" height=\"6\"/>");
            for e in &t.episodes {
                let end = e.ended_at_ms.unwrap_or(t.last_ms);
                let fired = e.fired_at_ms.unwrap_or(end);
                let label = esc(&crate::alerting::describe(e, a.start_ms));
                let _ = write!(
                    out,
                    "<rect class=\"pending\" x=\"{:.2}\" y=\"0\" width=\"{:.2}\" height=\"6\"><title>{label}</title></rect>",
                    x(e.active_at_ms),
                    x(fired) - x(e.active_at_ms)
                );
                if e.fired_at_ms.is_some() {
                    let _ = write!(
                        out,
                        "<rect class=\"firing\" x=\"{:.2}\" y=\"0\" width=\"{:.2}\" height=\"6\"><title>{label}</title></rect>",
                        x(fired),
                        (x(end) - x(fired)).max(0.3)
                    );
                }
            }
            out.push_str("</svg>");
            if t.episodes.is_empty() {
                out.push_str("<span class=\"quiet\">never active</span>");
            }
        }
        out.push_str("</td></tr>");
    }
    out.push_str("</table><ul class=\"checks\">");
    for e in &a.errors {
        let _ = write!(
            out,
            "<li class=\"failed\" data-outcome=\"failed\"><b>[FAIL]</b> {}</li>",
            esc(e)
        );
    }
    for c in &a.checks {
        let _ = write!(
            out,
            "<li class=\"{0}\" data-outcome=\"{0}\"><b>{1}</b> {2}: {3}</li>",
            c.outcome,
            mark(c.outcome),
            esc(&c.name),
            esc(&c.message)
        );
    }
    out.push_str("</ul></section>\n");
}

fn drift(report: &Report, out: &mut String) {
    if report.drift.is_empty() && report.drift_error.is_none() {
        return;
    }
    out.push_str("<section class=\"extra\"><h2>Metric drift</h2>");
    if let Some(e) = &report.drift_error {
        let _ = write!(out, "<p>{}</p>", esc(e));
    }
    if !report.drift.is_empty() {
        out.push_str("<table class=\"table\"><thead><tr><th>Panel</th><th>Target</th><th>Old metric</th>\
                      <th>New metric</th><th>Status</th><th>Suggested PromQL</th></tr></thead><tbody>");
        for d in &report.drift {
            let panel = report
                .panels
                .get(d.panel)
                .map_or_else(|| "?".to_owned(), PanelReport::label);
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td><code>{}</code></td><td>{} ({})</td><td><code>{}</code></td></tr>",
                esc(&panel),
                esc(&d.ref_id),
                esc(&d.old),
                esc(&d.new),
                esc(d.status.label()),
                esc(&d.history),
                esc(d.suggested.as_deref().unwrap_or("(by hand)"))
            );
        }
        out.push_str("</tbody></table>");
    }
    out.push_str("</section>\n");
}

fn mark(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Passed => "✓",
        Outcome::Failed => "✗ FAIL",
        Outcome::Skipped => "– skip",
    }
}

/// Text for HTML content and attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn js(v: f64) -> String {
    crate::units::js_number(v)
}

/// Unix seconds as `2023-11-14 22:13:20Z`; `?` for no time.
fn utc(secs: f64) -> String {
    let Some((date, h, m, s)) = civil(secs) else {
        return "?".to_owned();
    };
    format!("{date} {h:02}:{m:02}:{s:02}Z")
}

/// Unix seconds as `22:13` (UTC).
fn hhmm(secs: f64) -> String {
    civil(secs).map_or_else(|| "?".to_owned(), |(_, h, m, _)| format!("{h:02}:{m:02}"))
}

/// The UTC date and time of day of `secs` (Howard Hinnant's `civil_from_days`).
fn civil(secs: f64) -> Option<(String, i64, i64, i64)> {
    if !secs.is_finite() || secs.abs() > 1e12 {
        return None;
    }
    let secs = secs.floor() as i64;
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    Some((
        format!("{year:04}-{month:02}-{day:02}"),
        rest / 3600,
        rest % 3600 / 60,
        rest % 60,
    ))
}

fn style() -> String {
    format!(
        "*{{box-sizing:border-box}}\
         body{{margin:0;padding:16px;background:{canvas};color:{text};font:13px/1.4 Inter,Helvetica,Arial,sans-serif}}\
         header{{margin-bottom:12px}}h1{{font-size:20px;margin:0 0 4px}}\
         header[data-status=failed] h1::after{{content:' — failed';color:{red}}}\
         .meta{{color:{text2};margin:2px 0}}.summary{{margin:4px 0}}\
         .ok{{color:{green}}}.failed{{color:{red}}}.skipped,.quiet{{color:{text2}}}\
         code{{font-family:Menlo,Consolas,monospace;font-size:12px}}\
         .row{{margin:12px 0}}.row-title{{font-size:15px;margin:8px 0;padding-bottom:4px;border-bottom:1px solid {border}}}\
         .grid{{display:grid;grid-template-columns:repeat(24,minmax(0,1fr));grid-auto-rows:30px;gap:8px}}\
         .panel{{background:{panel};border:1px solid {border};border-radius:2px;padding:6px 8px;overflow:hidden;display:flex;flex-direction:column;min-height:0}}\
         .panel[data-status=failed]{{border:2px solid {red};box-shadow:0 0 0 1px {red} inset}}\
         .panel-title{{font-size:13px;font-weight:500;margin:0;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}}\
         .verdict{{margin:0;font-size:11px}}.verdict.ok{{color:{green}}}\
         .body{{flex:1 1 auto;min-height:0;overflow:hidden;display:flex;flex-direction:column}}\
         .checks{{margin:2px 0 0;padding:0;list-style:none;font-size:11px;max-height:40%;overflow:auto;flex:0 0 auto}}\
         .checks li.passed{{color:{green}}}.checks li.failed{{color:{red};font-weight:600}}.checks li.skipped{{color:{text2}}}\
         .nodata{{margin:auto;color:{text2}}}\
         .stat{{display:flex;flex-wrap:wrap;gap:4px 16px;align-items:center;justify-content:center;flex:1}}\
         .stat-item{{display:flex;flex-direction:column;align-items:center}}\
         .stat-value{{font-size:30px;font-weight:500;line-height:1.1}}.stat-name{{font-size:11px;color:{text2}}}\
         .ts{{display:flex;flex-direction:column;flex:1;min-height:0;position:relative}}\
         .plot{{flex:1 1 auto;min-height:30px;position:relative;display:flex}}\
         .ts svg{{flex:1 1 auto;width:100%;height:100%;border-left:1px solid {border};border-bottom:1px solid {border}}}\
         .ts polyline{{fill:none;stroke-width:1.5;vector-effect:non-scaling-stroke}}\
         .ts line{{vector-effect:non-scaling-stroke}}.gridline{{stroke:{border}}}.threshold{{stroke-width:1.5}}\
         .threshold-area{{opacity:.15}}\
         .axis,.axis-x{{display:flex;justify-content:space-between;font-size:10px;color:{text2}}}\
         .axis{{position:absolute;left:4px;top:0;bottom:0;flex-direction:column;pointer-events:none}}\
         .legend{{list-style:none;margin:2px 0 0;padding:0;display:flex;flex-wrap:wrap;gap:0 10px;font-size:11px}}\
         .legend i{{color:{text2};font-style:normal}}\
         .swatch{{display:inline-block;width:12px;height:3px;margin:0 4px 3px 0;vertical-align:middle}}\
         .table{{border-collapse:collapse;width:100%;font-size:12px}}\
         .table th,.table td{{border-bottom:1px solid {border};padding:2px 6px;text-align:left}}.table td.num{{text-align:right}}\
         .logs{{list-style:none;margin:0;padding:0;overflow:auto;font:11px/1.35 Menlo,Consolas,monospace}}\
         .logs time{{color:{text2}}}.logs .labels{{color:{blue}}}.more{{font-size:11px;color:{text2}}}\
         .extra{{background:{panel};border:1px solid {border};padding:8px 12px;margin:12px 0}}.extra h2{{font-size:15px;margin:0 0 6px}}\
         .extra .checks{{max-height:none;font-size:12px}}\
         .timeline{{width:100%;border-collapse:collapse}}.timeline th{{text-align:left;font-weight:500;width:22%;padding:2px 8px 2px 0}}\
         .timeline svg{{width:100%;height:12px}}.track{{fill:{border}}}.pending{{fill:{yellow}}}.firing{{fill:{red}}}\
         .error{{border:2px solid {red};padding:8px 12px}}",
        canvas = theme::CANVAS,
        panel = theme::PANEL,
        text = theme::TEXT,
        text2 = theme::TEXT_SECONDARY,
        border = theme::BORDER,
        red = theme::css("red"),
        green = theme::css("green"),
        yellow = theme::css("yellow"),
        blue = theme::css("blue"),
    )
}

#[cfg(test)]
mod tests {
    use super::super::sample;
    use super::*;

    fn articles(page: &str) -> Vec<&str> {
        page.split("<article ")
            .skip(1)
            .map(|a| a.split("</article>").next().unwrap())
            .collect()
    }

    #[test]
    fn one_drawing_per_panel_and_failures_marked() {
        let page = render(&sample::report());
        let panels = articles(&page);
        assert_eq!(panels.len(), 4, "{page}");
        for a in &panels {
            assert_eq!(a.matches("data-drawing=").count(), 1, "{a}");
        }
        let status = |a: &str| {
            a.split("data-status=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
                .to_owned()
        };
        let statuses: Vec<String> = panels.iter().map(|a| status(a)).collect();
        assert_eq!(statuses, ["ok", "failed", "skipped", "failed"]);
        assert!(panels[0].contains("data-drawing=\"stat\""), "{}", panels[0]);
        assert!(
            panels[0].contains("style=\"color:#73BF69\" data-color=\"green\">4</span>"),
            "{}",
            panels[0]
        );
        assert!(panels[1].contains("data-drawing=\"timeseries\""));
        assert!(panels[1].contains("<polyline"), "{}", panels[1]);
        assert!(
            panels[1].contains("class=\"threshold\" data-threshold=\"2\"")
                && panels[1].contains("stroke-dasharray"),
            "dashed threshold line at 2: {}",
            panels[1]
        );
        assert!(
            panels[1].contains("data-outcome=\"failed\""),
            "{}",
            panels[1]
        );
        assert!(panels[2].contains("data-drawing=\"logs\""));
        assert!(panels[3].contains("data-drawing=\"table\"") || panels[3].contains("nodata"));
        assert!(page.contains("Expectations about no panel"), "the orphan");
        assert!(
            page.contains("7</b> checks: <span class=\"ok\">2 ok</span>"),
            "{page}"
        );
        assert!(
            page.contains("2023-11-14 22:13:20Z to 2023-11-14 22:43:20Z (30m)"),
            "{page}"
        );
        assert!(page.contains("scenario <code>healthy</code>"));
    }

    #[test]
    fn every_text_is_escaped() {
        let mut r = sample::report();
        r.panels[0].title = "<script>alert(1)</script>".to_owned();
        r.panels[0].series[0].text = "<b>4</b>".to_owned();
        r.panels[1].targets[0].series[0].name = "a\"><img src=x>".to_owned();
        r.scenario = Some("<i>s</i>".to_owned());
        let page = render(&r);
        assert!(!page.contains("<script"), "{page}");
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!page.contains("<b>4</b>") && page.contains("&lt;b&gt;4&lt;/b&gt;"));
        assert!(!page.contains("<img") && page.contains("a&quot;&gt;&lt;img src=x&gt;"));
        assert!(
            page.contains("&lt;b&gt;done&lt;/b&gt; &amp; &quot;ok&quot;"),
            "the log line"
        );
        assert!(
            page.contains("Team &lt;KPIs&gt; &amp; &quot;more&quot;"),
            "the title"
        );
        assert!(!page.contains("<i>s</i>"));
    }

    #[test]
    fn self_contained() {
        let page = render(&sample::report());
        for external in ["http://", "https://", "<script", "<link", "src=", "url("] {
            assert!(!page.contains(external), "{external} in the page");
        }
    }

    #[test]
    fn downsampling_keeps_peaks_and_gaps() {
        let mut points: Vec<(f64, f64)> = (0..10_000).map(|i| (f64::from(i), 1.0)).collect();
        points[5_000].1 = 99.0;
        points[7_000].1 = f64::NAN;
        let d = downsample(&points, MAX_POINTS);
        assert!(d.len() <= MAX_POINTS + 4, "{}", d.len());
        assert!(d.iter().any(|p| p.1 == 99.0), "the peak");
        assert!(d.iter().any(|p| p.1.is_nan()), "the gap");
        assert!(d.windows(2).all(|w| w[0].0 < w[1].0), "time order");
        assert_eq!(downsample(&points[..10], MAX_POINTS).len(), 10);
        assert_eq!(segments(&d).len(), 2, "a null breaks the line");
    }

    #[test]
    fn dates() {
        assert_eq!(utc(1_700_000_000.0), "2023-11-14 22:13:20Z");
        assert_eq!(utc(0.0), "1970-01-01 00:00:00Z");
        assert_eq!(utc(951_782_400.0), "2000-02-29 00:00:00Z");
        assert_eq!(utc(f64::NAN), "?");
        assert_eq!(hhmm(1_700_000_000.0), "22:13");
    }
}
