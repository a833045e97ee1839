//! The dead letter queue: list, inspect, requeue and purge buried jobs.
//!
//! A dead job keeps its full record in `jobs`; the `dead` index orders dead jobs by the
//! time they died and carries a small summary (queue, kind, error class) so filters run
//! without reading records.
//!
//! NOTE: requeue and purge choose their jobs while holding the write lock, a bounded
//! chunk at a time, and write each chunk before letting go. Two operators (or an
//! operator and the retention thread) can act on the same job at once; whoever takes the
//! lock second no longer sees it as dead and leaves it alone, so a job moves once per
//! operation that reports it and the counters only move for jobs that did.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use std::collections::HashSet;

use super::{Batch, Shared, Store, WriteState};
use crate::codec::{Reader, Writer};
use crate::keys::{self, DuePos};
use crate::{Error, Job, JobError, JobId, Result, Timestamp};

/// Error class of a record that could not be decoded and was set aside.
pub const CORRUPT_CLASS: &str = "corrupt";

const SUMMARY_V1: u8 = 1;
const CHUNK: usize = 1_000;
/// At most this many dead-index entries are read under one hold of the write lock, so a
/// rare filter over a large dead letter queue never stalls enqueues and claims for a
/// whole scan; the next hold goes on from the last entry read.
const SCAN: usize = 4_096;

/// Which dead jobs an operation applies to. All conditions must hold; empty matches all.
/// Built with the methods of the same names; the fields are public for backends.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeadFilter {
    /// Only jobs of this queue.
    pub queue: Option<String>,
    /// Only jobs of this kind.
    pub kind: Option<String>,
    /// Only jobs whose final error has this class.
    pub class: Option<String>,
    /// Only jobs that died at or after this time.
    pub since: Option<Timestamp>,
    /// Only jobs that died before this time.
    pub until: Option<Timestamp>,
}

impl DeadFilter {
    /// Only jobs of this queue.
    #[must_use]
    pub fn queue(mut self, q: impl Into<String>) -> Self {
        self.queue = Some(q.into());
        self
    }

    /// Only jobs of this kind.
    #[must_use]
    pub fn kind(mut self, k: impl Into<String>) -> Self {
        self.kind = Some(k.into());
        self
    }

    /// Only jobs whose final error has this class.
    #[must_use]
    pub fn class(mut self, c: impl Into<String>) -> Self {
        self.class = Some(c.into());
        self
    }

    /// Only jobs that died at or after `t`.
    #[must_use]
    pub fn since(mut self, t: Timestamp) -> Self {
        self.since = Some(t);
        self
    }

    /// Only jobs that died before `t`.
    #[must_use]
    pub fn until(mut self, t: Timestamp) -> Self {
        self.until = Some(t);
        self
    }

    fn matches(&self, s: &Summary) -> bool {
        let eq = |want: &Option<String>, got: &str| want.as_deref().is_none_or(|w| w == got);
        eq(&self.queue, &s.queue) && eq(&self.kind, &s.kind) && eq(&self.class, &s.class)
    }

    fn key_range(&self) -> (Vec<u8>, Vec<u8>) {
        let from = keys::dead(self.since.unwrap_or(Timestamp::ZERO), JobId::new(0));
        let to = match self.until {
            Some(t) => keys::dead(t, JobId::new(0)).to_vec(),
            None => vec![0xff; 17],
        };
        (from.to_vec(), to)
    }
}

/// Which dead jobs to requeue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeadSelector {
    /// Exactly these jobs, all or none. If one of them is not dead when the requeue
    /// holds the write lock (it never was, or another caller requeued or purged it
    /// first), nothing is requeued and the error is [`Error::NotFound`] naming it: of
    /// several concurrent requeues of one id, exactly one succeeds.
    Ids(Vec<JobId>),
    /// Every dead job the filter matches.
    Filter(DeadFilter),
    /// Every dead job.
    All,
}

/// Where a dead-letter listing stopped; pass it back to get the next page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DeadCursor {
    dead_at: Timestamp,
    id: JobId,
}

impl DeadCursor {
    /// A cursor after the dead job `id` that died at `dead_at` (for backends).
    pub fn new(dead_at: Timestamp, id: JobId) -> Self {
        DeadCursor { dead_at, id }
    }

