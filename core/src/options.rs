//! Store options, each with its documented default.

use std::sync::Arc;
use std::time::Duration;

use crate::{Clock, Error, Result, SystemClock};

/// When an enqueue is acknowledged relative to the disk.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Durability {
    /// `enqueue` returns after the job is fdatasync'ed; concurrent enqueues share one
    /// sync (group commit). Survives power loss. Default.
    #[default]
    Sync,
    /// `enqueue` returns once the write reached the operating system. Survives a killed
    /// process but not a power cut inside the flush interval. For tests and bulk loads.
    Buffered,
}

/// How a store behaves. Start from `StoreOptions::default()` and adjust.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    pub(crate) durability: Durability,
    pub(crate) flush_interval: Duration,
    pub(crate) crash_limit: u32,
    pub(crate) dead_retention: Option<Duration>,
    pub(crate) max_payload_bytes: usize,
    pub(crate) cache_bytes: u64,
    pub(crate) min_free_bytes: u64,
    pub(crate) clock: Arc<dyn Clock>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            durability: Durability::Sync,
            flush_interval: Duration::from_millis(200),
            crash_limit: 3,
            dead_retention: Some(Duration::from_secs(30 * 24 * 3600)),
            max_payload_bytes: 1 << 20,
            cache_bytes: 64 << 20,
            min_free_bytes: 128 << 20,
            clock: Arc::new(SystemClock),
        }
    }
}

impl StoreOptions {
    /// Durability of enqueues. Default: [`Durability::Sync`].
    #[must_use]
    pub fn durability(mut self, d: Durability) -> Self {
        self.durability = d;
        self
    }

    /// How often claims, completions, retries and burials (which do not wait for the disk)
    /// are synced. A power cut can undo at most this window of them, which makes the
    /// affected jobs run again; it never loses one. Default: 200 ms. Range: 1 ms to 1 h.
    #[must_use]
    pub fn flush_interval(mut self, d: Duration) -> Self {
        self.flush_interval = d;
        self
    }

    /// How many times a job may be running when the process dies before it is buried as
    /// `crashed` instead of being retried (poison-pill protection). Default: 3. Range: 1+.
    #[must_use]
    pub fn crash_limit(mut self, n: u32) -> Self {
        self.crash_limit = n;
        self
    }

    /// How long dead jobs are kept before the store purges them; `None` keeps them until
    /// purged by hand. Default: 30 days.
    #[must_use]
    pub fn dead_retention(mut self, d: Option<Duration>) -> Self {
        self.dead_retention = d;
        self
    }

    /// Largest payload accepted, in bytes. Default: 1 MiB. Range: 1 B to 64 MiB.
    #[must_use]
    pub fn max_payload_bytes(mut self, n: usize) -> Self {
        self.max_payload_bytes = n;
        self
    }

    /// Block cache of the storage engine, in bytes. Default: 64 MiB, which keeps claims
    /// with a million jobs queued above half their speed at ten thousand.
    #[must_use]
    pub fn cache_bytes(mut self, n: u64) -> Self {
        self.cache_bytes = n;
        self
    }

    /// Free disk space below which enqueues are refused with
    /// [`Error::DiskFull`](crate::Error::DiskFull), so the transitions that drain the
    /// queue still have room. It should exceed what the engine may still write on its
    /// own (journal up to 64 MiB, memtable flushes up to 40 MiB, compactions); 0 turns the
    /// check off. Default: 128 MiB.
    #[must_use]
    pub fn min_free_bytes(mut self, n: u64) -> Self {
        self.min_free_bytes = n;
        self
    }

    /// The clock for every stored timestamp. Default: the system clock.
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    pub(crate) fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidOptions(m));
        if self.flush_interval < Duration::from_millis(1)
            || self.flush_interval > Duration::from_secs(3600)
        {
            return bad(format!(
                "flush_interval must be 1 ms to 1 h, got {:?}",
                self.flush_interval
            ));
        }
        if self.crash_limit == 0 {
            return bad("crash_limit must be at least 1".into());
        }
        if self.max_payload_bytes == 0 || self.max_payload_bytes > 64 << 20 {
            return bad(format!(
                "max_payload_bytes must be 1 to {}, got {}",
                64 << 20,
                self.max_payload_bytes
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_documented_values() {
        let o = StoreOptions::default();
        o.validate().expect("defaults are valid");
        assert_eq!(o.durability, Durability::Sync);
        assert_eq!(o.flush_interval, Duration::from_millis(200));
        assert_eq!(o.crash_limit, 3);
        assert_eq!(o.max_payload_bytes, 1 << 20);
    }

    #[test]
    fn out_of_range_values_are_refused() {
        assert!(StoreOptions::default().crash_limit(0).validate().is_err());
        let e = StoreOptions::default()
            .flush_interval(Duration::ZERO)
            .validate()
            .unwrap_err();
        assert!(e.to_string().contains("flush_interval"));
        assert!(
            StoreOptions::default()
                .max_payload_bytes(0)
                .validate()
                .is_err()
        );
    }
}
