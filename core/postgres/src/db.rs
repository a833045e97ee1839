//! What every store call runs with on the connection thread: the pool, the names of
//! this store, and the one loop that runs a call again when the server rolled it back
//! for a conflict.

use std::future::Future;
use std::sync::Arc;

use deadpool_postgres::{Object, Pool};
use tenax_core::{Result, Timestamp};

use crate::error;

/// Cheap to clone into each call's future.
#[derive(Clone)]
pub(crate) struct Db {
    pub(crate) pool: Pool,
    /// The `LISTEN`/`NOTIFY` channel of this schema.
    pub(crate) channel: Arc<str>,
    /// This store's mark on its own notifications, which its listener skips (the store
    /// already woke its own workers).
    pub(crate) origin: Arc<str>,
    /// The name on this store's leases.
    pub(crate) node: Arc<str>,
}

/// A failed attempt at a call: the server's error (a conflict is tried again) or the
/// call's own answer (a stale lease, a missing job).
pub(crate) enum Fail {
    Db(tokio_postgres::Error),
    Store(tenax_core::Error),
}

impl From<tokio_postgres::Error> for Fail {
    fn from(e: tokio_postgres::Error) -> Self {
        Fail::Db(e)
    }
}

impl From<tenax_core::Error> for Fail {
    fn from(e: tenax_core::Error) -> Self {
        Fail::Store(e)
    }
}

/// How often a call rolled back for a conflict (a deadlock, a serialization failure, a
/// dedup key taken by a concurrent enqueue) is run again before its error is returned.
const CONFLICT_TRIES: u32 = 20;

impl Db {
    /// Runs `op` on a pooled connection; again, on a fresh one, while the server reports
    /// a conflict that rolled it back.
    pub(crate) async fn run<T, F, Fut>(&self, what: &'static str, mut op: F) -> Result<T>
    where
        F: FnMut(Object) -> Fut,
        Fut: Future<Output = std::result::Result<T, Fail>>,
    {
        let mut tries = 0;
        loop {
            let client = match self.pool.get().await {
                Ok(c) => c,
                Err(e) => return Err(error::pool(what, e)),
            };
            match op(client).await {
                Ok(v) => return Ok(v),
                Err(Fail::Db(e)) if error::is_conflict(&e) && tries < CONFLICT_TRIES => {
                    tries += 1;
                    tracing::debug!(what, tries, error = %e, "conflict; running the call again");
                }
                Err(Fail::Db(e)) => return Err(error::storage(what, &e)),
                Err(Fail::Store(e)) => return Err(e),
            }
        }
    }
}

/// A timestamp as stored: milliseconds in a `bigint` (clamped at its maximum).
pub(crate) fn ms(t: Timestamp) -> i64 {
    i64::try_from(t.as_millis()).unwrap_or(i64::MAX)
}

/// A stored `bigint` of milliseconds as a timestamp.
pub(crate) fn ts(v: i64) -> Timestamp {
    Timestamp::from_millis(u64::try_from(v).unwrap_or(0))
}
