//! Model-based property test: random sequences of store operations against a simple
//! in-memory model (a `BTreeMap` of jobs), in the manner of redb's fuzzer.
//!
//! The operations: enqueue (one or a batch; with a delay, a dedup key in either mode,
//! one of two queues), claim, complete / retry / bury / release of a held lease, an
//! outcome with a stale lease, requeue of one dead job (or of a job that is not dead)
//! or of all, purge of old dead jobs, a clock move (mostly forward, sometimes back), and
//! a reopen that drops the store with jobs running (they are rescued: pending again with
//! the attempt and crash counted, or buried as `crashed` at the crash limit; every lease
//! from before is stale).
//!
//! After every step `stats()` (per-queue counts and head), `next_due`, the dead letter
//! listing and every stored job must match the model. A claim must return exactly the
//! due jobs the model predicts, in `(run_at, id)` order, and an outcome with a stale
//! lease must get `Error::StaleLease`. At the end everything is drained, every dedup
//! key must be free again, and every job ever created must have completed exactly once
//! or been purged from the dead letter queue: nothing lost, nothing run twice.
//!
//! Each property runs 32 cases; `PROPTEST_CASES=2000` makes a longer run.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use proptest::sample::Index;
use tempfile::TempDir;
use tenax_core::{
    CRASHED_CLASS, DeadFilter, DeadSelector, DedupMode, Durability, Enqueued, Error, Job, JobError,
    JobId, JobState, Lease, ManualClock, NewJob, QueueCounts, Store, StoreOptions, Timestamp,
};

const QUEUES: [&str; 2] = ["alpha", "beta"];
const T0: u64 = 1_700_000_000_000;
const KIND: &str = "model";
/// Few keys, so that requests often clash.
const DEDUP_KEYS: u8 = 2;

/// One enqueue request.
#[derive(Clone, Debug)]
struct Req {
    queue: usize,
    delay_ms: Option<u64>,
    dedup: Option<(u8, DedupMode)>,
}

/// One step. Indexes pick among the leases (or jobs) that exist when the step runs; a
/// step with nothing to pick from does nothing.
#[derive(Clone, Debug)]
enum Op {
    Enqueue(Req),
    EnqueueBatch(Vec<Req>),
    Claim {
        queue: usize,
        max: usize,
    },
    Complete(Index),
    /// Retry due at now plus this many milliseconds (negative: already due).
    Retry(Index, i64),
    Bury(Index),
    Release(Index),
    /// An outcome (complete, retry, bury, release by the number) with a stale lease.
    Stale(Index, u8),
    /// Requeue one id: a dead one if the flag is set and there is one, else any id.
    RequeueOne(Index, bool),
    RequeueAll,
    Purge(u64),
    Advance(u64),
    /// Sets the clock back by this many milliseconds: wall clocks do step back.
    StepBack(u64),
    Reopen,
}

fn req() -> impl Strategy<Value = Req> {
    let mode = prop_oneof![
        Just(DedupMode::KeepExisting),
        Just(DedupMode::ReplacePayload)
    ];
    (
        0..QUEUES.len(),
        prop::option::weighted(0.3, 0u64..3_000),
        prop::option::of((0..DEDUP_KEYS, mode)),
    )
        .prop_map(|(queue, delay_ms, dedup)| Req {
            queue,
            delay_ms,
            dedup,
        })
}

/// One step; `reopens` is the weight of a reopen against the others (Claim has 4).
fn op(reopens: u32) -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => req().prop_map(Op::Enqueue),
        2 => prop::collection::vec(req(), 0..=5).prop_map(Op::EnqueueBatch),
        4 => (0..QUEUES.len(), 0usize..=4).prop_map(|(queue, max)| Op::Claim { queue, max }),
        3 => any::<Index>().prop_map(Op::Complete),
        2 => (any::<Index>(), -2_000i64..3_000).prop_map(|(i, d)| Op::Retry(i, d)),
        1 => any::<Index>().prop_map(Op::Bury),
        1 => any::<Index>().prop_map(Op::Release),
        1 => (any::<Index>(), 0u8..4).prop_map(|(i, k)| Op::Stale(i, k)),
        1 => (any::<Index>(), any::<bool>()).prop_map(|(i, d)| Op::RequeueOne(i, d)),
        1 => Just(Op::RequeueAll),
        1 => prop_oneof![Just(0u64), 0u64..5_000].prop_map(Op::Purge),
        2 => prop_oneof![Just(0u64), 1u64..3_000].prop_map(Op::Advance),
        1 => (1u64..2_000).prop_map(Op::StepBack),
        reopens => Just(Op::Reopen),
    ]
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Pending,
    Running,
    Dead { at: u64 },
}

