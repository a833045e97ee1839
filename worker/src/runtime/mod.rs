//! The worker: claims due jobs, runs them, writes their outcomes, and stops cleanly.
//!
//! One task (the loop in [`Runner`]) owns the breaker's copy, every store call and the
//! bookkeeping of running attempts; attempts run as their own tasks and hand their
//! results back through a `JoinSet`. Keeping all decisions in one task means the breaker
//! needs no lock, and a breaker change is written in the same store call as the outcome
//! that caused it.
//!
//! The loop never polls. It sleeps until the earliest of: a free slot (an attempt
//! ended), the next due job, a store event (enqueue, requeue, retry), the end of the
//! breaker's recovery timeout, a health probe's answer (`health.rs`), the ramp's or the
//! rate limit's next token, a policy
//! reload, a change of the queue's pause or rate limit (`crate::control`), a changed
//! worker value announced by the store, or shutdown. A paused queue claims nothing and
//! sleeps until it is resumed.
//!
//! Several processes may serve one queue through a shared store (see
//! [`JobStore`](tenax_core::JobStore)). Then the breaker, the pause and the rate limit
//! are the store's: the loop re-reads them when the store announces a change and at
//! least every second (`shared.rs`), and writes them by compare-and-set. Leases expire:
//! an upkeep tick renews those of running attempts and rescues the expired jobs of
//! dead processes (`lease.rs`). A store that cannot be reached stops claims, not the
//! worker: outcomes wait in a backlog and are written when it answers again
//! (`unreachable.rs`).
//!
//! Each attempt is decided with the policy snapshot loaded when it was claimed: the
//! handler classifies with it ([`JobRun::policy`](crate::JobRun::policy)), and the
//! retry decision, the breaker count and the breaker's thresholds come from the same
//! one. A reload applies from the next claim on and never mixes two policies in one
//! decision.
//!
//! Words used one way here:
//! - *attempt*: one run of a job's handler, as its own task (`crate::attempt`).
//! - *ended*: how an attempt task stopped: the handler returned (a panic counts as a
//!   `panicked` failure), the task was cancelled at shutdown, or it was abandoned when
//!   its lease could not be renewed.
//! - *decided*: what the policy makes of a failure: retry or bury, and whether it counts
//!   toward the breaker (`crate::attempt::decide`, shared with the test harness).
//! - *outcome*: what is written for the job: complete, retry, bury or release
//!   (`outcome.rs`). *Concluding* an attempt is writing its outcome.
//! - *lost*: a job whose lease the store no longer holds for this worker; nothing is
//!   written for it, since the process that holds it now decides.
//! - *evidence*: what an outcome tells the breaker (success, counted failure, neutral).
//! - *gate*: the pause, the breaker, the recovery ramp and the rate limit as the loop
//!   drives them: how many jobs may be claimed, what each outcome tells the breaker, what is persisted and shown
//!   (`gate.rs`).

mod claim;
mod gate;
mod health;
mod lease;
mod outcome;
mod shared;
mod unreachable;
mod view;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tenax_core::{EventListener, JobStore, Lease, Timestamp};
use tenax_policies::{LivePolicy, LoadedPolicy};
use tokio::sync::{Notify, watch};
use tokio::task::{AbortHandle, Id, JoinSet};
use tokio::time::Instant;

pub use view::BreakerView;

use crate::attempt::TaskOutput;
use crate::breaker::Breaker;
use crate::builder::{Registered, Settings};
use crate::control::{Controls, QueueControl};
use crate::jitter::Jitter;
use crate::metrics::QueueMetrics;
use crate::shutdown::{ShutdownHandle, Stop};
use crate::{Error, HandlerError, Result, WorkerBuilder};

use outcome::Unwritten;
use unreachable::Unreachable;

/// Delivers the jobs of one queue. Build with [`Worker::builder`], start with
/// [`Worker::run`], stop with its [`ShutdownHandle`].
pub struct Worker {
    settings: Settings,
    shutdown: ShutdownHandle,
    stop: watch::Receiver<Stop>,
    view: watch::Sender<BreakerView>,
    control: QueueControl,
}

/// What a worker did, returned when it stops.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RunReport {
    /// Attempts started.
    pub started: u64,
    /// Jobs completed.
    pub completed: u64,
    /// Failed attempts scheduled for a retry.
    pub retried: u64,
    /// Jobs moved to the dead letter queue.
    pub buried: u64,
    /// Running jobs released at shutdown without an attempt counted.
    pub released: u64,
    /// Attempts whose lease was lost (not renewed in time, or the job rescued by another
    /// process): abandoned, or their outcome refused by the store.
    pub lost: u64,
}

