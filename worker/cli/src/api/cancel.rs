//! `POST /v1/jobs/cancel`: cancel many jobs at once, named by id or by a filter, or
//! count what a cancel would touch (`dry_run`), with the shape of the dead-letter
//! requeue.
//!
//! Each job is cancelled by the store's own `cancel`, under its write lock, so a job the
//! worker concludes meanwhile is never moved twice: a pending job goes to the dead
//! letters as `cancelled`, a running one is marked (its outcome buries it unless it
//! completes). The work per request is bounded: at most 1,000 jobs are cancelled, and a
//! filter reads at most 10 pages of the listing; `more` and `next` say to call again.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use serde::{Deserialize, Serialize};
use tenax_core::{Cancel, Error, JobCursor, JobFilter, JobId, JobState, JobStore, ListState};

use super::body;
use super::dry_run::WouldChange;
use super::error::{ApiError, ErrorBody};
use super::{ApiState, blocking};

/// Most jobs cancelled (or ids given) in one request.
pub(crate) const MAX_CANCEL: usize = 1_000;
/// Pages of the listing one request reads.
const MAX_PAGES: usize = 10;
/// Jobs per page read.
const PAGE: usize = 1_000;
/// Pages a dry run reads to count (at most 100,000 jobs).
const MAX_DRY_PAGES: usize = 100;
/// How many ids a dry run names.
const SAMPLE: usize = 10;

/// Which jobs: one state, and optionally one queue, kind and class.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CancelFilter {
    /// `waiting`, `retrying` or `running`.
    state: String,
    queue: Option<String>,
    kind: Option<String>,
    /// The class of the job's last error.
    class: Option<String>,
}

/// Exactly one of `ids` or `filter`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CancelSpec {
    /// 1 to 1,000 job ids.
    ids: Option<Vec<u64>>,
    filter: Option<CancelFilter>,
    /// With `filter`: `next` of the previous answer, to go on where it stopped.
    cursor: Option<String>,
    /// Count what would be cancelled (and name the first few) without changing anything.
    dry_run: Option<bool>,
}

/// What a bulk cancel did, or would do.
#[derive(Serialize, utoipa::ToSchema, Default)]
pub(crate) struct Cancelled {
    /// Pending jobs moved to the dead letters as `cancelled` (0 on a dry run).
    cancelled: usize,
    /// Running jobs marked: their outcome buries them unless they complete.
    marked: usize,
    /// Named jobs already dead or gone.
    skipped: usize,
    /// The work bound stopped it: more jobs may match. Call again (with `next` as
    /// `cursor`); on a dry run, `would_cancel.count` is then a lower bound.
    more: bool,
    /// Where a filtered cancel stopped.
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
    /// On a dry run: what would be cancelled.
    #[serde(skip_serializing_if = "Option::is_none")]
    would_cancel: Option<WouldChange>,
}

enum Selection {
    Ids(Vec<JobId>),
    Filter(JobFilter, Option<JobCursor>),
}

/// Cancel the named jobs, or those a filter matches (bounded per request).
#[utoipa::path(post, path = "/v1/jobs/cancel", tag = "jobs",
    request_body = CancelSpec,
    responses(
        (status = 200, description = "What was cancelled, or would be", body = Cancelled),
        (status = 400, description = "Not JSON, or a bad cursor", body = ErrorBody),
        (status = 413, description = "Body over the limit", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Not exactly one selector, too many ids, or a bad state", body = ErrorBody),
    ))]
