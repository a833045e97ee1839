//! The fjall-backed store: opening, shared state, and the write path every transition
//! uses. Each transition lives in its own file beside this one.

mod batch;
mod cancel;
mod check;
mod claim;
mod committer;
mod completion;
mod dead;
mod enqueue;
mod lease;
mod list;
mod maintenance;
mod open;
mod outcome;
mod rescue;
mod state;
mod stats;
mod tokens;
mod writable;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use event_listener::{Event, EventListener};
use fjall::{Database, Keyspace, PersistMode};

use crate::codec;
use crate::group_commit::GroupCommit;
use crate::keys::{self, DuePos};
use crate::lock::DirLock;
use crate::{Error, Job, JobId, JobState, QueueCounts, Result, StoreOptions, Timestamp};

pub(crate) use batch::Batch;
pub use cancel::{CANCELLED_CLASS, Cancel};
pub use dead::{CORRUPT_CLASS, DeadCursor, DeadFilter, DeadPage, DeadSelector};
pub use list::{JobCursor, JobFilter, JobPage, ListState, MAX_SCAN};
pub use rescue::CRASHED_CLASS;
pub use stats::{DueJob, QueueStats, Stats};

/// A crash-safe job queue in one data directory.
///
/// Cheap to clone; clones share the store. The directory is released when the last clone
/// is dropped (or on [`Store::close`]), after a final sync.
#[derive(Clone)]
pub struct Store {
    shared: Arc<Shared>,
    /// Writes every enqueue, blocking and async alike.
    committer: Arc<committer::Committer>,
    _maintenance: Arc<maintenance::Maintenance>,
}

pub(crate) struct Shared {
    dir: PathBuf,
    db: Database,
    ks: Keyspaces,
    opts: StoreOptions,
    write: Mutex<WriteState>,
    group: GroupCommit,
    space: crate::space::SpaceGuard,
    /// Notified whenever a job may have become claimable earlier than before.
    work: Event,
    /// Notified whenever a worker value was written.
    state_changed: Event,
    /// The token buckets of rate limits, in memory: one process owns the store.
    buckets: Mutex<HashMap<String, crate::tokens::Bucket>>,
    _lock: DirLock,
}

pub(crate) struct Keyspaces {
    jobs: Keyspace,
    due: Keyspace,
    running: Keyspace,
    dead: Keyspace,
    dedup: Keyspace,
    meta: Keyspace,
}

/// Everything that changes with writes, guarded by one lock so that batches commit in
/// the same order as the in-memory state changes.
#[derive(Debug, Default)]
pub(crate) struct WriteState {
    /// Last number handed out as a job id or lease token.
    seq: u64,
    counts: BTreeMap<String, QueueCounts>,
    /// Per queue, a lower bound of the live due keys. Claims seek from here instead of
    /// from the start, so the tombstones of consumed keys are never scanned again.
    cursors: HashMap<String, DuePos>,
    running: HashMap<JobId, RunningJob>,
    /// The version of each worker value written since the store opened (absent: 0).
    versions: HashMap<String, u64>,
}

#[derive(Debug)]
struct RunningJob {
    token: u64,
    dedup_key: Option<Box<str>>,
    /// When it was claimed: the start of a released attempt.
    claimed_at: Timestamp,
    /// An operator cancelled it; its outcome buries it rather than running it again.
    /// Also stored as the running entry's value, so a rescue after a crash sees it.
    cancelled: bool,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("dir", &self.shared.dir)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (or creates) the store in `dir`, rescuing jobs that were running when the
    /// previous process died.
    pub fn open(dir: impl AsRef<Path>, opts: StoreOptions) -> Result<Store> {
        open::open(dir.as_ref(), opts)
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }

    /// The current time by the store's clock.
    pub fn now(&self) -> Timestamp {
        self.shared.opts.clock.now()
    }

    /// A listener that fires when a job may have become claimable sooner than the last
    /// [`next_due`](Store::next_due) said: an enqueue, retry, release, requeue or rescue.
    ///
    /// Create the listener *before* checking for work, then wait on it: nothing that
    /// happens between the check and the wait is missed. It is a future, and also has a
    /// blocking `wait`.
    pub fn listen(&self) -> EventListener {
        self.shared.work.listen()
    }

    /// A job by id, with its state, or `None` if it completed, was purged, or never was.
    pub fn job(&self, id: JobId) -> Result<Option<(Job, JobState)>> {
        // Record and running set read under one lock, so the state is the record's.
        let st = self.shared.lock();
        let Some(job) = self.shared.read_job(id)? else {
            return Ok(None);
        };
        let state = if job.dead_at.is_some() {
            JobState::Dead
        } else if st.running.contains_key(&id) {
            JobState::Running
        } else {
            JobState::Pending
        };
        Ok(Some((job, state)))
    }

    /// Syncs every write so far to disk.
    pub fn flush(&self) -> Result<()> {
        self.shared.sync_all()
    }

    /// How many times the store has synced its journal to disk since it opened (for
    /// every reason: enqueues, the background flush, [`flush`](Store::flush)).
    ///
    /// A diagnostic: with concurrent producers it grows much slower than the number of
    /// enqueues, since one sync acknowledges every enqueue written before it.
    pub fn sync_count(&self) -> u64 {
        self.shared.group.syncs()
    }

    /// Syncs and releases the data directory (once no other clone holds it).
    pub fn close(self) -> Result<()> {
        self.flush()
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, WriteState> {
        // NOTE: a panic while holding the lock cannot leave the state half-updated, since
        // in-memory state only changes after a batch committed; so poisoning is ignored.
        self.write.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn now(&self) -> Timestamp {
        self.opts.clock.now()
    }

    fn lock_buckets(&self) -> MutexGuard<'_, HashMap<String, crate::tokens::Bucket>> {
        // A bucket is updated in one assignment; a panic cannot leave it half-changed.
        self.buckets.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn read_job(&self, id: JobId) -> Result<Option<Job>> {
        let bytes = self
            .ks
            .jobs
            .get(keys::job(id))
            .map_err(|e| Error::engine("read job", e))?;
        bytes
            .map(|b| codec::decode_job(id, &b).map_err(|e| Error::corrupt(Some(id), e.0)))
            .transpose()
    }

    fn sync_all(&self) -> Result<()> {
        self.group.sync_all(|| self.persist())
    }

    fn persist(&self) -> Result<()> {
        self.db
            .persist(PersistMode::SyncData)
            .map_err(|e| self.space.explain(Error::engine("sync", e)))
    }

    /// Waits until the batch with `ticket` is on disk, if durability asks for it.
    fn durable(&self, ticket: u64) -> Result<()> {
        match self.opts.durability {
            crate::Durability::Sync => self.group.wait_durable(ticket, || self.persist()),
            crate::Durability::Buffered => Ok(()),
        }
    }

    fn wake_workers(&self) {
        self.work.notify(usize::MAX);
    }
}

impl WriteState {
    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// Lowers a queue's cursor so that a key written at `pos` is seen by the next claim.
    /// The version of a worker value (see [`Versioned`](crate::Versioned)).
    fn version(&self, key: &str) -> u64 {
        self.versions.get(key).copied().unwrap_or(0)
    }

    fn lower_cursor(&mut self, queue: &str, pos: DuePos) {
        match self.cursors.get_mut(queue) {
            Some(c) if *c > pos => *c = pos,
            Some(_) => {}
            None => {
                self.cursors.insert(queue.to_owned(), DuePos::START);
            }
        }
    }

    fn cursor(&self, queue: &str) -> DuePos {
        self.cursors.get(queue).copied().unwrap_or(DuePos::START)
    }
}
