//! Timestamped OpenMetrics for `promtool tsdb create-blocks-from openmetrics`.
//!
//! A backfill is a series of scrapes of several targets. Each scrape body (OpenMetrics,
//! from [`super::encode`]) is split into its families and metric points, stamped with
//! the scrape time and the labels Prometheus would attach (`job`, `instance`, `app`),
//! and kept in memory. [`BackfillWriter::write`] then prints what promtool requires:
//! each family once, its metrics one after another, each metric's points in time order.

use std::collections::HashMap;
use std::io::{self, Write};

/// Collects scrapes and writes them as one OpenMetrics document.
#[derive(Debug, Default)]
pub struct BackfillWriter {
    families: Vec<Family>,
    by_name: HashMap<String, usize>,
}

/// One metric family: its HELP/TYPE lines and its metrics in first-seen order.
#[derive(Debug)]
struct Family {
    header: String,
    metrics: Vec<Vec<Point>>,
    by_labels: HashMap<String, usize>,
}

/// One metric at one scrape: its sample lines (`name{labels} value`) and the time.
#[derive(Debug)]
struct Point {
    millis: i64,
    lines: Vec<String>,
}

impl BackfillWriter {
    /// An empty backfill.
    pub fn new() -> BackfillWriter {
        BackfillWriter::default()
    }

    /// Adds one target's scrape `body` (OpenMetrics) taken at `millis` (Unix ms);
    /// `target_labels` (e.g. `app="x",instance="h:1",job="vllm"`) join every sample.
    pub fn add_scrape(&mut self, body: &str, target_labels: &str, millis: i64) {
        let mut family = None;
        for line in body.lines() {
            if let Some(rest) = line.strip_prefix("# ") {
                let mut words = rest.splitn(3, ' ');
                let (kind, name) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
                if kind == "EOF" {
                    break;
                }
                let index = self.family(name);
                let header = &mut self.families[index].header;
                if !header.contains(&format!("# {kind} ")) {
                    header.push_str(line);
                    header.push('\n');
                }
                family = Some(index);
                continue;
            }
            let Some(index) = family else { continue };
            let Some((series, value)) = line.rsplit_once(' ') else {
                continue;
            };
            let (name, labels) = match series.split_once('{') {
                Some((name, labels)) => (name, labels.trim_end_matches('}')),
                None => (series, ""),
            };
            let key = without_le(labels);
            let joined = if labels.is_empty() {
                target_labels.to_owned()
            } else {
                format!("{labels},{target_labels}")
            };
            let text = format!("{name}{{{joined}}} {value}");
            self.families[index].push(&format!("{key}|{target_labels}"), millis, text);
        }
    }

    /// Adds the `up` sample Prometheus records for every scrape.
    pub fn add_up(&mut self, target_labels: &str, millis: i64, up: bool) {
        let index = self.family("up");
        let family = &mut self.families[index];
        if family.header.is_empty() {
            family.header = "# HELP up The scraping was successful.\n# TYPE up gauge\n".to_owned();
        }
        let value = if up { "1" } else { "0" };
        family.push(
            target_labels,
            millis,
            format!("up{{{target_labels}}} {value}"),
        );
    }

    /// Writes the document; returns the number of samples written.
    pub fn write(&self, out: &mut impl Write) -> io::Result<u64> {
        let mut samples = 0;
        for family in &self.families {
            out.write_all(family.header.as_bytes())?;
            for metric in &family.metrics {
                for point in metric {
                    let ts = format_millis(point.millis);
                    for line in &point.lines {
                        writeln!(out, "{line} {ts}")?;
                        samples += 1;
                    }
                }
            }
        }
        out.write_all(b"# EOF\n")?;
        Ok(samples)
    }

    fn family(&mut self, name: &str) -> usize {
        if let Some(&i) = self.by_name.get(name) {
            return i;
        }
        self.families.push(Family {
            header: String::new(),
            metrics: Vec::new(),
            by_labels: HashMap::new(),
        });
        self.by_name
            .insert(name.to_owned(), self.families.len() - 1);
        self.families.len() - 1
    }
}

