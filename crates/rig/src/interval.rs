//! The step, `$__interval` and `$__rate_interval` Grafana computes for one query.
//!
//! A port of the Prometheus datasource's arithmetic (`pkg/promlib/models/query.go`
//! `calculatePrometheusInterval` and `calculateRateInterval`, `intervalv2.Calculate`,
//! and `gtime.RoundInterval`/`FormatInterval` of grafana-plugin-sdk-go), and of the
//! frontend's `intervalMs` (`rangeUtil.calculateInterval`). Durations are whole
//! milliseconds, as Grafana's are.

use std::fmt;

/// Points per series when the panel sets no `maxDataPoints`; Grafana uses the
/// panel's width in pixels, about this for a full-width panel.
pub const DEFAULT_MAX_DATA_POINTS: f64 = 1000.0;

/// Grafana's cap on points per series: the step is never below range / 11000.
const SAFE_RESOLUTION: i64 = 11_000;

/// What one query's intervals depend on.
#[derive(Clone, Copy, Debug)]
pub struct IntervalInputs<'a> {
    /// The dashboard range, in milliseconds.
    pub range_ms: i64,
    /// The datasource's scrape interval (`jsonData.timeInterval`), in milliseconds.
    pub scrape_ms: i64,
    /// The panel's `maxDataPoints`.
    pub max_data_points: Option<f64>,
    /// The panel's `interval` (Min interval), already free of dashboard variables.
    pub panel_interval: Option<&'a str>,
    /// The target's `interval` (Min step), already free of dashboard variables.
    pub target_interval: Option<&'a str>,
}

/// The intervals of one query, in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Intervals {
    /// The dashboard range (`$__range`).
    pub range_ms: i64,
    /// The frontend's `intervalMs`, the base of `$__rate_interval`.
    pub interval_ms: i64,
    /// The query step, also `$__interval`.
    pub step_ms: i64,
    /// `$__rate_interval`.
    pub rate_interval_ms: i64,
}

/// An interval string Grafana would not parse, e.g. `interval: "fast"`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadInterval(pub String);

impl fmt::Display for BadInterval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "interval {:?} is not a duration such as 15s or 1m",
            self.0
        )
    }
}

impl std::error::Error for BadInterval {}

impl Intervals {
    /// Computes the intervals as Grafana's frontend and Prometheus backend do.
    pub fn compute(inputs: &IntervalInputs<'_>) -> Result<Intervals, BadInterval> {
        let range = inputs.range_ms.max(0);
        let points = match inputs.max_data_points {
            Some(n) if n >= 1.0 => n,
            _ => DEFAULT_MAX_DATA_POINTS,
        };
        let per_point = (range as f64 / points) as i64;
        let low_limit = match fixed(inputs.panel_interval) {
            Some(s) => parse_interval(s)?,
            None => inputs.scrape_ms,
        };
        let interval = round_interval(per_point).max(low_limit);
        let target = inputs
            .target_interval
            .filter(|s| !s.is_empty() && *s != "0s");
        let min_interval = match fixed(target) {
            Some(s) => parse_interval(s)?,
            None => interval,
        };
        let calculated = if per_point < min_interval {
            min_interval
        } else {
            round_interval(per_point)
        };
        let adjusted = calculated.max(round_interval(range / SAFE_RESOLUTION));
        let rate = |base: i64, scrape: i64| (base + scrape).max(4 * scrape);
        let (step, rate_interval) = match target {
            Some("$__rate_interval" | "${__rate_interval}") => {
                let step = rate(adjusted, inputs.scrape_ms);
                (step, step)
            }
            Some("$__interval" | "${__interval}") => (adjusted, rate(interval, adjusted)),
            Some(s) if fixed(Some(s)).is_some() => (adjusted, rate(interval, min_interval)),
            _ => (adjusted, rate(interval, inputs.scrape_ms)),
        };
        Ok(Intervals {
            range_ms: range,
            interval_ms: interval,
            step_ms: step,
            rate_interval_ms: rate_interval,
        })
    }
}

/// An interval that is not one of Grafana's own variables.
fn fixed(s: Option<&str>) -> Option<&str> {
    s.filter(|s| !s.is_empty() && !s.contains("$__") && !s.contains("${__"))
}

