//! Token buckets that live in the store, so that a rate holds across every process
//! serving a queue.
//!
//! Why in the store and not one bucket per process with the rate split between them?
//! A split needs to know how many processes are alive, is wrong whenever one joins or
//! dies until that is noticed, and wastes the share of an idle one. A bucket in the store
//! is exact: at most the rate in total, whoever asks. It costs one store call per claim
//! round of a limited queue, which is cheap next to the rate itself. A store that one
//! process owns keeps its buckets in memory; a shared one keeps a row per bucket.
//!
//! [`Bucket`] is the arithmetic, pure and on the store's clock, for every backend.

use std::time::Duration;

use crate::Timestamp;

/// How a bucket fills, given with every call (a rate may change between calls: the
/// recovery ramp's rises over time).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TokenRate {
    /// Tokens added per second. Above zero.
    pub per_second: f64,
    /// Most tokens the bucket holds: the burst after a quiet spell. At least 1.
    pub capacity: f64,
    /// The bucket's generation: a call with another tag than the last one starts a full
    /// bucket (a new rate limit, a new recovery), the same tag keeps counting.
    pub tag: u64,
}

/// What [`JobStore::take_tokens`](crate::JobStore::take_tokens) granted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tokens {
    /// Tokens taken: at most the number asked for.
    pub granted: u32,
    /// When none was granted: how long until the next token.
    pub wait: Duration,
}

/// One bucket's state.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bucket {
    /// Tokens left, fractional.
    pub tokens: f64,
    /// When `tokens` was last brought up to date.
    pub refilled_at: Timestamp,
    /// The generation it counts for (see [`TokenRate::tag`]).
    pub tag: u64,
    /// The capacity it was last given, which caps returned tokens.
    pub capacity: f64,
}

impl Bucket {
    /// A full bucket at `now`.
    pub fn full(rate: &TokenRate, now: Timestamp) -> Self {
        Bucket {
            tokens: capacity(rate),
            refilled_at: now,
            tag: rate.tag,
            capacity: capacity(rate),
        }
    }

    /// Takes up to `want` whole tokens at `now`, refilling first at `rate`.
    pub fn take(&mut self, rate: &TokenRate, now: Timestamp, want: u32) -> Tokens {
        let cap = capacity(rate);
        if self.tag != rate.tag {
            *self = Bucket::full(rate, now);
        }
        let per_second = rate.per_second.max(0.0);
        let elapsed = now.since(self.refilled_at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * per_second).min(cap);
        self.capacity = cap;
        // The clock may step back: never move the refill time backwards.
        self.refilled_at = self.refilled_at.max(now);
        let whole = self.tokens.floor().max(0.0);
        let granted = whole.min(f64::from(want)) as u32;
        self.tokens -= f64::from(granted);
        if granted > 0 || want == 0 {
            return Tokens {
                granted,
                wait: Duration::ZERO,
            };
        }
        Tokens {
            granted: 0,
            wait: Bucket::until_next(self.tokens, per_second),
        }
    }

    /// How long a bucket holding `tokens` (less than one) takes to reach a whole token
    /// at `per_second`: rounded up to the store clock's millisecond, so the wait never
    /// ends a hair early.
    pub fn until_next(tokens: f64, per_second: f64) -> Duration {
        let missing = (1.0 - tokens).max(0.0);
        if per_second > 0.0 {
            Duration::from_millis((missing / per_second * 1000.0).ceil() as u64)
        } else {
            Duration::from_secs(1)
        }
    }

    /// Gives back `n` tokens taken and not used.
    pub fn give_back(&mut self, n: u32) {
        self.tokens = (self.tokens + f64::from(n)).min(self.capacity);
    }
}

impl TokenRate {
    /// The capacity in force: at least one token.
    pub fn effective_capacity(&self) -> f64 {
        self.capacity.max(1.0)
    }
}

fn capacity(rate: &TokenRate) -> f64 {
    rate.effective_capacity()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(per_second: f64, capacity: f64, tag: u64) -> TokenRate {
        TokenRate {
            per_second,
            capacity,
            tag,
        }
    }

    fn at(ms: u64) -> Timestamp {
        Timestamp::from_millis(ms)
    }

    #[test]
    fn a_new_bucket_is_full_then_refills_at_its_rate() {
        let r = rate(5.0, 3.0, 1);
        let mut b = Bucket::full(&r, at(0));
        assert_eq!(b.take(&r, at(0), 10).granted, 3);
        let none = b.take(&r, at(0), 10);
        assert_eq!(
            none,
            Tokens {
                granted: 0,
                wait: Duration::from_millis(200)
            }
        );
        assert_eq!(b.take(&r, at(200), 10).granted, 1);
        assert_eq!(b.take(&r, at(60_000), 10).granted, 3, "capped at capacity");
    }

    #[test]
    fn another_tag_starts_full_and_returned_tokens_are_capped() {
        let r = rate(1.0, 2.0, 1);
        let mut b = Bucket::full(&r, at(0));
        assert_eq!(b.take(&r, at(0), 2).granted, 2);
        b.give_back(5);
        assert_eq!(
            b.take(&r, at(0), 5).granted,
            2,
            "give back caps at capacity"
        );
        let faster = rate(10.0, 4.0, 2);
        assert_eq!(b.take(&faster, at(0), 9).granted, 4);
    }

    #[test]
    fn a_clock_step_back_grants_nothing_extra() {
        let r = rate(1.0, 1.0, 1);
        let mut b = Bucket::full(&r, at(10_000));
        assert_eq!(b.take(&r, at(10_000), 1).granted, 1);
        assert_eq!(b.take(&r, at(5_000), 1).granted, 0);
        assert_eq!(b.take(&r, at(10_999), 1).granted, 0);
        assert_eq!(b.take(&r, at(11_000), 1).granted, 1);
    }
}
