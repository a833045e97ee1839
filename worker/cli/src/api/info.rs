//! Read-only views: stats, policy, breaker, health and metrics.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tenax_policies::CheckReport;

use super::error::ApiError;
use super::views::{StatsView, time};
use super::{ApiState, blocking};
use tenax_worker::BreakerView;

pub(crate) async fn stats(State(state): State<ApiState>) -> Result<Json<StatsView>, ApiError> {
    let store = state.store.clone();
    let stats = blocking(move || store.stats()).await?;
    Ok(Json(StatsView::from(&stats)))
}

#[derive(Serialize)]
pub(crate) struct PolicyView {
    version: u64,
    fingerprint: String,
    origin: String,
    loaded_at: String,
    /// Why the latest reload failed; the running version stays in force.
    last_error: Option<String>,
    /// The effective policy against the defaults, and the retry schedule per class.
    report: CheckReport,
}

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

pub(crate) async fn breaker(State(state): State<ApiState>) -> Json<BreakerView> {
    Json(state.breaker.borrow().clone())
}

pub(crate) async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

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
