//! The report as a table for people: one line per panel under its row, its
//! expectations beneath it, and a summary.

use super::{Outcome, Report, Status};

/// Most series shown on a panel's line.
const SERIES_SHOWN: usize = 8;
/// Titles are cut to this many characters.
const TITLE_WIDTH: usize = 40;

/// The table.
pub fn render(report: &Report) -> String {
    let rows: Vec<[String; 3]> = report
        .panels
        .iter()
        .map(|p| {
            let id = p.id.map_or_else(|| "-".to_owned(), |id| id.to_string());
            [id, cut(&p.title), p.status.label().to_owned()]
        })
        .collect();
    let width = |i: usize, header: &str| {
        rows.iter()
            .map(|r| r[i].chars().count())
            .chain([header.len()])
            .max()
            .unwrap_or(0)
    };
    let (wi, wt, ws) = (width(0, "ID"), width(1, "TITLE"), width(2, "STATUS"));
    let indent = " ".repeat(2 + wi + 2 + wt + 2 + ws + 2);
    let mut out = String::new();
    match &report.title {
        Some(t) => out.push_str(&format!("{t} ({})\n", report.dashboard)),
        None => out.push_str(&format!("{}\n", report.dashboard)),
    }
    if let Some(e) = &report.unreachable {
        out.push_str(&format!("\nerror: {e}\nNothing was checked.\n"));
        return out;
    }
    out.push_str(&format!(
        "\n  {:>wi$}  {:<wt$}  {:<ws$}  DETAILS\n",
        "ID", "TITLE", "STATUS"
    ));
    let mut row = None;
    for (i, (p, cells)) in report.panels.iter().zip(&rows).enumerate() {
        if p.row.is_some() && p.row != row {
            row = p.row.clone();
            out.push_str(&format!("{}\n", row.as_deref().unwrap_or_default()));
        }
        let details = match &p.status {
            Status::Skipped(why) => why.clone(),
            _ => {
                let mut parts = vec![p.values_line(SERIES_SHOWN)];
                parts.extend(p.messages.iter().cloned());
                parts.retain(|s| !s.is_empty());
                parts.join("; ")
            }
        };
        out.push_str(
            format!(
                "  {:>wi$}  {:<wt$}  {:<ws$}  {details}",
                cells[0], cells[1], cells[2]
            )
            .trim_end(),
        );
        out.push('\n');
        for e in report.expectations.iter().filter(|e| e.panel == Some(i)) {
            out.push_str(&format!(
                "{indent}{} {}: {}\n",
                mark(e.outcome),
                e.note,
                e.message
            ));
        }
    }
    let orphans: Vec<_> = report
        .expectations
        .iter()
        .filter(|e| e.panel.is_none())
        .collect();
    if !orphans.is_empty() {
        out.push_str("\nExpectations about no panel of this dashboard\n");
        for e in orphans {
            out.push_str(&format!(
                "  {} {}: {}: {}\n",
                mark(e.outcome),
                e.panel_ref,
                e.note,
                e.message
            ));
        }
    }
    if let Some(alerts) = &report.alerts {
        out.push_str(&format!("\nAlerts ({})\n", alerts.files.join(", ")));
        for line in alerts.timelines_text().lines() {
            out.push_str(&format!("  {line}\n"));
        }
        for e in &alerts.errors {
            out.push_str(&format!("  [FAIL] {e}\n"));
        }
        for c in &alerts.checks {
            out.push_str(&format!(
                "  {} {}: {}\n",
                mark(c.outcome),
                c.name,
                c.message
            ));
        }
    }
    let drift = report.drift_table();
    if !drift.is_empty() {
        out.push('\n');
        out.push_str(&drift);
    }
    let s = report.summary();
    out.push_str(&format!(
        "\n{} checks: {} ok, {} failed, {} skipped\n",
        s.total(),
        s.ok,
        s.failed,
        s.skipped
    ));
    out
}

fn mark(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Passed => "[ok]  ",
        Outcome::Failed => "[FAIL]",
        Outcome::Skipped => "[skip]",
    }
}

fn cut(title: &str) -> String {
    if title.chars().count() <= TITLE_WIDTH {
        return title.to_owned();
    }
    let mut t: String = title.chars().take(TITLE_WIDTH - 1).collect();
    t.push('…');
    t
}

#[cfg(test)]
mod tests {
    use super::super::sample;
    use super::*;

    #[test]
    fn one_line_per_panel_with_expectations_beneath() {
        let text = render(&sample::report());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "Team <KPIs> & \"more\" (llm-platform-overview)");
        assert!(lines.contains(&"Overview"), "{text}");
        let active = lines
            .iter()
            .position(|l| l.contains("Active Models"))
            .unwrap();
        assert!(
            lines[active].contains(" ok ") && lines[active].ends_with("Active models=4; green"),
            "{text}"
        );
        assert!(
            lines[active + 1]
                .trim_start()
                .starts_with("[ok]   all up: lastNotNull=4 → green"),
            "{text}"
        );
        let awq = lines.iter().position(|l| l.contains("P95 <E2E>")).unwrap();
        assert!(
            lines[awq].contains("expectation failed  AWQ=1.47 s FP16=NaN"),
            "{text}"
        );
        assert!(
            lines[awq + 1].contains("[FAIL] AWQ < FP16 & \"fast\": ratio 0.9"),
            "{text}"
        );
        assert!(text.contains("  51  Logs"), "{text}");
        assert!(
            text.contains("skipped             Loki; pass --loki-datasource URL"),
            "{text}"
        );
        assert!(
            text.contains("error               target A: bad_data"),
            "{text}"
        );
        assert!(
            text.contains("[FAIL] panel 99: gone: no such panel"),
            "{text}"
        );
        assert!(
            text.ends_with("7 checks: 2 ok, 4 failed, 1 skipped\n"),
            "{text}"
        );
    }

    #[test]
    fn long_titles_are_cut() {
        assert_eq!(cut(&"x".repeat(50)).chars().count(), TITLE_WIDTH);
        assert_eq!(cut("short"), "short");
    }
}
