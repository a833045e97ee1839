//! The last hour of one queue, a minute at a time: a fixed ring of 60 slots, each
//! stamped with the minute it counts, so a slot left from an older hour reads as empty.

use std::collections::BTreeMap;

use serde::Serialize;

/// Minutes kept: one hour.
pub(crate) const MINUTES: usize = 60;
/// Distinct error classes counted per minute; more fold into `other`.
const MAX_CLASSES: usize = 100;
const MINUTE_MS: u64 = 60_000;

/// What one queue's worker wrote in one minute.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub(crate) struct Minute {
    /// Start of the minute, Unix milliseconds.
    pub(crate) start_ms: u64,
    /// Jobs completed.
    pub(crate) completed: u64,
    /// Failed attempts scheduled for a retry, by error class.
    pub(crate) retried: BTreeMap<String, u64>,
    /// Jobs moved to the dead letters.
    pub(crate) buried: u64,
    /// Running jobs given back at shutdown.
    pub(crate) released: u64,
}

/// What is counted.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Count<'a> {
    Completed,
    Retried(&'a str),
    Buried,
    Released,
}

/// The ring of one queue.
#[derive(Debug)]
pub(crate) struct Ring {
    slots: Vec<Minute>,
}

impl Default for Ring {
    fn default() -> Self {
        Ring {
            // `start_ms` 0 marks a slot never used (no real event is at the epoch).
            slots: vec![Minute::default(); MINUTES],
        }
    }
}

impl Ring {
    /// Counts `what` at `at_ms` (Unix milliseconds).
    pub(crate) fn count(&mut self, at_ms: u64, what: Count<'_>) {
        let start = at_ms - at_ms % MINUTE_MS;
        let slot = &mut self.slots[index(start)];
        if slot.start_ms != start {
            *slot = Minute {
                start_ms: start,
                ..Minute::default()
            };
        }
        match what {
            Count::Completed => slot.completed += 1,
            Count::Buried => slot.buried += 1,
            Count::Released => slot.released += 1,
            Count::Retried(class) => {
                let class = if slot.retried.contains_key(class) || slot.retried.len() < MAX_CLASSES
                {
                    class
                } else {
                    "other"
                };
                *slot.retried.entry(class.to_owned()).or_default() += 1;
            }
        }
    }

    /// The last `n` minutes up to the one holding `now_ms`, oldest first.
    pub(crate) fn last(&self, n: usize, now_ms: u64) -> Vec<Minute> {
        let now = now_ms - now_ms % MINUTE_MS;
        let n = n.clamp(1, MINUTES) as u64;
        (0..n)
            .rev()
            .map(|back| now.saturating_sub(back * MINUTE_MS))
            .map(|start| {
                let slot = &self.slots[index(start)];
                if slot.start_ms == start {
                    slot.clone()
                } else {
                    Minute {
                        start_ms: start,
                        ..Minute::default()
                    }
                }
            })
            .collect()
    }
}

fn index(start_ms: u64) -> usize {
    ((start_ms / MINUTE_MS) % MINUTES as u64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_700_000_000_000 - 1_700_000_000_000 % MINUTE_MS;

    #[test]
    fn counts_land_in_their_minute_and_old_hours_read_empty() {
        let mut ring = Ring::default();
        ring.count(T0 + 5, Count::Completed);
        ring.count(T0 + 59_999, Count::Retried("transient"));
        ring.count(T0 + MINUTE_MS, Count::Buried);
        ring.count(T0 + MINUTE_MS, Count::Retried("transient"));
        ring.count(T0 + MINUTE_MS, Count::Retried("not_found"));
        let minutes = ring.last(3, T0 + MINUTE_MS + 1);
        assert_eq!(minutes.len(), 3);
        assert_eq!(minutes[0].start_ms, T0 - MINUTE_MS);
        assert_eq!(minutes[0].completed, 0);
        assert_eq!(minutes[1].completed, 1);
        assert_eq!(minutes[1].retried["transient"], 1);
        assert_eq!(minutes[2].buried, 1);
        assert_eq!(minutes[2].retried.len(), 2);
        // An hour later the same slots hold nothing of the old hour.
        let later = ring.last(60, T0 + 61 * MINUTE_MS);
        assert!(later.iter().all(|m| m.completed == 0 && m.buried == 0));
        ring.count(T0 + 60 * MINUTE_MS, Count::Released);
        let slot = ring.last(1, T0 + 60 * MINUTE_MS);
        assert_eq!((slot[0].released, slot[0].completed), (1, 0));
    }
}
