//! What a job is: its identity, its record, and the requests that create and move it.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::{Error, Result, Timestamp};

/// A job's identity: unique within a store and increasing in enqueue order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct JobId(u64);

impl JobId {
    /// An id from its number (as printed, or as returned by the API).
    pub const fn new(n: u64) -> Self {
        JobId(n)
    }

    /// The id's number.
    pub const fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The failure a job last met: its class, a short message, and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobError {
    /// The error class (`transient`, `not_found`, `crashed`, ...), as named by the policy.
    pub class: String,
    /// What happened, for people; truncated by the caller to something short.
    pub message: String,
    /// When it happened.
    pub at: Timestamp,
}

/// Where a job is in its life. Each variant says who moves a job out of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JobState {
    /// Waiting in the due index for its `run_at`; `claim` moves it to `Running`.
    Pending,
    /// Held by a lease; `complete`, `retry`, `bury` or `release` moves it on, or rescue
    /// at the next open when the holder died.
    Running,
    /// In the dead letter queue; `requeue` moves it back to `Pending`, `purge` removes it.
    Dead,
}

/// A stored job, as it is on disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    /// The job's id.
    pub id: JobId,
    /// The queue it waits in.
    pub queue: String,
    /// Which handler runs it.
    pub kind: String,
    /// The handler's input, usually JSON.
    pub payload: Vec<u8>,
    /// The producer's deduplication key, kept across retries.
    pub dedup_key: Option<String>,
    /// Failed attempts so far (handler failures and crashes alike).
    pub attempt: u32,
    /// How many of those attempts ended with the process dying (poison-pill count).
    pub crashes: u32,
    /// Earliest time the job may run.
    pub run_at: Timestamp,
    /// When the job was first accepted.
    pub enqueued_at: Timestamp,
    /// The most recent failure.
    pub last_error: Option<JobError>,
    /// When the job was buried; `Some` exactly when it is in the dead letter queue.
    pub dead_at: Option<Timestamp>,
    /// Its last attempts, oldest first (bounded: see [`Attempt`](crate::Attempt)).
    pub attempts: Vec<crate::Attempt>,
}

/// What to do when a live job already holds the new job's dedup key.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum DedupMode {
    /// Keep the existing job untouched and return its id. Default.
    #[default]
    KeepExisting,
    /// Give the existing job the new payload if it has not started; if it is running,
    /// enqueue a new job so the new payload is still delivered.
    ReplacePayload,
}

/// A request to enqueue one job. Build with [`NewJob::new`] and the `with_*` methods.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewJob {
    pub(crate) queue: String,
    pub(crate) kind: String,
    pub(crate) payload: Vec<u8>,
    pub(crate) dedup: Option<(String, DedupMode)>,
    pub(crate) when: When,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum When {
    Now,
    At(Timestamp),
    After(Duration),
}

/// The queue a job goes to unless it says otherwise.
pub const DEFAULT_QUEUE: &str = "default";

/// Longest queue name, kind and dedup key, in bytes. They are part of index keys.
pub const MAX_NAME_BYTES: usize = 200;

impl NewJob {
    /// A job of `kind` with `payload`, due now, in the default queue.
    pub fn new(kind: impl Into<String>, payload: impl Into<Vec<u8>>) -> Self {
        NewJob {
            queue: DEFAULT_QUEUE.to_owned(),
            kind: kind.into(),
            payload: payload.into(),
            dedup: None,
            when: When::Now,
        }
    }

    /// Puts the job in another queue.
    #[must_use]
    pub fn with_queue(mut self, queue: impl Into<String>) -> Self {
        self.queue = queue.into();
        self
    }

    /// Deduplicates on `key` among the queue's live jobs, with `mode` deciding a clash.
    #[must_use]
    pub fn with_dedup_key(mut self, key: impl Into<String>, mode: DedupMode) -> Self {
        self.dedup = Some((key.into(), mode));
        self
    }

    /// Makes the job due at `t` instead of now.
    #[must_use]
    pub fn with_run_at(mut self, t: Timestamp) -> Self {
        self.when = When::At(t);
        self
    }

    /// Makes the job due `d` after it is enqueued.
    #[must_use]
    pub fn with_delay(mut self, d: Duration) -> Self {
        self.when = When::After(d);
        self
    }

    /// The queue the job will go to.
    pub fn queue(&self) -> &str {
        &self.queue
    }

    /// The job's kind.
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The job's payload.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// The dedup key and what to do on a clash, if the job has one.
    pub fn dedup(&self) -> Option<(&str, DedupMode)> {
        self.dedup.as_ref().map(|(k, m)| (k.as_str(), *m))
    }

