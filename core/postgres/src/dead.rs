//! The dead letter queue: list, inspect, requeue and purge buried jobs.
//!
//! NOTE: every operation that locks several dead rows locks them in death order
//! (`dead_at`, `id`), so two of them never wait for each other in a cycle; a row that
//! stopped being dead while a caller waited for its lock is skipped by the re-check of
//! the `WHERE`. Requeue and purge by filter go a chunk at a time, each chunk its own
//! transaction, as in the embedded store, and a job moved once is not moved again by
//! the same call even if it dies again meanwhile.

use std::collections::HashSet;
use std::time::Duration;

use tenax_core::{
    DeadCursor, DeadFilter, DeadPage, DeadSelector, Error, Job, JobId, Result, Timestamp,
};
use tokio_postgres::types::ToSql;

use crate::db::{Db, Fail, ms};
use crate::row::{self, job_columns};

const CHUNK: i64 = 1_000;

/// SQL: the conditions of a [`DeadFilter`], parameters `$1` to `$5`.
const FILTER: &str = "state = 'dead'
    AND ($1::text IS NULL OR queue = $1) AND ($2::text IS NULL OR kind = $2)
    AND ($3::text IS NULL OR error_class = $3)
    AND ($4::bigint IS NULL OR dead_at >= $4) AND ($5::bigint IS NULL OR dead_at < $5)";

struct FilterParams {
    queue: Option<String>,
    kind: Option<String>,
    class: Option<String>,
    since: Option<i64>,
    until: Option<i64>,
}

impl FilterParams {
    fn new(f: &DeadFilter) -> Self {
        FilterParams {
            queue: f.queue.clone(),
            kind: f.kind.clone(),
            class: f.class.clone(),
            since: f.since.map(ms),
            until: f.until.map(ms),
        }
    }

    fn params(&self) -> [&(dyn ToSql + Sync); 5] {
        [
            &self.queue,
            &self.kind,
            &self.class,
            &self.since,
            &self.until,
        ]
    }
}

impl Db {
    pub(crate) async fn dead_jobs(
        self,
        filter: DeadFilter,
        after: Option<DeadCursor>,
        limit: usize,
    ) -> Result<DeadPage> {
        let f = FilterParams::new(&filter);
        let (at, id) = after.map_or((-1, -1), |c| (ms(c.dead_at()), row::id(c.id())));
        let limit = i64::try_from(limit).unwrap_or(i64::MAX - 1);
        let rows = self
            .run("list dead jobs", |client| {
                let f = &f;
                async move {
                    let sql = format!(
                        "SELECT {} FROM jobs WHERE {FILTER} AND (dead_at, id) > ($6, $7)
                         ORDER BY dead_at, id LIMIT $8",
                        job_columns!()
                    );
                    let stmt = client.prepare_cached(&sql).await?;
                    let [a, b, c, d, e] = f.params();
                    Ok(client
                        .query(&stmt, &[a, b, c, d, e, &at, &id, &(limit + 1)])
                        .await?)
                }
            })
            .await?;
        let mut jobs = rows
            .iter()
            .map(|r| row::job(r).map(|(j, _)| j))
            .collect::<Result<Vec<Job>>>()?;
        let more = jobs.len() as i64 > limit;
        jobs.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        let next = match (more, jobs.last()) {
            (true, Some(j)) => Some(DeadCursor::new(j.dead_at.unwrap_or_default(), j.id)),
            _ => None,
        };
        Ok(DeadPage { jobs, next })
    }

    pub(crate) async fn requeue(self, which: DeadSelector, now: Timestamp) -> Result<usize> {
        match which {
            DeadSelector::Ids(ids) => self.requeue_ids(ids, now).await,
            DeadSelector::Filter(f) => self.requeue_filter(f, now).await,
            DeadSelector::All => self.requeue_filter(DeadFilter::default(), now).await,
        }
    }

    /// Exactly `ids`, all or none.
    async fn requeue_ids(&self, ids: Vec<JobId>, now: Timestamp) -> Result<usize> {
        let keys: Vec<i64> = ids.iter().map(|id| row::id(*id)).collect();
        self.run("requeue dead jobs", |mut client| {
            let (ids, keys) = (&ids, &keys);
            async move {
                let tx = client.transaction().await?;
                let rows = tx
                    .query(
                        "SELECT id FROM jobs WHERE id = ANY($1) AND state = 'dead'
                         ORDER BY dead_at, id FOR UPDATE",
                        &[keys],
                    )
                    .await?;
                let found: HashSet<i64> = rows.iter().map(|r| r.get(0)).collect();
                if let Some(missing) = ids.iter().find(|id| !found.contains(&row::id(**id))) {
                    return Err(Fail::Store(Error::NotFound {
                        id: *missing,
                        dead_only: true,
                    }));
                }
                let moved: Vec<i64> = found.into_iter().collect();
                let n = self.requeue_rows(&tx, &moved, now).await?;
                tx.commit().await?;
                Ok(n)
            }
        })
        .await
    }

