//! `GET /v1/schedules`: the configured periodic jobs, their last fired tick and next
//! fire time.

use axum::Json;
use axum::extract::State;

use super::error::ApiError;
use super::{ApiState, blocking};
use crate::schedule::ScheduleView;

/// The schedules, in configuration order.
#[utoipa::path(get, path = "/v1/schedules", tag = "inspect",
    responses((status = 200, description = "The schedules", body = Vec<ScheduleView>)))]
pub(crate) async fn list(
    State(state): State<ApiState>,
) -> Result<Json<Vec<ScheduleView>>, ApiError> {
    let (store, schedules) = (state.store.clone(), state.schedules.clone());
    let views = blocking(move || ScheduleView::all(store.as_ref(), &schedules)).await?;
    Ok(Json(views))
}
