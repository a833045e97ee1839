//! A mock downstream that answers as each request's path says: `/status/CODE/TEXT`
//! answers CODE with the body TEXT, and `/switch` answers 503 while the switch is down
//! and 200 once it is up, so a test can stage an outage and its end.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::http::{StatusCode, Uri};

/// A downstream whose answers the request paths choose.
#[derive(Clone)]
pub struct Scripted {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    up: Arc<AtomicBool>,
}

impl Scripted {
    /// Starts one on a fresh loopback port, with the switch down.
    pub async fn start() -> Scripted {
        let up = Arc::new(AtomicBool::new(false));
        let switch = Arc::clone(&up);
        let router = Router::new().fallback(move |uri: Uri| {
            let up = switch.load(Ordering::SeqCst);
            async move { answer(uri.path(), up) }
        });
        let base = super::serve(router).await;
        Scripted { base, up }
    }

    /// Makes `/switch` answer 200 (`true`) or 503 (`false`).
    pub fn set_up(&self, up: bool) {
        self.up.store(up, Ordering::SeqCst);
    }

    /// The URL answering `code` with `text`.
    pub fn status_url(&self, code: u16, text: &str) -> String {
        format!("{}/status/{code}/{text}", self.base)
    }

    /// The URL of the switch.
    pub fn switch_url(&self) -> String {
        format!("{}/switch", self.base)
    }
}

fn answer(path: &str, up: bool) -> (StatusCode, String) {
    if path == "/switch" {
        return if up {
            (StatusCode::OK, "ok".into())
        } else {
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "down for maintenance".into(),
            )
        };
    }
    let mut parts = path.trim_start_matches("/status/").splitn(2, '/');
    let code = parts.next().and_then(|c| c.parse::<u16>().ok());
    let text = parts.next().unwrap_or("").replace("%20", " ");
    match code.and_then(|c| StatusCode::from_u16(c).ok()) {
        Some(status) => (status, text),
        None => (StatusCode::OK, "ok".into()),
    }
}
