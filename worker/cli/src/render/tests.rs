use std::time::{Duration, SystemTime};

use serde_json::json;

use super::when::relative;
use super::*;

#[test]
fn relative_times_say_how_far_ahead_or_ago_in_the_largest_unit() {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
    assert_eq!(relative(now + Duration::from_secs(180), now), "in 3m");
    assert_eq!(relative(now - Duration::from_secs(300), now), "5m ago");
    assert_eq!(relative(now - Duration::from_secs(7_200), now), "2h ago");
    assert_eq!(
        relative(now + Duration::from_secs(3 * 86_400), now),
        "in 3d"
    );
    assert_eq!(relative(now + Duration::from_millis(300), now), "now");
}

#[test]
fn a_job_prints_aligned_fields_its_error_and_payload_without_colour() {
    let shown = job(
        &json!({
            "id": 7, "queue": "default", "kind": "http", "state": "dead",
            "payload": { "url": "https://h/x" }, "attempt": 3, "crashes": 0,
            "run_at": "2026-01-01T00:00:00.000Z", "enqueued_at": "2026-01-01T00:00:00.000Z",
            "dead_at": "2026-01-01T00:01:00.000Z",
            "last_error": { "class": "transient", "message": "HTTP 500", "at": "2026-01-01T00:01:00.000Z" }
        }),
        &Style::plain(),
    );
    assert!(!shown.contains('\x1b'), "no colour: {shown}");
    assert!(shown.contains("id          7\n"), "aligned: {shown}");
    assert!(shown.contains("last error  transient\n"), "{shown}");
    assert!(shown.contains("dead since  2026-"), "{shown}");
    assert!(shown.contains(" ago)"), "relative time: {shown}");
    assert!(shown.contains("\"url\": \"https://h/x\""), "{shown}");
}

#[test]
fn an_attempt_history_prints_as_a_table() {
    let shown = job(
        &json!({ "id": 1, "state": "retrying", "attempts": [
            { "attempt": 1, "outcome": "retry", "class": "transient" },
            { "attempt": 2, "outcome": "retry", "class": "rate_limited" }
        ] }),
        &Style::plain(),
    );
    // A column per key, each as wide as its widest cell.
    assert!(
        shown.contains(
            "  attempt class        outcome\n  1       transient    retry\n  2       rate_limited retry\n"
        ),
        "{shown}"
    );
}
