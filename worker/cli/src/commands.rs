//! What the client commands do: call the daemon's API, or read the data directory
//! when no daemon runs.

use std::io::{BufRead, Write};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use crate::cli::{DeadFilterArgs, EnqueueArgs, Target};
use crate::client::{CallError, Client};
use crate::config::{Config, Overrides, Use};
use crate::offline;
use crate::render::{self, Style};

/// The daemon this command talks to, and the data directory it would hold.
pub(crate) struct Daemon {
    pub(crate) client: Client,
    pub(crate) config: Config,
}

impl Daemon {
    pub(crate) fn resolve(target: &Target) -> Result<Self> {
        let overrides = Overrides {
            token: target.token.clone(),
            ..Overrides::default()
        };
        let config = Config::load(
            target.config.as_deref(),
            &overrides,
            &target.app,
            Use::Client,
        )?;
        let addr = target
            .api
            .clone()
            .unwrap_or_else(|| config.api.addr.to_string());
        let token = target.token.clone().or_else(|| config.api.token.clone());
        Ok(Daemon {
            client: Client::new(&addr, token)?,
            config,
        })
    }
}

fn print_text(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    Ok(())
}

fn print_json(value: &Value) -> Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

pub(crate) async fn enqueue(args: EnqueueArgs) -> Result<()> {
    let daemon = Daemon::resolve(&args.target)?;
    let body = if args.kind == "-" {
        let mut jobs = Vec::new();
        for (n, line) in std::io::stdin().lock().lines().enumerate() {
            let line = line.context("read stdin")?;
            if line.trim().is_empty() {
                continue;
            }
            let job: Value = serde_json::from_str(&line)
                .with_context(|| format!("stdin line {}: not a JSON object", n + 1))?;
            jobs.push(job);
        }
        if jobs.is_empty() {
            bail!("no jobs on stdin (expected one JSON object per line)");
        }
        json!({ "jobs": jobs })
    } else {
        let payload: Value = match &args.payload {
            Some(text) => serde_json::from_str(text).context("the payload is not JSON")?,
            None => Value::Null,
        };
        let mut job = json!({ "kind": args.kind, "payload": payload });
        let fields = [
            ("queue", args.queue.clone()),
            ("dedup_key", args.dedup_key.clone()),
            ("delay", args.delay.clone()),
            ("run_at", args.run_at.clone()),
        ];
        for (key, value) in fields {
            if let Some(v) = value {
                job[key] = Value::String(v);
            }
        }
        if args.replace {
            job["dedup_mode"] = Value::String("replace".into());
        }
        job
    };
    let answer = daemon.client.post("/v1/jobs", body).await?;
    print_json(&answer)
}

pub(crate) async fn stats(target: &Target, as_json: bool) -> Result<()> {
    let daemon = Daemon::resolve(target)?;
    let stats = match daemon.client.get("/v1/stats").await {
        Ok(stats) => stats,
        Err(CallError::Unreachable(addr)) => offline::stats(&daemon.config, &addr)?,
        Err(err) => return Err(err.into()),
    };
    if as_json {
        return print_json(&stats);
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{:<20} {:>9} {:>9} {:>8} {:>8} {:>10} {:>10}  state",
        "queue", "waiting", "retrying", "running", "dead", "completed", "enqueued"
    )?;
    let empty = serde_json::Map::new();
    for (queue, q) in stats["queues"].as_object().unwrap_or(&empty) {
        let n = |k: &str| q[k].as_u64().unwrap_or(0);
        writeln!(
            out,
            "{queue:<20} {:>9} {:>9} {:>8} {:>8} {:>10} {:>10}  {}",
            n("waiting"),
            n("retrying"),
            n("running"),
            n("dead"),
            n("completed"),
            n("enqueued"),
            crate::queues::state_cell(&q["steering"]),
        )?;
    }
    Ok(())
}

pub(crate) async fn show_job(target: &Target, id: u64, as_json: bool) -> Result<()> {
    let daemon = Daemon::resolve(target)?;
    let job = match daemon.client.get(&format!("/v1/jobs/{id}")).await {
        Ok(job) => job,
        Err(CallError::Unreachable(addr)) => offline::job(&daemon.config, &addr, id)?,
        Err(err) => return Err(err.into()),
    };
    if as_json {
        return print_json(&job);
    }
    print_text(&render::job(&job, &Style::for_stdout()))
}