pub(crate) async fn cancel_many(
    State(state): State<ApiState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Cancelled>, ApiError> {
    let spec: CancelSpec = body::object(body)?;
    let selection = selection(spec.ids, spec.filter, spec.cursor)?;
    let store = state.store.clone();
    let answer = if spec.dry_run == Some(true) {
        blocking(move || dry_run(&*store, &selection)).await?
    } else {
        blocking(move || cancel(&*store, selection)).await?
    };
    Ok(Json(answer))
}

fn selection(
    ids: Option<Vec<u64>>,
    filter: Option<CancelFilter>,
    cursor: Option<String>,
) -> Result<Selection, ApiError> {
    let bad = |m: String| ApiError::unprocessable("invalid_request", m);
    match (ids, filter) {
        (Some(ids), None) if cursor.is_none() => {
            if ids.is_empty() || ids.len() > MAX_CANCEL {
                return Err(bad(format!(
                    "`ids` names 1 to {MAX_CANCEL} jobs, got {}",
                    ids.len()
                )));
            }
            // Ids are documented (and handed out) as int64.
            if let Some(id) = ids.iter().find(|&&id| i64::try_from(id).is_err()) {
                return Err(bad(format!("{id} is not a job id")));
            }
            Ok(Selection::Ids(ids.into_iter().map(JobId::new).collect()))
        }
        (None, Some(f)) => {
            let list_state = match f.state.parse::<ListState>() {
                Ok(ListState::Dead) => {
                    return Err(bad(
                        "dead jobs cannot be cancelled; use `state` waiting, retrying or running"
                            .into(),
                    ));
                }
                Ok(s) => s,
                Err(e) => return Err(bad(format!("`filter.state`: {e}"))),
            };
            let cursor = body::page_cursor::<JobCursor>(cursor)?;
            let filter = super::list::filter(list_state, f.queue, f.kind, f.class);
            Ok(Selection::Filter(filter, cursor))
        }
        _ => Err(bad(
            "give exactly one of `ids` (a list of job ids) or `filter` (an object with \
             `state`); `cursor` goes with `filter`"
                .into(),
        )),
    }
}

fn cancel(store: &dyn JobStore, selection: Selection) -> tenax_core::Result<Cancelled> {
    let mut done = Cancelled::default();
    match selection {
        Selection::Ids(ids) => {
            for id in ids {
                one(store, id, &mut done)?;
            }
        }
        Selection::Filter(filter, mut cursor) => {
            let mut touched = 0;
            for _ in 0..MAX_PAGES {
                let page = store.jobs(&filter, cursor.clone(), PAGE.min(MAX_CANCEL - touched))?;
                for job in page.jobs {
                    one(store, job.id, &mut done)?;
                    touched += 1;
                }
                cursor = page.next;
                if cursor.is_none() || touched >= MAX_CANCEL {
                    break;
                }
            }
            done.more = cursor.is_some();
            done.next = cursor.map(|c| c.to_string());
        }
    }
    Ok(done)
}

/// Cancels one job, counting what happened; a job gone meanwhile is skipped.
fn one(store: &dyn JobStore, id: JobId, done: &mut Cancelled) -> tenax_core::Result<()> {
    match store.cancel(id) {
        Ok(Cancel::Buried) => done.cancelled += 1,
        Ok(Cancel::Marked { .. }) => done.marked += 1,
        Ok(Cancel::AlreadyDead) | Err(Error::NotFound { .. }) => done.skipped += 1,
        Err(err) => return Err(err),
    }
    Ok(())
}

fn dry_run(store: &dyn JobStore, selection: &Selection) -> tenax_core::Result<Cancelled> {
    let mut would = WouldChange::default();
    let mut done = Cancelled::default();
    let note = |id: JobId, would: &mut WouldChange| {
        would.count += 1;
        if would.first_ids.len() < SAMPLE {
            would.first_ids.push(id.get());
        }
    };
    match selection {
        Selection::Ids(ids) => {
            let mut seen = std::collections::HashSet::new();
            for &id in ids.iter().filter(|&&id| seen.insert(id)) {
                match store.job(id)? {
                    Some((_, JobState::Pending | JobState::Running)) => note(id, &mut would),
                    _ => done.skipped += 1,
                }
            }
        }
        Selection::Filter(filter, cursor) => {
            let mut cursor = cursor.clone();
            for _ in 0..MAX_DRY_PAGES {
                let page = store.jobs(filter, cursor.clone(), PAGE)?;
                for job in &page.jobs {
                    note(job.id, &mut would);
                }
                cursor = page.next;
                if cursor.is_none() {
                    break;
                }
            }
            done.more = cursor.is_some();
        }
    }
    done.would_cancel = Some(would);
    Ok(done)
}
