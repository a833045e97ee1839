//! `enqueue`: jobs (and a worker value) in one transaction, committed synchronously.
//!
//! Connections commit asynchronously by default (see `options.rs`); an enqueue turns
//! the synchronous commit back on for its own transaction, so it returns only once the
//! server has flushed it. Jobs without dedup keys, the common case, go through the
//! store's committer (`committer.rs`), which merges concurrent calls into one
//! statement: one round trip and one commit, like the server's own single-row insert.
//! Jobs with dedup keys, and enqueues with a worker value (a schedule's mark, written
//! first by compare-and-set: `shared.rs`), take a transaction of their own that locks each key (an
//! advisory lock per queue and key, in a fixed order), reads the holders, decides in
//! request order as the embedded store does, and writes; its `NOTIFY` follows the
//! commit as a statement of its own, so that such enqueues running at once still share
//! flushes (PostgreSQL serializes notifying commits until they are flushed).

use std::collections::HashMap;
use std::sync::Arc;

use event_listener::Event;
use tenax_core::{DedupMode, Enqueued, JobId, NewJob, Result, Timestamp};

use tokio_postgres::types::ToSql;

use crate::db::{Db, Fail, ms};
use crate::shared::{Put, conflict};

/// One enqueue call: its jobs, the optional worker value, and when it was made.
pub(crate) struct Request {
    pub(crate) jobs: Vec<NewJob>,
    pub(crate) state: Option<Put>,
    pub(crate) now: Timestamp,
}

const PLAIN: &str = "
WITH new AS (
    INSERT INTO jobs (id, queue, kind, payload, state, run_at, enqueued_at)
    SELECT nextval('job_id'), q, k, p, 'pending', r, e
    FROM unnest($1::text[], $2::text[], $3::bytea[], $4::bigint[], $5::bigint[])
        WITH ORDINALITY AS n (q, k, p, r, e, i)
    ORDER BY i
    RETURNING id, queue),
counted AS (
    INSERT INTO counts (queue, waiting, enqueued)
    SELECT queue, count(*), count(*) FROM new GROUP BY queue)
SELECT set_config('synchronous_commit', 'on', true),
       (SELECT array_agg(id ORDER BY id) FROM new),
       (SELECT count(pg_notify($6, $7 || ' ' || queue))
        FROM (SELECT DISTINCT queue FROM new) q)";

/// `$1` channel, `$2` origin, `$3` the queues that gained jobs.
const NOTIFY: &str = "SELECT count(pg_notify($1, $2 || ' ' || q)) FROM unnest($3::text[]) AS q";

impl Db {
    /// An enqueue with dedup keys or a worker value, run on its own (plain ones go
    /// through the committer).
    pub(crate) async fn enqueue_keyed(
        self,
        req: Request,
        work: Arc<Event>,
    ) -> Result<Vec<Enqueued>> {
        let out = self.keyed(&req).await?;
        if out.iter().any(|e| matches!(e, Enqueued::Created(_))) {
            work.notify(usize::MAX);
        }
        Ok(out)
    }

    /// Plain requests (no dedup keys, no worker value) as one statement: their job ids
    /// in request order.
    pub(crate) async fn enqueue_group(&self, requests: &[&Request]) -> Result<Vec<JobId>> {
        let jobs = || {
            requests
                .iter()
                .flat_map(|r| r.jobs.iter().map(move |j| (r.now, j)))
        };
        let queues: Vec<&str> = jobs().map(|(_, j)| j.queue()).collect();
        let kinds: Vec<&str> = jobs().map(|(_, j)| j.kind()).collect();
        let payloads: Vec<&[u8]> = jobs().map(|(_, j)| j.payload()).collect();
        let run_ats: Vec<i64> = jobs().map(|(now, j)| ms(j.run_at(now))).collect();
        let enqueued_ats: Vec<i64> = jobs().map(|(now, _)| ms(now)).collect();
        let (channel, origin) = (&*self.channel, &*self.origin);
        let ids: Vec<i64> = self
            .run("enqueue", |client| {
                let params: [&(dyn ToSql + Sync); 7] = [
                    &queues,
                    &kinds,
                    &payloads,
                    &run_ats,
                    &enqueued_ats,
                    &channel,
                    &origin,
                ];
                async move {
                    let stmt = client.prepare_cached(PLAIN).await?;
                    let row = client.query_one(&stmt, &params).await?;
                    Ok(row.get::<_, Option<Vec<i64>>>(1).unwrap_or_default())
                }
            })
            .await?;
        Ok(ids.into_iter().map(job_id).collect())
    }

