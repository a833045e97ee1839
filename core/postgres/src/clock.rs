//! The server's clock, followed locally.
//!
//! Hosts sharing a queue must agree on "now": a job due at 12:00:00 by one host's
//! clock must not run a minute early because another host's clock is fast. The
//! server's clock is the one they share. Asking it on every `now()` would cost a round
//! trip each time the worker looks at the time, so the store reads it at open and every
//! minute, and in between adds this host's monotonic time since the last reading (half
//! the round trip is the error; a host's own wall clock never enters).

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Instant;

use tenax_core::{Clock, Timestamp};
use tokio_postgres::Client;

/// How often the offset to the server's clock is read again.
pub(crate) const RESYNC: std::time::Duration = std::time::Duration::from_secs(60);

#[derive(Debug)]
pub(crate) struct ServerClock {
    start: Instant,
    /// Server milliseconds minus local milliseconds since `start`.
    offset: AtomicI64,
}

impl ServerClock {
    pub(crate) fn new() -> Self {
        ServerClock {
            start: Instant::now(),
            offset: AtomicI64::new(0),
        }
    }

    fn local_ms(&self) -> i64 {
        i64::try_from(self.start.elapsed().as_millis()).unwrap_or(i64::MAX)
    }

    /// Reads the server's clock and sets the offset from it.
    pub(crate) async fn sync(&self, client: &Client) -> Result<(), tokio_postgres::Error> {
        let before = self.local_ms();
        let row = client
            .query_one(
                "SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint",
                &[],
            )
            .await?;
        let after = self.local_ms();
        let server: i64 = row.get(0);
        self.offset
            .store(server - (before + after) / 2, Ordering::Relaxed);
        Ok(())
    }
}

impl Clock for ServerClock {
    fn now(&self) -> Timestamp {
        let ms = self.local_ms() + self.offset.load(Ordering::Relaxed);
        Timestamp::from_millis(u64::try_from(ms).unwrap_or(0))
    }
}
