//! `enqueue`: the only durable-before-return transition.

use std::collections::HashMap;

use super::committer::Request;
use super::completion::{self, Completion, Outcome};
use super::{Batch, Shared, Store, WriteState};

use crate::keys::DuePos;
use crate::{DedupMode, Enqueued, Job, JobId, NewJob, Result, StateUpdate};

impl Store {
    /// Stores one job. Returns once it is on disk (with [`Durability::Sync`]); concurrent
    /// callers share one sync.
    ///
    /// [`Durability::Sync`]: crate::Durability::Sync
    pub fn enqueue(&self, job: NewJob) -> Result<Enqueued> {
        let mut out = self.enqueue_batch(vec![job])?;
        Ok(out.pop().expect("one result per request"))
    }

    /// Stores many jobs in one write and one sync: all of them, or (on error) none.
    /// Results come in request order.
    pub fn enqueue_batch(&self, jobs: Vec<NewJob>) -> Result<Vec<Enqueued>> {
        self.shared.admit(&jobs)?;
        self.committer.run(jobs)
    }

    /// [`enqueue_batch`](Store::enqueue_batch) with a named worker value in the same write:
    /// the jobs and the value are stored together or not at all. A scheduler stores its
    /// last fired tick this way, so a crash can neither lose a tick's job nor fire the
    /// tick again. The value is written even when every job was deduplicated.
    ///
    /// # Errors
    /// [`Error::StateConflict`](crate::Error::StateConflict) when the update expects a
    /// version the value no longer has: neither the jobs nor the value were written.
    pub fn enqueue_with_state(
        &self,
        jobs: Vec<NewJob>,
        state: StateUpdate<'_>,
    ) -> Result<Vec<Enqueued>> {
        self.shared.admit(&jobs)?;
        self.committer.run(Request {
            jobs,
            state: Some((state.key.to_owned(), state.value.to_owned(), state.expect)),
        })
    }

    /// [`enqueue`](Store::enqueue) for async callers: the future resolves once the job is
    /// written (and synced, with [`Durability::Sync`]), without blocking a thread
    /// meanwhile.
    ///
    /// [`Durability::Sync`]: crate::Durability::Sync
    pub fn enqueue_async(
        &self,
        job: NewJob,
    ) -> impl Future<Output = Result<Enqueued>> + Send + 'static {
        let batch = self.enqueue_batch_async(vec![job]);
        async move {
            let mut out = batch.await?;
            Ok(out.pop().expect("one result per request"))
        }
    }

    /// [`enqueue_batch`](Store::enqueue_batch) for async callers: the future resolves
    /// once the jobs are written (and synced, with [`Durability::Sync`]), without
    /// blocking a thread meanwhile. The call itself only checks the jobs and, now and
    /// then, the free space (one `statvfs`).
    ///
    /// [`Durability::Sync`]: crate::Durability::Sync
    ///
    /// The request is queued when this is called, not when the future is first polled;
    /// dropping the future does not withdraw it (the jobs are stored all the same, like
    /// a request whose client hung up). Concurrent async callers share one write and one
    /// sync, written by the store's committer thread.
    pub fn enqueue_batch_async(
        &self,
        jobs: Vec<NewJob>,
    ) -> impl Future<Output = Result<Vec<Enqueued>>> + Send + 'static {
        self.submit(jobs)
    }

    /// Hands the jobs to the committer, the one writer of every enqueue, blocking or not.
    fn submit(&self, jobs: Vec<NewJob>) -> Completion {
        match self.shared.admit(&jobs) {
            Ok(()) => self.committer.submit(jobs),
            Err(e) => completion::ready(Err(e)),
        }
    }
}

impl Shared {
    /// Checks what can be checked before queueing: job fields, payload size, disk space.
    fn admit(&self, jobs: &[NewJob]) -> Result<()> {
        let mut bytes = 0;
        for job in jobs {
            job.validate(self.opts.max_payload_bytes)?;
            bytes += job.approx_bytes();
        }
        self.space.admit(bytes)
    }

