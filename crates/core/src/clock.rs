//! Simulated time and the clocks that drive it.
//!
//! [`SimTime`] counts nanoseconds since a lab started. A [`Clock`] says what the
//! simulated time is now: [`WallClock`] follows the wall clock (optionally sped up),
//! [`ManualClock`] moves only when a test advances it. This is the only module that
//! reads `Instant::now` or `SystemTime::now`.

use std::fmt;
use std::ops::{Add, Sub};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A point in simulated time: nanoseconds since the lab started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimTime(u64);

impl SimTime {
    /// The start of the lab.
    pub const ZERO: SimTime = SimTime(0);
    /// A time later than any other.
    pub const MAX: SimTime = SimTime(u64::MAX);

    /// A time `secs` seconds after the start (negative and NaN clamp to zero).
    pub fn from_secs_f64(secs: f64) -> SimTime {
        SimTime((secs.max(0.0) * 1e9).round() as u64)
    }

    /// A time `d` after the start.
    pub fn from_duration(d: Duration) -> SimTime {
        SimTime(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
    }

    /// Seconds since the start.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }

    /// Seconds from `earlier` to `self` (zero if `earlier` is later).
    pub fn secs_since(self, earlier: SimTime) -> f64 {
        self.0.saturating_sub(earlier.0) as f64 / 1e9
    }
}

impl Add<Duration> for SimTime {
    type Output = SimTime;
    fn add(self, d: Duration) -> SimTime {
        SimTime(
            self.0
                .saturating_add(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)),
        )
    }
}

impl Sub for SimTime {
    type Output = Duration;
    fn sub(self, rhs: SimTime) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(rhs.0))
    }
}

impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.3}s", self.as_secs_f64())
    }
}

/// A source of simulated time.
pub trait Clock: Send + Sync {
    /// The simulated time now.
    fn now(&self) -> SimTime;
    /// Unix time (seconds) at which simulated time zero happened; used where vLLM
    /// reports wall-clock timestamps.
    fn epoch_unix_secs(&self) -> f64;
    /// How long, in wall time, until the clock reads `t` (zero if it has); `None` for a
    /// clock that moves only when told to.
    fn wall_time_until(&self, t: SimTime) -> Option<Duration>;
}

/// Simulated time that follows the wall clock, `speed` times faster.
#[derive(Debug)]
pub struct WallClock {
    start: Instant,
    /// Wall time between time zero and `start`.
    past: Duration,
    epoch: f64,
    speed: f64,
}

impl WallClock {
    /// A clock starting now, running `speed` simulated seconds per wall second.
    pub fn start(speed: f64) -> WallClock {
        WallClock::started_ago(Duration::ZERO, speed)
    }

    /// A clock whose time zero was `past` ago (wall time): it reads `past × speed`
    /// now, and runs `speed` simulated seconds per wall second from here.
    pub fn started_ago(past: Duration, speed: f64) -> WallClock {
        let epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        WallClock {
            start: Instant::now(),
            past,
            epoch: epoch - past.as_secs_f64(),
            speed,
        }
    }
}

impl Clock for WallClock {
    fn now(&self) -> SimTime {
        SimTime::from_secs_f64((self.past + self.start.elapsed()).as_secs_f64() * self.speed)
    }
    fn epoch_unix_secs(&self) -> f64 {
        self.epoch
    }
    fn wall_time_until(&self, t: SimTime) -> Option<Duration> {
        let ahead = t.secs_since(self.now()) / self.speed;
        Some(Duration::try_from_secs_f64(ahead).unwrap_or(Duration::MAX))
    }
}

/// Simulated time that moves only when told to.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<SimTime>,
    epoch: f64,
}

impl ManualClock {
    /// A clock at time zero whose zero is the given Unix time.
    pub fn new(epoch_unix_secs: f64) -> ManualClock {
        ManualClock {
            now: Mutex::new(SimTime::ZERO),
            epoch: epoch_unix_secs,
        }
    }

    /// Moves the clock forward by `d`.
    pub fn advance(&self, d: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        *now = *now + d;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SimTime {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }
    fn epoch_unix_secs(&self) -> f64 {
        self.epoch
    }
    fn wall_time_until(&self, _: SimTime) -> Option<Duration> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wall_clocks_say_how_long_until_a_simulated_time() {
        let clock = WallClock::start(1000.0);
        let wait = clock
            .wall_time_until(clock.now() + Duration::from_secs(2))
            .unwrap();
        assert!(
            wait <= Duration::from_millis(2) && wait > Duration::ZERO,
            "{wait:?}"
        );
        assert_eq!(clock.wall_time_until(SimTime::ZERO), Some(Duration::ZERO));
        assert_eq!(ManualClock::new(0.0).wall_time_until(SimTime::MAX), None);
    }

    #[test]
    fn a_clock_started_in_the_past_reads_that_past_now() {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        let clock = WallClock::started_ago(Duration::from_secs(3600), 1.0);
        let now = clock.now().as_secs_f64();
        assert!((3600.0..3601.0).contains(&now), "{now}");
        let epoch = clock.epoch_unix_secs();
        assert!((wall - 3601.0..=wall - 3599.0).contains(&epoch), "{epoch}");
        assert_eq!(
            WallClock::started_ago(Duration::from_secs(10), 2.0)
                .now()
                .as_secs_f64()
                .floor(),
            20.0
        );
    }
}
