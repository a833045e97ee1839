//! A schedule's mark: how far its ticks have been handled, as stored in the store.

use serde::{Deserialize, Serialize};
use tenax_core::Timestamp;

/// Stored under `schedule:<name>` (JSON), written with the tick's job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Mark {
    /// Every tick at or before this instant (ms since the epoch) has been handled:
    /// fired, or skipped by the catch-up rule.
    pub(crate) covered: u64,
    /// The latest tick that enqueued a job; `None` until the first one.
    pub(crate) last_fired: Option<u64>,
}

impl Mark {
    pub(crate) fn covered(&self) -> Timestamp {
        Timestamp::from_millis(self.covered)
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// `None` for bytes that are not a mark (then the schedule starts afresh, from now).
    pub(crate) fn decode(bytes: &[u8]) -> Option<Mark> {
        serde_json::from_slice(bytes).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mark_reads_back_as_written() {
        let mark = Mark {
            covered: 1_700_000_000_000,
            last_fired: Some(1_699_999_999_000),
        };
        assert_eq!(Mark::decode(&mark.encode()), Some(mark));
        assert_eq!(Mark::decode(b"garbage"), None);
    }
}
