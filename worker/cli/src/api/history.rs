//! `GET /v1/history`: per queue, what its worker wrote each minute of the last hour,
//! from the daemon's memory (see `activity`).

use axum::Json;
use axum::extract::{RawQuery, State};
use serde::{Deserialize, Serialize};

use super::ApiState;
use super::activity::{MINUTES, Minute};
use super::body;
use super::error::{ApiError, ErrorBody};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HistoryQuery {
    minutes: Option<String>,
}

/// One queue's minutes.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct QueueHistory {
    queue: String,
    /// Oldest first; the last is the minute in progress.
    minutes: Vec<Minute>,
}

/// The recent history of every served queue.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct History {
    /// The store's clock when answering, Unix milliseconds.
    now_ms: u64,
    /// Minutes per queue.
    minutes: usize,
    queues: Vec<QueueHistory>,
}

/// Completed, retried (by class), buried and released jobs per queue and minute, over
/// the last hour at most. Kept in memory: a restart starts an empty hour.
#[utoipa::path(get, path = "/v1/history", tag = "inspect",
    params(("minutes" = Option<u32>, Query, minimum = 1, maximum = 60, description = "How many minutes, up to the current one; default 60")),
    responses(
        (status = 200, description = "The history", body = History),
        (status = 400, description = "A bad query", body = ErrorBody),
    ))]
pub(crate) async fn history(
    State(state): State<ApiState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<History>, ApiError> {
    let q: HistoryQuery = body::query(raw.as_deref())?;
    let minutes = match q.minutes.as_deref() {
        None => MINUTES,
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MINUTES).contains(n))
            .ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_query",
                    format!("`minutes` must be 1 to {MINUTES}, got {text:?}"),
                )
            })?,
    };
    let now_ms = state.store.now().as_millis();
    let queues = state
        .queues
        .keys()
        .map(|queue| QueueHistory {
            queue: queue.clone(),
            minutes: state.activity.minutes(queue, minutes, now_ms),
        })
        .collect();
    Ok(Json(History {
        now_ms,
        minutes,
        queues,
    }))
}
