//! Timestamped OpenMetrics for `promtool tsdb create-blocks-from openmetrics`.
//!
//! A backfill is a series of scrapes of several targets. Each scrape body (OpenMetrics,
//! from [`super::encode`]) is split into its families and metric points, stamped with
//! the scrape time and the labels Prometheus would attach (`job`, `instance`, `app`),
//! and kept in memory. [`BackfillWriter::write`] then prints what promtool requires:
//! each family once, its metrics one after another, each metric's points in time order.
//!
//! A long backfill need not stay in memory: [`BackfillWriter::spill`] writes every
//! point kept so far, already printed, to an unnamed temporary file and forgets it,
//! keeping only where each metric's run of lines lies. A writer spilled after every
//! span of scrapes holds one span's points at most; [`BackfillWriter::write`] copies
//! the runs back in the same order, so the document is byte for byte the one an
//! unspilled writer prints.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

/// Collects scrapes and writes them as one OpenMetrics document.
#[derive(Debug, Default)]
pub struct BackfillWriter {
    families: Vec<Family>,
    by_name: HashMap<String, usize>,
    /// Per target, what each line of its last scrape resolved to. A target's scrapes
    /// repeat the same lines in the same order, so most lines are found here by one
    /// comparison, without parsing, hashing or allocating.
    last_scrape: HashMap<String, Vec<Resolved>>,
    /// The temporary files spilled points went to (a merged writer keeps its parts').
    spills: Vec<Spill>,
}

/// A temporary file of printed sample lines, removed when dropped.
#[derive(Debug)]
struct Spill {
    file: File,
    len: u64,
}

/// A run of one metric's printed lines in a spill file.
#[derive(Debug, Clone, Copy)]
struct Segment {
    spill: u32,
    offset: u64,
    len: u64,
    samples: u64,
}

/// One metric family: its HELP/TYPE lines and its metrics in first-seen order.
#[derive(Debug)]
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
    /// Its points spilled so far, in time order, before those in [`Metric::samples`].
    spilled: Vec<Segment>,
    samples: Vec<Sample>,
    /// The sample values' text, one after another.
    values: String,
}

/// One sample: when, which of the metric's series, and where its value ends in
/// [`Metric::values`] (it starts where the previous one ends).
#[derive(Debug, Clone, Copy)]
struct Sample {
    millis: i64,
    series: u32,
    end: u32,
}

/// What a line of a scrape resolved to: a family header, or one series of a metric.
#[derive(Debug)]
struct Resolved {
    /// The line (header) or the text before its value (sample).
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

    /// Adds one target's scrape `body` (OpenMetrics) taken at `millis` (Unix ms);
    /// `target_labels` (e.g. `app="x",instance="h:1",job="vllm"`) join every sample.
    pub fn add_scrape(&mut self, body: &str, target_labels: &str, millis: i64) {
        let mut cache = self.last_scrape.remove(target_labels).unwrap_or_default();
        let mut family = None;
        for (k, line) in body.lines().enumerate() {
            if line == "# EOF" {
                break;
            }
            let header = line.starts_with("# ");
            let (text, value) = if header {
                (line, "")
            } else {
                match line.rsplit_once(' ') {
                    Some(parts) => parts,
                    None => continue,
                }
            };
            let cached = cache.get(k).filter(|c| c.text == text);
            let resolved = match cached {
                Some(c) => (c.family, c.series),
                None => {
                    let resolved = if header {
                        (self.header(line), None)
                    } else if let Some(f) = family {
                        (f, Some(self.series(f, text, target_labels)))
                    } else {
                        continue;
                    };
                    let entry = Resolved {
                        text: text.to_owned(),
                        family: resolved.0,
                        series: resolved.1,
                    };
                    match cache.get_mut(k) {
                        Some(slot) => *slot = entry,
                        None => cache.push(entry),
                    }
                    resolved
                }
            };
            family = Some(resolved.0);
            if let Some((metric, series)) = resolved.1 {
                self.families[resolved.0].metrics[metric].push(millis, series, value);
            }
        }
        self.last_scrape.insert(target_labels.to_owned(), cache);
    }

    /// Joins writers that saw different targets into one: families in the order the
    /// parts first name them, each family's metrics part by part. A family's header is
    /// the first part's.
    pub fn merge(parts: impl IntoIterator<Item = BackfillWriter>) -> BackfillWriter {
        let mut merged = BackfillWriter::new();
        for part in parts {
            let base = merged.spills.len() as u32;
            merged.spills.extend(part.spills);
            let mut names = vec![String::new(); part.families.len()];
            for (name, index) in part.by_name {
                names[index] = name;
            }
            for (name, family) in names.iter().zip(part.families) {
                let index = merged.family(name);
                let into = &mut merged.families[index];
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
        let index = self.family("up");
        let family = &mut self.families[index];
        if family.header.is_empty() {
            family.header = "# HELP up The scraping was successful.\n# TYPE up gauge\n".to_owned();
        }
        let metric = family.metric(target_labels);
        let m = &mut family.metrics[metric];
        if m.series.is_empty() {
            m.series.push(format!("up{{{target_labels}}}"));
        }
        m.push(millis, 0, if up { "1" } else { "0" });
    }

    /// Writes the document; returns the number of samples written.
    pub fn write(&self, out: &mut impl Write) -> io::Result<u64> {
        let mut samples = 0;
        let mut stamp = Stamp::default();
        for family in &self.families {
            out.write_all(family.header.as_bytes())?;
            for metric in &family.metrics {
                for segment in &metric.spilled {
                    let mut file = &self.spills[segment.spill as usize].file;
                    file.seek(SeekFrom::Start(segment.offset))?;
                    let copied = io::copy(&mut file.take(segment.len), out)?;
                    if copied != segment.len {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "a backfill's spill file is shorter than written",
                        ));
                    }
                    samples += segment.samples;
                }
                samples += metric.write_samples(out, &mut stamp)?;
            }
        }
        out.write_all(b"# EOF\n")?;
        Ok(samples)
    }