#[derive(Clone, Debug)]
struct MJob {
    queue: usize,
    payload: Vec<u8>,
    dedup_key: Option<String>,
    attempt: u32,
    crashes: u32,
    run_at: u64,
    last_error: Option<String>,
    state: State,
}

/// What a stored job must look like; built from the store and from the model.
#[derive(Clone, Debug, PartialEq, Eq)]
struct View {
    queue: String,
    kind: String,
    payload: Vec<u8>,
    dedup_key: Option<String>,
    attempt: u32,
    crashes: u32,
    run_at: u64,
    last_error: Option<String>,
    dead_at: Option<u64>,
}

fn view(job: &Job) -> View {
    View {
        queue: job.queue.clone(),
        kind: job.kind.clone(),
        payload: job.payload.clone(),
        dedup_key: job.dedup_key.clone(),
        attempt: job.attempt,
        crashes: job.crashes,
        run_at: job.run_at.as_millis(),
        last_error: job.last_error.as_ref().map(|e| e.class.clone()),
        dead_at: job.dead_at.map(Timestamp::as_millis),
    }
}

/// The expected result of one enqueue request; `Created` ids come from the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    Created,
    Existing(u64),
    Replaced(u64),
}

/// The reference: what the store must hold, as plainly as possible.
#[derive(Debug)]
struct Model {
    now: u64,
    crash_limit: u32,
    jobs: BTreeMap<u64, MJob>,
    /// Which live job holds each (queue, dedup key).
    dedup: BTreeMap<(usize, String), u64>,
    enqueued: [u64; 2],
    completed: [u64; 2],
    /// Every id the store created, in order.
    created: BTreeSet<u64>,
    /// How many times each job completed.
    completions: BTreeMap<u64, u32>,
    purged: BTreeSet<u64>,
}

impl Model {
    fn new(crash_limit: u32) -> Self {
        Model {
            now: T0,
            crash_limit,
            jobs: BTreeMap::new(),
            dedup: BTreeMap::new(),
            enqueued: [0; 2],
            completed: [0; 2],
            created: BTreeSet::new(),
            completions: BTreeMap::new(),
            purged: BTreeSet::new(),
        }
    }

    fn view(&self, id: u64) -> View {
        let j = &self.jobs[&id];
        View {
            queue: QUEUES[j.queue].to_owned(),
            kind: KIND.to_owned(),
            payload: j.payload.clone(),
            dedup_key: j.dedup_key.clone(),
            attempt: j.attempt,
            crashes: j.crashes,
            run_at: j.run_at,
            last_error: j.last_error.clone(),
            dead_at: match j.state {
                State::Dead { at } => Some(at),
                _ => None,
            },
        }
    }

    /// What the store must answer to `req`; applies everything but a creation.
    fn expect_enqueue(&mut self, req: &Req, payload: &[u8]) -> Expect {
        if let Some((k, mode)) = req.dedup
            && let Some(&holder) = self.dedup.get(&(req.queue, dedup_key(k)))
        {
            let job = self.jobs.get_mut(&holder).expect("dedup holder is stored");
            assert!(
                !matches!(job.state, State::Dead { .. }),
                "model: a dead job holds a dedup key"
            );
            match mode {
                DedupMode::KeepExisting => return Expect::Existing(holder),
                DedupMode::ReplacePayload if job.state == State::Pending => {
                    job.payload = payload.to_vec();
                    return Expect::Replaced(holder);
                }
                // Running with the old payload: a new job delivers the new one.
                _ => {}
            }
        }
        Expect::Created
    }

