//! A counting mock downstream: answers 200 to everything and records when each request
//! arrived, so tests check deliveries (and their spacing) where the downstream sees them.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use tokio::sync::Notify;

/// Arrival times of the requests a [`Downstream`] received.
#[derive(Clone)]
pub struct Downstream {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    arrivals: Arc<Mutex<Vec<(Instant, String)>>>,
    arrived: Arc<Notify>,
}

impl Downstream {
    /// Starts one on a fresh loopback port.
    pub async fn start() -> Downstream {
        let arrivals = Arc::new(Mutex::new(Vec::new()));
        let arrived = Arc::new(Notify::new());
        let (seen, wake) = (Arc::clone(&arrivals), Arc::clone(&arrived));
        let router = Router::new().fallback(move |uri: axum::http::Uri| {
            let (seen, wake) = (Arc::clone(&seen), Arc::clone(&wake));
            async move {
                let at = Instant::now();
                seen.lock()
                    .expect("arrivals")
                    .push((at, uri.path().to_owned()));
                wake.notify_waiters();
                "ok"
            }
        });
        let base = super::serve(router).await;
        Downstream {
            base,
            arrivals,
            arrived,
        }
    }

    /// Requests received so far.
    pub fn count(&self) -> usize {
        self.arrivals.lock().expect("arrivals").len()
    }

    /// When each request arrived, in order.
    pub fn arrivals(&self) -> Vec<Instant> {
        let seen = self.arrivals.lock().expect("arrivals");
        seen.iter().map(|(at, _)| *at).collect()
    }

    /// The path of each request, in the order they arrived.
    pub fn paths(&self) -> Vec<String> {
        let seen = self.arrivals.lock().expect("arrivals");
        seen.iter().map(|(_, path)| path.clone()).collect()
    }

    /// Waits until `n` requests have arrived; panics after `limit`.
    pub async fn wait_for(&self, n: usize, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let notified = self.arrived.notified();
            if self.count() >= n {
                return;
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            assert!(
                !left.is_zero(),
                "{} of {n} requests arrived within {limit:?}",
                self.count()
            );
            let _ = tokio::time::timeout(left.min(Duration::from_millis(100)), notified).await;
        }
    }
}
