//! Targets: a base URL with headers the handler adds at send time. The credential
//! reaches the downstream under the base and nowhere else, and a job cannot set it.

mod support;

use std::sync::{Arc, Mutex};

use anyhow::Result;
use axum::Router;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use tenax_policies::{CompiledPolicy, ErrorClass, LivePolicy};
use tenax_worker::Handler;
use tenax_worker::http::{HttpConfig, HttpHandler, HttpRequest, HttpTarget};

use support::{run, serve};

/// (path, the `X-Plex-Token` it carried) of every request.
type Seen = Arc<Mutex<Vec<(String, Option<String>)>>>;

/// Records each request's token; `/echo` answers 500 with the token in its body,
/// `/away?url=` redirects there, everything else answers 200.
async fn recording_server() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let log = Arc::clone(&seen);
    let router = Router::new().fallback(move |request: Request| {
        let log = Arc::clone(&log);
        async move {
            let token = request
                .headers()
                .get("x-plex-token")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let path = request.uri().path().to_owned();
            log.lock().expect("log").push((path.clone(), token.clone()));
            match path.as_str() {
                "/echo" => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("bad token {}", token.unwrap_or_default()),
                )
                    .into_response(),
                "/away" => {
                    let to = request.uri().query().unwrap_or_default();
                    let to = to.trim_start_matches("url=").to_owned();
                    (StatusCode::FOUND, [(header::LOCATION, to)]).into_response()
                }
                _ => "ok".into_response(),
            }
        }
    });
    (serve(router).await, seen)
}

fn handler(allowed: &[&str], targets: Vec<HttpTarget>) -> Result<HttpHandler> {
    let config = HttpConfig {
        allowed_bases: allowed.iter().map(|b| (*b).to_owned()).collect(),
        targets,
        ..HttpConfig::default()
    };
    Ok(HttpHandler::new(
        config,
        LivePolicy::new(CompiledPolicy::default()),
    )?)
}

fn target(base: &str, token: &str) -> Result<HttpTarget> {
    Ok(HttpTarget::new(base)?.header("X-Plex-Token", token)?)
}

fn tokens(seen: &Seen) -> Vec<(String, Option<String>)> {
    seen.lock().expect("log").clone()
}

#[tokio::test]
async fn a_target_header_is_added_under_its_base_and_the_longest_base_wins() -> Result<()> {
    let (base, seen) = recording_server().await;
    let handler = handler(
        &[],
        vec![
            target(&format!("{base}/"), "root-secret")?,
            target(&format!("{base}/library"), "library-secret")?,
        ],
    )?;
    for path in ["/identity", "/library/sections", "/libraryx"] {
        run(
            &handler,
            HttpRequest::get(format!("{base}{path}")).to_payload(),
        )
        .await
        .expect("delivered");
    }
    assert_eq!(
        tokens(&seen),
        vec![
            ("/identity".into(), Some("root-secret".into())),
            ("/library/sections".into(), Some("library-secret".into())),
            ("/libraryx".into(), Some("root-secret".into())),
        ]
    );
    Ok(())
}

#[tokio::test]
async fn a_url_under_no_target_gets_no_header_and_a_targets_base_is_allowed() -> Result<()> {
    let (plex, plex_seen) = recording_server().await;
    let (other, other_seen) = recording_server().await;
    // `other` is allowed but no target; `plex` is allowed only as a target's base.
    let handler = handler(&[&other], vec![target(&format!("{plex}/api"), "s3cret")?])?;
    run(
        &handler,
        HttpRequest::get(format!("{other}/api/x")).to_payload(),
    )
    .await
    .expect("delivered");
    run(
        &handler,
        HttpRequest::get(format!("{plex}/api/x")).to_payload(),
    )
    .await
    .expect("delivered");
    let refused = handler
        .validate(&HttpRequest::get(format!("{plex}/admin")).to_payload())
        .expect_err("outside the target's base");
    assert!(refused.message.contains("outside"), "{refused}");
    assert_eq!(tokens(&other_seen), vec![("/api/x".into(), None)]);
    assert_eq!(
        tokens(&plex_seen),
        vec![("/api/x".into(), Some("s3cret".into()))]
    );
    Ok(())
}

#[tokio::test]
async fn a_job_setting_a_target_header_is_refused_by_name_and_never_sends_its_own() -> Result<()> {
    let (base, seen) = recording_server().await;
    let handler = handler(&[], vec![target(&base, "configured-secret")?])?;
    let job = HttpRequest::get(format!("{base}/x")).header("x-PLEX-token", "job-value");
    let refused = handler
        .validate(&job.to_payload())
        .expect_err("the configuration sets it");
    assert_eq!(refused.class, ErrorClass::PERMANENT);
    assert!(refused.message.contains("x-PLEX-token"), "{refused}");
    assert!(!refused.message.contains("job-value"), "{refused}");
    assert!(!refused.message.contains("configured-secret"), "{refused}");

    // A job stored before the target existed still runs, with the configured value.
    run(&handler, job.to_payload()).await.expect("delivered");
    assert_eq!(
        tokens(&seen),
        vec![("/x".into(), Some("configured-secret".into()))]
    );
    Ok(())
}

#[tokio::test]
async fn a_redirect_out_of_the_target_is_not_followed_and_an_echo_is_scrubbed() -> Result<()> {
    let (plex, plex_seen) = recording_server().await;
    let (other, other_seen) = recording_server().await;
    let handler = handler(&[&other], vec![target(&plex, "s3cret")?])?;

    let away = HttpRequest::get(format!("{plex}/away?url={other}/collect"));
    let err = run(&handler, away.to_payload())
        .await
        .expect_err("not followed");
    assert_eq!((err.class, err.status), (ErrorClass::PERMANENT, Some(302)));
    assert!(
        tokens(&other_seen).is_empty(),
        "the credential left its target"
    );

    let within = HttpRequest::get(format!("{plex}/away?url={plex}/ok"));
    run(&handler, within.to_payload()).await.expect("followed");

    let err = run(
        &handler,
        HttpRequest::get(format!("{plex}/echo")).to_payload(),
    )
    .await
    .expect_err("500");
    assert_eq!(err.class, ErrorClass::TRANSIENT);
    assert!(err.message.contains("bad token ***"), "{err}");
    assert!(!err.message.contains("s3cret"), "{err}");
    assert!(
        tokens(&plex_seen)
            .iter()
            .all(|(_, t)| t.as_deref() == Some("s3cret"))
    );
    Ok(())
}

#[test]
fn a_target_never_shows_its_values() -> Result<()> {
    let config = HttpConfig {
        targets: vec![target("https://plex.local:32400/", "s3cret")?],
        ..HttpConfig::default()
    };
    let shown = format!("{config:?}");
    assert!(!shown.contains("s3cret"), "{shown}");
    assert!(shown.contains("x-plex-token"), "{shown}");
    Ok(())
}
