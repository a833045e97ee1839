//! The recovery ramp: a token bucket whose rate rises after the breaker closes.
//!
//! A downstream that just came back is fragile; draining a backlog of thousands of jobs
//! at full speed can knock it over again. The policy's ramp (say 5 to 20 jobs/s over
//! 5 minutes) sets the rate; the bucket holds at most one second's worth of tokens, so
//! a pause does not turn into a burst.

use std::time::Duration;

use tenax_core::Timestamp;
use tenax_policies::RecoveryRamp;

/// Tokens for claims during a recovery ramp.
#[derive(Clone, Debug, PartialEq)]
pub struct Ramp {
    tokens: f64,
    refilled_at: Option<Timestamp>,
}

impl Default for Ramp {
    fn default() -> Self {
        Ramp::new()
    }
}

impl Ramp {
    /// An empty bucket: the first token comes at the ramp's start rate.
    pub fn new() -> Self {
        Ramp {
            tokens: 1.0,
            refilled_at: None,
        }
    }

    /// How many claims are allowed at `now`, `closed_at` being when the breaker closed.
    /// `None`: no limit (no ramp configured, never opened, or the ramp is over).
    /// `Some((n, wait))`: at most `n`; when `n` is 0, the next token comes after `wait`.
    pub fn allowance(
        &mut self,
        ramp: Option<&RecoveryRamp>,
        closed_at: Option<Timestamp>,
        now: Timestamp,
    ) -> Option<(u32, Duration)> {
        let (ramp, closed_at) = (ramp?, closed_at?);
        let rate = ramp.rate_at(now.since(closed_at))?;
        let last = self.refilled_at.unwrap_or(now);
        let elapsed = now.since(last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate).min(rate.max(1.0));
        self.refilled_at = Some(now);
        let whole = self.tokens.floor();
        if whole >= 1.0 {
            return Some((whole as u32, Duration::ZERO));
        }
        let missing = 1.0 - self.tokens;
        // Round up to the store clock's millisecond so the wait never ends a hair early.
        let wait = Duration::from_millis((missing / rate * 1000.0).ceil() as u64);
        Some((0, wait))
    }

    /// Spends `n` tokens for `n` claimed jobs.
    pub fn spend(&mut self, n: u32) {
        self.tokens = (self.tokens - f64::from(n)).max(0.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp() -> RecoveryRamp {
        RecoveryRamp {
            start_rate_per_sec: 5.0,
            end_rate_per_sec: 20.0,
            duration: Duration::from_secs(300),
        }
    }

    #[test]
    fn no_ramp_means_no_limit() {
        let mut bucket = Ramp::new();
        let t = Timestamp::from_millis(1_000);
        assert_eq!(bucket.allowance(None, Some(t), t), None);
        assert_eq!(bucket.allowance(Some(&ramp()), None, t), None);
    }

    #[test]
    fn rate_starts_low_and_the_limit_ends_with_the_ramp() {
        let closed = Timestamp::from_millis(1_000_000);
        let r = ramp();
        let mut bucket = Ramp::new();
        let mut now = closed;
        let mut claimed = 0u32;
        // Simulate ten seconds at the start of the ramp, claiming whatever is allowed.
        while now < closed.saturating_add(Duration::from_secs(10)) {
            let (n, wait) = bucket
                .allowance(Some(&r), Some(closed), now)
                .expect("ramping");
            if n > 0 {
                bucket.spend(n);
                claimed += n;
            } else {
                now = now.saturating_add(wait);
            }
        }
        // About 5 jobs/s (rising by 0.05/s each second) plus the initial token.
        assert!((50..=54).contains(&claimed), "claimed {claimed} in 10 s");
        let after = closed.saturating_add(Duration::from_secs(301));
        assert_eq!(bucket.allowance(Some(&r), Some(closed), after), None);
    }

    #[test]
    fn a_pause_does_not_become_a_burst() {
        let closed = Timestamp::from_millis(0);
        let mut bucket = Ramp::new();
        bucket.allowance(Some(&ramp()), Some(closed), closed);
        let later = closed.saturating_add(Duration::from_secs(60));
        let (n, _) = bucket
            .allowance(Some(&ramp()), Some(closed), later)
            .expect("ramping");
        assert!(n <= 9, "at most one second's worth at ~8 jobs/s, got {n}");
    }
}
