//! The report as JUnit XML: one `<testsuite name="vllm-sim verify">`, one
//! `<testcase>` per panel and per expectation (class name: the dashboard uid),
//! `<failure>` for failures and `<skipped>` for skips.

use std::fmt::Write;

use super::{Outcome, PanelReport, Report, Status};

/// The XML text.
pub fn render(report: &Report) -> String {
    let s = report.summary();
    let class = escape(&report.dashboard);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuite name=\"vllm-sim verify\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\">",
        s.total(),
        s.failed,
        s.skipped
    );
    if let Some(e) = &report.unreachable {
        let _ = writeln!(
            out,
            "  <testcase classname=\"{class}\" name=\"datasources\">\n    <failure message=\"{}\">Nothing was checked.</failure>\n  </testcase>",
            escape(e)
        );
    }
    for (i, p) in report.panels.iter().enumerate() {
        let name = escape(&case_name(p));
        let _ = write!(out, "  <testcase classname=\"{class}\" name=\"{name}\"");
        let failed_expectations: Vec<String> = report
            .expectations
            .iter()
            .filter(|e| e.panel == Some(i) && e.outcome == Outcome::Failed)
            .map(|e| format!("{}: {}", e.note, e.message))
            .collect();
        let details = {
            let mut parts = vec![p.values_line(usize::MAX)];
            parts.extend(p.messages.iter().cloned());
            parts.extend(failed_expectations.iter().cloned());
            parts.retain(|s| !s.is_empty());
            parts.join("\n")
        };
        match &p.status {
            Status::Ok => out.push_str("/>\n"),
            Status::Skipped(why) => {
                let _ = writeln!(
                    out,
                    ">\n    <skipped message=\"{}\"/>\n  </testcase>",
                    escape(why)
                );
            }
            failed => {
                let message = match p.messages.first().or(failed_expectations.first()) {
                    Some(m) => format!("{failed}: {m}"),
                    None => failed.to_string(),
                };
                let _ = writeln!(
                    out,
                    ">\n    <failure message=\"{}\">{}</failure>\n  </testcase>",
                    escape(&message),
                    escape(&details)
                );
            }
        }
    }
    for e in &report.expectations {
        let panel = match e.panel.and_then(|i| report.panels.get(i)) {
            Some(p) => case_name(p),
            None => e.panel_ref.clone(),
        };
        let name = escape(&format!("{panel}: {}", e.note));
        let _ = write!(out, "  <testcase classname=\"{class}\" name=\"{name}\"");
        match e.outcome {
            Outcome::Passed => out.push_str("/>\n"),
            Outcome::Skipped => {
                let _ = writeln!(
                    out,
                    ">\n    <skipped message=\"{}\"/>\n  </testcase>",
                    escape(&e.message)
                );
            }
            Outcome::Failed => {
                let _ = writeln!(
                    out,
                    ">\n    <failure message=\"{}\">{}</failure>\n  </testcase>",
                    escape(&e.message),
                    escape(&e.describe(report))
                );
            }
        }
    }
    let drift = report.drift_table();
    if !drift.is_empty() {
        let _ = writeln!(out, "  <system-out>{}</system-out>", escape(&drift));
    }
    out.push_str("</testsuite>\n");
    out
}

/// `panel 11 P95 E2E Latency`.
fn case_name(p: &PanelReport) -> String {
    match p.id {
        Some(id) => format!("panel {id} {}", p.title),
        None => format!("panel {}", p.title),
    }
}

/// Text safe in XML attributes and content; characters XML 1.0 forbids are dropped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\t' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::sample;
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("a<b>&\"c\"'d'"),
            "a&lt;b&gt;&amp;&quot;c&quot;&apos;d&apos;"
        );
        assert_eq!(escape("bell\u{7}\nline"), "bell&#10;line");
    }

    #[test]
    fn one_testcase_per_panel_and_expectation() {
        let xml = render(&sample::report());
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite name=\"vllm-sim verify\" tests=\"7\" failures=\"4\" errors=\"0\" skipped=\"1\">\n"), "{xml}");
        assert_eq!(xml.matches("<testcase ").count(), 7);
        assert_eq!(xml.matches("<failure ").count(), 4);
        assert_eq!(xml.matches("<skipped ").count(), 1);
        assert!(
            xml.contains(
                "<testcase classname=\"llm-platform-overview\" name=\"panel 1 Active Models\"/>"
            ),
            "{xml}"
        );
        assert!(
            xml.contains("name=\"panel 11 P95 &lt;E2E&gt; &amp; &apos;Latency&apos;\""),
            "{xml}"
        );
        assert!(xml.contains("<failure message=\"error: target A: bad_data: parse error: unexpected &quot;&lt;&quot;\">"), "{xml}");
        assert!(xml.contains("name=\"panel 11 P95 &lt;E2E&gt; &amp; &apos;Latency&apos;: AWQ &lt; FP16 &amp; &quot;fast&quot;\""), "{xml}");
        assert!(
            xml.contains("<failure message=\"expectation failed: AWQ &lt; FP16 &amp; &quot;fast&quot;: ratio 0.9, want at most 0.8\">"),
            "{xml}"
        );
        assert!(xml.ends_with("</testsuite>\n"));
        well_formed(&xml);
    }

    /// A small check that tags balance and no raw `<`/`&` hides in text.
    fn well_formed(xml: &str) {
        let body = xml.split_once("?>").unwrap().1;
        let mut stack = Vec::new();
        let mut rest = body;
        while let Some(open) = rest.find('<') {
            let text = &rest[..open];
            assert!(!text.contains('>'), "raw > in {text:?}");
            for (i, _) in text.match_indices('&') {
                let entity = &text[i..];
                assert!(
                    ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;", "&#10;"]
                        .iter()
                        .any(|e| entity.starts_with(e)),
                    "{entity}"
                );
            }
            let close = rest[open..].find('>').unwrap() + open;
            let tag = &rest[open + 1..close];
            assert!(!tag.contains('<'), "{tag}");
            let name = tag
                .trim_start_matches('/')
                .split([' ', '/'])
                .next()
                .unwrap()
                .to_owned();
            if tag.starts_with('/') {
                assert_eq!(stack.pop(), Some(name));
            } else if !tag.ends_with('/') {
                stack.push(name);
            }
            rest = &rest[close + 1..];
        }
        assert!(stack.is_empty(), "{stack:?}");
    }
}
