//! The concurrent model run: several threads drive one store with random operations at
//! once, then the store's own consistency check and an account of what the threads saw
//! must agree.
//!
//! Why not a model that predicts every answer, as the single-threaded model test does:
//! with threads the order of the operations is the scheduler's, so nothing outside the
//! store knows which of two requeues of one job should win. What must hold whatever the
//! order is checked instead, at the end of every round when all threads have joined:
//!
//! - the backend's [`check_consistency`](crate::JobStore::check_consistency) finds
//!   nothing (counters equal a scan, one due key per pending job, one lease per running
//!   job, nothing both dead and live, dedup entries name live holders);
//! - the counters moved exactly as the answers said: jobs created, completed, buried,
//!   requeued and purged, as reported to the callers, account for every change of
//!   `enqueued`, `completed`, `dead` and the live total;
//! - no lease was honoured twice, and none from before a reopen after it;
//! - each thread's worker state is the last value one of its successful writes stored.
//!
//! Between rounds the store is dropped and reopened (jobs still running are rescued).
//! The operations of each thread come from a seed, printed on failure;
//! `TENAX_MODEL_SEED` replays the same operations (the interleaving is the scheduler's),
//! `TENAX_MODEL_ROUNDS` runs longer (default 4 rounds).

use std::collections::HashSet;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{Backend, block_on, clock};
use crate::{
    DeadFilter, DeadSelector, DedupMode, Enqueued, Error, JobError, JobId, JobStore, Lease,
    ManualClock, NewJob, QueueCounts, Result, StateUpdate, Timestamp,
};

const THREADS: usize = 4;
const OPS_PER_THREAD: usize = 400;
const QUEUES: [&str; 2] = ["default", "other"];

/// Runs the concurrent model on `b` (a conformance case).
pub(super) fn concurrent_model<B: Backend>(b: &mut B) -> Result<()> {
    let seed =
        env_u64("TENAX_MODEL_SEED").unwrap_or_else(|| RandomState::new().build_hasher().finish());
    let rounds = env_u64("TENAX_MODEL_ROUNDS").unwrap_or(4);
    let clock = clock();
    let shared = Arc::new(Tally::default());
    let mut states: Vec<Option<Vec<u8>>> = vec![None; THREADS];
    for round in 0..rounds {
        let store = Arc::new(b.open(clock.clone()));
        let fail = |what: String| -> ! {
            panic!("concurrent model, seed {seed} (TENAX_MODEL_SEED={seed}), round {round}: {what}")
        };
        check(&*store).unwrap_or_else(|e| fail(format!("after reopen: {e}")));
        for (t, want) in states.iter().enumerate() {
            let got = store.state(&state_key(t))?;
            if got != *want {
                fail(format!(
                    "state of thread {t} is {got:?} after reopen, not {want:?}"
                ));
            }
        }
        let before = store.stats()?.total;
        shared.start_round(round);
        let threads: Vec<_> = (0..THREADS)
            .map(|t| {
                let actor = Actor {
                    store: store.clone(),
                    tally: shared.clone(),
                    clock: clock.clone(),
                    rng: Rng::new(seed ^ (round << 8) ^ t as u64),
                    thread: t,
                    generation: round,
                    state: states[t].clone(),
                };
                std::thread::spawn(move || actor.run())
            })
            .collect();
        for (t, thread) in threads.into_iter().enumerate() {
            match thread.join() {
                Ok(Ok(state)) => states[t] = state,
                Ok(Err(e)) => fail(format!("thread {t}: {e}")),
                Err(_) => fail(format!("thread {t} panicked")),
            }
        }
        check(&*store).unwrap_or_else(|e| fail(e));
        let after = store.stats()?.total;
        shared.account(&before, &after).unwrap_or_else(|e| fail(e));
        if let Some(e) = shared.violations.lock().expect("tally").first() {
            fail(e.clone());
        }
        for (t, want) in states.iter().enumerate() {
            let got = store.state(&state_key(t))?;
            if got != *want {
                fail(format!(
                    "state of thread {t} is {got:?}, its last write was {want:?}"
                ));
            }
        }
        // Dropped like a crashed process: jobs still running are rescued at the reopen.
    }
    Ok(())
}

fn check(store: &dyn JobStore) -> std::result::Result<(), String> {
    let report = store.check_consistency().map_err(|e| e.to_string())?;
    if report.is_consistent() {
        Ok(())
    } else {
        Err(report.to_string())
    }
}

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    Some(
        v.parse()
            .unwrap_or_else(|_| panic!("{name} must be a number, got {v:?}")),
    )
}

fn state_key(thread: usize) -> String {
    format!("model-thread-{thread}")
}

/// What the threads were told, summed; checked against the counters after each round.
#[derive(Default)]
struct Tally {
    created: AtomicU64,
    completed: AtomicU64,
    buried: AtomicU64,
    requeued: AtomicU64,
    purged: AtomicU64,
    /// Leases any thread may use: (lease, the round it was claimed in).
    leases: Mutex<Vec<(Lease, u64)>>,
    /// Tokens of leases that were honoured once.
    honoured: Mutex<HashSet<u64>>,
    /// Ids recently buried, which requeues aim at so that they meet.
    buried_ids: Mutex<Vec<JobId>>,
    violations: Mutex<Vec<String>>,
}

impl Tally {
    fn start_round(&self, _round: u64) {
        for n in [
            &self.created,
            &self.completed,
            &self.buried,
            &self.requeued,
            &self.purged,
        ] {
            n.store(0, Ordering::SeqCst);
        }
    }