    async fn requeue_filter(&self, filter: DeadFilter, now: Timestamp) -> Result<usize> {
        let f = FilterParams::new(&filter);
        let mut seen = HashSet::new();
        let mut cursor = (-1i64, -1i64);
        let mut total = 0;
        loop {
            let (moved, fresh, last) = self
                .run("requeue dead jobs", |mut client| {
                    let (f, seen) = (&f, &seen);
                    async move {
                        let tx = client.transaction().await?;
                        let [a, b, c, d, e] = f.params();
                        let rows = tx
                            .query(
                                &format!(
                                    "SELECT id, dead_at FROM jobs
                                     WHERE {FILTER} AND (dead_at, id) > ($6, $7)
                                     ORDER BY dead_at, id LIMIT $8 FOR UPDATE"
                                ),
                                &[a, b, c, d, e, &cursor.0, &cursor.1, &CHUNK],
                            )
                            .await?;
                        let last = rows
                            .last()
                            .map(|r| (r.get::<_, i64>(1), r.get::<_, i64>(0)));
                        let fresh: Vec<i64> = rows
                            .iter()
                            .map(|r| r.get(0))
                            .filter(|id| !seen.contains(id))
                            .collect();
                        let moved = self.requeue_rows(&tx, &fresh, now).await?;
                        tx.commit().await?;
                        Ok((moved, fresh, last))
                    }
                })
                .await?;
            total += moved;
            seen.extend(fresh);
            match last {
                Some(l) => cursor = l,
                None => return Ok(total),
            }
        }
    }

    /// Moves the dead rows `ids`, locked by `tx`, back to pending, due at `now`, with
    /// attempts and crashes reset; a dedup key comes back only if no live job took it
    /// over meanwhile.
    async fn requeue_rows(
        &self,
        tx: &deadpool_postgres::Transaction<'_>,
        ids: &[i64],
        now: Timestamp,
    ) -> std::result::Result<usize, Fail> {
        if ids.is_empty() {
            return Ok(0);
        }
        // The keys' locks, as enqueue takes them, then the first requeued job of each
        // key whose key nobody holds takes it.
        let n = tx
            .query(
                "WITH keyed AS (
                     SELECT id, queue, dedup_key FROM jobs
                     WHERE id = ANY($1) AND dedup_key IS NOT NULL),
                 locked AS (
                     SELECT pg_advisory_xact_lock(h) FROM (
                         SELECT DISTINCT hashtextextended('tenax dedup ' || current_schema()
                             || length(queue) || ' ' || queue || dedup_key, 0) AS h
                         FROM keyed) s
                     ORDER BY h)
                 SELECT (SELECT count(*) FROM locked)",
                &[&ids],
            )
            .await?;
        drop(n);
        let rows = tx
            .query(
                "WITH takers AS (
                     SELECT DISTINCT ON (queue, dedup_key) id FROM jobs j
                     WHERE id = ANY($1) AND dedup_key IS NOT NULL
                       AND NOT EXISTS (SELECT 1 FROM jobs h WHERE h.dedup_held
                           AND h.queue = j.queue AND h.dedup_key = j.dedup_key)
                     ORDER BY queue, dedup_key, id),
                 moved AS (
                     UPDATE jobs SET state = 'pending', attempt = 0, crashes = 0, run_at = $2,
                         dead_at = NULL, dedup_held = id IN (SELECT id FROM takers)
                     WHERE id = ANY($1) AND state = 'dead'
                     RETURNING queue),
                 counted AS (
                     INSERT INTO counts (queue, waiting, dead)
                     SELECT queue, count(*), -count(*) FROM moved GROUP BY queue)
                 SELECT count(*), (SELECT count(pg_notify($3, $4 || ' ' || queue))
                                   FROM (SELECT DISTINCT queue FROM moved) q)
                 FROM moved",
                &[&ids, &ms(now), &&*self.channel, &&*self.origin],
            )
            .await?;
        Ok(usize::try_from(rows[0].get::<_, i64>(0)).unwrap_or(0))
    }

    pub(crate) async fn purge_dead(self, age: Duration, now: Timestamp) -> Result<usize> {
        let cutoff = ms(now.saturating_sub(age));
        let mut total = 0;
        loop {
            let n: i64 = self
                .run("purge dead jobs", |client| async move {
                    let stmt = client
                        .prepare_cached(
                            "WITH picked AS (
                                 SELECT id AS pick FROM jobs
                                 WHERE state = 'dead' AND dead_at <= $1
                                 ORDER BY dead_at, id LIMIT $2 FOR UPDATE),
                             gone AS (
                                 DELETE FROM jobs USING picked
                                 WHERE id = pick AND state = 'dead' RETURNING queue),
                             counted AS (
                                 INSERT INTO counts (queue, dead)
                                 SELECT queue, -count(*) FROM gone GROUP BY queue)
                             SELECT count(*) FROM gone",
                        )
                        .await?;
                    Ok(client.query_one(&stmt, &[&cutoff, &CHUNK]).await?.get(0))
                })
                .await?;
            if n == 0 {
                return Ok(total);
            }
            total += usize::try_from(n).unwrap_or(0);
        }
    }
}
