//! Stats from the counter rows, and their folding.
//!
//! Every transition inserts its counter changes as a row of `counts` in its own
//! transaction (see the migration): no two transitions share a row lock, so counting
//! never serializes them, and the sums cannot drift from the jobs. Stats sum the rows;
//! maintenance folds them into one row per queue now and then, in one statement that
//! deletes the rows it read and inserts their sums, so a concurrent fold (another host)
//! or reader sees the sums unchanged.

use tenax_core::{DueJob, QueueCounts, QueueStats, Result, Stats, Timestamp};
use tokio_postgres::Row;

use crate::db::{Db, ts};
use crate::enqueue::job_id;

/// SQL: the summed counters per queue (`queue` and the six sums).
pub(crate) const SUMS: &str = "
    SELECT queue, sum(waiting)::bigint, sum(retrying)::bigint, sum(running)::bigint,
           sum(dead)::bigint, sum(completed)::bigint, sum(enqueued)::bigint
    FROM counts GROUP BY queue";

/// Fold when there are more counter rows than this.
const FOLD_ABOVE: i64 = 512;

/// The counters of a row selected from [`SUMS`] (columns 1 to 6).
pub(crate) fn counts(row: &Row) -> QueueCounts {
    let n = |i: usize| u64::try_from(row.get::<_, i64>(i)).unwrap_or(0);
    let mut c = QueueCounts::default();
    c.waiting = n(1);
    c.retrying = n(2);
    c.running = n(3);
    c.dead = n(4);
    c.completed = n(5);
    c.enqueued = n(6);
    c
}

impl Db {
    pub(crate) async fn stats(self, now: Timestamp) -> Result<Stats> {
        let rows = self
            .run("stats", |client| async move {
                let sql = format!(
                    "SELECT c.*, d.id, d.run_at FROM ({SUMS}) c (queue, w, r, ru, de, co, en)
                     LEFT JOIN LATERAL (
                         SELECT id, run_at FROM jobs
                         WHERE queue = c.queue AND state = 'pending'
                         ORDER BY run_at, id LIMIT 1) d ON true
                     ORDER BY c.queue"
                );
                let stmt = client.prepare_cached(&sql).await?;
                Ok(client.query(&stmt, &[]).await?)
            })
            .await?;
        let mut stats = Stats::default();
        stats.at = now;
        for row in &rows {
            let c = counts(row);
            let next_due = row.get::<_, Option<i64>>(7).map(|id| DueJob {
                id: job_id(id),
                run_at: ts(row.get(8)),
            });
            stats.total += c;
            let mut q = QueueStats::default();
            q.counts = c;
            q.next_due = next_due;
            stats.queues.insert(row.get(0), q);
        }
        Ok(stats)
    }

    /// Folds the counter rows into one per queue if there are many.
    pub(crate) async fn fold_counts(&self) -> Result<()> {
        self.run("fold counters", |client| async move {
            let n: i64 = client
                .query_one("SELECT count(*) FROM counts", &[])
                .await?
                .get(0);
            if n > FOLD_ABOVE {
                client
                    .execute(
                        "WITH gone AS (DELETE FROM counts RETURNING *)
                         INSERT INTO counts
                         SELECT queue, sum(waiting), sum(retrying), sum(running), sum(dead),
                                sum(completed), sum(enqueued)
                         FROM gone GROUP BY queue",
                        &[],
                    )
                    .await?;
            }
            Ok(())
        })
        .await
    }
}
