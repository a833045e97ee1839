//! Text for people from the API's JSON answers: aligned fields, local times with how
//! long ago or ahead they are, and colour only on a terminal (never with `NO_COLOR`).
//! `--json` prints the answers themselves, for programs.
//!
//! Rendering works on the JSON rather than on the API's types so that the online and
//! the offline commands (which build the same JSON from the data directory) print alike.

mod list;
mod schedules;
mod style;
mod when;

use std::fmt::Write;

use serde_json::Value;

pub(crate) use list::job_list;
pub(crate) use schedules::schedules;
pub(crate) use style::Style;
use when::when;

/// `label  value` lines with the values aligned.
struct Fields {
    rows: Vec<(String, String)>,
}

impl Fields {
    fn new() -> Self {
        Fields { rows: Vec::new() }
    }

    fn add(&mut self, label: &str, value: impl Into<String>) -> &mut Self {
        self.rows.push((label.to_owned(), value.into()));
        self
    }

    fn render(&self, style: &Style) -> String {
        let width = self.rows.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
        let mut out = String::new();
        for (label, value) in &self.rows {
            let pad = " ".repeat(width - label.len());
            let _ = writeln!(out, "{}{pad}  {value}", style.dim(label));
        }
        out
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".to_owned(),
        other => other.to_string(),
    }
}

/// A job as `GET /v1/jobs/{id}` or `GET /v1/dead/{id}` answers it.
pub(crate) fn job(job: &Value, style: &Style) -> String {
    let mut f = Fields::new();
    f.add("id", text(&job["id"]))
        .add("state", style.state(&text(&job["state"])))
        .add("queue", text(&job["queue"]))
        .add("kind", text(&job["kind"]))
        .add("attempts", text(&job["attempt"]));
    if job["crashes"].as_u64().unwrap_or(0) > 0 {
        f.add("crashes", text(&job["crashes"]));
    }
    f.add("enqueued", when(&job["enqueued_at"]));
    if job["state"] == "dead" {
        f.add("dead since", when(&job["dead_at"]));
    } else {
        f.add("runs", when(&job["run_at"]));
    }
    if let Some(key) = job["dedup_key"].as_str() {
        f.add("dedup key", key);
    }
    let error = &job["last_error"];
    if error.is_object() {
        f.add("last error", style.error(&text(&error["class"])))
            .add("  at", when(&error["at"]))
            .add("  message", text(&error["message"]));
    }
    let mut out = f.render(style);
    // NOTE: the attempt history goes here once jobs keep one (`attempts` in the API's
    // answer, a list of objects): a table with a row per attempt.
    if let Some(attempts) = job["attempts"].as_array().filter(|a| !a.is_empty()) {
        let _ = writeln!(out, "\n{}", style.bold("attempts"));
        out += &table(attempts);
    }
    let payload = serde_json::to_string_pretty(&job["payload"]).unwrap_or_default();
    let _ = writeln!(out, "\n{}", style.bold("payload"));
    for line in payload.lines() {
        let _ = writeln!(out, "  {line}");
    }
    out
}

/// A table of JSON objects: a column per key of the first, in its order.
fn table(rows: &[Value]) -> String {
    let Some(first) = rows.first().and_then(Value::as_object) else {
        return String::new();
    };
    let keys: Vec<&String> = first.keys().collect();
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| keys.iter().map(|k| text(&r[k.as_str()])).collect())
        .collect();
    let widths: Vec<usize> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| {
            cells
                .iter()
                .map(|c| c[i].chars().count())
                .chain([k.len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |values: Vec<&str>| {
        let mut l = String::from(" ");
        for (v, w) in values.iter().zip(&widths) {
            let _ = write!(l, " {v:<w$}");
        }
        l.trim_end().to_owned() + "\n"
    };
    let mut out = line(keys.iter().map(|k| k.as_str()).collect());
    for row in &cells {
        out += &line(row.iter().map(String::as_str).collect());
    }
    out
}

/// The breakers as `GET /v1/breaker` answers it: each served queue's, one block each.
pub(crate) fn breaker(view: &Value, style: &Style) -> String {
    match view["queues"].as_array() {
        Some(all) if !all.is_empty() => all
            .iter()
            .map(|b| one_breaker(b, style))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => one_breaker(view, style),
    }
}

/// One queue's breaker (times in Unix milliseconds).
fn one_breaker(view: &Value, style: &Style) -> String {
    let millis = |key: &str| view[key].as_u64().map(when::from_millis);
    let mut f = Fields::new();
    f.add("queue", text(&view["queue"]))
        .add("state", style.state(&text(&view["state"])))
        .add(
            "failures",
            format!(
                "{} in a row (opens at {})",
                text(&view["consecutive_failures"]),
                text(&view["failure_threshold"])
            ),
        )
        .add("openings", text(&view["openings"]));
    if let Some(at) = millis("opened_at_ms") {
        f.add("last opened", at);
    }
    if let Some(at) = millis("probe_at_ms") {
        f.add("probes from", at);
    }
    if view["probes_in_flight"].as_u64().unwrap_or(0) > 0 {
        f.add("probes running", text(&view["probes_in_flight"]));
    }
    if let Some(at) = millis("closed_at_ms") {
        f.add("last closed", at);
    }
    f.render(style)
}

/// The live policy as `GET /v1/policy` answers it.
pub(crate) fn policy(view: &Value, style: &Style) -> String {
    let mut f = Fields::new();
    f.add("version", text(&view["version"]))
        .add("origin", text(&view["origin"]))
        .add("fingerprint", text(&view["fingerprint"]))
        .add("loaded", when(&view["loaded_at"]));
    match view["last_error"].as_str() {
        Some(error) => f.add("last reload", style.error(&format!("rejected: {error}"))),
        None => f.add("last reload", "ok"),
    };
    let report = &view["report"];
    let mut out = f.render(style);
    let settings = report["settings"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    if !settings.is_empty() {
        let _ = writeln!(
            out,
            "\n{} (* differs from the default)",
            style.bold("settings")
        );
        let width = settings
            .iter()
            .map(|s| text(&s["key"]).len())
            .max()
            .unwrap_or(0);
        for s in settings {
            let mark = if s["differs"] == true { "*" } else { " " };
            let _ = writeln!(
                out,
                "  {mark} {:<width$}  {}  {}",
                text(&s["key"]),
                text(&s["value"]),
                style.dim(&format!("(default {})", text(&s["default"]))),
            );
        }
    }
    let schedules = report["schedules"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    if !schedules.is_empty() {
        let _ = writeln!(out, "\n{}", style.bold("retry schedules"));
        for s in schedules {
            let breaker = if s["counts_toward_breaker"] == true {
                ", counts toward the breaker"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "  {:<14} {:>4} retries, dead after {} to {}{breaker}",
                text(&s["class"]),
                text(&s["max_retries"]),
                text(&s["dead_after"]["min"]),
                text(&s["dead_after"]["max"]),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests;