    /// When the last listed job died.
    pub fn dead_at(&self) -> Timestamp {
        self.dead_at
    }

    /// The last listed job.
    pub fn id(&self) -> JobId {
        self.id
    }
}

impl fmt::Display for DeadCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.dead_at, self.id)
    }
}

impl FromStr for DeadCursor {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let bad = || Error::InvalidJob(format!("bad dead-letter cursor {s:?}"));
        let (t, id) = s.split_once('-').ok_or_else(bad)?;
        Ok(DeadCursor {
            dead_at: Timestamp::from_millis(t.parse().map_err(|_| bad())?),
            id: JobId::new(id.parse().map_err(|_| bad())?),
        })
    }
}

/// One page of dead jobs, oldest death first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeadPage {
    /// The jobs, with their final error in `last_error` and `dead_at` set.
    pub jobs: Vec<Job>,
    /// Present when more jobs may follow.
    pub next: Option<DeadCursor>,
}

pub(super) struct Summary {
    pub(super) queue: String,
    pub(super) kind: String,
    pub(super) class: String,
}

pub(super) fn encode_summary(job: &Job) -> Vec<u8> {
    let class = job.last_error.as_ref().map_or("", |e| e.class.as_str());
    let mut w = Writer::default();
    w.u8(SUMMARY_V1).str(&job.queue).str(&job.kind).str(class);
    w.finish()
}

pub(super) fn decode_summary(b: &[u8]) -> Option<Summary> {
    let mut r = Reader::new(b);
    if r.u8().ok()? != SUMMARY_V1 {
        return None;
    }
    Some(Summary {
        queue: r.string().ok()?,
        kind: r.string().ok()?,
        class: r.string().ok()?,
    })
}

impl Store {
    /// Lists dead jobs matching `filter`, oldest death first, at most `limit`, starting
    /// after `after` (the `next` of the previous page). A record that cannot be decoded is
    /// listed as a stand-in of class `corrupt` that names the damage.
    pub fn dead_jobs(
        &self,
        filter: &DeadFilter,
        after: Option<DeadCursor>,
        limit: usize,
    ) -> Result<DeadPage> {
        let (entries, next) = self.shared.list_dead(filter, after, limit)?;
        let jobs = entries.into_iter().map(|e| e.job).collect();
        Ok(DeadPage { jobs, next })
    }

    /// One dead job, or `None` when no dead job has this id.
    pub fn dead_job(&self, id: JobId) -> Result<Option<Job>> {
        Ok(self.shared.read_job(id)?.filter(|j| j.dead_at.is_some()))
    }

    /// Moves the selected dead jobs back to pending, due now, with attempts and crash
    /// counts reset (the last error stays for reference). Returns how many moved.
    ///
    /// Records that cannot be decoded stay in the dead letter queue: by id they are an
    /// error naming the job, by filter they are skipped. A filter is applied a chunk at
    /// a time; a job that dies again while later chunks are moved is not moved twice.
    pub fn requeue(&self, which: &DeadSelector) -> Result<usize> {
        let shared = &self.shared;
        let moved = match which {
            DeadSelector::Ids(ids) => shared.requeue_ids(ids)?,
            DeadSelector::Filter(f) => {
                let mut seen = HashSet::new();
                shared.for_each_dead_chunk(f, |s, st, entries| {
                    let fresh = entries
                        .into_iter()
                        .filter(|e| e.intact && seen.insert(e.job.id))
                        .map(|e| e.job);
                    s.requeue_jobs(st, fresh.collect())
                })?
            }
            DeadSelector::All => {
                return self.requeue(&DeadSelector::Filter(DeadFilter::default()));
            }
        };
        if moved > 0 {
            shared.wake_workers();
        }
        Ok(moved)
    }

    /// Deletes dead jobs that died `age` or more ago. Returns how many went.
    pub fn purge_dead(&self, age: Duration) -> Result<usize> {
        self.shared.purge_older_than(age)
    }
}

struct DeadEntry {
    job: Job,
    /// False for a stand-in of a record that could not be decoded.
    intact: bool,
}

