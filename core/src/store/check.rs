//! The consistency check: every keyspace scanned and compared with the counters.
//!
//! It holds the write lock for the whole scan, so it sees the store between two
//! transitions; the invariants it checks are the ones ARCHITECTURE.md states.

use std::collections::{BTreeMap, HashMap};

use super::{Shared, Store, WriteState};
use crate::keys::{self, DuePos};
use crate::{Consistency, Error, Job, JobId, QueueCounts, Result, codec};

/// Where a scanned job is, by its record and the in-memory running set.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    Pending,
    Running,
    Dead,
}

impl Store {
    /// Scans every keyspace and reports where the data disagrees with the counters or
    /// the indexes: counters against what a scan counts, per queue and state; one due
    /// key per pending job and none for any other; one running entry per running job;
    /// one dead-index entry per dead job; dedup entries that name a live job holding
    /// that key.
    ///
    /// A diagnostic (tests, suspected damage): it reads everything while holding the
    /// write lock, so every other transition waits for it.
    pub fn check_consistency(&self) -> Result<Consistency> {
        let st = self.shared.lock();
        self.shared.check(&st)
    }
}

fn engine(e: fjall::Error) -> Error {
    Error::engine("consistency scan", e)
}

impl Shared {
    fn check(&self, st: &WriteState) -> Result<Consistency> {
        let mut report = Consistency::default();
        let mut jobs: HashMap<JobId, (Job, Place)> = HashMap::new();
        let mut scanned: BTreeMap<String, QueueCounts> = BTreeMap::new();
        for item in self.ks.jobs.iter() {
            let (k, v) = item.into_inner().map_err(engine)?;
            report.jobs += 1;
            let Some(id) = keys::parse_job(&k) else {
                report.violation(format!("job key {k:?} is not an id"));
                continue;
            };
            let job = match codec::decode_job(id, &v) {
                Ok(job) => job,
                Err(e) => {
                    report.violation(format!("job {id}: record does not decode: {}", e.0));
                    continue;
                }
            };
            if id.get() > st.seq {
                report.violation(format!("job {id} is above the id sequence {}", st.seq));
            }
            let counts = scanned.entry(job.queue.clone()).or_default();
            let place = if job.dead_at.is_some() {
                counts.dead += 1;
                Place::Dead
            } else if st.running.contains_key(&id) {
                counts.running += 1;
                Place::Running
            } else {
                counts.add_pending(job.attempt);
                Place::Pending
            };
            jobs.insert(id, (job, place));
        }
        self.check_counters(st, &scanned, &mut report)?;
        self.check_due(st, &jobs, &mut report)?;
        self.check_running(st, &jobs, &mut report)?;
        self.check_dead(&jobs, &mut report)?;
        self.check_dedup(&jobs, &mut report)?;
        Ok(report)
    }

    /// Counters in memory, counters on disk and the scan agree on every live state.
    fn check_counters(
        &self,
        st: &WriteState,
        scanned: &BTreeMap<String, QueueCounts>,
        report: &mut Consistency,
    ) -> Result<()> {
        let states = |c: &QueueCounts| [c.waiting, c.retrying, c.running, c.dead];
        let queues = st.counts.keys().chain(scanned.keys());
        for queue in queues.collect::<std::collections::BTreeSet<_>>() {
            let kept = st.counts.get(queue).copied().unwrap_or_default();
            let found = scanned.get(queue).copied().unwrap_or_default();
            if states(&kept) != states(&found) {
                report.violation(format!(
                    "queue {queue:?}: counters say waiting/retrying/running/dead {:?}, \
                     a scan finds {:?}",
                    states(&kept),
                    states(&found)
                ));
            }
            let stored = self
                .ks
                .meta
                .get(keys::meta_counts(queue))
                .map_err(engine)?
                .map(|v| QueueCounts::decode(&v));
            match stored {
                Some(Ok(c)) if c == kept => {}
                None if kept == QueueCounts::default() => {}
                other => report.violation(format!(
                    "queue {queue:?}: stored counters {other:?} differ from {kept:?} in memory"
                )),
            }
        }
        Ok(())
    }

