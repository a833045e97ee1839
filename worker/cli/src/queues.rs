//! `tenax queue`: list the served queues, pause and resume one, set its rate limit.

use anyhow::{Result, bail};
use clap::Subcommand;
use serde_json::{Value, json};

use crate::cli::Target;
use crate::commands::Daemon;

#[derive(Subcommand, Debug)]
pub(crate) enum QueueCommand {
    /// Every served queue: paused or running (with the reason and since when), the rate
    /// limit in force and where it comes from, the breaker's state.
    List {
        #[command(flatten)]
        target: Target,
        /// Print the JSON answer instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Pause a queue: no job starts until `resume`; running jobs finish; enqueues are
    /// still accepted. Stored: survives restarts.
    Pause {
        #[command(flatten)]
        target: Target,
        /// The queue.
        name: String,
        /// Who paused it and why (shown in stats and `queue list`).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Resume a paused queue: due jobs start at once, in due order.
    Resume {
        #[command(flatten)]
        target: Target,
        /// The queue.
        name: String,
    },
    /// Set a queue's steady rate limit at run time: `5/s`, `300/m`, `2.5` (per second),
    /// `off` (no limit, whatever the policy says) or `policy` (follow the policy
    /// script's `rate_limit` again). Stored: survives restarts.
    Limit {
        #[command(flatten)]
        target: Target,
        /// The queue.
        name: String,
        /// The rate: `5/s`, `300/m`, `2.5`, `off` or `policy`.
        rate: String,
        /// Jobs that may start back to back after a quiet spell. Default: 1.
        #[arg(long)]
        burst: Option<u32>,
    },
}

pub(crate) async fn run(command: QueueCommand) -> Result<()> {
    let (target, path, body) = match command {
        QueueCommand::List { target, json } => {
            let daemon = Daemon::resolve(&target)?;
            let list = daemon.client.get("/v1/queues").await?;
            return if json { print(&list) } else { table(&list) };
        }
        QueueCommand::Pause {
            target,
            name,
            reason,
        } => (
            target,
            format!("{}/pause", at(&name)),
            json!({ "reason": reason }),
        ),
        QueueCommand::Resume { target, name } => {
            (target, format!("{}/resume", at(&name)), json!({}))
        }
        QueueCommand::Limit {
            target,
            name,
            rate,
            burst,
        } => (
            target,
            format!("{}/limit", at(&name)),
            limit_body(&rate, burst)?,
        ),
    };
    let daemon = Daemon::resolve(&target)?;
    let status = daemon.client.post(&path, body).await?;
    table(&json!({ "queues": [status] }))
}

fn at(name: &str) -> String {
    format!("/v1/queues/{}", url_escape(name))
}

/// Percent-encodes everything but unreserved characters, for a path segment.
fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The API body for `rate` (`5/s`, `300/m`, `2.5`, `off`, `policy`).
fn limit_body(rate: &str, burst: Option<u32>) -> Result<Value> {
    let rate = rate.trim();
    if rate == "off" || rate == "policy" {
        if burst.is_some() {
            bail!("--burst goes with a rate such as 5/s, not with `{rate}`");
        }
        return Ok(json!({ rate: true }));
    }
    let (number, per) = match rate.split_once('/') {
        Some((n, unit)) => (n.trim(), unit.trim()),
        None => (rate, "s"),
    };
    let seconds = match per {
        "s" | "sec" | "second" => 1.0,
        "m" | "min" | "minute" => 60.0,
        "h" | "hour" => 3600.0,
        other => bail!("`{other}` is not a rate unit; use a rate such as 5/s, 300/m or 100/h"),
    };
    let count: f64 = number
        .parse()
        .ok()
        .filter(|n: &f64| n.is_finite() && *n > 0.0)
        .ok_or_else(|| {
            anyhow::anyhow!("`{rate}` is not a rate; use 5/s, 300/m, 2.5, off or policy")
        })?;
    let mut body = json!({ "per_second": count / seconds });
    if let Some(burst) = burst {
        body["burst"] = json!(burst);
    }
    Ok(body)
}

/// The `state` cell of `tenax stats` for a queue's steering (empty when not served).
pub(crate) fn state_cell(steering: &Value) -> String {
    if steering.is_null() {
        return String::new();
    }
    let mut cell = if steering["paused"] == true {
        match steering["paused_reason"].as_str() {
            Some(reason) => format!("paused ({reason})"),
            None => "paused".to_owned(),
        }
    } else {
        "running".to_owned()
    };
    if let Some(rate) = steering["rate_limit"]["per_second"].as_f64() {
        cell += &format!(", {rate}/s");
    }
    if let Some(breaker) = steering["breaker"].as_str().filter(|b| *b != "closed") {
        cell += &format!(", breaker {breaker}");
    }
    cell
}

fn table(list: &Value) -> Result<()> {
    let empty = Vec::new();
    println!(
        "{:<20} {:<8} {:<24} {:<18} {:<9} reason",
        "queue", "state", "since", "rate limit", "breaker"
    );
    for q in list["queues"].as_array().unwrap_or(&empty) {
        let text = |v: &Value| v.as_str().unwrap_or("").to_owned();
        let state = if q["paused"] == true {
            "paused"
        } else {
            "running"
        };
        let rate = match q["rate_limit"]["per_second"].as_f64() {
            Some(r) => format!(
                "{r}/s burst {} ({})",
                q["rate_limit"]["burst"],
                text(&q["rate_limit_source"])
            ),
            None if q["rate_limit_source"] == "off" => "off".to_owned(),
            None => "none".to_owned(),
        };
        let mut name = text(&q["name"]);
        if q["default"] == true {
            name += " *";
        }
        println!(
            "{name:<20} {state:<8} {:<24} {rate:<18} {:<9} {}",
            text(&q["paused_since"]),
            text(&q["breaker"]),
            text(&q["paused_reason"]),
        );
    }
    Ok(())
}

fn print(value: &Value) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}
