//! The key layout. Only this module knows how keys are built.
//!
//! Integers are big-endian so that byte order is numeric order. Queue names come first
//! in per-queue indexes, followed by a NUL byte (names may not contain control
//! characters), so one queue's keys form one contiguous range.
//!
//! | keyspace  | key                              | value                     |
//! |-----------|----------------------------------|---------------------------|
//! | `jobs`    | id                               | job record (codec)        |
//! | `due`     | queue NUL run_at id              | empty                     |
//! | `running` | id token                         | mark byte + queue (empty before 0.2) |
//! | `dead`    | dead_at id                       | dead summary (codec)      |
//! | `dedup`   | queue NUL dedup key              | id                        |
//! | `meta`    | `seq`, `counts/<queue>`, `state/<name>`, `format` | small values |

use crate::{JobId, Timestamp};

pub(crate) fn job(id: JobId) -> [u8; 8] {
    id.get().to_be_bytes()
}

pub(crate) fn parse_job(key: &[u8]) -> Option<JobId> {
    Some(JobId::new(u64::from_be_bytes(key.try_into().ok()?)))
}

/// A position in one queue's due index: (run_at, id).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct DuePos {
    pub(crate) run_at: Timestamp,
    pub(crate) id: JobId,
}

impl DuePos {
    pub(crate) const START: DuePos = DuePos {
        run_at: Timestamp::ZERO,
        id: JobId::new(0),
    };
}

pub(crate) fn due_prefix(queue: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(queue.len() + 17);
    push_due_prefix(&mut k, queue);
    k
}

fn push_due_prefix(buf: &mut Vec<u8>, queue: &str) {
    buf.extend_from_slice(queue.as_bytes());
    buf.push(0);
}

pub(crate) fn due(queue: &str, pos: DuePos) -> Vec<u8> {
    let mut k = Vec::with_capacity(queue.len() + 17);
    due_into(&mut k, queue, pos);
    k
}

/// [`due`] into `buf` (cleared first), for writers that reuse one buffer.
pub(crate) fn due_into(buf: &mut Vec<u8>, queue: &str, pos: DuePos) {
    buf.clear();
    push_due_prefix(buf, queue);
    buf.extend_from_slice(&pos.run_at.as_millis().to_be_bytes());
    buf.extend_from_slice(&pos.id.get().to_be_bytes());
}

/// Reads the position from a due key of `queue` (the name and its NUL come first).
pub(crate) fn parse_due(key: &[u8], queue: &str) -> Option<DuePos> {
    let rest = key.get(queue.len() + 1..)?;
    if rest.len() != 16 {
        return None;
    }
    let (run_at, id) = rest.split_at(8);
    Some(DuePos {
        run_at: Timestamp::from_millis(u64::from_be_bytes(run_at.try_into().ok()?)),
        id: JobId::new(u64::from_be_bytes(id.try_into().ok()?)),
    })
}

pub(crate) fn running(id: JobId, token: u64) -> [u8; 16] {
    let mut k = [0; 16];
    k[..8].copy_from_slice(&id.get().to_be_bytes());
    k[8..].copy_from_slice(&token.to_be_bytes());
    k
}

pub(crate) fn parse_running(key: &[u8]) -> Option<(JobId, u64)> {
    if key.len() != 16 {
        return None;
    }
    let (id, token) = key.split_at(8);
    Some((
        JobId::new(u64::from_be_bytes(id.try_into().ok()?)),
        u64::from_be_bytes(token.try_into().ok()?),
    ))
}

/// The value of a running entry: a mark byte (0 live, 1 cancelled by an operator), then
/// the queue's name, so a rescue can keep its counters right even when the job's record
/// no longer decodes.
pub(crate) fn running_value(queue: &str, cancelled: bool) -> Vec<u8> {
    let mut v = Vec::with_capacity(1 + queue.len());
    v.push(u8::from(cancelled));
    v.extend_from_slice(queue.as_bytes());
    v
}

/// A running entry's queue (`None` for entries written before it was stored) and
/// whether it is marked cancelled.
pub(crate) fn parse_running_value(value: &[u8]) -> (Option<String>, bool) {
    match value.split_first() {
        None => (None, false),
        Some((mark, queue)) => (
            Some(String::from_utf8_lossy(queue).into_owned()),
            *mark == 1,
        ),
    }
}

