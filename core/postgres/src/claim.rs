//! `claim` and `next_due`: due jobs to exactly one holder each, in due order.
//!
//! One statement picks up to `max` due jobs with `FOR UPDATE SKIP LOCKED` (so claimers
//! on other connections and hosts take different jobs instead of queueing behind each
//! other), gives each a fresh lease token, its holder and its expiry, and counts the
//! move, in one transaction.

use std::sync::Arc;

use tenax_core::{Claimed, Lease, Result, Timestamp};

use crate::db::{Db, ms, ts};
use crate::row::{self, job_columns};

const CLAIM: &str = concat!(
    "WITH picked AS (
         SELECT id AS pick FROM jobs
         WHERE queue = $1 AND state = 'pending' AND run_at <= $2
         ORDER BY run_at, id LIMIT $3
         FOR UPDATE SKIP LOCKED),
     claimed AS (
         UPDATE jobs SET state = 'running', lease_token = nextval('lease_token'),
             lease_owner = $4, claimed_at = $2, lease_expires_at = $2 + $5
         FROM picked WHERE id = pick
         RETURNING ",
    job_columns!(),
    ", lease_token),
     counted AS (
         INSERT INTO counts (queue, waiting, retrying, running)
         SELECT $1, -count(*) FILTER (WHERE attempt = 0), -count(*) FILTER (WHERE attempt > 0),
                count(*)
         FROM claimed HAVING count(*) > 0)
     SELECT * FROM claimed"
);

impl Db {
    pub(crate) async fn claim(
        self,
        queue: String,
        max: usize,
        now: Timestamp,
        lease_ttl: std::time::Duration,
    ) -> Result<Vec<Claimed>> {
        let max = i64::try_from(max).unwrap_or(i64::MAX);
        let ttl = i64::try_from(lease_ttl.as_millis()).unwrap_or(i64::MAX);
        let rows = self
            .run("claim", |client| {
                let (queue, node) = (&queue, &self.node);
                async move {
                    let stmt = client.prepare_cached(CLAIM).await?;
                    Ok(client
                        .query(&stmt, &[queue, &ms(now), &max, &&**node, &ttl])
                        .await?)
                }
            })
            .await?;
        let name: Arc<str> = Arc::from(queue.as_str());
        let mut claimed = rows
            .iter()
            .map(|r| {
                let (job, _) = row::job(r)?;
                let token = u64::try_from(r.get::<_, i64>(15)).unwrap_or(0);
                let lease = Lease::new(job.id, token, name.clone());
                Ok(Claimed { lease, job })
            })
            .collect::<Result<Vec<_>>>()?;
        claimed.sort_unstable_by_key(|c| (c.job.run_at, c.job.id));
        Ok(claimed)
    }

    pub(crate) async fn next_due(self, queue: String) -> Result<Option<Timestamp>> {
        let row = self
            .run("next due", |client| {
                let queue = &queue;
                async move {
                    let stmt = client
                        .prepare_cached(
                            "SELECT run_at FROM jobs WHERE queue = $1 AND state = 'pending'
                             ORDER BY run_at, id LIMIT 1",
                        )
                        .await?;
                    Ok(client.query_opt(&stmt, &[queue]).await?)
                }
            })
            .await?;
        Ok(row.map(|r| ts(r.get(0))))
    }
}
