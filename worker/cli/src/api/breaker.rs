//! `GET /v1/breaker`: every served queue's circuit breaker, with what the dashboard
//! shows beside its state: seconds to the next probe, the recovery ramp's rate now, and
//! the outages of the last day.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use tenax_core::Timestamp;
use tenax_worker::BreakerView;

use super::activity::Outage;
use super::{ApiState, ServedQueue};

/// One queue's breaker.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct QueueBreaker {
    /// The breaker as the worker publishes it (times in Unix milliseconds): `queue`,
    /// `state` (`closed`, `open`, `half_open`), `consecutive_failures`,
    /// `failure_threshold`, `openings`, `opened_at_ms`, `probe_at_ms`,
    /// `probes_in_flight`, `closed_at_ms`.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    view: BreakerView,
    /// While open: seconds until the next probe may start (0 once it may).
    probe_in_secs: Option<f64>,
    /// While the recovery ramp runs after an outage: the claims per second it allows now.
    ramp_rate_per_sec: Option<f64>,
    /// Outages that overlap the last 24 hours, oldest first.
    outages: Vec<Outage>,
}

/// Every served queue's breaker, and the default queue's at the top level (the form
/// from before several queues).
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct BreakersView {
    #[serde(flatten)]
    #[schema(value_type = Object)]
    default: Option<QueueBreaker>,
    queues: Vec<QueueBreaker>,
}

/// The circuit breakers (times in Unix milliseconds): the default queue's fields, and
/// `queues` with every served queue's, each with its outages of the last day.
#[utoipa::path(get, path = "/v1/breaker", tag = "inspect",
    responses((status = 200, description = "The breakers", body = BreakersView)))]
pub(crate) async fn breaker(State(state): State<ApiState>) -> Json<BreakersView> {
    let now = state.store.now();
    let queues: Vec<QueueBreaker> = state
        .queues
        .values()
        .map(|q| view(&state, q, now))
        .collect();
    let default = state.queues.get(&state.queue).map(|q| view(&state, q, now));
    Json(BreakersView { default, queues })
}

fn view(state: &ApiState, served: &ServedQueue, now: Timestamp) -> QueueBreaker {
    let view = served.breaker.borrow().clone();
    let now_ms = now.as_millis();
    let probe_in_secs = view
        .probe_at_ms
        .map(|at| at.saturating_sub(now_ms) as f64 / 1000.0);
    let ramp = served.policy.load().policy().breaker().ramp;
    let ramp_rate_per_sec = match (ramp, view.closed_at_ms) {
        (Some(ramp), Some(closed)) if view.state == tenax_worker::BreakerState::Closed => {
            ramp.rate_at(now.since(Timestamp::from_millis(closed)))
        }
        _ => None,
    };
    let outages = state.activity.outages(&view.queue, now_ms);
    QueueBreaker {
        view,
        probe_in_secs,
        ramp_rate_per_sec,
        outages,
    }
}
