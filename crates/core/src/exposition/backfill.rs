//! Timestamped OpenMetrics for `promtool tsdb create-blocks-from openmetrics`.
//!
//! A backfill is a series of scrapes of several targets. Each scrape is told to the
//! writer as it is encoded ([`BackfillWriter::scrape`] is a [`Sink`]): family by
//! family, metric by metric, each sample stamped with the scrape time and the labels
//! Prometheus would attach (`job`, `instance`, `app`), and kept in memory.
//! [`BackfillWriter::write`] then prints what promtool requires: each family once, its
//! metrics one after another, each metric's points in time order.
//!
//! A long backfill need not stay in memory: [`BackfillWriter::spill`] writes every
//! point kept so far (16 bytes a sample and its value's text) to an unnamed temporary
//! file and forgets it, keeping only where each metric's run of points lies. A writer
//! spilled after every span of scrapes holds one span's points at most;
//! [`BackfillWriter::write`] reads the runs back in the same order and prints them as
//! it prints the points in memory, so the document is byte for byte the one an
//! unspilled writer prints.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

use super::Sink;

/// Collects scrapes and writes them as one OpenMetrics document.
#[derive(Debug, Default)]
pub struct BackfillWriter {
    families: Families,
    /// Per target, what each line of its last scrape resolved to. A target's scrapes
    /// repeat the same lines in the same order, so most lines are found here by one
    /// comparison, without hashing or allocating.
    last_scrape: HashMap<String, Vec<Resolved>>,
    /// The temporary files spilled points went to (a merged writer keeps its parts').
    spills: Vec<Spill>,
    /// Where each line of a scrape is written before it is kept.
    line: String,
}

/// The families in first-seen order, and where each name is.
#[derive(Debug, Default)]
struct Families {
    list: Vec<Family>,
    by_name: HashMap<String, usize>,
}

/// A temporary file of spilled points, removed when dropped.
#[derive(Debug)]
struct Spill {
    file: File,
    len: u64,
}

/// A run of one metric's points in a spill file: its samples (16 bytes each, see
/// [`Points::spill`]), then their values' text.
#[derive(Debug, Clone, Copy)]
struct Segment {
    spill: u32,
    offset: u64,
    samples: u64,
    values: u64,
}

/// One metric family: its HELP/TYPE lines and its metrics in first-seen order (a
/// metric is known by its first series and its target).
#[derive(Debug, Default)]
struct Family {
    header: String,
    metrics: Vec<Metric>,
    by_key: HashMap<String, usize>,
}

/// One metric of one target (a histogram's buckets, sum and count together): the
/// text before the value of each of its sample lines, and its samples in time order.
#[derive(Debug, Default)]
struct Metric {
    series: Vec<String>,
    /// Its points spilled so far, in time order, before those in [`Metric::points`].
    spilled: Vec<Segment>,
    points: Points,
}

/// Samples in time order and their values' text.
#[derive(Debug, Default)]
struct Points {
    samples: Vec<Sample>,
    /// The sample values' text, one after another.
    values: String,
}

/// One sample: when, which of the metric's series, and where its value ends in
/// [`Points::values`] (it starts where the previous one ends).
#[derive(Debug, Clone, Copy)]
struct Sample {
    millis: i64,
    series: u32,
    end: u32,
}

/// What a line of a scrape resolved to: a family header, or one series of a metric.
#[derive(Debug)]
struct Resolved {
    /// The header, or the series (the sample line before its value).
    text: String,
    family: usize,
    /// The metric and series, for sample lines.
    series: Option<(usize, u32)>,
}

impl BackfillWriter {
    /// An empty backfill.
    pub fn new() -> BackfillWriter {
        BackfillWriter::default()
    }

    /// Takes one scrape of a target, at `millis` (Unix ms), told to the returned sink;
    /// `target_labels` (e.g. `app="x",instance="h:1",job="vllm"`) join every sample.
    pub fn scrape<'a>(&'a mut self, target_labels: &'a str, millis: i64) -> Scrape<'a> {
        Scrape {
            families: &mut self.families,
            cache: self
                .last_scrape
                .entry(target_labels.to_owned())
                .or_default(),
            buffer: &mut self.line,
            target: target_labels,
            millis,
            line: 0,
            family: None,
            metric: None,
        }
    }

