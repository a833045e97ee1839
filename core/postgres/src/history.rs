//! The attempt history as stored: a `jsonb` array in the job's row, newest last.
//!
//! JSON rather than the embedded store's binary records: operators read it with
//! `psql`, and the outcome that ends an attempt appends to it in the same `UPDATE` that
//! moves the job (see [`append_attempt!`]), with no read of the row first.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tenax_core::{Attempt, AttemptOutcome, Timestamp};

/// One entry, as the JSON holds it.
#[derive(Serialize, Deserialize)]
struct Entry {
    started_at: u64,
    duration_ms: u64,
    outcome: String,
    class: String,
    message: String,
    #[serde(default)]
    status: Option<u16>,
    #[serde(default)]
    delay_ms: Option<u64>,
    #[serde(default)]
    policy_version: Option<u64>,
}

/// An attempt, recorded with `outcome`, as one JSON entry.
pub(crate) fn entry(attempt: &Attempt, outcome: AttemptOutcome) -> String {
    let a = attempt.clone().recorded(outcome);
    let millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    let entry = Entry {
        started_at: a.started_at.as_millis(),
        duration_ms: millis(a.duration),
        outcome: a.outcome.as_str().to_owned(),
        class: a.class,
        message: a.message,
        status: a.status,
        delay_ms: a.delay.map(millis),
        policy_version: a.policy_version,
    };
    serde_json::to_string(&entry).expect("an attempt always serializes")
}

/// The history from its stored JSON.
pub(crate) fn decode(json: &str) -> Result<Vec<Attempt>, String> {
    let entries: Vec<Entry> =
        serde_json::from_str(json).map_err(|e| format!("attempt history: {e}"))?;
    entries
        .into_iter()
        .map(|e| {
            let outcome = match e.outcome.as_str() {
                "retry" => AttemptOutcome::Retry,
                "dead" => AttemptOutcome::Dead,
                "released" => AttemptOutcome::Released,
                "cancelled" => AttemptOutcome::Cancelled,
                other => return Err(format!("attempt history: unknown outcome {other:?}")),
            };
            let mut a = Attempt::failed(
                Timestamp::from_millis(e.started_at),
                Duration::from_millis(e.duration_ms),
                e.class,
                e.message,
            )
            .with_status(e.status);
            a.delay = e.delay_ms.map(Duration::from_millis);
            a.policy_version = e.policy_version;
            Ok(a.recorded(outcome))
        })
        .collect()
}

/// SQL: the `attempts` column with the JSON entry `$entry` appended, keeping the newest
/// [`tenax_core::MAX_ATTEMPTS`] (10; a test pins the two together).
macro_rules! append_attempt {
    ($entry:literal) => {
        concat!(
            "CASE WHEN jsonb_array_length(attempts) >= 10 THEN (attempts - 0) || ",
            $entry,
            " ELSE attempts || ",
            $entry,
            " END"
        )
    };
}
pub(crate) use append_attempt;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sql_bound_is_the_core_bound() {
        assert_eq!(tenax_core::MAX_ATTEMPTS, 10);
        assert!(append_attempt!("$1::jsonb").contains(">= 10"));
    }

    #[test]
    fn an_entry_round_trips() {
        let a = Attempt::failed(
            Timestamp::from_millis(5),
            Duration::from_millis(7),
            "transient",
            "é".repeat(400),
        )
        .with_status(Some(503))
        .with_decision(Some(Duration::from_secs(4)), 9);
        let json = format!("[{}]", entry(&a, AttemptOutcome::Retry));
        let back = decode(&json).expect("decodes");
        assert_eq!(back, vec![a.recorded(AttemptOutcome::Retry)]);
        assert!(back[0].message.len() <= tenax_core::MAX_ATTEMPT_MESSAGE);
        assert!(decode("[{\"nope\":1}]").is_err());
    }
}
