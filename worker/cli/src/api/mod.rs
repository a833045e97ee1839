//! The local HTTP API (axum, JSON): enqueue, inspect, manage dead letters, and see the
//! policy, the breaker and the metrics.
//!
//! | method and path | what |
//! |---|---|
//! | `POST /v1/jobs` | enqueue one job, or `{"jobs": [...]}` as one all-or-nothing batch |
//! | `GET /v1/jobs?state=` | jobs in one state (`waiting`, `retrying`, `running`, `dead`); filters `queue`, `kind`, `class`; `limit`, `cursor` |
//! | `GET /v1/jobs/{id}` | a job, its state and its last attempts |
//! | `DELETE /v1/jobs/{id}` | cancel a job (to the dead letters as `cancelled`; a running one when its attempt ends) |
//! | `GET /v1/stats` | counts per queue and state |
//! | `GET /v1/dead` | dead letters; filters `queue`, `kind`, `class`, `since`, `until`; `limit`, `cursor` |
//! | `GET /v1/dead/{id}` | one dead letter |
//! | `DELETE /v1/dead/{id}` | delete one dead letter |
//! | `POST /v1/dead/requeue` | `{"ids": [...]}`, `{"filter": {...}}` or `{"all": true}`; `"dry_run": true` only counts |
//! | `DELETE /v1/dead?older_than=7d` | purge old dead letters; `&dry_run=true` only counts |
//! | `POST /v1/jobs/cancel` | cancel `{"ids": [...]}` or `{"filter": {"state", ...}}`, bounded per request; `"dry_run": true` only counts |
//! | `GET /v1/dead/groups` | dead letters counted by class and by normalised message (bounded scan) |
//! | `GET /v1/policy?queue=` | the live policy: version, source, last reload error (with line), each class's values and retry curve, the Rust defaults |
//! | `POST /v1/policy/check` | `{"script": "..."}`: a draft checked in the sandbox, never applied |
//! | `GET /v1/history?minutes=` | per queue and minute of the last hour: completed, retried by class, buried, released |
//! | `GET /v1/schedules` | the periodic jobs: last fired tick, next fire time |
//! | `GET /v1/breaker` | the circuit breakers: the default queue's fields, and `queues`, every served queue's, with the next probe, the ramp's rate and the outages of the last day |
//! | `GET /v1/queues` | every served queue: pause (reason, since), rate limit, breaker state |
//! | `POST /v1/queues/{name}/pause` | pause a queue: `{"reason": "..."}` (optional) |
//! | `POST /v1/queues/{name}/resume` | resume a paused queue |
//! | `POST /v1/queues/{name}/limit` | `{"per_second": 5.0, "burst": 1}`, `{"off": true}` or `{"policy": true}` |
//! | `GET /healthz` | liveness: the process answers (no token needed) |
//! | `GET /readyz` | readiness: store writable, worker loop running, policy loaded; 503 with reasons otherwise (no token needed) |
//! | `GET /metrics` | Prometheus text format |
//! | `GET /v1/openapi.json` | this API as an OpenAPI document |
//! | `GET /ui/login`, `POST /ui/login`, `POST /ui/logout` | the dashboard's login form and session cookie |
//! | `GET /ui/session` | the caller's role and CSRF token |
//!
//! Who may do what (`auth.rs`): `api.token` or no token (admin) everything;
//! `api.read_token` every read and nothing that changes the queue. A state-changing
//! request with a foreign `Origin` is refused; one authenticated by the session cookie
//! must carry `X-CSRF-Token`.
//!
//! Bad input gets a 4xx with `{"error": {"code", "message"}}` and stores nothing.

mod activity;
mod auth;
mod body;
mod breaker;
mod cancel;
mod dead;
mod dead_groups;
mod dry_run;
mod error;
mod history;
mod info;
mod jobs;
mod list;
mod openapi;
mod origin;
mod policy;
mod queues;
mod ready;
mod schedules;
mod session;
mod views;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use tenax_core::JobStore;
use tenax_policies::LivePolicy;
use tokio::sync::watch;

use tenax_worker::{BreakerView, JobValidator, QueueControl, Worker};

pub use activity::Activity;
pub(crate) use session::DEFAULT_LIFETIME as DEFAULT_SESSION_LIFETIME;
/// Shortest and longest dashboard login accepted by `api.session_lifetime`.
pub(crate) const SESSION_LIFETIME_RANGE: (std::time::Duration, std::time::Duration) = (
    std::time::Duration::from_secs(1),
    std::time::Duration::from_secs(30 * 24 * 3600),
);
pub use ready::{Readiness, SpaceCheck};

