//! The recovery ramp: a rate limit that rises after the breaker closes.
//!
//! A downstream that just came back is fragile; draining a backlog of thousands of jobs
//! at full speed can knock it over again. The policy's ramp (say 5 to 20 jobs/s over
//! 5 minutes) sets the rate. The tokens live in a bucket in the store, so the rate holds
//! in total across every process serving the queue. The bucket holds at most one
//! second's worth of tokens, so a pause does not turn into a burst, and each recovery
//! (each close time) starts its own bucket.

use tenax_core::{Timestamp, TokenRate};
use tenax_policies::RecoveryRamp;

/// The ramp's bucket rate at `now`, `closed_at` being when the breaker closed. `None`:
/// no limit (no ramp configured, never opened, or the ramp is over).
pub fn ramp_rate(
    ramp: Option<&RecoveryRamp>,
    closed_at: Option<Timestamp>,
    now: Timestamp,
) -> Option<TokenRate> {
    let (ramp, closed_at) = (ramp?, closed_at?);
    let per_second = ramp.rate_at(now.since(closed_at))?;
    Some(TokenRate {
        per_second,
        capacity: per_second.max(1.0),
        tag: closed_at.as_millis(),
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tenax_core::Bucket;

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
        let t = Timestamp::from_millis(1_000);
        assert_eq!(ramp_rate(None, Some(t), t), None);
        assert_eq!(ramp_rate(Some(&ramp()), None, t), None);
    }

    #[test]
    fn rate_starts_low_and_the_limit_ends_with_the_ramp() {
        let closed = Timestamp::from_millis(1_000_000);
        let r = ramp();
        let first = ramp_rate(Some(&r), Some(closed), closed).expect("ramping");
        let mut bucket = Bucket::full(&first, closed);
        let mut now = closed;
        let mut claimed = 0u32;
        // Ten seconds at the start of the ramp, claiming whatever is allowed.
        while now < closed.saturating_add(Duration::from_secs(10)) {
            let rate = ramp_rate(Some(&r), Some(closed), now).expect("ramping");
            let t = bucket.take(&rate, now, 100);
            if t.granted > 0 {
                claimed += t.granted;
            } else {
                now = now.saturating_add(t.wait);
            }
        }
        // About 5 jobs/s (rising by 0.05/s each second) plus the first second's worth.
        assert!((52..=58).contains(&claimed), "claimed {claimed} in 10 s");
        let after = closed.saturating_add(Duration::from_secs(301));
        assert_eq!(ramp_rate(Some(&r), Some(closed), after), None);
    }

    #[test]
    fn each_recovery_has_its_own_bucket() {
        let a = Timestamp::from_millis(1_000);
        let b = Timestamp::from_millis(9_000);
        let first = ramp_rate(Some(&ramp()), Some(a), a).expect("ramping");
        let second = ramp_rate(Some(&ramp()), Some(b), b).expect("ramping");
        assert_ne!(first.tag, second.tag);
    }
}
