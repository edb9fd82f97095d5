//! The plain-text summary of a run: one row per suite, team and category, then the
//! suite's total, with prompts, pass rate, P50 and P95 latency and mean tokens per
//! second; with the baseline compared, also its pass rate and the team's throughput
//! as a multiple of the baseline's ("1.62x").
//!
//! Latency and throughput count only requests that got an answer, so that an outage's
//! instant 503s do not pass for speed; the pass rate counts every prompt.

use super::result::HarnessResult;

/// The summary table of `results`, grouped in the order they first appear.
pub fn summary(results: &[HarnessResult]) -> String {
    let compared = results.iter().any(|r| r.baseline_response.is_some());
    let mut header = vec!["suite", "team", "category", "prompts", "pass"];
    if compared {
        header.push("baseline pass");
    }
    header.extend(["p50 ms", "p95 ms", "tok/s"]);
    if compared {
        header.push("vs baseline");
    }
    let mut rows = vec![header.iter().map(|h| (*h).to_owned()).collect::<Vec<_>>()];
    for (suite, team) in distinct(results.iter().map(|r| (&r.scenario_id, &r.team))) {
        let of_suite: Vec<_> = results
            .iter()
            .filter(|r| &r.scenario_id == suite && &r.team == team)
            .collect();
        for category in distinct(of_suite.iter().map(|r| &r.category)) {
            let group: Vec<_> = of_suite
                .iter()
                .copied()
                .filter(|r| &r.category == category)
                .collect();
            rows.push(row(suite, team, category, &group, compared));
        }
        rows.push(row(suite, team, "all", &of_suite, compared));
    }
    render(&rows)
}

/// Items in order of first appearance, without repeats.
fn distinct<T: PartialEq>(items: impl Iterator<Item = T>) -> Vec<T> {
    let mut seen = Vec::new();
    for item in items {
        if !seen.contains(&item) {
            seen.push(item);
        }
    }
    seen
}

fn row(
    suite: &str,
    team: &str,
    category: &str,
    group: &[&HarnessResult],
    compared: bool,
) -> Vec<String> {
    let n = group.len();
    let answered: Vec<_> = group.iter().filter(|r| r.succeeded()).collect();
    let mut latencies: Vec<f64> = answered.iter().map(|r| r.latency_ms).collect();
    latencies.sort_by(f64::total_cmp);
    let tok_s = mean(answered.iter().map(|r| r.tokens_per_second));
    let mut cells = vec![
        suite.to_owned(),
        team.to_owned(),
        category.to_owned(),
        n.to_string(),
        share(group.iter().filter(|r| r.passed).count(), n),
    ];
    if compared {
        let asked = group.iter().filter(|r| r.baseline_passed.is_some()).count();
        let passed = group
            .iter()
            .filter(|r| r.baseline_passed == Some(true))
            .count();
        cells.push(share(passed, asked));
    }
    cells.push(number(percentile(&latencies, 0.50), 0));
    cells.push(number(percentile(&latencies, 0.95), 0));
    cells.push(number(tok_s, 1));
    if compared {
        let baseline = mean(
            group
                .iter()
                .filter(|r| r.baseline_succeeded())
                .filter_map(|r| r.baseline_tokens_per_second),
        );
        let ratio = match (tok_s, baseline) {
            (Some(t), Some(b)) if b > 0.0 => format!("{:.2}x", t / b),
            _ => "-".to_owned(),
        };
        cells.push(ratio);
    }
    cells
}

/// The nearest-rank percentile `p` of sorted `values`.
fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| sum / n as f64)
}

fn share(part: usize, whole: usize) -> String {
    if whole == 0 {
        return "-".to_owned();
    }
    format!("{:.1}%", 100.0 * part as f64 / whole as f64)
}

fn number(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(|| "-".to_owned(), |v| format!("{v:.decimals$}"))
}

/// Columns padded to their widest cell: text left-aligned, numbers right-aligned.
fn render(rows: &[Vec<String>]) -> String {
    let columns = rows.first().map_or(0, Vec::len);
    let widths: Vec<usize> = (0..columns)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(c, (cell, &w))| {
                if c < 3 {
                    format!("{cell:<w$}")
                } else {
                    format!("{cell:>w$}")
                }
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::result::sample;
    use super::*;

    #[test]
    fn rows_per_category_then_the_suite() {
        let mut results: Vec<_> = (1..=20)
            .map(|i| sample("math", i % 4 != 0, f64::from(i) * 10.0))
            .collect();
        let mut failed = sample("code", false, 1.0);
        failed.error = Some("HTTP 503: pod is down".to_owned());
        results.push(failed);
        let text = summary(&results);
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert!(lines[0].starts_with("suite"), "{text}");
        assert!(!lines[0].contains("baseline"), "{text}");
        let cells = |l: &str| l.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
        assert_eq!(
            cells(lines[1]),
            [
                "benchmark-quant",
                "quantization",
                "math",
                "20",
                "75.0%",
                "100",
                "190",
                "179.9"
            ],
            "{text}"
        );
        assert_eq!(
            cells(lines[2]),
            [
                "benchmark-quant",
                "quantization",
                "code",
                "1",
                "0.0%",
                "-",
                "-",
                "-"
            ]
        );
        assert_eq!(cells(lines[3])[2..5], ["all", "21", "71.4%"]);
    }

    #[test]
    fn the_baseline_comparison_shows_as_a_ratio() {
        let results: Vec<_> = (0..4)
            .map(|i| HarnessResult {
                baseline_response: Some("x".to_owned()),
                baseline_latency_ms: Some(200.0),
                baseline_passed: Some(i > 0),
                baseline_tokens_per_second: Some(50.0),
                ..sample("math", true, 100.0)
            })
            .collect();
        let text = summary(&results);
        assert!(
            text.lines()
                .next()
                .is_some_and(|h| h.contains("baseline pass")),
            "{text}"
        );
        let math: Vec<_> = text
            .lines()
            .nth(1)
            .unwrap_or_default()
            .split_whitespace()
            .collect();
        assert_eq!(
            math[3..],
            ["4", "100.0%", "75.0%", "100", "100", "100.0", "2.00x"],
            "{text}"
        );
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), Some(50.0));
        assert_eq!(percentile(&v, 0.95), Some(95.0));
        assert_eq!(percentile(&[7.0], 0.95), Some(7.0));
        assert_eq!(percentile(&[], 0.5), None);
    }
}
