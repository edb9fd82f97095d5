//! Wire text as Python's prometheus_client writes it, byte for byte.
//!
//! vLLM serves its metrics through prometheus_client, so the simulator writes what
//! that library writes: floats as `floatToGoString` prints them (`1.0`, `0.001`,
//! `1.7e+09`, `+Inf`), labels sorted by name with `le` among them, label values and
//! HELP text escaped as `generate_latest` escapes them, the text format's separate
//! `_created` families and OpenMetrics' inline ones.

use std::fmt::Write;

/// How prometheus_client writes the exponent of a large float: `'e+0' + str(exp)`
/// until 0.25 (`1.7e+09`, `1.7e+010`), `'e+%02d'` from 0.26 (`1.7e+09`, `1.7e+10`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Exponent {
    /// prometheus_client up to 0.25.
    #[default]
    ZeroPrefixed,
    /// prometheus_client 0.26 and later.
    TwoDigits,
}

/// Appends `v` as prometheus_client's `floatToGoString` prints it: Python's `repr`,
/// except that positive values of seven or more integer digits take Go's exponent
/// form (`1700000000.0` is `1.7e+09`).
pub fn go_float(v: f64, exponent: Exponent, out: &mut String) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v == f64::INFINITY {
        out.push_str("+Inf");
    } else if v == f64::NEG_INFINITY {
        out.push_str("-Inf");
    } else if v.fract() == 0.0 && v.abs() < 1e6 && !(v == 0.0 && v.is_sign_negative()) {
        // Most samples are counts: whole numbers Python prints as `12.0`.
        let _ = write!(out, "{}.0", v as i64);
    } else {
        let start = out.len();
        python_float(v, out);
        let dot = out[start..].find('.');
        if let Some(dot) = dot.filter(|&d| v > 0.0 && d > 6) {
            // mantissa = s[0] + '.' + s[1:dot] + s[dot+1:], rstripped of '0' and '.'.
            let digits: Stack = {
                let mut d = Stack::default();
                let s = &out[start..];
                let _ = write!(d, "{}{}", &s[1..dot], &s[dot + 1..]);
                d
            };
            out.truncate(start + 1);
            out.push('.');
            out.push_str(digits.as_str());
            let kept = out.trim_end_matches(['0', '.']).len();
            out.truncate(kept);
            let _ = match exponent {
                Exponent::ZeroPrefixed => write!(out, "e+0{}", dot - 1),
                Exponent::TwoDigits => write!(out, "e+{:02}", dot - 1),
            };
        }
    }
}

/// Appends Python's `repr(v)` of a finite float: the shortest digits that read back
/// as `v`, positional from 1e-4 up to 1e16, scientific (`1e-05`, `1.5e+16`) beyond.
pub fn python_float(v: f64, out: &mut String) {
    // The fewest significant digits that read back as `v`, then `v` correctly rounded
    // to that many (round half to even), as Python's repr picks among equally short
    // candidates.
    let mut shortest = Stack::default();
    let _ = write!(shortest, "{v:e}");
    let digits = shortest
        .as_str()
        .split('e')
        .next()
        .unwrap_or_default()
        .bytes()
        .filter(u8::is_ascii_digit)
        .count();
    let mut sci = Stack::default();
    let _ = write!(sci, "{v:.*e}", digits.saturating_sub(1));
    let (mantissa, exp) = sci.as_str().split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let (lead, rest) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    // The significant digits: `lead` (one digit) then `rest`.
    let digit_count = 1 + rest.len();
    let digit = |i: usize| if i == 0 { lead } else { &rest[i - 1..i] };
    out.push_str(sign);
    if (-4..16).contains(&exp) {
        if exp < 0 {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-exp - 1) as usize));
            out.push_str(lead);
            out.push_str(rest);
        } else {
            let int_len = exp as usize + 1;
            for i in 0..int_len.min(digit_count) {
                out.push_str(digit(i));
            }
            if digit_count > int_len {
                out.push('.');
                out.push_str(&rest[int_len - 1..]);
            } else {
                out.extend(std::iter::repeat_n('0', int_len - digit_count));
                out.push_str(".0");
            }
        }
    } else {
        out.push_str(lead);
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        let _ = write!(out, "e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    }
}

/// A small buffer on the stack for formatting one number without allocating (the
/// longest, `-2.2250738585072014e-308`, takes 24 bytes).
#[derive(Default)]
struct Stack {
    bytes: [u8; 32],
    len: usize,
}

impl Stack {
    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
    }
}

impl Write for Stack {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let room = self.bytes.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        room.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// `name="value",...` for `pairs`, every value escaped: the target labels a
/// backfill adds to each sample, whatever the user typed for host or job.
pub fn label_pairs(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(name);
        out.push_str("=\"");
        escaped(value, true, &mut out);
        out.push('"');
    }
    out
}

/// Appends a label value or HELP text escaped as prometheus_client escapes it:
/// backslash and newline always, the double quote in label values (and, in
/// OpenMetrics, in HELP text too).
fn escaped(s: &str, quote: bool, out: &mut String) {
    if !s.contains(['\\', '\n', '"']) {
        out.push_str(s);
        return;
    }
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' if quote => out.push_str("\\\""),
            c => out.push(c),
        }
    }
}

