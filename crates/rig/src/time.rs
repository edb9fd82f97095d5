//! Grafana's time expressions, as a dashboard's `time` or the `from`/`to` of a URL
//! write them: `now`, `now-30m`, `now-1d/d` (rounded to the unit), Unix seconds,
//! or epoch milliseconds. ISO dates are left to the caller.
//!
//! `now` is given, never read from the clock. Months and years are 30 and 365 days;
//! rounding (`/d`) works in UTC for `s`, `m`, `h` and `d`.

use std::fmt;

/// A time expression that is not one of Grafana's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadTime(pub String);

impl fmt::Display for BadTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "time {:?} is not `now`, `now-30m`, `now-1d/d`, Unix seconds or epoch milliseconds",
            self.0
        )
    }
}

impl std::error::Error for BadTime {}

/// Which end of a range a time is; rounding goes down for `From`, up for `To`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// Start of a range.
    From,
    /// End of a range.
    To,
}

/// Unix milliseconds for `text`; `Ok(None)` when it looks like neither relative nor
/// numeric time (e.g. an ISO date), for the caller to try.
pub fn parse_time(text: &str, now_ms: i64, end: End) -> Result<Option<i64>, BadTime> {
    let t = text.trim();
    let bad = || BadTime(text.to_owned());
    if let Some(mut rest) = t.strip_prefix("now") {
        let mut ms = now_ms;
        while !rest.is_empty() {
            let op = rest.as_bytes()[0];
            rest = &rest[1..];
            let digits = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            let count: i64 = if digits == 0 {
                1
            } else {
                rest[..digits].parse().map_err(|_| bad())?
            };
            rest = &rest[digits..];
            let unit = rest.chars().next().ok_or_else(bad)?;
            rest = &rest[unit.len_utf8()..];
            let unit_ms = unit_ms(unit).ok_or_else(bad)?;
            ms = match op {
                b'-' if digits > 0 => ms - count * unit_ms,
                b'+' if digits > 0 => ms + count * unit_ms,
                b'/' if digits == 0 && matches!(unit, 's' | 'm' | 'h' | 'H' | 'd') => {
                    let floor = ms.div_euclid(unit_ms) * unit_ms;
                    match end {
                        End::From => floor,
                        End::To => floor + unit_ms - 1,
                    }
                }
                _ => return Err(bad()),
            };
        }
        return Ok(Some(ms));
    }
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        let n: i64 = t.parse().map_err(|_| bad())?;
        // Grafana URLs carry epoch milliseconds; 11+ digits is after 5138 in seconds.
        return Ok(Some(if t.len() >= 12 { n } else { n * 1000 }));
    }
    if let Ok(secs) = t.parse::<f64>()
        && secs.is_finite()
    {
        return Ok(Some((secs * 1000.0).round() as i64));
    }
    Ok(None)
}

fn unit_ms(unit: char) -> Option<i64> {
    Some(match unit {
        's' => 1_000,
        'm' => 60_000,
        'h' | 'H' => 3_600_000,
        'd' => 86_400_000,
        'w' => 7 * 86_400_000,
        'M' => 30 * 86_400_000,
        'y' => 365 * 86_400_000,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_123_456;

    fn at(text: &str) -> i64 {
        parse_time(text, NOW, End::From).unwrap().unwrap()
    }

    #[test]
    fn relative() {
        assert_eq!(at("now"), NOW);
        assert_eq!(at("now-30m"), NOW - 1_800_000);
        assert_eq!(at("now+1h"), NOW + 3_600_000);
        assert_eq!(at("now-1d-12h"), NOW - 86_400_000 - 43_200_000);
        assert_eq!(at(" now-5s "), NOW - 5_000);
    }

    #[test]
    fn rounding() {
        assert_eq!(at("now/m"), 1_700_000_100_000);
        assert_eq!(
            parse_time("now/m", NOW, End::To),
            Ok(Some(1_700_000_159_999))
        );
        assert_eq!(at("now-1d/d"), 1_699_833_600_000);
        assert!(parse_time("now/M", NOW, End::From).is_err());
    }

    #[test]
    fn numeric() {
        assert_eq!(at("1700000000"), 1_700_000_000_000);
        assert_eq!(at("1700000000123"), 1_700_000_000_123);
        assert_eq!(at("1700000000.5"), 1_700_000_000_500);
    }

    #[test]
    fn others() {
        assert_eq!(parse_time("2023-11-14T22:13:20Z", NOW, End::From), Ok(None));
        for bad in ["now-", "now-5", "now-5x", "now*2m", "now-m"] {
            let e = parse_time(bad, NOW, End::From).unwrap_err();
            assert_eq!(e, BadTime(bad.to_owned()));
        }
        assert!(
            BadTime("x".to_owned())
                .to_string()
                .starts_with("time \"x\" is not `now`"),
            "{}",
            BadTime("x".to_owned())
        );
    }
}