impl Shared {
    pub(super) fn purge_older_than(&self, age: Duration) -> Result<usize> {
        let cutoff = self.now().saturating_sub(age);
        let filter = DeadFilter::default().until(cutoff.saturating_add(Duration::from_millis(1)));
        self.for_each_dead_chunk(&filter, |s, st, entries| {
            s.purge_jobs(st, entries.into_iter().map(|e| e.job).collect())
        })
    }

    fn list_dead(
        &self,
        filter: &DeadFilter,
        after: Option<DeadCursor>,
        limit: usize,
    ) -> Result<(Vec<DeadEntry>, Option<DeadCursor>)> {
        self.scan_dead(filter, after, limit, usize::MAX)
    }

    /// Like [`list_dead`](Shared::list_dead), reading at most `scan` index entries: when
    /// it stops there, `next` is the last entry read, matching or not.
    fn scan_dead(
        &self,
        filter: &DeadFilter,
        after: Option<DeadCursor>,
        limit: usize,
        scan: usize,
    ) -> Result<(Vec<DeadEntry>, Option<DeadCursor>)> {
        let (mut from, to) = filter.key_range();
        if let Some(c) = after {
            let mut k = keys::dead(c.dead_at, c.id).to_vec();
            k.push(0); // the smallest key after the cursor
            from = from.max(k);
        }
        let mut entries = Vec::new();
        let mut last_read = None;
        let mut next = None;
        for (scanned, item) in self.ks.dead.range(from..to).enumerate() {
            if scanned == scan {
                next = last_read;
                break;
            }
            let (k, v) = item
                .into_inner()
                .map_err(|e| Error::engine("scan dead jobs", e))?;
            let (dead_at, id) =
                keys::parse_dead(&k).ok_or_else(|| Error::corrupt(None, "bad dead-index key"))?;
            let summary =
                decode_summary(&v).ok_or_else(|| Error::corrupt(Some(id), "bad dead summary"))?;
            if filter.matches(&summary) {
                if entries.len() == limit {
                    next = entries.last().map(|e: &DeadEntry| DeadCursor {
                        dead_at: e.job.dead_at.unwrap_or_default(),
                        id: e.job.id,
                    });
                    break;
                }
                entries.push(self.dead_record(id, dead_at, &summary)?);
            }
            last_read = Some(DeadCursor { dead_at, id });
        }
        Ok((entries, next))
    }

    /// The record of a dead job, or a stand-in naming the damage if it cannot be decoded.
    fn dead_record(&self, id: JobId, dead_at: Timestamp, s: &Summary) -> Result<DeadEntry> {
        let job = match self.read_job(id) {
            Ok(Some(job)) => return Ok(DeadEntry { job, intact: true }),
            Ok(None) => "the dead index names a missing record".to_owned(),
            Err(Error::Corrupt { what, .. }) => format!("record could not be decoded: {what}"),
            Err(e) => return Err(e),
        };
        let mut stand_in = stand_in(id, dead_at, &job);
        stand_in.queue.clone_from(&s.queue);
        stand_in.kind.clone_from(&s.kind);
        Ok(DeadEntry {
            job: stand_in,
            intact: false,
        })
    }

    /// Applies `f` to the matching dead jobs, a bounded chunk per batch, and sums results.
    /// Each chunk is listed and written under one hold of the write lock, so `f` sees
    /// only jobs that are dead at the time it writes; a hold reads at most [`SCAN`]
    /// index entries, so `f` may get an empty chunk.
    fn for_each_dead_chunk(
        &self,
        filter: &DeadFilter,
        f: impl FnMut(&Shared, &mut WriteState, Vec<DeadEntry>) -> Result<usize>,
    ) -> Result<usize> {
        self.for_each_dead_chunk_scanning(filter, SCAN, f)
    }

    /// [`for_each_dead_chunk`](Shared::for_each_dead_chunk), reading at most `scan`
    /// index entries per hold of the lock.
    fn for_each_dead_chunk_scanning(
        &self,
        filter: &DeadFilter,
        scan: usize,
        mut f: impl FnMut(&Shared, &mut WriteState, Vec<DeadEntry>) -> Result<usize>,
    ) -> Result<usize> {
        let mut total = 0;
        let mut after = None;
        loop {
            let mut st = self.lock();
            let (entries, next) = self.scan_dead(filter, after, CHUNK, scan)?;
            total += f(self, &mut st, entries)?;
            drop(st);
            match next {
                Some(n) => after = Some(n),
                None => return Ok(total),
            }
        }
    }

