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

mod actor;

use std::collections::HashSet;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::{Backend, clock};
use crate::{JobId, JobStore, Lease, QueueCounts, Result};
use actor::{Actor, Rng};

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
        let stats = || {
            store
                .stats()
                .unwrap_or_else(|e| fail(format!("stats: {e}")))
                .total
        };
        let states_are = |want: &[Option<Vec<u8>>], when: &str| {
            for (t, want) in want.iter().enumerate() {
                let got = store.state(&state_key(t));
                let got = got.unwrap_or_else(|e| fail(format!("state: {e}")));
                if got != *want {
                    fail(format!(
                        "state of thread {t} is {got:?} {when}, not {want:?}"
                    ));
                }
            }
        };
        check(&*store).unwrap_or_else(|e| fail(format!("after reopen: {e}")));
        states_are(&states, "after reopen");
        let before = stats();
        shared.start_round();
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
        shared.end_round();
        shared
            .account(&before, &stats())
            .unwrap_or_else(|e| fail(e));
        if let Some(e) = shared.violations.lock().expect("tally").first() {
            fail(e.clone());
        }
        states_are(&states, "after the round");
        // Dropped like a crashed process: jobs still running are rescued at the reopen.
    }
    // Shown with `--nocapture`: what a long run did.
    eprintln!(
        "concurrent model, seed {seed}: {rounds} rounds of {THREADS} threads x \
         {OPS_PER_THREAD} operations: {}",
        shared.summary()
    );
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
    /// The five sums above when the round started.
    at_round_start: Mutex<[u64; 5]>,
    /// Requeues by id refused because the job was no longer dead.
    refused_requeues: AtomicU64,
    /// Outcomes refused for a stale lease.
    stale_leases: AtomicU64,
    /// Leases any thread may use: (lease, the round it was claimed in).
    leases: Mutex<Vec<(Lease, u64)>>,
    /// Tokens of leases that were honoured once.
    honoured: Mutex<HashSet<u64>>,
    /// Ids recently buried, which requeues aim at so that they meet.
    buried_ids: Mutex<Vec<JobId>>,
    /// Ids recently created, which cancels aim at.
    created_ids: Mutex<Vec<JobId>>,
    /// Tokens of claims a cancel marked this round, and of claims whose retry or release
    /// was honoured this round: a claim in both was buried as `cancelled` by its outcome.
    marked: Mutex<HashSet<u64>>,
    retried_or_released: Mutex<HashSet<u64>>,
    violations: Mutex<Vec<String>>,
}

impl Tally {
    /// Created, completed, buried, requeued and purged, as the answers said.
    fn told(&self) -> [u64; 5] {
        [
            &self.created,
            &self.completed,
            &self.buried,
            &self.requeued,
            &self.purged,
        ]
        .map(|n| n.load(Ordering::SeqCst))
    }

    fn start_round(&self) {
        self.marked.lock().expect("tally").clear();
        self.retried_or_released.lock().expect("tally").clear();
        *self.at_round_start.lock().expect("tally") = self.told();
    }

    /// Counts, once the round's threads are done, the marked claims whose retry or
    /// release buried them.
    fn end_round(&self) {
        let marked = self.marked.lock().expect("tally");
        let ended = self.retried_or_released.lock().expect("tally");
        let n = marked.intersection(&ended).count() as u64;
        self.buried.fetch_add(n, Ordering::SeqCst);
    }

    fn account(&self, s0: &QueueCounts, s1: &QueueCounts) -> std::result::Result<(), String> {
        let start = *self.at_round_start.lock().expect("tally");
        let mut told = self.told();
        for (n, s) in told.iter_mut().zip(start) {
            *n -= s;
        }
        let [created, completed, buried, requeued, purged] = told;
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

    /// What the whole run did, for the record.
    fn summary(&self) -> String {
        let [created, completed, buried, requeued, purged] = self.told();
        let get = |n: &AtomicU64| n.load(Ordering::SeqCst);
        format!(
            "{created} jobs created, {completed} completed, {buried} buried, {requeued} \
             requeued, {purged} purged; {} requeues by id refused (no longer dead), {} \
             outcomes refused for a stale lease",
            get(&self.refused_requeues),
            get(&self.stale_leases)
        )
    }

    fn violation(&self, what: String) {
        self.violations.lock().expect("tally").push(what);
    }
}