/// Parses a Grafana interval: `15s`, `1m30s`, `500ms`, `1.5h`, `2d`, a bare number
/// of seconds, optionally wrapped as `>15s` or `<15s`.
pub fn parse_interval(text: &str) -> Result<i64, BadInterval> {
    let bad = || BadInterval(text.to_owned());
    let s = text.trim().trim_start_matches(['<', '>']).trim();
    if s.is_empty() {
        return Err(bad());
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse::<i64>().map(|n| n * 1000).map_err(|_| bad());
    }
    let mut total = 0.0;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let number: f64 = rest[..num_len].parse().map_err(|_| bad())?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit_ms = match &rest[..unit_len] {
            "ms" => 1.0,
            "s" => 1e3,
            "m" => 60e3,
            "h" => 3600e3,
            "d" => 86400e3,
            "w" => 7.0 * 86400e3,
            "y" => 365.25 * 86400e3,
            _ => return Err(bad()),
        };
        total += number * unit_ms;
        rest = &rest[unit_len..];
    }
    Ok(total.round() as i64)
}

/// `gtime.RoundInterval`: a rounder duration no longer than about the given one.
pub fn round_interval(ms: i64) -> i64 {
    const TABLE: &[(i64, i64)] = &[
        (10, 1),
        (15, 10),
        (35, 20),
        (75, 50),
        (150, 100),
        (350, 200),
        (750, 500),
        (1_500, 1_000),
        (3_500, 2_000),
        (7_500, 5_000),
        (12_500, 10_000),
        (17_500, 15_000),
        (25_000, 20_000),
        (45_000, 30_000),
        (90_000, 60_000),
        (210_000, 120_000),
        (450_000, 300_000),
        (750_000, 600_000),
        (1_050_000, 900_000),
        (1_500_000, 1_200_000),
        (2_700_000, 1_800_000),
        (5_400_000, 3_600_000),
        (9_000_000, 7_200_000),
        (16_200_000, 10_800_000),
        (32_400_000, 21_600_000),
        (86_400_000, 43_200_000),
        (172_800_000, 86_400_000),
        (604_800_000, 86_400_000),
        (1_814_400_000, 604_800_000),
    ];
    match TABLE.iter().find(|(limit, _)| ms <= *limit) {
        Some((_, rounded)) => *rounded,
        None if ms < 3_628_800_000 => 2_592_000_000,
        None => 31_536_000_000,
    }
}

/// `gtime.FormatInterval`: the largest whole unit, e.g. `15s`, `1m`, `2h`, `500ms`.
pub fn format_interval(ms: i64) -> String {
    const UNITS: &[(i64, &str)] = &[
        (365 * 86_400_000, "y"),
        (86_400_000, "d"),
        (3_600_000, "h"),
        (60_000, "m"),
        (1_000, "s"),
        (1, "ms"),
    ];
    UNITS.iter().find(|(unit, _)| ms >= *unit).map_or_else(
        || "1ms".to_owned(),
        |(unit, name)| format!("{}{name}", ms / unit),
    )
}

