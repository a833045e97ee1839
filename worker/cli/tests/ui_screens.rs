//! The dashboard in a real browser against a real daemon holding jobs in every state:
//! every screen renders at desktop and phone width without a script error or a CSP
//! violation, the overview's counts equal `/v1/stats`, no planted secret appears in any
//! page's text or HTML, markup in a payload stays text, the keyboard alone reaches and
//! opens the screens with a visible focus ring, reduced motion stops the animation,
//! and the pages and assets are served with their content types and security headers.

mod support;

use std::time::Duration;

use anyhow::Result;
use serde_json::{Value, json};
use support::browser::Browser;
use support::daemon::{Daemon, eventually};
use support::media::Media;
use support::ui::{SHOWN, enqueue, open, tour};

/// A media server token planted in jobs' headers and URLs; no page may show it.
const SECRET: &str = "plex-token-5f3a9c71";

const POLICY: &str = r#"#{ classes: #{ not_found: #{ base: "1h", cap: "2h", max_retries: 3 } } }"#;

/// Two queues whose jobs sit still: completed, waiting an hour, retrying in an hour,
/// dead. Returns the daemon and the ids of a waiting job carrying the secret, a dead
/// one carrying it, and a retrying one.
async fn settled_daemon(media: &Media, client: &reqwest::Client) -> Result<(Daemon, [u64; 3])> {
    let dir = tempfile::tempdir()?;
    let policy = dir.path().join("policy.rhai");
    std::fs::write(&policy, POLICY)?;
    let daemon = Daemon::start_in(
        dir,
        &format!(
            "policy_file = {policy:?}\n[worker]\nqueue = \"media\"\nconcurrency = 4\n\
             [queues.media]\n[queues.mail]\nconcurrency = 2\n\
             [http]\nallowed_bases = [\"{}\"]\n",
            media.base
        ),
    );
    let api = daemon.url.clone();
    let b = &media.base;
    let job = |queue: &str, path: String| json!({"kind": "http", "queue": queue, "payload": {"url": format!("{b}{path}")}});
    for i in 0..12 {
        enqueue(
            client,
            &api,
            job(
                if i % 3 == 0 { "mail" } else { "media" },
                format!("/ok/{i}"),
            ),
        )
        .await?;
    }
    let mut retrying = 0;
    for i in 0..3 {
        retrying = enqueue(client, &api, job("media", format!("/missing/{i}"))).await?;
        enqueue(
            client,
            &api,
            job(if i == 0 { "mail" } else { "media" }, format!("/bad/{i}")),
        )
        .await?;
    }
    let waiting = enqueue(
        client,
        &api,
        json!({"kind": "http", "delay": "1h", "payload": {
            "method": "POST",
            "url": format!("{b}/ok/refresh?X-Plex-Token={SECRET}&item=42"),
            "headers": {"X-Plex-Token": SECRET, "Authorization": format!("Bearer {SECRET}"),
                        "X-Note": "<img src=x id=planted onerror=\"document.title='owned'\">"},
            "json": {"item": 42},
        }}),
    )
    .await?;
    let dead = enqueue(
        client,
        &api,
        json!({"kind": "http", "payload": {
            "url": format!("{b}/bad/section?X-Plex-Token={SECRET}"),
            "headers": {"X-Plex-Token": SECRET},
        }}),
    )
    .await?;
    eventually(Duration::from_secs(30), async || {
        let t = daemon.stats(client).await["total"].clone();
        (t["completed"] == 12
            && t["waiting"] == 1
            && t["retrying"] == 3
            && t["dead"] == 4
            && t["running"] == 0)
            .then_some(())
    })
    .await;
    Ok((daemon, [waiting, dead, retrying]))
}

