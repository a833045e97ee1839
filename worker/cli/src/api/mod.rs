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
//! | `GET /v1/policy` | the live policy: version, hash, last reload error, report |
//! | `GET /v1/breaker` | the circuit breaker |
//! | `GET /healthz` | liveness: the process answers (no token needed) |
//! | `GET /readyz` | readiness: store writable, worker loop running, policy loaded; 503 with reasons otherwise (no token needed) |
//! | `GET /metrics` | Prometheus text format |
//! | `GET /v1/openapi.json` | this API as an OpenAPI document |
//!
//! Bad input gets a 4xx with `{"error": {"code", "message"}}` and stores nothing.

mod auth;
mod body;
mod dead;
mod dry_run;
mod error;
mod info;
mod jobs;
mod list;
mod openapi;
mod ready;
mod views;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use tenax_core::JobStore;
use tenax_policies::LivePolicy;
use tokio::sync::watch;

use tenax_worker::{BreakerView, JobValidator};

pub use ready::{Readiness, SpaceCheck};

/// Largest request body unless configured. Default: 1 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 1 << 20;

/// Renders the metrics text for `GET /metrics`.
pub type MetricsRender = Arc<dyn Fn() -> String + Send + Sync>;

/// What the API serves. Build it from the running worker's parts.
#[derive(Clone)]
pub struct ApiState {
    pub(crate) store: Arc<dyn JobStore>,
    pub(crate) policy: LivePolicy,
    pub(crate) validator: JobValidator,
    pub(crate) breaker: watch::Receiver<BreakerView>,
    pub(crate) queue: String,
    pub(crate) token: Option<String>,
    pub(crate) metrics: Option<MetricsRender>,
    pub(crate) readiness: Option<Readiness>,
}

impl ApiState {
    /// The API of a worker serving `queue`: jobs are checked with `validator` (the
    /// worker's handlers) before they are stored.
    pub fn new(
        store: Arc<dyn JobStore>,
        policy: LivePolicy,
        validator: JobValidator,
        breaker: watch::Receiver<BreakerView>,
        queue: impl Into<String>,
    ) -> Self {
        ApiState {
            store,
            policy,
            validator,
            breaker,
            queue: queue.into(),
            token: None,
            metrics: None,
            readiness: None,
        }
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

    /// Serves `GET /metrics` with `render` (e.g. a Prometheus exporter's handle).
    #[must_use]
    pub fn metrics(mut self, render: MetricsRender) -> Self {
        self.metrics = Some(render);
        self
    }
}

impl ApiState {
    /// Answers `GET /readyz` with `readiness`'s checks too (without it, only the policy
    /// is checked).
    #[must_use]
    pub fn readiness(mut self, readiness: Readiness) -> Self {
        self.readiness = Some(readiness);
        self
    }
}

/// The API's routes, with the body limit and the token check in place.
pub fn router(state: ApiState, body_limit: usize) -> Router {
    Router::new()
        .route("/v1/jobs", post(jobs::enqueue).get(list::list))
        .route("/v1/jobs/{id}", get(jobs::show).delete(jobs::cancel))
        .route("/v1/stats", get(info::stats))
        .route("/v1/dead", get(dead::list).delete(dead::purge))
        .route("/v1/dead/requeue", post(dead::requeue))
        .route("/v1/dead/{id}", get(dead::show).delete(dead::delete))
        .route("/v1/policy", get(info::policy))
        .route("/v1/breaker", get(info::breaker))
        .route("/v1/openapi.json", get(openapi::document))
        .route("/healthz", get(info::health))
        .route("/readyz", get(ready::ready))
        .route("/metrics", get(info::metrics))
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
            auth::require_token,
        ))
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state)
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
pub(crate) use list::{MAX_PAGE as MAX_LIST_PAGE, filter as list_filter};

/// Stats as `GET /v1/stats` shows them, for tools that read a store directly.
pub(crate) fn stats_json(stats: &tenax_core::Stats) -> serde_json::Value {
    serde_json::to_value(views::StatsView::from(stats)).unwrap_or_default()
}