/// What `tenax job list` asks for.
pub(crate) struct ListFilter {
    pub(crate) state: String,
    pub(crate) queue: Option<String>,
    pub(crate) kind: Option<String>,
    pub(crate) class: Option<String>,
}

pub(crate) async fn list_jobs(
    target: &Target,
    filter: &ListFilter,
    limit: usize,
    cursor: Option<String>,
    as_json: bool,
) -> Result<()> {
    let daemon = Daemon::resolve(target)?;
    let mut query = vec![("state", filter.state.clone())];
    for (key, value) in [
        ("queue", &filter.queue),
        ("kind", &filter.kind),
        ("class", &filter.class),
    ] {
        if let Some(v) = value {
            query.push((key, v.clone()));
        }
    }
    query.push(("limit", limit.to_string()));
    if let Some(c) = &cursor {
        query.push(("cursor", c.clone()));
    }
    let page = match daemon
        .client
        .get(&format!("/v1/jobs{}", encode(&query)))
        .await
    {
        Ok(page) => page,
        Err(CallError::Unreachable(addr)) => {
            offline::jobs_page(&daemon.config, &addr, filter, limit, cursor.as_deref())?
        }
        Err(err) => return Err(err.into()),
    };
    if as_json {
        return print_json(&page);
    }
    print_text(&render::job_list(&page, &Style::for_stdout()))
}

fn filter_query(filter: &DeadFilterArgs) -> Vec<(&'static str, String)> {
    let mut q = Vec::new();
    for (key, value) in [
        ("queue", &filter.queue),
        ("kind", &filter.kind),
        ("class", &filter.class),
        ("since", &filter.since),
        ("until", &filter.until),
    ] {
        if let Some(v) = value {
            q.push((key, v.clone()));
        }
    }
    q
}

