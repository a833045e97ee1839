//! Errors of opening a store, and how server errors become [`tenax_core::Error`]s.

use tokio_postgres::error::SqlState;

/// Why [`PgStore::open`](crate::PgStore::open) failed. Calls on an open store return
/// [`tenax_core::Error`], as every backend's do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An option is out of its range. Fix it as the message says.
    #[error("{option} {message}")]
    InvalidOption {
        /// The option, named as its setter (`pool_size`, `schema`, ...).
        option: &'static str,
        /// The range it must be in and the value given.
        message: String,
    },

    /// The URL carries a password. Remove it from the URL and pass it on its own (from
    /// the environment or a file), so that it never shows where the URL does.
    #[error(
        "the PostgreSQL URL contains a password; remove it and give the password on its own \
         (from an environment variable or a file)"
    )]
    PasswordInUrl,

    /// The server could not be reached or refused the login. Check that it runs, the
    /// URL, the user and the password.
    #[error("cannot connect to PostgreSQL at {target}: {message}")]
    Connect {
        /// Host, port and database (never the password).
        target: String,
        /// What the client or the server said.
        message: String,
    },

    /// The schema was written by a newer tenax. Upgrade this program; do not downgrade
    /// the schema.
    #[error(
        "the PostgreSQL schema {schema:?} is at version {found}, newer than this build \
         knows ({supported}); upgrade tenax"
    )]
    NewerSchema {
        /// The schema opened.
        schema: String,
        /// Version found in the database.
        found: i32,
        /// Highest version this build knows.
        supported: i32,
    },

    /// Another open store uses this node name. Give each daemon its own name; two
    /// holders of one name would rescue each other's running jobs.
    #[error("node name {node:?} is in use by another tenax connected to this schema")]
    NodeInUse {
        /// The name.
        node: String,
    },

    /// A store call made while opening (a migration, the rescue) failed.
    #[error("{context}: {source}")]
    Store {
        /// What was being done.
        context: &'static str,
        /// The failure.
        source: tenax_core::Error,
    },
}

/// A server error as the store's callers see it: a broken connection or an exhausted
/// pool is `Unavailable` (try later), anything else `Storage` with the server's words.
pub(crate) fn storage(context: &str, e: &tokio_postgres::Error) -> tenax_core::Error {
    let io = std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>());
    if e.is_closed() || io {
        return tenax_core::Error::Unavailable(format!("{context}: {}", source_text(e)));
    }
    tenax_core::Error::Storage(format!("{context}: {}", source_text(e)))
}

/// The pool's failure to hand out a connection.
pub(crate) fn pool(context: &str, e: deadpool_postgres::PoolError) -> tenax_core::Error {
    match e {
        deadpool_postgres::PoolError::Backend(e) => storage(context, &e),
        other => tenax_core::Error::Unavailable(format!("{context}: {other}")),
    }
}

/// Whether the server rolled the transaction back for a conflict with another one, so
/// that running it again is safe and will likely succeed.
pub(crate) fn is_conflict(e: &tokio_postgres::Error) -> bool {
    matches!(
        e.code(),
        Some(c) if *c == SqlState::T_R_DEADLOCK_DETECTED
            || *c == SqlState::T_R_SERIALIZATION_FAILURE
            || *c == SqlState::UNIQUE_VIOLATION
    )
}

/// The error's text with its database detail, when the server sent one.
pub(crate) fn source_text(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                text = format!("{text}: {s}");
                source = s.source();
            }
            text
        }
    }
}
