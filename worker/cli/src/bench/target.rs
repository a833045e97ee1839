//! Which store a benchmark run measures: the embedded one in a fresh directory, or a
//! fresh schema on a PostgreSQL server (dropped after the run).

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use tenax_core::{Durability, JobStore};
use tenax_postgres::PgStore;
use tenax_postgres::testing::{TestSchema, TestServer};

/// `--backend`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum BackendArg {
    /// The embedded store, in a fresh directory per run.
    Fjall,
    /// A fresh schema per run on the server of `--url`.
    Postgres,
}

/// Where runs open their stores.
pub(crate) enum Target {
    Fjall,
    Postgres(TestServer),
}

/// A store for one run, with what keeps it alive.
pub(crate) struct Opened {
    pub(crate) store: Arc<dyn JobStore>,
    /// The run's schema, dropped with it.
    pub(crate) schema: Option<TestSchema>,
}

impl Target {
    pub(crate) fn is_postgres(&self) -> bool {
        matches!(self, Target::Postgres(_))
    }

    /// A fresh store for a run in `dir` (fjall) or a fresh schema (PostgreSQL, where
    /// every enqueue is a synchronous commit whatever `durability` says).
    pub(crate) fn open(&self, dir: &Path, durability: Durability) -> Result<Opened> {
        match self {
            Target::Fjall => Ok(Opened {
                store: Arc::new(super::store::open(dir, durability)?),
                schema: None,
            }),
            Target::Postgres(server) => {
                let schema = server.schema();
                let store = open_pg(&schema, "bench")?;
                Ok(Opened {
                    store,
                    schema: Some(schema),
                })
            }
        }
    }
}

/// Another store on the same schema under `node`: a second daemon.
pub(crate) fn open_pg(schema: &TestSchema, node: &str) -> Result<Arc<dyn JobStore>> {
    let mut opts = schema.options().node(node).pool_size(8);
    if let Some(pw) = std::env::var("PGPASSWORD").ok().filter(|p| !p.is_empty()) {
        opts = opts.password(pw);
    }
    let store = PgStore::open(opts).with_context(|| format!("open schema {}", schema.name()))?;
    Ok(Arc::new(store))
}