fn encode(pairs: &[(&str, String)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    let joined: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", enc(v)))
        .collect();
    if joined.is_empty() {
        String::new()
    } else {
        format!("?{}", joined.join("&"))
    }
}

pub(crate) async fn dlq_list(
    target: &Target,
    filter: &DeadFilterArgs,
    limit: usize,
    cursor: Option<String>,
    as_json: bool,
) -> Result<()> {
    let daemon = Daemon::resolve(target)?;
    let mut query = filter_query(filter);
    query.push(("limit", limit.to_string()));
    if let Some(c) = &cursor {
        query.push(("cursor", c.clone()));
    }
    let page = match daemon
        .client
        .get(&format!("/v1/dead{}", encode(&query)))
        .await
    {
        Ok(page) => page,
        Err(CallError::Unreachable(addr)) => {
            offline::dead_page(&daemon.config, &addr, filter, limit, cursor.as_deref())?
        }
        Err(err) => return Err(err.into()),
    };
    if as_json {
        return print_json(&page);
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{:>8}  {:<12} {:<12} {:<12} {:<24}  error",
        "id", "queue", "kind", "class", "dead at"
    )?;
    for job in page["jobs"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let s = |v: &Value| v.as_str().unwrap_or("").to_owned();
        let error = &job["last_error"];
        let mut message = s(&error["message"]);
        if message.len() > 80 {
            let mut end = 80;
            while !message.is_char_boundary(end) {
                end -= 1;
            }
            message.truncate(end);
            message.push('…');
        }
        writeln!(
            out,
            "{:>8}  {:<12} {:<12} {:<12} {:<24}  {message}",
            job["id"],
            s(&job["queue"]),
            s(&job["kind"]),
            s(&error["class"]),
            s(&job["dead_at"]),
        )?;
    }
    if let Some(next) = page["next"].as_str() {
        writeln!(out, "more: --cursor {next}")?;
    }
    Ok(())
}

pub(crate) async fn dlq_show(target: &Target, id: u64, as_json: bool) -> Result<()> {
    let daemon = Daemon::resolve(target)?;
    let job = match daemon.client.get(&format!("/v1/dead/{id}")).await {
        Ok(job) => job,
        Err(CallError::Unreachable(addr)) => offline::dead_job(&daemon.config, &addr, id)?,
        Err(err) => return Err(err.into()),
    };
    if as_json {
        return print_json(&job);
    }
    print_text(&render::job(&job, &Style::for_stdout()))
}

pub(crate) async fn dlq_requeue(
    target: &Target,
    ids: &[u64],
    filter: &DeadFilterArgs,
    all: bool,
    dry_run: bool,
) -> Result<()> {
    let mut body = match (ids.is_empty(), filter.is_empty(), all) {
        (false, true, false) => json!({ "ids": ids }),
        (true, false, false) => {
            let f: serde_json::Map<String, Value> = filter_query(filter)
                .into_iter()
                .map(|(k, v)| (k.to_owned(), Value::String(v)))
                .collect();
            json!({ "filter": f })
        }
        (true, true, true) => json!({ "all": true }),
        _ => bail!(
            "give job ids, or filter options (--queue, --kind, --class, --since, --until), or --all; exactly one of them"
        ),
    };
    let daemon = Daemon::resolve(target)?;
    if dry_run {
        body["dry_run"] = Value::Bool(true);
        let answer = daemon.client.post("/v1/dead/requeue", body).await?;
        return print_text(&would("requeue", &answer["would_requeue"]));
    }
    print_json(&daemon.client.post("/v1/dead/requeue", body).await?)
}

pub(crate) async fn dlq_purge(target: &Target, older_than: &str, dry_run: bool) -> Result<()> {
    let daemon = Daemon::resolve(target)?;
    let mut query = vec![("older_than", older_than.to_owned())];
    if dry_run {
        query.push(("dry_run", "true".to_owned()));
    }
    let answer = daemon
        .client
        .delete(&format!("/v1/dead{}", encode(&query)))
        .await?;
    if dry_run {
        return print_text(&would("purge", &answer["would_purge"]));
    }
    print_json(&answer)
}

/// A dry run's answer for people: how many jobs, and the first few ids.
fn would(verb: &str, change: &Value) -> String {
    let count = change["count"].as_u64().unwrap_or(0);
    let ids: Vec<String> = change["first_ids"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(Value::to_string)
        .collect();
    let mut out = format!("dry run: would {verb} {count} dead job(s); nothing changed\n");
    if !ids.is_empty() {
        let more = if (ids.len() as u64) < count {
            ", ..."
        } else {
            ""
        };
        out += &format!("first: {}{more}\n", ids.join(", "));
    }
    out
}

pub(crate) async fn cancel_job(target: &Target, id: u64) -> Result<()> {
    let daemon = Daemon::resolve(target)?;
    print_json(&daemon.client.delete(&format!("/v1/jobs/{id}")).await?)
}

pub(crate) async fn dlq_delete(target: &Target, id: u64) -> Result<()> {
    let daemon = Daemon::resolve(target)?;
    print_json(&daemon.client.delete(&format!("/v1/dead/{id}")).await?)
}

pub(crate) async fn breaker(target: &Target, as_json: bool) -> Result<()> {
    let daemon = Daemon::resolve(target)?;
    let view = daemon.client.get("/v1/breaker").await?;
    if as_json {
        return print_json(&view);
    }
    print_text(&render::breaker(&view, &Style::for_stdout()))
}

/// `tenax schedule list`: `GET /v1/schedules`.
pub(crate) async fn schedule_list(target: &Target, as_json: bool) -> Result<()> {
    let daemon = Daemon::resolve(target)?;
    let view = daemon.client.get("/v1/schedules").await?;
    if as_json {
        return print_json(&view);
    }
    print_text(&render::schedules(&view, &Style::for_stdout()))
}

pub(crate) async fn policy_show(target: &Target, as_json: bool) -> Result<()> {
    let daemon = Daemon::resolve(target)?;
    let policy = daemon.client.get("/v1/policy").await?;
    if as_json {
        return print_json(&policy);
    }
    print_text(&render::policy(&policy, &Style::for_stdout()))
}

/// `tenax health [--ready]`: exit 0 when the daemon answers `/healthz` (or `/readyz`)
/// with 200, else 1 with the reason on stderr.
pub(crate) async fn health(target: &Target, ready: bool) -> Result<std::process::ExitCode> {
    let daemon = Daemon::resolve(target)?;
    let path = if ready { "/readyz" } else { "/healthz" };
    match daemon.client.get(path).await {
        Ok(answer) => {
            println!("{answer}");
            Ok(std::process::ExitCode::SUCCESS)
        }
        Err(err) => {
            eprintln!("tenax: {err}");
            Ok(std::process::ExitCode::FAILURE)
        }
    }
}
