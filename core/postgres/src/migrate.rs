//! Schema migrations: versioned SQL files, applied at open.
//!
//! Several daemons may start at once against one database, so the check and the
//! migrations run in one transaction holding an advisory lock on the schema: the first
//! applies what is missing, the others wait and find nothing left to do. A schema at a
//! version this build does not know was written by a newer tenax and is refused, as the
//! embedded store refuses a newer format: an older program must not guess at columns
//! it has never seen.

use tokio_postgres::Client;

use crate::error::{self, Error};

/// The migrations in order; `migrations/NNNN_*.sql`, version NNNN.
const MIGRATIONS: &[(i32, &str)] = &[
    (1, include_str!("../migrations/0001_jobs.sql")),
    (2, include_str!("../migrations/0002_sharing.sql")),
];

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: i32 = 2;

/// Brings `schema` to [`SCHEMA_VERSION`], creating it if needed; returns the version it
/// found.
pub(crate) async fn migrate(client: &mut Client, schema: &str) -> Result<i32, Error> {
    let fail = |e: tokio_postgres::Error| Error::Store {
        context: "migrate the schema",
        source: error::storage("migrate the schema", &e),
    };
    let tx = client.transaction().await.map_err(fail)?;
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('tenax migrate ' || $1, 0))",
        &[&schema],
    )
    .await
    .map_err(fail)?;
    // NOTE: `schema` is a checked identifier (see `PgOptions::validate`).
    tx.batch_execute(&format!(
        "SET LOCAL synchronous_commit = on;
         CREATE SCHEMA IF NOT EXISTS {schema};
         SET LOCAL search_path = {schema};
         CREATE TABLE IF NOT EXISTS schema_version (
             version    integer PRIMARY KEY,
             applied_at timestamptz NOT NULL DEFAULT now()
         );"
    ))
    .await
    .map_err(fail)?;
    let found: i32 = tx
        .query_one("SELECT coalesce(max(version), 0) FROM schema_version", &[])
        .await
        .map_err(fail)?
        .get(0);
    if found > SCHEMA_VERSION {
        return Err(Error::NewerSchema {
            schema: schema.to_owned(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > found) {
        tracing::info!(schema, version, "applying a schema migration");
        tx.batch_execute(sql).await.map_err(fail)?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES ($1)",
            &[version],
        )
        .await
        .map_err(fail)?;
    }
    tx.commit().await.map_err(fail)?;
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_in_order_up_to_the_version() {
        for (i, (v, _)) in MIGRATIONS.iter().enumerate() {
            assert_eq!(*v, i as i32 + 1);
        }
        assert_eq!(MIGRATIONS.last().map(|m| m.0), Some(SCHEMA_VERSION));
    }
}
