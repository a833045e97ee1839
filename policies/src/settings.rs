//! The plain-data settings a policy is made of, and the range checks on each.

use std::time::Duration;

use serde::Serialize;

use crate::{defaults, duration};

/// How one error class is retried.
///
/// Retry `n` (n = 1, 2, ...) waits `min(cap, base * 2^(n-1))`, minus up to `jitter` of
/// it at random; retries stop after `max_retries` (retries after the first attempt, so
/// a job runs at most `max_retries + 1` times).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ClassPolicy {
    /// Delay before the first retry. Bounds: [`defaults::BASE`].
    #[serde(serialize_with = "duration::serialize")]
    pub base: Duration,
    /// Longest delay. Bounds: [`defaults::CAP`], and at least `base`.
    #[serde(serialize_with = "duration::serialize")]
    pub cap: Duration,
    /// Retries after the first attempt; 0 buries at the first failure.
    /// Bounds: [`defaults::MAX_RETRIES`].
    pub max_retries: u32,
    /// Share of each delay that may be taken away at random, so that jobs which failed
    /// together do not all retry together. Bounds: [`defaults::JITTER`].
    pub jitter: f64,
    /// Whether a failure of this class counts toward opening the circuit breaker.
    /// Called `breaker` in scripts.
    #[serde(rename = "breaker")]
    pub counts_toward_breaker: bool,
}

/// When the circuit breaker opens, probes and closes again.
///
/// The breaker itself lives in the worker; this is only its configuration.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BreakerSettings {
    /// Consecutive counted failures that open the breaker.
    /// Bounds: [`defaults::FAILURE_THRESHOLD`].
    pub failure_threshold: u32,
    /// How long the breaker stays open before it lets probes through.
    /// Bounds: [`defaults::RECOVERY_TIMEOUT`].
    #[serde(serialize_with = "duration::serialize")]
    pub recovery_timeout: Duration,
    /// Probe jobs admitted at a time while half-open. Bounds: [`defaults::HALF_OPEN_PROBES`].
    pub half_open_probes: u32,
    /// Successful probes that close the breaker. Bounds: [`defaults::SUCCESSES_TO_CLOSE`].
    pub successes_to_close: u32,
    /// After the breaker closes, limit the drain rate for a while so a recovering
    /// downstream is not flooded. `None`: drain at full speed.
    pub ramp: Option<RecoveryRamp>,
}

/// A steady limit on how many jobs of a queue start per second, whatever the breaker
/// says: a token bucket refilled at `per_second`, holding at most `burst` tokens.
/// Called `rate_limit` in scripts (`#{ per_second: 5.0, burst: 1 }`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
pub struct RateLimit {
    /// Jobs started per second, on average. Bounds: [`defaults::RATE_PER_SECOND`].
    pub per_second: f64,
    /// Jobs that may start back to back after a quiet spell. Bounds: [`defaults::RATE_BURST`].
    pub burst: u32,
}

impl RateLimit {
    /// Checks both values against [`crate::defaults`], as a script's are checked.
    ///
    /// # Errors
    /// [`crate::PolicyError::InvalidValue`] naming the value and its bounds.
    pub fn validate(&self) -> crate::Result<()> {
        self.check().map_err(|p| crate::PolicyError::InvalidValue {
            at: crate::Location::whole("rate_limit"),
            key: format!("rate_limit.{}", p.key),
            message: p.message,
        })
    }

    pub(crate) fn check(&self) -> Result<(), Problem> {
        check_ratio(&defaults::RATE_PER_SECOND, "per_second", self.per_second)?;
        check_count(&defaults::RATE_BURST, self.burst)
    }
}

/// A linear rise of the allowed job rate after recovery, e.g. 5 to 20 jobs/s over 5 minutes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RecoveryRamp {
    /// Jobs per second right after the breaker closes. Bounds: [`defaults::RAMP_RATE`].
    pub start_rate_per_sec: f64,
    /// Jobs per second at the end of the ramp; at least the start rate.
    /// Bounds: [`defaults::RAMP_RATE`].
    pub end_rate_per_sec: f64,
    /// How long the ramp lasts; afterwards the rate is unlimited.
    /// Bounds: [`defaults::RAMP_DURATION`].
    #[serde(serialize_with = "duration::serialize")]
    pub duration: Duration,
}

impl RecoveryRamp {
    /// The allowed rate `elapsed` after the breaker closed, or `None` once the ramp is over.
    pub fn rate_at(&self, elapsed: Duration) -> Option<f64> {
        if elapsed >= self.duration {
            return None;
        }
        let progress = elapsed.as_secs_f64() / self.duration.as_secs_f64();
        Some(self.start_rate_per_sec + (self.end_rate_per_sec - self.start_rate_per_sec) * progress)
    }
}

