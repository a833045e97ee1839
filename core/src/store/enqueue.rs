//! `enqueue`: the only durable-before-return transition.

use std::collections::HashMap;

use super::{Batch, Shared, Store, WriteState};

use crate::keys::DuePos;
use crate::{DedupMode, Enqueued, Job, JobId, NewJob, Result};

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
        let shared = &self.shared;
        let mut bytes = 0;
        for job in &jobs {
            job.validate(shared.opts.max_payload_bytes)?;
            bytes += job.approx_bytes();
        }
        shared.space.admit(bytes)?;
        shared.writes.submit(
            jobs,
            |requests| shared.write_group(requests),
            |ticket| match ticket {
                Some(t) => shared.durable(t),
                None => Ok(()),
            },
        )
    }
}

impl Shared {
    /// Writes a group of enqueue requests as one batch; one outcome per request, and the
    /// group-commit ticket to wait for. A failed write fails every request of the group
    /// (the batch was all or nothing, so none of them was stored).
    fn write_group(&self, requests: Vec<Vec<NewJob>>) -> (Vec<Result<Vec<Enqueued>>>, Option<u64>) {
        let sizes: Vec<usize> = requests.iter().map(Vec::len).collect();
        let written = (|| -> Result<(Vec<Enqueued>, u64)> {
            let mut st = self.lock();
            let mut staging = Staging::new(self);
            for job in requests.into_iter().flatten() {
                staging.add(&mut st, job)?;
            }
            staging.commit(&mut st)
        })();
        match written {
            Ok((results, ticket)) => {
                self.wake_workers();
                let mut results = results.into_iter();
                let outcomes = sizes
                    .iter()
                    .map(|&n| Ok(results.by_ref().take(n).collect()))
                    .collect();
                (outcomes, Some(ticket))
            }
            Err(e) => (sizes.iter().map(|_| Err(e.duplicate())).collect(), None),
        }
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