    async fn keyed(&self, req: &Request) -> Result<Vec<Enqueued>> {
        self.run("enqueue", |mut client| async move {
            let tx = client.transaction().await?;
            tx.batch_execute("SET LOCAL synchronous_commit = on")
                .await?;
            if let Some(put) = &req.state
                && !self.put_on(&tx, put).await?
            {
                return Err(conflict(put));
            }
            let mut keys: Vec<(&str, &str)> = req
                .jobs
                .iter()
                .filter_map(|j| j.dedup().map(|(k, _)| (j.queue(), k)))
                .collect();
            keys.sort_unstable();
            keys.dedup();
            let (qs, ks): (Vec<&str>, Vec<&str>) = keys.iter().copied().unzip();
            // NOTE: the locks are taken in hash order, so two enqueues sharing keys never
            // wait for each other in a cycle; requeue takes the same locks.
            tx.execute(
                "SELECT pg_advisory_xact_lock(h) FROM (
                     SELECT DISTINCT hashtextextended(
                         'tenax dedup ' || current_schema() || length(q) || ' ' || q || k, 0) AS h
                     FROM unnest($1::text[], $2::text[]) AS u (q, k)) s
                 ORDER BY h",
                &[&qs, &ks],
            )
            .await?;
            let holders = tx
                .query(
                    "SELECT id, queue, dedup_key, state = 'running' FROM jobs
                     WHERE dedup_held AND (queue, dedup_key) IN (
                         SELECT q, k FROM unnest($1::text[], $2::text[]) AS u (q, k))
                     FOR UPDATE",
                    &[&qs, &ks],
                )
                .await?;
            let mut plan = Plan::default();
            for row in &holders {
                let key = (row.get::<_, String>(1), row.get::<_, String>(2));
                plan.holders.insert(
                    key,
                    Holder {
                        at: At::Stored(row.get(0)),
                        running: row.get(3),
                    },
                );
            }
            for job in &req.jobs {
                plan.add(job, req.now);
            }
            let n = i64::try_from(plan.created.len()).unwrap_or(i64::MAX);
            let ids: Vec<i64> = tx
                .query(
                    "SELECT nextval('job_id') FROM generate_series(1, $1::bigint)",
                    &[&n],
                )
                .await?
                .iter()
                .map(|r| r.get(0))
                .collect();
            plan.write(&tx, &ids, req).await?;
            tx.commit().await?;
            let woken = plan.woken();
            if !woken.is_empty() {
                client
                    .execute(NOTIFY, &[&&*self.channel, &&*self.origin, &woken])
                    .await?;
            }
            Ok(plan.results(&ids))
        })
        .await
    }
}

/// Where a job deciding a dedup clash is: stored, or created by this call (its index).
#[derive(Clone, Copy)]
enum At {
    Stored(i64),
    Created(usize),
}

struct Holder {
    at: At,
    running: bool,
}

/// What one keyed call will do, decided in request order.
#[derive(Default)]
struct Plan<'r> {
    holders: HashMap<(String, String), Holder>,
    created: Vec<New<'r>>,
    /// Stored pending holders and their new payloads.
    replaced: HashMap<i64, &'r [u8]>,
    /// Stored running holders whose key a new job takes over.
    unheld: Vec<i64>,
    results: Vec<(At, Outcome)>,
}

struct New<'r> {
    job: &'r NewJob,
    payload: &'r [u8],
    run_at: i64,
    held: bool,
}

#[derive(Clone, Copy)]
enum Outcome {
    Created,
    Existing,
    Replaced,
}

