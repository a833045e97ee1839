//! Reading the store directly when no daemon answers, for `tenax stats` and
//! `tenax job show|list` and `tenax dlq list|show`: the data directory, or the
//! PostgreSQL schema (under a node name of the CLI's own, so that a daemon running
//! elsewhere keeps its jobs).

use anyhow::{Result, bail};
use serde_json::{Value, json};
use std::sync::Arc;

use tenax_core::{
    DeadCursor, DeadFilter, Error, JobCursor, JobId, JobState, JobStore, ListState, Store,
    Timestamp,
};

use crate::cli::DeadFilterArgs;
use crate::commands::ListFilter;
use crate::config::Config;

/// Opens the store of a daemon that is not running; says so clearly when it is running
/// but its API does not answer.
fn open(config: &Config, addr: &str) -> Result<Arc<dyn JobStore>> {
    if config.store.backend == crate::config::BackendSetting::Postgres {
        let node = format!("tenax-cli-{}", std::process::id());
        let opened = crate::store::open_postgres(config, Some(node))?;
        eprintln!("(no daemon at {addr}: reading {} directly)", opened.place);
        return Ok(opened.store);
    }
    let dir = &config.data_dir;
    if !dir.exists() {
        bail!(
            "no tenax daemon answers at {addr}, and there is no data directory at {}",
            dir.display()
        );
    }
    match Store::open(dir, config.store_options()) {
        Ok(store) => {
            eprintln!("(no daemon at {addr}: reading {} directly)", dir.display());
            Ok(Arc::new(store))
        }
        Err(Error::Locked { pid, .. }) => bail!(
            "the daemon (pid {}) holds {} but its API at {addr} does not answer; \
             check the API address and that the daemon is healthy",
            pid.map_or_else(|| "unknown".to_owned(), |p| p.to_string()),
            dir.display()
        ),
        Err(err) => Err(err.into()),
    }
}

pub(crate) fn stats(config: &Config, addr: &str) -> Result<Value> {
    let store = open(config, addr)?;
    let mut stats = crate::api::stats_json(&store.stats()?);
    // The pause and run-time rate limit are stored: show them without a daemon too.
    for plan in config.queue_plans() {
        let controls = tenax_worker::QueueControl::read(&*store, &plan.name)?;
        let since = controls.paused.as_ref().map(|p| {
            let at = Timestamp::from_millis(p.since_ms).to_system_time();
            humantime::format_rfc3339_millis(at).to_string()
        });
        let rate = match controls.rate_override {
            Some(tenax_worker::RateOverride::Limit(limit)) => serde_json::to_value(limit)?,
            _ => Value::Null,
        };
        stats["queues"][&plan.name]["steering"] = json!({
            "name": plan.name,
            "paused": controls.paused.is_some(),
            "paused_reason": controls.paused.as_ref().and_then(|p| p.reason.clone()),
            "paused_since": since,
            "rate_limit": rate,
        });
    }
    Ok(stats)
}

pub(crate) fn dead_page(
    config: &Config,
    addr: &str,
    args: &DeadFilterArgs,
    limit: usize,
    cursor: Option<&str>,
) -> Result<Value> {
    let store = open(config, addr)?;
    let mut filter = DeadFilter::default();
    if let Some(q) = &args.queue {
        filter = filter.queue(q.clone());
    }
    if let Some(k) = &args.kind {
        filter = filter.kind(k.clone());
    }
    if let Some(c) = &args.class {
        filter = filter.class(c.clone());
    }
    if let Some(t) = &args.since {
        filter = filter.since(time(t)?);
    }
    if let Some(t) = &args.until {
        filter = filter.until(time(t)?);
    }
    let cursor = cursor.map(str::parse::<DeadCursor>).transpose()?;
    let page = store.dead_jobs(&filter, cursor, limit.clamp(1, 1000))?;
    let jobs: Vec<Value> = page
        .jobs
        .into_iter()
        .map(|j| crate::api::job_json(j, JobState::Dead))
        .collect();
    let mut answer = json!({ "jobs": jobs });
    if let Some(next) = page.next {
        answer["next"] = Value::String(next.to_string());
    }
    Ok(answer)
}

pub(crate) fn jobs_page(
    config: &Config,
    addr: &str,
    args: &ListFilter,
    limit: usize,
    cursor: Option<&str>,
) -> Result<Value> {
    let store = open(config, addr)?;
    let state: ListState = args.state.parse()?;
    let filter = crate::api::list_filter(
        state,
        args.queue.clone(),
        args.kind.clone(),
        args.class.clone(),
    );
    let cursor = cursor.map(str::parse::<JobCursor>).transpose()?;
    let page = store.jobs(&filter, cursor, limit.clamp(1, crate::api::MAX_LIST_PAGE))?;
    Ok(crate::api::jobs_page_json(page, state))
}

pub(crate) fn job(config: &Config, addr: &str, id: u64) -> Result<Value> {
    let store = open(config, addr)?;
    match store.job(JobId::new(id))? {
        Some((job, state)) => Ok(crate::api::job_json(job, state)),
        None => bail!("job {id} does not exist (it may have completed, or been purged)"),
    }
}

pub(crate) fn dead_job(config: &Config, addr: &str, id: u64) -> Result<Value> {
    let store = open(config, addr)?;
    match store.dead_job(JobId::new(id))? {
        Some(job) => Ok(crate::api::job_json(job, JobState::Dead)),
        None => bail!("job {id} is not in the dead letter queue"),
    }
}

fn time(text: &str) -> Result<Timestamp> {
    Ok(Timestamp::from(humantime::parse_rfc3339_weak(text.trim())?))
}
