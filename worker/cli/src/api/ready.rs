//! `GET /readyz`: whether this daemon should get traffic, as opposed to `/healthz`,
//! which only says the process answers.
//!
//! Ready means all of:
//! - **the store takes writes**: the free space under the data directory is above the
//!   reserve (`store.min_free_space`), so an enqueue would be admitted;
//! - **the worker loop runs**: its task has not ended and no shutdown has begun. The
//!   loop sleeps while there is nothing to do (it is woken by the store, a timer, a
//!   reload or shutdown), so silence is not a fault; the loop only ends on shutdown or
//!   on a store error it cannot attribute to a job, and either makes the daemon unready;
//! - **a policy is loaded**. A rejected reload keeps the previous version in force, so it
//!   is reported (`last_error`) but does not make the daemon unready.
//!
//! Otherwise the answer is 503 with the reasons, so a probe's log says what is wrong.
//! Probes carry no token, so when a token is configured a request without it gets
//! generic reasons (`not writable`, `not loaded`) and no `last_error`: the details name
//! the data directory and quote the policy script. With the token, or with no token
//! configured (the API is then on loopback only), it gets the details.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::Serialize;

use super::ApiState;

/// Reads the store's free space against its reserve; the error says why it is short.
pub type SpaceCheck = Arc<dyn Fn() -> Result<(), String> + Send + Sync>;

/// What `/readyz` asks of the daemon beyond the policy. Cheap to clone.
#[derive(Clone)]
pub struct Readiness {
    space: SpaceCheck,
    worker_running: Arc<AtomicBool>,
    stopping: Arc<AtomicBool>,
}

impl Readiness {
    /// A probe that reads the store's space with `space`; the worker counts as running
    /// until [`Readiness::worker_ended`], and the daemon as serving until
    /// [`Readiness::stopping`].
    pub fn new(space: SpaceCheck) -> Self {
        Readiness {
            space,
            worker_running: Arc::new(AtomicBool::new(true)),
            stopping: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The worker loop's task has ended.
    pub fn worker_ended(&self) {
        self.worker_running.store(false, Ordering::SeqCst);
    }

    /// A shutdown has begun: stop sending traffic here.
    pub fn stopping(&self) {
        self.stopping.store(true, Ordering::SeqCst);
    }
}

/// One check's result.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Check {
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

impl Check {
    fn from(result: Result<(), String>) -> Self {
        match result {
            Ok(()) => Check {
                ok: true,
                reason: None,
            },
            Err(reason) => Check {
                ok: false,
                reason: Some(reason),
            },
        }
    }
}

/// The answer of `/readyz`.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ReadyView {
    /// `ready` or `not_ready`.
    #[schema(value_type = String)]
    status: &'static str,
    /// Why not, one line per failed check; empty when ready.
    reasons: Vec<String>,
    store: Check,
    worker: Check,
    policy: PolicyCheck,
}

#[derive(Serialize, utoipa::ToSchema)]
struct PolicyCheck {
    ok: bool,
    version: u64,
    /// The last rejected reload, if any; the running version stays in force.
    #[serde(skip_serializing_if = "Option::is_none")]
    last_error: Option<String>,
}

/// Readiness: store writable, worker loop running, policy loaded. No token needed; the
/// details (the store's error, the policy's last error) only with it.
#[utoipa::path(get, path = "/readyz", tag = "probes",
    responses(
        (status = 200, description = "Ready", body = ReadyView),
        (status = 503, description = "Not ready; `reasons` says why", body = ReadyView),
    ))]
pub(crate) async fn ready(
    State(state): State<ApiState>,
    headers: HeaderMap,
) -> (StatusCode, Json<ReadyView>) {
    let detailed = state
        .token
        .as_deref()
        .is_none_or(|token| super::auth::carries_token(&headers, token));
    let (store, worker) = match state.readiness.clone() {
        Some(r) => {
            let space = r.space.clone();
            let store = tokio::task::spawn_blocking(move || space())
                .await
                .unwrap_or_else(|e| Err(format!("the space check failed: {e}")));
            let worker = if r.stopping.load(Ordering::SeqCst) {
                Err("shutting down".to_owned())
            } else if !r.worker_running.load(Ordering::SeqCst) {
                Err("the worker loop has stopped".to_owned())
            } else {
                Ok(())
            };
            (store, worker)
        }
        None => (Ok(()), Ok(())),
    };
    let status = state.policy.status();
    let policy = PolicyCheck {
        ok: status.version > 0,
        version: status.version,
        last_error: status.last_error.filter(|_| detailed),
    };
    let store = store.map_err(|e| {
        if detailed {
            e
        } else {
            "not writable".to_owned()
        }
    });
    let mut reasons = Vec::new();
    if let Err(e) = &store {
        reasons.push(format!("store: {e}"));
    }
    if let Err(e) = &worker {
        reasons.push(format!("worker: {e}"));
    }
    if !policy.ok {
        reasons.push(
            if detailed {
                "policy: none is loaded"
            } else {
                "policy: not loaded"
            }
            .to_owned(),
        );
    }
    let ready = reasons.is_empty();
    let view = ReadyView {
        status: if ready { "ready" } else { "not_ready" },
        reasons,
        store: Check::from(store),
        worker: Check::from(worker),
        policy,
    };
    let code = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(view))
}
