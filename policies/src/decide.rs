//! The retry decision: a pure function of (policy, failure, random draw).
//!
//! No clock, no RNG, no I/O: the caller owns the random source (seedable in tests) and
//! turns the delay into a `run_at`. That keeps the schedule reproducible, and lets
//! `tenax policy check` print exactly what the worker will do.

use std::time::Duration;

use serde::Serialize;

use crate::{ClassPolicy, ErrorClass, Policy, defaults};

/// One failed attempt of a job, as the worker saw it.
#[derive(Debug, Clone, Copy)]
pub struct Failure<'a> {
    /// What kind of failure it was.
    pub class: &'a ErrorClass,
    /// Failed attempts so far, this one included (so 1 after the first failure).
    /// 0 is treated as 1.
    pub attempt: u32,
    /// A short description, for scripts and logs.
    pub message: &'a str,
    /// The HTTP status, if the failure was a response.
    pub status: Option<u16>,
    /// The downstream's `Retry-After` hint: the next try waits at least this long
    /// (at most [`defaults::RETRY_AFTER_MAX`]).
    pub retry_after: Option<Duration>,
}

impl<'a> Failure<'a> {
    /// A failure of `class` on attempt `attempt` with no message, status or hint.
    pub fn new(class: &'a ErrorClass, attempt: u32) -> Self {
        Failure {
            class,
            attempt,
            message: "",
            status: None,
            retry_after: None,
        }
    }

    /// With a message.
    pub fn message(mut self, message: &'a str) -> Self {
        self.message = message;
        self
    }

    /// With an HTTP status.
    pub fn status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    /// With a `Retry-After` hint.
    pub fn retry_after(mut self, hint: Duration) -> Self {
        self.retry_after = Some(hint);
        self
    }
}

/// What to do with a job after a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum Decision {
    /// Run it again after `delay` (the attempt counter goes up).
    Retry {
        /// How long to wait before the next try.
        delay: Duration,
    },
    /// Move it to the dead letter queue.
    Bury {
        /// Why it will not be retried.
        reason: BuryReason,
    },
}

/// Why a job is buried instead of retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BuryReason {
    /// The class allows no retries (`permanent` by default).
    NotRetryable,
    /// The job used up its retries.
    RetriesExhausted {
        /// The class's retry budget.
        max_retries: u32,
    },
    /// The script's `delay` function returned `"dead"`.
    ScriptSaidDead,
}

impl std::fmt::Display for BuryReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BuryReason::NotRetryable => f.write_str("the error class is never retried"),
            BuryReason::RetriesExhausted { max_retries } => {
                write!(f, "all {max_retries} retries are used up")
            }
            BuryReason::ScriptSaidDead => f.write_str("the policy script said dead"),
        }
    }
}

impl ClassPolicy {
    /// The delay before retry `attempt` before jitter: `min(cap, base * 2^(attempt-1))`.
    /// Saturates instead of overflowing for any attempt.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1);
        if doublings >= 64 {
            return self.cap;
        }
        // A base of at most ~2^47 ns shifted by at most 63 bits fits in u128.
        let raw = self.base.as_nanos() << doublings;
        let nanos = raw.min(self.cap.as_nanos());
        duration_from_nanos(nanos)
    }

    /// `delay` with jitter applied for a draw `u` in [0, 1): `delay * (1 - jitter * u)`.
    /// Draws outside [0, 1] are clamped, NaN counts as 0.
    pub fn jittered(&self, delay: Duration, draw: f64) -> Duration {
        let u = if draw.is_nan() {
            0.0
        } else {
            draw.clamp(0.0, 1.0)
        };
        let keep = (1.0 - self.jitter.clamp(0.0, 1.0) * u).clamp(0.0, 1.0);
        // The product is at most `delay`, so the conversion cannot overflow.
        let nanos = (delay.as_nanos() as f64 * keep).round();
        duration_from_nanos(nanos as u128)
    }
}

