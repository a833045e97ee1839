//! A job's row as a [`Job`]: the columns every query selects, in one order.

use tenax_core::{Error, Job, JobError, JobId, JobState, Result};
use tokio_postgres::Row;

use crate::db::ts;
use crate::history;

/// SQL: the columns [`job`] reads, in its order (index 0 to 14).
macro_rules! job_columns {
    () => {
        "id, queue, kind, payload, dedup_key, attempt, crashes, run_at, enqueued_at, \
         error_class, error_message, error_at, dead_at, attempts::text, state"
    };
}
pub(crate) use job_columns;

/// The job in a row selected with [`job_columns!`], and its state.
pub(crate) fn job(row: &Row) -> Result<(Job, JobState)> {
    let id = JobId::new(u64::try_from(row.get::<_, i64>(0)).unwrap_or(0));
    let corrupt = |what: String| Error::Corrupt { id: Some(id), what };
    let error = match (
        row.get::<_, Option<String>>(9),
        row.get::<_, Option<String>>(10),
        row.get::<_, Option<i64>>(11),
    ) {
        (Some(class), message, at) => Some(JobError {
            class,
            message: message.unwrap_or_default(),
            at: ts(at.unwrap_or(0)),
        }),
        _ => None,
    };
    let count = |i: usize| u32::try_from(row.get::<_, i32>(i)).unwrap_or(0);
    let attempts = history::decode(row.get(13)).map_err(corrupt)?;
    let state = match row.get::<_, &str>(14) {
        "pending" => JobState::Pending,
        "running" => JobState::Running,
        "dead" => JobState::Dead,
        other => return Err(corrupt(format!("unknown state {other:?}"))),
    };
    let job = Job {
        id,
        queue: row.get(1),
        kind: row.get(2),
        payload: row.get(3),
        dedup_key: row.get(4),
        attempt: count(5),
        crashes: count(6),
        run_at: ts(row.get(7)),
        enqueued_at: ts(row.get(8)),
        last_error: error,
        dead_at: row.get::<_, Option<i64>>(12).map(ts),
        attempts,
    };
    Ok((job, state))
}

/// An id as stored.
pub(crate) fn id(id: JobId) -> i64 {
    i64::try_from(id.get()).unwrap_or(i64::MAX)
}
