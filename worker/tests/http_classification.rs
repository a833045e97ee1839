//! Every outcome of a request lands in the class of the built-in table, and a script's
//! `classify` function can change it.

mod support;

use std::time::Duration;

use anyhow::Result;
use axum::Router;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tenax_policies::{CompiledPolicy, ErrorClass, LivePolicy};
use tenax_worker::http::HttpRequest;
use tokio::net::TcpStream;

use support::{
    counting_server, handler, handler_with, raw_server, refused_base, run, serve, write_and_close,
};

/// Answers `/status/{code}` with that status, and `/away` with a redirect to `away`.
async fn status_server(away: String) -> String {
    let router =
        Router::new()
            .route(
                "/status/{code}",
                get(|Path(code): Path<u16>| async move {
                    let status = StatusCode::from_u16(code).expect("a valid status");
                    (status, format!("answered {code}"))
                }),
            )
            .route(
                "/away",
                get(move || async move {
                    (StatusCode::FOUND, [(header::LOCATION, away)]).into_response()
                }),
            );
    serve(router).await
}

#[tokio::test]
async fn statuses_follow_the_built_in_table() -> Result<()> {
    let (elsewhere, hits) = counting_server().await;
    let base = status_server(format!("{elsewhere}/target")).await;
    let handler = handler(&[&base]);

    let table: &[(u16, Option<ErrorClass>)] = &[
        (200, None),
        (201, None),
        (204, None),
        (404, Some(ErrorClass::NOT_FOUND)),
        (408, Some(ErrorClass::TRANSIENT)),
        (425, Some(ErrorClass::TRANSIENT)),
        (429, Some(ErrorClass::TRANSIENT)),
        (500, Some(ErrorClass::TRANSIENT)),
        (502, Some(ErrorClass::TRANSIENT)),
        (503, Some(ErrorClass::TRANSIENT)),
        (504, Some(ErrorClass::TRANSIENT)),
        (599, Some(ErrorClass::TRANSIENT)),
        (400, Some(ErrorClass::PERMANENT)),
        (401, Some(ErrorClass::PERMANENT)),
        (403, Some(ErrorClass::PERMANENT)),
        (409, Some(ErrorClass::PERMANENT)),
        (410, Some(ErrorClass::PERMANENT)),
        (422, Some(ErrorClass::PERMANENT)),
    ];
    for (code, expected) in table {
        let payload = HttpRequest::get(format!("{base}/status/{code}")).to_payload();
        let outcome = run(&handler, payload).await;
        match expected {
            None => assert!(outcome.is_ok(), "{code}: {outcome:?}"),
            Some(class) => {
                let err = outcome.expect_err("a failure");
                assert_eq!(&err.class, class, "{code}: {err}");
                assert_eq!(err.status, Some(*code), "{code}");
                assert!(
                    err.message.starts_with(&format!("HTTP {code}")),
                    "{}",
                    err.message
                );
            }
        }
    }

    // A redirect to a URL outside the bases is not followed: the 302 is the answer.
    let err = run(
        &handler,
        HttpRequest::get(format!("{base}/away")).to_payload(),
    )
    .await
    .expect_err("a failure");
    assert_eq!((err.class, err.status), (ErrorClass::PERMANENT, Some(302)));
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 0);
    Ok(())
}

/// A server that accepts, reads the request and never answers.
async fn silent_server() -> String {
    raw_server(|stream: TcpStream| async move {
        // Hold the connection open until the client gives up and closes it.
        let mut stream = stream;
        let _ = tokio::io::copy(&mut stream, &mut tokio::io::sink()).await;
    })
    .await
}

#[tokio::test]
async fn network_failures_follow_the_built_in_table() -> Result<()> {
    let refused = refused_base().await;
    let dns = "http://nonexistent.invalid".to_owned();
    let silent = silent_server().await;
    let closed = raw_server(|s| write_and_close(s, b"")).await;
    let cut = raw_server(|s| write_and_close(s, b"HTTP/1.1 200 OK\r\nContent-Le")).await;
    let handler = handler(&[&refused, &dns, &silent, &closed, &cut]);

    let table = [
        (&refused, "connect_refused", ErrorClass::UNAVAILABLE),
        (&dns, "dns", ErrorClass::UNAVAILABLE),
        (&silent, "timeout", ErrorClass::TRANSIENT),
        (&closed, "connection_reset", ErrorClass::TRANSIENT),
        (&cut, "connection_reset", ErrorClass::TRANSIENT),
    ];
    for (base, kind, class) in table {
        let request = HttpRequest::get(format!("{base}/x")).timeout(Duration::from_millis(200));
        let err = run(&handler, request.to_payload())
            .await
            .expect_err("a failure");
        assert!(
            err.message.contains(&format!("({kind})")),
            "{base}: {}",
            err.message
        );
        assert_eq!(err.class, class, "{base}: {}", err.message);
        assert_eq!(err.status, None);
    }
    Ok(())
}

#[tokio::test]
async fn a_script_classify_function_overrides_the_table() -> Result<()> {
    let script = r#"
        fn classify(input) {
            if input.status == 409 { return "transient"; }
            if input.status == 403 && input.message.contains("maintenance") { return "unavailable"; }
            if input.network == "connect_refused" { return "transient"; }
            ()
        }
        #{}
    "#;
    let policy = LivePolicy::new(CompiledPolicy::load_str(script, "t.rhai")?);
    let router = Router::new()
        .route(
            "/conflict",
            get(|| async { (StatusCode::CONFLICT, "busy") }),
        )
        .route(
            "/closed",
            get(|| async { (StatusCode::FORBIDDEN, "down for maintenance") }),
        )
        .route(
            "/forbidden",
            get(|| async { (StatusCode::FORBIDDEN, "no") }),
        );
    let base = serve(router).await;
    let refused = refused_base().await;
    let handler = handler_with(&[&base, &refused], policy);

    let table = [
        (format!("{base}/conflict"), ErrorClass::TRANSIENT),
        (format!("{base}/closed"), ErrorClass::UNAVAILABLE),
        (format!("{base}/forbidden"), ErrorClass::PERMANENT),
        (format!("{refused}/x"), ErrorClass::TRANSIENT),
    ];
    for (url, class) in table {
        let err = run(&handler, HttpRequest::get(&url).to_payload())
            .await
            .expect_err("a failure");
        assert_eq!(err.class, class, "{url}: {err}");
    }
    Ok(())
}

#[tokio::test]
async fn a_run_is_classified_with_the_policy_it_is_decided_with_not_a_fresh_load() -> Result<()> {
    let base = status_server(String::new()).await;
    // The handler's own policy (the built-in table: 503 is `transient`) is only for runs
    // made outside a worker or the harness.
    let handler = handler(&[&base]);
    let script = r#"
        fn classify(input) { if input.status == 503 { "permanent" } }
        #{}
    "#;
    let harness = tenax_worker::testing::Harness::new(CompiledPolicy::load_str(script, "t.rhai")?);
    let payload = HttpRequest::get(format!("{base}/status/503")).to_payload();
    let outcome = harness
        .run(handler, tenax_worker::JobRun::new("http", payload))
        .await;
    let tenax_worker::testing::TestOutcome::Buried { error, .. } = outcome else {
        panic!("classified `permanent` by the run's policy, so buried: {outcome:?}");
    };
    assert_eq!(error.class, ErrorClass::PERMANENT);
    Ok(())
}
