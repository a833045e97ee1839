//! The mock downstream of the multi-host test: it records every delivery of every job,
//! with the host that made it (by source address) and when it ran, from the request's
//! arrival to the answer (or to the connection's end, when the host died or was cut
//! off mid-request). While `outage` is set it answers 503. A delivery to
//! `/deliver/N?hold_ms=M` takes `M` ms instead of the usual hold.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::StatusCode;
use axum::routing::post;

/// One request for one job.
#[derive(Clone, Debug)]
pub struct Delivery {
    /// The job's number (the producer's, in its URL).
    pub n: u64,
    /// The source address.
    pub from: IpAddr,
    pub start: Instant,
    /// `None` while it runs.
    pub end: Option<Instant>,
    /// Taken as a success (not during an outage).
    pub ok: bool,
    /// Its answer was ready (the hold ran out); `false` while it runs, or when the
    /// connection closed first.
    pub answered: bool,
}

#[derive(Default)]
struct Shared {
    deliveries: Mutex<Vec<Delivery>>,
    outage: AtomicBool,
}

/// The running mock.
#[derive(Clone)]
pub struct Downstream {
    shared: Arc<Shared>,
    /// `http://ADDR:PORT`
    pub base: String,
    hold: Duration,
}

/// Marks its delivery ended when dropped: at the answer, or when the connection closed
/// under it.
struct Ends {
    shared: Arc<Shared>,
    index: usize,
    answered: bool,
}

impl Drop for Ends {
    fn drop(&mut self) {
        let mut all = self.shared.deliveries.lock().expect("deliveries");
        all[self.index].end = Some(Instant::now());
        all[self.index].answered = self.answered;
    }
}

impl Downstream {
    /// Listens on `addr`; each delivery takes `hold` before its answer.
    pub async fn start(addr: SocketAddr, hold: Duration) -> Downstream {
        let shared = Arc::new(Shared::default());
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .expect("bind the downstream");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let me = Downstream { shared, base, hold };
        let router = Router::new()
            .route("/deliver/{n}", post(deliver))
            .with_state(me.clone());
        tokio::spawn(async move {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
        });
        me
    }

    pub fn set_outage(&self, down: bool) {
        self.shared.outage.store(down, Ordering::SeqCst);
    }

    pub fn deliveries(&self) -> Vec<Delivery> {
        self.shared.deliveries.lock().expect("deliveries").clone()
    }
}

async fn deliver(
    State(me): State<Downstream>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(n): Path<u64>,
    Query(query): Query<std::collections::HashMap<String, u64>>,
) -> StatusCode {
    let ok = !me.shared.outage.load(Ordering::SeqCst);
    let index = {
        let mut all = me.shared.deliveries.lock().expect("deliveries");
        all.push(Delivery {
            n,
            from: peer.ip(),
            start: Instant::now(),
            end: None,
            ok,
            answered: false,
        });
        all.len() - 1
    };
    let mut ends = Ends {
        shared: me.shared.clone(),
        index,
        answered: false,
    };
    if !ok {
        ends.answered = true;
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    let hold = query
        .get("hold_ms")
        .map_or(me.hold, |ms| Duration::from_millis(*ms));
    tokio::time::sleep(hold).await;
    ends.answered = true;
    StatusCode::OK
}
