//! The mock downstream: a media server with every failure the original tool met.
//!
//! `POST /items/{n}/refresh` asks the server to refresh item `n`. Which items misbehave
//! is drawn once from the seed ([`Plan`]); how they misbehave never depends on wall
//! time alone, so the demo's test sees the same story on a slow machine:
//!
//! - a few items are bad for good: `400` every time (`permanent`, dead at once);
//! - some items are not scanned yet: `404` on their first request and until
//!   `scan_delay` has passed since it (`not_found`, retried without blaming the server);
//! - a few items are busy once: `503` with `Retry-After: 1` on their first request
//!   (`transient`). Fewer than the breaker's threshold, so they alone cannot open it;
//! - after `outage_after` responses the server goes away: the listener is closed, so
//!   connections are refused (`unavailable`), and `outage_for` later the same port is
//!   bound again. The outage starts on a response count, not a clock, so it always
//!   lands while plenty of jobs are still waiting.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use tokio::net::TcpListener;
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::plan::Plan;

/// How the mock behaves over time.
#[derive(Clone, Copy, Debug)]
pub(crate) struct MockTiming {
    /// How long each request takes to answer (the server's "work").
    pub(crate) latency: Duration,
    /// How long an unscanned item answers `404` after its first request.
    pub(crate) scan_delay: Duration,
    /// Responses served before the outage starts.
    pub(crate) outage_after: u64,
    /// How long the port refuses connections.
    pub(crate) outage_for: Duration,
}

/// The running mock. Dropping it stops the server.
pub(crate) struct Downstream {
    addr: SocketAddr,
    outage: Arc<Mutex<Option<Duration>>>,
    task: JoinHandle<()>,
}

impl Downstream {
    /// Binds `127.0.0.1:0` and serves `plan`. Milestones (outage start and end) are sent
    /// to `notes` as lines for people.
    pub(crate) async fn start(
        plan: Plan,
        timing: MockTiming,
        notes: mpsc::UnboundedSender<String>,
    ) -> anyhow::Result<Downstream> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mock {
            plan,
            timing,
            served: AtomicU64::new(0),
            items: Mutex::new(Items::default()),
            go_down: Notify::new(),
            went_down: OnceLock::new(),
        });
        let outage = Arc::new(Mutex::new(None));
        let task = tokio::spawn(supervise(listener, state, Arc::clone(&outage), notes));
        Ok(Downstream { addr, outage, task })
    }

    /// The base URL jobs call, e.g. `http://127.0.0.1:41234`.
    pub(crate) fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// How long the port refused connections, once the outage is over.
    pub(crate) fn outage(&self) -> Option<Duration> {
        *self.outage.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Downstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The server's state, shared by its request handlers.
struct Mock {
    plan: Plan,
    timing: MockTiming,
    served: AtomicU64,
    items: Mutex<Items>,
    /// Notified once, by the response that reaches `outage_after`.
    go_down: Notify,
    /// When that response was served: the outage's start.
    went_down: OnceLock<Instant>,
}

#[derive(Default)]
struct Items {
    first_seen: HashMap<u32, Instant>,
    was_busy: HashSet<u32>,
}

/// Serves until the outage, refuses connections for its length, then serves again on
/// the same port until dropped.
async fn supervise(
    listener: TcpListener,
    state: Arc<Mock>,
    outage: Arc<Mutex<Option<Duration>>>,
    notes: mpsc::UnboundedSender<String>,
) {
    let addr = listener.local_addr().ok();
    let app = Router::new()
        .route("/items/{n}/refresh", post(refresh))
        .with_state(Arc::clone(&state));
    let signal = {
        let (state, notes) = (Arc::clone(&state), notes.clone());
        async move {
            state.go_down.notified().await;
            let _ = notes.send(format!(
                "downstream: OUTAGE begins ({} s): the listener is closed, connections are refused",
                state.timing.outage_for.as_secs()
            ));
        }
    };
    // NOTE: graceful shutdown drops the listener as soon as the signal fires (so new
    // connections are refused at once) and closes idle keep-alive connections, so the
    // worker's pooled connections cannot slip past the outage. It returns once the
    // requests in flight have been answered.
    let serving = axum::serve(listener, app.clone()).with_graceful_shutdown(signal);
    if serving.await.is_err() {
        return;
    }
    let Some(addr) = addr else { return };
    let down_at = state.went_down.get().copied().unwrap_or_else(Instant::now);
    let remaining = state.timing.outage_for.saturating_sub(down_at.elapsed());
    tokio::time::sleep(remaining).await;
    let Some(listener) = rebind(addr).await else {
        let _ = notes.send(format!("downstream: could not bind {addr} again"));
        return;
    };
    let lasted = down_at.elapsed();
    *outage.lock().unwrap_or_else(PoisonError::into_inner) = Some(lasted);
    let _ = notes.send(format!(
        "downstream: back up on {addr} after {:.1} s",
        lasted.as_secs_f64()
    ));
    let _ = axum::serve(listener, app).await;
}

/// Binds `addr` again; the port may linger for a moment, so retry for a few seconds.
/// (tokio sets `SO_REUSEADDR` on Unix, so connections in `TIME_WAIT` do not block it.)
async fn rebind(addr: SocketAddr) -> Option<TcpListener> {
    for _ in 0..50 {
        if let Ok(listener) = TcpListener::bind(addr).await {
            return Some(listener);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

/// `POST /items/{n}/refresh`.
async fn refresh(State(mock): State<Arc<Mock>>, Path(n): Path<u32>) -> Response {
    tokio::time::sleep(mock.timing.latency).await;
    let response = mock.answer(n);
    let served = mock.served.fetch_add(1, Ordering::SeqCst) + 1;
    if served == mock.timing.outage_after {
        let _ = mock.went_down.set(Instant::now());
        mock.go_down.notify_one();
    }
    response
}

impl Mock {
    fn answer(&self, n: u32) -> Response {
        if self.plan.bad.contains(&n) {
            let body = format!("item {n}: metadata rejected (malformed guid)");
            return (StatusCode::BAD_REQUEST, body).into_response();
        }
        let mut items = self.items.lock().unwrap_or_else(PoisonError::into_inner);
        if self.plan.unscanned.contains(&n) {
            let first = *items.first_seen.entry(n).or_insert_with(Instant::now);
            if first.elapsed() < self.timing.scan_delay {
                let body = format!("item {n} not found: library scan pending");
                return (StatusCode::NOT_FOUND, body).into_response();
            }
        }
        if self.plan.busy.contains(&n) && items.was_busy.insert(n) {
            let body = format!("item {n}: server busy, try again");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, "1")],
                body,
            )
                .into_response();
        }
        let body = format!("{{\"item\":{n},\"refreshed\":true}}");
        ([(header::CONTENT_TYPE, "application/json")], body).into_response()
    }
}
