//! Leases in a store one process owns: they never expire.
//!
//! A shared backend's leases expire unless renewed, so that another process can rescue
//! the jobs of one that died. Here the process that holds a lease is the one that owns
//! the store: if it dies, the store is closed with it, and the next open rescues every
//! running job (see `rescue.rs`). So renewing only checks the fence, and there is never
//! anything expired to rescue.

use super::Store;
use crate::{Lease, Result};

impl Store {
    /// Whether each lease still holds its job (in order). Leases here never expire, so
    /// a lease is lost only when its job was finished or released with it.
    pub fn renew(&self, leases: &[Lease]) -> Result<Vec<bool>> {
        let st = self.shared.lock();
        Ok(leases
            .iter()
            .map(|l| st.running.get(&l.id).is_some_and(|r| r.token == l.token))
            .collect())
    }

    /// Jobs of `queue` whose lease expired: none here, ever (rescue runs at open).
    pub fn rescue_expired(&self, _queue: &str) -> Result<usize> {
        Ok(0)
    }
}
