//! The steady rate limit: at most `per_second` job starts per second, with `burst` back
//! to back after a quiet spell.
//!
//! A downstream that must not be flooded (the media server the product was built for
//! wanted deliveries spaced out) gets a steady limit, from the policy script or set at
//! run time. It is separate from the breaker's recovery ramp and the worker applies
//! both: the lower allowance wins. The tokens live in a bucket in the store
//! ([`JobStore::take_tokens`](tenax_core::JobStore::take_tokens)), so the limit holds in
//! total across every process serving the queue; a new limit starts a full bucket.

use tenax_core::TokenRate;
pub use tenax_policies::RateLimit;

/// The bucket rate of `limit`. Its tag names the limit, so a changed limit starts a
/// full bucket; it is computed the same way by every build, so processes of different
/// releases agree on it.
pub(crate) fn token_rate(limit: RateLimit) -> TokenRate {
    let tag = limit
        .per_second
        .to_bits()
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ u64::from(limit.burst);
    TokenRate {
        per_second: limit.per_second,
        capacity: f64::from(limit.burst.max(1)),
        tag,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_names_its_bucket_and_sets_its_capacity() {
        let five = RateLimit {
            per_second: 5.0,
            burst: 3,
        };
        let rate = token_rate(five);
        assert_eq!((rate.per_second, rate.capacity), (5.0, 3.0));
        assert_eq!(rate.tag, token_rate(five).tag);
        let other = RateLimit {
            per_second: 5.0,
            burst: 4,
        };
        assert_ne!(rate.tag, token_rate(other).tag);
    }
}