/// Checks jobs before they are enqueued, with the handlers of a worker: the kind must
/// have a handler, and the handler must accept the payload. Cheap to clone.
#[derive(Clone)]
pub struct JobValidator {
    handlers: Arc<HashMap<String, Registered>>,
}

impl JobValidator {
    /// Whether a job of `kind` with `payload` could run.
    ///
    /// # Errors
    /// [`Error::UnknownKind`], or [`Error::Refused`] with the handler's reason.
    pub fn validate(&self, kind: &str, payload: &[u8]) -> Result<()> {
        let registered = self
            .handlers
            .get(kind)
            .ok_or_else(|| Error::UnknownKind(kind.to_owned()))?;
        registered
            .handler
            .validate(payload)
            .map_err(|e: HandlerError| Error::Refused {
                kind: kind.to_owned(),
                reason: e.message,
            })
    }

    /// The kinds with a handler, sorted.
    pub fn kinds(&self) -> Vec<String> {
        let mut kinds: Vec<String> = self.handlers.keys().cloned().collect();
        kinds.sort();
        kinds
    }
}

impl Worker {
    /// Starts configuring a worker for `store`, deciding with `policy`.
    pub fn builder(store: Arc<dyn JobStore>, policy: LivePolicy) -> WorkerBuilder {
        WorkerBuilder::new(store, policy)
    }

    /// The worker that runs with `settings`, as [`WorkerBuilder::build`] checked them.
    pub(crate) fn from_settings(settings: Settings, control: QueueControl) -> Self {
        let (shutdown, stop) = ShutdownHandle::new();
        let cfg = *settings.policy.load().policy().breaker();
        let closed = Breaker::new(crate::breaker::Snapshot::default());
        let initial = BreakerView::of(&settings.queue, &closed, &cfg, settings.store.now());
        let (view, _) = watch::channel(initial);
        Worker {
            settings,
            shutdown,
            stop,
            view,
            control,
        }
    }

    /// The queue this worker serves.
    pub fn queue(&self) -> &str {
        &self.settings.queue
    }

    /// How many jobs this worker runs at once.
    pub fn concurrency(&self) -> usize {
        self.settings.concurrency
    }

    /// The live policy this worker decides with (its rate limit included).
    pub fn policy(&self) -> LivePolicy {
        self.settings.policy.clone()
    }

    /// Pauses, resumes and rate-limits this worker's queue, persisted in the store.
    pub fn control(&self) -> QueueControl {
        self.control.clone()
    }

    /// A handle that stops this worker.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.shutdown.clone()
    }

    /// The breaker's state, updated on every change while the worker runs (including
    /// changes made by other processes serving the queue through a shared store).
    pub fn breaker(&self) -> watch::Receiver<BreakerView> {
        self.view.subscribe()
    }

    /// The enqueue-time checks of this worker's handlers.
    pub fn validator(&self) -> JobValidator {
        JobValidator {
            handlers: Arc::new(self.settings.handlers.clone()),
        }
    }

    /// Runs until shut down, then returns what it did.
    ///
    /// # Errors
    /// A store error the worker cannot attribute to one job and that retrying cannot
    /// cure (a damaged store; not a full disk or a lost connection, which are waited
    /// out). Running jobs are then left to rescue: nothing is lost.
    pub async fn run(self) -> Result<RunReport> {
        let Worker {
            settings,
            shutdown,
            stop,
            view,
            control,
        } = self;
        let lease = settings.store.lease_duration();
        let (mut breaker, breaker_version) =
            match shared::load(settings.store.as_ref(), &settings.queue) {
                Ok(loaded) => loaded,
                Err(err) => {
                    tracing::error!(%err, "starting with a closed breaker");
                    (Breaker::new(crate::breaker::Snapshot::default()), 0)
                }
            };
        if lease.is_none() {
            // One process owns the store: the probes of the last one died with it.
            breaker.forget_probes();
        }
        let reloaded = Arc::new(Notify::new());
        let notify = Arc::downgrade(&reloaded);
        settings.policy.on_reload(move |_| {
            if let Some(n) = notify.upgrade() {
                n.notify_one();
            }
        });
        let metrics = QueueMetrics::new(&settings.queue);
        let longest_timeout = settings
            .handlers
            .values()
            .map(|r| r.timeout)
            .max()
            .unwrap_or_default();
        let mut runner = Runner {
            breaker,
            breaker_version,
            controls: control.subscribe(),
            control,
            tasks: JoinSet::new(),
            inflight: HashMap::new(),
            report: RunReport::default(),
            metrics,
            stop,
            view,
            reloaded,
            health: health::Health::default(),
            _shutdown: shutdown,
            next_upkeep: lease.map(|d| Instant::now() + lease::tick(d)),
            lease,
            longest_timeout,
            state_listener: None,
            stale: true,
            backlog: Vec::new(),
            unreachable: None,
            ids: Jitter::from_entropy(),
            settings,
        };
        runner.resumed();
        let result = runner.serve().await;
        if result.is_err() {
            // The store is failing: cancel the attempts and leave their jobs to rescue.
            runner.tasks.abort_all();
        }
        result.map(|()| runner.report)
    }
}

