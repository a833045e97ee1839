//! Only URLs under an allowed base are ever requested, redirects included.

mod support;

use std::sync::atomic::Ordering;

use anyhow::Result;
use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use reqwest::Url;
use tenax_policies::ErrorClass;
use tenax_worker::Handler;
use tenax_worker::http::{AllowedBase, AllowedBases, HttpRequest};

use support::{counting_server, handler, run, serve};

#[test]
fn urls_are_compared_after_parsing() -> Result<()> {
    let table = [
        ("http://h/api", "http://h/api", true),
        ("http://h/api", "http://h/api/", true),
        ("http://h/api", "http://h/api/x?y=1#z", true),
        ("http://h/api/", "http://h/api", true),
        ("http://h/api", "http://h/apiary", false),
        ("http://h/api", "http://h/api/../admin", false),
        ("http://h/api", "http://h/api/%2e%2e/admin", false),
        ("http://h/api", "http://h/api/..%2Fadmin", false),
        ("http://h/api", "http://h/api/x/../y", true),
        ("http://h/api", "http://h/admin/../api/x", true),
        ("http://h/api", "http://h:8080/api", false),
        ("http://h/api", "http://h:80/api", true),
        ("http://h:80/api", "http://h/api", true),
        ("https://h/api", "https://h:443/api", true),
        ("http://h/api", "https://h/api", false),
        ("https://h/api", "http://h/api", false),
        ("http://h/api", "http://user:pw@h/api", false),
        ("http://h/api", "http://user@h/api", false),
        ("http://h/api", "http://H/API", false),
        ("http://h/api", "http://H/api/x", true),
        ("http://EXAMPLE.com", "http://example.com/x", true),
        ("http://127.0.0.1", "http://localhost/", false),
        ("http://localhost", "http://127.0.0.1/", false),
        ("http://127.0.0.1", "http://2130706433/", true),
        ("http://h", "http://h.evil.example/", false),
        ("http://h", "http://h/anything/at/all", true),
    ];
    for (base, url, allowed) in table {
        let base = AllowedBase::parse(base)?;
        assert_eq!(base.allows(&Url::parse(url)?), allowed, "{base} vs {url}");
    }
    Ok(())
}

#[test]
fn bad_bases_are_configuration_errors() {
    for base in [
        "ftp://h/",
        "file:///etc",
        "http://user:pw@h/",
        "http://h/?q=1",
        "http://h/#top",
        "not a url",
        "",
    ] {
        let err = AllowedBase::parse(base).expect_err(base);
        assert!(
            matches!(err, tenax_worker::Error::Config(_)),
            "{base}: {err}"
        );
        assert!(err.to_string().contains("allowed base URL"), "{err}");
    }
}

#[test]
fn an_empty_list_allows_nothing() -> Result<()> {
    let none = AllowedBases::parse(Vec::<String>::new())?;
    assert!(none.is_empty());
    assert!(!none.allows(&Url::parse("http://127.0.0.1/")?));
    let err = handler(&[])
        .validate(&HttpRequest::get("http://127.0.0.1/").to_payload())
        .expect_err("refused");
    assert!(err.message.contains("none are configured"), "{err}");
    Ok(())
}

#[tokio::test]
async fn a_url_outside_the_bases_is_never_requested() -> Result<()> {
    let (target, hits) = counting_server().await;
    let handler = handler(&[&format!("{target}/api")]);

    for url in [
        format!("{target}/apiary"),
        format!("{target}/api/../admin"),
        format!("{}/api", target.replace("127.0.0.1", "localhost")),
    ] {
        let payload = HttpRequest::get(&url).to_payload();
        let refused = handler.validate(&payload).expect_err("refused at enqueue");
        assert_eq!(refused.class, ErrorClass::PERMANENT);
        let err = run(&handler, payload).await.expect_err("refused at run");
        assert_eq!(err.class, ErrorClass::PERMANENT, "{url}");
        assert!(
            err.message.contains("outside the allowed base URLs"),
            "{err}"
        );
    }
    assert_eq!(hits.load(Ordering::SeqCst), 0);

    // The same server, under the base, is reached: the count measures something.
    run(
        &handler,
        HttpRequest::get(format!("{target}/api/x")).to_payload(),
    )
    .await
    .expect("allowed");
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    Ok(())
}

/// `/to?url=...` redirects there; `/loop` redirects to itself.
async fn redirecting_server() -> String {
    let router = Router::new()
        .route(
            "/to",
            get(
                |axum::extract::Query(q): axum::extract::Query<Vec<(String, String)>>| async move {
                    let target = q
                        .into_iter()
                        .find(|(k, _)| k == "url")
                        .map(|(_, v)| v)
                        .unwrap_or_default();
                    (StatusCode::FOUND, [(header::LOCATION, target)]).into_response()
                },
            ),
        )
        .route(
            "/loop",
            get(|| async { (StatusCode::FOUND, [(header::LOCATION, "/loop")]) }),
        )
        .route("/ok", get(|| async { "arrived" }));
    serve(router).await
}

#[tokio::test]
async fn redirects_are_followed_only_within_the_bases() -> Result<()> {
    let (outside, hits) = counting_server().await;
    let base = redirecting_server().await;
    let handler = handler(&[&base]);

    let inside = HttpRequest::get(format!("{base}/to?url={base}/ok"));
    run(&handler, inside.to_payload()).await.expect("followed");

    let away = HttpRequest::get(format!("{base}/to?url={outside}/secret"));
    let err = run(&handler, away.to_payload())
        .await
        .expect_err("not followed");
    assert_eq!((err.class, err.status), (ErrorClass::PERMANENT, Some(302)));
    assert_eq!(hits.load(Ordering::SeqCst), 0);

    let endless = HttpRequest::get(format!("{base}/loop"));
    let err = run(&handler, endless.to_payload())
        .await
        .expect_err("gave up");
    assert_eq!((err.class, err.status), (ErrorClass::PERMANENT, Some(302)));
    Ok(())
}
