//! A value as Grafana's display processor writes it with the panel's unit and
//! decimals (`getDisplayProcessor`, `packages/grafana-data/src/valueFormats`): the
//! same digits (`toFixed`, JavaScript's number-to-text), the same scaled suffixes
//! (`1.50 K`, `500 ms`, `2.00 KiB`) and the same oddities (`∞ years`).
//!
//! Ported units: `none` (and no unit), `short`, `sishort`, `percent`, `percentunit`,
//! the time units `ns`, `µs`, `ms`, `s`, `m`, `h`, `d`, the data units `bytes`,
//! `decbytes`, `kbytes`, `mbytes`, `gbytes`, `deckbytes`, `decmbytes`, `decgbytes`,
//! `bits`, `decbits`, the rates `Bps`, `binBps`, `bps`, `ops`, `reqps`, `rps`, `wps`,
//! `iops`, `cps`, and `prefix:…`/`suffix:…`. Any other unit is written as Grafana
//! writes a unit it does not know: the number, a space and the unit's id (right for
//! custom units, not for Grafana's other built-in ones). A null value is `null` here,
//! where Grafana writes nothing. `tests/integration/grafana_data.rs` checks all of
//! this against `@grafana/data`.

/// `value` (None for null) in `unit` with `decimals`, as Grafana shows it.
pub fn format_value(value: Option<f64>, unit: Option<&str>, decimals: Option<f64>) -> String {
    let Some(v) = value else {
        return "null".to_owned();
    };
    if v.is_nan() {
        return "NaN".to_owned();
    }
    let d = decimals;
    let plain = |text: String, suffix: &str| text + suffix;
    match unit.filter(|u| !u.is_empty()).unwrap_or("none") {
        "none" => to_fixed(v, d),
        "short" => scaled_units(
            v,
            d,
            1000.0,
            &[
                "", " K", " Mil", " Bil", " Tri", " Quadr", " Quint", " Sext", " Sept",
            ],
            0,
        ),
        "sishort" => si_prefix(v, d, "", 0),
        "percent" => plain(to_fixed(v, d), "%"),
        "percentunit" => plain(to_fixed(100.0 * v, d), "%"),
        "ns" => nanoseconds(v, d),
        "µs" => microseconds(v, d),
        "ms" => milliseconds(v, d),
        "s" => seconds(v, d),
        "m" => minutes(v, d),
        "h" => hours(v, d),
        "d" => days(v, d),
        "bytes" => binary_prefix(v, d, "B", 0),
        "kbytes" => binary_prefix(v, d, "B", 1),
        "mbytes" => binary_prefix(v, d, "B", 2),
        "gbytes" => binary_prefix(v, d, "B", 3),
        "decbytes" => si_prefix(v, d, "B", 0),
        "deckbytes" => si_prefix(v, d, "B", 1),
        "decmbytes" => si_prefix(v, d, "B", 2),
        "decgbytes" => si_prefix(v, d, "B", 3),
        "bits" => binary_prefix(v, d, "b", 0),
        "decbits" => si_prefix(v, d, "b", 0),
        "Bps" => si_prefix(v, d, "B/s", 0),
        "binBps" => binary_prefix(v, d, "B/s", 0),
        "bps" => si_prefix(v, d, "b/s", 0),
        "ops" => count_unit(v, d, "ops/s"),
        "reqps" => count_unit(v, d, "req/s"),
        "rps" => count_unit(v, d, "rd/s"),
        "wps" => count_unit(v, d, "wr/s"),
        "iops" => count_unit(v, d, "io/s"),
        "cps" => count_unit(v, d, "c/s"),
        u => match (u.split_once(':'), u.find(':')) {
            (Some(("prefix", p)), Some(i)) if i > 0 => format!("{p}{}", to_fixed(v, d)),
            (Some(("suffix", s)), Some(i)) if i > 0 => format!("{} {s}", to_fixed(v, d)),
            _ => format!("{} {u}", to_fixed(v, d)),
        },
    }
}

