//! Opening the store the configuration chose: the embedded fjall store in `data_dir`,
//! or a PostgreSQL schema. Everything after opening talks to a `dyn JobStore`.

use std::sync::Arc;

use anyhow::{Context, Result};
use tenax_core::{JobStore, Store};
use tenax_postgres::PgStore;

use crate::config::{BackendSetting, Config};

/// Whether the store can take writes now, and why not: for `/readyz`.
pub(crate) type ReadyCheck = Arc<dyn Fn() -> std::result::Result<(), String> + Send + Sync>;

/// An open store, whichever the backend.
pub(crate) struct Opened {
    pub(crate) store: Arc<dyn JobStore>,
    pub(crate) ready: ReadyCheck,
    /// Where the jobs are, for people: the directory, or the server and schema.
    pub(crate) place: String,
}

/// Opens the daemon's store.
pub(crate) fn open(config: &Config) -> Result<Opened> {
    match config.store.backend {
        BackendSetting::Fjall => {
            let dir = &config.data_dir;
            let store = Arc::new(
                Store::open(dir, config.store_options())
                    .with_context(|| format!("open the data directory {}", dir.display()))?,
            );
            let space = store.clone();
            Ok(Opened {
                store,
                ready: Arc::new(move || space.check_free_space().map_err(|e| e.to_string())),
                place: dir.display().to_string(),
            })
        }
        BackendSetting::Postgres => open_postgres(config, None),
    }
}

/// Opens the PostgreSQL store, under `node` if given (the CLI's own name, so that it
/// neither waits for nor rescues the daemon's jobs).
pub(crate) fn open_postgres(config: &Config, node: Option<String>) -> Result<Opened> {
    let mut opts = config
        .pg_options()
        .map_err(|(key, message)| anyhow::anyhow!("`store.{key}` {message}"))?;
    if let Some(node) = node {
        opts = opts.node(node);
    }
    let place = format!(
        "PostgreSQL {} (schema {})",
        opts.describe(),
        opts.schema_name()
    );
    let store = Arc::new(PgStore::open(opts).with_context(|| format!("open {place}"))?);
    let ping = store.clone();
    Ok(Opened {
        store,
        // No generic reason without the token: the server's words stay in the log.
        ready: Arc::new(move || {
            ping.ping().map_err(|e| {
                tracing::warn!(error = %e, "readiness: the PostgreSQL server does not answer");
                "the store's server does not answer".to_owned()
            })
        }),
        place,
    })
}