/// What the loop needs to write a job's outcome: kept after its attempt ended, until the
/// outcome is written.
struct Held {
    lease: Lease,
    kind: String,
    /// The half-open permit this job probes with, if it is a probe.
    probe: Option<u64>,
    /// The policy this attempt is decided with, loaded when it was claimed.
    policy: Arc<LoadedPolicy>,
    span: tracing::Span,
}

/// A job whose attempt is running.
struct InFlight {
    held: Held,
    attempt: u32,
    started: Instant,
    /// Stops the attempt's task.
    abort: AbortHandle,
    /// Moves the attempt's lease deadline forward after a renewal (expiring leases only).
    deadline: Option<watch::Sender<Instant>>,
    /// The store said the lease no longer holds: the attempt was stopped, and nothing
    /// will be written for it.
    lost: bool,
}

/// What the loop waits for after a claim round.
enum Wake {
    /// Claim again at once: the last round was cut short by its limit.
    Now,
    /// Sleep until the deadline, a store event (if listening), an ended attempt,
    /// a reload or shutdown.
    Later {
        deadline: Option<Timestamp>,
        listener: Option<EventListener>,
    },
}

struct Runner {
    settings: Settings,
    /// This worker's copy of the queue's breaker, as of `breaker_version` in the store.
    breaker: Breaker,
    breaker_version: u64,
    /// The queue's pause and run-time rate limit; a change wakes the loop.
    controls: watch::Receiver<Controls>,
    control: QueueControl,
    tasks: JoinSet<TaskOutput>,
    inflight: HashMap<Id, InFlight>,
    report: RunReport,
    metrics: QueueMetrics,
    stop: watch::Receiver<Stop>,
    view: watch::Sender<BreakerView>,
    reloaded: Arc<Notify>,
    /// This half-open episode's health probe.
    health: health::Health,
    /// Held so the stop channel stays open even when every user handle is dropped.
    _shutdown: ShutdownHandle,
    /// The store's lease duration; `None`: leases never expire, and there is no upkeep.
    lease: Option<Duration>,
    /// When the upkeep tick runs next (expiring leases only).
    next_upkeep: Option<Instant>,
    /// The longest attempt timeout of the handlers: how long a probe permit lasts on a
    /// store whose leases never expire.
    longest_timeout: Duration,
    /// Fires when the store announces a changed worker value.
    state_listener: Option<EventListener>,
    /// The queue's shared values (breaker, controls) may have changed: re-read them
    /// before the next claim.
    stale: bool,
    /// Outcomes the store could not take yet (it was unreachable), oldest first.
    backlog: Vec<Unwritten>,
    /// Set while the store cannot be reached.
    unreachable: Option<Unreachable>,
    /// Random ids for probe permits.
    ids: Jitter,
}

impl Runner {
    async fn serve(&mut self) -> Result<()> {
        while *self.stop.borrow() == Stop::Running {
            let wake = match self.round() {
                Ok(wake) => wake,
                Err(err) => {
                    self.store_trouble(err)?;
                    claim::later(None, None)
                }
            };
            let Wake::Later { deadline, listener } = wake else {
                self.conclude_ready()?;
                continue;
            };
            self.sleep(deadline, listener).await?;
        }
        self.drain().await
    }

