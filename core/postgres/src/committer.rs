//! The committer: concurrent enqueues of one store, merged into one transaction.
//!
//! An enqueue returns once the server flushed its commit, so its cost is the flush.
//! Producers calling at once (the API's request handlers) would each wait for a flush
//! of their own; PostgreSQL can share one flush among concurrent commits, but not among
//! commits that `NOTIFY`: it serializes those with a lock held until the commit is
//! flushed. So, as the embedded store does with its committer thread, one task takes
//! every enqueue without dedup keys, merges the ones that are waiting into one
//! statement (one transaction, one flush, one notification per queue, inside the
//! transaction so it leaves only if the jobs committed), and answers each caller with
//! its own ids. One producer alone is one statement per call; many are few commits.
//! A failed statement fails every request of its group (none of them was stored).

use std::sync::Arc;

use event_listener::Event;
use tenax_core::{Enqueued, Error, Result};
use tokio::sync::{mpsc, oneshot};

use crate::db::Db;
use crate::enqueue::Request;

/// Most jobs merged into one statement.
const MAX_GROUP_JOBS: usize = 10_000;

struct Pending {
    req: Request,
    done: oneshot::Sender<Result<Vec<Enqueued>>>,
}

/// The way in to the committer task.
#[derive(Clone)]
pub(crate) struct Committer {
    tx: mpsc::UnboundedSender<Pending>,
}

impl Committer {
    /// The committer for `db`, and its task (to run on the connection thread).
    pub(crate) fn new(
        db: Db,
        work: Arc<Event>,
    ) -> (Committer, impl std::future::Future<Output = ()> + Send) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Committer { tx }, run(db, work, rx))
    }

    /// Queues `req`; the answer comes once its group committed.
    pub(crate) async fn enqueue(&self, req: Request) -> Result<Vec<Enqueued>> {
        let (done, answer) = oneshot::channel();
        if self.tx.send(Pending { req, done }).is_err() {
            return Err(stopped());
        }
        answer.await.unwrap_or_else(|_| Err(stopped()))
    }
}

fn stopped() -> Error {
    Error::Unavailable("the store's committer has stopped".into())
}

async fn run(db: Db, work: Arc<Event>, mut rx: mpsc::UnboundedReceiver<Pending>) {
    loop {
        let Some(first) = rx.recv().await else {
            return;
        };
        let mut jobs = first.req.jobs.len();
        let mut group = vec![first];
        // What else is waiting joins.
        while jobs < MAX_GROUP_JOBS {
            let Ok(next) = rx.try_recv() else { break };
            jobs += next.req.jobs.len();
            group.push(next);
        }
        let requests: Vec<&Request> = group.iter().map(|p| &p.req).collect();
        let written = db.enqueue_group(&requests).await;
        match written {
            Ok(mut ids) => {
                if !ids.is_empty() {
                    work.notify(usize::MAX);
                }
                // Ids come in request order; each caller takes its own.
                let mut rest = ids.drain(..);
                for p in group {
                    let own = rest
                        .by_ref()
                        .take(p.req.jobs.len())
                        .map(Enqueued::Created)
                        .collect();
                    let _ = p.done.send(Ok(own));
                }
            }
            Err(e) => {
                for p in group {
                    let _ = p.done.send(Err(e.duplicate()));
                }
            }
        }
    }
}
