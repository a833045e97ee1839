//! The breaker badge follows a real outage: the downstream starts answering 503, the
//! overview's badge for the queue turns OPEN (with the time to the next probe) within
//! seconds, and turns back to closed within seconds of the downstream's return. The
//! test waits on the page's DOM, never for a fixed time.

mod support;

use std::time::Duration;

use anyhow::Result;
use serde_json::json;
use support::browser::Browser;
use support::daemon::Daemon;
use support::media::Media;
use support::ui::{enqueue, open, tour};

/// Two counted failures open the breaker; it probes after a second.
const POLICY: &str = r#"#{
    classes: #{ unavailable: #{ base: "200ms", cap: "400ms", max_retries: 1000 } },
    breaker: #{ failure_threshold: 2, recovery_timeout: "1s" },
}"#;

/// How soon the badge must follow the breaker: a poll interval and a probe's round.
const SOON: Duration = Duration::from_secs(12);

/// A script returning the default queue's badge as `[state, text]` once it shows
/// `state` (any state when empty), else null.
fn badge(state: &str) -> String {
    format!(
        "const b = document.querySelector('tr[data-queue=default] [data-breaker]'); \
         return b && ('{state}' === '' || b.dataset.breaker === '{state}') \
             ? [b.dataset.breaker, b.textContent] : null;"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_breaker_badge_shows_open_during_an_outage_and_closed_after() -> Result<()> {
    let Some(browser) = Browser::start("ui_breaker").await else {
        return Ok(());
    };
    let media = Media::start().await;
    let client = support::api_client();
    let daemon = Daemon::with_policy(POLICY, &media.base, "[worker]\nconcurrency = 2\n");
    let api = daemon.url.clone();
    open(&browser, &api, "/ui/").await?;
    let first = browser.wait_for("a badge", &badge(""), SOON).await?;
    assert_eq!(first[0], "closed", "{first}");

    media.outage(true);
    for i in 0..4 {
        enqueue(
            &client,
            &api,
            json!({"kind": "http", "payload": {"url": format!("{}/ok/{i}", media.base)}}),
        )
        .await?;
    }
    let open_badge = browser
        .wait_for("the badge turns OPEN", &badge("open"), SOON)
        .await?;
    assert!(
        open_badge[1]
            .as_str()
            .unwrap_or_default()
            .starts_with("OPEN"),
        "{open_badge}"
    );
    let breaker: serde_json::Value = client
        .get(format!("{api}/v1/breaker"))
        .send()
        .await?
        .json()
        .await?;
    assert_ne!(breaker["queues"][0]["openings"], 0, "{breaker}");

    // Every screen during the outage (the breaker keeps reopening: probes fail).
    tour(&browser, &api, "breaker-outage", None).await?;

    media.outage(false);
    open(&browser, &api, "/ui/").await?;
    let closed = browser
        .wait_for("the badge turns closed", &badge("closed"), SOON)
        .await?;
    assert_eq!(closed[1], "closed");
    open(&browser, &api, "/ui/breaker").await?;
    browser
        .screenshot("breaker-recovered-breaker-desktop")
        .await?;
    Ok(())
}