    fn create(&mut self, id: u64, req: &Req, payload: Vec<u8>) {
        if let Some(&last) = self.created.last() {
            assert!(id > last, "job ids increase: {id} after {last}");
        }
        self.created.insert(id);
        let dedup_key = req.dedup.map(|(k, _)| dedup_key(k));
        if let Some(key) = &dedup_key {
            self.dedup.insert((req.queue, key.clone()), id);
        }
        self.enqueued[req.queue] += 1;
        self.jobs.insert(
            id,
            MJob {
                queue: req.queue,
                payload,
                dedup_key,
                attempt: 0,
                crashes: 0,
                run_at: self.now + req.delay_ms.unwrap_or(0),
                last_error: None,
                state: State::Pending,
            },
        );
    }

    /// The ids a claim of `max` from `queue` must return, in order; marks them running.
    fn claim(&mut self, queue: usize, max: usize) -> Vec<u64> {
        let mut due: Vec<(u64, u64)> = self
            .jobs
            .iter()
            .filter(|(_, j)| j.queue == queue && j.state == State::Pending && j.run_at <= self.now)
            .map(|(&id, j)| (j.run_at, id))
            .collect();
        due.sort_unstable();
        due.truncate(max);
        due.into_iter()
            .map(|(_, id)| {
                self.job(id).state = State::Running;
                id
            })
            .collect()
    }

    fn job(&mut self, id: u64) -> &mut MJob {
        self.jobs.get_mut(&id).expect("model job")
    }

    fn release_dedup(&mut self, id: u64) {
        let j = &self.jobs[&id];
        if let Some(key) = &j.dedup_key {
            let k = (j.queue, key.clone());
            if self.dedup.get(&k) == Some(&id) {
                self.dedup.remove(&k);
            }
        }
    }

    fn complete(&mut self, id: u64) {
        self.release_dedup(id);
        let j = self.jobs.remove(&id).expect("completed job was stored");
        assert_eq!(j.state, State::Running);
        self.completed[j.queue] += 1;
        *self.completions.entry(id).or_default() += 1;
    }

    fn retry(&mut self, id: u64, run_at: u64) {
        let j = self.job(id);
        assert_eq!(j.state, State::Running);
        j.attempt += 1;
        j.run_at = run_at;
        j.last_error = Some("transient".into());
        j.state = State::Pending;
    }

    fn bury(&mut self, id: u64) {
        let now = self.now;
        let j = self.job(id);
        assert_eq!(j.state, State::Running);
        j.attempt += 1;
        j.last_error = Some("permanent".into());
        j.state = State::Dead { at: now };
        self.release_dedup(id);
    }

    fn release(&mut self, id: u64) {
        let j = self.job(id);
        assert_eq!(j.state, State::Running);
        j.state = State::Pending;
    }

    /// The reopen: every running job was interrupted by the "crash".
    fn rescue(&mut self) {
        let (now, limit) = (self.now, self.crash_limit);
        let running: Vec<u64> = self.ids_in(|j| j.state == State::Running);
        for id in running {
            let j = self.job(id);
            j.attempt += 1;
            j.crashes += 1;
            j.last_error = Some(CRASHED_CLASS.into());
            if j.crashes >= limit {
                j.state = State::Dead { at: now };
                self.release_dedup(id);
            } else {
                j.state = State::Pending;
                j.run_at = now;
            }
        }
    }

    fn requeue(&mut self, id: u64) {
        let now = self.now;
        let j = self.job(id);
        assert!(matches!(j.state, State::Dead { .. }));
        j.state = State::Pending;
        j.attempt = 0;
        j.crashes = 0;
        j.run_at = now;
        let (queue, key) = (j.queue, j.dedup_key.clone());
        if let Some(key) = key {
            // The key comes back only if no live job took it over meanwhile.
            self.dedup.entry((queue, key)).or_insert(id);
        }
    }

