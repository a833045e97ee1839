//! The random draws that spread retries out, from a seedable source.
//!
//! Jitter needs no cryptographic quality, only independence between jobs and a seed for
//! reproducible tests; SplitMix64 (Steele, Lea and Flood, 2014) is a few lines and has
//! no dependency.

use std::hash::{BuildHasher, RandomState};

/// A stream of draws in [0, 1).
#[derive(Clone, Debug)]
pub struct Jitter {
    state: u64,
}

impl Jitter {
    /// A reproducible stream.
    pub fn seeded(seed: u64) -> Self {
        Jitter { state: seed }
    }

    /// A stream seeded from the operating system's randomness (through std's hasher keys).
    pub fn from_entropy() -> Self {
        Jitter::seeded(RandomState::new().hash_one(0x7e_4a_u64))
    }

    /// The next draw, uniform in [0, 1).
    pub fn draw(&mut self) -> f64 {
        // The top 53 bits fill an f64 mantissa exactly.
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// The next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_streams_repeat_and_stay_in_range() {
        let (mut a, mut b) = (Jitter::seeded(7), Jitter::seeded(7));
        let mut sum = 0.0;
        for _ in 0..10_000 {
            let x = a.draw();
            assert_eq!(x, b.draw());
            assert!((0.0..1.0).contains(&x));
            sum += x;
        }
        let mean = sum / 10_000.0;
        assert!((0.45..0.55).contains(&mean), "mean {mean}");
        assert_ne!(Jitter::seeded(8).draw(), Jitter::seeded(7).draw());
    }
}