fn duration_from_nanos(nanos: u128) -> Duration {
    let secs = u64::try_from(nanos / 1_000_000_000).unwrap_or(u64::MAX);
    let sub = (nanos % 1_000_000_000) as u32;
    Duration::new(secs, sub)
}

impl Policy {
    /// Decides what to do after `failure`, with `draw` a uniform random number in [0, 1)
    /// from the caller's (seedable) source.
    ///
    /// Retry n (n = `failure.attempt`) is allowed while n <= `max_retries`; it waits
    /// `min(cap, base * 2^(n-1)) * (1 - jitter * draw)`, raised to the `Retry-After`
    /// hint if there is one (bounded by [`defaults::RETRY_AFTER_MAX`]). Classes the policy
    /// does not declare use the fallback class. Never allocates.
    pub fn decide(&self, failure: &Failure<'_>, draw: f64) -> Decision {
        let settings = self.effective(failure.class);
        let attempt = failure.attempt.max(1);
        if settings.max_retries == 0 {
            return Decision::Bury {
                reason: BuryReason::NotRetryable,
            };
        }
        if attempt > settings.max_retries {
            return Decision::Bury {
                reason: BuryReason::RetriesExhausted {
                    max_retries: settings.max_retries,
                },
            };
        }
        let mut delay = settings.jittered(settings.backoff(attempt), draw);
        if let Some(hint) = failure.retry_after {
            delay = delay.max(hint.min(defaults::RETRY_AFTER_MAX));
        }
        Decision::Retry { delay }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn backoff_doubles_then_caps_without_overflow() {
        let t = defaults::TRANSIENT;
        let delays: Vec<_> = (1..=6).map(|n| t.backoff(n)).collect();
        assert_eq!(delays, [S(5), S(10), S(20), S(40), S(80), S(80)]);
        for attempt in [0, 63, 64, 65, 999, 100_000, u32::MAX] {
            assert!(t.backoff(attempt) <= t.cap);
        }
        assert_eq!(t.backoff(0), S(5));
    }

    #[test]
    fn jitter_takes_away_at_most_its_share() {
        let t = defaults::TRANSIENT;
        assert_eq!(t.jittered(S(10), 0.0), S(10));
        assert_eq!(t.jittered(S(10), 0.5), Duration::from_millis(7500));
        assert_eq!(t.jittered(S(10), 1.0), S(5));
        assert_eq!(t.jittered(S(10), f64::NAN), S(10));
        assert_eq!(t.jittered(S(10), -3.0), S(10));
        assert_eq!(t.jittered(S(10), 7.0), S(5));
    }

    #[test]
    fn retry_after_raises_the_delay_within_its_bound() {
        let policy = Policy::default();
        let class = ErrorClass::TRANSIENT;
        let hint = Failure::new(&class, 1).retry_after(S(30));
        assert_eq!(policy.decide(&hint, 0.0), Decision::Retry { delay: S(30) });
        let huge = Failure::new(&class, 1).retry_after(S(86_400));
        assert_eq!(
            policy.decide(&huge, 0.0),
            Decision::Retry {
                delay: defaults::RETRY_AFTER_MAX
            }
        );
        let small = Failure::new(&class, 1).retry_after(S(1));
        assert_eq!(policy.decide(&small, 0.0), Decision::Retry { delay: S(5) });
    }

    #[test]
    fn bury_reasons_are_told_apart() {
        let policy = Policy::default();
        assert_eq!(
            policy.decide(&Failure::new(&ErrorClass::PERMANENT, 1), 0.0),
            Decision::Bury {
                reason: BuryReason::NotRetryable
            }
        );
        assert_eq!(
            policy.decide(&Failure::new(&ErrorClass::TRANSIENT, 6), 0.0),
            Decision::Bury {
                reason: BuryReason::RetriesExhausted { max_retries: 5 }
            }
        );
    }
}
