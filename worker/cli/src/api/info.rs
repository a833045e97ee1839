//! Read-only views: stats, health and metrics.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::error::{ApiError, ErrorBody};
use super::views::StatsView;
use super::{ApiState, blocking};

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