    /// Moves every point kept in memory to this writer's spill file (an unnamed
    /// temporary file in `dir`, made on first use): printed as [`BackfillWriter::write`]
    /// prints it, which later copies it back in place.
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
        let mut stamp = Stamp::default();
        for metric in self.families.iter_mut().flat_map(|f| &mut f.metrics) {
            if metric.samples.is_empty() {
                continue;
            }
            let mut counted = Counted {
                out: &mut out,
                len: 0,
            };
            let samples = metric.write_samples(&mut counted, &mut stamp)?;
            let len = counted.len;
            metric.spilled.push(Segment {
                spill: index as u32,
                offset: spill.len,
                len,
                samples,
            });
            spill.len += len;
            metric.samples.clear();
            metric.values.clear();
        }
        out.flush()
    }

    /// The family a `# HELP`/`# TYPE`/`# UNIT` line belongs to, its header kept once.
    fn header(&mut self, line: &str) -> usize {
        let mut words = line[2..].splitn(3, ' ');
        let (kind, name) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
        let index = self.family(name);
        let header = &mut self.families[index].header;
        if !header.contains(&format!("# {kind} ")) {
            header.push_str(line);
            header.push('\n');
        }
        index
    }

    /// The metric and series of sample text `name{labels}` of family `family`.
    fn series(&mut self, family: usize, text: &str, target_labels: &str) -> (usize, u32) {
        let (name, labels) = match text.split_once('{') {
            Some((name, labels)) => (name, labels.trim_end_matches('}')),
            None => (text, ""),
        };
        let key = format!("{}|{target_labels}", without_le(labels));
        let family = &mut self.families[family];
        let metric = family.metric(&key);
        let full = if labels.is_empty() {
            format!("{name}{{{target_labels}}}")
        } else {
            format!("{name}{{{labels},{target_labels}}}")
        };
        let m = &mut family.metrics[metric];
        let series = match m.series.iter().position(|s| *s == full) {
            Some(i) => i,
            None => {
                m.series.push(full);
                m.series.len() - 1
            }
        };
        (metric, series as u32)
    }

    fn family(&mut self, name: &str) -> usize {
        if let Some(&i) = self.by_name.get(name) {
            return i;
        }
        self.families.push(Family {
            header: String::new(),
            metrics: Vec::new(),
            by_key: HashMap::new(),
        });
        self.by_name
            .insert(name.to_owned(), self.families.len() - 1);
        self.families.len() - 1
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

impl Metric {
    /// Prints the points kept in memory; returns how many.
    fn write_samples(&self, out: &mut impl Write, stamp: &mut Stamp) -> io::Result<u64> {
        let mut start = 0;
        for sample in &self.samples {
            if stamp.0 != sample.millis {
                *stamp = Stamp(sample.millis, format_millis(sample.millis));
            }
            let end = sample.end as usize;
            out.write_all(self.series[sample.series as usize].as_bytes())?;
            out.write_all(b" ")?;
            out.write_all(&self.values.as_bytes()[start..end])?;
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
}

/// The last timestamp printed and its text.
#[derive(Debug)]
struct Stamp(i64, String);

impl Default for Stamp {
    fn default() -> Stamp {
        Stamp(i64::MIN, String::new())
    }
}

/// A writer that counts the bytes through it.
struct Counted<'a, W: Write> {
    out: &'a mut W,
    len: u64,
}

impl<W: Write> Write for Counted<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.out.write(buf)?;
        self.len += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
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
    fn merged_writers_print_each_family_once_and_every_target() {
        let (x, y) = ("job=\"j\",instance=\"x\"", "job=\"j\",instance=\"y\"");
        let mut parts = [BackfillWriter::new(), BackfillWriter::new()];
        for (w, target) in parts.iter_mut().zip([x, y]) {
            for t in [1000, 16000] {
                w.add_up(target, t, true);
                w.add_scrape(SCRAPE, target, t);
            }
        }
        let mut merged = Vec::new();
        let samples = BackfillWriter::merge(parts).write(&mut merged).unwrap();
        let mut single = BackfillWriter::new();
        for target in [x, y] {
            for t in [1000, 16000] {
                single.add_up(target, t, true);
                single.add_scrape(SCRAPE, target, t);
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
                    w.add_scrape(SCRAPE, target, t);
                    if spill_after.contains(&t) {
                        w.spill(dir.path()).unwrap();
                        assert!(
                            w.families
                                .iter()
                                .all(|f| f.metrics.iter().all(|m| m.samples.is_empty()))
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