    /// Joins writers that saw different targets into one: families in the order the
    /// parts first name them, each family's metrics part by part. A family's header is
    /// the first part's.
    pub fn merge(parts: impl IntoIterator<Item = BackfillWriter>) -> BackfillWriter {
        let mut merged = BackfillWriter::new();
        for part in parts {
            let base = merged.spills.len() as u32;
            merged.spills.extend(part.spills);
            let mut names = vec![String::new(); part.families.list.len()];
            for (name, index) in part.families.by_name {
                names[index] = name;
            }
            for (name, family) in names.iter().zip(part.families.list) {
                let index = merged.families.index(name);
                let into = &mut merged.families.list[index];
                if into.header.is_empty() {
                    into.header = family.header;
                }
                let offset = into.metrics.len();
                into.by_key
                    .extend(family.by_key.into_iter().map(|(k, i)| (k, i + offset)));
                into.metrics
                    .extend(family.metrics.into_iter().map(|mut metric| {
                        for segment in &mut metric.spilled {
                            segment.spill += base;
                        }
                        metric
                    }));
            }
            merged.last_scrape.extend(part.last_scrape);
        }
        merged
    }

    /// Adds the `up` sample Prometheus records for every scrape.
    pub fn add_up(&mut self, target_labels: &str, millis: i64, up: bool) {
        let index = self.families.index("up");
        let family = &mut self.families.list[index];
        if family.header.is_empty() {
            family.header = "# HELP up The scraping was successful.\n# TYPE up gauge\n".to_owned();
        }
        let metric = family.metric(target_labels);
        let m = &mut family.metrics[metric];
        if m.series.is_empty() {
            m.series.push(format!("up{{{target_labels}}}"));
        }
        m.points.push(millis, 0, if up { "1" } else { "0" });
    }

    /// Writes the document; returns the number of samples written.
    pub fn write(&self, out: &mut impl Write) -> io::Result<u64> {
        let mut samples = 0;
        let mut stamp = Stamp::default();
        // Spilled runs are read back one at a time into the same buffers.
        let (mut bytes, mut run) = (Vec::new(), Points::default());
        for family in &self.families.list {
            out.write_all(family.header.as_bytes())?;
            for metric in &family.metrics {
                for segment in &metric.spilled {
                    let file = &self.spills[segment.spill as usize].file;
                    run.read_back(file, segment, &mut bytes)?;
                    samples += run.write(&metric.series, out, &mut stamp)?;
                }
                samples += metric.points.write(&metric.series, out, &mut stamp)?;
            }
        }
        out.write_all(b"# EOF\n")?;
        Ok(samples)
    }

    /// Moves every point kept in memory to this writer's spill file (an unnamed
    /// temporary file in `dir`, made on first use), from which [`BackfillWriter::write`]
    /// reads it back in place.
    pub fn spill(&mut self, dir: &Path) -> io::Result<()> {
        if self.spills.is_empty() {
            self.spills.push(Spill {
                file: tempfile::tempfile_in(dir)?,
                len: 0,
            });
        }
        let index = self.spills.len() - 1;
        let spill = &mut self.spills[index];
        // `write` moves the file's position: spilled points always go at its end.
        (&spill.file).seek(SeekFrom::Start(spill.len))?;
        let mut out = BufWriter::with_capacity(1 << 20, &spill.file);
        for metric in self.families.list.iter_mut().flat_map(|f| &mut f.metrics) {
            if metric.points.samples.is_empty() {
                continue;
            }
            let segment = metric.points.spill(&mut out, index as u32, spill.len)?;
            spill.len += segment.len();
            metric.spilled.push(segment);
            metric.points.clear();
        }
        out.flush()
    }
}

/// One scrape of one target being told to a [`BackfillWriter`].
#[derive(Debug)]
pub struct Scrape<'a> {
    families: &'a mut Families,
    /// What each line of the target's previous scrape resolved to.
    cache: &'a mut Vec<Resolved>,
    /// Where the line being told is written.
    buffer: &'a mut String,
    target: &'a str,
    millis: i64,
    /// The lines told so far (headers and samples).
    line: usize,
    family: Option<usize>,
    /// The current metric, `None` when a new one begins.
    metric: Option<usize>,
}

impl Scrape<'_> {
    /// Keeps what line `self.line` resolved to for the next scrape, and moves on.
    fn resolved(&mut self, text: &str, family: usize, series: Option<(usize, u32)>) {
        let entry = Resolved {
            text: text.to_owned(),
            family,
            series,
        };
        match self.cache.get_mut(self.line) {
            Some(slot) => *slot = entry,
            None => self.cache.push(entry),
        }
    }

    /// The line's resolution in the previous scrape, when it was the same text.
    fn cached(&self, text: &str) -> Option<&Resolved> {
        self.cache.get(self.line).filter(|c| c.text == text)
    }
}

