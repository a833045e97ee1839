//! Worker values (see [`crate::state`]): read with their version, written on their own,
//! and the event that tells waiting workers a value changed.
//!
//! One process owns the store, so versions are counted in memory from the opening:
//! every reader of a version lives in this process.

use event_listener::EventListener;

use super::{Batch, Store};
use crate::keys;
use crate::{Error, Result, StateUpdate, Versioned};

impl Store {
    /// A value the worker stored with [`StateUpdate`] or [`put_state`](Store::put_state).
    pub fn state(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let v = self.shared.ks.meta.get(keys::meta_state(key));
        Ok(v.map_err(|e| Error::engine("read state", e))?
            .map(|v| v.to_vec()))
    }

    /// A worker value with its version, for a compare-and-set
    /// ([`StateUpdate::expecting`]).
    pub fn versioned_state(&self, key: &str) -> Result<Versioned> {
        // Under the write lock, so the version is the value's.
        let st = self.shared.lock();
        let value = self.state(key)?;
        Ok(Versioned {
            version: st.version(key),
            value,
        })
    }

    /// Stores a named worker value on its own (for changes not tied to a job outcome).
    pub fn put_state(&self, key: &str, value: &[u8]) -> Result<()> {
        self.write_state(StateUpdate::new(key, value))
    }

    /// Stores a named worker value if its version is still `expect`.
    ///
    /// # Errors
    /// [`Error::StateConflict`] when it is not; nothing was written.
    pub fn put_state_if(&self, key: &str, value: &[u8], expect: u64) -> Result<()> {
        self.write_state(StateUpdate::new(key, value).expecting(expect))
    }

    /// A listener that fires when any worker value is written. Create it before reading
    /// the values it guards, as with [`listen`](Store::listen).
    pub fn listen_state(&self) -> EventListener {
        self.shared.state_changed.listen()
    }

    fn write_state(&self, update: StateUpdate<'_>) -> Result<()> {
        let mut st = self.shared.lock();
        let mut batch = Batch::new(&self.shared);
        batch.put_state(&st, update)?;
        batch.commit(&mut st)?;
        Ok(())
    }
}
