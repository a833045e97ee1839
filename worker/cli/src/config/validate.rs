//! The one validation of a configuration, shared by `tenax config check` and `tenax run`.
//!
//! Each bound belongs to the library that uses the value: the worker builder's checks,
//! [`HttpConfig::check`](tenax_worker::http::HttpConfig::check), the allowed-base parser
//! and [`StoreOptions::validate`](tenax_core::StoreOptions::validate). This module asks
//! them and maps each answer to the key that holds the value. Only the binary's own
//! settings (the API's address, token and body limit, the log filter) are checked here,
//! and the policy file is compiled by the function the daemon loads it with.

use std::collections::HashSet;

use tenax_policies::{CompiledPolicy, LivePolicy};
use tenax_worker::WorkerBuilder;
use tenax_worker::http::{AllowedBases, HttpConfig, HttpHandler, HttpRequest, HttpTarget};

use super::parse::{Source, dotted};
use super::{Config, ConfigError, log_filter};
use crate::schedule::{Schedule, Timing};

/// The smallest API body limit: 1 KiB, below which no batch enqueue fits.
const MIN_BODY_LIMIT: u64 = 1024;

/// Everything `tenax run` would refuse about `config`, the first problem found.
pub(super) fn validate(config: &Config, source: &Source<'_>) -> Result<(), ConfigError> {
    let bad = |path: &[&str], message: String| ConfigError::Invalid {
        at: source.at(path),
        key: dotted(path),
        message,
    };

    let w = &config.worker;
    WorkerBuilder::check_queue(&w.queue).map_err(|e| bad(&["worker", "queue"], e.message))?;
    WorkerBuilder::check_concurrency(w.concurrency)
        .map_err(|e| bad(&["worker", "concurrency"], e.message))?;
    WorkerBuilder::check_shutdown_grace(w.shutdown_grace)
        .map_err(|e| bad(&["worker", "shutdown_grace"], e.message))?;
    WorkerBuilder::check_timeout(w.job_timeout)
        .map_err(|e| bad(&["worker", "job_timeout"], e.message))?;
    for (kind, timeout) in &w.timeouts {
        WorkerBuilder::check_timeout(*timeout)
            .map_err(|e| bad(&["worker", "timeouts", kind], e.message))?;
    }

    for (name, q) in &config.queues {
        WorkerBuilder::check_queue(name).map_err(|e| bad(&["queues", name], e.message))?;
        if let Some(n) = q.concurrency {
            WorkerBuilder::check_concurrency(n)
                .map_err(|e| bad(&["queues", name, "concurrency"], e.message))?;
        }
        if let Some(timeout) = q.job_timeout {
            WorkerBuilder::check_timeout(timeout)
                .map_err(|e| bad(&["queues", name, "job_timeout"], e.message))?;
        }
    }

    config
        .http_config()
        .check()
        .map_err(|e| bad(&["http", e.setting], e.message))?;
    AllowedBases::parse(&config.http.allowed_bases)
        .map_err(|e| bad(&["http", "allowed_bases"], e.to_string()))?;
    targets(config, source)?;

    config
        .store_options()
        .validate()
        .map_err(|e| bad(&["store", store_key(e.option)], e.message))?;

    if config.api.body_limit < MIN_BODY_LIMIT {
        return Err(bad(
            &["api", "body_limit"],
            format!("must be at least 1KiB, got {}", config.api.body_limit),
        ));
    }
    if let Some(message) = config.api.token.as_deref().and_then(token_problem) {
        return Err(bad(&["api", "token"], message));
    }
    let (shortest, longest) = crate::api::SESSION_LIFETIME_RANGE;
    if !(shortest..=longest).contains(&config.api.session_lifetime) {
        return Err(bad(
            &["api", "session_lifetime"],
            format!(
                "must be 1s to 30d, got {}",
                tenax_policies::format_duration(config.api.session_lifetime)
            ),
        ));
    }
    if let Some(read) = config.api.read_token.as_deref() {
        if let Some(message) = token_problem(read) {
            return Err(bad(&["api", "read_token"], message));
        }
        match config.api.token.as_deref() {
            None => {
                return Err(bad(
                    &["api", "read_token"],
                    "needs `api.token` too: without a token every client is an admin, so a \
                     read-only token would restrict nobody"
                        .into(),
                ));
            }
            Some(token) if token == read => {
                return Err(bad(
                    &["api", "read_token"],
                    "must differ from `api.token`".into(),
                ));
            }
            Some(_) => {}
        }
    }
    if !config.api.addr.ip().is_loopback() && config.api.token.is_none() {
        return Err(bad(
            &["api", "addr"],
            format!(
                "is {}, not loopback, so anyone who can reach it could enqueue and purge jobs; \
                 set `api.token` (or TENAX_API_TOKEN), or bind to 127.0.0.1",
                config.api.addr
            ),
        ));
    }
    // Compiled as the daemon loads it, so a missing file or a bad script is refused here
    // too; the message carries the script's own file, line and column.
    if let Some(path) = &config.policy_file {
        CompiledPolicy::load_file(path)
            .map_err(|e| bad(&["policy_file"], format!("does not load: {e}")))?;
    }
    for (name, queue) in &config.queues {
        if let Some(path) = &queue.policy_file {
            CompiledPolicy::load_file(path).map_err(|e| {
                bad(
                    &["queues", name, "policy_file"],
                    format!("does not load: {e}"),
                )
            })?;
        }
    }
    if let Err(e) = log_filter(&config.log.level) {
        return Err(bad(
            &["log", "level"],
            format!("{:?} is not a log filter: {e}", config.log.level),
        ));
    }
    let mut names = HashSet::new();
    for i in 0..config.schedules.len() {
        let s = schedule(config, i, source)?;
        if !names.insert(s.name) {
            let index = i.to_string();
            return Err(bad(
                &["schedules", &index, "name"],
                format!(
                    "{:?} names two schedules; names must be unique",
                    config.schedules[i].name
                ),
            ));
        }
    }
    Ok(())
}

