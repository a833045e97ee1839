//! tenax-core: a crash-safe embedded job queue on the fjall LSM store.
//!
//! Jobs are enqueued durably, claimed by exactly one holder at a time, and leave the
//! store only by completing or by being buried in the dead letter queue.
//!
//! ```
//! use std::time::Duration;
//! use tenax_core::{JobError, NewJob, Store, StoreOptions};
//!
//! # fn main() -> tenax_core::Result<()> {
//! let dir = tempfile::tempdir().expect("temp dir");
//! let store = Store::open(dir.path(), StoreOptions::default())?;
//!
//! let id = store.enqueue(NewJob::new("http", br#"{"url":"http://localhost/"}"#.to_vec()))?.id();
//!
//! let claimed = store.claim("default", 10)?;
//! assert_eq!(claimed[0].job.id, id);
//!
//! // The downstream answered 503: try again in 5 s, attempt counted, error recorded.
//! let error = JobError { class: "transient".into(), message: "503".into(), at: store.now() };
//! let later = store.now().saturating_add(Duration::from_secs(5));
//! store.retry(&claimed[0].lease, later, error, None)?;
//! assert!(store.claim("default", 10)?.is_empty()); // not due yet
//! assert_eq!(store.next_due("default")?, Some(later));
//! # Ok(())
//! # }
//! ```
//!
//! # States
//!
//! ```text
//! enqueue ──> pending ──claim──> running ──complete──> (gone, counted)
//!               ^                  │ │ │
//!               ├──retry(run_at)───┘ │ └──bury──> dead ──purge──> (gone)
//!               ├──release───────────┘              │
//!               └────────────────requeue────────────┘
//! pending ──cancel──> dead as `cancelled`; running ──cancel──> marked: its retry,
//!           release or crash buries it as `cancelled` (a completion still completes)
//! dead ──delete_dead──> (gone)
//! running ──(process died)──> rescued at next open: pending, or dead as `crashed`
//! running ──(lease expired, shared backends)──> rescue_expired: the same as a crash
//! ```
//!
//! # What a crash can undo
//!
//! `enqueue` returns only after its write is fdatasync'ed (group commit shares one sync
//! among concurrent callers). Every other transition is written to the operating system
//! at once (so a killed process loses nothing) and synced within the flush interval. A
//! power cut inside that interval can undo the last claims, completions, retries,
//! releases or burials: the affected jobs are then pending or running again and run once
//! more. No transition ever loses a job, because each is one atomic batch.

mod attempt;
mod clock;
mod codec;
pub mod conformance;
mod consistency;
mod counts;
mod error;
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing;
mod group_commit;
mod job;
mod keys;
mod lock;
mod options;
mod space;
mod state;
mod storage;
mod store;
mod tokens;

pub use attempt::{Attempt, AttemptOutcome, MAX_ATTEMPT_MESSAGE, MAX_ATTEMPTS};
pub use clock::{Clock, ManualClock, SystemClock, Timestamp};
pub use consistency::Consistency;
pub use counts::QueueCounts;
pub use error::{Error, Result};
/// The wake-up listener of [`Store::listen`], and the trait with its blocking `wait`.
pub use event_listener::{EventListener, Listener};
pub use job::{
    Claimed, DEFAULT_QUEUE, DedupMode, Enqueued, Job, JobError, JobId, JobState, Lease,
    MAX_NAME_BYTES, NewJob,
};
pub use options::{Durability, InvalidOption, StoreOptions};
pub use state::{StateUpdate, Versioned};
pub use storage::{EnqueueFuture, JobStore};
pub use store::{
    CANCELLED_CLASS, CORRUPT_CLASS, CRASHED_CLASS, Cancel, DeadCursor, DeadFilter, DeadPage,
    DeadSelector, DueJob, JobCursor, JobFilter, JobPage, ListState, MAX_SCAN, QueueStats, Stats,
    Store,
};
pub use tokens::{Bucket, TokenRate, Tokens};
