//! The listening connection: wake-ups from other hosts, and this store's node name.
//!
//! Every transition that makes a job claimable sooner (enqueue, retry, release,
//! requeue, rescue) sends `NOTIFY` on the schema's channel in its own transaction (and
//! so does every write of a worker value, marked as such: `shared.rs`), so
//! the notification leaves only if the change committed. Each store keeps one
//! connection outside the pool that listens on the channel and wakes the store's
//! listeners; with the worker's timer for the next due job this is all an idle worker
//! waits on, so nothing polls. The store wakes its own workers directly and skips its
//! own notifications (they carry its origin mark).
//!
//! The same connection holds a session advisory lock on the node name: one live store
//! per name, released by the server when the holder's session ends, however it ends.
//!
//! When the connection breaks, the task reconnects with a growing pause (100 ms to
//! 5 s), takes the name again, listens again and wakes the store's listeners once,
//! since notifications sent meanwhile were lost.

use std::sync::Arc;
use std::time::Duration;

use event_listener::Event;
use tokio_postgres::tls::NoTlsStream;
use tokio_postgres::{AsyncMessage, Client, Config, Connection, NoTls, Socket};

use crate::error::{self, Error};
use crate::shared::STATE_MARK;

/// How long an opening store waits for a previous holder of its node name to go (a
/// store dropped a moment ago, whose session the server has not ended yet).
const NODE_WAIT: Duration = Duration::from_secs(5);

pub(crate) struct Listener {
    pub(crate) config: Config,
    /// Where it connects, for messages.
    pub(crate) target: String,
    pub(crate) channel: Arc<str>,
    pub(crate) origin: Arc<str>,
    pub(crate) node_key: String,
    pub(crate) work: Arc<Event>,
    /// Woken for a changed worker value.
    pub(crate) state_changed: Arc<Event>,
}

type Conn = Connection<Socket, NoTlsStream>;

impl Listener {
    /// Connects, takes the node name (waiting up to [`NODE_WAIT`] for a previous holder)
    /// and listens. `node` names the node in the error.
    pub(crate) async fn connect(&self, node: &str) -> Result<(Client, Conn), Error> {
        let (client, mut conn) = self
            .config
            .connect(NoTls)
            .await
            .map_err(|e| Error::Connect {
                target: self.target.clone(),
                message: error::source_text(&e),
            })?;
        let fail = |e: tokio_postgres::Error| Error::Store {
            context: "listen for wake-ups",
            source: error::storage("listen for wake-ups", &e),
        };
        // The connection must be driven while the client talks; hand the messages that
        // arrive meanwhile to nobody (nothing is listened to yet).
        {
            let setup = async {
                client
                    .batch_execute(&format!("SET lock_timeout = '{}ms'", NODE_WAIT.as_millis()))
                    .await
                    .map_err(fail)?;
                let locked = client
                    .execute(
                        "SELECT pg_advisory_lock(hashtextextended($1, 0))",
                        &[&self.node_key],
                    )
                    .await;
                match locked {
                    Ok(_) => {}
                    Err(e)
                        if e.code()
                            == Some(&tokio_postgres::error::SqlState::LOCK_NOT_AVAILABLE) =>
                    {
                        return Err(Error::NodeInUse {
                            node: node.to_owned(),
                        });
                    }
                    Err(e) => return Err(fail(e)),
                }
                client
                    .batch_execute(&format!(
                        "SET lock_timeout = 0; LISTEN \"{}\"",
                        self.channel
                    ))
                    .await
                    .map_err(fail)
            };
            let drive = async {
                loop {
                    match std::future::poll_fn(|cx| conn.poll_message(cx)).await {
                        Some(Ok(_)) => {}
                        Some(Err(_)) | None => return,
                    }
                }
            };
            tokio::pin!(setup);
            tokio::select! {
                r = &mut setup => r?,
                () = drive => {
                    return Err(Error::Connect {
                        target: self.target.clone(),
                        message: "the connection closed while opening".into(),
                    });
                }
            }
        }
        Ok((client, conn))
    }

    /// Serves the connection until the store is dropped, reconnecting when it breaks.
    pub(crate) async fn run(self, node: Arc<str>, mut client: Client, mut conn: Conn) {
        let mut pause = Duration::from_millis(100);
        loop {
            self.serve(&mut conn).await;
            drop(client);
            tracing::warn!("the listening connection to PostgreSQL broke; reconnecting");
            loop {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(5));
                match self.connect(&node).await {
                    Ok((c, k)) => {
                        (client, conn) = (c, k);
                        break;
                    }
                    Err(e) => tracing::warn!(error = %e, "reconnecting the listening connection"),
                }
            }
            pause = Duration::from_millis(100);
            tracing::info!("the listening connection to PostgreSQL is back");
            self.work.notify(usize::MAX);
            self.state_changed.notify(usize::MAX);
        }
    }

    /// Wakes the store's listeners for each notification from another store, until the
    /// connection ends.
    async fn serve(&self, conn: &mut Conn) {
        loop {
            match std::future::poll_fn(|cx| conn.poll_message(cx)).await {
                Some(Ok(AsyncMessage::Notification(n))) => {
                    let (origin, rest) = n.payload().split_once(' ').unwrap_or_default();
                    if origin == &*self.origin {
                        continue;
                    }
                    if rest.starts_with(STATE_MARK) {
                        self.state_changed.notify(usize::MAX);
                    } else {
                        self.work.notify(usize::MAX);
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    tracing::warn!(error = %error::source_text(&e), "listening connection");
                    return;
                }
                None => return,
            }
        }
    }
}
