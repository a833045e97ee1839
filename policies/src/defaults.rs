//! The Rust defaults and the bounds of every policy value, side by side.
//!
//! This is the one table a script is checked against: a key a script leaves out takes
//! the default here, a value it gives must lie within the bounds here (inclusive), and
//! `tenax policy check` prints both. The numbers follow the product brief.

use std::{fmt, time::Duration};

use crate::{BreakerSettings, ClassPolicy, ErrorClass, duration};

/// The inclusive range a value must lie in, with the key it applies to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bounds<T> {
    /// The script key (`base`, `failure_threshold`, ...).
    pub key: &'static str,
    /// Smallest accepted value.
    pub min: T,
    /// Largest accepted value.
    pub max: T,
}

impl<T: PartialOrd + Copy> Bounds<T> {
    /// Whether `value` lies within the bounds.
    pub fn contains(&self, value: T) -> bool {
        self.min <= value && value <= self.max
    }
}

impl fmt::Display for Bounds<Duration> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "[{}, {}]",
            duration::format(self.min),
            duration::format(self.max)
        )
    }
}

impl fmt::Display for Bounds<u32> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}, {}]", self.min, self.max)
    }
}

impl fmt::Display for Bounds<f64> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}, {}]", self.min, self.max)
    }
}

const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

const fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

const DAY: Duration = secs(86_400);

// ---------------------------------------------------------------------------------------
// Classes

/// `transient`: 5 s doubling to 80 s, 5 retries (so "5, 10, 20, 40, 80 s, then dead"),
/// counts toward the breaker.
pub const TRANSIENT: ClassPolicy = ClassPolicy {
    base: secs(5),
    cap: secs(80),
    max_retries: 5,
    jitter: 0.5,
    counts_toward_breaker: true,
};

/// `not_found`: 30 s doubling to 10 min, 12 retries; the downstream has not indexed the
/// item yet, which says nothing about its health, so it does not count toward the breaker.
pub const NOT_FOUND: ClassPolicy = ClassPolicy {
    base: secs(30),
    cap: secs(600),
    max_retries: 12,
    jitter: 0.5,
    counts_toward_breaker: false,
};

/// `unavailable`: 30 s doubling to 5 min, 999 retries, counts toward the breaker (which
/// stops claims during an outage, so these retries are rarely burned).
pub const UNAVAILABLE: ClassPolicy = ClassPolicy {
    base: secs(30),
    cap: secs(300),
    max_retries: 999,
    jitter: 0.5,
    counts_toward_breaker: true,
};

/// `permanent`: never retried. Base and cap are unused with 0 retries; they are the
/// `transient` values so a script that raises `max_retries` alone gets a sane schedule.
pub const PERMANENT: ClassPolicy = ClassPolicy {
    base: secs(5),
    cap: secs(80),
    max_retries: 0,
    jitter: 0.5,
    counts_toward_breaker: false,
};

/// A class a script declares beyond the four built-ins starts from these values for
/// every key it leaves out (the `transient` defaults).
pub const CUSTOM_CLASS: ClassPolicy = TRANSIENT;

/// First retry delay: 10 ms to 1 day.
pub const BASE: Bounds<Duration> = Bounds {
    key: "base",
    min: ms(10),
    max: DAY,
};

/// Longest retry delay: 10 ms to 7 days, and never below `base`.
pub const CAP: Bounds<Duration> = Bounds {
    key: "cap",
    min: ms(10),
    max: secs(7 * 86_400),
};

/// Retries after the first attempt: 0 (never retry) to 100,000.
pub const MAX_RETRIES: Bounds<u32> = Bounds {
    key: "max_retries",
    min: 0,
    max: 100_000,
};

/// Share of the delay that jitter may take away: 0 (none) to 1 (anything down to zero).
pub const JITTER: Bounds<f64> = Bounds {
    key: "jitter",
    min: 0.0,
    max: 1.0,
};

/// Most classes a policy may declare, built-ins included.
pub const MAX_CLASSES: usize = 64;

/// The class whose settings apply to a failure of a class the policy does not declare.
pub const FALLBACK_CLASS: ErrorClass = ErrorClass::TRANSIENT;

// ---------------------------------------------------------------------------------------
// Breaker

/// 5 consecutive counted failures open the breaker; after 60 s it lets exactly one probe
/// through; one success closes it. No ramp.
pub const BREAKER: BreakerSettings = BreakerSettings {
    failure_threshold: 5,
    recovery_timeout: secs(60),
    half_open_probes: 1,
    successes_to_close: 1,
    ramp: None,
};

/// Consecutive counted failures that open the breaker: 1 to 10,000.
pub const FAILURE_THRESHOLD: Bounds<u32> = Bounds {
    key: "failure_threshold",
    min: 1,
    max: 10_000,
};

/// Time the breaker stays open before probing: 1 s to 1 day.
pub const RECOVERY_TIMEOUT: Bounds<Duration> = Bounds {
    key: "recovery_timeout",
    min: secs(1),
    max: DAY,
};

/// Probe jobs admitted at a time while half-open: 1 to 100.
pub const HALF_OPEN_PROBES: Bounds<u32> = Bounds {
    key: "half_open_probes",
    min: 1,
    max: 100,
};

/// Successful probes needed to close the breaker: 1 to 100.
pub const SUCCESSES_TO_CLOSE: Bounds<u32> = Bounds {
    key: "successes_to_close",
    min: 1,
    max: 100,
};

/// Ramp rates in jobs per second: 0.01 to 1,000,000 (and the end rate at least the start).
pub const RAMP_RATE: Bounds<f64> = Bounds {
    key: "start_rate_per_sec",
    min: 0.01,
    max: 1_000_000.0,
};

/// How long the ramp lasts: 1 s to 1 day.
pub const RAMP_DURATION: Bounds<Duration> = Bounds {
    key: "duration",
    min: secs(1),
    max: DAY,
};

// ---------------------------------------------------------------------------------------
// Rate limit

/// A steady rate limit's jobs per second: 0.01 to 1,000,000. Default: no limit.
pub const RATE_PER_SECOND: Bounds<f64> = Bounds {
    key: "per_second",
    min: 0.01,
    max: 1_000_000.0,
};

/// A steady rate limit's burst: 1 to 100,000 jobs. Default when a limit is set: 1.
pub const RATE_BURST: Bounds<u32> = Bounds {
    key: "burst",
    min: 1,
    max: 100_000,
};

/// The burst of a rate limit that names only `per_second`.
pub const DEFAULT_RATE_BURST: u32 = 1;

// ---------------------------------------------------------------------------------------
// Decisions

/// The longest `Retry-After` hint honoured: a downstream asking for more is waited on for
/// this long and then tried again (the retry still counts).
pub const RETRY_AFTER_MAX: Duration = secs(3_600);

/// What a script's `delay` function may return: 0 to 7 days.
pub const SCRIPT_DELAY: Bounds<Duration> = Bounds {
    key: "delay",
    min: Duration::ZERO,
    max: secs(7 * 86_400),
};
