//! Where requests come from: open-loop Poisson arrivals or a closed loop of users,
//! with prompt and output lengths drawn from log-normal distributions.
//!
//! Every draw comes from one seeded ChaCha8 stream, so a seed replays a run exactly.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;
use rand_distr::{Distribution, Exp, LogNormal};

use crate::clock::SimTime;

/// z-score of the 90th percentile of a standard normal.
const Z_P90: f64 = 1.281_551_565_545;

/// A token-length distribution: log-normal with the given median and 90th percentile.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LengthDist {
    /// Half the draws fall below this.
    pub median: f64,
    /// Nine in ten draws fall below this; equal to `median` for a fixed length.
    pub p90: f64,
}

impl LengthDist {
    /// Draws one length, at least 1.
    pub fn sample(&self, rng: &mut ChaCha8Rng) -> u32 {
        let sigma = (self.p90 / self.median).ln() / Z_P90;
        let value = match LogNormal::new(self.median.ln(), sigma) {
            Ok(d) if sigma > 0.0 => d.sample(rng),
            _ => self.median,
        };
        value.round().clamp(1.0, f64::from(u32::MAX)) as u32
    }
}

/// What the requests of one pod look like.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkloadConfig {
    /// Prompt lengths.
    pub prompt_tokens: LengthDist,
    /// Natural output lengths (where the model would stop by itself).
    pub output_tokens: LengthDist,
    /// The `max_tokens` every request asks for.
    pub max_tokens: u32,
    /// Tokens at the start of every prompt that are the same for all requests (a
    /// system prompt or template), which a prefix cache can serve.
    pub shared_prefix_tokens: u32,
}

/// How requests arrive during a phase.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub enum Traffic {
    /// No requests.
    #[default]
    Idle,
    /// Open loop: Poisson arrivals at `rate` requests per second.
    Poisson {
        /// Mean arrivals per second.
        rate: f64,
    },
    /// Closed loop: `concurrency` users, each sending its next request `think_time`
    /// after the previous one finished, as a benchmark harness does.
    ClosedLoop {
        /// Users.
        concurrency: u32,
        /// Pause between a response and the next request.
        think_time: Duration,
    },
}

impl Traffic {
    /// The highest open-loop rate a pod takes, requests/s: hundreds of times what one
    /// GPU serves, so any overload can be modelled, yet bounded.
    pub const MAX_RATE: f64 = 10_000.0;
    /// The most closed-loop users a pod takes.
    pub const MAX_USERS: u32 = 100_000;
}

/// A request as it reaches the pod.
#[derive(Clone, Debug, PartialEq)]
pub struct Arrival {
    /// When it arrives.
    pub at: SimTime,
    /// Prompt tokens.
    pub prompt_tokens: u32,
    /// Tokens the model would generate before stopping by itself.
    pub natural_output_tokens: u32,
    /// The request's `max_tokens`.
    pub max_tokens: u32,
    /// Whether a closed-loop user sent it (and waits for it to finish).
    pub from_user: bool,
    /// The id of a request sent by an API client, whose tokens are reported.
    pub client: Option<u64>,
    /// The API request it is one of the sequences of, when its `n` > 1.
    pub parent: Option<super::Parent>,
}

/// The arrival process of one pod.
#[derive(Debug)]
pub struct Workload {
    config: WorkloadConfig,
    traffic: Traffic,
    rng: ChaCha8Rng,
    /// The next Poisson arrival.
    next_poisson: Option<SimTime>,
    /// Closed-loop users ready to send, by time.
    users_due: BinaryHeap<Reverse<SimTime>>,
    /// Closed-loop users with a request in flight.
    users_busy: u32,
    /// Users to retire as their requests finish (the loop shrank).
    users_retiring: u32,
}

impl Workload {
    /// An idle workload drawing from `seed`.
    pub fn new(config: WorkloadConfig, seed: u64) -> Workload {
        Workload {
            config,
            traffic: Traffic::Idle,
            rng: ChaCha8Rng::seed_from_u64(seed),
            next_poisson: None,
            users_due: BinaryHeap::new(),
            users_busy: 0,
            users_retiring: 0,
        }
    }

    /// Switches to `traffic` at `now`.
    pub fn set_traffic(&mut self, traffic: Traffic, now: SimTime) {
        if traffic == self.traffic {
            return;
        }
        self.traffic = traffic;
        self.next_poisson = None;
        if let Traffic::Poisson { rate } = traffic {
            self.next_poisson = Some(now + self.exp_gap(rate));
        }
        let target = match traffic {
            Traffic::ClosedLoop { concurrency, .. } => concurrency,
            _ => 0,
        };
        let mut alive = self.users_due.len() as u32 + self.users_busy - self.users_retiring;
        while alive > target && self.users_due.pop().is_some() {
            alive -= 1;
        }
        if alive > target {
            self.users_retiring += alive - target;
        } else {
            let mut missing = target - alive;
            let revived = missing.min(self.users_retiring);
            self.users_retiring -= revived;
            missing -= revived;
            for _ in 0..missing {
                self.users_due.push(Reverse(now));
            }
        }
    }

