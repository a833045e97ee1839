//! Leases: renewed by their holder while the attempt runs.
//!
//! A claim sets `lease_expires_at` a lease duration ahead (`claim.rs`); the holder
//! renews it, for all its running jobs in one statement, well before it ends. A lease
//! still carrying its token is renewed even when it has just expired, since nobody has
//! taken the job yet; one that was rescued or finished has lost its token and says so.
//! An expired lease is rescued by any store (`rescue.rs`).

use std::collections::HashSet;
use std::time::Duration;

use tenax_core::{Lease, Result, Timestamp};

use crate::db::{Db, ms};
use crate::row;

const RENEW: &str = "
UPDATE jobs SET lease_expires_at = $3
FROM unnest($1::bigint[], $2::bigint[]) AS l (lid, ltoken)
WHERE id = lid AND lease_token = ltoken
RETURNING id, lease_token";

impl Db {
    /// Renews `leases` until `now + ttl`; for each, whether it still holds its job.
    pub(crate) async fn renew(
        self,
        leases: Vec<Lease>,
        now: Timestamp,
        ttl: Duration,
    ) -> Result<Vec<bool>> {
        if leases.is_empty() {
            return Ok(Vec::new());
        }
        let (ids, tokens): (Vec<i64>, Vec<i64>) = leases
            .iter()
            .map(|l| (row::id(l.id()), i64::try_from(l.token()).unwrap_or(-1)))
            .unzip();
        let until = ms(now.saturating_add(ttl));
        let held: HashSet<(i64, i64)> = self
            .run("renew leases", |client| {
                let (ids, tokens) = (&ids, &tokens);
                async move {
                    let stmt = client.prepare_cached(RENEW).await?;
                    let rows = client.query(&stmt, &[ids, tokens, &until]).await?;
                    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
                }
            })
            .await?;
        Ok(ids
            .iter()
            .zip(&tokens)
            .map(|(id, token)| held.contains(&(*id, *token)))
            .collect())
    }
}
