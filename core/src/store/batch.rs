//! One atomic write: the engine batch plus the counter changes that ride along with it.

use std::collections::{BTreeMap, HashMap};

use fjall::OwnedWriteBatch;

use super::{Shared, WriteState};
use crate::keys::{self, DuePos};
use crate::{Error, Job, JobId, QueueCounts, Result, StateUpdate, codec};

/// Collects the writes of one transition. Counters are staged as copies and only replace
/// the in-memory ones after the batch commits, so a failed write changes nothing.
pub(crate) struct Batch<'s> {
    shared: &'s Shared,
    inner: OwnedWriteBatch,
    counts: BTreeMap<String, QueueCounts>,
    seq: Option<u64>,
    /// Worker values written, with the version each gets at commit.
    versions: HashMap<String, u64>,
    /// Reused for each record and due key: the engine copies what it is given.
    record: Vec<u8>,
    key: Vec<u8>,
}

impl<'s> Batch<'s> {
    pub(crate) fn new(shared: &'s Shared) -> Self {
        Batch {
            shared,
            inner: shared.db.batch(),
            counts: BTreeMap::new(),
            seq: None,
            versions: HashMap::new(),
            record: Vec::new(),
            key: Vec::new(),
        }
    }

    /// The staged counters of `queue`, starting from the committed ones.
    pub(crate) fn counts(&mut self, st: &WriteState, queue: &str) -> &mut QueueCounts {
        if !self.counts.contains_key(queue) {
            let current = st.counts.get(queue).copied().unwrap_or_default();
            self.counts.insert(queue.to_owned(), current);
        }
        self.counts
            .get_mut(queue)
            .expect("staged counts were inserted just above")
    }

    /// Hands out the next id or token and records the new high-water mark.
    pub(crate) fn next_seq(&mut self, st: &mut WriteState) -> u64 {
        let n = st.next_seq();
        self.seq = Some(n);
        n
    }

    pub(crate) fn put_job(&mut self, job: &Job) {
        let ks = &self.shared.ks;
        self.record = codec::encode_job_into(job, std::mem::take(&mut self.record));
        self.inner
            .insert(&ks.jobs, keys::job(job.id), self.record.as_slice());
    }

    pub(crate) fn delete_job(&mut self, id: JobId) {
        // NOTE: a job record is rewritten by retries, so a weak delete would be unsound.
        self.inner.remove(&self.shared.ks.jobs, keys::job(id));
    }

    pub(crate) fn put_due(&mut self, queue: &str, pos: DuePos) {
        let ks = &self.shared.ks;
        keys::due_into(&mut self.key, queue, pos);
        self.inner.insert(&ks.due, self.key.as_slice(), []);
    }

    /// Removes a due key. Weak (single-delete) is sound: a due key is written once between
    /// deletions, and it keeps consumed keys from piling up as tombstones.
    pub(crate) fn delete_due(&mut self, queue: &str, pos: DuePos) {
        let ks = &self.shared.ks;
        keys::due_into(&mut self.key, queue, pos);
        self.inner.remove_weak(&ks.due, self.key.as_slice());
    }

    /// The entry names the queue, so a rescue can keep its counters right even when
    /// the job's record no longer decodes.
    pub(crate) fn put_running(&mut self, id: JobId, token: u64, queue: &str) {
        let ks = &self.shared.ks;
        self.inner.insert(
            &ks.running,
            keys::running(id, token),
            keys::running_value(queue, false),
        );
    }

    /// Running keys carry the unique token, so each is written exactly once.
    pub(crate) fn delete_running(&mut self, id: JobId, token: u64) {
        let ks = &self.shared.ks;
        self.inner
            .remove_weak(&ks.running, keys::running(id, token));
    }

