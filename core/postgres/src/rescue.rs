//! Rescue at open: jobs this node's previous store left running.
//!
//! A store opens under a node name only when no other live store holds it (the
//! advisory lock in `listen.rs`), so a job still running under that name was running
//! when the previous holder died. It is rescued as the embedded store rescues at open:
//! the crash counted as an attempt and recorded, back to pending, or buried as
//! `crashed` after `crash_limit` crashes (a poison pill), or as `cancelled` if an
//! operator cancelled it meanwhile. Jobs of other nodes are theirs: their leases
//! expire (`lease_expires_at`) if their holder is gone.

use tenax_core::{CRASHED_CLASS, Result, Timestamp};

use crate::db::{Db, ms};
use crate::history::append_attempt;

/// `$1` node, `$2` now, `$3` crash limit. A job is buried when `buried` holds.
const RESCUE: &str = concat!(
    "WITH r AS (
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
         WHERE state = 'running' AND lease_owner = $1
         RETURNING queue, state),
     counted AS (
         INSERT INTO counts (queue, running, retrying, dead)
         SELECT queue, -count(*), count(*) FILTER (WHERE state = 'pending'),
                count(*) FILTER (WHERE state = 'dead')
         FROM r GROUP BY queue)
     SELECT count(*), (SELECT count(pg_notify($6, $7 || ' ' || queue))
                       FROM (SELECT DISTINCT queue FROM r WHERE state = 'pending') q)
     FROM r"
);

const CRASH_MESSAGE: &str = "the process died while the job was running (%s of %s crashes allowed)";

impl Db {
    /// Rescues this node's running jobs; returns how many.
    pub(crate) async fn rescue(&self, now: Timestamp, crash_limit: u32) -> Result<u64> {
        let limit = i32::try_from(crash_limit).unwrap_or(i32::MAX);
        let n: i64 = self
            .run("rescue running jobs", |client| async move {
                let stmt = client.prepare_cached(RESCUE).await?;
                let row = client
                    .query_one(
                        &stmt,
                        &[
                            &&*self.node,
                            &ms(now),
                            &limit,
                            &CRASHED_CLASS,
                            &CRASH_MESSAGE,
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
