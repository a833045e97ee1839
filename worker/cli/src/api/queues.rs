//! Steering queues: list them, pause and resume them, set their rate limits.
//!
//! Each change is one store write through the queue's `QueueControl`, which also wakes
//! the queue's worker loop: a resume starts due jobs at once. Daemons sharing a store
//! share these settings: a change through one holds on all of them.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use tenax_core::Timestamp;
use tenax_worker::{BreakerState, Controls, RateLimit, RateOverride};

use super::error::{ApiError, ErrorBody};
use super::views::time;
use super::{ApiState, ServedQueue, body};

/// A served queue: whether it is paused, its rate limit and its breaker's state.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct QueueStatus {
    name: String,
    /// Jobs enqueued without a queue go here.
    default: bool,
    paused: bool,
    /// Who paused it and why, as given.
    paused_reason: Option<String>,
    /// When it was paused (RFC 3339, UTC).
    paused_since: Option<String>,
    /// The steady rate limit in force, if any.
    #[schema(value_type = Option<Object>)]
    rate_limit: Option<RateLimit>,
    /// Where the limit in force comes from: `run-time` (`tenax queue limit`), or `policy`
    /// (the script's `rate_limit`); `off` when a run-time `off` overrides the script.
    rate_limit_source: Option<&'static str>,
    #[schema(value_type = String)]
    breaker: BreakerState,
    /// How many of its jobs run at once.
    concurrency: usize,
}

/// Every served queue.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct QueueList {
    queues: Vec<QueueStatus>,
}

pub(crate) fn status(state: &ApiState, name: &str, served: &ServedQueue) -> QueueStatus {
    // Read from the store, so that every daemon sharing it shows a change made through
    // another one at once (the worker loops see it within a second).
    if let Err(err) = served.control.refresh() {
        tracing::warn!(queue = %name, %err, "could not re-read the queue's controls; showing the last ones");
    }
    let controls = served.control.current();
    let script = served.policy.load().policy().rate_limit();
    let source = match controls.rate_override {
        Some(RateOverride::Limit(_)) => Some("run-time"),
        Some(RateOverride::Unlimited) => Some("off"),
        None => script.map(|_| "policy"),
    };
    QueueStatus {
        name: name.to_owned(),
        default: name == state.queue,
        paused: controls.paused.is_some(),
        paused_reason: controls.paused.as_ref().and_then(|p| p.reason.clone()),
        paused_since: controls
            .paused
            .as_ref()
            .map(|p| time(Timestamp::from_millis(p.since_ms))),
        rate_limit: controls.effective_rate(script),
        rate_limit_source: source,
        breaker: served.breaker.borrow().state,
        concurrency: served.concurrency,
    }
}

/// Every served queue: pause, rate limit, breaker.
#[utoipa::path(get, path = "/v1/queues", tag = "queues",
    responses((status = 200, description = "The served queues", body = QueueList)))]
pub(crate) async fn list(State(state): State<ApiState>) -> Json<QueueList> {
    let queues = state
        .queues
        .iter()
        .map(|(name, served)| status(&state, name, served))
        .collect();
    Json(QueueList { queues })
}

/// Why a queue is paused.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PauseRequest {
    /// Free text: who paused it and why.
    reason: Option<String>,
}

/// Longest pause reason kept.
const MAX_REASON: usize = 500;

/// Pauses a queue: no job starts until it is resumed; running jobs finish; enqueues are
/// still accepted. Survives restarts.
#[utoipa::path(post, path = "/v1/queues/{name}/pause", tag = "queues",
    params(("name" = String, Path, description = "The queue")),
    request_body(content = Option<PauseRequest>, description = "Optional"),
    responses(
        (status = 200, description = "Paused", body = QueueStatus),
        (status = 400, description = "The body is not JSON", body = ErrorBody),
        (status = 404, description = "Not a served queue", body = ErrorBody),
        (status = 422, description = "Bad request", body = ErrorBody),
    ))]