    /// When the job is due if it is enqueued at `now`.
    pub fn run_at(&self, now: Timestamp) -> Timestamp {
        match self.when {
            When::Now => now,
            When::At(t) => t,
            When::After(d) => now.saturating_add(d),
        }
    }

    /// Roughly what storing the job costs on disk (record, indexes, journal framing).
    pub(crate) fn approx_bytes(&self) -> u64 {
        let dedup = self.dedup.as_ref().map_or(0, |(k, _)| 2 * k.len());
        (self.payload.len() + 2 * self.queue.len() + self.kind.len() + dedup + 128) as u64
    }

    /// Checks everything that can be checked before touching storage: names, dedup key
    /// and payload size. Every backend calls it before storing anything, so a bad job in
    /// a batch refuses the whole batch the same way everywhere.
    ///
    /// # Errors
    /// [`Error::InvalidJob`] naming the bad field.
    pub fn validate(&self, max_payload: usize) -> Result<()> {
        check_name("queue", &self.queue)?;
        check_name("kind", &self.kind)?;
        if let Some((key, _)) = &self.dedup
            && (key.is_empty() || key.len() > MAX_NAME_BYTES)
        {
            return Err(Error::InvalidJob(format!(
                "dedup key must be 1 to {MAX_NAME_BYTES} bytes, got {}",
                key.len()
            )));
        }
        if self.payload.len() > max_payload {
            return Err(Error::InvalidJob(format!(
                "payload is {} bytes, the limit is {max_payload}",
                self.payload.len()
            )));
        }
        Ok(())
    }
}

fn check_name(what: &str, name: &str) -> Result<()> {
    if name.is_empty() || name.len() > MAX_NAME_BYTES {
        return Err(Error::InvalidJob(format!(
            "{what} must be 1 to {MAX_NAME_BYTES} bytes, got {}",
            name.len()
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::InvalidJob(format!(
            "{what} {name:?} contains a control character"
        )));
    }
    Ok(())
}

/// What `enqueue` did with one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Enqueued {
    /// A new job was stored.
    Created(JobId),
    /// A live job already held the dedup key and was left as it was.
    Existing(JobId),
    /// A pending job held the dedup key and now carries the new payload.
    Replaced(JobId),
}

impl Enqueued {
    /// The id of the job that will deliver the request.
    pub fn id(self) -> JobId {
        match self {
            Enqueued::Created(id) | Enqueued::Existing(id) | Enqueued::Replaced(id) => id,
        }
    }
}

/// Proof of holding a claimed job. Every outcome is addressed by its lease, never by
/// payload content, and a lease from an earlier claim of the same job is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    pub(crate) id: JobId,
    pub(crate) token: u64,
    pub(crate) queue: Arc<str>,
}

impl Lease {
    /// A lease as a storage backend hands it out with a claim. `token` must be unique
    /// per claim of the store, across restarts: it is what fences a stale holder out.
    pub fn new(id: JobId, token: u64, queue: impl Into<Arc<str>>) -> Self {
        Lease {
            id,
            token,
            queue: queue.into(),
        }
    }

    /// The claimed job's id.
    pub fn id(&self) -> JobId {
        self.id
    }

    /// The fencing token: unique per claim, across restarts.
    pub fn token(&self) -> u64 {
        self.token
    }

    /// The queue the job was claimed from.
    pub fn queue(&self) -> &str {
        &self.queue
    }
}

/// A job handed out by `claim`, with the lease that must accompany its outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claimed {
    /// The lease to complete, retry, bury or release with.
    pub lease: Lease,
    /// The job as stored when claimed.
    pub job: Job,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_names_the_bad_field() {
        let long = "q".repeat(MAX_NAME_BYTES + 1);
        let e = NewJob::new("k", b"x".to_vec())
            .with_queue(long)
            .validate(10);
        assert!(e.unwrap_err().to_string().contains("queue must be"));
        let e = NewJob::new("a\0b", b"x".to_vec()).validate(10);
        assert!(e.unwrap_err().to_string().contains("control character"));
        let e = NewJob::new("k", vec![0; 11]).validate(10);
        assert!(e.unwrap_err().to_string().contains("limit is 10"));
        assert!(NewJob::new("k", vec![0; 10]).validate(10).is_ok());
    }

    #[test]
    fn run_at_follows_the_request() {
        let now = Timestamp::from_millis(1_000);
        assert_eq!(NewJob::new("k", vec![]).run_at(now), now);
        let j = NewJob::new("k", vec![]).with_delay(Duration::from_secs(1));
        assert_eq!(j.run_at(now), Timestamp::from_millis(2_000));
        let j = NewJob::new("k", vec![]).with_run_at(Timestamp::from_millis(5));
        assert_eq!(j.run_at(now), Timestamp::from_millis(5));
    }
}
