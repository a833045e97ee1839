//! `POST /v1/jobs` (one job or a batch), `GET /v1/jobs/{id}` and `DELETE /v1/jobs/{id}`.
//!
//! A batch is checked whole before anything is written, and written as one all-or-nothing
//! store batch: a request that gets a 4xx stored nothing.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tenax_core::{Cancel, DedupMode, Enqueued, JobId, NewJob};

use super::body;
use super::error::{ApiError, ErrorBody};
use super::views::{DurationSpec, JobView, TimeSpec};
use super::{ApiState, blocking};
use tenax_worker::Error;

/// Most jobs in one request.
pub(crate) const MAX_BATCH: usize = 10_000;

/// One job to enqueue.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct JobSpec {
    /// The handler that runs it: `http` for the HTTP handler, or an application's own
    /// kind (an unknown kind is refused with the list of the daemon's kinds).
    kind: String,
    /// The job's input; for `http`, the request (`url`, `method`, `headers`, `json` or
    /// `text`, `timeout`).
    payload: serde_json::Value,
    /// Default: the daemon's default queue (`worker.queue`). Must be a served queue.
    queue: Option<String>,
    /// While a live job holds this key, no second one is added.
    dedup_key: Option<String>,
    /// With `dedup_key`: keep the live job (default) or replace its payload.
    dedup_mode: Option<DedupSpec>,
    /// When to run it first; not with `delay`.
    run_at: Option<TimeSpec>,
    /// How long from now to run it first; not with `run_at`.
    delay: Option<DurationSpec>,
}

/// `POST /v1/jobs` takes one job, or a batch stored all or nothing. (The handler reads
/// the body itself, to say where in a batch a job is wrong; this is its shape.)
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub(crate) enum EnqueueRequest {
    /// One job.
    One(JobSpec),
    /// A batch.
    Batch(Batch),
}

#[derive(Deserialize, Clone, Copy, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
enum DedupSpec {
    Keep,
    Replace,
}

/// Jobs stored all or nothing.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Batch {
    /// 1 to 10 000 jobs.
    #[schema(value_type = Vec<JobSpec>, min_items = 1, max_items = 10000)]
    jobs: Vec<serde_json::Value>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Accepted {
    id: u64,
    /// `created`, `existing` (a live job held the dedup key) or `replaced` (its payload
    /// was replaced).
    #[schema(value_type = String)]
    status: &'static str,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct BatchAccepted {
    jobs: Vec<Accepted>,
}

/// The answer of `POST /v1/jobs`: one acceptance, or one per job of a batch.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub(crate) enum EnqueueAnswer {
    /// For one job.
    One(Accepted),
    /// For a batch, in its order.
    Batch(BatchAccepted),
}

/// Enqueue one job or a batch.
#[utoipa::path(post, path = "/v1/jobs", tag = "jobs",
    request_body = EnqueueRequest,
    responses(
        (status = 201, description = "Stored", body = EnqueueAnswer),
        (status = 400, description = "Not JSON", body = ErrorBody),
        (status = 413, description = "Body over the limit", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Refused; nothing stored", body = ErrorBody),
        (status = 507, description = "Disk full; nothing stored", body = ErrorBody),
    ))]
pub(crate) async fn enqueue(
    State(state): State<ApiState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<EnqueueAnswer>), ApiError> {
    let value: serde_json::Value = body::json(body)?;
    let is_batch = value.as_object().is_some_and(|o| o.contains_key("jobs"));
    let specs: Vec<(String, serde_json::Value)> = if is_batch {
        let batch: Batch = body::shaped(value, "")?;
        if batch.jobs.is_empty() || batch.jobs.len() > MAX_BATCH {
            return Err(ApiError::unprocessable(
                "invalid_request",
                format!(
                    "a batch holds 1 to {MAX_BATCH} jobs, got {}",
                    batch.jobs.len()
                ),
            ));
        }
        batch
            .jobs
            .into_iter()
            .enumerate()
            .map(|(i, v)| (format!("jobs[{i}]"), v))
            .collect()
    } else {
        vec![(String::new(), value)]
    };
    let mut jobs = Vec::with_capacity(specs.len());
    let mut per_queue: std::collections::BTreeMap<String, u64> = Default::default();
    for (at, value) in specs {
        let spec: JobSpec = body::shaped(value, &at)?;
        let queue = spec.queue.clone().unwrap_or_else(|| state.queue.clone());
        jobs.push(new_job(&state, spec).map_err(|e| e.within(&at))?);
        *per_queue.entry(queue).or_default() += 1;
    }
    let results = state.store.enqueue_batch_async(jobs).await?;
    for (queue, n) in per_queue {
        tenax_worker::metrics::jobs_enqueued(&queue, n);
    }
    let mut accepted: Vec<Accepted> = results.iter().map(accepted).collect();
    let answer = if is_batch {
        EnqueueAnswer::Batch(BatchAccepted { jobs: accepted })
    } else {
        EnqueueAnswer::One(accepted.remove(0))
    };
    Ok((StatusCode::CREATED, Json(answer)))
}

fn accepted(e: &Enqueued) -> Accepted {
    let status = match e {
        Enqueued::Created(_) => "created",
        Enqueued::Existing(_) => "existing",
        Enqueued::Replaced(_) => "replaced",
    };
    Accepted {
        id: e.id().get(),
        status,
    }
}