/// Go's `time.Duration.String` for whole milliseconds, e.g. `1m0s`, `1h0m0s`,
/// `1.5s`, `500ms`: what Grafana puts in place of `$__rate_interval`.
pub fn go_duration(ms: i64) -> String {
    if ms == 0 {
        return "0s".to_owned();
    }
    let sign = if ms < 0 { "-" } else { "" };
    let ms = ms.unsigned_abs();
    if ms < 1000 {
        return format!("{sign}{ms}ms");
    }
    let (h, m, s, frac) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
    let mut secs = s.to_string();
    if frac > 0 {
        let digits = format!("{frac:03}");
        secs = format!("{s}.{}", digits.trim_end_matches('0'));
    }
    match (h, m) {
        (0, 0) => format!("{sign}{secs}s"),
        (0, m) => format!("{sign}{m}m{secs}s"),
        (h, m) => format!("{sign}{h}h{m}m{secs}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;

    fn inputs(range_ms: i64, scrape_ms: i64) -> IntervalInputs<'static> {
        IntervalInputs {
            range_ms,
            scrape_ms,
            max_data_points: None,
            panel_interval: None,
            target_interval: None,
        }
    }

    #[test]
    fn reference_worked_example() {
        // grafana.md §3.2: 1 h, timeInterval 15s → $__interval 15s, $__rate_interval 1m0s.
        let i = Intervals::compute(&inputs(HOUR, 15_000)).unwrap();
        assert_eq!(i.step_ms, 15_000);
        assert_eq!(format_interval(i.step_ms), "15s");
        assert_eq!(go_duration(i.rate_interval_ms), "1m0s");
        assert_eq!(i.range_ms, HOUR);
    }

    #[test]
    fn vllm_scrape_interval_of_5s() {
        // timeInterval 5s: interval ≥ 5s, rate interval max(interval + 5s, 20s).
        let i = Intervals::compute(&inputs(HOUR, 5_000)).unwrap();
        assert_eq!(i.step_ms, 5_000);
        assert_eq!(i.rate_interval_ms, 20_000);
    }

    #[test]
    fn long_ranges_round_the_step() {
        // 24 h / 1000 points = 86.4 s → rounded to 1m; rate = 1m + 15s.
        let i = Intervals::compute(&inputs(24 * HOUR, 15_000)).unwrap();
        assert_eq!(
            (i.step_ms, go_duration(i.rate_interval_ms).as_str()),
            (60_000, "1m15s")
        );
        let mut few = inputs(HOUR, 15_000);
        few.max_data_points = Some(10.0);
        assert_eq!(
            Intervals::compute(&few).unwrap().step_ms,
            300_000,
            "6 min → 5m"
        );
    }

    #[test]
    fn target_min_step_wins_and_drives_the_rate_interval() {
        let mut i = inputs(HOUR, 15_000);
        i.target_interval = Some("1m");
        let r = Intervals::compute(&i).unwrap();
        assert_eq!(r.step_ms, 60_000);
        assert_eq!(r.rate_interval_ms, 240_000, "max(15s + 1m, 4 × 1m)");
        i.target_interval = Some("$__rate_interval");
        let r = Intervals::compute(&i).unwrap();
        assert_eq!((r.step_ms, r.rate_interval_ms), (60_000, 60_000));
    }

    #[test]
    fn panel_min_interval_is_a_lower_limit() {
        let mut i = inputs(HOUR, 15_000);
        i.panel_interval = Some(">30s");
        let r = Intervals::compute(&i).unwrap();
        assert_eq!(
            (r.interval_ms, r.step_ms, r.rate_interval_ms),
            (30_000, 30_000, 60_000)
        );
        i.panel_interval = Some("soon");
        assert_eq!(
            Intervals::compute(&i).unwrap_err().to_string(),
            "interval \"soon\" is not a duration such as 15s or 1m"
        );
    }

    #[test]
    fn parses_grafana_intervals() {
        assert_eq!(parse_interval("15s"), Ok(15_000));
        assert_eq!(parse_interval("30"), Ok(30_000));
        assert_eq!(parse_interval("1m30s"), Ok(90_000));
        assert_eq!(parse_interval("500ms"), Ok(500));
        assert_eq!(parse_interval("1.5h"), Ok(5_400_000));
        assert_eq!(parse_interval("<2d"), Ok(172_800_000));
        assert!(parse_interval("").is_err());
        assert!(parse_interval("5x").is_err());
        assert!(parse_interval("s").is_err());
    }

    #[test]
    fn formats_like_grafana_and_go() {
        assert_eq!(format_interval(15_000), "15s");
        assert_eq!(format_interval(90_000), "1m");
        assert_eq!(format_interval(2 * HOUR), "2h");
        assert_eq!(format_interval(200), "200ms");
        assert_eq!(format_interval(0), "1ms");
        assert_eq!(go_duration(60_000), "1m0s");
        assert_eq!(go_duration(HOUR), "1h0m0s");
        assert_eq!(go_duration(75_000), "1m15s");
        assert_eq!(go_duration(1_500), "1.5s");
        assert_eq!(go_duration(500), "500ms");
        assert_eq!(go_duration(0), "0s");
    }

    #[test]
    fn rounds_at_the_table_edges() {
        assert_eq!(round_interval(3_600), 5_000);
        assert_eq!(round_interval(3_500), 2_000);
        assert_eq!(round_interval(17_500), 15_000);
        assert_eq!(round_interval(5), 1);
        assert_eq!(round_interval(40 * 86_400_000), 2_592_000_000);
        assert_eq!(round_interval(400 * 86_400_000), 31_536_000_000);
    }
}
