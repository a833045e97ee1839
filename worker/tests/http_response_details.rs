//! What a failed response leaves in the error: its `Retry-After` hint, and a bounded
//! snippet of its body in the message.

mod support;

use std::time::{Duration, SystemTime};

use anyhow::Result;
use axum::Router;
use axum::http::{StatusCode, header};
use axum::routing::get;
use tenax_policies::{CompiledPolicy, LivePolicy};
use tenax_worker::http::{HttpConfig, HttpHandler, HttpRequest};

use support::{run, serve};

#[tokio::test]
async fn retry_after_is_honoured_in_both_forms() -> Result<()> {
    let router = Router::new()
        .route(
            "/seconds",
            get(|| async {
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    [(header::RETRY_AFTER, "7")],
                    "slow down",
                )
            }),
        )
        .route(
            "/dated",
            get(|| async {
                // Measured from the response's own Date: exactly 30 s, whatever our clock says.
                let headers = [
                    (header::DATE, "Sun, 06 Nov 1994 08:49:07 GMT"),
                    (header::RETRY_AFTER, "Sun, 06 Nov 1994 08:49:37 GMT"),
                ];
                (StatusCode::SERVICE_UNAVAILABLE, headers, "maintenance")
            }),
        )
        .route(
            "/undated",
            get(|| async {
                let at = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(120));
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    [(header::RETRY_AFTER, at)],
                    "",
                )
            }),
        )
        .route(
            "/garbage",
            get(|| async {
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    [(header::RETRY_AFTER, "soon")],
                    "",
                )
            }),
        );
    let base = serve(router).await;
    let handler = support::handler(&[&base]);
    let fail = |path: &str| {
        let payload = HttpRequest::get(format!("{base}{path}")).to_payload();
        let handler = handler.clone();
        async move { run(&handler, payload).await.expect_err("a failure") }
    };

    let seconds = fail("/seconds").await;
    assert_eq!(seconds.retry_after, Some(Duration::from_secs(7)));
    assert_eq!(seconds.status, Some(429));

    assert_eq!(
        fail("/dated").await.retry_after,
        Some(Duration::from_secs(30))
    );

    // The server stamps its own Date (to the second), so allow for a second either way.
    let undated = fail("/undated").await.retry_after.expect("a hint");
    assert!((119..=121).contains(&undated.as_secs()), "{undated:?}");

    assert_eq!(fail("/garbage").await.retry_after, None);
    Ok(())
}

/// A handler allowing `base` whose snippets are `snippet_bytes` long.
fn handler_with_snippet(base: &str, snippet_bytes: usize) -> HttpHandler {
    let config = HttpConfig {
        allowed_bases: vec![base.to_owned()],
        snippet_bytes,
        ..HttpConfig::default()
    };
    HttpHandler::new(config, LivePolicy::new(CompiledPolicy::default())).expect("valid config")
}

#[tokio::test]
async fn the_body_snippet_is_collapsed_and_cut_to_snippet_bytes() -> Result<()> {
    let router = Router::new()
        .route(
            "/short",
            get(|| async {
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "  upstream\n\n  is   down \n",
                )
            }),
        )
        .route(
            "/huge",
            // 1 MiB of error page: only the start is read.
            get(|| async { (StatusCode::BAD_GATEWAY, "x".repeat(1 << 20)) }),
        );
    let base = serve(router).await;
    let handler = handler_with_snippet(&base, 16);

    let short = run(
        &handler,
        HttpRequest::get(format!("{base}/short")).to_payload(),
    )
    .await
    .expect_err("a failure");
    assert_eq!(
        short.message,
        "HTTP 503 Service Unavailable: upstream is down"
    );

    let huge = run(
        &handler,
        HttpRequest::get(format!("{base}/huge")).to_payload(),
    )
    .await
    .expect_err("a failure");
    assert_eq!(
        huge.message,
        format!("HTTP 502 Bad Gateway: {}…", "x".repeat(16))
    );
    Ok(())
}

#[tokio::test]
async fn a_large_successful_body_is_not_a_failure() -> Result<()> {
    let router = Router::new().route("/big", get(|| async { "y".repeat(4 << 20) }));
    let base = serve(router).await;
    let handler = support::handler(&[&base]);
    let outcome = run(
        &handler,
        HttpRequest::get(format!("{base}/big")).to_payload(),
    )
    .await;
    assert!(outcome.is_ok(), "{outcome:?}");
    Ok(())
}