    /// One due key per pending job, at its `run_at`, never behind its queue's cursor.
    fn check_due(
        &self,
        st: &WriteState,
        jobs: &HashMap<JobId, (Job, Place)>,
        report: &mut Consistency,
    ) -> Result<()> {
        let mut keys_of: HashMap<JobId, u32> = HashMap::new();
        for item in self.ks.due.iter() {
            let k = item.key().map_err(engine)?;
            let Some((queue, pos)) = keys::parse_due_any(&k) else {
                report.violation(format!("due key {k:?} does not parse"));
                continue;
            };
            *keys_of.entry(pos.id).or_default() += 1;
            if pos < st.cursor(queue) {
                report.violation(format!(
                    "due key of job {} in {queue:?} is behind the queue's cursor: never claimed",
                    pos.id
                ));
            }
            match jobs.get(&pos.id) {
                Some((job, Place::Pending)) if job.queue == queue && due_pos(job) == pos => {}
                Some((job, place)) => report.violation(format!(
                    "due key ({queue:?}, {}, {}) names job {} which is {} in {:?} at {}",
                    pos.run_at,
                    pos.id,
                    job.id,
                    place.name(),
                    job.queue,
                    job.run_at
                )),
                None => report.violation(format!("due key names missing job {}", pos.id)),
            }
        }
        for (id, (_, place)) in jobs {
            let n = keys_of.get(id).copied().unwrap_or(0);
            if *place == Place::Pending && n != 1 {
                report.violation(format!("pending job {id} has {n} due keys"));
            }
        }
        Ok(())
    }

    /// One running entry (with the lease's token) per running job, and no other.
    fn check_running(
        &self,
        st: &WriteState,
        jobs: &HashMap<JobId, (Job, Place)>,
        report: &mut Consistency,
    ) -> Result<()> {
        let mut entries: HashMap<JobId, Vec<u64>> = HashMap::new();
        for item in self.ks.running.iter() {
            let k = item.key().map_err(engine)?;
            match keys::parse_running(&k) {
                Some((id, token)) => entries.entry(id).or_default().push(token),
                None => report.violation(format!("running key {k:?} does not parse")),
            }
        }
        for (id, held) in &st.running {
            match jobs.get(id) {
                Some((_, Place::Running)) => {}
                Some((_, place)) => {
                    report.violation(format!("job {id} is held but {}", place.name()));
                }
                None => report.violation(format!("held job {id} has no record")),
            }
            if entries.get(id).map(Vec::as_slice) != Some(&[held.token][..]) {
                report.violation(format!(
                    "running job {id} (token {}) has running entries {:?}",
                    held.token,
                    entries.get(id)
                ));
            }
        }
        for id in entries.keys().filter(|id| !st.running.contains_key(id)) {
            report.violation(format!("running entry for job {id}, which nobody holds"));
        }
        Ok(())
    }

    /// One dead-index entry per dead job, at its `dead_at`, and none for a live job.
    fn check_dead(
        &self,
        jobs: &HashMap<JobId, (Job, Place)>,
        report: &mut Consistency,
    ) -> Result<()> {
        let mut entries: HashMap<JobId, u32> = HashMap::new();
        for item in self.ks.dead.iter() {
            let k = item.key().map_err(engine)?;
            let Some((at, id)) = keys::parse_dead(&k) else {
                report.violation(format!("dead key {k:?} does not parse"));
                continue;
            };
            *entries.entry(id).or_default() += 1;
            match jobs.get(&id) {
                Some((job, Place::Dead)) if job.dead_at == Some(at) => {}
                Some((job, place)) => report.violation(format!(
                    "dead entry ({at}, {id}) names a job that is {} (dead_at {:?})",
                    place.name(),
                    job.dead_at
                )),
                None => report.violation(format!("dead entry names missing job {id}")),
            }
        }
        for (id, (_, place)) in jobs {
            let n = entries.get(id).copied().unwrap_or(0);
            if *place == Place::Dead && n != 1 {
                report.violation(format!("dead job {id} has {n} dead-index entries"));
            }
        }
        Ok(())
    }