/// The text format prometheus_client's `generate_latest` writes, or OpenMetrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// `prometheus_client.exposition.generate_latest`.
    Text,
    /// `prometheus_client.openmetrics.exposition.generate_latest`.
    OpenMetrics,
}

/// Appends the `# HELP` and `# TYPE` lines of a family called `name`.
pub fn header(dialect: Dialect, name: &str, help: &str, kind: &str, out: &mut String) {
    out.push_str("# HELP ");
    out.push_str(name);
    out.push(' ');
    escaped(help, dialect == Dialect::OpenMetrics, out);
    out.push_str("\n# TYPE ");
    out.push_str(name);
    out.push(' ');
    out.push_str(kind);
    out.push('\n');
}

/// Appends one sample line: `name` and `suffix`, `labels` (sorted by name) with `le`
/// (a bucket bound as [`go_float`] writes it) placed among them when given, and the
/// value, written with `exponent`. Returns where in `out` the value begins.
pub fn sample(
    name: &str,
    suffix: &str,
    labels: &[(&str, String)],
    le: Option<&str>,
    value: f64,
    exponent: Exponent,
    out: &mut String,
) -> usize {
    out.push_str(name);
    out.push_str(suffix);
    let mut le = le;
    if !labels.is_empty() || le.is_some() {
        out.push('{');
        let mut first = true;
        let mut label = |out: &mut String, k: &str| {
            if !first {
                out.push(',');
            }
            first = false;
            out.push_str(k);
            out.push_str("=\"");
        };
        for (k, v) in labels {
            if let Some(bound) = le.filter(|_| "le" < *k) {
                label(out, "le");
                out.push_str(bound);
                out.push('"');
                le = None;
            }
            label(out, k);
            escaped(v, true, out);
            out.push('"');
        }
        if let Some(bound) = le {
            label(out, "le");
            out.push_str(bound);
            out.push('"');
        }
        out.push('}');
    }
    out.push(' ');
    let value_at = out.len();
    go_float(value, exponent, out);
    out.push('\n');
    value_at
}

#[cfg(test)]
mod tests {
    use super::*;

    fn go(v: f64) -> String {
        let mut s = String::new();
        go_float(v, Exponent::ZeroPrefixed, &mut s);
        s
    }

    #[test]
    fn floats_print_as_prometheus_client_prints_them() {
        // Each pair is (value, what Python's floatToGoString returns).
        for (v, python) in [
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (0.001, "0.001"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (9.75010481363281e-06, "9.75010481363281e-06"),
            (1593.0, "1593.0"),
            (123456.5, "123456.5"),
            (999999.0, "999999.0"),
            (1e6, "1e+06"),
            (1234567.0, "1.234567e+06"),
            (1.7e9, "1.7e+09"),
            (1753795326.9358883, "1.7537953269358883e+09"),
            (1.7e10, "1.7e+010"),
            (1e15, "1e+015"),
            (1e16, "1e+16"),
            (2.5e17, "2.5e+17"),
            (-1700000000.0, "-1700000000.0"),
            (-1e16, "-1e+16"),
            (0.1 + 0.2, "0.30000000000000004"),
            // Two 17-digit strings read back as it; Python takes the nearer, .2.
            (2.0677761869252703e15, "2.0677761869252702e+015"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (f64::NAN, "NaN"),
        ] {
            assert_eq!(go(v), python, "{v:e}");
        }
        // prometheus_client 0.26 pads the exponent to two digits instead.
        for (v, python) in [(1.2884901888e10, "1.2884901888e+10"), (1.7e9, "1.7e+09")] {
            let mut s = String::new();
            go_float(v, Exponent::TwoDigits, &mut s);
            assert_eq!(s, python);
        }
    }

    #[test]
    fn le_sorts_among_the_labels() {
        let mut out = String::new();
        let labels = [("engine", "0".to_owned()), ("model_name", "m".to_owned())];
        let e = Exponent::ZeroPrefixed;
        sample("h", "_bucket", &labels, Some("1.0"), 2.0, e, &mut out);
        sample("h", "_bucket", &[], Some("+Inf"), 2.0, e, &mut out);
        let odd = [("a\"b", "x\\y\nz\"".to_owned())];
        sample("h", "_sum", &odd, None, 0.5, e, &mut out);
        assert_eq!(
            out,
            "h_bucket{engine=\"0\",le=\"1.0\",model_name=\"m\"} 2.0\n\
             h_bucket{le=\"+Inf\"} 2.0\n\
             h_sum{a\"b=\"x\\\\y\\nz\\\"\"} 0.5\n"
        );
    }

    #[test]
    fn target_labels_are_escaped() {
        assert_eq!(
            label_pairs(&[("instance", "a\"b\nup{x=\"1\"} 1:8001"), ("job", "vllm")]),
            r#"instance="a\"b\nup{x=\"1\"} 1:8001",job="vllm""#
        );
    }

    #[test]
    fn help_escapes_as_each_dialect_does() {
        let mut out = String::new();
        header(Dialect::Text, "x", "a \"b\"\nc\\", "gauge", &mut out);
        header(Dialect::OpenMetrics, "x", "a \"b\"", "gauge", &mut out);
        assert_eq!(
            out,
            "# HELP x a \"b\"\\nc\\\\\n# TYPE x gauge\n# HELP x a \\\"b\\\"\n# TYPE x gauge\n"
        );
    }
}
