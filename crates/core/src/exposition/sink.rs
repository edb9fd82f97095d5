//! An exposition told line by line, with its structure: which family each line is in,
//! and where each of the family's metrics begins.
//!
//! A pod's families are encoded straight into a [`Sink`]: a `String` makes them a
//! text body, a [`BackfillWriter`](super::BackfillWriter)'s scrape stamps and groups
//! them without reading any text back. The gateway's and harness's families belong to
//! the prometheus-client crate, whose registry writes text and offers no walk of its
//! samples; [`read_openmetrics`] tells such a body to a sink the same way.

/// Receives an exposition: each family's header, then its metrics' sample lines. The
/// sink gives the encoder the buffer each line is written in: a text body writes
/// straight into itself.
pub trait Sink {
    /// Family `name` begins: `header` appends its `# HELP` and `# TYPE` lines to the
    /// buffer it is given.
    fn family(&mut self, name: &str, header: impl FnOnce(&mut String));
    /// A metric of the current family begins (one child: a histogram's buckets, count
    /// and sum together); its sample lines follow.
    fn metric(&mut self);
    /// One sample line of the current metric: `line` appends it, newline included, to
    /// the buffer it is given and returns where in the buffer its value begins.
    fn sample(&mut self, line: impl FnOnce(&mut String) -> usize);
}

/// A text body.
impl Sink for String {
    fn family(&mut self, _name: &str, header: impl FnOnce(&mut String)) {
        header(self);
    }

    fn metric(&mut self) {}

    fn sample(&mut self, line: impl FnOnce(&mut String) -> usize) {
        line(self);
    }
}

/// Tells an OpenMetrics `body` (up to its `# EOF`) to `sink`: a family at each run of
/// `#` lines naming a new family, a metric wherever the labels other than `le`
/// change, a sample at every other line with a value.
pub fn read_openmetrics(body: &str, sink: &mut impl Sink) {
    let mut rest = body;
    let mut metric: Option<&str> = None;
    while !rest.is_empty() {
        if rest.starts_with("# EOF") {
            return;
        }
        if rest.starts_with("# ") {
            // The family's header lines: every `#` line naming the same family.
            let name = family_name(rest);
            let mut end = 0;
            while rest[end..].starts_with("# ") && family_name(&rest[end..]) == name {
                end += line_len(&rest[end..]);
            }
            sink.family(name, |out| out.push_str(&rest[..end]));
            metric = None;
            rest = &rest[end..];
            continue;
        }
        let len = line_len(rest);
        let line = &rest[..len];
        rest = &rest[len..];
        let Some(space) = line.trim_end_matches('\n').rfind(' ') else {
            continue;
        };
        let series = &line[..space];
        let labels = series.split_once('{').map_or("", |(_, l)| l);
        if metric.is_none_or(|m| !same_metric(m, labels)) {
            sink.metric();
            metric = Some(labels);
        }
        sink.sample(|out| {
            let at = out.len();
            out.push_str(line);
            at + space + 1
        });
    }
}

/// The family a `# HELP`/`# TYPE`/`# UNIT` line names.
fn family_name(line: &str) -> &str {
    let line = &line[..line_len(line)];
    line.split(' ').nth(2).unwrap_or("").trim_end_matches('\n')
}

/// The length of the first line of `text`, its newline included.
fn line_len(text: &str) -> usize {
    text.find('\n').map_or(text.len(), |i| i + 1)
}

/// Whether two series' label texts (after the `{`) differ only in `le`.
fn same_metric(a: &str, b: &str) -> bool {
    let pairs = |labels| split_labels(labels).filter(|pair| !pair.starts_with("le="));
    pairs(a).eq(pairs(b))
}

/// Splits `a="x",b="y,z"}` at the commas between pairs (not those inside quotes),
/// without the closing brace.
fn split_labels(labels: &str) -> impl Iterator<Item = &str> {
    let labels = labels.strip_suffix('}').unwrap_or(labels);
    let mut start = 0;
    let (mut quoted, mut escaped) = (false, false);
    let mut ends = labels.char_indices().filter_map(move |(i, c)| {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => return Some(i),
            _ => {}
        }
        None
    });
    std::iter::from_fn(move || {
        if start > labels.len() {
            return None;
        }
        let end = ends.next().unwrap_or(labels.len());
        let pair = &labels[start..end];
        start = end + 1;
        Some(pair)
    })
    .filter(|pair| !pair.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a sink was told, as text.
    #[derive(Default)]
    struct Told(Vec<String>);

    impl Sink for Told {
        fn family(&mut self, name: &str, header: impl FnOnce(&mut String)) {
            let mut text = String::new();
            header(&mut text);
            self.0.push(format!("family {name}: {text:?}"));
        }
        fn metric(&mut self) {
            self.0.push("metric".to_owned());
        }
        fn sample(&mut self, line: impl FnOnce(&mut String) -> usize) {
            // Lines are appended: where the value begins counts what came before.
            let before = "# a line before\n";
            let mut text = before.to_owned();
            let value_at = line(&mut text);
            let (series, value) = text.split_at(value_at);
            let series = &series[before.len()..];
            self.0.push(format!("{:?} = {value:?}", series.trim_end()));
        }
    }

    #[test]
    fn a_body_is_told_family_by_family_metric_by_metric() {
        let body = "# HELP h Help.\n# TYPE h histogram\n\
            h_sum{team=\"a,b\"} 1.5\nh_count{team=\"a,b\"} 2\n\
            h_bucket{le=\"1.0\",team=\"a,b\"} 1\nh_bucket{le=\"+Inf\",team=\"a,b\"} 2\n\
            h_sum{team=\"c\"} 0.0\n\
            # HELP c Help c.\n# TYPE c counter\nc_total 3\n# EOF\nc_total 4\n";
        let mut told = Told::default();
        read_openmetrics(body, &mut told);
        assert_eq!(
            told.0,
            [
                "family h: \"# HELP h Help.\\n# TYPE h histogram\\n\"",
                "metric",
                "\"h_sum{team=\\\"a,b\\\"}\" = \"1.5\\n\"",
                "\"h_count{team=\\\"a,b\\\"}\" = \"2\\n\"",
                "\"h_bucket{le=\\\"1.0\\\",team=\\\"a,b\\\"}\" = \"1\\n\"",
                "\"h_bucket{le=\\\"+Inf\\\",team=\\\"a,b\\\"}\" = \"2\\n\"",
                "metric",
                "\"h_sum{team=\\\"c\\\"}\" = \"0.0\\n\"",
                "family c: \"# HELP c Help c.\\n# TYPE c counter\\n\"",
                "metric",
                "\"c_total\" = \"3\\n\"",
            ]
        );
    }

    #[test]
    fn label_splitting_respects_quotes() {
        assert_eq!(
            split_labels("a=\"x\\\",y\",b=\"z\"}").collect::<Vec<_>>(),
            ["a=\"x\\\",y\"", "b=\"z\""]
        );
        assert!(same_metric("le=\"0.5\",m=\"a,b\"}", "m=\"a,b\",le=\"1\"}"));
        assert!(!same_metric("m=\"a\"}", "m=\"b\"}"));
        assert!(same_metric("", ""));
    }
}