    /// Requeues exactly `ids`, read under the write lock: all of them or, if one is not
    /// dead, none (`NotFound` naming it).
    fn requeue_ids(&self, ids: &[JobId]) -> Result<usize> {
        let mut st = self.lock();
        let mut jobs = Vec::with_capacity(ids.len());
        let mut seen = HashSet::new();
        for &id in ids.iter().filter(|&&id| seen.insert(id)) {
            let job =
                self.read_job(id)?
                    .filter(|j| j.dead_at.is_some())
                    .ok_or(Error::NotFound {
                        id,
                        dead_only: true,
                    })?;
            jobs.push(job);
        }
        self.requeue_jobs(&mut st, jobs)
    }

    /// Moves dead `jobs`, read under the same hold of the lock as `st`, back to pending.
    fn requeue_jobs(&self, st: &mut WriteState, jobs: Vec<Job>) -> Result<usize> {
        let now = self.now();
        let mut batch = Batch::new(self);
        let mut n = 0;
        // Keys handed out by this batch, which the stored index does not show yet.
        let mut taken = HashSet::new();
        for mut job in jobs {
            if job.dead_at.is_none() {
                continue; // a dead-index entry whose record is live: not ours to move
            }
            n += 1;
            batch.delete_dead(&job);
            let counts = batch.counts(st, &job.queue);
            counts.dead = counts.dead.saturating_sub(1);
            counts.waiting += 1;
            job.dead_at = None;
            job.attempt = 0;
            job.crashes = 0;
            job.run_at = now;
            if let Some(key) = &job.dedup_key {
                // The key comes back only if no live job took it over meanwhile.
                if !taken.contains(&(job.queue.clone(), key.clone()))
                    && self.dedup_holder(&job.queue, key)?.is_none()
                {
                    taken.insert((job.queue.clone(), key.clone()));
                    batch.put_dedup(&job.queue, key, job.id);
                }
            }
            let pos = DuePos {
                run_at: now,
                id: job.id,
            };
            batch.put_due(&job.queue, pos);
            batch.put_job(&job);
            st.lower_cursor(&job.queue, pos);
        }
        batch.commit(st)?;
        Ok(n)
    }

    /// Deletes dead `jobs` (or stand-ins of damaged ones), listed under the same hold of
    /// the lock as `st`.
    fn purge_jobs(&self, st: &mut WriteState, jobs: Vec<Job>) -> Result<usize> {
        let mut batch = Batch::new(self);
        let mut n = 0;
        for job in jobs {
            if job.dead_at.is_none() {
                continue; // a dead-index entry whose record is live: not ours to delete
            }
            n += 1;
            batch.delete_dead(&job);
            batch.delete_job(job.id);
            let counts = batch.counts(st, &job.queue);
            counts.dead = counts.dead.saturating_sub(1);
        }
        batch.commit(st)?;
        Ok(n)
    }
}

/// A dead-letter entry for a job whose record is missing or damaged.
fn stand_in(id: JobId, at: Timestamp, why: &str) -> Job {
    Job {
        id,
        queue: String::new(),
        kind: String::new(),
        payload: Vec::new(),
        dedup_key: None,
        attempt: 0,
        crashes: 0,
        run_at: at,
        enqueued_at: at,
        last_error: Some(JobError {
            class: CORRUPT_CLASS.to_owned(),
            message: why.to_owned(),
            at,
        }),
        dead_at: Some(at),
        attempts: Vec::new(),
    }
}

impl Batch<'_> {
    /// Sets a job whose record cannot be decoded aside in the dead letter queue, so that
    /// it stops blocking its index and shows up, by id, where operators look.
    pub(crate) fn quarantine(&mut self, id: JobId, queue: Option<&str>, now: Timestamp, why: &str) {
        let mut job = stand_in(id, now, why);
        job.queue = queue.unwrap_or_default().to_owned();
        self.put_dead(&job);
    }
}

#[cfg(test)]
#[path = "dead_tests.rs"]
mod tests;