pub(crate) async fn pause(
    State(state): State<ApiState>,
    name: Result<Path<String>, PathRejection>,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Json<QueueStatus>, ApiError> {
    let (name, served) = served(&state, name)?;
    let bytes = body::bytes(raw)?;
    let request: PauseRequest = if bytes.iter().all(u8::is_ascii_whitespace) {
        PauseRequest::default()
    } else {
        body::object(Ok(bytes))?
    };
    let reason = request.reason.filter(|r| !r.trim().is_empty());
    if reason.as_ref().is_some_and(|r| r.len() > MAX_REASON) {
        return Err(ApiError::unprocessable(
            "invalid_request",
            format!("reason: at most {MAX_REASON} bytes"),
        ));
    }
    let control = served.control.clone();
    change(move || control.pause(reason)).await?;
    tracing::warn!(queue = %name, "queue paused");
    Ok(Json(status(&state, &name, &served)))
}

/// Resumes a paused queue: due jobs start at once, in due order.
#[utoipa::path(post, path = "/v1/queues/{name}/resume", tag = "queues",
    params(("name" = String, Path, description = "The queue")),
    responses(
        (status = 200, description = "Running", body = QueueStatus),
        (status = 404, description = "Not a served queue", body = ErrorBody),
    ))]
pub(crate) async fn resume(
    State(state): State<ApiState>,
    name: Result<Path<String>, PathRejection>,
) -> Result<Json<QueueStatus>, ApiError> {
    let (name, served) = served(&state, name)?;
    let control = served.control.clone();
    change(move || control.resume()).await?;
    tracing::info!(queue = %name, "queue resumed");
    Ok(Json(status(&state, &name, &served)))
}

/// A run-time rate limit: `per_second` (with `burst`, default 1), or `off: true` (no
/// limit, whatever the policy says), or `policy: true` (follow the policy script again).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LimitRequest {
    per_second: Option<f64>,
    burst: Option<u32>,
    #[serde(default)]
    off: bool,
    #[serde(default)]
    policy: bool,
}

/// Sets a queue's run-time rate limit; it overrides the policy script's and survives
/// restarts.
#[utoipa::path(post, path = "/v1/queues/{name}/limit", tag = "queues",
    params(("name" = String, Path, description = "The queue")),
    request_body = LimitRequest,
    responses(
        (status = 200, description = "Set", body = QueueStatus),
        (status = 400, description = "The body is not JSON", body = ErrorBody),
        (status = 404, description = "Not a served queue", body = ErrorBody),
        (status = 422, description = "Bad request", body = ErrorBody),
    ))]
pub(crate) async fn limit(
    State(state): State<ApiState>,
    name: Result<Path<String>, PathRejection>,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Json<QueueStatus>, ApiError> {
    let (name, served) = served(&state, name)?;
    let request: LimitRequest = body::object(raw)?;
    let rate = match (request.per_second, request.off, request.policy) {
        (Some(per_second), false, false) => {
            let limit = RateLimit {
                per_second,
                burst: request
                    .burst
                    .unwrap_or(tenax_policies::defaults::DEFAULT_RATE_BURST),
            };
            limit
                .validate()
                .map_err(|e| ApiError::unprocessable("invalid_request", e.to_string()))?;
            Some(RateOverride::Limit(limit))
        }
        (None, true, false) if request.burst.is_none() => Some(RateOverride::Unlimited),
        (None, false, true) if request.burst.is_none() => None,
        _ => {
            return Err(ApiError::unprocessable(
                "invalid_request",
                "give exactly one of `per_second` (with an optional `burst`), `off: true` \
                 or `policy: true`",
            ));
        }
    };
    let control = served.control.clone();
    change(move || control.set_rate(rate)).await?;
    tracing::info!(queue = %name, ?rate, "queue rate limit set");
    Ok(Json(status(&state, &name, &served)))
}

fn served(
    state: &ApiState,
    name: Result<Path<String>, PathRejection>,
) -> Result<(String, ServedQueue), ApiError> {
    let Path(name) = name.map_err(|e| ApiError::bad_request("bad_path", e.body_text()))?;
    match state.queues.get(&name) {
        Some(served) => Ok((name, served.clone())),
        None => Err(ApiError::not_found(format!(
            "no worker serves queue `{name}` (this daemon serves {})",
            state.served_names()
        ))),
    }
}

/// Runs a control change (a store write) off the async threads.
async fn change(
    f: impl FnOnce() -> tenax_worker::Result<Controls> + Send + 'static,
) -> Result<Controls, ApiError> {
    let internal = |message: String| {
        ApiError::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            message,
        )
    };
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(controls)) => Ok(controls),
        Ok(Err(tenax_worker::Error::Store(err))) => Err(ApiError::from(err)),
        Ok(Err(err)) => Err(internal(err.to_string())),
        Err(err) => Err(internal(format!("the store call failed: {err}"))),
    }
}
