//! [`JobStore`] for [`PgStore`]: each call runs on the connection thread (see `io.rs`).

use std::time::Duration;

use event_listener::EventListener;
use tenax_core::{
    Attempt, Cancel, Claimed, Consistency, DeadCursor, DeadFilter, DeadPage, DeadSelector,
    EnqueueFuture, Enqueued, Job, JobCursor, JobFilter, JobId, JobPage, JobState, JobStore, Lease,
    NewJob, Result, StateUpdate, Stats, Timestamp, TokenRate, Tokens, Versioned,
};

use crate::PgStore;
use crate::enqueue::Request;
use crate::shared::Put;

fn owned(state: Option<StateUpdate<'_>>) -> Option<Put> {
    state.map(Put::owned)
}

impl PgStore {
    fn request(&self, jobs: Vec<NewJob>, state: Option<StateUpdate<'_>>) -> Request {
        Request {
            jobs,
            state: owned(state),
            now: self.now(),
        }
    }

    fn enqueue(&self, jobs: Vec<NewJob>, state: Option<StateUpdate<'_>>) -> Result<Vec<Enqueued>> {
        self.admit(&jobs)?;
        let stated = state.is_some();
        let req = self.request(jobs, state);
        let out = self.block(self.enqueue_work(req))?;
        self.stated(stated);
        Ok(out)
    }

    /// The work of an enqueue on the connection thread: through the committer, or on
    /// its own with dedup keys or a worker value.
    fn enqueue_work(
        &self,
        req: Request,
    ) -> impl std::future::Future<Output = Result<Vec<Enqueued>>> + Send + 'static {
        let keyed = req.state.is_some() || req.jobs.iter().any(|j| j.dedup().is_some());
        let (db, work, committer) = (
            self.db(),
            self.inner.work.clone(),
            self.inner.committer.clone(),
        );
        async move {
            if keyed {
                db.enqueue_keyed(req, work).await
            } else {
                committer.enqueue(req).await
            }
        }
    }

    /// Wakes this store's listeners for worker values after a transition that wrote
    /// one (the other stores hear its notification; this one skips its own).
    fn stated(&self, wrote: bool) {
        if wrote {
            self.inner.state_changed.notify(usize::MAX);
        }
    }

    /// Writes a worker value on its own.
    fn put(&self, update: StateUpdate<'_>) -> Result<()> {
        self.block(self.db().put(Put::owned(update)))?;
        self.stated(true);
        Ok(())
    }

    /// Wakes this store's workers when a transition made a job claimable.
    fn woke(&self, pending: bool) {
        if pending {
            self.inner.work.notify(usize::MAX);
        }
    }
}

impl JobStore for PgStore {
    fn now(&self) -> Timestamp {
        PgStore::now(self)
    }

    fn enqueue_batch(&self, jobs: Vec<NewJob>) -> Result<Vec<Enqueued>> {
        self.enqueue(jobs, None)
    }

    fn enqueue_with_state(
        &self,
        jobs: Vec<NewJob>,
        state: StateUpdate<'_>,
    ) -> Result<Vec<Enqueued>> {
        self.enqueue(jobs, Some(state))
    }

    fn enqueue_batch_async(&self, jobs: Vec<NewJob>) -> EnqueueFuture {
        if let Err(e) = self.admit(&jobs) {
            return Box::pin(std::future::ready(Err(e)));
        }
        let req = self.request(jobs, None);
        Box::pin(self.inner.io.submit(self.enqueue_work(req)))
    }