    /// Dead ids in the order the dead letter queue lists them: by death, then id.
    fn dead_ids(&self) -> Vec<u64> {
        let mut dead: Vec<(u64, u64)> = self
            .jobs
            .iter()
            .filter_map(|(&id, j)| match j.state {
                State::Dead { at } => Some((at, id)),
                _ => None,
            })
            .collect();
        dead.sort_unstable();
        dead.into_iter().map(|(_, id)| id).collect()
    }

    fn purge(&mut self, age: u64) -> Vec<u64> {
        let cutoff = self.now.saturating_sub(age);
        let old = self.ids_in(|j| matches!(j.state, State::Dead { at } if at <= cutoff));
        for id in &old {
            self.jobs.remove(id);
            self.purged.insert(*id);
        }
        old
    }

    fn ids_in(&self, pred: impl Fn(&MJob) -> bool) -> Vec<u64> {
        self.jobs
            .iter()
            .filter(|(_, j)| pred(j))
            .map(|(&id, _)| id)
            .collect()
    }

    /// waiting, retrying, running, dead, completed, enqueued.
    fn counts(&self, queue: usize) -> [u64; 6] {
        let mut c = [0, 0, 0, 0, self.completed[queue], self.enqueued[queue]];
        for j in self.jobs.values().filter(|j| j.queue == queue) {
            let slot = match j.state {
                State::Pending if j.attempt == 0 => 0,
                State::Pending => 1,
                State::Running => 2,
                State::Dead { .. } => 3,
            };
            c[slot] += 1;
        }
        c
    }

    fn next_due(&self, queue: usize) -> Option<(u64, u64)> {
        self.jobs
            .iter()
            .filter(|(_, j)| j.queue == queue && j.state == State::Pending)
            .map(|(&id, j)| (j.run_at, id))
            .min()
    }
}

fn dedup_key(k: u8) -> String {
    format!("key-{k}")
}

fn counts(c: &QueueCounts) -> [u64; 6] {
    [
        c.waiting,
        c.retrying,
        c.running,
        c.dead,
        c.completed,
        c.enqueued,
    ]
}

fn failure(class: &str, at: u64) -> JobError {
    JobError {
        class: class.into(),
        message: format!("{class} failure"),
        at: Timestamp::from_millis(at),
    }
}

/// The store under test, the model, and the leases the test holds.
struct Harness {
    dir: TempDir,
    clock: ManualClock,
    store: Option<Store>,
    model: Model,
    /// Leases the model says are current.
    held: Vec<Lease>,
    /// Leases that no longer hold their job: finished, or from before a reopen.
    stale: Vec<Lease>,
    /// Makes every request's payload unique, so a replaced payload is recognisable.
    requests: u64,
}

impl Harness {
    fn new(crash_limit: u32) -> Self {
        let mut h = Harness {
            dir: tempfile::tempdir().expect("temp dir"),
            clock: ManualClock::new(Timestamp::from_millis(T0)),
            store: None,
            model: Model::new(crash_limit),
            held: Vec::new(),
            stale: Vec::new(),
            requests: 0,
        };
        h.open();
        h
    }

    fn open(&mut self) {
        let opts = StoreOptions::default()
            .durability(Durability::Buffered)
            .crash_limit(self.model.crash_limit)
            // Retention runs on its own thread: keep it out of the model.
            .dead_retention(None)
            // Independent of the free space of the machine running the test.
            .min_free_bytes(0)
            .clock(Arc::new(self.clock.clone()));
        self.store = Some(Store::open(self.dir.path(), opts).expect("open store"));
    }

    fn store(&self) -> &Store {
        self.store.as_ref().expect("store is open")
    }

