//! Grafana's reducers (`packages/grafana-data/src/transformations/fieldReducer.ts`):
//! one series' values to the one number a stat shows.
//!
//! NaN stands for null, as Prometheus writes it where Grafana's frames hold nulls.
//! An empty series reduces to `None`, except `sum` and `count`, which give 0; an
//! all-null one as Grafana's calculations leave it (`delta`, `variance`, `stdDev`,
//! `changeCount` and `distinctCount` 0, `logmin` `f64::MAX`, most others `None`).
//! `tests/integration/grafana_data.rs` checks every reducer against `@grafana/data`.

use std::fmt;

/// A reducer, by Grafana's id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reducer {
    /// `lastNotNull` (alias `current`): the last value that is not null.
    LastNotNull,
    /// `last`: the last value, even if null.
    Last,
    /// `first`: the first value, even if null.
    First,
    /// `firstNotNull`.
    FirstNotNull,
    /// `mean` (alias `avg`): sum over non-null count.
    Mean,
    /// `max`.
    Max,
    /// `min`.
    Min,
    /// `sum` (alias `total`).
    Sum,
    /// `count`: non-null values.
    Count,
    /// `range`: max − min.
    Range,
    /// `diff`: lastNotNull − firstNotNull.
    Diff,
    /// `delta`: cumulative increase, counter-reset aware.
    Delta,
    /// `step`: the smallest difference between consecutive values.
    Step,
    /// `logmin`: the smallest value above zero.
    LogMin,
    /// `variance` (population).
    Variance,
    /// `stdDev` (population).
    StdDev,
    /// `changeCount`: how often the value changes.
    ChangeCount,
    /// `distinctCount`: how many different values.
    DistinctCount,
}

const IDS: &[(&str, Reducer)] = &[
    ("lastNotNull", Reducer::LastNotNull),
    ("current", Reducer::LastNotNull),
    ("last", Reducer::Last),
    ("first", Reducer::First),
    ("firstNotNull", Reducer::FirstNotNull),
    ("mean", Reducer::Mean),
    ("avg", Reducer::Mean),
    ("max", Reducer::Max),
    ("min", Reducer::Min),
    ("sum", Reducer::Sum),
    ("total", Reducer::Sum),
    ("count", Reducer::Count),
    ("range", Reducer::Range),
    ("diff", Reducer::Diff),
    ("delta", Reducer::Delta),
    ("step", Reducer::Step),
    ("logmin", Reducer::LogMin),
    ("variance", Reducer::Variance),
    ("stdDev", Reducer::StdDev),
    ("changeCount", Reducer::ChangeCount),
    ("distinctCount", Reducer::DistinctCount),
];

/// A reducer id Grafana (or this rig) does not know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownReducer(pub String);

impl fmt::Display for UnknownReducer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let known: Vec<_> = IDS.iter().map(|(id, _)| *id).collect();
        write!(
            f,
            "unknown reducer {:?} (known: {})",
            self.0,
            known.join(", ")
        )
    }
}

impl std::error::Error for UnknownReducer {}

impl Reducer {
    /// The reducer with Grafana id (or alias) `id`.
    pub fn from_id(id: &str) -> Result<Reducer, UnknownReducer> {
        IDS.iter()
            .find(|(name, _)| *name == id)
            .map(|(_, r)| *r)
            .ok_or_else(|| UnknownReducer(id.to_owned()))
    }

    /// Grafana's id.
    pub fn id(self) -> &'static str {
        IDS.iter()
            .find(|(_, r)| *r == self)
            .map_or("?", |(id, _)| id)
    }

    /// Reduces `values` (NaN = null) as `reduceField` does with this one reducer: the
    /// empty series gives `None` (0 for `sum` and `count`); otherwise Grafana's
    /// `doStandardCalcs` or the reducer's own function decides, down to its quirks
    /// (see [`Standard`]).
    pub fn apply(self, values: &[f64]) -> Option<f64> {
        if values.is_empty() {
            return matches!(self, Reducer::Sum | Reducer::Count).then_some(0.0);
        }
        let not_null = |v: &f64| Some(*v).filter(|v| !v.is_nan());
        let present = || values.iter().copied().filter(|v| !v.is_nan());
        match self {
            Reducer::LastNotNull => present().next_back(),
            Reducer::Last => values.last().and_then(not_null),
            Reducer::First => values.first().and_then(not_null),
            Reducer::FirstNotNull => present().next(),
            Reducer::Variance => Some(variance(present())),
            Reducer::StdDev => Some(variance(present()).sqrt()),
            Reducer::ChangeCount => Some(
                present()
                    .collect::<Vec<_>>()
                    .windows(2)
                    .filter(|w| w[0] != w[1])
                    .count() as f64,
            ),
            Reducer::DistinctCount => {
                let mut seen: Vec<f64> = Vec::new();
                for v in present() {
                    // JavaScript's Set: 0 and -0 are one value.
                    if !seen.contains(&v) {
                        seen.push(v);
                    }
                }
                Some(seen.len() as f64)
            }
            _ => Standard::of(values).get(self),
        }
    }
}

