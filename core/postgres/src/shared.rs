//! What stores on several hosts share besides the jobs: worker values written by
//! compare-and-set and announced to the other stores, and token buckets.
//!
//! A worker value's row carries a version that every write moves. A conditional write
//! names the version it read; the server takes the row lock and re-checks the version
//! against the newest row, so of two writers that read the same version exactly one
//! wins. When a value rides with an outcome or an enqueue, the value is written first,
//! in the same transaction: a lost compare-and-set rolls back the whole transition
//! ([`Error::StateConflict`]). Each write sends `NOTIFY` with the value's key, marked
//! so that the listener tells it from a wake-up for jobs (a queue name cannot hold the
//! control character that marks it).
//!
//! A bucket is a row: one statement refills it at the caller's rate on the store's
//! clock, takes what it can and records what it handed out, so concurrent takers on
//! several hosts serialize on the row and never take a token twice.

use deadpool_postgres::GenericClient;
use tenax_core::{Error, Result, StateUpdate, Timestamp, TokenRate, Tokens, Versioned};

use crate::db::{Db, Fail, ms};

/// A worker value to write: key, value, and the version it must still have.
pub(crate) struct Put {
    pub(crate) key: String,
    pub(crate) value: Vec<u8>,
    pub(crate) expect: Option<u64>,
}

impl Put {
    pub(crate) fn owned(update: StateUpdate<'_>) -> Put {
        Put {
            key: update.key.to_owned(),
            value: update.value.to_owned(),
            expect: update.expect,
        }
    }
}

/// The mark between origin and key in a value's notification (see `listen.rs`).
pub(crate) const STATE_MARK: char = '\u{1}';

/// `$1` key, `$2` value, `$3` channel, `$4` origin, `$5` expected version (NULL: any).
/// Version 0 is "never written" (or written before versions existed): it may be
/// inserted or updated; a later version only updated.
const PUT: &str = "
WITH ins AS (
    INSERT INTO worker_state AS s (key, value, version)
    SELECT $1, $2, 1 WHERE $5::bigint IS NULL OR $5 = 0
    ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = s.version + 1
        WHERE $5::bigint IS NULL OR s.version = $5
    RETURNING 1),
upd AS (
    UPDATE worker_state SET value = $2, version = version + 1
    WHERE key = $1 AND $5 > 0 AND version = $5
    RETURNING 1)
SELECT count(pg_notify($3, $4 || ' ' || chr(1) || $1))
FROM (SELECT 1 FROM ins UNION ALL SELECT 1 FROM upd) w";

/// The bucket refilled: a full one under a new tag, else its tokens plus the time
/// since its refill at `$3` per second, capped at `$4`.
macro_rules! refilled {
    () => {
        "(CASE WHEN b.tag <> $5 THEN $4
               ELSE least($4, b.tokens
                   + greatest($2 - b.refilled_at, 0)::float8 / 1000.0 * $3) END)"
    };
}

/// `$1` name, `$2` now, `$3` per second, `$4` capacity, `$5` tag, `$6` tokens wanted.
const TAKE: &str = concat!(
    "INSERT INTO buckets AS b (name, tokens, refilled_at, tag, capacity, granted)
     VALUES ($1, $4 - least(floor($4), $6), $2, $5, $4, least(floor($4), $6))
     ON CONFLICT (name) DO UPDATE SET
         granted = least(floor(",
    refilled!(),
    "), $6),
         tokens = ",
    refilled!(),
    " - least(floor(",
    refilled!(),
    "), $6),
         refilled_at = greatest(b.refilled_at, $2), tag = $5, capacity = $4
     RETURNING granted, tokens"
);

impl Db {
    /// Writes `put` on `client` (the caller's transaction, or a connection of its own):
    /// whether it was written, `false` when the version had moved.
    pub(crate) async fn put_on(
        &self,
        client: &impl GenericClient,
        put: &Put,
    ) -> std::result::Result<bool, Fail> {
        let stmt = client.prepare_cached(PUT).await?;
        let expect = put.expect.map(|v| i64::try_from(v).unwrap_or(i64::MAX));
        let row = client
            .query_one(
                &stmt,
                &[
                    &put.key,
                    &put.value,
                    &&*self.channel,
                    &&*self.origin,
                    &expect,
                ],
            )
            .await?;
        Ok(row.get::<_, i64>(0) > 0)
    }

    /// Writes `put` on its own.
    pub(crate) async fn put(self, put: Put) -> Result<()> {
        self.run("store a worker value", |client| {
            let (db, put) = (&self, &put);
            async move {
                if db.put_on(&client, put).await? {
                    Ok(())
                } else {
                    Err(conflict(put))
                }
            }
        })
        .await
    }

    /// A worker value with its version (0 when it was never written).
    pub(crate) async fn versioned_state(self, key: String) -> Result<Versioned> {
        let row = self
            .run("read a worker value", |client| {
                let key = &key;
                async move {
                    let stmt = client
                        .prepare_cached("SELECT value, version FROM worker_state WHERE key = $1")
                        .await?;
                    Ok(client.query_opt(&stmt, &[key]).await?)
                }
            })
            .await?;
        Ok(match row {
            None => Versioned::default(),
            Some(r) => Versioned {
                value: Some(r.get(0)),
                version: u64::try_from(r.get::<_, i64>(1)).unwrap_or(0),
            },
        })
    }

    /// Takes up to `want` tokens from the bucket `name`.
    pub(crate) async fn take_tokens(
        self,
        name: String,
        rate: TokenRate,
        want: u32,
        now: Timestamp,
    ) -> Result<Tokens> {
        let per_second = rate.per_second.max(0.0);
        let capacity = rate.effective_capacity();
        // The tag's bits as stored in a `bigint`.
        let tag = i64::from_ne_bytes(rate.tag.to_ne_bytes());
        let want = f64::from(want);
        let (granted, tokens): (f64, f64) = self
            .run("take tokens", |client| {
                let name = &name;
                async move {
                    let stmt = client.prepare_cached(TAKE).await?;
                    let row = client
                        .query_one(
                            &stmt,
                            &[name, &ms(now), &per_second, &capacity, &tag, &want],
                        )
                        .await?;
                    Ok((row.get(0), row.get(1)))
                }
            })
            .await?;
        let granted = granted.max(0.0) as u32;
        Ok(Tokens {
            granted,
            wait: if granted > 0 || want == 0.0 {
                std::time::Duration::ZERO
            } else {
                tenax_core::Bucket::until_next(tokens, per_second)
            },
        })
    }

    /// Gives `n` unused tokens back to the bucket `name`.
    pub(crate) async fn return_tokens(self, name: String, n: u32) -> Result<()> {
        self.run("return tokens", |client| {
            let name = &name;
            async move {
                let stmt = client
                    .prepare_cached(
                        "UPDATE buckets SET tokens = least(capacity, tokens + $2) WHERE name = $1",
                    )
                    .await?;
                client.execute(&stmt, &[name, &f64::from(n)]).await?;
                Ok(())
            }
        })
        .await
    }
}

/// The refusal of a conditional write whose version had moved.
pub(crate) fn conflict(put: &Put) -> Fail {
    Fail::Store(Error::StateConflict {
        key: put.key.clone(),
    })
}