    /// One pass of the loop: outcomes left over from an unreachable store, the shared
    /// values if they may have changed, then a claim round.
    fn round(&mut self) -> Result<Wake> {
        if self.unreachable.as_ref().is_some_and(|u| !u.due()) {
            return Ok(claim::later(None, None));
        }
        self.write_backlog()?;
        if !self.backlog.is_empty() {
            return Ok(claim::later(None, None));
        }
        self.refresh_if_stale()?;
        let wake = self.claim_round()?;
        self.reachable();
        Ok(wake)
    }

    /// Sleeps until something worth a new round happens.
    async fn sleep(
        &mut self,
        deadline: Option<Timestamp>,
        listener: Option<EventListener>,
    ) -> Result<()> {
        let sleep = deadline.map(|at| at.since(self.settings.store.now()));
        let retry_at = self.unreachable.as_ref().map(Unreachable::retry_at);
        let upkeep_at = self.next_upkeep;
        let mut state = self.state_listener.take();
        let (mut state_fired, mut upkeep_due) = (false, false);
        let event = async move {
            match listener {
                Some(listener) => listener.await,
                None => std::future::pending().await,
            }
        };
        let timer = async move {
            match sleep {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending().await,
            }
        };
        let state_event = async {
            match state.as_mut() {
                Some(listener) => listener.await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            _ = self.stop.changed() => {}
            Some(joined) = self.tasks.join_next_with_id() => {
                let ready = std::iter::from_fn(|| self.tasks.try_join_next_with_id());
                let ended: Vec<_> = std::iter::once(joined).chain(ready).collect();
                self.conclude(ended)?;
            }
            answer = health::answer(&mut self.health) => self.health_answered(answer)?,
            () = sleep_until(upkeep_at) => upkeep_due = true,
            () = state_event => state_fired = true,
            () = event => {}
            () = timer => {}
            () = sleep_until(retry_at) => {}
            () = self.reloaded.notified() => {}
            _ = self.controls.changed() => {}
        }
        if state_fired {
            self.stale = true;
        } else {
            self.state_listener = state;
        }
        if upkeep_due {
            self.upkeep();
        }
        Ok(())
    }

    /// Concludes every attempt that has already ended, without waiting.
    fn conclude_ready(&mut self) -> Result<()> {
        let ended: Vec<_> = std::iter::from_fn(|| self.tasks.try_join_next_with_id()).collect();
        self.conclude(ended)
    }

    /// Shutdown: no more claims; running attempts get the grace period, then are
    /// cancelled and their jobs released, so other workers can take them at once.
    /// Leases are renewed meanwhile. Then everything is flushed to disk.
    async fn drain(&mut self) -> Result<()> {
        let held = self.health.reset();
        if !held.is_empty() {
            self.update_breaker_or_log("return a health probe's permits", |b| {
                b.return_probes(&held);
            });
        }
        let running = self.tasks.len();
        if running > 0 {
            tracing::info!(
                running,
                grace = %tenax_policies::format_duration(self.settings.shutdown_grace),
                "shutting down: waiting for running jobs"
            );
        }
        let grace = tokio::time::sleep(self.settings.shutdown_grace);
        tokio::pin!(grace);
        while !self.tasks.is_empty() {
            if *self.stop.borrow() == Stop::Immediate {
                self.tasks.abort_all();
            }
            tokio::select! {
                Some(joined) = self.tasks.join_next_with_id() => self.conclude([joined])?,
                () = &mut grace => self.tasks.abort_all(),
                () = sleep_until(self.next_upkeep) => self.upkeep(),
                _ = self.stop.changed() => {}
            }
        }
        // Outcomes the store could not take yet: keep trying within the grace period.
        while !self.backlog.is_empty() {
            self.write_backlog()?;
            if self.backlog.is_empty() {
                break;
            }
            let retry_at = self.unreachable.as_ref().map(Unreachable::retry_at);
            tokio::select! {
                () = &mut grace => {
                    tracing::warn!(
                        unwritten = self.backlog.len(),
                        "the store stayed unreachable: these jobs are rescued once their leases expire"
                    );
                    break;
                }
                () = sleep_until(retry_at) => {}
            }
        }
        match self.settings.store.flush() {
            Ok(()) => {}
            Err(err) if err.is_transient() => tracing::warn!(%err, "final flush failed"),
            Err(err) => return Err(err.into()),
        }
        tracing::info!(
            completed = self.report.completed,
            released = self.report.released,
            lost = self.report.lost,
            "worker stopped"
        );
        Ok(())
    }
}

/// Sleeps until `at`, or forever without one.
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
