//! A mock media server whose answer depends on the path, with an outage switch: for
//! tests that need jobs to fail in each class and a downstream to go down and come back.
//!
//! `/ok/...` answers 200, `/missing/...` 404 (class `not_found`), `/bad/...` 400
//! (`permanent`), `/down/...` 503 (`unavailable`); during an outage every path answers
//! 503.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use axum::Router;
use axum::http::StatusCode;

/// The mock server; cheap to clone.
#[derive(Clone)]
pub struct Media {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    outage: Arc<AtomicBool>,
    requests: Arc<AtomicUsize>,
}

impl Media {
    /// Starts one on a fresh loopback port.
    pub async fn start() -> Media {
        let outage = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(AtomicUsize::new(0));
        let (down, seen) = (Arc::clone(&outage), Arc::clone(&requests));
        let router = Router::new().fallback(move |uri: axum::http::Uri| {
            let (down, seen) = (Arc::clone(&down), Arc::clone(&seen));
            async move {
                seen.fetch_add(1, Ordering::SeqCst);
                let path = uri.path();
                if down.load(Ordering::SeqCst) || path.starts_with("/down/") {
                    (StatusCode::SERVICE_UNAVAILABLE, "down for maintenance")
                } else if path.starts_with("/missing/") {
                    (StatusCode::NOT_FOUND, "item not scanned yet")
                } else if path.starts_with("/bad/") {
                    (StatusCode::BAD_REQUEST, "no such library section")
                } else {
                    (StatusCode::OK, "ok")
                }
            }
        });
        let base = super::serve(router).await;
        Media {
            base,
            outage,
            requests,
        }
    }

    /// Starts (`true`) or ends an outage.
    pub fn outage(&self, down: bool) {
        self.outage.store(down, Ordering::SeqCst);
    }

    /// Requests received so far.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}