    fn step(&mut self, op: &Op) {
        match op {
            Op::Enqueue(req) => self.enqueue(std::slice::from_ref(req), true),
            Op::EnqueueBatch(reqs) => self.enqueue(reqs, false),
            Op::Claim { queue, max } => self.claim(*queue, *max),
            Op::Complete(i) => self.complete(*i),
            Op::Retry(i, offset) => self.retry(*i, *offset),
            Op::Bury(i) => self.bury(*i),
            Op::Release(i) => self.release(*i),
            Op::Stale(i, kind) => self.stale_outcome(*i, *kind),
            Op::RequeueOne(i, dead) => self.requeue_one(*i, *dead),
            Op::RequeueAll => self.requeue_all(),
            Op::Purge(age) => self.purge(*age),
            Op::Advance(ms) => self.advance(*ms),
            Op::StepBack(ms) => self.step_back(*ms),
            Op::Reopen => self.reopen(),
        }
        self.check();
    }

    fn enqueue(&mut self, reqs: &[Req], single: bool) {
        let jobs: Vec<(NewJob, Vec<u8>)> = reqs
            .iter()
            .map(|r| {
                self.requests += 1;
                let payload = format!("p{}", self.requests).into_bytes();
                let mut job = NewJob::new(KIND, payload.clone()).with_queue(QUEUES[r.queue]);
                if let Some(ms) = r.delay_ms {
                    job = job.with_delay(Duration::from_millis(ms));
                }
                if let Some((k, mode)) = r.dedup {
                    job = job.with_dedup_key(dedup_key(k), mode);
                }
                (job, payload)
            })
            .collect();
        let (jobs, payloads): (Vec<_>, Vec<_>) = jobs.into_iter().unzip();
        let got = if single {
            let job = jobs.into_iter().next().expect("one request");
            vec![self.store().enqueue(job).expect("enqueue")]
        } else {
            self.store().enqueue_batch(jobs).expect("enqueue batch")
        };
        assert_eq!(got.len(), reqs.len(), "one result per request");
        for ((req, payload), got) in reqs.iter().zip(payloads).zip(got) {
            match (self.model.expect_enqueue(req, &payload), got) {
                (Expect::Created, Enqueued::Created(id)) => {
                    self.model.create(id.get(), req, payload)
                }
                (Expect::Existing(a), Enqueued::Existing(b)) if a == b.get() => {}
                (Expect::Replaced(a), Enqueued::Replaced(b)) if a == b.get() => {}
                (want, got) => panic!("enqueue {req:?}: expected {want:?}, store said {got:?}"),
            }
        }
    }

    fn claim(&mut self, queue: usize, max: usize) {
        let claimed = self.store().claim(QUEUES[queue], max).expect("claim");
        for c in &claimed {
            let id = c.job.id;
            assert_eq!(c.lease.id(), id);
            assert_eq!(c.lease.queue(), QUEUES[queue]);
            assert!(
                !self.held.iter().any(|l| l.id() == id),
                "claim handed out job {id}, which another lease holds"
            );
            assert!(
                c.job.run_at.as_millis() <= self.model.now,
                "claim handed out job {id} before it was due"
            );
            assert!(
                self.model.jobs.contains_key(&id.get()),
                "claim handed out job {id}, which the model does not hold"
            );
            assert_eq!(view(&c.job), self.model.view(id.get()), "claimed job {id}");
        }
        let got: Vec<u64> = claimed.iter().map(|c| c.job.id.get()).collect();
        let want = self.model.claim(queue, max);
        assert_eq!(
            got, want,
            "claim({}, {max}) at {}",
            QUEUES[queue], self.model.now
        );
        for c in claimed {
            assert!(
                self.stale
                    .iter()
                    .chain(&self.held)
                    .all(|l| l.token() != c.lease.token()),
                "lease tokens are unique"
            );
            self.held.push(c.lease);
        }
    }

    /// Takes a held lease out of the list, if there is one.
    fn take_held(&mut self, i: Index) -> Option<Lease> {
        if self.held.is_empty() {
            return None;
        }
        Some(self.take_held_at(i.index(self.held.len())))
    }

    fn take_held_at(&mut self, pos: usize) -> Lease {
        let lease = self.held.swap_remove(pos);
        self.stale.push(lease.clone());
        lease
    }

    fn complete(&mut self, i: Index) {
        if let Some(lease) = self.take_held(i) {
            self.complete_lease(&lease);
        }
    }

