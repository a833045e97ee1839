//! A store whose leases expire, on top of the fjall store: what a store shared by
//! several processes looks like to the worker. Two workers on one `ExpiringStore` are
//! two hosts on one shared backend.
//!
//! Leases are tracked here: a claim holds for `lease` on the store's clock, a renewal
//! extends it, and `rescue_expired` gives an expired job back as a crash (a retry with
//! class `crashed`), so the old holder's lease is stale afterwards. Each host gets its
//! own handle ([`ExpiringStore::peer`]), which can be cut off (every call fails with
//! `Unavailable`) without the others; the change event can be switched off to test the
//! workers' bounded re-read.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use event_listener::Event;

use tenax_core::{
    Attempt, CRASHED_CLASS, Cancel, Claimed, Consistency, DeadCursor, DeadFilter, DeadPage,
    DeadSelector, EnqueueFuture, Enqueued, Error, EventListener, Job, JobCursor, JobFilter, JobId,
    JobPage, JobState, JobStore, Lease, NewJob, Result, StateUpdate, Stats, Store, Timestamp,
    TokenRate, Tokens, Versioned,
};

/// One host's handle on the shared store.
pub struct ExpiringStore {
    pub inner: Arc<Store>,
    shared: Arc<Leases>,
    down: AtomicBool,
    notify: bool,
    /// Never notified: the change event of a store without notifications.
    silent: Event,
}

/// What every host's handle shares: the leases and the counters.
struct Leases {
    lease: Duration,
    held: Mutex<HashMap<JobId, (Lease, Timestamp)>>,
    renewals: AtomicUsize,
    rescued: AtomicUsize,
}

impl ExpiringStore {
    /// Leases of `lease`; `notify`: whether worker value changes are announced.
    pub fn new(inner: Arc<Store>, lease: Duration, notify: bool) -> Arc<Self> {
        let shared = Arc::new(Leases {
            lease,
            held: Mutex::new(HashMap::new()),
            renewals: AtomicUsize::new(0),
            rescued: AtomicUsize::new(0),
        });
        Arc::new(ExpiringStore {
            inner,
            shared,
            down: AtomicBool::new(false),
            notify,
            silent: Event::new(),
        })
    }

    /// Another host's handle on the same store.
    pub fn peer(&self) -> Arc<Self> {
        Arc::new(ExpiringStore {
            inner: self.inner.clone(),
            shared: self.shared.clone(),
            down: AtomicBool::new(false),
            notify: self.notify,
            silent: Event::new(),
        })
    }

    /// Renewal calls so far, by every host.
    pub fn renewals(&self) -> usize {
        self.shared.renewals.load(Ordering::SeqCst)
    }

    /// Jobs rescued so far, by every host.
    pub fn rescued(&self) -> usize {
        self.shared.rescued.load(Ordering::SeqCst)
    }

    /// Makes every call fail as a cut network would (or work again).
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    /// Rescues job `id` now, as another host would after its lease expired.
    pub fn steal(&self, id: JobId) {
        let taken = self.shared.held.lock().expect("lock").remove(&id);
        if let Some((lease, _)) = taken {
            self.crash(&lease);
        }
    }

    /// Whether job `id` is held under a lease now.
    pub fn holds(&self, id: JobId) -> bool {
        self.shared.held.lock().expect("lock").contains_key(&id)
    }

    fn crash(&self, lease: &Lease) {
        let now = self.inner.now();
        let attempt = Attempt::failed(now, Duration::ZERO, CRASHED_CLASS, "lease expired");
        self.inner
            .retry(lease, now, attempt, None)
            .expect("rescue an expired lease");
        self.shared.rescued.fetch_add(1, Ordering::SeqCst);
    }

    fn up(&self) -> Result<()> {
        if self.down.load(Ordering::SeqCst) {
            return Err(Error::Unavailable("the network is cut".into()));
        }
        Ok(())
    }

    fn done(&self, lease: &Lease) {
        let mut held = self.shared.held.lock().expect("lock");
        if held.get(&lease.id()).is_some_and(|(l, _)| l == lease) {
            held.remove(&lease.id());
        }
    }
}

