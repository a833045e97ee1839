//! The breaker state as the store keeps it.
//!
//! JSON with a format version, so a later release can read what this one wrote and an
//! operator can read it in `tenax breaker`. Timestamps are wall-clock (the store's
//! clock), so an outage's remaining timeout survives a restart. Format 2 adds the
//! half-open probe permits; format 1 records read as having none.

use serde::{Deserialize, Serialize};
use tenax_core::Timestamp;

use super::BreakerState;

const FORMAT: u32 = 2;

/// The persisted part of a breaker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Snapshot {
    /// Format version of this record.
    format: u32,
    /// Where the breaker is.
    pub state: BreakerState,
    /// Consecutive counted failures while closed.
    pub failures: u32,
    /// When the breaker last opened.
    #[serde(with = "millis")]
    pub opened_at: Timestamp,
    /// Successful probes since it went half-open.
    pub probe_successes: u32,
    /// When it last closed after an outage: the start of the recovery ramp.
    #[serde(with = "opt_millis")]
    pub closed_at: Option<Timestamp>,
    /// How many times it has opened, ever.
    pub openings: u64,
    /// Half-open probes running now, in any process.
    #[serde(default)]
    pub permits: Vec<Permit>,
}

/// Leave to run one half-open probe, held by the worker that claimed it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Permit {
    /// Chosen at random by its holder.
    pub id: u64,
    /// When it lapses unless its holder renews it (the far future for a store one
    /// process owns).
    #[serde(with = "millis")]
    pub until: Timestamp,
}

impl Default for Snapshot {
    fn default() -> Self {
        Snapshot {
            format: FORMAT,
            state: BreakerState::Closed,
            failures: 0,
            opened_at: Timestamp::ZERO,
            probe_successes: 0,
            closed_at: None,
            openings: 0,
            permits: Vec::new(),
        }
    }
}

impl Snapshot {
    /// The bytes stored.
    pub fn encode(&self) -> Vec<u8> {
        // A struct of plain fields always serialises.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Reads stored bytes; the error says what is wrong.
    pub fn decode(bytes: &[u8]) -> Result<Snapshot, String> {
        let mut snap: Snapshot = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        if !(1..=FORMAT).contains(&snap.format) {
            return Err(format!(
                "format {} is not supported (this version reads {FORMAT})",
                snap.format
            ));
        }
        snap.format = FORMAT;
        Ok(snap)
    }

    /// The store key of `queue`'s breaker.
    pub fn key(queue: &str) -> String {
        format!("breaker/{queue}")
    }
}

mod millis {
    use serde::{Deserialize, Deserializer, Serializer};
    use tenax_core::Timestamp;

    pub(super) fn serialize<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(t.as_millis())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        u64::deserialize(d).map(Timestamp::from_millis)
    }
}

mod opt_millis {
    use serde::{Deserialize, Deserializer, Serializer};
    use tenax_core::Timestamp;

    pub(super) fn serialize<S: Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_some(&t.as_millis()),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Timestamp>, D::Error> {
        Option::<u64>::deserialize(d).map(|o| o.map(Timestamp::from_millis))
    }
}
