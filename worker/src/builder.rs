//! Configuring a worker: store, live policy, handlers and limits, validated at `build`.
//!
//! The builder is where settings and registered handlers live; `build` checks them once
//! and hands the runtime a checked [`Settings`]. The dependency runs one way: the
//! runtime reads `Settings`, and the builder knows of the runtime only the constructor
//! of [`Worker`].

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tenax_core::{DEFAULT_QUEUE, JobStore, MAX_NAME_BYTES};
use tenax_policies::LivePolicy;

use crate::jitter::Jitter;
use crate::{Error, Handler, HealthProbe, Observer, Result, Worker};

/// Jobs run at once unless configured. Default: 16.
pub const DEFAULT_CONCURRENCY: usize = 16;
/// Highest accepted concurrency.
pub const MAX_CONCURRENCY: usize = 10_000;
/// How long one attempt may run unless its kind says otherwise. Default: 5 minutes.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);
/// How long running jobs may finish after a shutdown request. Default: 30 s.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(30);
/// Longest accepted shutdown grace: 1 h. A stop that waits longer is a hang.
pub const MAX_SHUTDOWN_GRACE: Duration = Duration::from_secs(3600);

/// A worker setting out of its range: which one, and the range. [`WorkerBuilder::build`]
/// and the HTTP handler's `HttpConfig::validate` report it as [`Error::Config`]; a
/// configuration file maps `setting` to where the value was written.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{setting} {message}")]
#[non_exhaustive]
pub struct InvalidSetting {
    /// The setting, named as its builder method or field (`concurrency`, `timeout`, ...).
    pub setting: &'static str,
    /// The range it must be in and the value given.
    pub message: String,
}

impl InvalidSetting {
    pub(crate) fn new(setting: &'static str, message: String) -> Self {
        InvalidSetting { setting, message }
    }
}

impl From<InvalidSetting> for Error {
    fn from(e: InvalidSetting) -> Self {
        Error::Config(e.to_string())
    }
}

/// A handler and its attempt timeout.
#[derive(Clone)]
pub(crate) struct Registered {
    pub(crate) handler: Arc<dyn Handler>,
    pub(crate) timeout: Duration,
}

/// A worker's configuration after `build` checked it: what the runtime runs with.
pub(crate) struct Settings {
    pub(crate) store: Arc<dyn JobStore>,
    pub(crate) policy: LivePolicy,
    pub(crate) queue: String,
    /// By job kind; every timeout is above zero.
    pub(crate) handlers: HashMap<String, Registered>,
    /// 1 to [`MAX_CONCURRENCY`].
    pub(crate) concurrency: usize,
    pub(crate) shutdown_grace: Duration,
    pub(crate) jitter: Jitter,
    /// Asked before a half-open breaker lets a job through; `None`: the job is the probe.
    pub(crate) probe: Option<Arc<dyn HealthProbe>>,
    /// Told of every outcome and breaker transition.
    pub(crate) observers: Vec<Arc<dyn Observer>>,
}

/// Builds a [`Worker`]; every setting has a documented default.
pub struct WorkerBuilder {
    store: Arc<dyn JobStore>,
    policy: LivePolicy,
    queue: String,
    handlers: HashMap<String, (Arc<dyn Handler>, Option<Duration>)>,
    concurrency: usize,
    default_timeout: Duration,
    shutdown_grace: Duration,
    jitter: Option<u64>,
    probe: Option<Arc<dyn HealthProbe>>,
    observers: Vec<Arc<dyn Observer>>,
}

impl WorkerBuilder {
    pub(crate) fn new(store: Arc<dyn JobStore>, policy: LivePolicy) -> Self {
        WorkerBuilder {
            store,
            policy,
            queue: DEFAULT_QUEUE.to_owned(),
            handlers: HashMap::new(),
            concurrency: DEFAULT_CONCURRENCY,
            default_timeout: DEFAULT_TIMEOUT,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            jitter: None,
            probe: None,
            observers: Vec::new(),
        }
    }

    /// Runs jobs of `kind` with `handler`, under the default timeout.
    #[must_use]
    pub fn handler(mut self, kind: impl Into<String>, handler: impl Handler) -> Self {
        self.handlers.insert(kind.into(), (Arc::new(handler), None));
        self
    }

    /// Runs jobs of `kind` with `handler`; an attempt running longer than `timeout` is
    /// cancelled and counts as a `transient` failure.
    #[must_use]
    pub fn handler_with_timeout(
        mut self,
        kind: impl Into<String>,
        handler: impl Handler,
        timeout: Duration,
    ) -> Self {
        self.handlers
            .insert(kind.into(), (Arc::new(handler), Some(timeout)));
        self
    }

    /// The queue to serve. Default: `default`. One worker serves one queue and keeps
    /// one circuit breaker, pause and rate limit for it: give each downstream its own
    /// queue and worker (several workers share a store and a process).
    #[must_use]
    pub fn queue(mut self, queue: impl Into<String>) -> Self {
        self.queue = queue.into();
        self
    }