    fn claim(&self, queue: &str, max: usize) -> Result<Vec<Claimed>> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let (db, now, ttl) = (self.db(), self.now(), self.inner.lease_ttl);
        self.block(db.claim(queue.to_owned(), max, now, ttl))
    }

    fn complete(&self, lease: &Lease, state: Option<StateUpdate<'_>>) -> Result<()> {
        let stated = state.is_some();
        self.block(self.db().complete(lease.clone(), owned(state)))?;
        self.stated(stated);
        Ok(())
    }

    fn complete_batch(&self, leases: &[Lease]) -> Vec<Result<()>> {
        match self.block(self.db().complete_batch(leases.to_vec())) {
            Ok(answers) => answers,
            Err(e) => leases.iter().map(|_| Err(e.duplicate())).collect(),
        }
    }

    fn retry(
        &self,
        lease: &Lease,
        run_at: Timestamp,
        attempt: Attempt,
        state: Option<StateUpdate<'_>>,
    ) -> Result<()> {
        let stated = state.is_some();
        let work = self
            .db()
            .retry(lease.clone(), run_at, attempt, self.now(), owned(state));
        let pending = self.block(work)?;
        self.woke(pending);
        self.stated(stated);
        Ok(())
    }

    fn bury(&self, lease: &Lease, attempt: Attempt, state: Option<StateUpdate<'_>>) -> Result<()> {
        let stated = state.is_some();
        self.block(
            self.db()
                .bury(lease.clone(), attempt, self.now(), owned(state)),
        )?;
        self.stated(stated);
        Ok(())
    }

    fn release(&self, lease: &Lease) -> Result<()> {
        let pending = self.block(self.db().release(lease.clone(), self.now()))?;
        self.woke(pending);
        Ok(())
    }

    fn lease_duration(&self) -> Option<Duration> {
        Some(self.inner.lease_ttl)
    }

    fn renew(&self, leases: &[Lease]) -> Result<Vec<bool>> {
        let (db, now, ttl) = (self.db(), self.now(), self.inner.lease_ttl);
        self.block(db.renew(leases.to_vec(), now, ttl))
    }

    fn rescue_expired(&self, queue: &str) -> Result<usize> {
        let (db, now, limit) = (self.db(), self.now(), self.inner.crash_limit);
        let n = self.block(db.rescue_expired(queue.to_owned(), now, limit))?;
        self.woke(n > 0);
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    fn cancel(&self, id: JobId) -> Result<Cancel> {
        self.block(self.db().cancel(id, self.now()))
    }

    fn delete_dead(&self, id: JobId) -> Result<()> {
        self.block(self.db().delete_dead(id))
    }

    fn next_due(&self, queue: &str) -> Result<Option<Timestamp>> {
        self.block(self.db().next_due(queue.to_owned()))
    }

    fn listen(&self) -> EventListener {
        PgStore::listen(self)
    }

    fn job(&self, id: JobId) -> Result<Option<(Job, JobState)>> {
        self.block(self.db().job(id))
    }

    fn stats(&self) -> Result<Stats> {
        self.block(self.db().stats(self.now()))
    }

    fn jobs(&self, filter: &JobFilter, after: Option<JobCursor>, limit: usize) -> Result<JobPage> {
        self.block(self.db().jobs(filter.clone(), after, limit))
    }

    fn dead_jobs(
        &self,
        filter: &DeadFilter,
        after: Option<DeadCursor>,
        limit: usize,
    ) -> Result<DeadPage> {
        self.block(self.db().dead_jobs(filter.clone(), after, limit))
    }

    fn dead_job(&self, id: JobId) -> Result<Option<Job>> {
        Ok(self
            .job(id)?
            .and_then(|(job, state)| (state == JobState::Dead).then_some(job)))
    }

    fn requeue(&self, which: &DeadSelector) -> Result<usize> {
        let n = self.block(self.db().requeue(which.clone(), self.now()))?;
        self.woke(n > 0);
        Ok(n)
    }

    fn purge_dead(&self, age: Duration) -> Result<usize> {
        self.block(self.db().purge_dead(age, self.now()))
    }

    fn state(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.block(self.db().state(key.to_owned()))
    }

    fn put_state(&self, key: &str, value: &[u8]) -> Result<()> {
        self.put(StateUpdate::new(key, value))
    }

    fn versioned_state(&self, key: &str) -> Result<Versioned> {
        self.block(self.db().versioned_state(key.to_owned()))
    }

    fn put_state_if(&self, key: &str, value: &[u8], expect: u64) -> Result<()> {
        self.put(StateUpdate::new(key, value).expecting(expect))
    }

    fn listen_state(&self) -> EventListener {
        self.inner.state_changed.listen()
    }

    fn take_tokens(&self, bucket: &str, rate: TokenRate, want: u32) -> Result<Tokens> {
        let (db, now) = (self.db(), self.now());
        self.block(db.take_tokens(bucket.to_owned(), rate, want, now))
    }

    fn return_tokens(&self, bucket: &str, n: u32) -> Result<()> {
        self.block(self.db().return_tokens(bucket.to_owned(), n))
    }

    fn flush(&self) -> Result<()> {
        let (db, now) = (self.db(), self.now());
        self.block(async move { db.seen(now).await })
    }

    fn check_consistency(&self) -> Result<Consistency> {
        self.block(self.db().check_consistency())
    }
}
