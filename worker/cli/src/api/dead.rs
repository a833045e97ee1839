//! The dead letter queue: list, show, requeue, purge.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, RawQuery, State};
use serde::{Deserialize, Serialize};
use tenax_core::{DeadCursor, DeadFilter, DeadSelector, JobId, JobState};

use super::body;
use super::error::ApiError;
use super::jobs::path_id;
use super::views::{DurationSpec, JobView, TimeSpec};
use super::{ApiState, blocking};

/// Page size unless `limit` says otherwise.
const DEFAULT_PAGE: usize = 50;
/// Largest page.
const MAX_PAGE: usize = 1_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FilterSpec {
    queue: Option<String>,
    kind: Option<String>,
    class: Option<String>,
    since: Option<TimeSpec>,
    until: Option<TimeSpec>,
}

impl FilterSpec {
    fn filter(self) -> Result<DeadFilter, ApiError> {
        let mut f = DeadFilter::default();
        if let Some(q) = self.queue {
            f = f.queue(q);
        }
        if let Some(k) = self.kind {
            f = f.kind(k);
        }
        if let Some(c) = self.class {
            f = f.class(c);
        }
        if let Some(t) = self.since {
            f = f.since(t.resolve("since")?);
        }
        if let Some(t) = self.until {
            f = f.until(t.resolve("until")?);
        }
        Ok(f)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    queue: Option<String>,
    kind: Option<String>,
    class: Option<String>,
    since: Option<TimeSpec>,
    until: Option<TimeSpec>,
    limit: Option<String>,
    cursor: Option<String>,
}

#[derive(Serialize)]
pub(crate) struct Page {
    jobs: Vec<JobView>,
    /// Pass as `cursor` for the next page; absent on the last one.
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
}

pub(crate) async fn list(
    State(state): State<ApiState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Page>, ApiError> {
    let q: ListQuery = body::query(raw.as_deref())?;
    let limit = match q.limit.as_deref() {
        None => DEFAULT_PAGE,
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_PAGE).contains(n))
            .ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_query",
                    format!("`limit` must be 1 to {MAX_PAGE}, got {text:?}"),
                )
            })?,
    };
    let cursor = q
        .cursor
        .map(|c| c.parse::<DeadCursor>())
        .transpose()
        .map_err(|e| ApiError::bad_request("invalid_query", format!("`cursor`: {e}")))?;
    let filter = FilterSpec {
        queue: q.queue,
        kind: q.kind,
        class: q.class,
        since: q.since,
        until: q.until,
    }
    .filter()?;
    let store = state.store.clone();
    let page = blocking(move || store.dead_jobs(&filter, cursor, limit)).await?;
    Ok(Json(Page {
        jobs: page
            .jobs
            .into_iter()
            .map(|j| JobView::new(j, JobState::Dead))
            .collect(),
        next: page.next.map(|c| c.to_string()),
    }))
}

pub(crate) async fn show(
    State(state): State<ApiState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<JobView>, ApiError> {
    let id = path_id(id)?;
    let store = state.store.clone();
    match blocking(move || store.dead_job(id)).await? {
        Some(job) => Ok(Json(JobView::new(job, JobState::Dead))),
        None => Err(ApiError::not_found(format!(
            "job {id} is not in the dead letter queue"
        ))),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RequeueSpec {
    ids: Option<Vec<u64>>,
    filter: Option<FilterSpec>,
    all: Option<bool>,
}

#[derive(Serialize)]
pub(crate) struct Requeued {
    requeued: usize,
}

pub(crate) async fn requeue(
    State(state): State<ApiState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Requeued>, ApiError> {
    let spec: RequeueSpec = body::json(body)?;
    let selector = match (spec.ids, spec.filter, spec.all) {
        (Some(ids), None, None) if !ids.is_empty() => {
            DeadSelector::Ids(ids.into_iter().map(JobId::new).collect())
        }
        (None, Some(filter), None) => DeadSelector::Filter(filter.filter()?),
        (None, None, Some(true)) => DeadSelector::All,
        _ => {
            return Err(ApiError::unprocessable(
                "invalid_request",
                "give exactly one of `ids` (a non-empty list), `filter` (an object) or `all: true`",
            ));
        }
    };
    let store = state.store.clone();
    let requeued = blocking(move || store.requeue(&selector)).await?;
    Ok(Json(Requeued { requeued }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PurgeQuery {
    older_than: Option<DurationSpec>,
}

#[derive(Serialize)]
pub(crate) struct Purged {
    purged: usize,
}

pub(crate) async fn purge(
    State(state): State<ApiState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Purged>, ApiError> {
    let q: PurgeQuery = body::query(raw.as_deref())?;
    let age = q
        .older_than
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_query",
                "say which dead jobs to purge with `older_than` (e.g. `?older_than=7d`; `0s` purges all)",
            )
        })?
        .resolve("older_than")?;
    let store = state.store.clone();
    let purged = blocking(move || store.purge_dead(age)).await?;
    Ok(Json(Purged { purged }))
}
