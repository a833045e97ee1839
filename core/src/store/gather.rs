//! Gathering a write group: a writer that is about to sync waits a moment for the
//! callers it expects back, so that one sync covers them all.

use std::sync::{Condvar, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// Longest a writer waits for the callers it expects back.
pub(super) const GATHER_WAIT: Duration = Duration::from_micros(200);

/// Waits on `arrived` until `ready` holds, at most [`GATHER_WAIT`] in all. `waiting`
/// marks the state while it waits (and unmarks it after), so that callers notify only a
/// writer that waits for them: a notification is a system call even when nobody waits.
pub(super) fn gather<'a, S>(
    arrived: &Condvar,
    mut st: MutexGuard<'a, S>,
    ready: impl Fn(&S) -> bool,
    waiting: impl Fn(&mut S, bool),
) -> MutexGuard<'a, S> {
    let deadline = Instant::now() + GATHER_WAIT;
    while !ready(&st) {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        waiting(&mut st, true);
        st = arrived
            .wait_timeout(st, left)
            .unwrap_or_else(PoisonError::into_inner)
            .0;
    }
    waiting(&mut st, false);
    st
}