    /// Writes a group of enqueue requests as one batch and waits until it is durable;
    /// one outcome per request. A failed sync fails every request of the group: none of
    /// them may be acknowledged, though the batch may yet reach the disk.
    pub(super) fn write_durably(&self, requests: Vec<Request>) -> Vec<Outcome> {
        let (outcomes, ticket) = self.write_group(requests);
        let synced = match ticket {
            Some(t) => self.durable(t),
            None => Ok(()),
        };
        settle(outcomes, &synced)
    }

    /// Writes a group of enqueue requests as one batch; one outcome per request, and the
    /// group-commit ticket to wait for. A failed write fails every request of the group
    /// (the batch was all or nothing, so none of them was stored).
    ///
    /// A request whose worker value expects another version is refused on its own
    /// (neither its jobs nor its value are staged); the rest of the group is written.
    fn write_group(&self, requests: Vec<Request>) -> (Vec<Outcome>, Option<u64>) {
        let n = requests.len();
        // Per request: how many results it has, or its own refusal.
        let mut sizes: Vec<Result<usize>> = Vec::with_capacity(n);
        let written = (|| -> Result<(Vec<Enqueued>, u64)> {
            let mut st = self.lock();
            let mut staging = Staging::new(self);
            for request in requests {
                if let Some((key, value, expect)) = &request.state {
                    let update = StateUpdate {
                        key,
                        value,
                        expect: *expect,
                    };
                    if let Err(e) = staging.batch.put_state(&st, update) {
                        sizes.push(Err(e));
                        continue;
                    }
                }
                sizes.push(Ok(request.jobs.len()));
                for job in request.jobs {
                    staging.add(&mut st, job)?;
                }
            }
            staging.commit(&mut st)
        })();
        match written {
            Ok((results, ticket)) => {
                self.wake_workers();
                let mut results = results.into_iter();
                let outcomes = sizes
                    .into_iter()
                    .map(|size| size.map(|n| results.by_ref().take(n).collect()))
                    .collect();
                (outcomes, Some(ticket))
            }
            Err(e) => ((0..n).map(|_| Err(e.duplicate())).collect(), None),
        }
    }
}

/// Each request's outcome after the group's sync: its own error, else the sync's.
fn settle(outcomes: Vec<Outcome>, synced: &Result<()>) -> Vec<Outcome> {
    match synced {
        Ok(()) => outcomes,
        Err(e) => outcomes
            .into_iter()
            .map(|o| o.and(Err(e.duplicate())))
            .collect(),
    }
}

/// Builds the batch for a group of enqueue requests. Later requests see the jobs that
/// earlier requests of the same group created, so dedup keys work within one batch.
struct Staging<'s> {
    shared: &'s Shared,
    batch: Batch<'s>,
    now: crate::Timestamp,
    results: Vec<Enqueued>,
    /// Jobs this group may look up again by id (they hold a dedup key, or had their
    /// payload replaced), written at commit.
    touched: HashMap<JobId, Job>,
    /// Jobs without a dedup key: nothing looks them up, so no map (most jobs).
    created: Vec<Job>,
    /// Dedup keys claimed by this group: (queue, key) to id.
    dedup: HashMap<(String, String), JobId>,
    /// The lowest new due position per queue (consecutive jobs share one entry).
    cursor_moves: Vec<(String, DuePos)>,
}

impl<'s> Staging<'s> {
    fn new(shared: &'s Shared) -> Self {
        Staging {
            shared,
            batch: Batch::new(shared),
            now: shared.now(),
            results: Vec::new(),
            touched: HashMap::new(),
            created: Vec::new(),
            dedup: HashMap::new(),
            cursor_moves: Vec::new(),
        }
    }

