//! `jobs`: a page of jobs in one state, for operators and dashboards.
//!
//! Each state is listed in the key order of the index that already holds it, so a page
//! never scans the store: waiting and retrying jobs in due order (queue by queue, each
//! from its claim cursor, so consumed keys are not walked again), running jobs by id
//! from the in-memory running set, dead jobs in death order from the dead index (its
//! summaries filter without reading records). Filters on kind and class skip entries;
//! so that a page stays cheap however selective the filter, it stops after
//! [`MAX_SCAN`] index entries and returns a cursor even if it holds fewer than `limit`
//! jobs (possibly none). Only the end of the index ends the listing.
//!
//! The page is read under the write lock, so it sees the store between transitions.

use std::fmt;
use std::str::FromStr;

use super::dead::decode_summary;
use super::{Shared, Store};
use crate::keys::{self, DuePos};
use crate::{Error, Job, JobId, Result, Timestamp};

/// Most index entries one page looks at.
pub const MAX_SCAN: usize = 10_000;

/// Which state a listing is of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ListState {
    /// Pending jobs that have not failed yet.
    Waiting,
    /// Pending jobs that failed at least once.
    Retrying,
    /// Jobs held by a lease.
    Running,
    /// Jobs in the dead letter queue.
    Dead,
}

impl FromStr for ListState {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "waiting" => ListState::Waiting,
            "retrying" => ListState::Retrying,
            "running" => ListState::Running,
            "dead" => ListState::Dead,
            _ => {
                return Err(Error::InvalidJob(format!(
                    "state {s:?} is not one of waiting, retrying, running, dead"
                )));
            }
        })
    }
}

/// Which jobs to list: one state, and optionally one queue, kind and error class.
/// Built with [`JobFilter::new`] and the methods; the fields are public for backends.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct JobFilter {
    /// The state listed.
    pub state: ListState,
    /// Only jobs of this queue.
    pub queue: Option<String>,
    /// Only jobs of this kind.
    pub kind: Option<String>,
    /// Only jobs whose last error has this class.
    pub class: Option<String>,
}

impl JobFilter {
    /// Every job in `state`.
    pub fn new(state: ListState) -> Self {
        JobFilter {
            state,
            queue: None,
            kind: None,
            class: None,
        }
    }

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

    /// Only jobs whose last error has this class.
    #[must_use]
    pub fn class(mut self, c: impl Into<String>) -> Self {
        self.class = Some(c.into());
        self
    }

    fn matches(&self, queue: &str, kind: &str, class: Option<&str>) -> bool {
        let eq = |want: &Option<String>, got: &str| want.as_deref().is_none_or(|w| w == got);
        eq(&self.queue, queue)
            && eq(&self.kind, kind)
            && self.class.as_deref().is_none_or(|w| class == Some(w))
    }
}

/// Where a job listing stopped: the last index key it looked at. Opaque; pass it back
/// with the same filter.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct JobCursor(Vec<u8>);

impl JobCursor {
    /// A cursor from a backend's own encoding of the last key a page looked at.
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        JobCursor(bytes)
    }

    /// The backend's encoding, as given to [`JobCursor::from_bytes`].
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Display for JobCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl FromStr for JobCursor {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let bad = || Error::InvalidJob(format!("bad job cursor {s:?}"));
        if !s.len().is_multiple_of(2) || s.is_empty() {
            return Err(bad());
        }
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(s.get(i..i + 2).ok_or_else(bad)?, 16).map_err(|_| bad()))
            .collect::<Result<Vec<u8>>>()
            .map(JobCursor)
    }
}

/// One page of a job listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobPage {
    /// The jobs, in the index's order.
    pub jobs: Vec<Job>,
    /// Present when more jobs may follow (also after a page cut short by [`MAX_SCAN`]).
    pub next: Option<JobCursor>,
}

impl Store {
    /// Lists jobs matching `filter`, at most `limit`, after `after` (the previous page's
    /// `next`), looking at no more than [`MAX_SCAN`] index entries (see the module docs).
    pub fn jobs(
        &self,
        filter: &JobFilter,
        after: Option<JobCursor>,
        limit: usize,
    ) -> Result<JobPage> {
        let mut page = Page {
            jobs: Vec::new(),
            limit: limit.max(1),
            scanned: 0,
            last: None,
            more: false,
        };
        let after = after.map(|c| c.0);
        match filter.state {
            ListState::Waiting | ListState::Retrying => {
                self.shared.list_due(filter, after, &mut page)?;
            }
            ListState::Running => self.shared.list_running(filter, after, &mut page)?,
            ListState::Dead => self.shared.list_dead_index(filter, after, &mut page)?,
        }
        let next = if page.more {
            page.last.map(JobCursor)
        } else {
            None
        };
        Ok(JobPage {
            jobs: page.jobs,
            next,
        })
    }
}

