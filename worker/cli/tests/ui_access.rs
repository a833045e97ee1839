//! The dashboard behind tokens, in a real browser. A visit without a session lands on
//! the login form. The read-only token's session sees every screen with no control
//! that changes anything, and a change forced from its page (CSRF token and all) is
//! refused and changes nothing. An admin session in the same browser is not fooled by
//! a page of another origin. Signing out ends the session.

mod support;

use std::time::Duration;

use anyhow::Result;
use serde_json::{Value, json};
use support::browser::{Browser, DESKTOP, PHONE};
use support::daemon::{Daemon, eventually};
use support::media::Media;
use support::ui::{SHOWN, enqueue, foreign_page, open, tour};

const ADMIN: &str = "admin-token-for-the-browser";
const READ: &str = "read-token-for-the-browser";

/// Every control that changes something, on any screen.
const CONTROLS: &str = "#bulk-filter, #bulk-selected, #bulk-delete, input[data-id], #select-all, \
     [data-action], #purge-form, [data-requeue-class], #cancel-job, #requeue-job, #delete-job";

fn admin_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut headers = reqwest::header::HeaderMap::new();
    let bearer = format!("Bearer {ADMIN}").parse().expect("a header value");
    headers.insert(reqwest::header::AUTHORIZATION, bearer);
    reqwest::Client::builder()
        .no_proxy()
        .default_headers(headers)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("HTTP client")
}

/// Signs in on the login form with `token` and waits for the overview.
async fn sign_in(browser: &Browser, api: &str, token: &str) -> Result<()> {
    browser.goto(&format!("{api}/ui/")).await?;
    browser.wait_for_element("#token", SHOWN).await?;
    browser.type_into("#token", token).await?;
    browser.click("button[type=submit]").await?;
    browser
        .wait_for(
            "the overview after signing in",
            "return location.pathname === '/ui/' && Number(document.body.dataset.refreshes || 0) >= 1;",
            SHOWN,
        )
        .await?;
    Ok(())
}

