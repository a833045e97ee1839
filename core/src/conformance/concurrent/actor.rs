//! One thread of the concurrent model: random operations from a seeded generator.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::{OPS_PER_THREAD, QUEUES, Tally, state_key};
use crate::conformance::block_on;
use crate::{
    Cancel, DeadFilter, DeadSelector, DedupMode, Enqueued, Error, JobError, JobId, JobStore,
    ManualClock, NewJob, Result, StateUpdate, Timestamp,
};

/// One thread's operations.
pub(super) struct Actor<S> {
    pub(super) store: Arc<S>,
    pub(super) tally: Arc<Tally>,
    pub(super) clock: ManualClock,
    pub(super) rng: Rng,
    pub(super) thread: usize,
    pub(super) generation: u64,
    /// The value of this thread's state key after its last successful write.
    pub(super) state: Option<Vec<u8>>,
}

impl<S: JobStore> Actor<S> {
    pub(super) fn run(mut self) -> Result<Option<Vec<u8>>> {
        for _ in 0..OPS_PER_THREAD {
            self.step()?;
        }
        Ok(self.state)
    }

    fn step(&mut self) -> Result<()> {
        let store = self.store.clone();
        let s = &*store;
        match self.rng.below(100) {
            0..=5 => self.enqueue(1, false)?,
            6..=8 => {
                let n = 2 + self.rng.below(3) as usize;
                self.enqueue(n, false)?;
            }
            9..=13 => {
                let n = 1 + self.rng.below(3) as usize;
                self.enqueue(n, true)?;
            }
            14..=29 => {
                let queue = QUEUES[self.rng.below(2) as usize];
                // Claim more while few leases are out, so that the queue neither
                // grows without bound nor stays empty.
                let out = self.tally.leases.lock().expect("leases").len() as u64;
                let max = 1 + self.rng.below(if out < 16 { 8 } else { 2 });
                let got = s.claim(queue, max as usize)?;
                let mut leases = self.tally.leases.lock().expect("leases");
                leases.extend(got.into_iter().map(|c| (c.lease, self.generation)));
            }
            30..=47 => self.outcome(Outcome::Complete)?,
            48..=53 => self.outcome(Outcome::Retry)?,
            54..=61 => self.outcome(Outcome::Bury)?,
            62..=65 => self.outcome(Outcome::Release)?,
            66..=79 => {
                let Some(id) = self.recently_buried() else {
                    return Ok(());
                };
                // Several threads aim at the same few ids, so their requeues meet; now
                // and then two ids at once (all or none; possibly the same one twice).
                let mut ids = vec![id];
                if self.rng.below(4) == 0 {
                    ids.extend(self.recently_buried());
                }
                match s.requeue(&DeadSelector::Ids(ids)) {
                    Ok(n) => self.tally.requeued.fetch_add(n as u64, Ordering::SeqCst),
                    Err(Error::NotFound { .. }) => {
                        self.tally.refused_requeues.fetch_add(1, Ordering::SeqCst)
                    }
                    Err(e) => return Err(e),
                };
            }
            80..=82 => {
                let filter = match self.rng.below(3) {
                    0 => DeadFilter::default().queue(QUEUES[1]),
                    1 => DeadFilter::default().class("permanent"),
                    _ => DeadFilter::default().kind("model"),
                };
                let n = s.requeue(&DeadSelector::Filter(filter))?;
                self.tally.requeued.fetch_add(n as u64, Ordering::SeqCst);
            }
            83..=84 => {
                let n = s.requeue(&DeadSelector::All)?;
                self.tally.requeued.fetch_add(n as u64, Ordering::SeqCst);
            }
            85..=88 => {
                let age = Duration::from_millis(self.rng.below(3) * 1_000);
                let n = s.purge_dead(age)?;
                self.tally.purged.fetch_add(n as u64, Ordering::SeqCst);
            }
            89..=91 => self.cancel()?,
            92 => {
                // Deleting a dead letter: aimed at the ids requeues aim at, so they meet.
                let Some(id) = self.recently_buried() else {
                    return Ok(());
                };
                match s.delete_dead(id) {
                    Ok(()) => self.tally.purged.fetch_add(1, Ordering::SeqCst),
                    Err(Error::NotFound { .. }) => 0,
                    Err(e) => return Err(e),
                };
            }
            93..=94 => {
                let value = self.next_state_value();
                s.put_state(&state_key(self.thread), &value)?;
                self.state = Some(value);
            }
            _ => self
                .clock
                .advance(Duration::from_millis(self.rng.below(1_500))),
        }
        Ok(())
    }

    fn enqueue(&mut self, n: usize, asynchronous: bool) -> Result<()> {
        let jobs: Vec<NewJob> = (0..n).map(|_| self.new_job()).collect();
        let out = if asynchronous {
            block_on(self.store.enqueue_batch_async(jobs))?
        } else {
            self.store.enqueue_batch(jobs)?
        };
        let created = out
            .iter()
            .filter(|e| matches!(e, Enqueued::Created(_)))
            .count();
        self.tally
            .created_ids
            .lock()
            .expect("ids")
            .extend(out.iter().map(|e| e.id()));
        self.tally
            .created
            .fetch_add(created as u64, Ordering::SeqCst);
        Ok(())
    }

