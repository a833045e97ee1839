//! The store: opening (migrations, the node name, rescue) and the small reads and
//! writes that need no file of their own.

use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use event_listener::{Event, EventListener};
use tenax_core::{Clock, Job, JobId, JobState, NewJob, Result, Timestamp};
use tokio_postgres::NoTls;

use crate::clock::ServerClock;
use crate::committer::Committer;
use crate::db::{Db, ms};
use crate::error::{self, Error};
use crate::io::Io;
use crate::listen::Listener;
use crate::maintenance::Upkeep;
use crate::row::{self, job_columns};
use crate::{PgOptions, migrate};

/// How long a call waits for a free connection before it fails as unavailable.
const POOL_WAIT: Duration = Duration::from_secs(30);

/// A job queue in a PostgreSQL schema, shared by every store opened on it (on this
/// host or others). Cheap to clone; clones share the connections, which close when the
/// last clone is dropped.
#[derive(Clone)]
pub struct PgStore {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) db: Db,
    pub(crate) committer: Committer,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) lease_ttl: Duration,
    pub(crate) max_payload_bytes: usize,
    pub(crate) work: Arc<Event>,
    /// Notified when a worker value may have changed (by this store or another).
    pub(crate) state_changed: Arc<Event>,
    pub(crate) crash_limit: u32,
    pub(crate) schema: String,
    pub(crate) target: String,
    /// Last: dropping it closes every connection.
    pub(crate) io: Io,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("target", &self.inner.target)
            .field("schema", &self.inner.schema)
            .field("node", &&*self.inner.db.node)
            .finish_non_exhaustive()
    }
}

impl PgStore {
    /// Connects, brings the schema up to date (creating it on first use), takes the
    /// node name, and rescues the jobs the name's previous holder left running.
    ///
    /// # Errors
    /// A bad option, an unreachable server, a schema newer than this build, a node
    /// name in use: see [`Error`].
    pub fn open(opts: PgOptions) -> std::result::Result<PgStore, Error> {
        opts.validate()?;
        let config = opts.connect_config()?;
        let target = opts.target();
        let io = Io::start().map_err(|e| Error::Store {
            context: "start the connection thread",
            source: tenax_core::Error::Storage(e.to_string()),
        })?;
        let channel: Arc<str> = Arc::from(format!("tenax_{}", opts.schema));
        let origin: Arc<str> = Arc::from(origin());
        let node: Arc<str> = Arc::from(opts.node.as_str());
        let work = Arc::new(Event::new());
        let state_changed = Arc::new(Event::new());
        let server_clock = opts.clock.is_none().then(|| Arc::new(ServerClock::new()));
        let clock: Arc<dyn Clock> = match (&opts.clock, &server_clock) {
            (Some(c), _) => c.clone(),
            (None, Some(s)) => s.clone(),
            (None, None) => unreachable!("a server clock is made when none is given"),
        };
        let listener = Listener {
            config: config.clone(),
            target: target.clone(),
            channel: channel.clone(),
            origin: origin.clone(),
            node_key: format!("tenax node {} {}", opts.schema, opts.node),
            work: work.clone(),
            state_changed: state_changed.clone(),
        };
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(opts.pool_size)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(POOL_WAIT))
            .create_timeout(Some(opts.connect_timeout))
            .build()
            .map_err(|e| Error::Connect {
                target: target.clone(),
                message: e.to_string(),
            })?;
        let db = Db {
            pool,
            channel,
            origin,
            node: node.clone(),
        };
        let setup = {
            let (db, schema, clock) = (db.clone(), opts.schema.clone(), clock.clone());
            let (server_clock, crash_limit) = (server_clock.clone(), opts.crash_limit);
            let target = target.clone();
            let upkeep = Upkeep {
                db: db.clone(),
                clock: clock.clone(),
                server_clock: server_clock.clone(),
                dead_retention: opts.dead_retention,
            };
            async move {
                let connect = |e: tokio_postgres::Error| Error::Connect {
                    target: target.clone(),
                    message: error::source_text(&e),
                };
                let (mut client, conn) = config.connect(NoTls).await.map_err(connect)?;
                let driver = tokio::spawn(conn);
                migrate::migrate(&mut client, &schema).await?;
                drop(client);
                let _ = driver.await;
                let (client, conn) = listener.connect(&node).await?;
                if let Some(server) = &server_clock {
                    let pooled = db.pool.get().await.map_err(|e| Error::Connect {
                        target: target.clone(),
                        message: e.to_string(),
                    })?;
                    server.sync(&pooled).await.map_err(connect)?;
                }
                let opened = |source| Error::Store {
                    context: "open the store",
                    source,
                };
                let rescued = db.rescue(clock.now(), crash_limit).await.map_err(opened)?;
                if rescued > 0 {
                    tracing::info!(rescued, node = %node, "rescued jobs left running by this node");
                }
                tokio::spawn(listener.run(node, client, conn));
                tokio::spawn(upkeep.run());
                Ok::<_, Error>(rescued)
            }
        };
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        io.spawn(async move {
            let _ = tx.send(setup.await);
        });
        let (committer, committing) = Committer::new(db.clone(), work.clone());
        io.spawn(committing);
        let rescued = rx.recv().unwrap_or_else(|_| {
            Err(Error::Store {
                context: "open the store",
                source: tenax_core::Error::Storage("the connection thread stopped".into()),
            })
        })?;
        if rescued > 0 {
            work.notify(usize::MAX);
        }
        Ok(PgStore {
            inner: Arc::new(Inner {
                db,
                committer,
                clock,
                lease_ttl: opts.lease_ttl,
                max_payload_bytes: opts.max_payload_bytes,
                work,
                state_changed,
                crash_limit: opts.crash_limit,
                schema: opts.schema,
                target,
                io,
            }),
        })
    }

    /// The current time by the store's clock.
    pub fn now(&self) -> Timestamp {
        self.inner.clock.now()
    }

    /// A listener that fires when jobs may have become claimable sooner: this store's
    /// own transitions, and the notifications of every other store on the schema.
    pub fn listen(&self) -> EventListener {
        self.inner.work.listen()
    }

    /// Runs `work` on the connection thread and waits for it.
    pub(crate) fn block<T: Send + 'static>(
        &self,
        work: impl std::future::Future<Output = Result<T>> + Send + 'static,
    ) -> Result<T> {
        self.inner.io.block(work)
    }

    pub(crate) fn db(&self) -> Db {
        self.inner.db.clone()
    }

    /// Checks jobs as every backend does before storing anything.
    pub(crate) fn admit(&self, jobs: &[NewJob]) -> Result<()> {
        jobs.iter()
            .try_for_each(|j| j.validate(self.inner.max_payload_bytes))
    }

    /// Checks that the server answers (for readiness probes).
    ///
    /// # Errors
    /// [`tenax_core::Error::Unavailable`] when it does not.
    pub fn ping(&self) -> Result<()> {
        let db = self.db();
        self.block(async move {
            db.run("ping", |client| async move {
                client.simple_query("").await?;
                Ok(())
            })
            .await
        })
    }
}

