//! Shared steps of the dashboard's browser tests: opening a screen and waiting until it
//! shows the API's data, and the tour that photographs every screen at desktop and
//! phone width.

use std::time::Duration;

use anyhow::Result;
use serde_json::{Value, json};

use super::browser::{Browser, DESKTOP, PHONE};

/// How long a screen may take to show its data, or a change to show on it.
pub const SHOWN: Duration = Duration::from_secs(15);

/// Every screen: a name for its screenshots and its path (the job detail's is given
/// to [`tour`]).
pub const SCREENS: &[(&str, &str)] = &[
    ("overview", "/ui/"),
    ("jobs", "/ui/jobs?state=retrying"),
    ("dead", "/ui/dead"),
    ("queues", "/ui/queues"),
    ("breaker", "/ui/breaker"),
    ("policy", "/ui/policy"),
];

/// Opens `path` of the daemon at `base` and waits until the screen has drawn the
/// API's answer once.
pub async fn open(browser: &Browser, base: &str, path: &str) -> Result<()> {
    browser.goto(&format!("{base}{path}")).await?;
    browser
        .wait_for(
            &format!("{path} shows its data"),
            "return Number(document.body.dataset.refreshes || 0) >= 1;",
            SHOWN,
        )
        .await?;
    browser.assert_no_page_errors(path).await
}

/// Photographs every screen (and the job detail of `job`) at desktop and phone
/// width as `PREFIX-SCREEN-desktop.png` / `-phone.png`, failing on a page error; then
/// returns to the desktop width. Returns each page's text and HTML, for checks that
/// cover every screen.
pub async fn tour(
    browser: &Browser,
    base: &str,
    prefix: &str,
    job: Option<u64>,
) -> Result<Vec<(String, String)>> {
    let detail = job.map(|id| format!("/ui/jobs/{id}"));
    let mut screens: Vec<(&str, &str)> = SCREENS.to_vec();
    if let Some(path) = &detail {
        screens.push(("job", path));
    }
    let mut pages = Vec::new();
    for (size, label) in [(DESKTOP, "desktop"), (PHONE, "phone")] {
        browser.resize(size).await?;
        for (name, path) in &screens {
            open(browser, base, path).await?;
            let overflow = browser
                .script(
                    "return document.documentElement.scrollWidth - window.innerWidth;",
                    json!([]),
                )
                .await?;
            assert!(
                overflow.as_i64().unwrap_or(0) <= 1,
                "{path} at {label} width scrolls sideways by {overflow} px"
            );
            browser
                .screenshot(&format!("{prefix}-{name}-{label}"))
                .await?;
            let text = browser.text().await?;
            for junk in ["undefined", "NaN", "[object Object]"] {
                assert!(
                    !text.contains(junk),
                    "{path} at {label} width shows {junk}:\n{text}"
                );
            }
            assert!(
                !text.lines().any(|l| l.trim() == "null"),
                "{path} at {label} width shows null:\n{text}"
            );
            pages.push((text, browser.html().await?));
        }
    }
    browser.resize(DESKTOP).await?;
    Ok(pages)
}

/// Enqueues `job` through the API; returns its id.
pub async fn enqueue(client: &reqwest::Client, api: &str, job: Value) -> Result<u64> {
    let answer = client
        .post(format!("{api}/v1/jobs"))
        .json(&job)
        .send()
        .await?;
    anyhow::ensure!(
        answer.status() == 201,
        "enqueue answered {}",
        answer.status()
    );
    let body: Value = answer.json().await?;
    body["id"]
        .as_u64()
        .ok_or_else(|| anyhow::anyhow!("no id in {body}"))
}

/// Serves, on another loopback port (another origin, the same site), a page with a
/// form that posts to `target` as a foreign site would: a text/plain body shaped like
/// JSON, so only the daemon's `Origin` check stands in its way. Returns the page's URL.
pub async fn foreign_page(target: &str) -> String {
    let html = format!(
        "<!doctype html><title>elsewhere</title>\
         <form method=post action=\"{target}\" enctype=text/plain>\
         <input type=hidden name='{{\"reason\":\"from elsewhere' value='\"}}'>\
         <button id=go type=submit>Win a prize</button></form>"
    );
    let router = axum::Router::new().route(
        "/",
        axum::routing::get(move || {
            let html = html.clone();
            async move { axum::response::Html(html) }
        }),
    );
    format!("{}/", super::serve(router).await)
}