    fn complete_lease(&mut self, lease: &Lease) {
        self.store().complete(lease, None).expect("complete");
        self.model.complete(lease.id().get());
        assert!(
            self.store().job(lease.id()).expect("read job").is_none(),
            "a completed job leaves the store"
        );
    }

    fn retry(&mut self, i: Index, offset: i64) {
        let Some(lease) = self.take_held(i) else {
            return;
        };
        let run_at = self.model.now.saturating_add_signed(offset);
        let store = self.store();
        let err = failure("transient", self.model.now);
        store
            .retry(&lease, Timestamp::from_millis(run_at), err, None)
            .expect("retry");
        self.model.retry(lease.id().get(), run_at);
    }

    fn bury(&mut self, i: Index) {
        let Some(lease) = self.take_held(i) else {
            return;
        };
        let err = failure("permanent", self.model.now);
        self.store().bury(&lease, err, None).expect("bury");
        self.model.bury(lease.id().get());
    }

    fn release(&mut self, i: Index) {
        let Some(lease) = self.take_held(i) else {
            return;
        };
        self.store().release(&lease).expect("release");
        self.model.release(lease.id().get());
    }

    fn stale_outcome(&mut self, i: Index, kind: u8) {
        if self.stale.is_empty() {
            return;
        }
        let lease = i.get(&self.stale);
        let s = self.store();
        let now = Timestamp::from_millis(self.model.now);
        let r = match kind {
            0 => s.complete(lease, None),
            1 => s.retry(lease, now, failure("transient", self.model.now), None),
            2 => s.bury(lease, failure("permanent", self.model.now), None),
            _ => s.release(lease),
        };
        match r {
            Err(Error::StaleLease { id }) if id == lease.id() => {}
            other => panic!("outcome {kind} with stale lease {lease:?} gave {other:?}"),
        }
    }

    fn requeue_one(&mut self, i: Index, pick_dead: bool) {
        let dead = self.model.dead_ids();
        let id = if pick_dead && !dead.is_empty() {
            *i.get(&dead)
        } else if self.model.created.is_empty() {
            return;
        } else {
            let ids: Vec<u64> = self.model.created.iter().copied().collect();
            *i.get(&ids)
        };
        let r = self
            .store()
            .requeue(&DeadSelector::Ids(vec![JobId::new(id)]));
        let is_dead = matches!(
            self.model.jobs.get(&id).map(|j| j.state),
            Some(State::Dead { .. })
        );
        if is_dead {
            assert_eq!(r.expect("requeue a dead job"), 1);
            self.model.requeue(id);
        } else {
            match r {
                Err(Error::NotFound {
                    id: got,
                    dead_only: true,
                }) if got.get() == id => {}
                other => panic!("requeue of job {id}, which is not dead, gave {other:?}"),
            }
        }
    }

    fn requeue_all(&mut self) {
        let dead = self.model.dead_ids();
        let n = self
            .store()
            .requeue(&DeadSelector::All)
            .expect("requeue all");
        assert_eq!(n, dead.len(), "requeue all moves every dead job");
        for id in dead {
            self.model.requeue(id);
        }
    }

    fn purge(&mut self, age: u64) {
        let n = self
            .store()
            .purge_dead(Duration::from_millis(age))
            .expect("purge");
        let gone = self.model.purge(age);
        assert_eq!(n, gone.len(), "purge of dead jobs {age} ms old");
        for id in gone {
            let left = self.store().job(JobId::new(id)).expect("read job");
            assert!(left.is_none(), "purged job {id} is still stored");
        }
    }

    fn advance(&mut self, ms: u64) {
        self.clock.advance(Duration::from_millis(ms));
        self.model.now += ms;
    }

    fn step_back(&mut self, ms: u64) {
        self.model.now -= ms;
        self.clock.set(Timestamp::from_millis(self.model.now));
    }

    fn reopen(&mut self) {
        drop(self.store.take());
        self.model.rescue();
        self.stale.append(&mut self.held);
        self.open();
    }