/// A value that failed its range check: the key (relative to its section) and why.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Problem {
    pub(crate) key: String,
    pub(crate) message: String,
}

impl Problem {
    pub(crate) fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            key: key.into(),
            message: message.into(),
        }
    }

    /// The same problem one section further out: `base` becomes `classes.transient.base`.
    pub(crate) fn within(mut self, section: &str) -> Self {
        self.key = format!("{section}.{}", self.key);
        self
    }
}

pub(crate) fn check_duration(
    bounds: &defaults::Bounds<Duration>,
    value: Duration,
) -> Result<(), Problem> {
    if bounds.contains(value) {
        return Ok(());
    }
    Err(Problem::new(
        bounds.key,
        format!("{} is outside the bounds {bounds}", duration::format(value)),
    ))
}

pub(crate) fn check_count(bounds: &defaults::Bounds<u32>, value: u32) -> Result<(), Problem> {
    if bounds.contains(value) {
        return Ok(());
    }
    Err(Problem::new(
        bounds.key,
        format!("{value} is outside the bounds {bounds}"),
    ))
}

pub(crate) fn check_ratio(
    bounds: &defaults::Bounds<f64>,
    key: &'static str,
    value: f64,
) -> Result<(), Problem> {
    if value.is_finite() && bounds.contains(value) {
        return Ok(());
    }
    Err(Problem::new(
        key,
        format!("{value} is outside the bounds {bounds}"),
    ))
}

impl ClassPolicy {
    pub(crate) fn check(&self) -> Result<(), Problem> {
        check_duration(&defaults::BASE, self.base)?;
        check_duration(&defaults::CAP, self.cap)?;
        if self.cap < self.base {
            return Err(Problem::new(
                "cap",
                format!(
                    "cap {} is below base {}; the cap must be at least the base delay",
                    duration::format(self.cap),
                    duration::format(self.base)
                ),
            ));
        }
        check_count(&defaults::MAX_RETRIES, self.max_retries)?;
        check_ratio(&defaults::JITTER, "jitter", self.jitter)
    }
}

impl BreakerSettings {
    pub(crate) fn check(&self) -> Result<(), Problem> {
        check_count(&defaults::FAILURE_THRESHOLD, self.failure_threshold)?;
        check_duration(&defaults::RECOVERY_TIMEOUT, self.recovery_timeout)?;
        check_count(&defaults::HALF_OPEN_PROBES, self.half_open_probes)?;
        check_count(&defaults::SUCCESSES_TO_CLOSE, self.successes_to_close)?;
        if let Some(ramp) = &self.ramp {
            ramp.check().map_err(|p| p.within("ramp"))?;
        }
        Ok(())
    }
}

impl RecoveryRamp {
    fn check(&self) -> Result<(), Problem> {
        check_ratio(
            &defaults::RAMP_RATE,
            "start_rate_per_sec",
            self.start_rate_per_sec,
        )?;
        check_ratio(
            &defaults::RAMP_RATE,
            "end_rate_per_sec",
            self.end_rate_per_sec,
        )?;
        if self.end_rate_per_sec < self.start_rate_per_sec {
            return Err(Problem::new(
                "end_rate_per_sec",
                format!(
                    "the end rate {} is below the start rate {}; a ramp only rises",
                    self.end_rate_per_sec, self.start_rate_per_sec
                ),
            ));
        }
        check_duration(&defaults::RAMP_DURATION, self.duration)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn defaults_pass_their_own_bounds() {
        for class in [
            defaults::TRANSIENT,
            defaults::NOT_FOUND,
            defaults::UNAVAILABLE,
            defaults::PERMANENT,
        ] {
            class.check().unwrap();
        }
        defaults::BREAKER.check().unwrap();
    }

    #[test]
    fn cap_below_base_is_named() {
        let class = ClassPolicy {
            cap: Duration::from_secs(1),
            ..defaults::TRANSIENT
        };
        let problem = class.check().unwrap_err();
        assert_eq!(problem.key, "cap");
        assert!(
            problem.message.contains("below base"),
            "{}",
            problem.message
        );
    }

    #[test]
    fn nan_jitter_is_refused() {
        let class = ClassPolicy {
            jitter: f64::NAN,
            ..defaults::TRANSIENT
        };
        assert_eq!(class.check().unwrap_err().key, "jitter");
    }

    #[test]
    fn ramp_rises_linearly_then_ends() {
        let ramp = RecoveryRamp {
            start_rate_per_sec: 5.0,
            end_rate_per_sec: 20.0,
            duration: Duration::from_secs(300),
        };
        assert_eq!(ramp.rate_at(Duration::ZERO), Some(5.0));
        assert_eq!(ramp.rate_at(Duration::from_secs(150)), Some(12.5));
        assert_eq!(ramp.rate_at(Duration::from_secs(300)), None);
    }
}
