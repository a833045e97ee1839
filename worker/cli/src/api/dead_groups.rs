//! `GET /v1/dead/groups`: the dead letters counted by error class and by message, so an
//! operator sees "412 × connection refused" instead of 412 rows.
//!
//! Messages are grouped after normalising what varies between jobs with the same
//! cause: every word holding a digit (ids, counts, ports, addresses, durations) becomes
//! `#`. The scan is bounded; the answer says when it stopped before the end.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{RawQuery, State};
use serde::{Deserialize, Serialize};
use tenax_core::{DeadFilter, JobStore};

use super::body;
use super::error::{ApiError, ErrorBody};
use super::{ApiState, blocking};

/// Dead letters read per request: 10,000.
pub(crate) const MAX_SCAN: usize = 10_000;
/// Message groups returned, largest first.
const MAX_GROUPS: usize = 100;
/// Characters of a normalised message kept.
const MAX_MESSAGE: usize = 200;
const PAGE: usize = 1_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupsQuery {
    queue: Option<String>,
}

/// Dead letters of one class.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ClassGroup {
    class: String,
    count: usize,
    /// One of them, to look at.
    example_id: u64,
}

/// Dead letters of one class whose messages match once normalised.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct MessageGroup {
    class: String,
    /// The message with each word holding a digit replaced by `#`.
    message: String,
    count: usize,
    /// One of them, to look at.
    example_id: u64,
}

/// The groups.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct DeadGroups {
    /// Dead letters read, oldest death first.
    scanned: usize,
    /// Whether every dead letter (of the queue) was read; `false`: the counts cover the
    /// oldest `scanned` only.
    complete: bool,
    /// By class, largest first.
    by_class: Vec<ClassGroup>,
    /// By class and message, largest first (at most 100).
    by_message: Vec<MessageGroup>,
}

/// Dead letters counted by class and by normalised message, one example id each.
#[utoipa::path(get, path = "/v1/dead/groups", tag = "dead letters",
    params(("queue" = Option<String>, Query, description = "Only this queue")),
    responses(
        (status = 200, description = "The groups", body = DeadGroups),
        (status = 400, description = "A bad query", body = ErrorBody),
    ))]
pub(crate) async fn groups(
    State(state): State<ApiState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<DeadGroups>, ApiError> {
    let q: GroupsQuery = body::query(raw.as_deref())?;
    let mut filter = DeadFilter::default();
    if let Some(queue) = q.queue {
        filter = filter.queue(queue);
    }
    let store = state.store.clone();
    Ok(Json(blocking(move || group(&*store, &filter)).await?))
}

fn group(store: &dyn JobStore, filter: &DeadFilter) -> tenax_core::Result<DeadGroups> {
    let mut classes: HashMap<String, (usize, u64)> = HashMap::new();
    let mut messages: HashMap<(String, String), (usize, u64)> = HashMap::new();
    let mut scanned = 0;
    let mut after = None;
    let complete = loop {
        let page = store.dead_jobs(filter, after, PAGE.min(MAX_SCAN - scanned))?;
        for job in page.jobs {
            scanned += 1;
            let (class, message) = match &job.last_error {
                Some(e) => (e.class.clone(), normalise(&e.message)),
                None => ("unknown".to_owned(), String::new()),
            };
            let id = job.id.get();
            classes.entry(class.clone()).or_insert((0, id)).0 += 1;
            messages.entry((class, message)).or_insert((0, id)).0 += 1;
        }
        match page.next {
            None => break true,
            Some(_) if scanned >= MAX_SCAN => break false,
            Some(next) => after = Some(next),
        }
    };
    let mut by_class: Vec<ClassGroup> = classes
        .into_iter()
        .map(|(class, (count, example_id))| ClassGroup {
            class,
            count,
            example_id,
        })
        .collect();
    by_class.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.class.cmp(&b.class)));
    let mut by_message: Vec<MessageGroup> = messages
        .into_iter()
        .map(|((class, message), (count, example_id))| MessageGroup {
            class,
            message,
            count,
            example_id,
        })
        .collect();
    by_message.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| a.class.cmp(&b.class))
            .then_with(|| a.message.cmp(&b.message))
    });
    by_message.truncate(MAX_GROUPS);
    Ok(DeadGroups {
        scanned,
        complete,
        by_class,
        by_message,
    })
}

/// `message` with every run of letters, digits and `-_.:/` that holds a digit replaced
/// by `#`, so `job 17 got 503 from 10.0.0.7:8080` and `job 9 got 502 from 10.0.0.8:80`
/// group together.
pub(crate) fn normalise(message: &str) -> String {
    let mut out = String::with_capacity(message.len().min(MAX_MESSAGE));
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if word.chars().any(|c| c.is_ascii_digit()) {
            out.push('#');
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in message.chars() {
        if c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '/') {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    match out.char_indices().nth(MAX_MESSAGE) {
        Some((cut, _)) => out[..cut].to_owned(),
        None => out,
    }
}

#[cfg(test)]
mod tests {
    use super::normalise;

    #[test]
    fn numbers_and_ids_are_folded() {
        assert_eq!(
            normalise("HTTP 503 from http://10.0.0.7:8080/items/17: busy"),
            normalise("HTTP 502 from http://10.0.0.8:80/items/9: busy"),
        );
        assert_eq!(normalise("job 17 failed"), "job # failed");
        assert_eq!(normalise("connection refused"), "connection refused");
        assert_eq!(normalise("id 4f3a9c-11"), "id #");
        assert_eq!(normalise(&"x".repeat(500)).chars().count(), 200);
    }
}
