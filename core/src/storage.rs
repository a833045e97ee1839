//! The storage boundary: what the worker needs from a queue backend.
//!
//! The worker only ever talks to a `dyn JobStore`, so another backend (PostgreSQL for
//! several hosts, say) can be added without touching it. Every backend must pass the
//! [`conformance`](crate::conformance) suite. The trait is synchronous but for one
//! call: the fjall store answers claims and outcomes in microseconds, and a networked
//! backend would use a blocking client behind its own pool. A durable enqueue waits for a
//! disk sync, so it also has an async form, which lets an API serve many producers
//! without a blocked thread for each.
//!
//! # Several processes on one store
//!
//! A backend may be shared by workers in several processes (PostgreSQL, for several
//! hosts). Then a few things one process could keep to itself live in the store:
//! - **Leases expire** ([`lease_duration`](JobStore::lease_duration)): the holder
//!   [`renew`](JobStore::renew)s them while the attempt runs, and any process
//!   [`rescue_expired`](JobStore::rescue_expired)s the jobs of one that died or was cut
//!   off, counting a crash. The old holder's late outcome is refused by the fence.
//! - **Worker values are versioned** ([`versioned_state`](JobStore::versioned_state)),
//!   written by compare-and-set, and announced ([`listen_state`](JobStore::listen_state)),
//!   so one breaker, pause and rate limit per queue hold across processes.
//! - **Token buckets** ([`take_tokens`](JobStore::take_tokens)) enforce a rate in total.
//!
//! The fjall store is owned by one process: its leases never expire (a crash is rescued
//! at the next open), and its versions, events and buckets live in memory.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use event_listener::EventListener;

use crate::{
    Attempt, Cancel, Claimed, Consistency, DeadCursor, DeadFilter, DeadPage, DeadSelector,
    Enqueued, Job, JobCursor, JobFilter, JobId, JobPage, JobState, Lease, NewJob, Result,
    StateUpdate, Stats, Store, Timestamp, TokenRate, Tokens, Versioned,
};

/// The outcome of [`JobStore::enqueue_batch_async`].
pub type EnqueueFuture = Pin<Box<dyn Future<Output = Result<Vec<Enqueued>>> + Send>>;