impl Db {
    pub(crate) async fn job(self, id: JobId) -> Result<Option<(Job, JobState)>> {
        let key = row::id(id);
        let row = self
            .run("read a job", |client| async move {
                let stmt = client
                    .prepare_cached(concat!(
                        "SELECT ",
                        job_columns!(),
                        " FROM jobs WHERE id = $1"
                    ))
                    .await?;
                Ok(client.query_opt(&stmt, &[&key]).await?)
            })
            .await?;
        row.map(|r| row::job(&r)).transpose()
    }

    pub(crate) async fn state(self, key: String) -> Result<Option<Vec<u8>>> {
        let row = self
            .run("read a worker value", |client| {
                let key = &key;
                async move {
                    let stmt = client
                        .prepare_cached("SELECT value FROM worker_state WHERE key = $1")
                        .await?;
                    Ok(client.query_opt(&stmt, &[key]).await?)
                }
            })
            .await?;
        Ok(row.map(|r| r.get(0)))
    }

    /// Records this node as seen now, committed synchronously: every transition this
    /// store committed before (asynchronously) is then durable too, since the server
    /// flushes its log in order.
    pub(crate) async fn seen(&self, now: Timestamp) -> Result<()> {
        self.run("flush", |client| async move {
            let stmt = client
                .prepare_cached(
                    "WITH seen AS (
                         INSERT INTO nodes (node, seen_at) VALUES ($1, $2)
                         ON CONFLICT (node) DO UPDATE SET seen_at = excluded.seen_at)
                     SELECT set_config('synchronous_commit', 'on', true)",
                )
                .await?;
            client.execute(&stmt, &[&&*self.node, &ms(now)]).await?;
            Ok(())
        })
        .await
    }
}

/// A mark that tells this store's notifications from others': the process and the
/// moment it opened.
fn origin() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{:x}.{:x}", std::process::id(), nanos)
}
