//! `cancel` and `delete_dead`: an operator withdraws a job, or drops one dead letter.
//!
//! Cancel locks the row first and decides on what it holds: a pending job goes to the
//! dead letters as `cancelled`; a running one is marked, and its outcome (or a rescue)
//! reads the mark (see `outcome.rs`); a dead one is left alone.

use tenax_core::{CANCELLED_CLASS, Cancel, Error, JobId, Result, Timestamp};

use crate::db::{Db, Fail, ms};
use crate::row;

const CANCELLED_PENDING: &str = "cancelled by an operator before it ran again";

impl Db {
    pub(crate) async fn cancel(self, id: JobId, now: Timestamp) -> Result<Cancel> {
        let key = row::id(id);
        self.run("cancel", |mut client| async move {
            let tx = client.transaction().await?;
            let Some(row) = tx
                .query_opt(
                    "SELECT state, lease_token, cancelled, queue, attempt FROM jobs
                     WHERE id = $1 FOR UPDATE",
                    &[&key],
                )
                .await?
            else {
                return Err(Fail::Store(Error::NotFound {
                    id,
                    dead_only: false,
                }));
            };
            let answer = match row.get::<_, &str>(0) {
                "running" => {
                    let token: i64 = row.get(1);
                    if !row.get::<_, bool>(2) {
                        tx.execute("UPDATE jobs SET cancelled = true WHERE id = $1", &[&key])
                            .await?;
                    }
                    Cancel::Marked {
                        token: u64::try_from(token).unwrap_or(0),
                    }
                }
                "pending" => {
                    let retried = row.get::<_, i32>(4) > 0;
                    tx.execute(
                        "WITH j AS (
                             UPDATE jobs SET state = 'dead', dead_at = $2, error_class = $3,
                                 error_message = $4, error_at = $2, dedup_held = false
                             WHERE id = $1)
                         INSERT INTO counts (queue, waiting, retrying, dead)
                         VALUES ($5, $6, $7, 1)",
                        &[
                            &key,
                            &ms(now),
                            &CANCELLED_CLASS,
                            &CANCELLED_PENDING,
                            &row.get::<_, &str>(3),
                            &if retried { 0i64 } else { -1 },
                            &if retried { -1i64 } else { 0 },
                        ],
                    )
                    .await?;
                    Cancel::Buried
                }
                _ => Cancel::AlreadyDead,
            };
            tx.commit().await?;
            Ok(answer)
        })
        .await
    }

    pub(crate) async fn delete_dead(self, id: JobId) -> Result<()> {
        let key = row::id(id);
        let n: i64 = self
            .run("delete a dead job", |client| async move {
                let stmt = client
                    .prepare_cached(
                        "WITH gone AS (
                             DELETE FROM jobs WHERE id = $1 AND state = 'dead' RETURNING queue),
                         counted AS (
                             INSERT INTO counts (queue, dead) SELECT queue, -1 FROM gone)
                         SELECT count(*) FROM gone",
                    )
                    .await?;
                Ok(client.query_one(&stmt, &[&key]).await?.get(0))
            })
            .await?;
        if n == 0 {
            return Err(Error::NotFound {
                id,
                dead_only: true,
            });
        }
        Ok(())
    }
}