/// The number shown in the element `css`, separators removed.
async fn shown_number(browser: &Browser, css: &str) -> Result<u64> {
    let text = browser
        .script(
            "const el = document.querySelector(arguments[0]); return el ? el.textContent : null;",
            json!([css]),
        )
        .await?;
    let digits: String = text
        .as_str()
        .unwrap_or_else(|| panic!("no element {css}"))
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    Ok(digits.parse()?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_screen_renders_counts_match_the_api_and_no_secret_shows() -> Result<()> {
    let Some(browser) = Browser::start("ui_screens").await else {
        return Ok(());
    };
    let media = Media::start().await;
    let client = support::api_client();
    let (daemon, [waiting, dead, retrying]) = settled_daemon(&media, &client).await?;
    let api = daemon.url.clone();

    // The overview's counts are the API's, queue by queue and in total.
    open(&browser, &api, "/ui/").await?;
    let stats = daemon.stats(&client).await;
    for state in ["waiting", "retrying", "running", "dead", "completed"] {
        let total = shown_number(&browser, &format!("[data-total={state}] .tile-value")).await?;
        assert_eq!(Value::from(total), stats["total"][state], "total {state}");
        for (queue, counts) in stats["queues"].as_object().expect("queues") {
            let css = format!("tr[data-queue=\"{queue}\"] td[data-state={state}]");
            let shown = shown_number(&browser, &css).await?;
            assert_eq!(Value::from(shown), counts[state], "{queue} {state}");
        }
    }
    let badge = browser
        .script(
            "return Array.from(document.querySelectorAll('tr[data-queue] [data-breaker]')).map(b => b.dataset.breaker);",
            json!([]),
        )
        .await?;
    assert_eq!(badge, json!(["closed", "closed"]), "a badge per queue");

    // The keyboard alone: Tab reaches the skip link first, with a visible focus ring,
    // then the screens; Enter opens one.
    const TAB: &str = "\u{E004}";
    browser.keys(TAB).await?;
    let focused = browser
        .script("const e = document.activeElement; return [e.textContent, getComputedStyle(e).outlineStyle];", json!([]))
        .await?;
    assert_eq!(focused, json!(["Skip to content", "solid"]));
    browser.keys(&TAB.repeat(3)).await?;
    let focused = browser
        .script("return document.activeElement.textContent;", json!([]))
        .await?;
    assert_eq!(focused, "Jobs");
    browser.keys("\u{E007}").await?;
    browser
        .wait_for(
            "Enter opens the jobs",
            "return location.pathname === '/ui/jobs' && document.querySelector('[data-tab]');",
            SHOWN,
        )
        .await?;
    // Reduced motion: the live indicator stops pulsing.
    let pulse =
        "return getComputedStyle(document.getElementById('live'), '::before').animationName;";
    assert_eq!(browser.script(pulse, json!([])).await?, "pulse");
    browser
        .cdp(
            "Emulation.setEmulatedMedia",
            json!({"features": [{"name": "prefers-reduced-motion", "value": "reduce"}]}),
        )
        .await?;
    assert_eq!(browser.script(pulse, json!([])).await?, "none");
    browser
        .cdp("Emulation.setEmulatedMedia", json!({"features": []}))
        .await?;

    // Every screen, both widths; then the lists and details that hold the secret.
    let mut pages = tour(&browser, &api, "screens", Some(retrying)).await?;
    for path in [
        "/ui/jobs?state=waiting".to_owned(),
        "/ui/jobs?state=dead".to_owned(),
        format!("/ui/jobs/{dead}"),
        format!("/ui/jobs/{waiting}"),
    ] {
        open(&browser, &api, &path).await?;
        pages.push((browser.text().await?, browser.html().await?));
    }
    for (text, html) in &pages {
        assert!(
            !text.contains(SECRET) && !html.contains(SECRET),
            "a page shows the secret:\n{text}"
        );
    }

    // The payload's markup is shown as text and never becomes an element.
    let detail = browser.text().await?;
    assert!(detail.contains("<img src=x id=planted"), "{detail}");
    assert!(
        detail.contains("***"),
        "the redacted header reads ***: {detail}"
    );
    let planted = browser
        .script(
            "return [document.getElementById('planted') === null, document.title];",
            json!([]),
        )
        .await?;
    assert_eq!(planted, json!([true, format!("Job #{waiting} · tenax")]));

    // Content types and security headers of the page shell and the assets.
    for (path, kind) in [
        ("/ui/", "text/html"),
        ("/ui/jobs/1", "text/html"),
        ("/ui/assets/app.js", "text/javascript"),
        ("/ui/assets/views/jobs.js", "text/javascript"),
        ("/ui/assets/app.css", "text/css"),
        ("/ui/assets/favicon.svg", "image/svg+xml"),
    ] {
        let answer = client.get(format!("{api}{path}")).send().await?;
        assert_eq!(answer.status(), 200, "{path}");
        let h = answer.headers();
        let header = |name: &str| {
            h.get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        assert!(
            header("content-type").starts_with(kind),
            "{path}: {}",
            header("content-type")
        );
        let csp = header("content-security-policy");
        assert!(
            csp.contains("default-src 'self'") && csp.contains("script-src 'self'"),
            "{path}: {csp}"
        );
        assert!(
            csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"),
            "{path}: {csp}"
        );
        assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header("x-frame-options"), "DENY", "{path}");
    }
    let missing = client
        .get(format!("{api}/ui/assets/nope.js"))
        .send()
        .await?;
    assert_eq!(missing.status(), 404);
    Ok(())
}