    fn account(&self, s0: &QueueCounts, s1: &QueueCounts) -> std::result::Result<(), String> {
        let get = |n: &AtomicU64| n.load(Ordering::SeqCst);
        let (created, completed) = (get(&self.created), get(&self.completed));
        let (buried, requeued, purged) =
            (get(&self.buried), get(&self.requeued), get(&self.purged));
        let delta = |a: u64, b: u64| i128::from(b) - i128::from(a);
        let sum = |v: &[(u64, i128)]| v.iter().map(|(n, s)| i128::from(*n) * s).sum::<i128>();
        let checks = [
            (
                "enqueued",
                delta(s0.enqueued, s1.enqueued),
                sum(&[(created, 1)]),
            ),
            (
                "completed",
                delta(s0.completed, s1.completed),
                sum(&[(completed, 1)]),
            ),
            (
                "dead",
                delta(s0.dead, s1.dead),
                sum(&[(buried, 1), (requeued, -1), (purged, -1)]),
            ),
            (
                "live",
                delta(s0.live(), s1.live()),
                sum(&[(created, 1), (completed, -1), (buried, -1), (requeued, 1)]),
            ),
        ];
        for (name, moved, told) in checks {
            if moved != told {
                return Err(format!(
                    "`{name}` moved by {moved} but the answers account for {told} (created \
                     {created}, completed {completed}, buried {buried}, requeued {requeued}, \
                     purged {purged})"
                ));
            }
        }
        Ok(())
    }

    fn violation(&self, what: String) {
        self.violations.lock().expect("tally").push(what);
    }
}

/// One thread's operations.
struct Actor<S> {
    store: Arc<S>,
    tally: Arc<Tally>,
    clock: ManualClock,
    rng: Rng,
    thread: usize,
    generation: u64,
    /// The value of this thread's state key after its last successful write.
    state: Option<Vec<u8>>,
}

impl<S: JobStore> Actor<S> {
    fn run(mut self) -> Result<Option<Vec<u8>>> {
        for _ in 0..OPS_PER_THREAD {
            self.step()?;
        }
        Ok(self.state)
    }

    fn step(&mut self) -> Result<()> {
        let store = self.store.clone();
        let s = &*store;
        match self.rng.below(100) {
            0..=9 => self.enqueue(1, false)?,
            10..=14 => {
                let n = 2 + self.rng.below(4) as usize;
                self.enqueue(n, false)?;
            }
            15..=21 => {
                let n = 1 + self.rng.below(3) as usize;
                self.enqueue(n, true)?;
            }
            22..=35 => {
                let queue = QUEUES[self.rng.below(2) as usize];
                let got = s.claim(queue, 1 + self.rng.below(4) as usize)?;
                let mut leases = self.tally.leases.lock().expect("leases");
                leases.extend(got.into_iter().map(|c| (c.lease, self.generation)));
            }
            36..=47 => self.outcome(Outcome::Complete)?,
            48..=55 => self.outcome(Outcome::Retry)?,
            56..=65 => self.outcome(Outcome::Bury)?,
            66..=70 => self.outcome(Outcome::Release)?,
            71..=82 => {
                let Some(id) = self.recently_buried() else {
                    return Ok(());
                };
                // Several threads aim at the same few ids, so their requeues meet.
                match s.requeue(&DeadSelector::Ids(vec![id])) {
                    Ok(n) => self.tally.requeued.fetch_add(n as u64, Ordering::SeqCst),
                    Err(Error::NotFound { .. }) => 0,
                    Err(e) => return Err(e),
                };
            }
            83..=85 => {
                let filter = match self.rng.below(3) {
                    0 => DeadFilter::default().queue(QUEUES[1]),
                    1 => DeadFilter::default().class("permanent"),
                    _ => DeadFilter::default().kind("model"),
                };
                let n = s.requeue(&DeadSelector::Filter(filter))?;
                self.tally.requeued.fetch_add(n as u64, Ordering::SeqCst);
            }
            86..=87 => {
                let n = s.requeue(&DeadSelector::All)?;
                self.tally.requeued.fetch_add(n as u64, Ordering::SeqCst);
            }
            88..=91 => {
                let age = Duration::from_millis(self.rng.below(3) * 1_000);
                let n = s.purge_dead(age)?;
                self.tally.purged.fetch_add(n as u64, Ordering::SeqCst);
            }
            92..=95 => {
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
            // Mostly the newest leases, so that threads meet on them.
            let recent = leases.len().min(6) as u64;
            leases[leases.len() - 1 - self.rng.below(recent) as usize].clone()
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
        let update = value.as_deref().map(|v| StateUpdate {
            key: &key,
            value: v,
        });
        let result = match kind {
            Outcome::Complete => s.complete(&lease, update),
            Outcome::Retry => {
                let ms = self.rng.below(3_000);
                let run_at = if ms < 1_000 {
                    Timestamp::from_millis(now.as_millis().saturating_sub(ms))
                } else {
                    now.saturating_add(Duration::from_millis(ms - 1_000))
                };
                s.retry(&lease, run_at, error("transient"), update)
            }
            Outcome::Bury => s.bury(&lease, error("permanent"), update),
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
                    Outcome::Retry | Outcome::Release => 0,
                };
                if value.is_some() {
                    self.state = value;
                }
            }
            Err(Error::StaleLease { .. }) => {}
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
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
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