/// Checks one job spec and turns it into a store request.
fn new_job(state: &ApiState, spec: JobSpec) -> Result<NewJob, ApiError> {
    let queue = spec.queue.unwrap_or_else(|| state.queue.clone());
    if !state.queues.contains_key(&queue) {
        return Err(ApiError::unprocessable(
            "unknown_queue",
            format!(
                "no worker serves queue `{queue}` (this daemon serves {})",
                state.served_names()
            ),
        ));
    }
    let payload = serde_json::to_vec(&spec.payload)
        .map_err(|e| ApiError::unprocessable("invalid_payload", e.to_string()))?;
    state
        .validator
        .validate(&spec.kind, &payload)
        .map_err(|e| match e {
            Error::UnknownKind(kind) => ApiError::unprocessable(
                "unknown_kind",
                format!(
                    "no handler for kind `{kind}`; this daemon runs: {}",
                    state.validator.kinds().join(", ")
                ),
            ),
            other => ApiError::unprocessable("refused", other.to_string()),
        })?;
    let mut job = NewJob::new(spec.kind, payload).with_queue(queue);
    match (spec.dedup_key, spec.dedup_mode) {
        (Some(key), mode) => {
            let mode = match mode.unwrap_or(DedupSpec::Keep) {
                DedupSpec::Keep => DedupMode::KeepExisting,
                DedupSpec::Replace => DedupMode::ReplacePayload,
            };
            job = job.with_dedup_key(key, mode);
        }
        (None, Some(_)) => {
            return Err(ApiError::unprocessable(
                "invalid_request",
                "`dedup_mode` needs a `dedup_key`",
            ));
        }
        (None, None) => {}
    }
    match (spec.run_at, spec.delay) {
        (Some(_), Some(_)) => {
            return Err(ApiError::unprocessable(
                "invalid_request",
                "give `run_at` or `delay`, not both",
            ));
        }
        (Some(t), None) => job = job.with_run_at(t.resolve("run_at")?),
        (None, Some(d)) => job = job.with_delay(d.resolve("delay")?),
        (None, None) => {}
    }
    Ok(job)
}

/// A job and its state.
#[utoipa::path(get, path = "/v1/jobs/{id}", tag = "jobs",
    params(("id" = u64, Path, description = "The job id")),
    responses(
        (status = 200, description = "The job", body = JobView),
        (status = 400, description = "Not a job id", body = ErrorBody),
        (status = 404, description = "No such job", body = ErrorBody),
    ))]
pub(crate) async fn show(
    State(state): State<ApiState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<JobView>, ApiError> {
    let id = path_id(id)?;
    let store = state.store.clone();
    match blocking(move || store.job(id)).await? {
        Some((job, st)) => Ok(Json(JobView::new(job, st))),
        None => Err(ApiError::not_found(format!(
            "job {id} does not exist (it may have completed, or been purged from the dead letters)"
        ))),
    }
}

/// What `DELETE /v1/jobs/{id}` did.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Cancelled {
    id: u64,
    /// `cancelled` (it was waiting or retrying and is now a dead letter of class
    /// `cancelled`), `marked` (it is running: unless it completes, its outcome buries it
    /// as `cancelled`) or `already_dead` (nothing changed).
    #[schema(value_type = String)]
    status: &'static str,
}

/// Cancel a job: a waiting or retrying one moves to the dead letters as `cancelled`
/// (requeue brings it back); a running one is marked, and its outcome buries it as
/// `cancelled` unless it completes (the downstream already did the work).
#[utoipa::path(delete, path = "/v1/jobs/{id}", tag = "jobs",
    params(("id" = u64, Path, description = "The job id")),
    responses(
        (status = 200, description = "What was done", body = Cancelled),
        (status = 400, description = "Not a job id", body = ErrorBody),
        (status = 404, description = "No such job", body = ErrorBody),
    ))]
pub(crate) async fn cancel(
    State(state): State<ApiState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Cancelled>, ApiError> {
    let id = path_id(id)?;
    let store = state.store.clone();
    let status = match blocking(move || store.cancel(id)).await? {
        Cancel::Buried => "cancelled",
        Cancel::Marked { .. } => "marked",
        Cancel::AlreadyDead => "already_dead",
    };
    Ok(Json(Cancelled {
        id: id.get(),
        status,
    }))
}

/// A job id from the path; a segment that does not percent-decode to UTF-8 gets the
/// same JSON 400 as any other bad id (axum's own rejection is plain text).
pub(crate) fn path_id(segment: Result<Path<String>, PathRejection>) -> Result<JobId, ApiError> {
    match segment {
        Ok(Path(text)) => parse_id(&text),
        Err(rejection) => Err(ApiError::bad_request(
            "invalid_id",
            format!(
                "the job id in the path is not valid: {}",
                rejection.body_text()
            ),
        )),
    }
}

/// A job id from a path segment.
fn parse_id(text: &str) -> Result<JobId, ApiError> {
    text.parse::<u64>().map(JobId::new).map_err(|_| {
        ApiError::bad_request(
            "invalid_id",
            format!("`{text}` is not a job id (a positive integer)"),
        )
    })
}