impl Sink for Scrape<'_> {
    fn family(&mut self, name: &str, header: impl FnOnce(&mut String)) {
        let mut text = std::mem::take(self.buffer);
        text.clear();
        header(&mut text);
        let header = text.as_str();
        let index = match self.cached(header) {
            Some(c) => c.family,
            None => {
                let index = self.families.index(name);
                let family = &mut self.families.list[index];
                if family.header.is_empty() {
                    family.header = header.to_owned();
                }
                self.resolved(header, index, None);
                index
            }
        };
        *self.buffer = text;
        self.family = Some(index);
        self.metric = None;
        self.line += 1;
    }

    fn metric(&mut self) {
        self.metric = None;
    }

    fn sample(&mut self, line: impl FnOnce(&mut String) -> usize) {
        let Some(f) = self.family else {
            return;
        };
        let mut text = std::mem::take(self.buffer);
        text.clear();
        let value_at = line(&mut text);
        let (series, value) = text.split_at_checked(value_at).unwrap_or((&text, ""));
        let (series, value) = (series.trim_end(), value.trim_end_matches('\n'));
        let (metric, index) = match self.cached(series).and_then(|c| c.series) {
            Some(resolved) => resolved,
            None => {
                let family = &mut self.families.list[f];
                let metric = match self.metric {
                    Some(m) => m,
                    None => family.metric(&format!("{series}|{}", self.target)),
                };
                let full = with_target(series, self.target);
                let m = &mut family.metrics[metric];
                let index = match m.series.iter().position(|s| *s == full) {
                    Some(i) => i,
                    None => {
                        m.series.push(full);
                        m.series.len() - 1
                    }
                };
                let resolved = (metric, index as u32);
                self.resolved(series, f, Some(resolved));
                resolved
            }
        };
        self.metric = Some(metric);
        self.families.list[f].metrics[metric]
            .points
            .push(self.millis, index, value);
        *self.buffer = text;
        self.line += 1;
    }
}

impl Families {
    /// The family called `name`, added on first sight.
    fn index(&mut self, name: &str) -> usize {
        if let Some(&i) = self.by_name.get(name) {
            return i;
        }
        self.list.push(Family::default());
        self.by_name.insert(name.to_owned(), self.list.len() - 1);
        self.list.len() - 1
    }
}

impl Family {
    /// The metric with `key`, added on first sight.
    fn metric(&mut self, key: &str) -> usize {
        if let Some(&i) = self.by_key.get(key) {
            return i;
        }
        self.metrics.push(Metric::default());
        self.by_key.insert(key.to_owned(), self.metrics.len() - 1);
        self.metrics.len() - 1
    }
}

/// The bytes of one spilled sample: its Unix milliseconds, series and value's end.
const SAMPLE_BYTES: u64 = 16;

impl Points {
    /// Prints the points as lines of `series`; returns how many.
    fn write(&self, series: &[String], out: &mut impl Write, stamp: &mut Stamp) -> io::Result<u64> {
        let mut start = 0;
        for sample in &self.samples {
            if stamp.0 != sample.millis {
                *stamp = Stamp(sample.millis, format_millis(sample.millis));
            }
            let end = sample.end as usize;
            let value = self.values.get(start..end).unwrap_or_default();
            let series = series
                .get(sample.series as usize)
                .map_or("", String::as_str);
            out.write_all(series.as_bytes())?;
            out.write_all(b" ")?;
            out.write_all(value.as_bytes())?;
            out.write_all(b" ")?;
            out.write_all(stamp.1.as_bytes())?;
            out.write_all(b"\n")?;
            start = end;
        }
        Ok(self.samples.len() as u64)
    }

    fn push(&mut self, millis: i64, series: u32, value: &str) {
        self.values.push_str(value);
        self.samples.push(Sample {
            millis,
            series,
            end: u32::try_from(self.values.len()).unwrap_or(u32::MAX),
        });
    }

    /// Writes the points to `out`, at `offset` of spill file `spill`: each sample's
    /// fields little-endian, then the values' text.
    fn spill(&self, out: &mut impl Write, spill: u32, offset: u64) -> io::Result<Segment> {
        for sample in &self.samples {
            out.write_all(&sample.millis.to_le_bytes())?;
            out.write_all(&sample.series.to_le_bytes())?;
            out.write_all(&sample.end.to_le_bytes())?;
        }
        out.write_all(self.values.as_bytes())?;
        Ok(Segment {
            spill,
            offset,
            samples: self.samples.len() as u64,
            values: self.values.len() as u64,
        })
    }

