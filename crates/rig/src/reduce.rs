//! Grafana's reducers (`packages/grafana-data/src/transformations/fieldReducer.ts`):
//! one series' values to the one number a stat shows.
//!
//! NaN stands for null, as Prometheus writes it where Grafana's frames hold nulls.
//! An empty or all-null series reduces to `None`, except `sum` and `count`, which give 0.

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

    /// Reduces `values` (NaN = null).
    pub fn apply(self, values: &[f64]) -> Option<f64> {
        let present = || values.iter().copied().filter(|v| !v.is_nan());
        let not_null = |v: &f64| Some(*v).filter(|v| !v.is_nan());
        let n = present().count() as f64;
        match self {
            Reducer::LastNotNull => present().next_back(),
            Reducer::Last => values.last().and_then(not_null),
            Reducer::First => values.first().and_then(not_null),
            Reducer::FirstNotNull => present().next(),
            Reducer::Mean => (n > 0.0).then(|| present().sum::<f64>() / n),
            Reducer::Max => present().reduce(f64::max),
            Reducer::Min => present().reduce(f64::min),
            Reducer::Sum => Some(present().sum()),
            Reducer::Count => Some(n),
            Reducer::Range => Some(Reducer::Max.apply(values)? - Reducer::Min.apply(values)?),
            Reducer::Diff => {
                Some(Reducer::LastNotNull.apply(values)? - Reducer::FirstNotNull.apply(values)?)
            }
            Reducer::Delta => delta(&present().collect::<Vec<_>>()),
            Reducer::Step => present()
                .collect::<Vec<_>>()
                .windows(2)
                .map(|w| w[1] - w[0])
                .reduce(f64::min),
            Reducer::LogMin => present().filter(|v| *v > 0.0).reduce(f64::min),
            Reducer::Variance => variance(present()),
            Reducer::StdDev => variance(present()).map(f64::sqrt),
            Reducer::ChangeCount => {
                let opts: Vec<_> = values.iter().map(not_null).collect();
                (!opts.is_empty()).then(|| opts.windows(2).filter(|w| w[0] != w[1]).count() as f64)
            }
            Reducer::DistinctCount => {
                let mut seen: Vec<Option<f64>> = Vec::new();
                for v in values.iter().map(not_null) {
                    if !seen.contains(&v) {
                        seen.push(v);
                    }
                }
                (!seen.is_empty()).then_some(seen.len() as f64)
            }
        }
    }
}

impl fmt::Display for Reducer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// Grafana's `delta`: increases add up; a drop is a counter reset, after which the
/// new value counts as the increase.
fn delta(values: &[f64]) -> Option<f64> {
    let (&first, rest) = values.split_first()?;
    let mut total = 0.0;
    let mut last = first;
    let mut previous_up = true;
    for (i, &v) in rest.iter().enumerate() {
        if last > v {
            previous_up = false;
            if i == rest.len() - 1 {
                total += v;
            }
        } else {
            total += if previous_up { v - last } else { v };
            previous_up = true;
        }
        last = v;
    }
    Some(total)
}

/// Population variance (Welford), as Grafana's `variance`.
fn variance(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (mut n, mut mean, mut m2) = (0.0, 0.0, 0.0);
    for v in values {
        n += 1.0;
        let old = mean;
        mean += (v - old) / n;
        m2 += (v - old) * (v - mean);
    }
    (n > 0.0).then(|| m2 / n)
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
            for id in [
                "lastNotNull",
                "mean",
                "max",
                "min",
                "range",
                "diff",
                "delta",
                "stdDev",
            ] {
                assert_eq!(r(id, values), None, "{id}");
            }
        }
        assert_eq!(r("last", &[]), None);
    }

    #[test]
    fn delta_survives_counter_resets() {
        assert_eq!(r("delta", &[1.0, 3.0, 6.0]), Some(5.0));
        // 0→10 (+10), reset to 2 (+0, then counts 2 on the next rise), 2→5 (+5).
        assert_eq!(r("delta", &[0.0, 10.0, 2.0, 5.0]), Some(15.0));
        assert_eq!(
            r("delta", &[0.0, 10.0, 2.0]),
            Some(12.0),
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
        assert_eq!(
            r("changeCount", &[1.0, 1.0, 2.0, NULL, NULL, 2.0]),
            Some(3.0)
        );
        assert_eq!(r("distinctCount", &[1.0, 1.0, 2.0, NULL]), Some(3.0));
        assert_eq!(r("max", &[1.0, f64::INFINITY]), Some(f64::INFINITY));
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