    /// Every dedup entry names a live job of that queue holding that key.
    fn check_dedup(
        &self,
        jobs: &HashMap<JobId, (Job, Place)>,
        report: &mut Consistency,
    ) -> Result<()> {
        for item in self.ks.dedup.iter() {
            let (k, v) = item.into_inner().map_err(engine)?;
            let (Some((queue, key)), Some(id)) = (keys::parse_dedup(&k), keys::parse_job(&v))
            else {
                report.violation(format!("dedup entry {k:?} does not parse"));
                continue;
            };
            match jobs.get(&id) {
                Some((job, Place::Pending | Place::Running))
                    if job.queue == queue && job.dedup_key.as_deref() == Some(key) => {}
                Some((job, place)) => report.violation(format!(
                    "dedup entry ({queue:?}, {key:?}) names job {id}, which is {} in {:?} \
                     with key {:?}",
                    place.name(),
                    job.queue,
                    job.dedup_key
                )),
                None => report.violation(format!(
                    "dedup entry ({queue:?}, {key:?}) names missing job {id}"
                )),
            }
        }
        Ok(())
    }
}

fn due_pos(job: &Job) -> DuePos {
    DuePos {
        run_at: job.run_at,
        id: job.id,
    }
}

impl Place {
    fn name(self) -> &'static str {
        match self {
            Place::Pending => "pending",
            Place::Running => "running",
            Place::Dead => "dead",
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::keys::{self, DuePos};
    use crate::{DedupMode, Durability, JobError, NewJob, Store, StoreOptions};

    /// A store with a job in every state: pending with a dedup key, running, dead.
    fn store_in_every_state(dir: &std::path::Path) -> (Store, [crate::JobId; 3]) {
        let opts = StoreOptions::default().durability(Durability::Buffered);
        let s = Store::open(dir, opts).expect("open");
        let dead = s
            .enqueue(NewJob::new("a", Vec::new()))
            .expect("enqueue")
            .id();
        let c = s.claim("default", 1).expect("claim").remove(0);
        let error = JobError {
            class: "permanent".into(),
            message: "no".into(),
            at: s.now(),
        };
        s.bury(&c.lease, error, None).expect("bury");
        let running = s
            .enqueue(NewJob::new("a", Vec::new()))
            .expect("enqueue")
            .id();
        assert_eq!(s.claim("default", 1).expect("claim")[0].job.id, running);
        let keyed = NewJob::new("a", Vec::new()).with_dedup_key("k", DedupMode::KeepExisting);
        let pending = s.enqueue(keyed).expect("enqueue").id();
        (s, [pending, running, dead])
    }

    #[test]
    fn a_store_in_every_state_is_consistent() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (s, _) = store_in_every_state(dir.path());
        let report = s.check_consistency().expect("check");
        assert!(report.is_consistent(), "{report}");
        assert_eq!(report.jobs, 3);
    }

    #[test]
    fn a_stray_index_entry_and_a_drifted_counter_are_reported() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (s, [_, _, dead]) = store_in_every_state(dir.path());
        let job = s.job(dead).expect("read").expect("stored").0;
        let stray = keys::due(
            "default",
            DuePos {
                run_at: job.run_at,
                id: dead,
            },
        );
        s.shared.ks.due.insert(stray, []).expect("write");
        s.shared
            .lock()
            .counts
            .entry("default".into())
            .or_default()
            .waiting += 1;
        let report = s.check_consistency().expect("check");
        let text = report.to_string();
        assert!(
            text.contains(&format!("names job {dead} which is dead")),
            "{text}"
        );
        assert!(text.contains("counters say"), "{text}");
        assert!(text.contains("stored counters"), "{text}");
    }
}