/// JavaScript's `String(number)`: the shortest digits that read back as `v`, in
/// exponent form below 1e-6 and from 1e21.
pub fn js_number(v: f64) -> String {
    if v.is_nan() {
        return "NaN".to_owned();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    if v == 0.0 {
        return "0".to_owned();
    }
    let sign = if v < 0.0 { "-" } else { "" };
    // The shortest digits that read back as `v`, and where the point goes. Where 17
    // digits are needed more than one string reads back; JavaScript takes the one
    // closest to `v`, as serde_json's writer does (Rust's `{:e}` may pick another).
    let text = serde_json::Number::from_f64(v.abs()).map_or_else(String::new, |n| n.to_string());
    let (mantissa, exp) = text.split_once(['e', 'E']).unwrap_or((&text, "0"));
    let exp: i32 = exp.trim_start_matches('+').parse().expect("exponent");
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all = format!("{int}{frac}");
    let leading = all.len() - all.trim_start_matches('0').len();
    let digits = all.trim_matches('0').to_owned();
    let k = digits.len() as i32;
    let n = int.len() as i32 - leading as i32 + exp;
    let body = if k <= n && n <= 21 {
        format!("{digits}{}", "0".repeat((n - k) as usize))
    } else if 0 < n && n <= 21 {
        format!("{}.{}", &digits[..n as usize], &digits[n as usize..])
    } else if -6 < n && n <= 0 {
        format!("0.{}{digits}", "0".repeat((-n) as usize))
    } else {
        let e = n - 1;
        let e = if e < 0 {
            format!("-{}", -e)
        } else {
            format!("+{e}")
        };
        if k == 1 {
            format!("{digits}e{e}")
        } else {
            format!("{}.{}e{e}", &digits[..1], &digits[1..])
        }
    };
    format!("{sign}{body}")
}

/// JavaScript's `Math.round`: halves go up.
fn js_round(x: f64) -> f64 {
    let f = x.floor();
    if x - f >= 0.5 { f + 1.0 } else { f }
}

/// Grafana's `toFixed`: fixed decimals, else as many as `getDecimalsForValue` picks;
/// ±Infinity as `toLocaleString` writes it.
fn to_fixed(value: f64, decimals: Option<f64>) -> String {
    if value.is_infinite() {
        return if value > 0.0 { "∞" } else { "-∞" }.to_owned();
    }
    let decimals = decimals.unwrap_or_else(|| decimals_for(value));
    if value == 0.0 {
        return format!("{:.*}", decimals.max(0.0) as usize, 0.0);
    }
    let factor = if decimals != 0.0 {
        10f64.powf(decimals.max(0.0))
    } else {
        1.0
    };
    let formatted = js_number(js_round(value * factor) / factor);
    if formatted.contains('e') {
        return formatted;
    }
    let precision = formatted.find('.').map_or(0, |p| formatted.len() - p - 1) as f64;
    if precision < decimals {
        let zeros = "0".repeat((decimals - precision) as usize);
        return if precision > 0.0 {
            formatted + &zeros
        } else {
            formatted + "." + &zeros
        };
    }
    formatted
}

/// Grafana's `getDecimalsForValue`.
fn decimals_for(value: f64) -> f64 {
    let abs = value.abs();
    let log10 = (abs.ln() / std::f64::consts::LN_10).floor();
    let mut dec = -log10 + 1.0;
    let magn = 10f64.powf(-dec);
    if abs / magn > 2.25 {
        dec += 1.0;
    }
    if value % 1.0 == 0.0 {
        dec = 0.0;
    }
    dec.max(0.0)
}

/// Grafana's `toFixedScaled`: the suffix pluralised above 1.
fn to_fixed_scaled(value: f64, decimals: Option<f64>, ext: &str) -> String {
    let plural = value.abs() > 1.0 && matches!(ext, " min" | " hour" | " day" | " week" | " year");
    format!(
        "{}{ext}{}",
        to_fixed(value, decimals),
        if plural { "s" } else { "" }
    )
}

/// Grafana's `scaledUnits(factor, exts, offset)`.
fn scaled_units(
    size: f64,
    decimals: Option<f64>,
    factor: f64,
    exts: &[&str],
    offset: i32,
) -> String {
    if size.is_infinite() {
        return to_fixed(size, None);
    }
    let index = if size == 0.0 {
        0
    } else {
        (size.abs().log10() / factor.log10()).floor() as i32
    };
    let last = exts.len() as i32 - 1;
    let suffix = exts[(offset + index).clamp(0, last) as usize];
    let scale = factor.powf(f64::from(index.clamp(-offset, last - offset)));
    to_fixed(size / scale, decimals) + suffix
}

const SI_PREFIXES: [&str; 14] = [
    "f", "p", "n", "µ", "m", "", "k", "M", "G", "T", "P", "E", "Z", "Y",
];
const BIN_PREFIXES: [&str; 9] = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"];

/// Grafana's `SIPrefix(unit, offset)`.
fn si_prefix(size: f64, decimals: Option<f64>, unit: &str, offset: i32) -> String {
    let exts: Vec<String> = SI_PREFIXES.iter().map(|p| format!(" {p}{unit}")).collect();
    let exts: Vec<&str> = exts.iter().map(String::as_str).collect();
    scaled_units(size, decimals, 1000.0, &exts, 5 + offset)
}

/// Grafana's `binaryPrefix(unit, offset)`.
fn binary_prefix(size: f64, decimals: Option<f64>, unit: &str, offset: i32) -> String {
    let exts: Vec<String> = BIN_PREFIXES.iter().map(|p| format!(" {p}{unit}")).collect();
    let exts: Vec<&str> = exts.iter().map(String::as_str).collect();
    scaled_units(size, decimals, 1024.0, &exts, offset)
}

/// Grafana's `simpleCountUnit(symbol)`; at ±Infinity its suffix is JavaScript's
/// `undefined + " " + symbol`, as Grafana shows it.
fn count_unit(size: f64, decimals: Option<f64>, symbol: &str) -> String {
    if size.is_infinite() {
        return format!("{}undefined {symbol}", to_fixed(size, None));
    }
    scaled_units(size, decimals, 1000.0, &["", "K", "M", "B", "T"], 0) + " " + symbol
}

/// A time ladder: below the first limit the number as it is with `base`, then each
/// `(limit, divisor, ext)` scaled, the last step taking everything beyond.
fn ladder(size: f64, d: Option<f64>, base: (f64, &str), steps: &[(f64, f64, &str)]) -> String {
    let a = size.abs();
    if a < base.0 {
        return to_fixed(size, d) + base.1;
    }
    let (_, divisor, ext) = steps
        .iter()
        .find(|(limit, _, _)| a < *limit)
        .or(steps.last())
        .expect("steps");
    to_fixed_scaled(size / divisor, d, ext)
}

fn nanoseconds(size: f64, d: Option<f64>) -> String {
    let steps = [
        (1e6, 1e3, " µs"),
        (1e9, 1e6, " ms"),
        (6e10, 1e9, " s"),
        (36e11, 6e10, " min"),
        (864e11, 36e11, " hour"),
        (f64::NAN, 864e11, " day"),
    ];
    ladder(size, d, (1e3, " ns"), &steps)
}

fn microseconds(size: f64, d: Option<f64>) -> String {
    ladder(
        size,
        d,
        (1e3, " µs"),
        &[(1e6, 1e3, " ms"), (f64::NAN, 1e6, " s")],
    )
}

fn milliseconds(size: f64, d: Option<f64>) -> String {
    let steps = [
        (6e4, 1e3, " s"),
        (36e5, 6e4, " min"),
        (864e5, 36e5, " hour"),
        (31536e6, 864e5, " day"),
        (f64::NAN, 31536e6, " year"),
    ];
    ladder(size, d, (1e3, " ms"), &steps)
}

fn seconds(size: f64, d: Option<f64>) -> String {
    let a = size.abs();
    if size == 0.0 {
        return "0 s".to_owned();
    }
    if a < 1e-6 {
        return to_fixed_scaled(size * 1e9, d, " ns");
    }
    if a < 1e-3 {
        return to_fixed_scaled(size * 1e6, d, " µs");
    }
    if a < 1.0 {
        return to_fixed_scaled(size * 1e3, d, " ms");
    }
    let steps = [
        (3600.0, 60.0, " min"),
        (86400.0, 3600.0, " hour"),
        (604800.0, 86400.0, " day"),
        (31536e3, 604800.0, " week"),
        (f64::NAN, 31556900.0, " year"),
    ];
    ladder(size, d, (60.0, " s"), &steps)
}

fn minutes(size: f64, d: Option<f64>) -> String {
    let steps = [
        (1440.0, 60.0, " hour"),
        (10080.0, 1440.0, " day"),
        (604800.0, 10080.0, " week"),
        (f64::NAN, 525948.0, " year"),
    ];
    ladder(size, d, (60.0, " min"), &steps)
}

fn hours(size: f64, d: Option<f64>) -> String {
    let steps = [
        (168.0, 24.0, " day"),
        (8760.0, 168.0, " week"),
        (f64::NAN, 8760.0, " year"),
    ];
    ladder(size, d, (24.0, " hour"), &steps)
}

fn days(size: f64, d: Option<f64>) -> String {
    let a = size.abs();
    if a < 7.0 {
        to_fixed_scaled(size, d, " day")
    } else if a < 365.0 {
        to_fixed_scaled(size / 7.0, d, " week")
    } else {
        to_fixed_scaled(size / 365.0, d, " year")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(format_value(Some(1.4712), Some("s"), None), "1.47 s");
        assert_eq!(format_value(Some(0.25), Some("s"), None), "250 ms");
        assert_eq!(format_value(Some(90.0), Some("s"), None), "1.50 mins");
        assert_eq!(format_value(Some(85.26), Some("percent"), None), "85.3%");
        assert_eq!(format_value(Some(0.5), Some("percentunit"), None), "50%");
        assert_eq!(format_value(Some(12.5), Some("reqps"), None), "12.5 req/s");
        assert_eq!(
            format_value(Some(512.0), Some("suffix:tok/s"), None),
            "512 tok/s"
        );
        assert_eq!(format_value(Some(4.0), Some("short"), None), "4");
        assert_eq!(format_value(Some(1500.0), Some("short"), None), "1.50 K");
        assert_eq!(format_value(Some(3.0), Some("widgets"), None), "3 widgets");
        assert_eq!(format_value(Some(0.012345), None, None), "0.0123");
        assert_eq!(format_value(Some(2.0), Some("percent"), Some(1.0)), "2.0%");
    }

    #[test]
    fn special_values() {
        assert_eq!(format_value(None, Some("s"), None), "null");
        assert_eq!(format_value(Some(f64::NAN), None, None), "NaN");
        assert_eq!(format_value(Some(f64::INFINITY), None, None), "∞");
        assert_eq!(
            format_value(Some(f64::INFINITY), Some("s"), None),
            "∞ years"
        );
        assert_eq!(format_value(Some(1e21), None, None), "1e+21");
        assert_eq!(format_value(Some(0.5), Some("decbytes"), None), "500 mB");
        assert_eq!(format_value(Some(0.0), Some("s"), None), "0 s");
    }
}
