//! A store wrapper that counts calls, to prove an idle worker makes none.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tenax_core::{
    Attempt, Cancel, Claimed, Consistency, DeadCursor, DeadFilter, DeadPage, DeadSelector,
    EnqueueFuture, Enqueued, EventListener, Job, JobCursor, JobFilter, JobId, JobPage, JobState,
    JobStore, Lease, NewJob, Result, StateUpdate, Stats, Store, Timestamp, TokenRate, Tokens,
    Versioned,
};

pub struct CountingStore {
    pub inner: Arc<Store>,
    pub calls: AtomicUsize,
}

impl CountingStore {
    pub fn new(inner: Arc<Store>) -> Self {
        CountingStore {
            inner,
            calls: AtomicUsize::new(0),
        }
    }

    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    fn tick(&self) {
        self.calls.fetch_add(1, Ordering::SeqCst);
    }
}

impl JobStore for CountingStore {
    fn now(&self) -> Timestamp {
        self.inner.now()
    }
    fn enqueue_batch(&self, jobs: Vec<NewJob>) -> Result<Vec<Enqueued>> {
        self.tick();
        self.inner.enqueue_batch(jobs)
    }
    fn enqueue_with_state(
        &self,
        jobs: Vec<NewJob>,
        state: StateUpdate<'_>,
    ) -> Result<Vec<Enqueued>> {
        self.tick();
        self.inner.enqueue_with_state(jobs, state)
    }
    fn enqueue_batch_async(&self, jobs: Vec<NewJob>) -> EnqueueFuture {
        self.tick();
        Box::pin(self.inner.enqueue_batch_async(jobs))
    }
    fn claim(&self, queue: &str, max: usize) -> Result<Vec<Claimed>> {
        self.tick();
        self.inner.claim(queue, max)
    }
    fn complete(&self, lease: &Lease, state: Option<StateUpdate<'_>>) -> Result<()> {
        self.tick();
        self.inner.complete(lease, state)
    }
    fn retry(
        &self,
        lease: &Lease,
        run_at: Timestamp,
        error: Attempt,
        state: Option<StateUpdate<'_>>,
    ) -> Result<()> {
        self.tick();
        self.inner.retry(lease, run_at, error, state)
    }
    fn bury(&self, lease: &Lease, error: Attempt, state: Option<StateUpdate<'_>>) -> Result<()> {
        self.tick();
        self.inner.bury(lease, error, state)
    }
    fn release(&self, lease: &Lease) -> Result<()> {
        self.tick();
        self.inner.release(lease)
    }
    fn jobs(&self, filter: &JobFilter, after: Option<JobCursor>, limit: usize) -> Result<JobPage> {
        self.tick();
        self.inner.jobs(filter, after, limit)
    }
    fn cancel(&self, id: JobId) -> Result<Cancel> {
        self.tick();
        self.inner.cancel(id)
    }
    fn delete_dead(&self, id: JobId) -> Result<()> {
        self.tick();
        self.inner.delete_dead(id)
    }
    fn next_due(&self, queue: &str) -> Result<Option<Timestamp>> {
        self.tick();
        self.inner.next_due(queue)
    }
    fn listen(&self) -> EventListener {
        self.tick();
        self.inner.listen()
    }
    fn job(&self, id: JobId) -> Result<Option<(Job, JobState)>> {
        self.tick();
        self.inner.job(id)
    }
    fn stats(&self) -> Result<Stats> {
        self.tick();
        self.inner.stats()
    }
    fn dead_jobs(
        &self,
        filter: &DeadFilter,
        after: Option<DeadCursor>,
        limit: usize,
    ) -> Result<DeadPage> {
        self.tick();
        self.inner.dead_jobs(filter, after, limit)
    }
    fn dead_job(&self, id: JobId) -> Result<Option<Job>> {
        self.tick();
        self.inner.dead_job(id)
    }
    fn requeue(&self, which: &DeadSelector) -> Result<usize> {
        self.tick();
        self.inner.requeue(which)
    }
    fn purge_dead(&self, age: Duration) -> Result<usize> {
        self.tick();
        self.inner.purge_dead(age)
    }
    fn state(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.tick();
        self.inner.state(key)
    }
    fn put_state(&self, key: &str, value: &[u8]) -> Result<()> {
        self.tick();
        self.inner.put_state(key, value)
    }
    fn lease_duration(&self) -> Option<Duration> {
        None
    }
    fn renew(&self, leases: &[Lease]) -> Result<Vec<bool>> {
        self.tick();
        self.inner.renew(leases)
    }
    fn rescue_expired(&self, queue: &str) -> Result<usize> {
        self.tick();
        self.inner.rescue_expired(queue)
    }
    fn versioned_state(&self, key: &str) -> Result<Versioned> {
        self.tick();
        self.inner.versioned_state(key)
    }
    fn put_state_if(&self, key: &str, value: &[u8], expect: u64) -> Result<()> {
        self.tick();
        self.inner.put_state_if(key, value, expect)
    }
    fn listen_state(&self) -> EventListener {
        self.tick();
        self.inner.listen_state()
    }
    fn take_tokens(&self, bucket: &str, rate: TokenRate, want: u32) -> Result<Tokens> {
        self.tick();
        Ok(self.inner.take_tokens(bucket, rate, want))
    }
    fn return_tokens(&self, bucket: &str, n: u32) -> Result<()> {
        self.tick();
        self.inner.return_tokens(bucket, n);
        Ok(())
    }
    fn flush(&self) -> Result<()> {
        self.tick();
        self.inner.flush()
    }
    fn check_consistency(&self) -> Result<Consistency> {
        self.tick();
        self.inner.check_consistency()
    }
}