    /// Stats, queue heads and every stored job against the model.
    fn check(&self) {
        let stats = self.store().stats().expect("stats");
        for name in stats.queues.keys() {
            assert!(QUEUES.contains(&name.as_str()), "stats name queue {name}");
        }
        for (q, name) in QUEUES.iter().enumerate() {
            let got = stats.queues.get(*name).map_or(([0; 6], None), |s| {
                let head = s.next_due.map(|d| (d.run_at.as_millis(), d.id.get()));
                (counts(&s.counts), head)
            });
            let want = (self.model.counts(q), self.model.next_due(q));
            let next_due = self.store().next_due(name).expect("next due");
            assert_eq!(next_due.map(Timestamp::as_millis), want.1.map(|(at, _)| at));
            assert_eq!(
                got, want,
                "stats of queue {name} ([waiting, retrying, running, dead, completed, enqueued], head)"
            );
        }
        let dead = self
            .store()
            .dead_jobs(&DeadFilter::default(), None, usize::MAX)
            .expect("list dead jobs");
        let dead: Vec<u64> = dead.jobs.iter().map(|j| j.id.get()).collect();
        assert_eq!(
            dead,
            self.model.dead_ids(),
            "dead letter queue, oldest first"
        );
        for (&id, mj) in &self.model.jobs {
            let (job, state) = self
                .store()
                .job(JobId::new(id))
                .expect("read job")
                .unwrap_or_else(|| panic!("job {id} is lost"));
            let want_state = match mj.state {
                State::Pending => JobState::Pending,
                State::Running => JobState::Running,
                State::Dead { .. } => JobState::Dead,
            };
            assert_eq!(state, want_state, "state of job {id}");
            assert_eq!(view(&job), self.model.view(id), "job {id}");
        }
    }

    /// Runs everything to completion: held leases first, then every queue until empty,
    /// requeueing the dead letter queue until it is empty too.
    fn drain(&mut self) {
        self.advance(24 * 3600 * 1000);
        while !self.held.is_empty() {
            let lease = self.take_held_at(0);
            self.complete_lease(&lease);
        }
        loop {
            for q in 0..QUEUES.len() {
                loop {
                    self.claim(q, 16);
                    self.check();
                    if self.held.is_empty() {
                        break;
                    }
                    while !self.held.is_empty() {
                        let lease = self.take_held_at(0);
                        self.complete_lease(&lease);
                    }
                }
            }
            if self.model.dead_ids().is_empty() {
                break;
            }
            self.requeue_all();
            self.check();
        }
        assert!(self.model.jobs.is_empty(), "model drained");
        let total = self.store().stats().expect("stats").total;
        assert_eq!((total.live(), total.dead), (0, 0), "store drained");
    }

    /// With no job left, no dedup key may be held: each one creates a new job again.
    fn check_dedup_keys_are_free(&mut self) {
        assert!(self.model.dedup.is_empty(), "model: keys of gone jobs");
        let reqs: Vec<Req> = (0..QUEUES.len())
            .flat_map(|queue| {
                (0..DEDUP_KEYS).map(move |k| Req {
                    queue,
                    delay_ms: None,
                    dedup: Some((k, DedupMode::KeepExisting)),
                })
            })
            .collect();
        self.enqueue(&reqs, false);
        self.check();
    }

    /// Every job ever created completed exactly once, or was purged while dead.
    fn check_nothing_lost_or_repeated(&self) {
        let total = self.store().stats().expect("stats").total;
        let completed: u64 = self.model.completed.iter().sum();
        assert_eq!(total.completed, completed);
        for &id in &self.model.created {
            let done = self.model.completions.get(&id).copied().unwrap_or(0);
            let purged = self.model.purged.contains(&id);
            assert!(
                (done == 1 && !purged) || (done == 0 && purged),
                "job {id}: completed {done} times, purged: {purged}"
            );
            let left = self.store().job(JobId::new(id)).expect("read job");
            assert!(left.is_none(), "job {id} is still stored after the drain");
        }
    }
}

fn run(crash_limit: u32, ops: &[Op]) {
    let mut h = Harness::new(crash_limit);
    for op in ops {
        h.step(op);
    }
    h.drain();
    h.check_dedup_keys_are_free();
    h.drain();
    h.check_nothing_lost_or_repeated();
}

