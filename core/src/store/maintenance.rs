//! The store's one background thread: periodic sync of lazily flushed transitions, and
//! dead-letter retention.

use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::Shared;

/// How often retention runs; dead jobs are purged at most this late.
const RETENTION_EVERY: Duration = Duration::from_secs(60);

/// Stops and joins the thread when the last store handle goes.
pub(super) struct Maintenance {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Maintenance {
    pub(super) fn start(shared: Arc<Shared>) -> std::io::Result<Self> {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("tenax-store".into())
            .spawn(move || {
                let mut last_retention = None::<Instant>;
                // Stops on a message or when the sender is dropped.
                while let Err(RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(shared.opts.flush_interval)
                {
                    if shared.group.has_unsynced() {
                        // A failure here is retried next tick; callers that need the
                        // disk (enqueue, flush) see the error themselves.
                        let _ = shared.sync_all();
                    }
                    if let Some(age) = shared.opts.dead_retention
                        && last_retention.is_none_or(|t| t.elapsed() >= RETENTION_EVERY)
                    {
                        last_retention = Some(Instant::now());
                        let _ = shared.purge_older_than(age);
                    }
                }
                let _ = shared.sync_all();
            })?;
        Ok(Maintenance {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Maintenance {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
