//! What an operator sets on a queue at run time: a pause, and a rate limit.
//!
//! Both live in one stored record per queue (`queue/NAME` in the store's worker state),
//! so a change is one write and survives `kill -9`. A [`QueueControl`] is the one way to
//! change them: it writes the record, then tells the queue's worker loop through a watch
//! channel, so a resume wakes the loop at once instead of waiting for a poll.
//!
//! The record is shared by every process serving the queue through one store. A change
//! is a compare-and-set (read, edit, write if nobody wrote meanwhile, else again), so a
//! pause on one host and a limit set on another both stick; the other processes' loops
//! re-read it when the store announces a change of worker values
//! ([`QueueControl::refresh`]), or within a second on a shared store.
//!
//! A pause stops claims only. Running attempts finish, enqueues are accepted, and no job
//! is touched: a job that became due while paused is claimed on resume in due order.
//!
//! The run-time rate limit overrides the policy script's `rate_limit`: `Limit` replaces
//! it, `Unlimited` switches it off, and no override (`None`) follows the script.

use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tenax_core::{Error as StoreError, JobStore};
use tokio::sync::watch;

use crate::rate::RateLimit;
use crate::{Error, Result};

const FORMAT: u32 = 1;

/// Compare-and-set rounds before a change gives up: only a storm of concurrent changes
/// to one queue's record loses this many times in a row.
const MAX_ROUNDS: usize = 64;

/// Who paused a queue and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pause {
    /// The operator's free-text reason (who and why).
    pub reason: Option<String>,
    /// When it was paused, Unix milliseconds on the store's clock.
    pub since_ms: u64,
}

/// A run-time rate limit, set by an operator over the policy script's.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "mode")]
pub enum RateOverride {
    /// At most this rate, whatever the script says.
    Limit(RateLimit),
    /// No steady limit, whatever the script says.
    Unlimited,
}

/// A queue's operator settings as stored and shown.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Controls {
    /// Set while the queue is paused.
    pub paused: Option<Pause>,
    /// The run-time rate limit; `None` follows the policy script.
    pub rate_override: Option<RateOverride>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Stored {
    format: u32,
    paused: Option<Pause>,
    rate_override: Option<RateOverride>,
}

impl Controls {
    /// The rate limit in force with `script` being the policy script's.
    pub fn effective_rate(&self, script: Option<RateLimit>) -> Option<RateLimit> {
        match self.rate_override {
            Some(RateOverride::Limit(limit)) => Some(limit),
            Some(RateOverride::Unlimited) => None,
            None => script,
        }
    }

    fn encode(&self) -> Vec<u8> {
        let stored = Stored {
            format: FORMAT,
            paused: self.paused.clone(),
            rate_override: self.rate_override,
        };
        // Plain fields always serialise.
        serde_json::to_vec(&stored).unwrap_or_default()
    }

    fn decode(bytes: &[u8]) -> std::result::Result<Controls, String> {
        let stored: Stored = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        if stored.format != FORMAT {
            return Err(format!("unknown format {}", stored.format));
        }
        Ok(Controls {
            paused: stored.paused,
            rate_override: stored.rate_override,
        })
    }
}

/// Pauses, resumes and limits one queue; cheap to clone. Get it from
/// [`Worker::control`](crate::Worker::control).
#[derive(Clone)]
pub struct QueueControl {
    store: Arc<dyn JobStore>,
    queue: Arc<str>,
    sender: Arc<watch::Sender<Controls>>,
    /// Serialises read-change-write, so a pause and a limit set at once both stick.
    write: Arc<Mutex<()>>,
}

impl QueueControl {
    /// The store key of `queue`'s record.
    pub fn key(queue: &str) -> String {
        format!("queue/{queue}")
    }

    /// `queue`'s settings as stored; the defaults when nothing is stored.
    ///
    /// # Errors
    /// A store error, or [`Error::QueueState`] when the record is unreadable.
    pub fn read(store: &dyn JobStore, queue: &str) -> Result<Controls> {
        decode(queue, store.state(&Self::key(queue))?.as_deref())
    }

    pub(crate) fn load(store: Arc<dyn JobStore>, queue: &str) -> Result<Self> {
        let controls = Self::read(store.as_ref(), queue)?;
        let (sender, _) = watch::channel(controls);
        Ok(QueueControl {
            store,
            queue: Arc::from(queue),
            sender: Arc::new(sender),
            write: Arc::new(Mutex::new(())),
        })
    }

    /// The queue this controls.
    pub fn queue(&self) -> &str {
        &self.queue
    }

    /// The settings in force.
    pub fn current(&self) -> Controls {
        self.sender.borrow().clone()
    }

    /// Pauses the queue: no job starts until [`resume`](Self::resume). Pausing a paused
    /// queue keeps its first time and replaces the reason. Blocks on the store's write.
    ///
    /// # Errors
    /// A store error; nothing changed.
    pub fn pause(&self, reason: Option<String>) -> Result<Controls> {
        let since_ms = self.store.now().as_millis();
        self.change(|c| {
            let since_ms = c.paused.as_ref().map_or(since_ms, |p| p.since_ms);
            c.paused = Some(Pause {
                reason: reason.clone(),
                since_ms,
            });
        })
    }

    /// Resumes the queue; due jobs start at once, in due order.
    ///
    /// # Errors
    /// A store error; nothing changed.
    pub fn resume(&self) -> Result<Controls> {
        self.change(|c| c.paused = None)
    }

    /// Sets the run-time rate limit (`None`: follow the policy script again).
    ///
    /// # Errors
    /// [`Error::Config`] for a limit out of range; a store error. Nothing changed.
    pub fn set_rate(&self, rate: Option<RateOverride>) -> Result<Controls> {
        if let Some(RateOverride::Limit(limit)) = rate {
            limit.validate().map_err(|e| Error::Config(e.to_string()))?;
        }
        self.change(|c| c.rate_override = rate)
    }

    pub(crate) fn subscribe(&self) -> watch::Receiver<Controls> {
        self.sender.subscribe()
    }

    /// Re-reads the record, for a change made by another process; tells the worker
    /// loop if it changed. Returns whether it did.
    ///
    /// # Errors
    /// A store error, or [`Error::QueueState`]; the settings in force stay.
    pub fn refresh(&self) -> Result<bool> {
        let stored = Self::read(self.store.as_ref(), &self.queue)?;
        Ok(self.sender.send_if_modified(|c| {
            let changed = *c != stored;
            if changed {
                *c = stored;
            }
            changed
        }))
    }

    fn change(&self, mut edit: impl FnMut(&mut Controls)) -> Result<Controls> {
        let _guard = self.write.lock().unwrap_or_else(|p| p.into_inner());
        let key = Self::key(&self.queue);
        for _ in 0..MAX_ROUNDS {
            let stored = self.store.versioned_state(&key)?;
            let mut next = decode(&self.queue, stored.value.as_deref())?;
            edit(&mut next);
            match self
                .store
                .put_state_if(&key, &next.encode(), stored.version)
            {
                Ok(()) => {
                    self.sender.send_replace(next.clone());
                    return Ok(next);
                }
                // Another process changed the record: edit its version instead.
                Err(StoreError::StateConflict { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::StateConflict { key }.into())
    }
}

fn decode(queue: &str, bytes: Option<&[u8]>) -> Result<Controls> {
    match bytes {
        None => Ok(Controls::default()),
        Some(bytes) => Controls::decode(bytes).map_err(|reason| Error::QueueState {
            queue: queue.to_owned(),
            reason,
        }),
    }
}
