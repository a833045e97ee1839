//! `POST /v1/jobs` (one job or a batch) and `GET /v1/jobs/{id}`.
//!
//! A batch is checked whole before anything is written, and written as one all-or-nothing
//! store batch: a request that gets a 4xx stored nothing.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tenax_core::{DedupMode, Enqueued, JobId, NewJob};

use super::body;
use super::error::ApiError;
use super::views::{DurationSpec, JobView, TimeSpec};
use super::{ApiState, blocking};
use tenax_worker::Error;

/// Most jobs in one request.
pub(crate) const MAX_BATCH: usize = 10_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JobSpec {
    kind: String,
    payload: serde_json::Value,
    queue: Option<String>,
    dedup_key: Option<String>,
    dedup_mode: Option<DedupSpec>,
    run_at: Option<TimeSpec>,
    delay: Option<DurationSpec>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum DedupSpec {
    Keep,
    Replace,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Batch {
    jobs: Vec<serde_json::Value>,
}

#[derive(Serialize)]
struct Accepted {
    id: u64,
    /// `created`, `existing` (a live job held the dedup key) or `replaced` (its payload
    /// was replaced).
    status: &'static str,
}

#[derive(Serialize)]
struct BatchAccepted {
    jobs: Vec<Accepted>,
}

pub(crate) async fn enqueue(
    State(state): State<ApiState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
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
    for (at, value) in specs {
        let spec: JobSpec = body::shaped(value, &at)?;
        jobs.push(new_job(&state, spec).map_err(|e| e.within(&at))?);
    }
    let n = jobs.len() as u64;
    let results = state.store.enqueue_batch_async(jobs).await?;
    tenax_worker::metrics::jobs_enqueued(&state.queue, n);
    let accepted: Vec<Accepted> = results.iter().map(accepted).collect();
    let body = if is_batch {
        serde_json::to_value(BatchAccepted { jobs: accepted })
    } else {
        serde_json::to_value(&accepted[0])
    };
    let body = body
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "encode", e.to_string()))?;
    Ok((StatusCode::CREATED, Json(body)))
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
    if queue != state.queue {
        return Err(ApiError::unprocessable(
            "unknown_queue",
            format!(
                "no worker serves queue `{queue}` (this daemon serves `{}`)",
                state.queue
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
