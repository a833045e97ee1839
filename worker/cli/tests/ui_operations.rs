//! Changing things from the dashboard, checked where it matters: a bulk requeue of one
//! class moves exactly as many jobs as its confirmation said (counted through the
//! API); pausing a queue from its card stops requests at the downstream until it is
//! resumed from the card; a cancel of selected jobs cancels exactly those; a draft policy with an error shows the error at its line and
//! a valid one its schedules, with nothing applied; and a page of another origin in the
//! same browser cannot pause the queue of this open (loopback, no token) daemon.
//!
//! "No request arrives" cannot be proven by waiting forever: as in `queues_pause.rs`,
//! the test waits until the daemon reports the new jobs due and the queue paused, then
//! watches the downstream for 1 s; an unpaused worker delivers a due job within
//! milliseconds.

mod support;

use std::time::Duration;

use anyhow::Result;
use serde_json::{Value, json};
use support::browser::Browser;
use support::daemon::{Daemon, eventually};
use support::media::Media;
use support::ui::{SHOWN, enqueue, foreign_page, open, tour};

const POLICY: &str = r#"#{ classes: #{ not_found: #{ max_retries: 0 } } }"#;
const PERMANENT: u64 = 7;
const NOT_FOUND: u64 = 4;

async fn total(client: &reqwest::Client, daemon: &Daemon) -> Value {
    daemon.stats(client).await["total"].clone()
}

