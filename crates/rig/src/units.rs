//! Values as text for reports: a reduced value with the panel's unit and decimals,
//! close to what Grafana shows (`1.47 s`, `85.3%`, `12.5 req/s`), not a port of its
//! value formats.

/// `value` (None for null) in `unit` with `decimals`.
pub fn format_value(value: Option<f64>, unit: Option<&str>, decimals: Option<f64>) -> String {
    let Some(v) = value else {
        return "null".to_owned();
    };
    if v.is_nan() {
        return "NaN".to_owned();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    let n = |x: f64| number(x, decimals);
    match unit.unwrap_or("") {
        "" | "none" => n(v),
        "short" => short(v, decimals),
        "percent" => format!("{}%", n(v)),
        "percentunit" => format!("{}%", n(v * 100.0)),
        "s" => time(v, decimals),
        "ms" => time(v / 1000.0, decimals),
        "reqps" => format!("{} req/s", n(v)),
        "ops" => format!("{} ops/s", n(v)),
        u => match (u.strip_prefix("suffix:"), u.strip_prefix("prefix:")) {
            (Some(suffix), _) => format!("{} {}", n(v), suffix.trim()),
            (_, Some(prefix)) => format!("{}{}", prefix.trim(), n(v)),
            _ => format!("{} {u}", n(v)),
        },
    }
}

/// Fixed decimals when given, else three significant digits (all of the integer part).
fn number(v: f64, decimals: Option<f64>) -> String {
    if let Some(d) = decimals {
        return format!("{v:.*}", d.clamp(0.0, 10.0) as usize);
    }
    if v == 0.0 {
        return "0".to_owned();
    }
    let magnitude = v.abs().log10().floor() as i32;
    let places = (2 - magnitude).clamp(0, 6) as usize;
    let s = format!("{v:.places$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    }
}

fn short(v: f64, decimals: Option<f64>) -> String {
    const SCALES: &[(f64, &str)] = &[(1e12, " Tri"), (1e9, " Bil"), (1e6, " Mil"), (1e3, " K")];
    match SCALES.iter().find(|(s, _)| v.abs() >= *s) {
        Some((s, name)) => format!("{}{name}", number(v / s, decimals)),
        None => number(v, decimals),
    }
}

fn time(seconds: f64, decimals: Option<f64>) -> String {
    let a = seconds.abs();
    let (v, unit) = if a != 0.0 && a < 1.0 {
        (seconds * 1000.0, "ms")
    } else if a < 60.0 {
        (seconds, "s")
    } else if a < 3600.0 {
        (seconds / 60.0, "min")
    } else if a < 86400.0 {
        (seconds / 3600.0, "hour")
    } else {
        (seconds / 86400.0, "day")
    };
    format!("{} {unit}", number(v, decimals))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(format_value(Some(1.4712), Some("s"), None), "1.47 s");
        assert_eq!(format_value(Some(0.25), Some("s"), None), "250 ms");
        assert_eq!(format_value(Some(90.0), Some("s"), None), "1.5 min");
        assert_eq!(format_value(Some(85.26), Some("percent"), None), "85.3%");
        assert_eq!(format_value(Some(0.5), Some("percentunit"), None), "50%");
        assert_eq!(format_value(Some(12.5), Some("reqps"), None), "12.5 req/s");
        assert_eq!(
            format_value(Some(512.0), Some("suffix:tok/s"), None),
            "512 tok/s"
        );
        assert_eq!(format_value(Some(4.0), Some("short"), None), "4");
        assert_eq!(format_value(Some(1500.0), Some("short"), None), "1.5 K");
        assert_eq!(format_value(Some(3.0), Some("widgets"), None), "3 widgets");
        assert_eq!(format_value(Some(0.012345), None, None), "0.0123");
        assert_eq!(format_value(Some(2.0), Some("percent"), Some(1.0)), "2.0%");
    }

    #[test]
    fn special_values() {
        assert_eq!(format_value(None, Some("s"), None), "null");
        assert_eq!(format_value(Some(f64::NAN), None, None), "NaN");
        assert_eq!(format_value(Some(f64::INFINITY), None, None), "+Inf");
        assert_eq!(format_value(Some(0.0), Some("s"), None), "0 s");
    }
}