    /// Marks a running entry cancelled by rewriting its value.
    ///
    /// NOTE: this is the one running key written twice, so it must later be removed with
    /// [`delete_running_strong`](Batch::delete_running_strong): a weak delete would only
    /// hide the newer version.
    pub(crate) fn mark_running_cancelled(&mut self, id: JobId, token: u64, queue: &str) {
        let ks = &self.shared.ks;
        self.inner.insert(
            &ks.running,
            keys::running(id, token),
            keys::running_value(queue, true),
        );
    }

    /// Removes a running key that may have been written twice (a cancelled one).
    pub(crate) fn delete_running_strong(&mut self, id: JobId, token: u64) {
        let ks = &self.shared.ks;
        self.inner.remove(&ks.running, keys::running(id, token));
    }

    pub(crate) fn put_dead(&mut self, job: &Job) {
        let ks = &self.shared.ks;
        if let Some(at) = job.dead_at {
            let summary = super::dead::encode_summary(job);
            self.inner.insert(&ks.dead, keys::dead(at, job.id), summary);
        }
    }

    pub(crate) fn delete_dead(&mut self, job: &Job) {
        let ks = &self.shared.ks;
        if let Some(at) = job.dead_at {
            self.inner.remove(&ks.dead, keys::dead(at, job.id));
        }
    }

    pub(crate) fn put_dedup(&mut self, queue: &str, key: &str, id: JobId) {
        let ks = &self.shared.ks;
        self.inner
            .insert(&ks.dedup, keys::dedup(queue, key), id.get().to_be_bytes());
    }

    /// Drops the dedup entry of `key` if (and only if) it still names job `id`: another
    /// live job may have taken the key over.
    pub(crate) fn release_dedup(&mut self, queue: &str, key: &str, id: JobId) -> Result<()> {
        if self.shared.dedup_holder(queue, key)? == Some(id) {
            self.inner
                .remove(&self.shared.ks.dedup, keys::dedup(queue, key));
        }
        Ok(())
    }

    /// Writes a worker value, if its version is still the one the update expects
    /// (counting a write staged earlier in this batch). On a conflict nothing is staged,
    /// and the caller drops the batch: the whole transition is refused.
    pub(crate) fn put_state(&mut self, st: &WriteState, update: StateUpdate<'_>) -> Result<()> {
        let current = self
            .versions
            .get(update.key)
            .copied()
            .unwrap_or_else(|| st.version(update.key));
        if update.expect.is_some_and(|v| v != current) {
            return Err(Error::StateConflict {
                key: update.key.to_owned(),
            });
        }
        let ks = &self.shared.ks;
        self.inner
            .insert(&ks.meta, keys::meta_state(update.key), update.value);
        self.versions.insert(update.key.to_owned(), current + 1);
        Ok(())
    }

    /// Writes the batch (one journal append) and, only then, applies the staged counters.
    /// Returns the group-commit ticket of the write.
    pub(crate) fn commit(mut self, st: &mut WriteState) -> Result<u64> {
        let ks = &self.shared.ks;
        for (queue, c) in &self.counts {
            self.inner
                .insert(&ks.meta, keys::meta_counts(queue), c.encode());
        }
        if let Some(seq) = self.seq {
            self.inner
                .insert(&ks.meta, keys::META_SEQ, seq.to_be_bytes());
        }
        let shared = self.shared;
        self.inner
            .commit()
            .map_err(|e| shared.space.explain(Error::engine("write batch", e)))?;
        st.counts.append(&mut self.counts);
        if !self.versions.is_empty() {
            st.versions.extend(self.versions.drain());
            shared.state_changed.notify(usize::MAX);
        }
        Ok(self.shared.group.ticket())
    }
}

impl Shared {
    pub(crate) fn dedup_holder(&self, queue: &str, key: &str) -> Result<Option<JobId>> {
        let v = self
            .ks
            .dedup
            .get(keys::dedup(queue, key))
            .map_err(|e| Error::engine("read dedup index", e))?;
        v.map(|v| keys::parse_job(&v).ok_or_else(|| Error::corrupt(None, "bad dedup index entry")))
            .transpose()
    }
}
