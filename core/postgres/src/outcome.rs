//! The outcomes of a claimed job: `complete`, `retry`, `bury`, `release`.
//!
//! Each is one statement, so one round trip and one transaction: the job's row, its
//! history and the counter change. A worker value that rides along (the breaker's
//! state) is written first in the same transaction, by compare-and-set (see
//! `shared.rs`): a lost compare-and-set, or a stale lease, rolls both back. The fence is in
//! the `WHERE`: the row must still carry the lease's token, which only the claim that
//! handed it out set, so a stale holder (released, rescued, completed) changes nothing
//! and is told [`Error::StaleLease`]. A job an operator cancelled while it ran carries
//! `cancelled`, which the same statement reads: a retry or release buries it as
//! `cancelled`, as in the embedded store.

use deadpool_postgres::GenericClient;
use tenax_core::{Attempt, AttemptOutcome, CANCELLED_CLASS, Error, Lease, Result, Timestamp};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use crate::db::{Db, ms};
use crate::history::{self, append_attempt};
use crate::row;
use crate::shared::{Put, conflict};

const COMPLETE: &str = "
WITH done AS (
    DELETE FROM jobs WHERE id = $1 AND lease_token = $2 RETURNING queue),
counted AS (
    INSERT INTO counts (queue, running, completed) SELECT queue, -1, 1 FROM done)
SELECT count(*) FROM done";

const COMPLETE_BATCH: &str = "
WITH done AS (
    DELETE FROM jobs USING unnest($1::bigint[], $2::bigint[]) AS l (lid, ltoken)
    WHERE id = lid AND lease_token = ltoken RETURNING id, queue),
counted AS (
    INSERT INTO counts (queue, running, completed)
    SELECT queue, -count(*), count(*) FROM done GROUP BY queue)
SELECT id FROM done";

const RETRY: &str = concat!(
    "WITH j AS (
         UPDATE jobs SET
             attempt = attempt + 1,
             state = CASE WHEN cancelled THEN 'dead' ELSE 'pending' END,
             run_at = CASE WHEN cancelled THEN run_at ELSE $3 END,
             dead_at = CASE WHEN cancelled THEN $4::bigint END,
             error_class = CASE WHEN cancelled THEN 'cancelled' ELSE $5 END,
             error_message = CASE WHEN cancelled THEN $7 ELSE $6 END,
             error_at = $8,
             attempts = ",
    append_attempt!("(CASE WHEN cancelled THEN $10::text::jsonb ELSE $9::text::jsonb END)"),
    ",
             dedup_held = dedup_held AND NOT cancelled,
             lease_token = NULL, lease_owner = NULL, claimed_at = NULL,
             lease_expires_at = NULL, cancelled = false
         WHERE id = $1 AND lease_token = $2
         RETURNING queue, state),
     counted AS (
         INSERT INTO counts (queue, running, retrying, dead)
         SELECT queue, -1, (state = 'pending')::int, (state = 'dead')::int FROM j)
     SELECT state, CASE WHEN state = 'pending' THEN pg_notify($11, $12 || ' ' || queue) END
     FROM j"
);

const BURY: &str = concat!(
    "WITH j AS (
         UPDATE jobs SET
             attempt = attempt + 1, state = 'dead', dead_at = $3,
             error_class = $4, error_message = $5, error_at = $6,
             attempts = ",
    append_attempt!("$7::text::jsonb"),
    ",
             dedup_held = false,
             lease_token = NULL, lease_owner = NULL, claimed_at = NULL,
             lease_expires_at = NULL, cancelled = false
         WHERE id = $1 AND lease_token = $2
         RETURNING queue),
     counted AS (
         INSERT INTO counts (queue, running, dead) SELECT queue, -1, 1 FROM j)
     SELECT count(*) FROM j"
);

/// The released attempt runs from the claim to now; see `Store::release`.
const RELEASE: &str = concat!(
    "WITH j AS (
         UPDATE jobs SET
             state = CASE WHEN cancelled THEN 'dead' ELSE 'pending' END,
             dead_at = CASE WHEN cancelled THEN $3::bigint END,
             error_class = CASE WHEN cancelled THEN 'cancelled' ELSE error_class END,
             error_message = CASE WHEN cancelled THEN $4 ELSE error_message END,
             error_at = CASE WHEN cancelled THEN greatest($3, claimed_at) ELSE error_at END,
             attempts = ",
    append_attempt!(
        "jsonb_build_object(
             'started_at', claimed_at, 'duration_ms', greatest($3 - claimed_at, 0),
             'outcome', CASE WHEN cancelled THEN 'cancelled' ELSE 'released' END,
             'class', CASE WHEN cancelled THEN 'cancelled' ELSE '' END,
             'message', CASE WHEN cancelled THEN $5::text ELSE $6::text END)"
    ),
    ",
             dedup_held = dedup_held AND NOT cancelled,
             lease_token = NULL, lease_owner = NULL, claimed_at = NULL,
             lease_expires_at = NULL, cancelled = false
         WHERE id = $1 AND lease_token = $2
         RETURNING queue, state, attempt),
     counted AS (
         INSERT INTO counts (queue, running, waiting, retrying, dead)
         SELECT queue, -1, (state = 'pending' AND attempt = 0)::int,
                (state = 'pending' AND attempt > 0)::int, (state = 'dead')::int
         FROM j)
     SELECT state, CASE WHEN state = 'pending' THEN pg_notify($7, $8 || ' ' || queue) END
     FROM j"
);

/// What an operator's cancel turns the last error of a running job into.
fn cancelled_message(class: &str, message: &str) -> String {
    format!("cancelled by an operator while running ({class}: {message})")
}

