//! Store options, each with its documented default.

use std::sync::Arc;
use std::time::Duration;

use crate::{Clock, Error, SystemClock};

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
            flush_interval: Self::DEFAULT_FLUSH_INTERVAL,
            crash_limit: Self::DEFAULT_CRASH_LIMIT,
            dead_retention: Self::DEFAULT_DEAD_RETENTION,
            max_payload_bytes: Self::DEFAULT_MAX_PAYLOAD_BYTES,
            cache_bytes: Self::DEFAULT_CACHE_BYTES,
            min_free_bytes: Self::DEFAULT_MIN_FREE_BYTES,
            clock: Arc::new(SystemClock),
        }
    }
}

/// A store option out of its range: which one, and the range. [`Store::open`] reports it
/// as [`Error::InvalidOptions`]; a configuration file maps `option` to where the value
/// was written.
///
/// [`Store::open`]: crate::Store::open
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{option} {message}")]
#[non_exhaustive]
pub struct InvalidOption {
    /// The option, named as its setter (`flush_interval`, `crash_limit`, ...).
    pub option: &'static str,
    /// The range it must be in and the value given.
    pub message: String,
}

impl From<InvalidOption> for Error {
    fn from(e: InvalidOption) -> Self {
        Error::InvalidOptions(e.to_string())
    }
}

impl StoreOptions {
    /// Default of [`flush_interval`](Self::flush_interval): 200 ms.
    pub const DEFAULT_FLUSH_INTERVAL: Duration = Duration::from_millis(200);
    /// Shortest [`flush_interval`](Self::flush_interval): 1 ms.
    pub const MIN_FLUSH_INTERVAL: Duration = Duration::from_millis(1);
    /// Longest [`flush_interval`](Self::flush_interval): 1 h.
    pub const MAX_FLUSH_INTERVAL: Duration = Duration::from_secs(3600);
    /// Default of [`crash_limit`](Self::crash_limit): 3.
    pub const DEFAULT_CRASH_LIMIT: u32 = 3;
    /// Highest [`crash_limit`](Self::crash_limit): 100. A job that killed the process
    /// that often is a poison pill, not bad luck.
    pub const MAX_CRASH_LIMIT: u32 = 100;
    /// Default of [`dead_retention`](Self::dead_retention): 30 days.
    pub const DEFAULT_DEAD_RETENTION: Option<Duration> = Some(Duration::from_secs(30 * 24 * 3600));
    /// Default of [`max_payload_bytes`](Self::max_payload_bytes): 1 MiB.
    pub const DEFAULT_MAX_PAYLOAD_BYTES: usize = 1 << 20;
    /// Highest [`max_payload_bytes`](Self::max_payload_bytes): 64 MiB.
    pub const MAX_MAX_PAYLOAD_BYTES: usize = 64 << 20;
    /// Default of [`cache_bytes`](Self::cache_bytes): 64 MiB.
    pub const DEFAULT_CACHE_BYTES: u64 = 64 << 20;
    /// Default of [`min_free_bytes`](Self::min_free_bytes): 128 MiB.
    pub const DEFAULT_MIN_FREE_BYTES: u64 = 128 << 20;

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
    /// `crashed` instead of being retried (poison-pill protection). Default: 3. Range: 1 to
    /// 100.
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

    /// Checks every option against its range, as [`Store::open`](crate::Store::open)
    /// does; for callers that want to report a bad value before opening anything.
    ///
    /// # Errors
    /// The first option out of its range.
    pub fn validate(&self) -> std::result::Result<(), InvalidOption> {
        let bad = |option: &'static str, message: String| Err(InvalidOption { option, message });
        if !(Self::MIN_FLUSH_INTERVAL..=Self::MAX_FLUSH_INTERVAL).contains(&self.flush_interval) {
            return bad(
                "flush_interval",
                format!("must be 1ms to 1h, got {:?}", self.flush_interval),
            );
        }
        if !(1..=Self::MAX_CRASH_LIMIT).contains(&self.crash_limit) {
            return bad(
                "crash_limit",
                format!(
                    "must be 1 to {}, got {}",
                    Self::MAX_CRASH_LIMIT,
                    self.crash_limit
                ),
            );
        }
        if self.max_payload_bytes == 0 || self.max_payload_bytes > Self::MAX_MAX_PAYLOAD_BYTES {
            return bad(
                "max_payload_bytes",
                format!(
                    "must be 1 to {}, got {}",
                    Self::MAX_MAX_PAYLOAD_BYTES,
                    self.max_payload_bytes
                ),
            );
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
            .crash_limit(101)
            .validate()
            .unwrap_err();
        assert_eq!(e.option, "crash_limit");
        assert!(StoreOptions::default().crash_limit(100).validate().is_ok());
        let e = StoreOptions::default()
            .flush_interval(Duration::ZERO)
            .validate()
            .unwrap_err();
        assert_eq!(e.option, "flush_interval");
        assert!(e.to_string().contains("flush_interval"));
        assert!(
            StoreOptions::default()
                .max_payload_bytes(0)
                .validate()
                .is_err()
        );
    }
}
