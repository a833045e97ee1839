//! tenax-postgres: the tenax job queue in PostgreSQL, shared by daemons on several
//! hosts.
//!
//! [`PgStore`] implements [`tenax_core::JobStore`] and passes the same conformance
//! suite as the embedded fjall store, so the worker, the API and the CLI run on it
//! unchanged. Jobs are rows; claims take due rows with `FOR UPDATE SKIP LOCKED`; each
//! transition is one transaction, its counter changes and the worker value that rode
//! with it included; leases carry a fence token checked by every outcome; idle workers
//! wake on `LISTEN`/`NOTIFY` and their timer.
//!
//! ```no_run
//! use tenax_core::{JobStore, NewJob};
//! use tenax_postgres::{PgOptions, PgStore};
//!
//! # fn main() -> anyhow::Result<()> {
//! let opts = PgOptions::new("postgresql://tenax@db.internal/queue")
//!     .password(std::env::var("PGPASSWORD")?)
//!     .node("worker-1");
//! let store = PgStore::open(opts)?;
//! let id = store.enqueue_batch(vec![NewJob::new("http", b"{}".to_vec())])?[0].id();
//! let claimed = store.claim("default", 10)?;
//! assert_eq!(claimed[0].job.id, id);
//! store.complete(&claimed[0].lease, None)?;
//! # Ok(())
//! # }
//! ```
//!
//! # What a crash can undo
//!
//! An enqueue returns after the server flushed its transaction (a synchronous commit).
//! Claims and outcomes commit without waiting for the flush, as the embedded store
//! flushes them lazily: a crash of the *server* can undo the last of them (within
//! about three times its `wal_writer_delay`), which makes those jobs run again; a
//! crash of a daemon undoes nothing. [`JobStore::flush`](tenax_core::JobStore::flush)
//! makes everything before it durable.
//!
//! # Several hosts
//!
//! Each store opens under a node name ([`PgOptions::node`]); one live store per name.
//! A store rescues, at open, the jobs its name's previous holder left running. Leases
//! expire after [`PgOptions::lease_ttl`] unless renewed
//! ([`JobStore::renew`](tenax_core::JobStore::renew)), and any store rescues expired
//! ones ([`JobStore::rescue_expired`](tenax_core::JobStore::rescue_expired)). Worker
//! values (a queue's breaker, pause and rate limit) are versioned rows written by
//! compare-and-set and announced with `NOTIFY`; rate limits take their tokens from
//! bucket rows, so they hold in total across hosts.

mod cancel;
mod check;
mod claim;
mod clock;
mod committer;
mod db;
mod dead;
mod enqueue;
mod error;
mod history;
mod io;
mod job_store;
mod lease;
mod list;
mod listen;
mod maintenance;
mod migrate;
mod options;
mod outcome;
mod rescue;
mod row;
mod shared;
mod stats;
mod store;
pub mod testing;

pub use error::Error;
pub use migrate::SCHEMA_VERSION;
pub use options::PgOptions;
pub use store::PgStore;
