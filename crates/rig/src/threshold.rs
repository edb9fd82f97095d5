//! Threshold colours exactly as Grafana picks them (`getActiveThreshold` in
//! `packages/grafana-data/src/field/thresholds.ts`, the scale of `field/scale.ts`).
//!
//! The walk starts at the first step (whatever its value, usually `null`); steps are
//! walked in order and a step becomes active when `value >= step.value`, stopping at
//! the first that does not. So a value on a boundary takes the higher step. A later
//! step's `null` compares as JavaScript's `value >= null` does, as 0. Percentage mode
//! compares `100 × (value − min) / (max − min)` instead, 0 where that is NaN. A null
//! value is -Infinity (0%). Grafana assumes sorted steps; [`unsorted`] finds
//! dashboards that break that. `tests/integration/grafana_data.rs` checks all of this
//! against `@grafana/data`.

use super::dashboard::{Step, ThresholdMode, Thresholds};

/// Grafana's colour when a field has no steps at all.
pub const FALLBACK_COLOR: &str = "#808080";

/// The min..max a percentage threshold is relative to.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scale {
    /// The scale's minimum.
    pub min: f64,
    /// The scale's maximum.
    pub max: f64,
}

impl Scale {
    /// `fieldConfig.defaults.min`/`max` where set (swapped when min > max, as
    /// Grafana's `validateFieldConfig` does), else the minimum/maximum of the panel's
    /// values (NaN ignored), as `applyFieldOverrides` finds them; a bound the values
    /// cannot give (no values, or only infinities) is JavaScript's null, which counts
    /// as 0.
    pub fn new(min: Option<f64>, max: Option<f64>, values: impl IntoIterator<Item = f64>) -> Scale {
        let (min, max) = match (min, max) {
            (Some(a), Some(b)) if a > b => (Some(b), Some(a)),
            bounds => bounds,
        };
        if let (Some(min), Some(max)) = (min, max) {
            return Scale { min, max };
        }
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for v in values.into_iter().filter(|v| !v.is_nan()) {
            lo = lo.min(v);
            hi = hi.max(v);
        }
        // Grafana's search starts at ±Infinity too and calls a bound it never moved
        // null, so a panel of only -Infinity has no max, one of only +Infinity no min.
        let lo = if lo == f64::INFINITY { 0.0 } else { lo };
        let hi = if hi == f64::NEG_INFINITY { 0.0 } else { hi };
        Scale {
            min: min.unwrap_or(lo),
            max: max.unwrap_or(hi),
        }
    }
}

/// The step `value` falls in (`getActiveThreshold`); `None` when there are no steps.
pub fn active_step(steps: &[Step], value: f64) -> Option<&Step> {
    let mut active = steps.first()?;
    for step in steps {
        if value >= step.value.unwrap_or(0.0) {
            active = step;
        } else {
            break;
        }
    }
    Some(active)
}

/// The colour Grafana shows for `value` (`None` for null) under `thresholds`.
pub fn color(thresholds: &Thresholds, value: Option<f64>, scale: Scale) -> String {
    let value = value.filter(|v| !v.is_nan()).unwrap_or(f64::NEG_INFINITY);
    let compared = match thresholds.mode {
        ThresholdMode::Absolute => value,
        ThresholdMode::Percentage => {
            let percent = if value == f64::NEG_INFINITY {
                0.0
            } else {
                (value - scale.min) / (scale.max - scale.min)
            };
            if percent.is_nan() {
                0.0
            } else {
                percent * 100.0
            }
        }
    };
    active_step(&thresholds.steps, compared)
        .map_or(FALLBACK_COLOR, |s| s.color.as_str())
        .to_owned()
}

