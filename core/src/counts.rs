//! Per-queue counters, so stats never scan the data.
//!
//! The counters live in memory and are written, as absolute values, into the very batch
//! that changes them. Batches commit in order under the store's write lock, so whatever
//! prefix of batches survives a crash, the counters it holds match the data it holds.

use crate::codec::{Decoded, Reader, Writer};

/// Job counts of one queue.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct QueueCounts {
    /// Pending jobs that have not failed yet (including ones scheduled for later).
    pub waiting: u64,
    /// Pending jobs waiting for a retry after at least one failure.
    pub retrying: u64,
    /// Jobs held by a lease.
    pub running: u64,
    /// Jobs in the dead letter queue.
    pub dead: u64,
    /// Jobs completed since the store was created.
    pub completed: u64,
    /// Jobs created since the store was created (deduplicated requests not counted).
    pub enqueued: u64,
}

const COUNTS_V1: u8 = 1;

impl QueueCounts {
    /// Jobs waiting in the due index, whether or not they failed before.
    pub fn pending(&self) -> u64 {
        self.waiting + self.retrying
    }

    /// Jobs that are neither completed nor dead.
    pub fn live(&self) -> u64 {
        self.pending() + self.running
    }

    pub(crate) fn add_pending(&mut self, attempt: u32) {
        if attempt == 0 {
            self.waiting += 1;
        } else {
            self.retrying += 1;
        }
    }

    pub(crate) fn remove_pending(&mut self, attempt: u32) {
        if attempt == 0 {
            self.waiting = self.waiting.saturating_sub(1);
        } else {
            self.retrying = self.retrying.saturating_sub(1);
        }
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(24);
        w.u8(COUNTS_V1)
            .varint(self.waiting)
            .varint(self.retrying)
            .varint(self.running)
            .varint(self.dead)
            .varint(self.completed)
            .varint(self.enqueued);
        w.finish()
    }

    pub(crate) fn decode(b: &[u8]) -> Decoded<Self> {
        let mut r = Reader::new(b);
        if r.u8()? != COUNTS_V1 {
            return Err(crate::codec::DecodeError("unknown counts version"));
        }
        let c = QueueCounts {
            waiting: r.varint()?,
            retrying: r.varint()?,
            running: r.varint()?,
            dead: r.varint()?,
            completed: r.varint()?,
            enqueued: r.varint()?,
        };
        r.end()?;
        Ok(c)
    }
}

impl std::ops::AddAssign for QueueCounts {
    fn add_assign(&mut self, o: Self) {
        self.waiting += o.waiting;
        self.retrying += o.retrying;
        self.running += o.running;
        self.dead += o.dead;
        self.completed += o.completed;
        self.enqueued += o.enqueued;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_round_trip() {
        let c = QueueCounts {
            waiting: 1,
            retrying: 2,
            running: 3,
            dead: 4,
            completed: 5_000_000,
            enqueued: 6,
        };
        assert_eq!(QueueCounts::decode(&c.encode()), Ok(c));
        assert!(QueueCounts::decode(&[2, 0]).is_err());
    }

    #[test]
    fn pending_splits_by_attempt() {
        let mut c = QueueCounts::default();
        c.add_pending(0);
        c.add_pending(3);
        assert_eq!((c.waiting, c.retrying, c.pending()), (1, 1, 2));
        c.remove_pending(3);
        assert_eq!(c.retrying, 0);
    }
}