    fn add(&mut self, st: &mut WriteState, req: NewJob) -> Result<()> {
        if let Some((key, mode)) = &req.dedup {
            let dk = (req.queue.clone(), key.clone());
            let holder = match self.dedup.get(&dk) {
                Some(&id) => Some(id),
                None => self.shared.dedup_holder(&req.queue, key)?,
            };
            if let Some(id) = holder {
                match mode {
                    DedupMode::KeepExisting => {
                        self.results.push(Enqueued::Existing(id));
                        return Ok(());
                    }
                    DedupMode::ReplacePayload if !st.running.contains_key(&id) => {
                        if let Some(job) = self.staged_or_stored(id)? {
                            job.payload = req.payload;
                            self.results.push(Enqueued::Replaced(id));
                            return Ok(());
                        }
                    }
                    // The holder is running with the old payload: a new job delivers the
                    // new one, and takes the key over.
                    DedupMode::ReplacePayload => {}
                }
            }
        }
        let id = crate::JobId::new(self.batch.next_seq(st));
        let run_at = req.run_at(self.now);
        let job = Job {
            id,
            queue: req.queue,
            kind: req.kind,
            payload: req.payload,
            dedup_key: req.dedup.map(|(k, _)| k),
            attempt: 0,
            crashes: 0,
            run_at,
            enqueued_at: self.now,
            last_error: None,
            dead_at: None,
            attempts: Vec::new(),
        };
        if let Some(key) = &job.dedup_key {
            self.batch.put_dedup(&job.queue, key, id);
            self.dedup.insert((job.queue.clone(), key.clone()), id);
        }
        let pos = DuePos { run_at, id };
        self.batch.put_due(&job.queue, pos);
        match self.cursor_moves.last_mut() {
            Some((queue, lowest)) if *queue == job.queue => *lowest = (*lowest).min(pos),
            _ => self.cursor_moves.push((job.queue.clone(), pos)),
        }
        let counts = self.batch.counts(st, &job.queue);
        counts.waiting += 1;
        counts.enqueued += 1;
        self.results.push(Enqueued::Created(id));
        if job.dedup_key.is_some() {
            self.touched.insert(id, job);
        } else {
            self.created.push(job);
        }
        Ok(())
    }

    /// The pending job `id`, from this group if it created it, else from disk.
    fn staged_or_stored(&mut self, id: JobId) -> Result<Option<&mut Job>> {
        if !self.touched.contains_key(&id) {
            match self.shared.read_job(id)? {
                Some(job) if job.dead_at.is_none() => {
                    self.touched.insert(id, job);
                }
                _ => return Ok(None),
            }
        }
        Ok(self.touched.get_mut(&id))
    }

    fn commit(mut self, st: &mut WriteState) -> Result<(Vec<Enqueued>, u64)> {
        for job in self.touched.values().chain(&self.created) {
            self.batch.put_job(job);
        }
        let ticket = self.batch.commit(st)?;
        for (queue, pos) in &self.cursor_moves {
            st.lower_cursor(queue, *pos);
        }
        Ok((self.results, ticket))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    #[test]
    fn a_failed_sync_fails_every_request_of_the_group() {
        let outcomes = vec![Ok(vec![Enqueued::Created(JobId::new(1))]), Ok(Vec::new())];
        let full = Err(Error::DiskFull {
            context: "test".into(),
        });
        let settled = settle(outcomes, &full);
        assert_eq!(settled.len(), 2);
        assert!(
            settled
                .iter()
                .all(|o| matches!(o, Err(Error::DiskFull { .. })))
        );
    }

    #[test]
    fn a_request_keeps_its_own_error_over_the_sync_result() {
        let own = Err(Error::Storage("own".into()));
        let settled = settle(vec![own, Ok(Vec::new())], &Ok(()));
        assert!(matches!(&settled[0], Err(Error::Storage(m)) if m == "own"));
        assert!(settled[1].is_ok());
    }
}