/// The first step whose value is below its predecessor's, as a message; the base
/// step's value is ignored, as Grafana overwrites it with -Infinity.
pub fn unsorted(thresholds: &Thresholds) -> Option<String> {
    let steps = thresholds.steps.get(1..)?;
    let mut previous: Option<&Step> = None;
    for step in steps {
        let Some(value) = step.value else {
            return Some(format!("threshold step {:?} has no value", step.color));
        };
        if let Some(p) = previous
            && p.value.is_some_and(|pv| value < pv)
        {
            return Some(format!(
                "threshold steps are not sorted: {:?} at {value} follows {:?} at {}",
                step.color,
                p.color,
                p.value.unwrap_or_default()
            ));
        }
        previous = Some(step);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steps(mode: ThresholdMode, list: &[(&str, Option<f64>)]) -> Thresholds {
        Thresholds {
            mode,
            steps: list
                .iter()
                .map(|(c, v)| Step {
                    color: (*c).to_owned(),
                    value: *v,
                })
                .collect(),
        }
    }

    fn traffic_light() -> Thresholds {
        steps(
            ThresholdMode::Absolute,
            &[("green", None), ("orange", Some(80.0)), ("red", Some(90.0))],
        )
    }

    const ANY: Scale = Scale {
        min: 0.0,
        max: 100.0,
    };

    #[test]
    fn boundaries_take_the_higher_step() {
        // grafana.md §7.3: 79.99 → green, 80 → orange, 90 → red.
        let t = traffic_light();
        assert_eq!(color(&t, Some(79.99), ANY), "green");
        assert_eq!(color(&t, Some(80.0), ANY), "orange");
        assert_eq!(color(&t, Some(89.999), ANY), "orange");
        assert_eq!(color(&t, Some(90.0), ANY), "red");
        assert_eq!(color(&t, Some(-1e300), ANY), "green");
        assert_eq!(color(&t, Some(f64::INFINITY), ANY), "red");
    }

    #[test]
    fn null_is_the_base_step() {
        let t = traffic_light();
        assert_eq!(color(&t, None, ANY), "green");
        assert_eq!(color(&t, Some(f64::NAN), ANY), "green");
    }

    #[test]
    fn percentage_mode() {
        // grafana.md §7.3: min 0, max 200, red at 50% → 99 green, 100 red.
        let t = steps(
            ThresholdMode::Percentage,
            &[("green", None), ("red", Some(50.0))],
        );
        let scale = Scale::new(Some(0.0), Some(200.0), []);
        assert_eq!(color(&t, Some(99.0), scale), "green");
        assert_eq!(color(&t, Some(100.0), scale), "red");
        // Min and max from the data when the field config has none.
        let scale = Scale::new(None, None, [10.0, f64::NAN, 30.0]);
        assert_eq!(
            scale,
            Scale {
                min: 10.0,
                max: 30.0
            }
        );
        assert_eq!(color(&t, Some(19.9), scale), "green");
        assert_eq!(color(&t, Some(20.0), scale), "red");
        // A null value is 0%.
        assert_eq!(color(&t, None, scale), "green");
    }

    #[test]
    fn scale_defaults() {
        // No values: Grafana's range is null..null, which its arithmetic takes as 0.
        assert_eq!(Scale::new(None, None, []), Scale { min: 0.0, max: 0.0 });
        // min > max is swapped, as validateFieldConfig does.
        assert_eq!(
            Scale::new(Some(100.0), Some(0.0), []),
            Scale {
                min: 0.0,
                max: 100.0
            }
        );
        assert_eq!(
            Scale::new(Some(5.0), None, [1.0, 9.0]),
            Scale { min: 5.0, max: 9.0 }
        );
    }

    #[test]
    fn no_steps_falls_back() {
        let t = steps(ThresholdMode::Absolute, &[]);
        assert_eq!(color(&t, Some(1.0), ANY), FALLBACK_COLOR);
    }

    #[test]
    fn base_step_value_does_not_matter() {
        // Grafana replaces the base value with -Infinity; `active` starts at steps[0].
        let t = steps(
            ThresholdMode::Absolute,
            &[("blue", Some(50.0)), ("red", Some(90.0))],
        );
        assert_eq!(color(&t, Some(10.0), ANY), "blue");
        assert_eq!(unsorted(&t), None);
    }

    #[test]
    fn unsorted_steps_are_reported() {
        assert_eq!(unsorted(&traffic_light()), None);
        let t = steps(
            ThresholdMode::Absolute,
            &[("green", None), ("red", Some(90.0)), ("orange", Some(80.0))],
        );
        assert_eq!(
            unsorted(&t).unwrap(),
            "threshold steps are not sorted: \"orange\" at 80 follows \"red\" at 90"
        );
        // What Grafana would show anyway: the walk stops at the first step above.
        assert_eq!(color(&t, Some(85.0), ANY), "green");
        let t = steps(ThresholdMode::Absolute, &[("green", None), ("red", None)]);
        assert_eq!(unsorted(&t).unwrap(), "threshold step \"red\" has no value");
    }
}