impl JobStore for ExpiringStore {
    fn now(&self) -> Timestamp {
        self.inner.now()
    }
    fn enqueue_batch(&self, jobs: Vec<NewJob>) -> Result<Vec<Enqueued>> {
        self.up()?;
        self.inner.enqueue_batch(jobs)
    }
    fn enqueue_with_state(
        &self,
        jobs: Vec<NewJob>,
        state: StateUpdate<'_>,
    ) -> Result<Vec<Enqueued>> {
        self.up()?;
        self.inner.enqueue_with_state(jobs, state)
    }
    fn enqueue_batch_async(&self, jobs: Vec<NewJob>) -> EnqueueFuture {
        Box::pin(self.inner.enqueue_batch_async(jobs))
    }
    fn claim(&self, queue: &str, max: usize) -> Result<Vec<Claimed>> {
        self.up()?;
        let claimed = self.inner.claim(queue, max)?;
        let until = self.now().saturating_add(self.shared.lease);
        let mut held = self.shared.held.lock().expect("lock");
        for c in &claimed {
            held.insert(c.job.id, (c.lease.clone(), until));
        }
        Ok(claimed)
    }
    fn complete(&self, lease: &Lease, state: Option<StateUpdate<'_>>) -> Result<()> {
        self.up()?;
        self.inner.complete(lease, state)?;
        self.done(lease);
        Ok(())
    }
    fn retry(
        &self,
        lease: &Lease,
        run_at: Timestamp,
        attempt: Attempt,
        state: Option<StateUpdate<'_>>,
    ) -> Result<()> {
        self.up()?;
        self.inner.retry(lease, run_at, attempt, state)?;
        self.done(lease);
        Ok(())
    }
    fn bury(&self, lease: &Lease, attempt: Attempt, state: Option<StateUpdate<'_>>) -> Result<()> {
        self.up()?;
        self.inner.bury(lease, attempt, state)?;
        self.done(lease);
        Ok(())
    }
    fn release(&self, lease: &Lease) -> Result<()> {
        self.up()?;
        self.inner.release(lease)?;
        self.done(lease);
        Ok(())
    }
    fn lease_duration(&self) -> Option<Duration> {
        Some(self.shared.lease)
    }
    fn renew(&self, leases: &[Lease]) -> Result<Vec<bool>> {
        self.up()?;
        self.shared.renewals.fetch_add(1, Ordering::SeqCst);
        let until = self.now().saturating_add(self.shared.lease);
        let mut held = self.shared.held.lock().expect("lock");
        Ok(leases
            .iter()
            .map(|lease| match held.get_mut(&lease.id()) {
                Some((l, t)) if l == lease => {
                    *t = until;
                    true
                }
                _ => false,
            })
            .collect())
    }
    fn rescue_expired(&self, queue: &str) -> Result<usize> {
        self.up()?;
        let now = self.now();
        let expired: Vec<Lease> = {
            let mut held = self.shared.held.lock().expect("lock");
            let ids: Vec<JobId> = held
                .iter()
                .filter(|(_, (l, until))| l.queue() == queue && *until <= now)
                .map(|(id, _)| *id)
                .collect();
            ids.iter()
                .filter_map(|id| held.remove(id).map(|(l, _)| l))
                .collect()
        };
        for lease in &expired {
            self.crash(lease);
        }
        Ok(expired.len())
    }
    fn cancel(&self, id: JobId) -> Result<Cancel> {
        self.inner.cancel(id)
    }
    fn delete_dead(&self, id: JobId) -> Result<()> {
        self.inner.delete_dead(id)
    }
    fn next_due(&self, queue: &str) -> Result<Option<Timestamp>> {
        self.up()?;
        self.inner.next_due(queue)
    }
    fn listen(&self) -> EventListener {
        self.inner.listen()
    }
    fn job(&self, id: JobId) -> Result<Option<(Job, JobState)>> {
        self.inner.job(id)
    }
    fn stats(&self) -> Result<Stats> {
        self.inner.stats()
    }
    fn jobs(&self, filter: &JobFilter, after: Option<JobCursor>, limit: usize) -> Result<JobPage> {
        self.inner.jobs(filter, after, limit)
    }
    fn dead_jobs(
        &self,
        filter: &DeadFilter,
        after: Option<DeadCursor>,
        limit: usize,
    ) -> Result<DeadPage> {
        self.inner.dead_jobs(filter, after, limit)
    }
    fn dead_job(&self, id: JobId) -> Result<Option<Job>> {
        self.inner.dead_job(id)
    }
    fn requeue(&self, which: &DeadSelector) -> Result<usize> {
        self.inner.requeue(which)
    }
    fn purge_dead(&self, age: Duration) -> Result<usize> {
        self.inner.purge_dead(age)
    }
    fn state(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.up()?;
        self.inner.state(key)
    }
    fn put_state(&self, key: &str, value: &[u8]) -> Result<()> {
        self.up()?;
        self.inner.put_state(key, value)
    }
    fn versioned_state(&self, key: &str) -> Result<Versioned> {
        self.up()?;
        self.inner.versioned_state(key)
    }
    fn put_state_if(&self, key: &str, value: &[u8], expect: u64) -> Result<()> {
        self.up()?;
        self.inner.put_state_if(key, value, expect)
    }
    fn listen_state(&self) -> EventListener {
        if self.notify {
            self.inner.listen_state()
        } else {
            self.silent.listen()
        }
    }
    fn take_tokens(&self, bucket: &str, rate: TokenRate, want: u32) -> Result<Tokens> {
        self.up()?;
        Ok(self.inner.take_tokens(bucket, rate, want))
    }
    fn return_tokens(&self, bucket: &str, n: u32) -> Result<()> {
        self.up()?;
        self.inner.return_tokens(bucket, n);
        Ok(())
    }
    fn flush(&self) -> Result<()> {
        self.inner.flush()
    }
    fn check_consistency(&self) -> Result<Consistency> {
        self.inner.check_consistency()
    }
}
