//! Which items of the mock misbehave: drawn once from the seed, so a run can be repeated.

use std::collections::BTreeSet;

use super::policy::FAILURE_THRESHOLD;

/// Which items misbehave, and how. Disjoint sets, drawn from the seed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Plan {
    /// Items answered with `400` on every request.
    pub(crate) bad: BTreeSet<u32>,
    /// Items answered with `404` until their scan finishes.
    pub(crate) unscanned: BTreeSet<u32>,
    /// Items answered with `503` once.
    pub(crate) busy: BTreeSet<u32>,
}

impl Plan {
    /// Picks the misbehaving items among `1..=items`: about 1 in 75 bad, 1 in 10
    /// unscanned, and up to 3 busy (fewer than the breaker's failure threshold).
    pub(crate) fn draw(items: u32, seed: u64) -> Plan {
        let mut order: Vec<u32> = (1..=items).collect();
        let mut rng = SplitMix64(seed);
        // Fisher-Yates with a seeded generator: the same seed picks the same items.
        for i in (1..order.len()).rev() {
            let j = (rng.next() % (i as u64 + 1)) as usize;
            order.swap(i, j);
        }
        let bad = items.div_ceil(75) as usize;
        let unscanned = (items / 10).max(1) as usize;
        let busy = ((items / 50).max(1) as usize).min(FAILURE_THRESHOLD - 2);
        let mut picks = order.into_iter();
        let mut take = |n: usize| picks.by_ref().take(n).collect::<BTreeSet<u32>>();
        Plan {
            bad: take(bad),
            unscanned: take(unscanned),
            busy: take(busy),
        }
    }
}

/// A tiny seeded generator (SplitMix64): reproducible picks without a dependency.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_are_reproducible_disjoint_and_stay_under_the_threshold() {
        let plan = Plan::draw(300, 7);
        assert_eq!(plan, Plan::draw(300, 7));
        assert_ne!(plan, Plan::draw(300, 8));
        assert_eq!(
            (plan.bad.len(), plan.unscanned.len(), plan.busy.len()),
            (4, 30, 3)
        );
        assert!(plan.bad.is_disjoint(&plan.unscanned));
        assert!(plan.busy.is_disjoint(&plan.unscanned));
        assert!(plan.busy.is_disjoint(&plan.bad));
        assert!(Plan::draw(60, 1).busy.len() < FAILURE_THRESHOLD);
    }
}