    /// Replaces these points with `segment`'s, read from `file` through `bytes`.
    fn read_back(
        &mut self,
        mut file: &File,
        segment: &Segment,
        bytes: &mut Vec<u8>,
    ) -> io::Result<()> {
        bytes.resize(usize::try_from(segment.len()).map_err(io::Error::other)?, 0);
        file.seek(SeekFrom::Start(segment.offset))?;
        file.read_exact(bytes)?;
        let (samples, values) = bytes.split_at(bytes.len() - segment.values as usize);
        self.clear();
        self.samples
            .extend(samples.chunks_exact(SAMPLE_BYTES as usize).map(|b| {
                let (mut millis, mut series, mut end) = ([0; 8], [0; 4], [0; 4]);
                millis.copy_from_slice(&b[..8]);
                series.copy_from_slice(&b[8..12]);
                end.copy_from_slice(&b[12..]);
                Sample {
                    millis: i64::from_le_bytes(millis),
                    series: u32::from_le_bytes(series),
                    end: u32::from_le_bytes(end),
                }
            }));
        self.values
            .push_str(std::str::from_utf8(values).map_err(io::Error::other)?);
        Ok(())
    }

    fn clear(&mut self) {
        self.samples.clear();
        self.values.clear();
    }
}

impl Segment {
    /// Its bytes in the spill file.
    fn len(&self) -> u64 {
        self.samples * SAMPLE_BYTES + self.values
    }
}

/// The last timestamp printed and its text.
#[derive(Debug)]
struct Stamp(i64, String);

impl Default for Stamp {
    fn default() -> Stamp {
        Stamp(i64::MIN, String::new())
    }
}

/// `series` (`name` or `name{labels}`) with `target_labels` after its own.
fn with_target(series: &str, target_labels: &str) -> String {
    match series.strip_suffix('}') {
        Some(open) if open.ends_with('{') => format!("{open}{target_labels}}}"),
        Some(open) => format!("{open},{target_labels}}}"),
        None => format!("{series}{{{target_labels}}}"),
    }
}

/// Unix milliseconds as OpenMetrics seconds, e.g. `1732761600.250`.
fn format_millis(millis: i64) -> String {
    format!("{}.{:03}", millis.div_euclid(1000), millis.rem_euclid(1000))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exposition::read_openmetrics;

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
            read_openmetrics(SCRAPE, &mut w.scrape(target, t));
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
    fn merged_writers_print_each_family_once_and_every_target() {
        let (x, y) = ("job=\"j\",instance=\"x\"", "job=\"j\",instance=\"y\"");
        let mut parts = [BackfillWriter::new(), BackfillWriter::new()];
        for (w, target) in parts.iter_mut().zip([x, y]) {
            for t in [1000, 16000] {
                w.add_up(target, t, true);
                read_openmetrics(SCRAPE, &mut w.scrape(target, t));
            }
        }
        let mut merged = Vec::new();
        let samples = BackfillWriter::merge(parts).write(&mut merged).unwrap();
        let mut single = BackfillWriter::new();
        for target in [x, y] {
            for t in [1000, 16000] {
                single.add_up(target, t, true);
                read_openmetrics(SCRAPE, &mut single.scrape(target, t));
            }
        }
        let mut expected = Vec::new();
        assert_eq!(samples, single.write(&mut expected).unwrap());
        assert_eq!(
            String::from_utf8(merged).unwrap(),
            String::from_utf8(expected).unwrap()
        );
    }

    /// Spilled after every scrape, or after some, the document is the same bytes, and
    /// the points spilled are no longer in memory.
    #[test]
    fn a_spilled_writer_prints_the_same_document() {
        let dir = tempfile::tempdir().unwrap();
        let render = |spill_after: &[i64]| {
            let (x, y) = ("job=\"j\",instance=\"x\"", "job=\"j\",instance=\"y\"");
            let mut parts = [BackfillWriter::new(), BackfillWriter::new()];
            for (w, target) in parts.iter_mut().zip([x, y]) {
                for t in [1000, 16000, 31000] {
                    w.add_up(target, t, t != 16000);
                    read_openmetrics(SCRAPE, &mut w.scrape(target, t));
                    if spill_after.contains(&t) {
                        w.spill(dir.path()).unwrap();
                        assert!(
                            w.families
                                .list
                                .iter()
                                .all(|f| f.metrics.iter().all(|m| m.points.samples.is_empty()))
                        );
                    }
                }
            }
            let mut out = Vec::new();
            let samples = BackfillWriter::merge(parts).write(&mut out).unwrap();
            (String::from_utf8(out).unwrap(), samples)
        };
        let whole = render(&[]);
        assert_eq!(whole.1, 2 * 3 * 6);
        assert_eq!(render(&[1000, 16000, 31000]), whole);
        assert_eq!(render(&[16000]), whole);
    }

    #[test]
    fn target_labels_join_the_series_own() {
        assert_eq!(
            with_target("a{m=\"x\"}", "job=\"j\""),
            "a{m=\"x\",job=\"j\"}"
        );
        assert_eq!(with_target("a", "job=\"j\""), "a{job=\"j\"}");
        assert_eq!(with_target("a{}", "job=\"j\""), "a{job=\"j\"}");
        assert_eq!(format_millis(1_732_761_600_250), "1732761600.250");
    }
}
