//! The dead letter queue: list, show, requeue, purge, delete one.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, RawQuery, State};
use serde::{Deserialize, Serialize};
use tenax_core::{DeadCursor, DeadFilter, DeadSelector, JobId, JobState};

use super::body;
use super::dry_run::{self, WouldChange};
use super::error::{ApiError, ErrorBody};
use super::jobs::path_id;
use super::views::{DurationSpec, JobView, TimeSpec};
use super::{ApiState, blocking};

/// Which dead jobs: every given field must match.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct FilterSpec {
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

/// A page of dead jobs, oldest death first.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Page {
    jobs: Vec<JobView>,
    /// Pass as `cursor` for the next page; absent on the last one.
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
}

/// Dead letters, a page at a time.
#[utoipa::path(get, path = "/v1/dead", tag = "dead letters",
    params(
        ("queue" = Option<String>, Query, description = "Only this queue"),
        ("kind" = Option<String>, Query, description = "Only this kind"),
        ("class" = Option<String>, Query, description = "Only this final error class"),
        ("since" = Option<String>, Query, description = "Died at or after (RFC 3339 or Unix ms)"),
        ("until" = Option<String>, Query, description = "Died before (RFC 3339 or Unix ms)"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "Page size; default 50"),
        ("cursor" = Option<String>, Query, description = "`next` of the previous page"),
    ),
    responses(
        (status = 200, description = "A page", body = Page),
        (status = 400, description = "A bad query", body = ErrorBody),
        (status = 422, description = "A bad time", body = ErrorBody),
    ))]
pub(crate) async fn list(
    State(state): State<ApiState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Page>, ApiError> {
    let q: ListQuery = body::query(raw.as_deref())?;
    let limit = body::page_limit(q.limit.as_deref())?;
    let cursor = body::page_cursor::<DeadCursor>(q.cursor)?;
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

/// One dead letter.
#[utoipa::path(get, path = "/v1/dead/{id}", tag = "dead letters",
    params(("id" = u64, Path, description = "The job id")),
    responses(
        (status = 200, description = "The dead job", body = JobView),
        (status = 400, description = "Not a job id", body = ErrorBody),
        (status = 404, description = "Not a dead letter", body = ErrorBody),
    ))]
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

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Deleted {
    deleted: u64,
}

/// Delete one dead letter.
#[utoipa::path(delete, path = "/v1/dead/{id}", tag = "dead letters",
    params(("id" = u64, Path, description = "The job id")),
    responses(
        (status = 200, description = "Deleted", body = Deleted),
        (status = 400, description = "Not a job id", body = ErrorBody),
        (status = 404, description = "Not a dead letter", body = ErrorBody),
    ))]
pub(crate) async fn delete(
    State(state): State<ApiState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Deleted>, ApiError> {
    let id = path_id(id)?;
    let store = state.store.clone();
    blocking(move || store.delete_dead(id)).await?;
    Ok(Json(Deleted { deleted: id.get() }))
}

/// Exactly one of `ids`, `filter` or `all: true`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RequeueSpec {
    ids: Option<Vec<u64>>,
    filter: Option<FilterSpec>,
    all: Option<bool>,
    /// Count what would be requeued (and name the first few) without changing anything.
    dry_run: Option<bool>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Requeued {
    /// How many were requeued (0 on a dry run).
    requeued: usize,
    /// On a dry run: what would be requeued.
    #[serde(skip_serializing_if = "Option::is_none")]
    would_requeue: Option<WouldChange>,
}

/// Move dead jobs back to the queue, attempts reset.
#[utoipa::path(post, path = "/v1/dead/requeue", tag = "dead letters",
    request_body = RequeueSpec,
    responses(
        (status = 200, description = "How many were requeued", body = Requeued),
        (status = 400, description = "Not JSON", body = ErrorBody),
        (status = 404, description = "A given id is not a dead letter; none was requeued", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Not exactly one selector", body = ErrorBody),
    ))]
pub(crate) async fn requeue(
    State(state): State<ApiState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Requeued>, ApiError> {
    let spec: RequeueSpec = body::object(body)?;
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
    if spec.dry_run == Some(true) {
        let would = blocking(move || dry_run::selected(&*store, &selector)).await?;
        return Ok(Json(Requeued {
            requeued: 0,
            would_requeue: Some(would),
        }));
    }
    let requeued = blocking(move || store.requeue(&selector)).await?;
    Ok(Json(Requeued {
        requeued,
        would_requeue: None,
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PurgeQuery {
    older_than: Option<DurationSpec>,
    dry_run: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Purged {
    /// How many were deleted (0 on a dry run).
    purged: usize,
    /// On a dry run: what would be deleted.
    #[serde(skip_serializing_if = "Option::is_none")]
    would_purge: Option<WouldChange>,
}

/// Delete dead letters older than an age.
#[utoipa::path(delete, path = "/v1/dead", tag = "dead letters",
    params(
        ("older_than" = String, Query, description = "An age such as `7d`; `0s` purges all"),
        ("dry_run" = Option<bool>, Query, description = "`true`: count what would be deleted, delete nothing"),
    ),
    responses(
        (status = 200, description = "How many were deleted", body = Purged),
        (status = 400, description = "No or a bad age", body = ErrorBody),
        (status = 422, description = "A bad age", body = ErrorBody),
    ))]
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
    let dry = match q.dry_run.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(ApiError::bad_request(
                "invalid_query",
                format!("`dry_run` must be true or false, got {other:?}"),
            ));
        }
    };
    let store = state.store.clone();
    if dry {
        // The purge's own selection: died at or before now minus the age.
        let cutoff = store.now().saturating_sub(age);
        let filter =
            DeadFilter::default().until(cutoff.saturating_add(std::time::Duration::from_millis(1)));
        let would = blocking(move || dry_run::matching(&*store, &filter)).await?;
        return Ok(Json(Purged {
            purged: 0,
            would_purge: Some(would),
        }));
    }
    let purged = blocking(move || store.purge_dead(age)).await?;
    Ok(Json(Purged {
        purged,
        would_purge: None,
    }))
}
