//! Rate limit buckets (see [`crate::tokens`]), in memory: one process owns the store,
//! so every taker is in this process, and a restart starts them full.

use super::Store;
use crate::tokens::{Bucket, TokenRate, Tokens};

impl Store {
    /// Takes up to `want` tokens from the bucket named `bucket`, created full at first
    /// use (or when `rate.tag` changes).
    pub fn take_tokens(&self, bucket: &str, rate: TokenRate, want: u32) -> Tokens {
        let now = self.now();
        let mut buckets = self.shared.lock_buckets();
        match buckets.get_mut(bucket) {
            Some(b) => b.take(&rate, now, want),
            None => {
                let mut b = Bucket::full(&rate, now);
                let tokens = b.take(&rate, now, want);
                buckets.insert(bucket.to_owned(), b);
                tokens
            }
        }
    }

    /// Gives back `n` tokens taken from `bucket` and not used.
    pub fn return_tokens(&self, bucket: &str, n: u32) {
        if let Some(b) = self.shared.lock_buckets().get_mut(bucket) {
            b.give_back(n);
        }
    }
}