/// A job queue backend. See [`Store`] for the meaning of each operation.
pub trait JobStore: Send + Sync + 'static {
    /// Current time by the backend's clock (the one its stored timestamps use).
    fn now(&self) -> Timestamp;
    /// Stores jobs durably; all or none.
    fn enqueue_batch(&self, jobs: Vec<NewJob>) -> Result<Vec<Enqueued>>;
    /// Stores jobs durably together with a named worker value, in one write: both or
    /// neither (see [`Store::enqueue_with_state`]).
    fn enqueue_with_state(
        &self,
        jobs: Vec<NewJob>,
        state: StateUpdate<'_>,
    ) -> Result<Vec<Enqueued>>;
    /// Stores jobs durably, for async callers: must not wait for the disk sync on the
    /// calling thread. The request is made when this is called; dropping the future
    /// does not withdraw it.
    fn enqueue_batch_async(&self, jobs: Vec<NewJob>) -> EnqueueFuture;
    /// Claims up to `max` due jobs of `queue`.
    fn claim(&self, queue: &str, max: usize) -> Result<Vec<Claimed>>;
    /// Completes a claimed job.
    fn complete(&self, lease: &Lease, state: Option<StateUpdate<'_>>) -> Result<()>;
    /// Completes several claimed jobs: one answer per lease, in order, each as
    /// [`complete`](JobStore::complete) would give it (a stale lease is refused on its
    /// own; the others complete). The default completes them one by one; a networked
    /// backend does it in one round trip, which is what lets a worker draining many
    /// short jobs keep up.
    fn complete_batch(&self, leases: &[Lease]) -> Vec<Result<()>> {
        leases.iter().map(|l| self.complete(l, None)).collect()
    }
    /// Schedules a claimed job's next attempt, the failed one in its history (or buries
    /// it as `cancelled` if an operator cancelled it meanwhile).
    fn retry(
        &self,
        lease: &Lease,
        run_at: Timestamp,
        attempt: Attempt,
        state: Option<StateUpdate<'_>>,
    ) -> Result<()>;
    /// Moves a claimed job to the dead letter queue, the failed attempt in its history.
    fn bury(&self, lease: &Lease, attempt: Attempt, state: Option<StateUpdate<'_>>) -> Result<()>;
    /// Gives a claimed job back without counting an attempt (or buries it as
    /// `cancelled` if an operator cancelled it meanwhile).
    fn release(&self, lease: &Lease) -> Result<()>;
    /// How long a claim holds its job unless renewed. `None`: leases never expire (one
    /// process owns the store and rescues at open). `Some(d)`: other processes may share
    /// the store; the holder renews well within `d`, and after `d` without a renewal any
    /// process may rescue the job.
    fn lease_duration(&self) -> Option<Duration>;
    /// Renews leases for another lease duration; for each, in order, whether it still
    /// holds its job. A lost lease's outcome will be refused: drop the attempt.
    fn renew(&self, leases: &[Lease]) -> Result<Vec<bool>>;
    /// Rescues the jobs of `queue` whose lease expired, as a crash is rescued at open:
    /// back to pending with a crash counted, or dead as `crashed` once the crash limit
    /// is reached (`cancelled` if an operator cancelled them). Returns how many.
    fn rescue_expired(&self, queue: &str) -> Result<usize>;
    /// Cancels a pending job (to the dead letters as `cancelled`) or marks a running one.
    fn cancel(&self, id: JobId) -> Result<Cancel>;
    /// Deletes one dead job.
    fn delete_dead(&self, id: JobId) -> Result<()>;
    /// When the next job of `queue` is due.
    fn next_due(&self, queue: &str) -> Result<Option<Timestamp>>;
    /// Fires when jobs may have become claimable sooner.
    fn listen(&self) -> EventListener;
    /// A job and its state.
    fn job(&self, id: JobId) -> Result<Option<(Job, JobState)>>;
    /// Counts per state and queue.
    fn stats(&self) -> Result<Stats>;
    /// A page of jobs in one state, after a bounded scan (see [`Store::jobs`]).
    fn jobs(&self, filter: &JobFilter, after: Option<JobCursor>, limit: usize) -> Result<JobPage>;
    /// A page of dead jobs.
    fn dead_jobs(
        &self,
        filter: &DeadFilter,
        after: Option<DeadCursor>,
        limit: usize,
    ) -> Result<DeadPage>;
    /// One dead job.
    fn dead_job(&self, id: JobId) -> Result<Option<Job>>;
    /// Moves dead jobs back to pending.
    fn requeue(&self, which: &DeadSelector) -> Result<usize>;
    /// Deletes dead jobs older than `age`.
    fn purge_dead(&self, age: Duration) -> Result<usize>;
    /// A named worker value.
    fn state(&self, key: &str) -> Result<Option<Vec<u8>>>;
    /// Stores a named worker value.
    fn put_state(&self, key: &str, value: &[u8]) -> Result<()>;
    /// A named worker value with its version, for a compare-and-set.
    fn versioned_state(&self, key: &str) -> Result<Versioned>;
    /// Stores a named worker value if its version is still `expect`; else
    /// [`Error::StateConflict`](crate::Error::StateConflict) and nothing is written.
    fn put_state_if(&self, key: &str, value: &[u8], expect: u64) -> Result<()>;
    /// Fires when a worker value may have been written, by this process or (for a shared
    /// store) another one. Create it before reading the values it guards.
    fn listen_state(&self) -> EventListener;
    /// Takes up to `want` tokens from the named bucket, shared by every process on the
    /// store (see [`crate::Bucket`]).
    fn take_tokens(&self, bucket: &str, rate: TokenRate, want: u32) -> Result<Tokens>;
    /// Gives back `n` tokens taken from the named bucket and not used.
    fn return_tokens(&self, bucket: &str, n: u32) -> Result<()>;
    /// Syncs everything written so far.
    fn flush(&self) -> Result<()>;
    /// Scans the whole store against its counters and indexes (a diagnostic, slow on
    /// a large store): counters equal what a scan counts, per queue and state; every
    /// pending job is in the due order exactly once and nothing else is; every running
    /// job holds one lease; no job is both dead and live; every dedup entry names a
    /// live job holding that key. The conformance suite calls it after its concurrent
    /// model run.
    fn check_consistency(&self) -> Result<Consistency>;
}

impl JobStore for Store {
    fn now(&self) -> Timestamp {
        Store::now(self)
    }
    fn enqueue_batch(&self, jobs: Vec<NewJob>) -> Result<Vec<Enqueued>> {
        Store::enqueue_batch(self, jobs)
    }
    fn enqueue_with_state(
        &self,
        jobs: Vec<NewJob>,
        state: StateUpdate<'_>,
    ) -> Result<Vec<Enqueued>> {
        Store::enqueue_with_state(self, jobs, state)
    }
    fn enqueue_batch_async(&self, jobs: Vec<NewJob>) -> EnqueueFuture {
        Box::pin(Store::enqueue_batch_async(self, jobs))
    }
    fn claim(&self, queue: &str, max: usize) -> Result<Vec<Claimed>> {
        Store::claim(self, queue, max)
    }
    fn complete(&self, lease: &Lease, state: Option<StateUpdate<'_>>) -> Result<()> {
        Store::complete(self, lease, state)
    }
    fn retry(
        &self,
        lease: &Lease,
        run_at: Timestamp,
        attempt: Attempt,
        state: Option<StateUpdate<'_>>,
    ) -> Result<()> {
        Store::retry(self, lease, run_at, attempt, state)
    }
    fn bury(&self, lease: &Lease, attempt: Attempt, state: Option<StateUpdate<'_>>) -> Result<()> {
        Store::bury(self, lease, attempt, state)
    }
    fn release(&self, lease: &Lease) -> Result<()> {
        Store::release(self, lease)
    }
    fn lease_duration(&self) -> Option<Duration> {
        None
    }
    fn renew(&self, leases: &[Lease]) -> Result<Vec<bool>> {
        Store::renew(self, leases)
    }
    fn rescue_expired(&self, queue: &str) -> Result<usize> {
        Store::rescue_expired(self, queue)
    }
    fn cancel(&self, id: JobId) -> Result<Cancel> {
        Store::cancel(self, id)
    }
    fn delete_dead(&self, id: JobId) -> Result<()> {
        Store::delete_dead(self, id)
    }
    fn next_due(&self, queue: &str) -> Result<Option<Timestamp>> {
        Store::next_due(self, queue)
    }
    fn listen(&self) -> EventListener {
        Store::listen(self)
    }
    fn job(&self, id: JobId) -> Result<Option<(Job, JobState)>> {
        Store::job(self, id)
    }
    fn stats(&self) -> Result<Stats> {
        Store::stats(self)
    }
    fn jobs(&self, filter: &JobFilter, after: Option<JobCursor>, limit: usize) -> Result<JobPage> {
        Store::jobs(self, filter, after, limit)
    }
    fn dead_jobs(
        &self,
        filter: &DeadFilter,
        after: Option<DeadCursor>,
        limit: usize,
    ) -> Result<DeadPage> {
        Store::dead_jobs(self, filter, after, limit)
    }
    fn dead_job(&self, id: JobId) -> Result<Option<Job>> {
        Store::dead_job(self, id)
    }
    fn requeue(&self, which: &DeadSelector) -> Result<usize> {
        Store::requeue(self, which)
    }
    fn purge_dead(&self, age: Duration) -> Result<usize> {
        Store::purge_dead(self, age)
    }
    fn state(&self, key: &str) -> Result<Option<Vec<u8>>> {
        Store::state(self, key)
    }
    fn put_state(&self, key: &str, value: &[u8]) -> Result<()> {
        Store::put_state(self, key, value)
    }
    fn versioned_state(&self, key: &str) -> Result<Versioned> {
        Store::versioned_state(self, key)
    }
    fn put_state_if(&self, key: &str, value: &[u8], expect: u64) -> Result<()> {
        Store::put_state_if(self, key, value, expect)
    }
    fn listen_state(&self) -> EventListener {
        Store::listen_state(self)
    }
    fn take_tokens(&self, bucket: &str, rate: TokenRate, want: u32) -> Result<Tokens> {
        Ok(Store::take_tokens(self, bucket, rate, want))
    }
    fn return_tokens(&self, bucket: &str, n: u32) -> Result<()> {
        Store::return_tokens(self, bucket, n);
        Ok(())
    }
    fn flush(&self) -> Result<()> {
        Store::flush(self)
    }
    fn check_consistency(&self) -> Result<Consistency> {
        Store::check_consistency(self)
    }
}