/// Largest request body unless configured. Default: 1 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 1 << 20;

/// Renders the metrics text for `GET /metrics`.
pub type MetricsRender = Arc<dyn Fn() -> String + Send + Sync>;

/// One served queue as the API sees it: its worker's breaker and its controls.
#[derive(Clone)]
pub(crate) struct ServedQueue {
    pub(crate) breaker: watch::Receiver<BreakerView>,
    pub(crate) control: QueueControl,
    /// The queue's own policy (its script's rate limit).
    pub(crate) policy: LivePolicy,
    /// How many of its jobs run at once.
    pub(crate) concurrency: usize,
}

/// What the API serves. Build it from the running workers' parts.
#[derive(Clone)]
pub struct ApiState {
    pub(crate) store: Arc<dyn JobStore>,
    pub(crate) policy: LivePolicy,
    pub(crate) validator: JobValidator,
    /// The queue of jobs enqueued without one.
    pub(crate) queue: String,
    /// Every queue a worker serves, by name.
    pub(crate) queues: Arc<BTreeMap<String, ServedQueue>>,
    pub(crate) token: Option<String>,
    /// The token of read-only callers.
    pub(crate) read_token: Option<String>,
    /// Browser sessions of the dashboard.
    pub(crate) sessions: Arc<session::Sessions>,
    /// What the workers did lately (history, outages).
    pub(crate) activity: Activity,
    /// The policies' computed curves.
    pub(crate) shapes: policy::ShapeCache,
    pub(crate) metrics: Option<MetricsRender>,
    pub(crate) readiness: Option<Readiness>,
    pub(crate) schedules: Arc<Vec<crate::schedule::Schedule>>,
}

impl ApiState {
    /// The API of `worker`: jobs are checked with its handlers before they are stored,
    /// and go to its queue unless they name one. Add more with [`serve`](Self::serve).
    pub fn new(store: Arc<dyn JobStore>, policy: LivePolicy, worker: &Worker) -> Self {
        let mut queues = BTreeMap::new();
        queues.insert(worker.queue().to_owned(), served(worker));
        ApiState {
            store,
            policy,
            validator: worker.validator(),
            queue: worker.queue().to_owned(),
            queues: Arc::new(queues),
            token: None,
            read_token: None,
            sessions: Arc::new(session::Sessions::new(session::DEFAULT_LIFETIME)),
            activity: Activity::new(),
            shapes: policy::ShapeCache::default(),
            metrics: None,
            readiness: None,
            schedules: Arc::new(Vec::new()),
        }
    }

    /// Also accepts jobs for `worker`'s queue, and shows and steers it. Its handlers
    /// must be the first worker's (enqueues are checked with those).
    #[must_use]
    pub fn serve(mut self, worker: &Worker) -> Self {
        Arc::make_mut(&mut self.queues).insert(worker.queue().to_owned(), served(worker));
        self
    }

    /// The queue of jobs enqueued without one. Default: the first worker's. A queue no
    /// worker serves makes such enqueues fail with the list of served queues.
    #[must_use]
    pub fn default_queue(mut self, queue: impl Into<String>) -> Self {
        self.queue = queue.into();
        self
    }

    /// The served queues' names, for error messages.
    pub(crate) fn served_names(&self) -> String {
        let names: Vec<String> = self.queues.keys().map(|q| format!("`{q}`")).collect();
        names.join(", ")
    }

    /// Requires `Authorization: Bearer <token>` on every request but `/healthz`.
    ///
    /// An empty token closes the API to every request but `/healthz` (no credential
    /// matches it); it never opens it.
    #[must_use]
    pub fn token(mut self, token: Option<String>) -> Self {
        self.token = token;
        self
    }

    /// Also accepts `Authorization: Bearer <read_token>` (and a login with it) for a
    /// caller who may read everything and change nothing. Needs [`token`](Self::token).
    #[must_use]
    pub fn read_token(mut self, token: Option<String>) -> Self {
        self.read_token = token;
        self
    }

    /// How long a dashboard login lasts. Default: 12 h.
    #[must_use]
    pub fn session_lifetime(mut self, lifetime: std::time::Duration) -> Self {
        self.sessions = Arc::new(session::Sessions::new(lifetime));
        self
    }

    /// Answers `GET /v1/history` and the outages of `GET /v1/breaker` from `activity`
    /// (give the same handle to every worker's builder as its observer).
    #[must_use]
    pub fn activity(mut self, activity: Activity) -> Self {
        self.activity = activity;
        self
    }