/// Clicks `button`, waits for the confirmation, checks its count and confirms.
async fn confirm_count(browser: &Browser, button: &str) -> Result<u64> {
    browser.click(button).await?;
    browser
        .wait_for_element("dialog[open] [data-confirm]", SHOWN)
        .await?;
    let count = browser
        .script(
            "return Number(document.getElementById('confirm-count').dataset.count);",
            json!([]),
        )
        .await?;
    browser.click("dialog[open] [data-confirm]").await?;
    Ok(count.as_u64().expect("a count"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_from_the_pages_do_what_they_said_and_a_foreign_page_changes_nothing() -> Result<()>
{
    let Some(browser) = Browser::start("ui_operations").await else {
        return Ok(());
    };
    let media = Media::start().await;
    let client = support::api_client();
    let daemon = Daemon::with_policy(POLICY, &media.base, "[worker]\nconcurrency = 2\n");
    let api = daemon.url.clone();
    for i in 0..PERMANENT {
        enqueue(
            &client,
            &api,
            json!({"kind": "http", "payload": {"url": format!("{}/bad/{i}", media.base)}}),
        )
        .await?;
    }
    for i in 0..NOT_FOUND {
        enqueue(
            &client,
            &api,
            json!({"kind": "http", "payload": {"url": format!("{}/missing/{i}", media.base)}}),
        )
        .await?;
    }
    eventually(Duration::from_secs(30), async || {
        (total(&client, &daemon).await["dead"] == PERMANENT + NOT_FOUND).then_some(())
    })
    .await;
    // Hold the requeued jobs where the API can count them.
    let paused = client
        .post(format!("{api}/v1/queues/default/pause"))
        .send()
        .await?;
    assert_eq!(paused.status(), 200);

    // A bulk requeue of the class `permanent`, from the filtered dead list.
    open(&browser, &api, "/ui/jobs?state=dead&class=permanent").await?;
    browser.wait_for_element("tr[data-job]", SHOWN).await?;
    let stated = confirm_count(&browser, "#bulk-filter").await?;
    assert_eq!(
        stated, PERMANENT,
        "the confirmation states the dry run's count"
    );
    browser
        .wait_for(
            "the requeue is reported",
            "return document.body.innerText.includes('Requeued 7 jobs');",
            SHOWN,
        )
        .await?;
    let t = total(&client, &daemon).await;
    assert_eq!(
        t["dead"], NOT_FOUND,
        "exactly the other class stays dead: {t}"
    );
    assert_eq!(
        t["waiting"], PERMANENT,
        "exactly the stated count was requeued: {t}"
    );
    let waiting: Value = client
        .get(format!("{api}/v1/jobs?state=waiting&limit=100"))
        .send()
        .await?
        .json()
        .await?;
    let urls: Vec<&str> = waiting["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .map(|j| j["payload"]["url"].as_str().unwrap_or_default())
        .collect();
    assert!(
        urls.iter().all(|u| u.contains("/bad/")),
        "only `permanent` jobs moved: {urls:?}"
    );
    // The list the page shows now is empty, and says so.
    browser
        .wait_for(
            "the dead list empties",
            "return document.querySelector('tr[data-job]') === null;",
            SHOWN,
        )
        .await?;

    // Resume from the queue's card: the requeued jobs reach the downstream.
    let before = media.requests();
    open(&browser, &api, "/ui/queues").await?;
    browser
        .wait_for_element(
            "[data-queue=default] [data-action=resume]:not([hidden])",
            SHOWN,
        )
        .await?;
    browser
        .click("[data-queue=default] [data-action=resume]")
        .await?;
    eventually(Duration::from_secs(20), async || {
        (media.requests() >= before + PERMANENT as usize).then_some(())
    })
    .await;
    browser
        .wait_for(
            "the card shows the queue running",
            "return document.querySelector('[data-queue=default] [data-paused=false]') !== null;",
            SHOWN,
        )
        .await?;

    // Pause from the card, with a reason: nothing more reaches the downstream.
    browser
        .type_into(
            "[data-queue=default] input[name=reason]",
            "ops: library rescan",
        )
        .await?;
    browser
        .click("[data-queue=default] [data-action=pause]")
        .await?;
    browser
        .wait_for(
            "the card shows the pause",
            "return document.querySelector('[data-queue=default] [data-paused=true]') !== null;",
            SHOWN,
        )
        .await?;
    let steering = daemon.stats(&client).await["queues"]["default"]["steering"].clone();
    assert_eq!(steering["paused"], true);
    assert_eq!(steering["paused_reason"], "ops: library rescan");
    eventually(Duration::from_secs(20), async || {
        (total(&client, &daemon).await["running"] == 0).then_some(())
    })
    .await;
    let quiet = media.requests();
    for i in 0..3 {
        enqueue(
            &client,
            &api,
            json!({"kind": "http", "payload": {"url": format!("{}/ok/{i}", media.base)}}),
        )
        .await?;
    }
    eventually(Duration::from_secs(10), async || {
        let stats = daemon.stats(&client).await;
        let q = &stats["queues"]["default"];
        let due = q["next_due"]["run_at"].as_str()? <= stats["at"].as_str()?;
        (q["waiting"] == 3 && due).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        media.requests(),
        quiet,
        "a queue paused from the page delivered a job"
    );

    // Cancel two of the three waiting jobs, selected on the page: exactly those two die.
    let dead_before = total(&client, &daemon).await["dead"]
        .as_u64()
        .expect("a count");
    open(&browser, &api, "/ui/jobs?state=waiting").await?;
    browser
        .wait_for_element("tr[data-job] input[data-id]", SHOWN)
        .await?;
    let ids = browser
        .script("return Array.from(document.querySelectorAll('input[data-id]')).slice(0, 2).map(b => Number(b.dataset.id));", json!([]))
        .await?;
    for id in ids.as_array().expect("ids") {
        browser.click(&format!("input[data-id=\"{id}\"]")).await?;
    }
    assert_eq!(confirm_count(&browser, "#bulk-selected").await?, 2);
    browser
        .wait_for(
            "the cancel is reported",
            "return document.body.innerText.includes('Cancelled 2 jobs');",
            SHOWN,
        )
        .await?;
    let t = total(&client, &daemon).await;
    assert_eq!(t["waiting"], 1, "{t}");
    assert_eq!(t["dead"], dead_before + 2, "{t}");
    for id in ids.as_array().expect("ids") {
        let job: Value = client
            .get(format!("{api}/v1/jobs/{id}"))
            .send()
            .await?
            .json()
            .await?;
        assert_eq!(job["state"], "dead", "{job}");
        assert_eq!(job["last_error"]["class"], "cancelled", "{job}");
    }

    // Screenshots of every screen with a paused queue; then resume from the page: the
    // job left is delivered.
    tour(&browser, &api, "operations", None).await?;
    open(&browser, &api, "/ui/queues").await?;
    browser
        .click("[data-queue=default] [data-action=resume]")
        .await?;
    eventually(Duration::from_secs(20), async || {
        (media.requests() > quiet).then_some(())
    })
    .await;

    // A run-time rate limit from the card, then none.
    let steering = async || daemon.stats(&client).await["queues"]["default"]["steering"].clone();
    browser
        .type_into("[data-queue=default] input[name=per_second]", "5")
        .await?;
    browser
        .type_into("[data-queue=default] input[name=burst]", "2")
        .await?;
    browser
        .click("[data-queue=default] [data-action=limit]")
        .await?;
    let limited = eventually(SHOWN, async || {
        let s = steering().await;
        (s["rate_limit_source"] == "run-time").then_some(s)
    })
    .await;
    assert_eq!(
        limited["rate_limit"],
        json!({"per_second": 5.0, "burst": 2}),
        "{limited}"
    );
    browser
        .wait_for("the card shows the limit", "return document.querySelector('[data-queue=default] [data-fact=\"rate limit\"]').textContent.startsWith('5/s, burst 2');", SHOWN)
        .await?;
    browser
        .click("[data-queue=default] [data-action=limit-off]")
        .await?;
    eventually(SHOWN, async || {
        (steering().await["rate_limit_source"] == "off").then_some(())
    })
    .await;

    // A draft with a mistake on line 3: the error, at its line, with nothing applied.
    let policy_version = |v: Value| v["version"].clone();
    let version = policy_version(
        client
            .get(format!("{api}/v1/policy"))
            .send()
            .await?
            .json()
            .await?,
    );
    open(&browser, &api, "/ui/policy").await?;
    let draft = "#{\n    classes: #{\n        transient: #{ base: \"1s\", cap: \"1m\", max_retrie: 3 },\n    },\n}";
    browser.type_into("#draft textarea", draft).await?;
    browser.click("#check-draft").await?;
    let error = browser
        .wait_for(
            "the draft's error",
            "const li = document.querySelector('#draft-errors li[data-line=\"3\"]'); return li && li.innerText;",
            SHOWN,
        )
        .await?;
    let error = error.as_str().unwrap_or_default();
    assert!(error.starts_with("Line 3, column"), "{error}");
    assert!(
        error.contains("max_retrie") && error.contains("max_retries"),
        "{error}"
    );
    browser
        .screenshot("operations-policy-draft-error-desktop")
        .await?;
    // A valid draft: its schedules are drawn, and still nothing is applied.
    browser
        .type_into(
            "#draft textarea",
            "#{ classes: #{ not_found: #{ base: \"1m\", cap: \"30m\", max_retries: 24 } } }",
        )
        .await?;
    browser.click("#check-draft").await?;
    browser.wait_for_element("#draft-ok", SHOWN).await?;
    browser
        .wait_for_element("#draft-report .class-card[data-class=not_found] svg", SHOWN)
        .await?;
    let bury = browser
        .script(
            "return document.querySelector('#draft-report [data-bury=not_found]').textContent;",
            json!([]),
        )
        .await?;
    assert!(
        bury.as_str().unwrap_or_default().starts_with("Buried"),
        "{bury}"
    );
    browser
        .screenshot("operations-policy-draft-desktop")
        .await?;
    let after = policy_version(
        client
            .get(format!("{api}/v1/policy"))
            .send()
            .await?
            .json()
            .await?,
    );
    assert_eq!(after, version, "a checked draft is never applied");
    browser.assert_no_page_errors("/ui/policy").await?;

    // A page of another origin in the same browser posts a pause: refused, not paused.
    let elsewhere = foreign_page(&format!("{api}/v1/queues/default/pause")).await;
    browser.goto(&elsewhere).await?;
    browser.click("#go").await?;
    let refusal = browser
        .wait_for(
            "the daemon's refusal",
            "return document.body && document.body.innerText.includes('cross_origin') && document.body.innerText;",
            SHOWN,
        )
        .await?;
    assert!(
        refusal
            .as_str()
            .unwrap_or_default()
            .contains("another site"),
        "{refusal}"
    );
    let steering = daemon.stats(&client).await["queues"]["default"]["steering"].clone();
    assert_eq!(
        steering["paused"], false,
        "a foreign page paused the queue: {steering}"
    );
    Ok(())
}
