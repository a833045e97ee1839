//! Rescue: running jobs whose holder is gone, counted as crashes.
//!
//! Two ways a holder is known to be gone:
//! - **At open**, the jobs this node's previous store left running. A store opens under
//!   a node name only when no other live store holds it (the advisory lock in
//!   `listen.rs`), so a job still running under that name was running when the
//!   previous holder died.
//! - **When a lease expires** ([`JobStore::rescue_expired`](tenax_core::JobStore)):
//!   the holder stopped renewing it (it died, or was cut off from the server), so any
//!   store may rescue the job. The rows are taken with `SKIP LOCKED`, so stores on
//!   several hosts rescuing at once take different jobs and never wait on each other;
//!   a holder renewing at that moment either renews first (and its job is no longer
//!   expired) or finds its lease gone.
//!
//! Either way the job is rescued as the embedded store rescues at open: the crash
//! counted as an attempt and recorded, back to pending, or buried as `crashed` after
//! `crash_limit` crashes (a poison pill), or as `cancelled` if an operator cancelled it
//! meanwhile. The lease token is cleared, so the old holder's late outcome is refused.

use tenax_core::{CRASHED_CLASS, Result, Timestamp};

use crate::db::{Db, ms};
use crate::history::append_attempt;

/// The rescue of the rows picked by `$picked` (a `SELECT id AS pick ... FOR UPDATE`).
/// Parameters: `$2` now, `$3` crash limit, `$4` class, `$5` message format, `$6`
/// channel, `$7` origin; `$1` is the picker's.
macro_rules! rescue {
    ($picked:literal) => {
        concat!(
            "WITH picked AS (",
            $picked,
            "),
     r AS (
         UPDATE jobs SET
             attempt = attempt + 1, crashes = crashes + 1,
             state = CASE WHEN cancelled OR crashes + 1 >= $3 THEN 'dead' ELSE 'pending' END,
             dead_at = CASE WHEN cancelled OR crashes + 1 >= $3 THEN $2::bigint END,
             run_at = CASE WHEN cancelled OR crashes + 1 >= $3 THEN run_at ELSE $2 END,
             error_class = CASE WHEN cancelled THEN 'cancelled' ELSE $4 END,
             error_message = CASE WHEN cancelled
                 THEN 'cancelled by an operator while running (' || format($5, crashes + 1, $3) || ')'
                 ELSE format($5, crashes + 1, $3) END,
             error_at = $2,
             attempts = ",
            append_attempt!(
                "jsonb_build_object(
             'started_at', $2::bigint, 'duration_ms', 0,
             'outcome', CASE WHEN cancelled THEN 'cancelled'
                             WHEN crashes + 1 >= $3 THEN 'dead' ELSE 'retry' END,
             'class', $4::text, 'message', format($5, crashes + 1, $3))"
            ),
            ",
             dedup_held = dedup_held AND NOT (cancelled OR crashes + 1 >= $3),
             lease_token = NULL, lease_owner = NULL, claimed_at = NULL,
             lease_expires_at = NULL, cancelled = false
         FROM picked WHERE id = pick
         RETURNING queue, state),
     counted AS (
         INSERT INTO counts (queue, running, retrying, dead)
         SELECT queue, -count(*), count(*) FILTER (WHERE state = 'pending'),
                count(*) FILTER (WHERE state = 'dead')
         FROM r GROUP BY queue)
     SELECT count(*), (SELECT count(pg_notify($6, $7 || ' ' || queue))
                       FROM (SELECT DISTINCT queue FROM r WHERE state = 'pending') q)
     FROM r"
        )
    };
}

/// At open: `$1` node.
const RESCUE: &str =
    rescue!("SELECT id AS pick FROM jobs WHERE state = 'running' AND lease_owner = $1 FOR UPDATE");

/// On expiry: `$1` queue; a lease that expired at or before now.
const RESCUE_EXPIRED: &str = rescue!(
    "SELECT id AS pick FROM jobs
     WHERE state = 'running' AND queue = $1 AND lease_expires_at <= $2
     FOR UPDATE SKIP LOCKED"
);

const CRASH_MESSAGE: &str = "the process died while the job was running (%s of %s crashes allowed)";
const EXPIRED_MESSAGE: &str =
    "its holder stopped renewing the lease while it ran (%s of %s crashes allowed)";

impl Db {
    /// Rescues this node's running jobs; returns how many.
    pub(crate) async fn rescue(&self, now: Timestamp, crash_limit: u32) -> Result<u64> {
        self.rescue_with(
            RESCUE,
            "rescue running jobs",
            &self.node,
            CRASH_MESSAGE,
            now,
            crash_limit,
        )
        .await
    }

    /// Rescues the jobs of `queue` whose lease expired by `now`; returns how many.
    pub(crate) async fn rescue_expired(
        self,
        queue: String,
        now: Timestamp,
        crash_limit: u32,
    ) -> Result<u64> {
        let what = "rescue expired leases";
        self.rescue_with(
            RESCUE_EXPIRED,
            what,
            &queue,
            EXPIRED_MESSAGE,
            now,
            crash_limit,
        )
        .await
    }

    async fn rescue_with(
        &self,
        sql: &'static str,
        what: &'static str,
        picker: &str,
        message: &'static str,
        now: Timestamp,
        crash_limit: u32,
    ) -> Result<u64> {
        let limit = i32::try_from(crash_limit).unwrap_or(i32::MAX);
        let n: i64 = self
            .run(what, |client| async move {
                let stmt = client.prepare_cached(sql).await?;
                let row = client
                    .query_one(
                        &stmt,
                        &[
                            &picker,
                            &ms(now),
                            &limit,
                            &CRASHED_CLASS,
                            &message,
                            &&*self.channel,
                            &&*self.origin,
                        ],
                    )
                    .await?;
                Ok(row.get(0))
            })
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}