    /// Serves `GET /metrics` with `render` (e.g. a Prometheus exporter's handle).
    #[must_use]
    pub fn metrics(mut self, render: MetricsRender) -> Self {
        self.metrics = Some(render);
        self
    }
}

impl ApiState {
    /// Serves `GET /v1/schedules` for these schedules (the daemon's `[[schedules]]`).
    #[must_use]
    pub(crate) fn schedules(mut self, schedules: Vec<crate::schedule::Schedule>) -> Self {
        self.schedules = Arc::new(schedules);
        self
    }

    /// Answers `GET /readyz` with `readiness`'s checks too (without it, only the policy
    /// is checked).
    #[must_use]
    pub fn readiness(mut self, readiness: Readiness) -> Self {
        self.readiness = Some(readiness);
        self
    }
}

fn served(worker: &Worker) -> ServedQueue {
    ServedQueue {
        breaker: worker.breaker(),
        control: worker.control(),
        policy: worker.policy(),
        concurrency: worker.concurrency(),
    }
}

/// The API's routes, with the body limit and the token check in place.
pub fn router(state: ApiState, body_limit: usize) -> Router {
    Router::new()
        .route("/v1/jobs", post(jobs::enqueue).get(list::list))
        .route("/v1/jobs/cancel", post(cancel::cancel_many))
        .route("/v1/jobs/{id}", get(jobs::show).delete(jobs::cancel))
        .route("/v1/stats", get(info::stats))
        .route("/v1/dead", get(dead::list).delete(dead::purge))
        .route("/v1/dead/requeue", post(dead::requeue))
        .route("/v1/dead/groups", get(dead_groups::groups))
        .route("/v1/dead/{id}", get(dead::show).delete(dead::delete))
        .route("/v1/policy", get(policy::policy))
        .route("/v1/policy/check", post(policy::check))
        .route("/v1/history", get(history::history))
        .route("/v1/breaker", get(breaker::breaker))
        .route("/v1/schedules", get(schedules::list))
        .route("/v1/queues", get(queues::list))
        .route("/v1/queues/{name}/pause", post(queues::pause))
        .route("/v1/queues/{name}/resume", post(queues::resume))
        .route("/v1/queues/{name}/limit", post(queues::limit))
        .route("/v1/openapi.json", get(openapi::document))
        .route("/healthz", get(info::health))
        .route("/readyz", get(ready::ready))
        .route("/metrics", get(info::metrics))
        .route(
            session::LOGIN_PATH,
            get(session::login_form).post(session::login),
        )
        .route(session::LOGOUT_PATH, post(session::logout))
        .route(session::SESSION_PATH, get(session::session))
        .merge(pages())
        .fallback(|| async {
            error::ApiError::not_found("no such endpoint; see the API table in the README")
        })
        .method_not_allowed_fallback(|method: axum::http::Method| async move {
            error::ApiError::new(
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!("{method} is not served here; see the API table in the README"),
            )
        })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::authorize,
        ))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn(crate::ui::secure))
        .with_state(state)
}

/// The dashboard's pages and assets under `/ui/` (`crate::ui`), behind the same
/// authorization as the API.
fn pages() -> Router<ApiState> {
    crate::ui::router()
}

/// Runs a store call off the async threads (an enqueue waits for fdatasync).
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> tenax_core::Result<T> + Send + 'static,
) -> Result<T, error::ApiError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result.map_err(error::ApiError::from),
        Err(err) => Err(error::ApiError::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("the store call failed: {err}"),
        )),
    }
}

/// A job as `GET /v1/jobs/{id}` shows it, for tools that read a store directly.
pub(crate) fn job_json(job: tenax_core::Job, state: tenax_core::JobState) -> serde_json::Value {
    serde_json::to_value(views::JobView::new(job, state)).unwrap_or_default()
}

/// A page of a job listing as `GET /v1/jobs` answers it (for the offline CLI).
pub(crate) fn jobs_page_json(
    page: tenax_core::JobPage,
    state: tenax_core::ListState,
) -> serde_json::Value {
    serde_json::to_value(list::page_view(page, state)).unwrap_or_default()
}

/// The store's listing filter (for the offline CLI).
pub(crate) use body::MAX_PAGE as MAX_LIST_PAGE;
pub(crate) use list::filter as list_filter;

/// Stats as `GET /v1/stats` shows them, for tools that read a store directly.
pub(crate) fn stats_json(stats: &tenax_core::Stats) -> serde_json::Value {
    serde_json::to_value(views::StatsView::from(stats)).unwrap_or_default()
}
