//! The worker: claims due jobs, runs them, writes their outcomes, and stops cleanly.
//!
//! One task (the loop in [`Runner`]) owns the breaker, the ramp and every store call;
//! attempts run as their own tasks and hand their results back through a `JoinSet`.
//! Keeping all decisions in one task means the breaker needs no lock, and a breaker
//! change is written in the same store call as the outcome that caused it.
//!
//! The loop never polls. It sleeps until the earliest of: a free slot (an attempt
//! ended), the next due job, a store event (enqueue, requeue, retry), the end of the
//! breaker's recovery timeout, a health probe's answer (`health.rs`), the ramp's or the rate limit's next token, a policy
//! reload, a change of the queue's pause or rate limit (`crate::control`), or shutdown.
//! A paused queue claims nothing and sleeps until it is resumed.
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
//!   `panicked` failure), or the task was cancelled at shutdown.
//! - *decided*: what the policy makes of a failure: retry or bury, and whether it counts
//!   toward the breaker (`crate::attempt::decide`, shared with the test harness).
//! - *outcome*: what is written for the job: complete, retry, bury or release
//!   (`outcome.rs`). *Concluding* an attempt is writing its outcome.
//! - *evidence*: what an outcome tells the breaker (success, counted failure, neutral).
//! - *gate*: the pause, the breaker, the recovery ramp and the rate limit as the loop
//!   drives them: how many jobs may be claimed, what each outcome tells the breaker, what is persisted and shown
//!   (`gate.rs`).

mod claim;
mod gate;
mod health;
mod outcome;
mod view;

use std::collections::HashMap;
use std::sync::Arc;

use serde::Serialize;
use tenax_core::{JobStore, Lease, Timestamp};
use tenax_policies::{LivePolicy, LoadedPolicy};
use tokio::sync::{Notify, watch};
use tokio::task::{Id, JoinSet};

pub use view::BreakerView;

use crate::attempt::AttemptResult;
use crate::breaker::{Breaker, Ramp};
use crate::builder::{Registered, Settings};
use crate::control::{Controls, QueueControl};
use crate::metrics::QueueMetrics;
use crate::rate::RateBucket;
use crate::shutdown::{ShutdownHandle, Stop};
use crate::{Error, HandlerError, Result, WorkerBuilder};

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
        let initial = BreakerView::of(&settings.queue, &closed, &cfg);
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

    /// The breaker's state, updated on every change while the worker runs.
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
    /// A store error the worker cannot attribute to one job (disk, I/O). Running jobs
    /// are then left to the next open's rescue: nothing is lost.
    pub async fn run(self) -> Result<RunReport> {
        let Worker {
            settings,
            shutdown,
            stop,
            view,
            control,
        } = self;
        let snapshot = match view::load_snapshot(settings.store.as_ref(), &settings.queue) {
            Ok(snap) => snap,
            Err(err) => {
                tracing::error!(%err, "starting with a closed breaker");
                crate::breaker::Snapshot::default()
            }
        };
        let reloaded = Arc::new(Notify::new());
        let notify = Arc::downgrade(&reloaded);
        settings.policy.on_reload(move |_| {
            if let Some(n) = notify.upgrade() {
                n.notify_one();
            }
        });
        let metrics = QueueMetrics::new(&settings.queue);
        let mut runner = Runner {
            breaker: Breaker::new(snapshot),
            ramp: Ramp::new(),
            rate: RateBucket::new(),
            controls: control.subscribe(),
            _control: control,
            tasks: JoinSet::new(),
            inflight: HashMap::new(),
            report: RunReport::default(),
            metrics,
            settings,
            stop,
            view,
            reloaded,
            health: health::Health::default(),
            _shutdown: shutdown,
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

/// A job whose attempt is running.
struct InFlight {
    lease: Lease,
    kind: String,
    attempt: u32,
    probe: bool,
    /// The policy this attempt is decided with, loaded when it was claimed.
    policy: Arc<LoadedPolicy>,
    started: tokio::time::Instant,
    span: tracing::Span,
}

/// What the loop waits for after a claim round.
enum Wake {
    /// Claim again at once: the last round was cut short by its limit.
    Now,
    /// Sleep until the deadline, a store event (if listening), an ended attempt,
    /// a reload or shutdown.
    Later {
        deadline: Option<Timestamp>,
        listener: Option<tenax_core::EventListener>,
    },
}

struct Runner {
    settings: Settings,
    breaker: Breaker,
    ramp: Ramp,
    rate: RateBucket,
    /// The queue's pause and run-time rate limit; a change wakes the loop.
    controls: watch::Receiver<Controls>,
    /// Held so the controls channel stays open.
    _control: QueueControl,
    tasks: JoinSet<AttemptResult>,
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
}

impl Runner {
    async fn serve(&mut self) -> Result<()> {
        while *self.stop.borrow() == Stop::Running {
            let wake = self.claim_round()?;
            let Wake::Later { deadline, listener } = wake else {
                self.conclude_ready()?;
                continue;
            };
            let sleep = deadline.map(|at| at.since(self.settings.store.now()));
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
            tokio::select! {
                biased;
                _ = self.stop.changed() => {}
                Some(joined) = self.tasks.join_next_with_id() => {
                    self.conclude(joined)?;
                    self.conclude_ready()?;
                }
                answer = health::answer(&mut self.health) => self.health_answered(answer)?,
                () = event => {}
                () = timer => {}
                () = self.reloaded.notified() => {}
                _ = self.controls.changed() => {}
            }
        }
        self.drain().await
    }

    /// Concludes every attempt that has already ended, without waiting.
    fn conclude_ready(&mut self) -> Result<()> {
        while let Some(joined) = self.tasks.try_join_next_with_id() {
            self.conclude(joined)?;
        }
        Ok(())
    }

    /// Shutdown: no more claims; running attempts get the grace period, then are
    /// cancelled and their jobs released. Then everything is flushed to disk.
    async fn drain(&mut self) -> Result<()> {
        self.health.reset();
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
                Some(joined) = self.tasks.join_next_with_id() => self.conclude(joined)?,
                () = &mut grace => self.tasks.abort_all(),
                _ = self.stop.changed() => {}
            }
        }
        self.settings.store.flush()?;
        tracing::info!(
            completed = self.report.completed,
            released = self.report.released,
            "worker stopped"
        );
        Ok(())
    }
}
