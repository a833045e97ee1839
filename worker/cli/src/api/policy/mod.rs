//! `GET /v1/policy` (the live policy of the default or a named queue, with every class's
//! retry curve beside the Rust defaults) and `POST /v1/policy/check` (a draft script
//! checked in the same sandbox, never applied).

mod check;
mod curves;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use axum::Json;
use axum::extract::{RawQuery, State};
use serde::{Deserialize, Serialize};
use tenax_policies::{CheckReport, CompiledPolicy, LivePolicy};

pub(crate) use check::__path_check;
pub(crate) use check::check;
use curves::Shape;

use super::ApiState;
use super::body;
use super::error::{ApiError, ErrorBody};
use super::views::time;

/// Computed shapes by script fingerprint: a policy's curves are computed once, not on
/// every poll of the dashboard. Bounded; cleared when full.
#[derive(Clone, Default)]
pub(crate) struct ShapeCache(Arc<Mutex<HashMap<String, Arc<Shape>>>>);

const CACHED_SHAPES: usize = 32;
/// The cache key of the Rust defaults (no fingerprint looks like it).
const DEFAULTS_KEY: &str = "(rust defaults)";

impl ShapeCache {
    fn get_or_compute(&self, key: &str, compiled: &CompiledPolicy) -> Arc<Shape> {
        if let Some(shape) = self.lock().get(key) {
            return Arc::clone(shape);
        }
        let shape = Arc::new(Shape::of(compiled, Instant::now() + curves::TIME_BUDGET));
        // A curve cut short by the time budget may be complete next time.
        if !shape.classes().values().any(curves::ClassView::truncated) {
            let mut cache = self.lock();
            if cache.len() >= CACHED_SHAPES {
                cache.clear();
            }
            cache.insert(key.to_owned(), Arc::clone(&shape));
        }
        shape
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Shape>>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyQuery {
    queue: Option<String>,
}

/// Why the latest reload was rejected.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ReloadErrorView {
    /// The whole error, with `file:line:column` where known.
    message: String,
    /// 1-based line in the script, when known.
    line: Option<usize>,
    /// 1-based column, when known.
    column: Option<usize>,
    /// When the reload was rejected (RFC 3339).
    at: String,
}

/// The live policy.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct PolicyView {
    /// The queue asked for; `null` for the default policy file's.
    queue: Option<String>,
    version: u64,
    fingerprint: String,
    origin: String,
    /// Where it comes from: the policy file's path, or `built-in`.
    source: String,
    loaded_at: String,
    /// Why the latest reload failed; the running version stays in force.
    last_error: Option<String>,
    /// The same, with its line and time.
    last_reload_error: Option<ReloadErrorView>,
    /// Its classes with their curves, fallback class, breaker and rate limit.
    #[serde(flatten)]
    shape: Shape,
    /// The Rust defaults in the same form, to compare.
    defaults: Shape,
    /// The effective policy against the defaults, and the retry schedule per class
    /// (as `tenax policy check --json` prints it).
    #[schema(value_type = Object)]
    report: CheckReport,
}

/// The live policy: version, source, fingerprint, last reload error, and per class the
/// configured values and the delay before each retry (with the jitter band) beside the
/// Rust defaults. `queue` picks a queue with its own policy file.
#[utoipa::path(get, path = "/v1/policy", tag = "inspect",
    params(("queue" = Option<String>, Query, description = "A served queue; default: the daemon's policy file")),
    responses(
        (status = 200, description = "The policy", body = PolicyView),
        (status = 400, description = "A bad query", body = ErrorBody),
        (status = 404, description = "No such served queue", body = ErrorBody),
    ))]
pub(crate) async fn policy(
    State(state): State<ApiState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<PolicyView>, ApiError> {
    let q: PolicyQuery = body::query(raw.as_deref())?;
    let live: LivePolicy = match &q.queue {
        None => state.policy.clone(),
        Some(name) => match state.queues.get(name) {
            Some(served) => served.policy.clone(),
            None => {
                return Err(ApiError::not_found(format!(
                    "queue `{name}` is not served here; served: {}",
                    state.served_names()
                )));
            }
        },
    };
    let cache = state.shapes.clone();
    let view = tokio::task::spawn_blocking(move || view(q.queue, &live, &cache))
        .await
        .map_err(|err| {
            ApiError::new(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                format!("computing the policy's curves failed: {err}"),
            )
        })?;
    Ok(Json(view))
}

fn view(queue: Option<String>, live: &LivePolicy, cache: &ShapeCache) -> PolicyView {
    let status = live.status();
    let loaded = live.load();
    let shape = cache.get_or_compute(loaded.fingerprint(), &loaded);
    let defaults = cache.get_or_compute(DEFAULTS_KEY, &CompiledPolicy::default());
    PolicyView {
        queue,
        version: status.version,
        fingerprint: status.fingerprint,
        source: status.origin.clone(),
        origin: status.origin,
        loaded_at: time(tenax_core::Timestamp::from(status.loaded_at)),
        last_error: status.last_error,
        last_reload_error: status.last_failure.map(|f| ReloadErrorView {
            message: f.message,
            line: f.line,
            column: f.column,
            at: time(tenax_core::Timestamp::from(f.at)),
        }),
        shape: (*shape).clone(),
        defaults: (*defaults).clone(),
        report: CheckReport::new(&loaded),
    }
}
