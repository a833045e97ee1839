//! Named worker values: small records the worker keeps in the store beside the jobs
//! (a queue's circuit breaker, its pause and rate limit, a schedule's last tick).
//!
//! Every value has a version that changes with each write of it. Several workers share
//! a value through the store by compare-and-set: read the value and its version, decide,
//! and write with [`StateUpdate::expecting`] that version. If someone wrote in between,
//! the write is refused with [`Error::StateConflict`](crate::Error::StateConflict) and
//! nothing else in the same call is written either, so the caller reads again and
//! decides again. A value written with an outcome or an enqueue rides in that same
//! atomic write.
//!
//! Versions are only compared, never interpreted: a backend that one process owns may
//! count them from its opening, a shared one keeps them with the value.

/// A small named value that the worker keeps in the store (for example the circuit
/// breaker's state), written in the same atomic batch as the outcome that changed it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StateUpdate<'a> {
    /// The value's name.
    pub key: &'a str,
    /// The encoded value; opaque to the store.
    pub value: &'a [u8],
    /// Write only if the value's version is still this one (see [`Versioned`]);
    /// `None` writes whatever the version.
    pub expect: Option<u64>,
}

impl<'a> StateUpdate<'a> {
    /// Writes `value` under `key`, whatever was there.
    pub fn new(key: &'a str, value: &'a [u8]) -> Self {
        StateUpdate {
            key,
            value,
            expect: None,
        }
    }

    /// Writes only if the value's version is still `version`, as read with
    /// [`JobStore::versioned_state`](crate::JobStore::versioned_state); the write then
    /// makes it `version + 1`.
    #[must_use]
    pub fn expecting(mut self, version: u64) -> Self {
        self.expect = Some(version);
        self
    }
}

/// A worker value as read for a compare-and-set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Versioned {
    /// Changes with every write of the value; a conditional write (see
    /// [`StateUpdate::expecting`]) that expects this version makes it `version + 1`.
    pub version: u64,
    /// The value; `None` when it was never written.
    pub value: Option<Vec<u8>>,
}