    /// When the next request arrives, if any is coming.
    pub fn next_arrival(&self) -> Option<SimTime> {
        let user = self.users_due.peek().map(|r| r.0);
        match (self.next_poisson, user) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The next request arriving at or before `now`.
    pub fn pop_due(&mut self, now: SimTime) -> Option<Arrival> {
        let at = self.next_arrival().filter(|&t| t <= now)?;
        let from_user = self.users_due.peek().is_some_and(|r| r.0 == at);
        if from_user {
            self.users_due.pop();
            self.users_busy += 1;
        } else if let Traffic::Poisson { rate } = self.traffic {
            self.next_poisson = Some(at + self.exp_gap(rate));
        }
        Some(Arrival {
            at,
            prompt_tokens: self.config.prompt_tokens.sample(&mut self.rng),
            natural_output_tokens: self.config.output_tokens.sample(&mut self.rng),
            max_tokens: self.config.max_tokens,
            from_user,
            client: None,
            parent: None,
        })
    }

    /// A closed-loop user's request finished at `at`: the user thinks, then sends again.
    pub fn user_request_finished(&mut self, at: SimTime) {
        self.users_busy = self.users_busy.saturating_sub(1);
        if self.users_retiring > 0 {
            self.users_retiring -= 1;
        } else if let Traffic::ClosedLoop { think_time, .. } = self.traffic {
            self.users_due.push(Reverse(at + think_time));
        }
    }

    fn exp_gap(&mut self, rate: f64) -> Duration {
        let gap = Exp::new(rate).map_or(f64::INFINITY, |d| d.sample(&mut self.rng));
        Duration::try_from_secs_f64(gap).unwrap_or(Duration::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> WorkloadConfig {
        let d = LengthDist {
            median: 100.0,
            p90: 200.0,
        };
        WorkloadConfig {
            prompt_tokens: d,
            output_tokens: d,
            max_tokens: 256,
            shared_prefix_tokens: 0,
        }
    }

    #[test]
    fn lengths_follow_median_and_p90() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let d = LengthDist {
            median: 100.0,
            p90: 300.0,
        };
        let mut v: Vec<u32> = (0..20_000).map(|_| d.sample(&mut rng)).collect();
        v.sort_unstable();
        assert!((95..=105).contains(&v[10_000]), "median {}", v[10_000]);
        assert!((280..=320).contains(&v[18_000]), "p90 {}", v[18_000]);
        let fixed = LengthDist {
            median: 64.0,
            p90: 64.0,
        };
        assert_eq!(fixed.sample(&mut rng), 64);
    }

    #[test]
    fn poisson_rate_is_respected() {
        let mut w = Workload::new(config(), 1);
        w.set_traffic(Traffic::Poisson { rate: 4.0 }, SimTime::ZERO);
        let end = SimTime::from_secs_f64(1000.0);
        let mut n = 0;
        while w.pop_due(end).is_some() {
            n += 1;
        }
        assert!((3800..4200).contains(&n), "{n} arrivals in 1000 s");
    }

    #[test]
    fn closed_loop_keeps_concurrency() {
        let mut w = Workload::new(config(), 1);
        let think = Duration::from_secs(1);
        w.set_traffic(
            Traffic::ClosedLoop {
                concurrency: 3,
                think_time: think,
            },
            SimTime::ZERO,
        );
        let now = SimTime::ZERO;
        assert_eq!(std::iter::from_fn(|| w.pop_due(now)).count(), 3);
        assert_eq!(w.next_arrival(), None);
        w.user_request_finished(SimTime::from_secs_f64(2.0));
        assert_eq!(w.next_arrival(), Some(SimTime::from_secs_f64(3.0)));
        // Shrinking to one user drops the thinking one and retires a busy one.
        w.set_traffic(
            Traffic::ClosedLoop {
                concurrency: 1,
                think_time: think,
            },
            now,
        );
        assert_eq!(w.next_arrival(), None);
        w.user_request_finished(SimTime::from_secs_f64(4.0));
        w.user_request_finished(SimTime::from_secs_f64(4.0));
        assert_eq!(w.users_due.len(), 1);
        assert!(w.pop_due(SimTime::MAX).is_some());
        w.user_request_finished(SimTime::from_secs_f64(5.0));
        assert_eq!(w.next_arrival(), Some(SimTime::from_secs_f64(6.0)));
    }
}
