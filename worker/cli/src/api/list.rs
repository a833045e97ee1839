//! `GET /v1/jobs`: the jobs in one state, a page at a time.
//!
//! Each state is read in the order of the index that holds it (due order for waiting
//! and retrying jobs, id order for running ones, death order for dead ones), so a page
//! costs the same however large the store. A page looks at no more than
//! [`MAX_SCAN`](tenax_core::MAX_SCAN) index entries: with a selective `kind` or `class`
//! filter it may hold fewer than `limit` jobs, or none, and still carry a `next` cursor.
//! Only a page without `next` ends the listing.

use axum::Json;
use axum::extract::{RawQuery, State};
use serde::{Deserialize, Serialize};
use tenax_core::{JobCursor, JobFilter, JobPage, JobState, ListState};

use super::body;
use super::error::{ApiError, ErrorBody};
use super::views::JobView;
use super::{ApiState, blocking};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    state: Option<String>,
    queue: Option<String>,
    kind: Option<String>,
    class: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
}

/// A page of jobs in one state.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct JobsPage {
    jobs: Vec<JobView>,
    /// Pass as `cursor` for the next page; absent on the last one.
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
}

/// The API's answer for `page`, a listing of `state`.
pub(crate) fn page_view(page: JobPage, state: ListState) -> JobsPage {
    let state = match state {
        ListState::Waiting | ListState::Retrying => JobState::Pending,
        ListState::Running => JobState::Running,
        ListState::Dead => JobState::Dead,
    };
    JobsPage {
        jobs: page
            .jobs
            .into_iter()
            .map(|j| JobView::new(j, state))
            .collect(),
        next: page.next.map(|c| c.to_string()),
    }
}

/// Jobs in one state, a page at a time.
#[utoipa::path(get, path = "/v1/jobs", tag = "jobs",
    params(
        ("state" = String, Query, description = "`waiting`, `retrying`, `running` or `dead`"),
        ("queue" = Option<String>, Query, description = "Only this queue"),
        ("kind" = Option<String>, Query, description = "Only this kind"),
        ("class" = Option<String>, Query, description = "Only jobs whose last error has this class"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "Page size; default 50"),
        ("cursor" = Option<String>, Query, description = "`next` of the previous page"),
    ),
    responses(
        (status = 200, description = "A page; `next` is absent on the last", body = JobsPage),
        (status = 400, description = "A bad query", body = ErrorBody),
    ))]
pub(crate) async fn list(
    State(state): State<ApiState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<JobsPage>, ApiError> {
    let q: ListQuery = body::query(raw.as_deref())?;
    let bad = |m: String| ApiError::bad_request("invalid_query", m);
    let list_state: ListState = q
        .state
        .as_deref()
        .ok_or_else(|| {
            bad("say which jobs with `state` (waiting, retrying, running or dead)".into())
        })?
        .parse()
        .map_err(|e: tenax_core::Error| bad(format!("`state`: {e}")))?;
    let limit = body::page_limit(q.limit.as_deref())?;
    let cursor = body::page_cursor::<JobCursor>(q.cursor)?;
    let filter = filter(list_state, q.queue, q.kind, q.class);
    let store = state.store.clone();
    let page = blocking(move || store.jobs(&filter, cursor, limit)).await?;
    Ok(Json(page_view(page, list_state)))
}

/// The store's filter for the given fields.
pub(crate) fn filter(
    state: ListState,
    queue: Option<String>,
    kind: Option<String>,
    class: Option<String>,
) -> JobFilter {
    let mut f = JobFilter::new(state);
    if let Some(q) = queue {
        f = f.queue(q);
    }
    if let Some(k) = kind {
        f = f.kind(k);
    }
    if let Some(c) = class {
        f = f.class(c);
    }
    f
}