impl<'r> Plan<'r> {
    fn add(&mut self, job: &'r NewJob, now: Timestamp) {
        if let Some((key, mode)) = job.dedup() {
            let dk = (job.queue().to_owned(), key.to_owned());
            if let Some(h) = self.holders.get(&dk) {
                match (mode, h.running, h.at) {
                    (DedupMode::KeepExisting, _, at) => {
                        self.results.push((at, Outcome::Existing));
                        return;
                    }
                    (DedupMode::ReplacePayload, false, At::Created(i)) => {
                        self.created[i].payload = job.payload();
                        self.results.push((At::Created(i), Outcome::Replaced));
                        return;
                    }
                    (DedupMode::ReplacePayload, false, At::Stored(id)) => {
                        self.replaced.insert(id, job.payload());
                        self.results.push((At::Stored(id), Outcome::Replaced));
                        return;
                    }
                    // The holder runs with the old payload: a new job delivers the new
                    // one and takes the key over.
                    (DedupMode::ReplacePayload, true, at) => {
                        if let At::Stored(id) = at {
                            self.unheld.push(id);
                        }
                    }
                }
            }
            let at = At::Created(self.created.len());
            self.holders.insert(dk, Holder { at, running: false });
        }
        let at = At::Created(self.created.len());
        self.created.push(New {
            job,
            payload: job.payload(),
            run_at: ms(job.run_at(now)),
            held: job.dedup().is_some(),
        });
        self.results.push((at, Outcome::Created));
    }

    async fn write(
        &self,
        tx: &deadpool_postgres::Transaction<'_>,
        ids: &[i64],
        req: &Request,
    ) -> std::result::Result<(), Fail> {
        if !self.unheld.is_empty() {
            tx.execute(
                "UPDATE jobs SET dedup_held = false WHERE id = ANY($1)",
                &[&self.unheld],
            )
            .await?;
        }
        if !self.replaced.is_empty() {
            let (rids, payloads): (Vec<i64>, Vec<&[u8]>) =
                self.replaced.iter().map(|(id, p)| (*id, *p)).unzip();
            tx.execute(
                "UPDATE jobs SET payload = u.p
                 FROM unnest($1::bigint[], $2::bytea[]) AS u (id, p) WHERE jobs.id = u.id",
                &[&rids, &payloads],
            )
            .await?;
        }
        let mut counts: HashMap<&str, i64> = HashMap::new();
        for n in &self.created {
            *counts.entry(n.job.queue()).or_default() += 1;
        }
        let queues: Vec<&str> = self.created.iter().map(|n| n.job.queue()).collect();
        let kinds: Vec<&str> = self.created.iter().map(|n| n.job.kind()).collect();
        let payloads: Vec<&[u8]> = self.created.iter().map(|n| n.payload).collect();
        let keys: Vec<Option<&str>> = self
            .created
            .iter()
            .map(|n| n.job.dedup().map(|(k, _)| k))
            .collect();
        let held: Vec<bool> = self.created.iter().map(|n| n.held).collect();
        let run_ats: Vec<i64> = self.created.iter().map(|n| n.run_at).collect();
        let (cq, cn): (Vec<&str>, Vec<i64>) = counts.into_iter().unzip();
        tx.execute(
            "WITH new AS (
                 INSERT INTO jobs (id, queue, kind, payload, dedup_key, dedup_held, state,
                                   run_at, enqueued_at)
                 SELECT i, q, k, p, d, h, 'pending', r, $8
                 FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bytea[], $5::text[],
                             $6::bool[], $7::bigint[]) AS u (i, q, k, p, d, h, r)
                 RETURNING 1),
             counted AS (
                 INSERT INTO counts (queue, waiting, enqueued)
                 SELECT q, n, n FROM unnest($9::text[], $10::bigint[]) AS c (q, n))
             SELECT (SELECT count(*) FROM new)",
            &[
                &ids,
                &queues,
                &kinds,
                &payloads,
                &keys,
                &held,
                &run_ats,
                &ms(req.now),
                &cq,
                &cn,
            ],
        )
        .await?;
        Ok(())
    }

    /// The queues that gained jobs, to notify once the transaction committed.
    fn woken(&self) -> Vec<&str> {
        let mut queues: Vec<&str> = self.created.iter().map(|n| n.job.queue()).collect();
        queues.sort_unstable();
        queues.dedup();
        queues
    }

    fn results(&self, ids: &[i64]) -> Vec<Enqueued> {
        self.results
            .iter()
            .map(|(at, outcome)| {
                let id = job_id(match at {
                    At::Stored(id) => *id,
                    At::Created(i) => ids[*i],
                });
                match outcome {
                    Outcome::Created => Enqueued::Created(id),
                    Outcome::Existing => Enqueued::Existing(id),
                    Outcome::Replaced => Enqueued::Replaced(id),
                }
            })
            .collect()
    }
}

pub(crate) fn job_id(id: i64) -> JobId {
    JobId::new(u64::try_from(id).unwrap_or(0))
}
