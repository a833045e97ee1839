//! Shared set-up for the `tenax` binary's integration tests: a real daemon process, an
//! HTTP client for its API, and loopback servers for it to deliver to.

#![allow(dead_code, unreachable_pub)]

pub mod app;
pub mod browser;
pub mod daemon;
pub mod downstream;
pub mod harness;
pub mod media;
pub mod scripted;
pub mod ui;

use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;

/// A plain HTTP client for talking to a daemon's API in tests.
pub fn api_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("HTTP client")
}

/// Serves `router` on a fresh loopback port; returns `http://127.0.0.1:<port>`.
pub async fn serve(router: Router) -> String {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let base = format!("http://{}", listener.local_addr().expect("local address"));
    tokio::spawn(async move { axum::serve(listener, router).await });
    base
}
