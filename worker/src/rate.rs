//! The steady rate limit: a token bucket on tokio time.
//!
//! A downstream that must not be flooded (the media server the product was built for
//! wanted deliveries spaced out) gets at most `per_second` job starts per second, with
//! `burst` back to back after a quiet spell. It is separate from the breaker's recovery
//! ramp and the worker applies both: the lower allowance wins.

use std::time::Duration;

pub use tenax_policies::RateLimit;
use tokio::time::Instant;

/// Tokens for job starts under a [`RateLimit`].
#[derive(Debug)]
pub(crate) struct RateBucket {
    tokens: f64,
    refilled_at: Option<Instant>,
    /// The limit the tokens were counted under; a new limit starts a full bucket.
    limit: Option<RateLimit>,
}

impl RateBucket {
    pub(crate) fn new() -> Self {
        RateBucket {
            tokens: 0.0,
            refilled_at: None,
            limit: None,
        }
    }

    /// How many starts `limit` allows now: `None` without a limit; `Some((n, wait))`
    /// with at most `n`, and when `n` is 0 the next token comes after `wait`.
    pub(crate) fn allowance(&mut self, limit: Option<RateLimit>) -> Option<(u32, Duration)> {
        let Some(limit) = limit else {
            self.limit = None;
            return None;
        };
        let now = Instant::now();
        let burst = f64::from(limit.burst.max(1));
        if self.limit != Some(limit) {
            self.limit = Some(limit);
            self.tokens = burst;
            self.refilled_at = Some(now);
        }
        let last = self.refilled_at.unwrap_or(now);
        let elapsed = now.duration_since(last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * limit.per_second).min(burst);
        self.refilled_at = Some(now);
        let whole = self.tokens.floor();
        if whole >= 1.0 {
            return Some((whole as u32, Duration::ZERO));
        }
        let missing = 1.0 - self.tokens;
        // Round up to the store clock's millisecond so the wait never ends a hair early.
        let wait = Duration::from_millis((missing / limit.per_second * 1000.0).ceil() as u64);
        Some((0, wait))
    }

    /// Spends `n` tokens for `n` started jobs.
    pub(crate) fn spend(&mut self, n: u32) {
        self.tokens = (self.tokens - f64::from(n)).max(0.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn five_per_second(burst: u32) -> Option<RateLimit> {
        Some(RateLimit {
            per_second: 5.0,
            burst,
        })
    }

    /// Starts as many jobs as allowed until `n` have started, sleeping on tokio time
    /// when none is; returns how long that took.
    async fn start(bucket: &mut RateBucket, limit: Option<RateLimit>, n: u32) -> Duration {
        let began = Instant::now();
        let mut started = 0;
        while started < n {
            match bucket.allowance(limit) {
                None => return began.elapsed(),
                Some((0, wait)) => tokio::time::sleep(wait).await,
                Some((k, _)) => {
                    let k = k.min(n - started);
                    bucket.spend(k);
                    started += k;
                }
            }
        }
        began.elapsed()
    }

    #[tokio::test(start_paused = true)]
    async fn eleven_jobs_at_five_per_second_with_burst_one_take_two_seconds() {
        let mut bucket = RateBucket::new();
        let took = start(&mut bucket, five_per_second(1), 11).await;
        // The first starts at once, then one every 200 ms.
        assert!(
            took >= Duration::from_millis(2000) && took < Duration::from_millis(2050),
            "{took:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_quiet_spell_allows_the_burst_and_no_more() {
        let mut bucket = RateBucket::new();
        start(&mut bucket, five_per_second(3), 3).await;
        assert_eq!(bucket.allowance(five_per_second(3)).map(|a| a.0), Some(0));
        tokio::time::advance(Duration::from_secs(60)).await;
        assert_eq!(
            bucket.allowance(five_per_second(3)),
            Some((3, Duration::ZERO))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_wait_is_until_the_next_token() {
        let mut bucket = RateBucket::new();
        bucket.allowance(five_per_second(1));
        bucket.spend(1);
        assert_eq!(
            bucket.allowance(five_per_second(1)),
            Some((0, Duration::from_millis(200)))
        );
        tokio::time::advance(Duration::from_millis(200)).await;
        assert_eq!(
            bucket.allowance(five_per_second(1)),
            Some((1, Duration::ZERO))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn no_limit_allows_everything_and_a_new_limit_starts_full() {
        let mut bucket = RateBucket::new();
        assert_eq!(bucket.allowance(None), None);
        start(&mut bucket, five_per_second(1), 1).await;
        let faster = Some(RateLimit {
            per_second: 50.0,
            burst: 4,
        });
        assert_eq!(bucket.allowance(faster), Some((4, Duration::ZERO)));
    }
}
