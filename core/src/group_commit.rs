//! Group commit: many writers, one fdatasync.
//!
//! Every committed batch gets a ticket (a sequence number, in commit order). A writer
//! that needs its batch on disk calls [`GroupCommit::wait_durable`] with its ticket. The
//! first waiter becomes the leader: it notes the newest ticket committed so far, syncs
//! once, and wakes everyone whose ticket that sync covered. Writers that arrive while a
//! sync runs wait for the next one, which then covers all of them. With 32 producers one
//! sync acknowledges up to 32 jobs; with one producer it costs exactly one sync per job.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

#[derive(Debug, Default)]
pub(crate) struct GroupCommit {
    /// Highest ticket handed out; written while the store's write lock is held, so
    /// ticket order is journal order.
    committed: AtomicU64,
    /// Syncs started, for [`Store::sync_count`](crate::Store::sync_count).
    syncs: AtomicU64,
    state: Mutex<SyncState>,
    synced_cv: Condvar,
}

#[derive(Debug, Default)]
struct SyncState {
    synced: u64,
    leader: bool,
}

impl GroupCommit {
    /// Registers a batch that has just been written to the journal.
    pub(crate) fn ticket(&self) -> u64 {
        self.committed.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// Whether anything written has not been synced yet.
    pub(crate) fn has_unsynced(&self) -> bool {
        self.committed.load(Ordering::SeqCst) > self.lock().synced
    }

    /// Returns once a sync that started after `ticket` was committed has finished.
    pub(crate) fn wait_durable<E>(
        &self,
        ticket: u64,
        sync: impl Fn() -> Result<(), E>,
    ) -> Result<(), E> {
        let mut st = self.lock();
        loop {
            if st.synced >= ticket {
                return Ok(());
            }
            if st.leader {
                st = self
                    .synced_cv
                    .wait(st)
                    .unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            st.leader = true;
            let target = self.committed.load(Ordering::SeqCst);
            drop(st);
            self.syncs.fetch_add(1, Ordering::Relaxed);
            let result = {
                let _unwinding = StepDown(self);
                sync()
            };
            st = self.lock();
            st.leader = false;
            if result.is_ok() {
                st.synced = st.synced.max(target);
            }
            self.synced_cv.notify_all();
            // NOTE: on failure the others wake up and one of them retries the sync; each
            // caller reports its own outcome, so a failed sync never acknowledges a job.
            result?;
        }
    }

    /// How many syncs were started so far.
    pub(crate) fn syncs(&self) -> u64 {
        self.syncs.load(Ordering::Relaxed)
    }

    /// Syncs everything committed so far (for the background flusher and shutdown).
    pub(crate) fn sync_all<E>(&self, sync: impl Fn() -> Result<(), E>) -> Result<(), E> {
        let target = self.committed.load(Ordering::SeqCst);
        self.wait_durable(target, sync)
    }

    fn lock(&self) -> MutexGuard<'_, SyncState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Gives up the leadership if the sync panics, so later callers are not stuck waiting
/// for a leader that is gone.
struct StepDown<'a>(&'a GroupCommit);

impl Drop for StepDown<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.lock().leader = false;
            self.0.synced_cv.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn one_sync_covers_every_ticket_committed_before_it() {
        let gc = GroupCommit::default();
        let syncs = AtomicUsize::new(0);
        let t1 = gc.ticket();
        let t2 = gc.ticket();
        let sync = || -> Result<(), ()> {
            syncs.fetch_add(1, Ordering::SeqCst);
            Ok(())
        };
        gc.wait_durable(t1, sync).expect("sync");
        gc.wait_durable(t2, sync).expect("sync");
        assert_eq!(syncs.load(Ordering::SeqCst), 1);
        assert!(!gc.has_unsynced());
    }

    #[test]
    fn a_failed_sync_acknowledges_nothing() {
        let gc = GroupCommit::default();
        let t = gc.ticket();
        assert_eq!(gc.wait_durable(t, || Err("disk")), Err("disk"));
        assert!(gc.has_unsynced());
        gc.wait_durable(t, || Ok::<(), ()>(())).expect("second try");
    }

    #[test]
    fn a_panicking_sync_leaves_no_caller_waiting_for_it() {
        let gc = Arc::new(GroupCommit::default());
        let t = gc.ticket();
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            gc.wait_durable(t, || -> Result<(), ()> { panic!("sync") })
        }));
        assert!(panicked.is_err());
        let (done, finished) = std::sync::mpsc::channel();
        let next = gc.clone();
        std::thread::spawn(move || done.send(next.wait_durable(t, || Ok::<(), ()>(()))));
        let r = finished.recv_timeout(std::time::Duration::from_secs(30));
        assert_eq!(r, Ok(Ok(())), "the next caller leads a sync of its own");
        assert!(!gc.has_unsynced());
    }

    /// Seven writers commit while the first writer's sync runs: they all wait, and the
    /// next sync covers all seven. Two syncs for eight writers, whatever the scheduling:
    /// the first sync does not return before the seven tickets exist.
    #[test]
    fn concurrent_writers_share_syncs() {
        const LATE: usize = 7;
        let gc = Arc::new(GroupCommit::default());
        let syncs = Arc::new(AtomicUsize::new(0));
        let (committed, all_committed) = std::sync::mpsc::channel::<()>();
        let (syncing, first_sync_runs) = std::sync::mpsc::channel::<()>();
        let sync = {
            let syncs = syncs.clone();
            let all_committed = Mutex::new(all_committed);
            move || -> Result<(), ()> {
                if syncs.fetch_add(1, Ordering::SeqCst) == 0 {
                    syncing.send(()).expect("signal");
                    let rx = all_committed.lock().expect("receiver");
                    for _ in 0..LATE {
                        rx.recv().expect("a late writer committed");
                    }
                }
                Ok(())
            }
        };
        let sync = Arc::new(sync);
        let first = {
            let (gc, sync) = (gc.clone(), sync.clone());
            let t = gc.ticket();
            std::thread::spawn(move || gc.wait_durable(t, &*sync))
        };
        first_sync_runs.recv().expect("the first sync started");
        let late: Vec<_> = (0..LATE)
            .map(|_| {
                let (gc, sync, committed) = (gc.clone(), sync.clone(), committed.clone());
                std::thread::spawn(move || {
                    let t = gc.ticket();
                    committed.send(()).expect("signal");
                    gc.wait_durable(t, &*sync)
                })
            })
            .collect();
        for t in late.into_iter().chain([first]) {
            t.join().expect("writer").expect("sync");
        }
        assert!(!gc.has_unsynced());
        assert_eq!(
            syncs.load(Ordering::SeqCst),
            2,
            "the seven writers that committed during the first sync share the second"
        );
    }
}
