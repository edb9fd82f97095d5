//! The report as JUnit XML, written by `quick-junit`: one `<testsuite name="vllm-sim
//! verify">`, one `<testcase>` per panel and per expectation (class name: the
//! dashboard uid), per alert expectation and per alerting rule that could not be
//! evaluated, `<failure>` for failures and `<skipped>` for skips; the alerts'
//! timelines and the metric drift go to `<system-out>`.

use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};

use super::{Outcome, PanelReport, Report, Status};

/// The XML text.
pub fn render(report: &Report) -> String {
    let class = report.dashboard.as_str();
    let case = |name: String, status: TestCaseStatus| {
        let mut case = TestCase::new(name, status);
        case.set_classname(class);
        case
    };
    let failure = |message: &str, description: &str| {
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
        status.set_message(message).set_description(description);
        status
    };
    let skipped = |message: &str| {
        let mut status = TestCaseStatus::skipped();
        status.set_message(message);
        status
    };
    let mut suite = TestSuite::new("vllm-sim verify");
    if let Some(e) = &report.unreachable {
        suite.add_test_case(case(
            "datasources".to_owned(),
            failure(e, "Nothing was checked."),
        ));
    }
    for (i, p) in report.panels.iter().enumerate() {
        let failed_expectations: Vec<String> = report
            .expectations
            .iter()
            .filter(|e| e.panel == Some(i) && e.outcome == Outcome::Failed)
            .map(|e| format!("{}: {}", e.note, e.message))
            .collect();
        let status = match &p.status {
            Status::Ok => TestCaseStatus::success(),
            Status::Skipped(why) => skipped(why),
            failed => {
                let message = match p.messages.first().or(failed_expectations.first()) {
                    Some(m) => format!("{failed}: {m}"),
                    None => failed.to_string(),
                };
                let mut details = vec![p.values_line(usize::MAX)];
                details.extend(p.messages.iter().cloned());
                details.extend(failed_expectations.iter().cloned());
                details.retain(|s| !s.is_empty());
                failure(&message, &details.join("\n"))
            }
        };
        suite.add_test_case(case(case_name(p), status));
    }
    for e in &report.expectations {
        let panel = match e.panel.and_then(|i| report.panels.get(i)) {
            Some(p) => case_name(p),
            None => e.panel_ref.clone(),
        };
        let status = match e.outcome {
            Outcome::Passed => TestCaseStatus::success(),
            Outcome::Skipped => skipped(&e.message),
            Outcome::Failed => failure(&e.message, &e.describe(report)),
        };
        suite.add_test_case(case(format!("{panel}: {}", e.note), status));
    }
    let mut out = String::new();
    if let Some(alerts) = &report.alerts {
        for t in &alerts.timelines {
            if let Some(e) = &t.error {
                let status = failure(e, &alerts.timelines_text());
                suite.add_test_case(case(format!("alert rule {}", t.alert), status));
            }
        }
        for e in &alerts.errors {
            suite.add_test_case(case("alert rules".to_owned(), failure(e, e)));
        }
        for c in &alerts.checks {
            let status = match c.outcome {
                Outcome::Passed => TestCaseStatus::success(),
                Outcome::Skipped => skipped(&c.message),
                Outcome::Failed => failure(&c.message, &alerts.timelines_text()),
            };
            suite.add_test_case(case(format!("alerts: {}", c.name), status));
        }
        out.push_str(&format!(
            "Alerts ({})\n{}",
            alerts.files.join(", "),
            alerts.timelines_text()
        ));
    }
    let drift = report.drift_table();
    if !drift.is_empty() {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&drift);
    }
    if !out.is_empty() {
        suite.set_system_out(out);
    }
    let mut junit = quick_junit::Report::new("vllm-sim");
    junit.add_test_suite(suite);
    junit
        .to_string()
        .unwrap_or_else(|e| format!("<!-- the JUnit report could not be written: {e} -->\n"))
}

/// `panel 11 P95 E2E Latency`.
fn case_name(p: &PanelReport) -> String {
    match p.id {
        Some(id) => format!("panel {id} {}", p.title),
        None => format!("panel {}", p.title),
    }
}

#[cfg(test)]
mod tests {
    use super::super::sample;
    use super::*;

    /// Read back with quick-junit's own parser: the suite, its counts, and the cases
    /// with their names, messages and skips.
    #[test]
    fn one_testcase_per_panel_and_expectation() {
        let xml = render(&sample::report());
        let parsed = quick_junit::Report::deserialize_from_str(&xml).unwrap();
        let suite = &parsed.test_suites[0];
        assert_eq!(suite.name.as_str(), "vllm-sim verify");
        assert_eq!((suite.tests, suite.failures, suite.errors), (7, 4, 0));
        let cases: Vec<_> = suite.test_cases.iter().collect();
        assert_eq!(cases.len(), 7);
        assert!(
            cases
                .iter()
                .all(|c| c.classname.as_ref().map(|c| c.as_str()) == Some("llm-platform-overview"))
        );
        let named = |name: &str| {
            cases
                .iter()
                .find(|c| c.name.as_str() == name)
                .unwrap_or_else(|| panic!("no case {name}: {xml}"))
        };
        assert!(matches!(
            named("panel 1 Active Models").status,
            TestCaseStatus::Success { .. }
        ));
        let message = |name: &str| match &named(name).status {
            TestCaseStatus::NonSuccess { message, .. } => message.as_ref().map(|m| m.to_string()),
            _ => None,
        };
        assert_eq!(
            message("panel 11 P95 <E2E> & 'Latency'").as_deref(),
            Some("expectation failed: AWQ < FP16 & \"fast\": ratio 0.9, want at most 0.8")
        );
        let broken = cases
            .iter()
            .find(|c| c.name.as_str().ends_with("Broken"))
            .unwrap();
        assert!(
            matches!(&broken.status, TestCaseStatus::NonSuccess { message: Some(m), .. }
                if m.as_str() == "error: target A: bad_data: parse error: unexpected \"<\""),
            "{xml}"
        );
        assert_eq!(
            message("panel 11 P95 <E2E> & 'Latency': AWQ < FP16 & \"fast\"").as_deref(),
            Some("ratio 0.9, want at most 0.8")
        );
        let skips = cases
            .iter()
            .filter(|c| matches!(c.status, TestCaseStatus::Skipped { .. }))
            .count();
        assert_eq!(skips, 1);
    }
}