/// Grafana's `doStandardCalcs`, one pass over the non-null values, with its
/// sentinels: `max` starts at `-f64::MAX` and `min` at `f64::MAX` and only a value
/// beyond them moves them (so a lone -Infinity has no max, and a lone +Infinity no
/// min); `logmin` keeps `f64::MAX` when no value is above zero; `step` starts at
/// `f64::MAX`; `delta` adds each rise, except the first rise after a drop.
#[derive(Debug)]
struct Standard {
    sum: f64,
    count: f64,
    max: Option<f64>,
    min: Option<f64>,
    logmin: f64,
    first: Option<f64>,
    last: Option<f64>,
    delta: f64,
    step: Option<f64>,
}

impl Standard {
    fn of(values: &[f64]) -> Standard {
        let (mut sum, mut count) = (0.0, 0.0);
        let (mut max, mut min, mut logmin, mut step) = (-f64::MAX, f64::MAX, f64::MAX, f64::MAX);
        let (mut first, mut last): (Option<f64>, Option<f64>) = (None, None);
        let (mut delta, mut previous_up) = (0.0, true);
        for v in values.iter().copied().filter(|v| !v.is_nan()) {
            count += 1.0;
            sum += v;
            if let Some(previous) = last {
                let d = v - previous;
                if step > d {
                    step = d;
                }
                if previous > v {
                    previous_up = false;
                } else {
                    if previous_up {
                        delta += d;
                    }
                    previous_up = true;
                }
            } else {
                first = Some(v);
            }
            if v > max {
                max = v;
            }
            if v < min {
                min = v;
            }
            if v < logmin && v > 0.0 {
                logmin = v;
            }
            last = Some(v);
        }
        Standard {
            sum,
            count,
            max: (max != -f64::MAX).then_some(max),
            min: (min != f64::MAX).then_some(min),
            logmin,
            first,
            last,
            delta,
            step: (step != f64::MAX).then_some(step),
        }
    }

    fn get(&self, reducer: Reducer) -> Option<f64> {
        match reducer {
            Reducer::Sum => Some(self.sum),
            Reducer::Count => Some(self.count),
            Reducer::Mean => (self.count > 0.0).then(|| self.sum / self.count),
            Reducer::Max => self.max,
            Reducer::Min => self.min,
            Reducer::Range => Some(self.max? - self.min?),
            Reducer::Diff => Some(self.last? - self.first?),
            Reducer::Delta => Some(self.delta),
            Reducer::Step => self.step,
            Reducer::LogMin => Some(self.logmin),
            Reducer::LastNotNull => self.last,
            Reducer::FirstNotNull => self.first,
            _ => None,
        }
    }
}