    fn new_job(&mut self) -> NewJob {
        let payload = self.rng.next().to_be_bytes().to_vec();
        let mut job = NewJob::new("model", payload).with_queue(QUEUES[self.rng.below(2) as usize]);
        if self.rng.below(4) == 0 {
            job = job.with_delay(Duration::from_millis(self.rng.below(2_000)));
        }
        if self.rng.below(2) == 0 {
            let mode = if self.rng.below(2) == 0 {
                DedupMode::KeepExisting
            } else {
                DedupMode::ReplacePayload
            };
            job = job.with_dedup_key(format!("key-{}", self.rng.below(3)), mode);
        }
        job
    }

    /// Cancels a recently created job (pending, running, dead or gone): a pending one is
    /// buried at once; a running one's claim is marked, and its retry or release buries
    /// it (counted when the round ends).
    fn cancel(&mut self) -> Result<()> {
        let id = {
            let ids = self.tally.created_ids.lock().expect("ids");
            let recent = ids.len().min(16);
            let pick = self.rng.below(recent as u64 + 1) as usize;
            ids.get(ids.len().wrapping_sub(1 + pick)).copied()
        };
        let Some(id) = id else {
            return Ok(());
        };
        match self.store.cancel(id) {
            Ok(Cancel::Buried) => {
                self.tally.buried_ids.lock().expect("ids").push(id);
                self.tally.buried.fetch_add(1, Ordering::SeqCst);
            }
            Ok(Cancel::Marked { token }) => {
                self.tally.marked.lock().expect("marked").insert(token);
            }
            Ok(Cancel::AlreadyDead) | Err(Error::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
        Ok(())
    }

    fn recently_buried(&mut self) -> Option<JobId> {
        let ids = self.tally.buried_ids.lock().expect("buried ids");
        let recent = ids.len().min(8);
        let pick = self.rng.below(recent as u64 + 1) as usize;
        ids.get(ids.len().wrapping_sub(1 + pick)).copied()
    }

    fn next_state_value(&mut self) -> Vec<u8> {
        format!("{}-{}", self.thread, self.rng.next()).into_bytes()
    }

    /// An outcome with a lease from the shared pool: live, or stale because another
    /// thread already used it or it is from before a reopen.
    fn outcome(&mut self, kind: Outcome) -> Result<()> {
        let (lease, generation) = {
            let leases = self.tally.leases.lock().expect("leases");
            if leases.is_empty() {
                return Ok(());
            }
            // Half the time one of the newest leases, so that threads meet on them.
            let among = match self.rng.below(2) {
                0 => leases.len().min(6),
                _ => leases.len(),
            };
            leases[leases.len() - 1 - self.rng.below(among as u64) as usize].clone()
        };
        let store = self.store.clone();
        let s = &*store;
        let now = s.now();
        let error = |class: &str| JobError {
            class: class.into(),
            message: format!("{class} in the model"),
            at: now,
        };
        let mut value = None;
        if self.rng.below(3) == 0 && !matches!(kind, Outcome::Release) {
            value = Some(self.next_state_value());
        }
        let key = state_key(self.thread);
        let update = value.as_deref().map(|v| StateUpdate::new(&key, v));
        let result = match kind {
            Outcome::Complete => s.complete(&lease, update),
            Outcome::Retry => {
                let ms = self.rng.below(3_000);
                let run_at = if ms < 1_000 {
                    Timestamp::from_millis(now.as_millis().saturating_sub(ms))
                } else {
                    now.saturating_add(Duration::from_millis(ms - 1_000))
                };
                s.retry(&lease, run_at, error("transient").into(), update)
            }
            Outcome::Bury => s.bury(&lease, error("permanent").into(), update),
            Outcome::Release => s.release(&lease),
        };
        match result {
            Ok(()) => {
                if !self
                    .tally
                    .honoured
                    .lock()
                    .expect("tokens")
                    .insert(lease.token())
                {
                    self.tally.violation(format!(
                        "lease {} of job {} was honoured twice",
                        lease.token(),
                        lease.id()
                    ));
                }
                if generation != self.generation {
                    self.tally.violation(format!(
                        "lease {} from round {generation} was honoured in round {}",
                        lease.token(),
                        self.generation
                    ));
                }
                match kind {
                    Outcome::Complete => self.tally.completed.fetch_add(1, Ordering::SeqCst),
                    Outcome::Bury => {
                        self.tally.buried_ids.lock().expect("ids").push(lease.id());
                        self.tally.buried.fetch_add(1, Ordering::SeqCst)
                    }
                    Outcome::Retry | Outcome::Release => {
                        let mut ended = self.tally.retried_or_released.lock().expect("ended");
                        ended.insert(lease.token());
                        0
                    }
                };
                if value.is_some() {
                    self.state = value;
                }
            }
            Err(Error::StaleLease { .. }) => {
                self.tally.stale_leases.fetch_add(1, Ordering::SeqCst);
            }
            Err(e) => return Err(e),
        }
        let mut leases = self.tally.leases.lock().expect("leases");
        leases.retain(|(l, _)| l.token() != lease.token());
        Ok(())
    }
}

#[derive(Clone, Copy)]
enum Outcome {
    Complete,
    Retry,
    Bury,
    Release,
}

/// A small seeded generator (splitmix64): the suite needs no random-number crate.
pub(super) struct Rng(u64);

impl Rng {
    pub(super) fn new(seed: u64) -> Self {
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}
