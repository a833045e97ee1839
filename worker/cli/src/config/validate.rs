//! The one validation of a configuration, shared by `tenax config check` and `tenax run`.
//!
//! Each bound belongs to the library that uses the value: the worker builder's checks,
//! [`HttpConfig::check`](tenax_worker::http::HttpConfig::check), the allowed-base parser
//! and [`StoreOptions::validate`](tenax_core::StoreOptions::validate). This module asks
//! them and maps each answer to the key that holds the value. Only the binary's own
//! settings (the API's address, token and body limit, the log filter) are checked here,
//! and the policy file is compiled by the function the daemon loads it with.

use tenax_policies::CompiledPolicy;
use tenax_worker::WorkerBuilder;
use tenax_worker::http::AllowedBases;

use super::parse::Source;
use super::{Config, ConfigError, log_filter};

/// The smallest API body limit: 1 KiB, below which no batch enqueue fits.
const MIN_BODY_LIMIT: u64 = 1024;

/// Everything `tenax run` would refuse about `config`, the first problem found.
pub(super) fn validate(config: &Config, source: &Source<'_>) -> Result<(), ConfigError> {
    let bad = |path: &[&str], message: String| ConfigError::Invalid {
        at: source.at(path),
        key: path.join("."),
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

    config
        .http_config()
        .check()
        .map_err(|e| bad(&["http", e.setting], e.message))?;
    AllowedBases::parse(&config.http.allowed_bases)
        .map_err(|e| bad(&["http", "allowed_bases"], e.to_string()))?;

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
    if let Err(e) = log_filter(&config.log.level) {
        return Err(bad(
            &["log", "level"],
            format!("{:?} is not a log filter: {e}", config.log.level),
        ));
    }
    Ok(())
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