/// The `i`th `[[schedules]]` entry, checked: a timing that parses, a job the daemon
/// would accept at enqueue.
pub(super) fn schedule(
    config: &Config,
    i: usize,
    source: &Source<'_>,
) -> Result<Schedule, ConfigError> {
    let s = &config.schedules[i];
    let index = i.to_string();
    let bad = |key: &str, message: String| {
        let path = ["schedules", index.as_str(), key];
        ConfigError::Invalid {
            at: source.at(&path),
            key: dotted(&path),
            message,
        }
    };
    // The name goes into each tick's dedup key, `schedule:<name>:<tick-ms>`.
    let longest = tenax_core::MAX_NAME_BYTES - "schedule::".len() - u64::MAX.to_string().len();
    if s.name.is_empty() || s.name.len() > longest || s.name.chars().any(char::is_control) {
        return Err(bad(
            "name",
            format!(
                "{:?} must be 1 to {longest} bytes without control characters",
                s.name
            ),
        ));
    }
    let (timing, timing_text) = match (&s.cron, s.every) {
        (Some(cron), None) => {
            let zone = s.timezone.as_deref().unwrap_or("UTC");
            let timing = Timing::cron(cron, zone).map_err(|(key, message)| bad(key, message))?;
            (timing, format!("cron {cron:?} ({zone})"))
        }
        (None, Some(every)) => {
            if s.timezone.is_some() {
                return Err(bad(
                    "timezone",
                    "applies to `cron` only; an `every` interval has no wall clock".into(),
                ));
            }
            let timing = Timing::every(every).map_err(|m| bad("every", m))?;
            (
                timing,
                format!("every {}", humantime::format_duration(every)),
            )
        }
        (Some(_), Some(_)) => return Err(bad("every", "give `cron` or `every`, not both".into())),
        (None, None) => {
            return Err(bad(
                "name",
                format!("schedule {:?} needs `cron` or `every`", s.name),
            ));
        }
    };
    let queue = s
        .queue
        .clone()
        .unwrap_or_else(|| config.worker.queue.clone());
    let served: Vec<String> = config.queue_plans().into_iter().map(|p| p.name).collect();
    if !served.contains(&queue) {
        return Err(bad(
            "queue",
            format!("is {queue:?}, but this daemon serves {served:?}"),
        ));
    }
    let payload = serde_json::to_vec(&s.payload).map_err(|e| bad("payload", e.to_string()))?;
    if s.kind == crate::daemon::HTTP_KIND {
        let request = HttpRequest::from_payload(&payload)
            .map_err(|e| bad("payload", format!("is not an HTTP job: {e}")))?;
        // Checked as the handler checks an enqueue: the allow-list with the targets'
        // bases, a target's own headers, the timeout's maximum.
        let http = HttpConfig {
            targets: targets(config, source)?,
            ..config.http_config()
        };
        let policy = LivePolicy::new(CompiledPolicy::default());
        let handler = HttpHandler::new(http, policy).map_err(|e| bad("payload", e.to_string()))?;
        handler
            .check(&request)
            .map_err(|e| bad("payload", e.to_string()))?;
    } else if !config.kinds.contains(&s.kind) {
        // An application kind's payload is checked by its handler when the daemon
        // starts; the handlers need the store, which a check does not open.
        let mut kinds = vec![crate::daemon::HTTP_KIND.to_owned()];
        kinds.extend(config.kinds.iter().cloned());
        return Err(bad(
            "kind",
            format!(
                "is {:?}; this daemon runs jobs of kind {}",
                s.kind,
                kinds
                    .iter()
                    .map(|k| format!("{k:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    Ok(Schedule {
        name: s.name.clone(),
        timing,
        timing_text,
        catch_up: s.catch_up,
        queue,
        kind: s.kind.clone(),
        payload,
    })
}

/// The `[[http.targets]]`, each with its headers' secret values; an error names the
/// base or the header (never a value).
pub(super) fn targets(
    config: &Config,
    source: &Source<'_>,
) -> Result<Vec<HttpTarget>, ConfigError> {
    let mut out: Vec<HttpTarget> = Vec::with_capacity(config.http.targets.len());
    for (i, t) in config.http.targets.iter().enumerate() {
        let index = i.to_string();
        let bad = |path: &[&str], message: String| {
            let path: Vec<&str> = ["http", "targets", index.as_str()]
                .into_iter()
                .chain(path.iter().copied())
                .collect();
            ConfigError::Invalid {
                at: source.at(&path),
                key: dotted(&path),
                message,
            }
        };
        let mut target = HttpTarget::new(&t.base).map_err(|e| bad(&["base"], e.to_string()))?;
        let place = |t: &HttpTarget| t.base().as_str().trim_end_matches('/').to_owned();
        if out.iter().any(|o| place(o) == place(&target)) {
            return Err(bad(
                &["base"],
                format!(
                    "{:?} is the base of an earlier target; give each base once",
                    t.base
                ),
            ));
        }
        for (name, secret) in &t.headers {
            target = target
                .header(name, secret.expose())
                .map_err(|e| bad(&["headers", name], e.to_string()))?;
        }
        out.push(target);
    }
    Ok(out)
}

/// The configuration key of a store option, where the two names differ.
fn store_key(option: &'static str) -> &'static str {
    match option {
        "min_free_bytes" => "min_free_space",
        other => other,
    }
}

/// Why `token` cannot be the API's token, if it cannot. A blank token would count as set
/// and match a blank credential; surrounding whitespace or a control character (a token
/// read from a file often ends with a newline) can never arrive in a header, so it would
/// lock every client out.
fn token_problem(token: &str) -> Option<String> {
    if token.trim().is_empty() {
        Some("must not be empty (leave it out for no token)".into())
    } else if token.trim() != token || token.chars().any(char::is_control) {
        Some("must not start or end with whitespace or hold control characters".into())
    } else {
        None
    }
}