impl Family {
    fn push(&mut self, key: &str, millis: i64, line: String) {
        let index = match self.by_labels.get(key) {
            Some(&i) => i,
            None => {
                self.metrics.push(Vec::new());
                self.by_labels
                    .insert(key.to_owned(), self.metrics.len() - 1);
                self.metrics.len() - 1
            }
        };
        let points = &mut self.metrics[index];
        match points.last_mut() {
            Some(p) if p.millis == millis => p.lines.push(line),
            _ => points.push(Point {
                millis,
                lines: vec![line],
            }),
        }
    }
}

/// The label pairs of `labels` without `le`: the metric a bucket line belongs to.
fn without_le(labels: &str) -> String {
    split_labels(labels)
        .filter(|pair| !pair.starts_with("le="))
        .collect::<Vec<_>>()
        .join(",")
}

/// Splits `a="x",b="y,z"` at the commas between pairs (not those inside quotes).
fn split_labels(labels: &str) -> impl Iterator<Item = &str> {
    let mut pairs = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in labels.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                pairs.push(&labels[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if start < labels.len() {
        pairs.push(&labels[start..]);
    }
    pairs.into_iter()
}

/// Unix milliseconds as OpenMetrics seconds, e.g. `1732761600.250`.
fn format_millis(millis: i64) -> String {
    format!("{}.{:03}", millis.div_euclid(1000), millis.rem_euclid(1000))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCRAPE: &str = "# HELP a_seconds Help.\n# TYPE a_seconds histogram\na_seconds_sum{model_name=\"m\"} 1.5\na_seconds_count{model_name=\"m\"} 2\na_seconds_bucket{le=\"1.0\",model_name=\"m\"} 1\na_seconds_bucket{le=\"+Inf\",model_name=\"m\"} 2\n# HELP b Help b.\n# TYPE b counter\nb_total{model_name=\"m\"} 3.0\n# EOF\n";

    #[test]
    fn families_once_metrics_grouped_points_in_time_order() {
        let mut w = BackfillWriter::new();
        for (t, target) in [
            (1000, "job=\"j\",instance=\"x\""),
            (1000, "job=\"j\",instance=\"y\""),
            (16000, "job=\"j\",instance=\"x\""),
        ] {
            w.add_up(target, t, true);
            w.add_scrape(SCRAPE, target, t);
        }
        let mut out = Vec::new();
        assert_eq!(w.write(&mut out).unwrap(), 3 + 3 * 5);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.matches("# TYPE a_seconds histogram").count(), 1);
        let x: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("a_seconds_sum") && l.contains("\"x\""))
            .collect();
        assert_eq!(
            x,
            [
                "a_seconds_sum{model_name=\"m\",job=\"j\",instance=\"x\"} 1.5 1.000",
                "a_seconds_sum{model_name=\"m\",job=\"j\",instance=\"x\"} 1.5 16.000"
            ]
        );
        // Both points of instance x come before instance y's.
        let first_y = text.find("instance=\"y\"} 1.5").unwrap();
        assert!(text.find("} 1.5 16.000").unwrap() < first_y);
        assert!(text.starts_with("# HELP up The scraping was successful.\n# TYPE up gauge\nup{job=\"j\",instance=\"x\"} 1 1.000\n"));
        assert!(
            text.ends_with("b_total{model_name=\"m\",job=\"j\",instance=\"y\"} 3.0 1.000\n# EOF\n")
        );
    }

    #[test]
    fn label_splitting_respects_quotes() {
        assert_eq!(
            without_le("le=\"0.5\",model_name=\"a,b\""),
            "model_name=\"a,b\""
        );
        assert_eq!(
            split_labels("a=\"x\\\",y\",b=\"z\"").collect::<Vec<_>>(),
            ["a=\"x\\\",y\"", "b=\"z\""]
        );
        assert_eq!(format_millis(1_732_761_600_250), "1732761600.250");
    }
}
