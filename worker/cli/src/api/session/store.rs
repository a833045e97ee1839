//! Browser sessions, in memory: a random id (the cookie) maps to a role, a CSRF token and
//! an expiry. A restart logs everyone out, which is fine for an operator's dashboard and
//! keeps secrets off the disk.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use subtle::ConstantTimeEq;

use crate::api::auth::Role;

/// Most sessions kept at once; logging in past it drops the one closest to expiring.
pub(crate) const MAX_SESSIONS: usize = 1_000;

/// How long a session lasts unless configured. Default: 12 h.
pub(crate) const DEFAULT_LIFETIME: Duration = Duration::from_secs(12 * 3600);

/// A logged-in browser.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Session {
    pub(crate) role: Role,
    /// Must come back as `X-CSRF-Token` on every state-changing request.
    pub(crate) csrf: String,
    expires: Instant,
}

/// The sessions of one daemon.
#[derive(Debug)]
pub(crate) struct Sessions {
    lifetime: Duration,
    by_id: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    pub(crate) fn new(lifetime: Duration) -> Self {
        Sessions {
            lifetime,
            by_id: Mutex::new(HashMap::new()),
        }
    }

    /// How long a new session lasts (the cookie's `Max-Age`).
    pub(crate) fn lifetime(&self) -> Duration {
        self.lifetime
    }

    /// Starts a session for `role` at `now`: its id (the cookie value).
    ///
    /// # Errors
    /// The operating system's random source failed.
    pub(crate) fn start(&self, role: Role, now: Instant) -> Result<String, getrandom::Error> {
        let id = random_hex()?;
        let csrf = random_hex()?;
        let mut by_id = self.lock();
        if by_id.len() >= MAX_SESSIONS {
            by_id.retain(|_, s| s.expires > now);
        }
        if by_id.len() >= MAX_SESSIONS
            && let Some(oldest) = by_id
                .iter()
                .min_by_key(|(_, s)| s.expires)
                .map(|(k, _)| k.clone())
        {
            by_id.remove(&oldest);
        }
        let expires = now + self.lifetime;
        by_id.insert(
            id.clone(),
            Session {
                role,
                csrf,
                expires,
            },
        );
        Ok(id)
    }

    /// The live session `id` names at `now`; an expired one is dropped.
    pub(crate) fn get(&self, id: &str, now: Instant) -> Option<Session> {
        let mut by_id = self.lock();
        let session = by_id.get(id)?;
        if session.expires <= now {
            by_id.remove(id);
            return None;
        }
        Some(session.clone())
    }

    /// Ends session `id`, if it exists.
    pub(crate) fn end(&self, id: &str) {
        self.lock().remove(id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        // A map of plain values stays consistent even if a holder panicked.
        self.by_id.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Session {
    /// Whether `given` is this session's CSRF token (constant-time).
    pub(crate) fn csrf_matches(&self, given: &str) -> bool {
        bool::from(given.as_bytes().ct_eq(self.csrf.as_bytes()))
    }
}

/// 32 random bytes as 64 hex digits.
fn random_hex() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_expires_after_its_lifetime() {
        let sessions = Sessions::new(Duration::from_secs(60));
        let t0 = Instant::now();
        let id = sessions.start(Role::Read, t0).expect("random");
        assert_eq!(id.len(), 64);
        let live = sessions
            .get(&id, t0 + Duration::from_secs(59))
            .expect("live");
        assert_eq!(live.role, Role::Read);
        assert!(live.csrf_matches(&live.csrf.clone()));
        assert!(!live.csrf_matches("nope"));
        assert!(sessions.get(&id, t0 + Duration::from_secs(60)).is_none());
        assert!(
            sessions.get(&id, t0).is_none(),
            "an expired session is gone"
        );
    }

    #[test]
    fn ids_are_unpredictable_and_ending_one_leaves_the_others() {
        let sessions = Sessions::new(DEFAULT_LIFETIME);
        let now = Instant::now();
        let a = sessions.start(Role::Admin, now).expect("random");
        let b = sessions.start(Role::Admin, now).expect("random");
        assert_ne!(a, b);
        sessions.end(&a);
        assert!(sessions.get(&a, now).is_none());
        assert!(sessions.get(&b, now).is_some());
    }

    #[test]
    fn the_count_is_bounded() {
        let sessions = Sessions::new(DEFAULT_LIFETIME);
        let t0 = Instant::now();
        let first = sessions.start(Role::Read, t0).expect("random");
        for i in 1..=MAX_SESSIONS {
            let at = t0 + Duration::from_millis(i as u64);
            sessions.start(Role::Read, at).expect("random");
        }
        assert_eq!(sessions.lock().len(), MAX_SESSIONS);
        assert!(sessions.get(&first, t0).is_none(), "the oldest went first");
    }
}