    /// How many jobs run at once. Default: [`DEFAULT_CONCURRENCY`]. Range: 1 to
    /// [`MAX_CONCURRENCY`].
    #[must_use]
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n;
        self
    }

    /// The attempt timeout of kinds registered without one. Default: [`DEFAULT_TIMEOUT`].
    #[must_use]
    pub fn default_timeout(mut self, timeout: Duration) -> Self {
        self.default_timeout = timeout;
        self
    }

    /// How long running jobs may finish after a graceful shutdown request.
    /// Default: [`DEFAULT_SHUTDOWN_GRACE`]. Range: up to [`MAX_SHUTDOWN_GRACE`].
    #[must_use]
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }

    /// Asks `probe` whether the downstream is back before a half-open breaker lets a
    /// job through: while it fails, the breaker reopens and no job is touched (see
    /// [`HealthProbe`]). Default: none; the half-open probe is a job.
    #[must_use]
    pub fn health_probe(mut self, probe: impl HealthProbe) -> Self {
        self.probe = Some(Arc::new(probe));
        self
    }

    /// Seeds the retry jitter, for reproducible schedules in tests. Default: seeded from
    /// the operating system.
    #[must_use]
    pub fn jitter_seed(mut self, seed: u64) -> Self {
        self.jitter = Some(seed);
        self
    }

    /// Tells `observer` of every outcome written and every breaker transition (see
    /// [`Observer`]). Several may be added; each is called in the order added.
    #[must_use]
    pub fn observer(mut self, observer: impl Observer) -> Self {
        self.observers.push(Arc::new(observer));
        self
    }

    /// The check `build` makes of [`queue`](Self::queue): 1 to [`MAX_NAME_BYTES`] bytes.
    ///
    /// # Errors
    /// The name out of range.
    pub fn check_queue(queue: &str) -> std::result::Result<(), InvalidSetting> {
        if queue.is_empty() || queue.len() > MAX_NAME_BYTES {
            return Err(InvalidSetting::new(
                "queue",
                format!("must be 1 to {MAX_NAME_BYTES} bytes, got {queue:?}"),
            ));
        }
        Ok(())
    }

    /// The check `build` makes of [`concurrency`](Self::concurrency): 1 to
    /// [`MAX_CONCURRENCY`].
    ///
    /// # Errors
    /// The count out of range.
    pub fn check_concurrency(n: usize) -> std::result::Result<(), InvalidSetting> {
        if !(1..=MAX_CONCURRENCY).contains(&n) {
            return Err(InvalidSetting::new(
                "concurrency",
                format!("must be 1 to {MAX_CONCURRENCY}, got {n}"),
            ));
        }
        Ok(())
    }

    /// The check `build` makes of [`shutdown_grace`](Self::shutdown_grace): at most
    /// [`MAX_SHUTDOWN_GRACE`].
    ///
    /// # Errors
    /// The grace out of range.
    pub fn check_shutdown_grace(grace: Duration) -> std::result::Result<(), InvalidSetting> {
        if grace > MAX_SHUTDOWN_GRACE {
            return Err(InvalidSetting::new(
                "shutdown_grace",
                format!("must be at most 1h, got {grace:?}"),
            ));
        }
        Ok(())
    }

    /// The check `build` makes of every attempt timeout, the default one and each kind's:
    /// above zero.
    ///
    /// # Errors
    /// A zero timeout.
    pub fn check_timeout(timeout: Duration) -> std::result::Result<(), InvalidSetting> {
        if timeout.is_zero() {
            return Err(InvalidSetting::new(
                "timeout",
                "must be above zero".to_owned(),
            ));
        }
        Ok(())
    }

    /// Checks the settings, reads the queue's stored pause and rate limit, and builds the
    /// worker.
    ///
    /// # Errors
    /// [`Error::Config`] naming the bad setting; a store error or [`Error::QueueState`]
    /// reading the queue's record.
    pub fn build(self) -> Result<Worker> {
        Self::check_queue(&self.queue)?;
        Self::check_concurrency(self.concurrency)?;
        Self::check_shutdown_grace(self.shutdown_grace)?;
        if self.handlers.is_empty() {
            return Err(config("no handlers registered".to_owned()));
        }
        let mut handlers = HashMap::with_capacity(self.handlers.len());
        for (kind, (handler, timeout)) in self.handlers {
            let timeout = timeout.unwrap_or(self.default_timeout);
            Self::check_timeout(timeout)
                .map_err(|e| config(format!("the timeout of kind `{kind}` {}", e.message)))?;
            handlers.insert(kind, Registered { handler, timeout });
        }
        let jitter = self
            .jitter
            .map_or_else(Jitter::from_entropy, Jitter::seeded);
        let control = crate::QueueControl::load(std::sync::Arc::clone(&self.store), &self.queue)?;
        Ok(Worker::from_settings(
            Settings {
                store: self.store,
                policy: self.policy,
                queue: self.queue,
                handlers,
                concurrency: self.concurrency,
                shutdown_grace: self.shutdown_grace,
                jitter,
                probe: self.probe,
                observers: self.observers,
            },
            control,
        ))
    }
}

fn config(message: String) -> Error {
    Error::Config(message)
}