impl Db {
    pub(crate) async fn complete(self, lease: Lease, state: Option<Put>) -> Result<()> {
        let (id, token) = fence(&lease);
        let rows = self
            .with_value(
                "complete",
                state.as_ref(),
                COMPLETE,
                &[&id, &token],
                counted,
            )
            .await?;
        fenced(counted(&rows), &lease)
    }

    /// One answer per lease: completed, or stale.
    pub(crate) async fn complete_batch(self, leases: Vec<Lease>) -> Result<Vec<Result<()>>> {
        if leases.is_empty() {
            return Ok(Vec::new());
        }
        let (ids, tokens): (Vec<i64>, Vec<i64>) = leases.iter().map(fence).unzip();
        let done: std::collections::HashSet<i64> = self
            .run("complete", |client| {
                let (ids, tokens) = (&ids, &tokens);
                async move {
                    let stmt = client.prepare_cached(COMPLETE_BATCH).await?;
                    let rows = client.query(&stmt, &[ids, tokens]).await?;
                    Ok(rows.iter().map(|r| r.get(0)).collect())
                }
            })
            .await?;
        Ok(leases
            .iter()
            .map(|l| fenced(done.contains(&row::id(l.id())), l))
            .collect())
    }

    /// Returns whether the job is pending again (to wake this store's workers).
    pub(crate) async fn retry(
        self,
        lease: Lease,
        run_at: Timestamp,
        attempt: Attempt,
        now: Timestamp,
        state: Option<Put>,
    ) -> Result<bool> {
        let error = attempt.error();
        let cancelled = cancelled_message(&error.class, &error.message);
        let retry = history::entry(&attempt, AttemptOutcome::Retry);
        let cancel = history::entry(&attempt, AttemptOutcome::Cancelled);
        let (channel, origin) = (&*self.channel, &*self.origin);
        let (id, token) = fence(&lease);
        let rows = self
            .with_value(
                "retry",
                state.as_ref(),
                RETRY,
                &[
                    &id,
                    &token,
                    &ms(run_at),
                    &ms(now),
                    &error.class,
                    &error.message,
                    &cancelled,
                    &ms(error.at),
                    &retry,
                    &cancel,
                    &channel,
                    &origin,
                ],
                returned,
            )
            .await?;
        fenced(returned(&rows), &lease)?;
        Ok(rows[0].get::<_, &str>(0) == "pending")
    }

    pub(crate) async fn bury(
        self,
        lease: Lease,
        attempt: Attempt,
        now: Timestamp,
        state: Option<Put>,
    ) -> Result<()> {
        let error = attempt.error();
        let entry = history::entry(&attempt, AttemptOutcome::Dead);
        let (id, token) = fence(&lease);
        let rows = self
            .with_value(
                "bury",
                state.as_ref(),
                BURY,
                &[
                    &id,
                    &token,
                    &ms(now),
                    &error.class,
                    &error.message,
                    &ms(error.at),
                    &entry,
                ],
                counted,
            )
            .await?;
        fenced(counted(&rows), &lease)
    }

    /// Runs an outcome's statement: on its own, or, with a worker value, in a
    /// transaction that writes the value first and commits only if `held` says the
    /// lease held (so a stale lease writes no value either).
    async fn with_value(
        &self,
        what: &'static str,
        value: Option<&Put>,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
        held: fn(&[Row]) -> bool,
    ) -> Result<Vec<Row>> {
        self.run(what, |mut client| async move {
            let Some(put) = value else {
                let stmt = client.prepare_cached(sql).await?;
                return Ok(client.query(&stmt, params).await?);
            };
            let tx = client.transaction().await?;
            if !self.put_on(&tx, put).await? {
                return Err(conflict(put));
            }
            let stmt = tx.prepare_cached(sql).await?;
            let rows = tx.query(&stmt, params).await?;
            if held(&rows) {
                tx.commit().await?;
            }
            Ok(rows)
        })
        .await
    }

    /// Returns whether the job is pending again.
    pub(crate) async fn release(self, lease: Lease, now: Timestamp) -> Result<bool> {
        const RELEASED: &str = "released at shutdown; no attempt counted";
        const CANCELLED: &str = "cancelled while running; released at shutdown";
        let last_error = cancelled_message(CANCELLED_CLASS, CANCELLED);
        let (channel, origin) = (&*self.channel, &*self.origin);
        let rows = self
            .run("release", |client| {
                let (lease, last_error) = (&lease, &last_error);
                async move {
                    let stmt = client.prepare_cached(RELEASE).await?;
                    let (id, token) = fence(lease);
                    Ok(client
                        .query(
                            &stmt,
                            &[
                                &id,
                                &token,
                                &ms(now),
                                last_error,
                                &CANCELLED,
                                &RELEASED,
                                &channel,
                                &origin,
                            ],
                        )
                        .await?)
                }
            })
            .await?;
        fenced(!rows.is_empty(), &lease)?;
        Ok(rows[0].get::<_, &str>(0) == "pending")
    }
}

/// The lease's id and token as stored.
fn fence(lease: &Lease) -> (i64, i64) {
    (
        row::id(lease.id()),
        i64::try_from(lease.token()).unwrap_or(-1),
    )
}

/// Whether a statement answering `count(*)` of the rows it moved moved one.
fn counted(rows: &[Row]) -> bool {
    rows.first().is_some_and(|r| r.get::<_, i64>(0) > 0)
}

/// Whether a statement answering a row per moved job moved one.
fn returned(rows: &[Row]) -> bool {
    !rows.is_empty()
}

fn fenced(held: bool, lease: &Lease) -> Result<()> {
    if held {
        Ok(())
    } else {
        Err(Error::StaleLease { id: lease.id() })
    }
}
