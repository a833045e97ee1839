//! Read-only views: stats, policy, breaker, health and metrics.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tenax_policies::CheckReport;

use super::error::{ApiError, ErrorBody};
use super::views::{StatsView, time};
use super::{ApiState, blocking};
use tenax_worker::BreakerView;

/// Counts per queue and state, and each served queue's pause and rate limit.
#[utoipa::path(get, path = "/v1/stats", tag = "inspect",
    responses((status = 200, description = "The counts", body = StatsView)))]
pub(crate) async fn stats(State(state): State<ApiState>) -> Result<Json<StatsView>, ApiError> {
    let store = state.store.clone();
    let stats = blocking(move || store.stats()).await?;
    let mut view = StatsView::from(&stats);
    for (name, served) in state.queues.iter() {
        view.steering(name, super::queues::status(&state, name, served));
    }
    Ok(Json(view))
}

/// The live policy.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct PolicyView {
    version: u64,
    fingerprint: String,
    origin: String,
    loaded_at: String,
    /// Why the latest reload failed; the running version stays in force.
    last_error: Option<String>,
    /// The effective policy against the defaults, and the retry schedule per class
    /// (as `tenax policy check --json` prints it).
    #[schema(value_type = Object)]
    report: CheckReport,
}

/// The live policy: version, fingerprint, last reload error, report.
#[utoipa::path(get, path = "/v1/policy", tag = "inspect",
    responses((status = 200, description = "The policy", body = PolicyView)))]
pub(crate) async fn policy(State(state): State<ApiState>) -> Json<PolicyView> {
    let status = state.policy.status();
    let loaded = state.policy.load();
    Json(PolicyView {
        version: status.version,
        fingerprint: status.fingerprint,
        origin: status.origin,
        loaded_at: time(tenax_core::Timestamp::from(status.loaded_at)),
        last_error: status.last_error,
        report: CheckReport::new(&loaded),
    })
}

/// Every served queue's breaker, and the default queue's at the top level (the form
/// from before several queues).
#[derive(Serialize)]
pub(crate) struct BreakersView {
    #[serde(flatten)]
    default: Option<BreakerView>,
    queues: Vec<BreakerView>,
}

/// The circuit breakers (times in Unix milliseconds): the default queue's fields, and
/// `queues` with every served queue's.
#[utoipa::path(get, path = "/v1/breaker", tag = "inspect",
    responses((status = 200, description = "The breakers", body = Object)))]
pub(crate) async fn breaker(State(state): State<ApiState>) -> Json<BreakersView> {
    let queues: Vec<BreakerView> = state
        .queues
        .values()
        .map(|q| q.breaker.borrow().clone())
        .collect();
    let default = state
        .queues
        .get(&state.queue)
        .map(|q| q.breaker.borrow().clone());
    Json(BreakersView { default, queues })
}

/// Liveness: the process answers. No token needed.
#[utoipa::path(get, path = "/healthz", tag = "probes",
    responses((status = 200, description = "Alive", body = Object)))]
pub(crate) async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", tag = "inspect",
    responses(
        (status = 200, description = "Prometheus text format", body = String, content_type = "text/plain"),
        (status = 404, description = "Metrics are off", body = ErrorBody),
    ))]
pub(crate) async fn metrics(State(state): State<ApiState>) -> Result<Response, ApiError> {
    let Some(render) = state.metrics.clone() else {
        return Err(ApiError::not_found(
            "metrics are not enabled on this server",
        ));
    };
    let store = state.store.clone();
    let stats = blocking(move || store.stats()).await?;
    tenax_worker::metrics::record_stats(&stats);
    let text = render();
    Ok((
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response())
}
