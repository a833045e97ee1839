//! The queue's shared values as the loop keeps them: its copy of the breaker record and
//! of the pause and rate limit, re-read when they may have changed, and the breaker
//! written by compare-and-set.
//!
//! On a store one process owns, nobody else writes them, so the copy is always current
//! and every compare-and-set succeeds; the store's change event still wakes the loop
//! for a pause set through the API. On a shared store another process may write at any
//! time: the store announces it (where it can) and the upkeep tick re-reads at least
//! every second, so every process sees an opened breaker or a pause before its next
//! claim, within about a second. A write that finds another version re-reads the record
//! and decides again; the other process's decision is never overwritten.

use tenax_core::{Error as StoreError, JobStore, Result as StoreResult};

use super::Runner;
use crate::BreakerState;
use crate::breaker::{Breaker, Snapshot};
use crate::{Error, Result};

/// Compare-and-set rounds before a breaker write gives up. Each lost round means
/// another process changed the breaker in between; that many in a row is a storm.
pub(super) const MAX_ROUNDS: usize = 64;

/// The stored breaker of `queue` with its version; a fresh one when none is stored.
pub(super) fn load(store: &dyn JobStore, queue: &str) -> Result<(Breaker, u64)> {
    let stored = store.versioned_state(&Snapshot::key(queue))?;
    let snap = match stored.value {
        None => Snapshot::default(),
        Some(bytes) => Snapshot::decode(&bytes).map_err(|reason| Error::BreakerState {
            queue: queue.to_owned(),
            reason,
        })?,
    };
    Ok((Breaker::new(snap), stored.version))
}

impl Runner {
    /// Re-reads the shared values if the store announced a change or the upkeep tick
    /// asked for it. The listener for the next change is made before reading, so a
    /// change during the read is not missed.
    pub(super) fn refresh_if_stale(&mut self) -> Result<()> {
        if !self.stale && self.state_listener.is_some() {
            return Ok(());
        }
        self.state_listener = Some(self.settings.store.listen_state());
        self.reload_breaker()?;
        match self.control.refresh() {
            Ok(_) => {}
            Err(Error::QueueState { queue, reason }) => {
                tracing::error!(%queue, %reason, "the queue's stored controls are unreadable; keeping the last ones");
            }
            Err(err) => return Err(err),
        }
        self.stale = false;
        Ok(())
    }

    /// Reads the stored breaker; if another process changed it, takes its version.
    pub(super) fn reload_breaker(&mut self) -> StoreResult<()> {
        let store = self.settings.store.as_ref();
        let stored = store.versioned_state(&Snapshot::key(&self.settings.queue))?;
        if stored.version == self.breaker_version {
            return Ok(());
        }
        let snap = match stored.value.as_deref().map(Snapshot::decode) {
            None => Snapshot::default(),
            Some(Ok(snap)) => snap,
            Some(Err(reason)) => {
                // Overwritten at the next change, from the copy this worker has.
                tracing::error!(queue = %self.settings.queue, %reason, "the stored breaker is unreadable");
                self.breaker_version = stored.version;
                return Ok(());
            }
        };
        let before = self.breaker.state();
        self.breaker = Breaker::new(snap);
        self.breaker_version = stored.version;
        let after = self.breaker.state();
        if before != after {
            // The move dropped every permit; a health question of the last state is moot.
            self.health.reset();
            tracing::info!(
                queue = %self.settings.queue,
                from = %before,
                to = %after,
                "circuit breaker changed by another worker of the queue"
            );
            self.metrics.breaker(after, false);
            // The change's own time where the record keeps one.
            let snap = self.breaker.snapshot();
            let at = match after {
                BreakerState::Open => snap.opened_at,
                BreakerState::Closed => snap.closed_at.unwrap_or_else(|| self.settings.store.now()),
                BreakerState::HalfOpen => self.settings.store.now(),
            };
            self.tell_observers(
                before,
                after,
                "changed by another worker of the queue",
                None,
                at,
            );
        }
        let cfg = *self.settings.policy.load().policy().breaker();
        self.publish(&cfg);
        Ok(())
    }

    /// Writes `next` as the breaker if nobody wrote since this worker's copy; then it is
    /// the copy. A conflict is returned for the caller to re-read and decide again.
    pub(super) fn store_breaker(&mut self, next: Breaker) -> StoreResult<()> {
        let key = Snapshot::key(&self.settings.queue);
        let bytes = next.snapshot().encode();
        self.settings
            .store
            .put_state_if(&key, &bytes, self.breaker_version)?;
        self.breaker = next;
        self.breaker_version += 1;
        Ok(())
    }

    /// Applies `change` to the breaker and writes it, re-reading and applying again
    /// after a conflict. For changes that no outcome carries: permits returned,
    /// renewed, or freed by an attempt that wrote nothing.
    pub(super) fn update_breaker(&mut self, change: impl Fn(&mut Breaker)) -> StoreResult<()> {
        for _ in 0..MAX_ROUNDS {
            let mut next = self.breaker.clone();
            change(&mut next);
            if next == self.breaker {
                return Ok(());
            }
            match self.store_breaker(next) {
                Ok(()) => return Ok(()),
                Err(StoreError::StateConflict { .. }) => self.reload_breaker()?,
                Err(err) => return Err(err),
            }
        }
        Err(StoreError::StateConflict {
            key: Snapshot::key(&self.settings.queue),
        })
    }

    /// [`update_breaker`](Self::update_breaker) where a failure only costs a permit
    /// that lapses on its own: logged, not returned.
    pub(super) fn update_breaker_or_log(&mut self, what: &str, change: impl Fn(&mut Breaker)) {
        if let Err(err) = self.update_breaker(change) {
            tracing::warn!(queue = %self.settings.queue, %err, "could not write the breaker ({what})");
        }
    }
}
