//! The dashboard's login: a form that takes either token, a session cookie with the
//! right attributes, the CSRF token every cookie-authenticated change must carry,
//! logout, and expiry.

mod support;

use std::time::Duration;

use anyhow::Result;
use reqwest::header::{LOCATION, SET_COOKIE};
use serde_json::{Value, json};
use support::daemon::{Daemon, eventually};

const ADMIN: &str = "admin-token-for-tests";
const READ: &str = "read-token-for-tests";

fn config(extra: &str) -> String {
    format!(
        "[http]\nallowed_bases = [\"http://127.0.0.1:9/\"]\n[api]\naddr = \"127.0.0.1:0\"\n\
         token = \"{ADMIN}\"\nread_token = \"{READ}\"\n{extra}"
    )
}

/// A client that shows redirects instead of following them, and keeps no cookies.
fn browser() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("HTTP client")
}

/// Logs in with `token`; the session cookie (`tenax_session=...`) and its attributes.
async fn login(client: &reqwest::Client, daemon: &Daemon, token: &str) -> Result<(String, String)> {
    let r = client
        .post(format!("{}/ui/login", daemon.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={token}"))
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 303, "a good token logs in");
    assert_eq!(r.headers()[LOCATION], "/ui/");
    let set = r.headers()[SET_COOKIE].to_str()?.to_owned();
    let cookie = set.split(';').next().unwrap_or_default().to_owned();
    Ok((cookie, set))
}

async fn session(client: &reqwest::Client, daemon: &Daemon, cookie: &str) -> Result<(u16, Value)> {
    let r = client
        .get(format!("{}/ui/session", daemon.url))
        .header("cookie", cookie)
        .send()
        .await?;
    let status = r.status().as_u16();
    Ok((status, r.json().await?))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_gives_a_strict_cookie_whose_changes_need_the_csrf_token() -> Result<()> {
    let daemon = Daemon::start(&config(""));
    let client = browser();
    let url = |path: &str| format!("{}{path}", daemon.url);

    // Not logged in: pages go to the form, the API answers 401 JSON.
    for page in ["/ui", "/ui/", "/ui/jobs"] {
        let r = client.get(url(page)).send().await?;
        assert_eq!(r.status().as_u16(), 303, "{page}");
        assert_eq!(r.headers()[LOCATION], "/ui/login", "{page}");
    }
    let r = client.get(url("/v1/stats")).send().await?;
    assert_eq!(r.status().as_u16(), 401);
    assert_eq!(r.json::<Value>().await?["error"]["code"], "unauthorized");
    assert_eq!(
        session(&client, &daemon, "tenax_session=forged").await?.0,
        401
    );

    // The form: labelled, styled by the dashboard's sheet.
    let r = client.get(url("/ui/login")).send().await?;
    assert_eq!(r.status().as_u16(), 200);
    let form = r.text().await?;
    for needle in [
        "<form method=\"post\" action=\"/ui/login\"",
        "<label for=\"token\"",
        "/ui/assets/app.css",
        "type=\"password\"",
    ] {
        assert!(form.contains(needle), "{needle} in {form}");
    }

    // A wrong token: the form again, 401, no cookie, and the same page whatever was wrong.
    let mut pages = Vec::new();
    for body in [
        format!("token={ADMIN}x"),
        "token=".to_owned(),
        "nothing=1".to_owned(),
        format!("token={}", &READ[..5]),
    ] {
        let r = client
            .post(url("/ui/login"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.clone())
            .send()
            .await?;
        assert_eq!(r.status().as_u16(), 401, "{body}");
        assert!(r.headers().get(SET_COOKIE).is_none(), "{body}");
        pages.push(r.text().await?);
    }
    assert!(
        pages.windows(2).all(|w| w[0] == w[1]),
        "no hint which part was wrong"
    );
    assert!(pages[0].contains("role=\"alert\""));

    // The admin token: a strict, script-proof cookie.
    let (cookie, set) = login(&client, &daemon, ADMIN).await?;
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
        assert!(set.contains(attribute), "{attribute} in {set}");
    }
    let value = cookie.trim_start_matches("tenax_session=");
    assert_eq!(value.len(), 64, "{cookie}");
    assert!(value.chars().all(|c| c.is_ascii_hexdigit()), "{cookie}");
    let (status, me) = session(&client, &daemon, &cookie).await?;
    assert_eq!(status, 200);
    assert_eq!(me["role"], "admin");
    assert_eq!(me["token_required"], true);
    let csrf = me["csrf"].as_str().expect("a CSRF token").to_owned();
    assert_eq!(csrf.len(), 64);
    assert_ne!(csrf, value);

    // Reads need only the cookie; a change needs the session's CSRF token too.
    let r = client
        .get(url("/v1/stats"))
        .header("cookie", &cookie)
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 200);
    let pause = url("/v1/queues/default/pause");
    for given in [None, Some("0".repeat(64)), Some(csrf[..63].to_owned())] {
        let mut request = client
            .post(&pause)
            .header("cookie", &cookie)
            .json(&json!({}));
        if let Some(token) = &given {
            request = request.header("x-csrf-token", token);
        }
        let r = request.send().await?;
        assert_eq!(r.status().as_u16(), 403, "{given:?}");
        assert_eq!(r.json::<Value>().await?["error"]["code"], "csrf");
    }
    let queues: Value = client
        .get(url("/v1/queues"))
        .bearer_auth(ADMIN)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(
        queues["queues"][0]["paused"], false,
        "refused changes changed nothing"
    );
    let r = client
        .post(&pause)
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .json(&json!({}))
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 200);
    // A foreign page cannot use the cookie even with the token.
    let r = client
        .post(url("/v1/queues/default/resume"))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .header("origin", "http://evil.example")
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 403);

    // The read token's session: reads, a draft check, and no change.
    let (reader, _) = login(&client, &daemon, READ).await?;
    let (_, me) = session(&client, &daemon, &reader).await?;
    assert_eq!(me["role"], "read");
    let reader_csrf = me["csrf"].as_str().expect("csrf").to_owned();
    let r = client
        .post(url("/v1/policy/check"))
        .header("cookie", &reader)
        .header("x-csrf-token", &reader_csrf)
        .json(&json!({ "script": "#{}" }))
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 200);
    let r = client
        .post(url("/v1/queues/default/resume"))
        .header("cookie", &reader)
        .header("x-csrf-token", &reader_csrf)
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 403);
    assert_eq!(r.json::<Value>().await?["error"]["code"], "read_only");

    // Logout ends the session and clears the cookie; the other session lives on.
    let r = client
        .post(url("/ui/logout"))
        .header("cookie", &cookie)
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(r.headers()[LOCATION], "/ui/login");
    let cleared = r.headers()[SET_COOKIE].to_str()?;
    assert!(
        cleared.starts_with("tenax_session=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
    assert_eq!(session(&client, &daemon, &cookie).await?.0, 401);
    let r = client
        .get(url("/ui/"))
        .header("cookie", &cookie)
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(session(&client, &daemon, &reader).await?.0, 200);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_ends_after_its_lifetime() -> Result<()> {
    let daemon = Daemon::start(&config("session_lifetime = \"1s\"\n"));
    let client = browser();
    let (cookie, set) = login(&client, &daemon, READ).await?;
    assert!(set.contains("Max-Age=1"), "{set}");
    assert_eq!(session(&client, &daemon, &cookie).await?.0, 200);
    eventually(Duration::from_secs(10), async || {
        let (status, _) = session(&client, &daemon, &cookie).await.ok()?;
        (status == 401).then_some(())
    })
    .await;
    let r = client
        .get(format!("{}/v1/stats", daemon.url))
        .header("cookie", &cookie)
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 401, "an expired session reads nothing");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_token_there_is_nothing_to_log_in_to() -> Result<()> {
    let daemon = Daemon::start("");
    let client = browser();
    let r = client
        .get(format!("{}/ui/login", daemon.url))
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(r.headers()[LOCATION], "/ui/");
    let r = client
        .post(format!("{}/ui/login", daemon.url))
        .body("token=anything")
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 303);
    assert!(r.headers().get(SET_COOKIE).is_none());
    Ok(())
}
