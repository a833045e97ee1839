//! The policy in force, swapped atomically when the file changes.
//!
//! Readers never block and never see half a policy: each decision loads one
//! `Arc<LoadedPolicy>` (the compiled policy with its version), and a reload replaces
//! that pointer in one store. A rejected reload changes nothing but the recorded error.

use std::{
    fmt, io,
    path::Path,
    sync::{Arc, Mutex, PoisonError},
    time::SystemTime,
};

use arc_swap::ArcSwap;
use serde::Serialize;

use crate::{CompiledPolicy, Decision, Failure, PolicyError, Result, hash};

/// One installed version of the policy. Derefs to the [`CompiledPolicy`], so
/// `live.load().decide(..)` and `live.load().policy().breaker()` read one consistent version.
#[derive(Debug)]
pub struct LoadedPolicy {
    policy: CompiledPolicy,
    version: u64,
    loaded_at: SystemTime,
}

impl LoadedPolicy {
    /// The compiled policy.
    pub fn compiled(&self) -> &CompiledPolicy {
        &self.policy
    }

    /// 1 for the first policy, one more for every successful reload since.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// When this version was installed.
    pub fn loaded_at(&self) -> SystemTime {
        self.loaded_at
    }
}

/// What a [`LivePolicy`] is running and whether the last reload failed, for status pages
/// and metrics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReloadStatus {
    /// The running version (see [`LoadedPolicy::version`]).
    pub version: u64,
    /// The fingerprint of the running script (see [`CompiledPolicy::fingerprint`]).
    pub fingerprint: String,
    /// Where the running policy came from.
    pub origin: String,
    /// When the running version was installed.
    pub loaded_at: SystemTime,
    /// Why the latest reload attempt failed (with `file:line:column`), or `None` if it
    /// succeeded or the file is back to the running version.
    pub last_error: Option<String>,
    /// The same failure with its position and time, for status pages.
    pub last_failure: Option<ReloadFailure>,
}

/// A rejected reload: what was wrong, where in the script, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReloadFailure {
    /// The whole error, with `file:line:column` where known.
    pub message: String,
    /// 1-based line in the script, when the error has a position.
    pub line: Option<usize>,
    /// 1-based column in the script, when the error has a position.
    pub column: Option<usize>,
    /// When the reload was rejected.
    pub at: SystemTime,
}

/// What happened on a reload, as told to subscribers.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReloadEvent {
    /// A new version is in force.
    Reloaded {
        /// Its version number.
        version: u64,
        /// Its fingerprint.
        fingerprint: String,
    },
    /// The file could not be read or the script was rejected; the previous version stays.
    Rejected {
        /// The error, with `file:line:column` where known.
        error: String,
    },
}

/// The outcome of a successful [`LivePolicy::reload_file`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reloaded {
    /// The file held a new policy; this is its version.
    NewVersion(u64),
    /// The file holds the running policy already; nothing changed.
    Unchanged,
}

type Subscriber = Arc<dyn Fn(&ReloadEvent) + Send + Sync>;

struct Inner {
    current: ArcSwap<LoadedPolicy>,
    last_error: Mutex<Option<ReloadFailure>>,
    subscribers: Mutex<Vec<Subscriber>>,
    /// Serialises reloads so versions are handed out in order.
    reloading: Mutex<()>,
}

/// The policy in force: cheap to clone (a handle), shared by the worker's tasks and the
/// [`PolicyWatcher`](crate::PolicyWatcher) that reloads it.
#[derive(Clone)]
pub struct LivePolicy {
    inner: Arc<Inner>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The data behind these locks stays consistent even if a subscriber panicked.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl LivePolicy {
    /// Starts with `policy` as version 1.
    pub fn new(policy: CompiledPolicy) -> Self {
        let loaded = LoadedPolicy {
            policy,
            version: 1,
            loaded_at: SystemTime::now(),
        };
        LivePolicy {
            inner: Arc::new(Inner {
                current: ArcSwap::from_pointee(loaded),
                last_error: Mutex::new(None),
                subscribers: Mutex::new(Vec::new()),
                reloading: Mutex::new(()),
            }),
        }
    }

    /// Loads `path` as version 1.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        Ok(Self::new(CompiledPolicy::load_file(path)?))
    }

    /// The version in force. Holding the `Arc` keeps that version alive (and consistent)
    /// however many reloads happen meanwhile.
    pub fn load(&self) -> Arc<LoadedPolicy> {
        self.inner.current.load_full()
    }

