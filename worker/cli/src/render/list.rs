//! `tenax job list`: a page of jobs as a table, with the cursor of the next page.

use std::fmt::Write;

use serde_json::Value;

use super::{Style, text, when};

/// A page as `GET /v1/jobs` answers it: one row per job, then how to get the next page.
pub(crate) fn job_list(page: &Value, style: &Style) -> String {
    let jobs = page["jobs"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut out = format!(
        "{}\n",
        style.bold(&format!(
            "{:>8}  {:<9} {:<12} {:<12} {:>7}  {:<14} {}",
            "id", "state", "queue", "kind", "attempt", "class", "run at / dead at"
        ))
    );
    for job in jobs {
        let at = if job["dead_at"].is_string() {
            &job["dead_at"]
        } else {
            &job["run_at"]
        };
        let _ = writeln!(
            out,
            "{:>8}  {:<9} {:<12} {:<12} {:>7}  {:<14} {}",
            text(&job["id"]),
            text(&job["state"]),
            text(&job["queue"]),
            text(&job["kind"]),
            text(&job["attempt"]),
            job["last_error"]["class"].as_str().unwrap_or("-"),
            when(at),
        );
    }
    if jobs.is_empty() {
        out += "(no jobs on this page)\n";
    }
    if let Some(next) = page["next"].as_str() {
        let _ = writeln!(out, "more may follow: --cursor {next}");
    }
    out
}