/// Runs `fetch` in the page with the session's CSRF token; the answer's status.
async fn forced(
    browser: &Browser,
    method: &str,
    path: &str,
    body: &str,
    csrf: bool,
) -> Result<u64> {
    let status = browser
        .script(
            "const [method, path, body, csrf] = arguments; \
             return fetch('/ui/session').then(r => r.json()).then(s => fetch(path, { method, body, \
               headers: Object.assign({ 'Content-Type': 'application/json' }, csrf ? { 'X-CSRF-Token': s.csrf } : {}) })) \
             .then(r => r.status);",
            json!([method, path, body, csrf]),
        )
        .await?;
    Ok(status.as_u64().expect("a status"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_read_token_changes_nothing_and_a_foreign_page_cannot_use_a_session() -> Result<()> {
    let Some(browser) = Browser::start("ui_access").await else {
        return Ok(());
    };
    let media = Media::start().await;
    let client = admin_client();
    let daemon = Daemon::start(&format!(
        "[http]\nallowed_bases = [\"{}\"]\n[api]\naddr = \"127.0.0.1:0\"\ntoken = \"{ADMIN}\"\nread_token = \"{READ}\"\n",
        media.base
    ));
    let api = daemon.url.clone();
    let waiting = enqueue(
        &client,
        &api,
        json!({"kind": "http", "delay": "1h", "payload": {"url": format!("{}/ok/1", media.base)}}),
    )
    .await?;
    let mut dead = 0;
    for i in 0..3 {
        dead = enqueue(
            &client,
            &api,
            json!({"kind": "http", "payload": {"url": format!("{}/bad/{i}", media.base)}}),
        )
        .await?;
    }
    let stats = async || -> Value {
        client
            .get(format!("{api}/v1/stats"))
            .send()
            .await
            .expect("stats")
            .json()
            .await
            .expect("JSON")
    };
    eventually(Duration::from_secs(30), async || {
        (stats().await["total"]["dead"] == 3).then_some(())
    })
    .await;
    let before = stats().await["total"].clone();

    // No session: the login form, with the dashboard's style and security headers.
    for (size, label) in [(DESKTOP, "desktop"), (PHONE, "phone")] {
        browser.resize(size).await?;
        browser.goto(&format!("{api}/ui/queues")).await?;
        browser.wait_for_element("#token", SHOWN).await?;
        browser.screenshot(&format!("access-login-{label}")).await?;
    }
    browser.resize(DESKTOP).await?;
    let login = reqwest::Client::builder()
        .no_proxy()
        .build()?
        .get(format!("{api}/ui/login"))
        .send()
        .await?;
    let csp = login
        .headers()
        .get("content-security-policy")
        .map(|v| v.to_str().unwrap_or_default().to_owned());
    assert!(
        csp.is_some_and(|c| c.contains("default-src 'self'")),
        "the login form has the CSP"
    );

    // The read-only session: every screen, and no control that changes anything.
    sign_in(&browser, &api, READ).await?;
    let role = browser.script("return document.getElementById('role').hidden ? null : document.getElementById('role').textContent;", json!([])).await?;
    assert_eq!(role, "read-only");
    for path in [
        "/ui/".to_owned(),
        "/ui/jobs?state=dead".to_owned(),
        "/ui/jobs?state=waiting".to_owned(),
        "/ui/dead".to_owned(),
        "/ui/queues".to_owned(),
        "/ui/breaker".to_owned(),
        "/ui/policy".to_owned(),
        format!("/ui/jobs/{waiting}"),
        format!("/ui/jobs/{dead}"),
    ] {
        open(&browser, &api, &path).await?;
        let found = browser
            .script(
                "return Array.from(document.querySelectorAll(arguments[0])).map(e => e.outerHTML);",
                json!([CONTROLS]),
            )
            .await?;
        assert_eq!(
            found,
            json!([]),
            "{path} shows controls to the read-only token"
        );
    }
    tour(&browser, &api, "access-read", Some(dead)).await?;
    // Forced from the page, with the session's CSRF token: refused, nothing changed.
    assert_eq!(
        forced(&browser, "POST", "/v1/queues/default/pause", "{}", true).await?,
        403
    );
    assert_eq!(
        forced(
            &browser,
            "POST",
            "/v1/dead/requeue",
            r#"{"all": true}"#,
            true
        )
        .await?,
        403
    );
    assert_eq!(
        forced(&browser, "DELETE", &format!("/v1/jobs/{waiting}"), "", true).await?,
        403
    );
    assert_eq!(
        forced(&browser, "DELETE", "/v1/dead?older_than=0s", "", true).await?,
        403
    );
    let after = stats().await;
    assert_eq!(
        after["total"], before,
        "the read-only token changed something"
    );
    assert_eq!(after["queues"]["default"]["steering"]["paused"], false);

    // Signing out ends the session: the login form again, and the API refuses the cookie.
    browser.click("#logout").await?;
    browser.wait_for_element("#token", SHOWN).await?;
    let session = browser
        .script(
            "return fetch('/ui/session').then(r => r.status);",
            json!([]),
        )
        .await?;
    assert_eq!(session, 401);

    // An admin session: changes need the CSRF token; a foreign page gets nowhere.
    sign_in(&browser, &api, ADMIN).await?;
    assert_eq!(
        forced(&browser, "POST", "/v1/queues/default/pause", "{}", false).await?,
        403,
        "no CSRF token"
    );
    let elsewhere = foreign_page(&format!("{api}/v1/queues/default/pause")).await;
    browser.goto(&elsewhere).await?;
    browser.click("#go").await?;
    browser
        .wait_for(
            "the daemon's refusal",
            "return document.body && document.body.innerText.includes('cross_origin');",
            SHOWN,
        )
        .await?;
    assert_eq!(
        stats().await["queues"]["default"]["steering"]["paused"],
        false,
        "a foreign page used the session"
    );
    open(&browser, &api, "/ui/queues").await?;
    browser
        .click("[data-queue=default] [data-action=pause]")
        .await?;
    browser
        .wait_for(
            "the admin's pause",
            "return document.querySelector('[data-queue=default] [data-paused=true]') !== null;",
            SHOWN,
        )
        .await?;
    assert_eq!(
        stats().await["queues"]["default"]["steering"]["paused"],
        true
    );
    Ok(())
}