impl fmt::Display for Reducer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// Population variance (Welford) of the non-null values, as Grafana's
/// `calculateStdDev`: 0 when there are none.
fn variance(values: impl Iterator<Item = f64>) -> f64 {
    let (mut n, mut mean, mut m2) = (0.0, 0.0, 0.0);
    for v in values {
        n += 1.0;
        let old = mean;
        mean += (v - old) / n;
        m2 += (v - old) * (v - mean);
    }
    if n > 0.0 { m2 / n } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NULL: f64 = f64::NAN;

    fn r(id: &str, values: &[f64]) -> Option<f64> {
        Reducer::from_id(id).unwrap().apply(values)
    }

    #[test]
    fn reference_series_with_nulls() {
        // grafana.md §7.3: reduceField([1, null, 3, 7, null]).
        let v = [1.0, NULL, 3.0, 7.0, NULL];
        assert_eq!(r("lastNotNull", &v), Some(7.0));
        assert_eq!(r("last", &v), None);
        assert_eq!(r("count", &v), Some(3.0));
        let mean = r("mean", &v).unwrap();
        assert!((mean - 11.0 / 3.0).abs() < 1e-12, "{mean}");
        assert_eq!(r("first", &v), Some(1.0));
        assert_eq!(r("firstNotNull", &[NULL, 2.0]), Some(2.0));
        assert_eq!(r("first", &[NULL, 2.0]), None);
        assert_eq!(r("sum", &v), Some(11.0));
        assert_eq!(r("max", &v), Some(7.0));
        assert_eq!(r("min", &v), Some(1.0));
        assert_eq!(r("range", &v), Some(6.0));
        assert_eq!(r("diff", &v), Some(6.0));
    }

    #[test]
    fn aliases() {
        assert_eq!(Reducer::from_id("current"), Ok(Reducer::LastNotNull));
        assert_eq!(Reducer::from_id("avg"), Ok(Reducer::Mean));
        assert_eq!(Reducer::from_id("total"), Ok(Reducer::Sum));
        assert_eq!(Reducer::Mean.id(), "mean");
    }

    #[test]
    fn empty_and_all_null() {
        for values in [&[][..], &[NULL, NULL][..]] {
            assert_eq!(r("sum", values), Some(0.0));
            assert_eq!(r("count", values), Some(0.0));
            for id in ["lastNotNull", "mean", "max", "min", "range", "diff", "step"] {
                assert_eq!(r(id, values), None, "{id}");
            }
        }
        // An empty series is null for all but sum and count; an all-null one is what
        // Grafana's calculations start from (@grafana/data 13.2).
        for id in ["delta", "stdDev", "changeCount", "logmin"] {
            assert_eq!(r(id, &[]), None, "{id}");
        }
        assert_eq!(r("delta", &[NULL, NULL]), Some(0.0));
        assert_eq!(r("stdDev", &[NULL, NULL]), Some(0.0));
        assert_eq!(r("changeCount", &[NULL, NULL]), Some(0.0));
        assert_eq!(r("logmin", &[NULL, -1.0]), Some(f64::MAX));
        assert_eq!(r("last", &[]), None);
    }

    #[test]
    fn delta_survives_counter_resets() {
        assert_eq!(r("delta", &[1.0, 3.0, 6.0]), Some(5.0));
        // @grafana/data 13.2: 0→10 (+10), the reset to 2 and the first rise after it
        // (2→5) add nothing; 5→7 adds 2.
        assert_eq!(r("delta", &[0.0, 10.0, 2.0, 5.0]), Some(10.0));
        assert_eq!(r("delta", &[0.0, 10.0, 2.0, 5.0, 7.0]), Some(12.0));
        assert_eq!(
            r("delta", &[0.0, 10.0, 2.0]),
            Some(10.0),
            "reset on the last value"
        );
    }

    #[test]
    fn the_rest() {
        assert_eq!(r("step", &[1.0, 3.0, 4.0, 10.0]), Some(1.0));
        assert_eq!(r("logmin", &[-1.0, 0.0, 0.5, 2.0]), Some(0.5));
        assert_eq!(
            r("variance", &[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]),
            Some(4.0)
        );
        assert_eq!(
            r("stdDev", &[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]),
            Some(2.0)
        );
        // Nulls are skipped (@grafana/data 13.2), not counted as a change or a value.
        assert_eq!(
            r("changeCount", &[1.0, 1.0, 2.0, NULL, NULL, 2.0, 3.0]),
            Some(2.0)
        );
        assert_eq!(r("distinctCount", &[1.0, 1.0, 2.0, NULL]), Some(2.0));
        assert_eq!(r("max", &[1.0, f64::INFINITY]), Some(f64::INFINITY));
        // -Infinity never passes max's -f64::MAX start, nor +Infinity min's.
        assert_eq!(r("max", &[f64::NEG_INFINITY]), None);
        assert_eq!(r("min", &[f64::INFINITY]), None);
    }

    #[test]
    fn unknown_ids_are_errors() {
        let e = Reducer::from_id("median").unwrap_err().to_string();
        assert!(
            e.starts_with("unknown reducer \"median\" (known: lastNotNull, current,"),
            "{e}"
        );
    }
}