pub(crate) fn dead(dead_at: Timestamp, id: JobId) -> [u8; 16] {
    let mut k = [0; 16];
    k[..8].copy_from_slice(&dead_at.as_millis().to_be_bytes());
    k[8..].copy_from_slice(&id.get().to_be_bytes());
    k
}

pub(crate) fn parse_dead(key: &[u8]) -> Option<(Timestamp, JobId)> {
    parse_running(key).map(|(t, id)| (Timestamp::from_millis(t.get()), JobId::new(id)))
}

pub(crate) fn dedup(queue: &str, key: &str) -> Vec<u8> {
    let mut k = due_prefix(queue);
    k.extend_from_slice(key.as_bytes());
    k
}

/// Reads a dedup key back into (queue, key); the queue ends at the first NUL.
pub(crate) fn parse_dedup(key: &[u8]) -> Option<(&str, &str)> {
    let nul = key.iter().position(|&b| b == 0)?;
    let queue = std::str::from_utf8(&key[..nul]).ok()?;
    let key = std::str::from_utf8(&key[nul + 1..]).ok()?;
    Some((queue, key))
}

/// Reads any due key back into its queue and position (the fixed 16 bytes end it).
pub(crate) fn parse_due_any(key: &[u8]) -> Option<(&str, DuePos)> {
    let nul = key.len().checked_sub(17)?;
    if key[nul] != 0 {
        return None;
    }
    let queue = std::str::from_utf8(&key[..nul]).ok()?;
    Some((queue, parse_due(key, queue)?))
}

pub(crate) const META_FORMAT: &str = "format";
pub(crate) const META_SEQ: &str = "seq";
pub(crate) const META_COUNTS: &str = "counts/";
pub(crate) const META_STATE: &str = "state/";

pub(crate) fn meta_counts(queue: &str) -> String {
    format!("{META_COUNTS}{queue}")
}

pub(crate) fn meta_state(name: &str) -> String {
    format!("{META_STATE}{name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_running_value_keeps_its_queue_and_cancel_mark() {
        for (queue, cancelled) in [("media", false), ("media", true), ("", true), ("ü", false)] {
            let value = running_value(queue, cancelled);
            assert_eq!(
                parse_running_value(&value),
                (Some(queue.to_owned()), cancelled)
            );
        }
        // Entries written before the queue was stored are empty: no queue, not cancelled.
        assert_eq!(parse_running_value(&[]), (None, false));
    }

    #[test]
    fn due_keys_sort_by_time_then_id_within_a_queue() {
        let at = |t, id| {
            due(
                "q",
                DuePos {
                    run_at: Timestamp::from_millis(t),
                    id: JobId::new(id),
                },
            )
        };
        assert!(at(1, 9) < at(2, 1));
        assert!(at(2, 1) < at(2, 2));
        assert!(at(256, 0) > at(255, u64::MAX));
        // A queue's keys never interleave with a queue whose name extends it.
        assert!(due("q", DuePos::START) < due("qa", DuePos::START));
        assert!(at(u64::MAX, u64::MAX) < due("qa", DuePos::START));
    }

    #[test]
    fn keys_parse_back() {
        let pos = DuePos {
            run_at: Timestamp::from_millis(123),
            id: JobId::new(456),
        };
        let k = due("media", pos);
        assert_eq!(parse_due(&k, "media"), Some(pos));
        assert_eq!(
            parse_running(&running(JobId::new(3), 4)),
            Some((JobId::new(3), 4))
        );
        assert_eq!(
            parse_dead(&dead(Timestamp::from_millis(5), JobId::new(6))),
            Some((Timestamp::from_millis(5), JobId::new(6)))
        );
        assert_eq!(parse_job(&job(JobId::new(77))), Some(JobId::new(77)));
        assert_eq!(parse_due_any(&k), Some(("media", pos)));
        assert_eq!(
            parse_dedup(&dedup("media", "a\u{1}b")),
            Some(("media", "a\u{1}b"))
        );
        assert_eq!(parse_job(b"short"), None);
    }
}