    /// Decides with the version in force; see [`CompiledPolicy::decide`].
    pub fn decide(&self, failure: &Failure<'_>, draw: f64) -> Decision {
        self.inner.current.load().policy.decide(failure, draw)
    }

    /// The running version and the last reload error.
    pub fn status(&self) -> ReloadStatus {
        let current = self.inner.current.load();
        let failure = lock(&self.inner.last_error).clone();
        ReloadStatus {
            version: current.version,
            fingerprint: current.policy.fingerprint().to_string(),
            origin: current.policy.origin().to_string(),
            loaded_at: current.loaded_at,
            last_error: failure.as_ref().map(|f| f.message.clone()),
            last_failure: failure,
        }
    }

    /// Calls `subscriber` after every reload attempt that changed something: a new
    /// version, or a rejection. It runs on the reloading thread, so it should be quick
    /// (count, log, or forward into a channel).
    pub fn on_reload(&self, subscriber: impl Fn(&ReloadEvent) + Send + Sync + 'static) {
        lock(&self.inner.subscribers).push(Arc::new(subscriber));
    }

    /// Installs `policy` as the next version and returns its number.
    pub fn replace(&self, policy: CompiledPolicy) -> u64 {
        let _reloading = lock(&self.inner.reloading);
        self.install(policy)
    }

    fn install(&self, policy: CompiledPolicy) -> u64 {
        let version = self.inner.current.load().version + 1;
        let fingerprint = policy.fingerprint().to_string();
        tracing::info!(
            version,
            fingerprint,
            origin = policy.origin(),
            "policy reloaded"
        );
        self.inner.current.store(Arc::new(LoadedPolicy {
            policy,
            version,
            loaded_at: SystemTime::now(),
        }));
        *lock(&self.inner.last_error) = None;
        self.notify(&ReloadEvent::Reloaded {
            version,
            fingerprint,
        });
        version
    }

    fn notify(&self, event: &ReloadEvent) {
        let subscribers = lock(&self.inner.subscribers).clone();
        for subscriber in subscribers {
            subscriber(event);
        }
    }

    fn reject(&self, error: PolicyError) -> PolicyError {
        let text = error.to_string();
        tracing::warn!(
            version = self.inner.current.load().version,
            "policy reload rejected, keeping the running version: {text}"
        );
        let at = error.location();
        *lock(&self.inner.last_error) = Some(ReloadFailure {
            message: text.clone(),
            line: at.and_then(|l| l.line),
            column: at.and_then(|l| l.column),
            at: SystemTime::now(),
        });
        self.notify(&ReloadEvent::Rejected { error: text });
        error
    }

    /// Reads, compiles and checks `path`, and installs it if it differs from the running
    /// policy. On any error the running policy stays, the error is recorded in
    /// [`ReloadStatus::last_error`] and returned.
    pub fn reload_file(&self, path: impl AsRef<Path>) -> Result<Reloaded> {
        let path = path.as_ref();
        self.reload_bytes(path, std::fs::read(path))
    }

    /// [`reload_file`](Self::reload_file) with the file already read (the watcher reads
    /// it once to fingerprint it).
    pub(crate) fn reload_bytes(&self, path: &Path, read: io::Result<Vec<u8>>) -> Result<Reloaded> {
        let _reloading = lock(&self.inner.reloading);
        let read_error = |source| PolicyError::Read {
            path: path.to_path_buf(),
            source,
        };
        let bytes = read.map_err(|e| self.reject(read_error(e)))?;
        if hash::fingerprint(&bytes) == self.inner.current.load().policy.fingerprint() {
            // Saved back to the running version: whatever was wrong is gone.
            *lock(&self.inner.last_error) = None;
            return Ok(Reloaded::Unchanged);
        }
        let source = String::from_utf8(bytes)
            .map_err(|e| self.reject(read_error(io::Error::new(io::ErrorKind::InvalidData, e))))?;
        let policy = CompiledPolicy::load_str(&source, &path.display().to_string())
            .map_err(|e| self.reject(e))?;
        Ok(Reloaded::NewVersion(self.install(policy)))
    }
}

impl std::ops::Deref for LoadedPolicy {
    type Target = CompiledPolicy;

    fn deref(&self) -> &CompiledPolicy {
        &self.policy
    }
}

impl fmt::Debug for LivePolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LivePolicy")
            .field("status", &self.status())
            .finish()
    }
}