struct Page {
    jobs: Vec<Job>,
    limit: usize,
    scanned: usize,
    /// The last key looked at (and taken, if it matched).
    last: Option<Vec<u8>>,
    more: bool,
}

impl Page {
    /// Whether to stop before looking at one more entry: the page is full or the scan
    /// bound is reached. Either way more may follow.
    fn stop(&mut self) -> bool {
        if self.jobs.len() >= self.limit || self.scanned >= MAX_SCAN {
            self.more = true;
        }
        self.more
    }
}

impl Shared {
    fn list_due(&self, f: &JobFilter, after: Option<Vec<u8>>, page: &mut Page) -> Result<()> {
        let st = self.lock();
        let queues: Vec<&String> = match &f.queue {
            Some(q) => vec![q],
            None => st.counts.keys().collect(),
        };
        let retrying = f.state == ListState::Retrying;
        for queue in queues {
            let mut from = keys::due(queue, st.cursor(queue));
            let to = keys::due(
                queue,
                DuePos {
                    run_at: Timestamp::from_millis(u64::MAX),
                    id: JobId::new(u64::MAX),
                },
            );
            if let Some(a) = &after {
                if *a >= to {
                    continue;
                }
                let mut past = a.clone();
                past.push(0);
                from = from.max(past);
            }
            for item in self.ks.due.range(from..=to) {
                if page.stop() {
                    return Ok(());
                }
                let key = item.key().map_err(|e| Error::engine("scan due index", e))?;
                page.scanned += 1;
                page.last = Some(key.to_vec());
                let Some(pos) = keys::parse_due(&key, queue) else {
                    continue;
                };
                let Some(job) = self.read_job(pos.id)? else {
                    continue;
                };
                let class = job.last_error.as_ref().map(|e| e.class.as_str());
                if (job.attempt > 0) == retrying && f.matches(&job.queue, &job.kind, class) {
                    page.jobs.push(job);
                }
            }
        }
        Ok(())
    }

    fn list_running(&self, f: &JobFilter, after: Option<Vec<u8>>, page: &mut Page) -> Result<()> {
        let st = self.lock();
        let after = after.and_then(|a| keys::parse_job(&a));
        let mut ids: Vec<JobId> = st
            .running
            .keys()
            .copied()
            .filter(|id| after.is_none_or(|a| *id > a))
            .collect();
        ids.sort_unstable();
        for id in ids {
            if page.stop() {
                return Ok(());
            }
            page.scanned += 1;
            page.last = Some(keys::job(id).to_vec());
            let Some(job) = self.read_job(id)? else {
                continue;
            };
            let class = job.last_error.as_ref().map(|e| e.class.as_str());
            if f.matches(&job.queue, &job.kind, class) {
                page.jobs.push(job);
            }
        }
        Ok(())
    }

    fn list_dead_index(
        &self,
        f: &JobFilter,
        after: Option<Vec<u8>>,
        page: &mut Page,
    ) -> Result<()> {
        let _st = self.lock();
        let mut from = keys::dead(Timestamp::ZERO, JobId::new(0)).to_vec();
        if let Some(mut a) = after {
            a.push(0);
            from = from.max(a);
        }
        for item in self.ks.dead.range(from..) {
            if page.stop() {
                return Ok(());
            }
            let (k, v) = item
                .into_inner()
                .map_err(|e| Error::engine("scan dead jobs", e))?;
            page.scanned += 1;
            page.last = Some(k.to_vec());
            let Some((_, id)) = keys::parse_dead(&k) else {
                continue;
            };
            let Some(s) = decode_summary(&v) else {
                continue;
            };
            if !f.matches(&s.queue, &s.kind, Some(&s.class)) {
                continue;
            }
            if let Some(job) = self.read_job(id)? {
                page.jobs.push(job);
            }
        }
        Ok(())
    }
}