/// Cases per property: 32, or `PROPTEST_CASES` for longer runs.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(32)
}

// NOTE: two properties rather than one with twice the cases: the test harness runs them
// on two threads, and most of a case's time goes to creating a fresh store (file syncs).
proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn store_agrees_with_the_model(
        crash_limit in 1u32..=3,
        ops in prop::collection::vec(op(1), 1..40),
    ) {
        run(crash_limit, &ops);
    }

    #[test]
    fn store_agrees_with_the_model_across_many_reopens(
        crash_limit in 1u32..=2,
        ops in prop::collection::vec(op(5), 1..40),
    ) {
        run(crash_limit, &ops);
    }
}

fn plain_store(dir: &TempDir) -> Store {
    let opts = StoreOptions::default()
        .durability(Durability::Buffered)
        .min_free_bytes(0)
        .clock(Arc::new(ManualClock::new(Timestamp::from_millis(T0))));
    Store::open(dir.path(), opts).expect("open store")
}

/// An id named twice in one `DeadSelector::Ids` must be moved once. (It once was moved
/// twice in the counters, so `stats()` disagreed with the jobs from then on.)
#[test]
fn requeue_of_an_id_named_twice_keeps_the_counts_right() {
    let dir = tempfile::tempdir().expect("temp dir");
    let s = plain_store(&dir);
    let mut ids = Vec::new();
    for _ in 0..2 {
        ids.push(
            s.enqueue(NewJob::new(KIND, Vec::new()))
                .expect("enqueue")
                .id(),
        );
        let c = s.claim("default", 1).expect("claim").remove(0);
        s.bury(&c.lease, failure("permanent", T0), None)
            .expect("bury");
    }
    let moved = s.requeue(&DeadSelector::Ids(vec![ids[0], ids[0]]));
    let pending = ids
        .iter()
        .filter(|&&id| matches!(s.job(id), Ok(Some((_, JobState::Pending)))))
        .count();
    let t = s.stats().expect("stats").total;
    assert_eq!(
        (t.waiting, t.dead),
        (pending as u64, (ids.len() - pending) as u64),
        "counts after requeue {moved:?}"
    );
    if let Ok(n) = moved {
        assert_eq!(n, pending, "requeue reports the jobs it moved");
    }
}

/// Requeueing dead jobs that carry the same dedup key must hand the key out as
/// requeueing them one by one in the same order does: to the first, since the key comes
/// back only if no live job took it over. (In one batch each job was once checked
/// against the index as it was before the batch, so the last one took the key.)
#[test]
fn requeue_all_hands_a_shared_dedup_key_out_like_one_by_one() {
    let probe = |one_by_one: bool| -> Enqueued {
        let dir = tempfile::tempdir().expect("temp dir");
        let s = plain_store(&dir);
        let keyed = |mode| NewJob::new(KIND, Vec::new()).with_dedup_key("k", mode);
        let a = s.enqueue(keyed(DedupMode::KeepExisting)).expect("enqueue");
        let ca = s.claim("default", 1).expect("claim").remove(0);
        // `a` is running, so replacing its payload creates `b`, which takes the key over.
        let b = s
            .enqueue(keyed(DedupMode::ReplacePayload))
            .expect("enqueue");
        assert!(matches!(b, Enqueued::Created(_)), "{b:?}");
        let cb = s.claim("default", 1).expect("claim").remove(0);
        for c in [ca, cb] {
            s.bury(&c.lease, failure("permanent", T0), None)
                .expect("bury");
        }
        if one_by_one {
            for id in [a.id(), b.id()] {
                s.requeue(&DeadSelector::Ids(vec![id])).expect("requeue");
            }
        } else {
            assert_eq!(s.requeue(&DeadSelector::All).expect("requeue"), 2);
        }
        s.enqueue(keyed(DedupMode::KeepExisting)).expect("enqueue")
    };
    assert_eq!(probe(false), probe(true), "the job holding the key");
}
