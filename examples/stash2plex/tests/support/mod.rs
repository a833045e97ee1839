//! Shared set-up of the stash2plex tests: a mock Plex and a mock Stash that answer as
//! the real servers do, the daemon as a child process, and an API client.

#![allow(dead_code, unreachable_pub)]

pub mod daemon;
pub mod mock_plex;
pub mod mock_stash;

use std::time::Duration;

use serde_json::{Value, json};

/// The Plex token of the tests; it must never show up outside the request headers.
pub const PLEX_TOKEN: &str = "plexTOKEN-7f3a9c1e5b";
/// Stash's API key of the tests.
pub const STASH_KEY: &str = "stashKEY-51d0e2a8c4";
/// The session cookie Stash hands its plugins in the tests.
pub const STASH_SESSION: &str = "session-cookie-93b1";

/// A plain client for the daemon's API.
pub fn api_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("HTTP client")
}

/// Enqueues `{"scene_id": id}` as the Stash plugin does; the API's answer.
pub async fn enqueue_scene(client: &reqwest::Client, api: &str, id: u64) -> Value {
    let body = json!({
        "kind": "plex-sync",
        "payload": { "scene_id": id.to_string() },
        "dedup_key": format!("scene-{id}"),
        "dedup_mode": "replace",
    });
    let response = client
        .post(format!("{api}/v1/jobs"))
        .json(&body)
        .send()
        .await
        .expect("enqueue answered");
    assert_eq!(response.status(), 201, "enqueue accepted");
    response.json().await.expect("JSON")
}

/// `GET path` on the daemon, as JSON.
pub async fn get(client: &reqwest::Client, api: &str, path: &str) -> Value {
    client
        .get(format!("{api}{path}"))
        .send()
        .await
        .expect("answered")
        .json()
        .await
        .expect("JSON")
}

/// Polls `check` every 20 ms until it gives `Some`, for at most `limit` (for daemon
/// state only the API can tell; the mocks wake their waiters on every request).
pub async fn eventually<T>(
    limit: Duration,
    what: &str,
    mut check: impl AsyncFnMut() -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not reached within {limit:?}: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

use daemon::{Daemon, write_config};
use mock_plex::MockPlex;
use mock_stash::{MockStash, StashScene};

/// The two mock servers and a daemon syncing between them.
pub struct World {
    pub plex: MockPlex,
    pub stash: MockStash,
    pub dir: tempfile::TempDir,
    pub config: std::path::PathBuf,
    pub daemon: Option<Daemon>,
    pub client: reqwest::Client,
}

impl World {
    /// Mocks and a daemon; `extra` is added to `[stash2plex]`.
    pub async fn start(extra: &str) -> World {
        let mut world = Self::prepared(extra).await;
        world.launch();
        world
    }

    /// Mocks and a configuration, no daemon yet.
    pub async fn prepared(extra: &str) -> World {
        let plex = MockPlex::start(PLEX_TOKEN).await;
        let stash = MockStash::start(STASH_KEY, STASH_SESSION).await;
        let dir = tempfile::tempdir().expect("temp dir");
        let config = write_config(dir.path(), &stash.url, &plex.url(), extra);
        World {
            plex,
            stash,
            dir,
            config,
            daemon: None,
            client: api_client(),
        }
    }

    /// Starts the daemon (again).
    pub fn launch(&mut self) {
        self.launch_with(&[]);
    }

    /// Starts the daemon with more environment variables (`RUST_LOG`, ...).
    pub fn launch_with(&mut self, env: &[(&str, &str)]) {
        let mut all = vec![("PLEX_TOKEN", PLEX_TOKEN), ("STASH_API_KEY", STASH_KEY)];
        all.extend_from_slice(env);
        self.daemon = Some(Daemon::start(&self.config, &all));
    }

    pub fn api(&self) -> String {
        self.daemon.as_ref().expect("a running daemon").url.clone()
    }

    pub fn daemon(&mut self) -> &mut Daemon {
        self.daemon.as_mut().expect("a running daemon")
    }

    pub async fn enqueue(&self, id: u64) -> Value {
        enqueue_scene(&self.client, &self.api(), id).await
    }

    /// The default queue's counts.
    pub async fn counts(&self) -> Value {
        get(&self.client, &self.api(), "/v1/stats").await["total"].clone()
    }

    /// Waits until `n` jobs completed in all.
    pub async fn completed(&self, n: u64) {
        eventually(
            Duration::from_secs(30),
            &format!("{n} jobs completed"),
            async || {
                let total = self.counts().await;
                (total["completed"].as_u64() >= Some(n)).then_some(())
            },
        )
        .await;
    }

    /// A job as the API shows it.
    pub async fn job(&self, id: &Value) -> Value {
        get(&self.client, &self.api(), &format!("/v1/jobs/{id}")).await
    }
}

/// A scene of the tests with every field set; its file is under `/stash/media`.
pub fn scene(id: u64, file: &str) -> StashScene {
    StashScene {
        id,
        title: format!("Ünïcode ☃ — «Scène» 日本語 #{id}"),
        details: "Line one.\nLine two & \"quotes\" 100% sûr.".into(),
        date: "2024-03-05".into(),
        studio: Some("Studio Ø".into()),
        performers: vec!["Zoë Ærø".into(), "李小龍".into()],
        tags: vec!["Tag A".into(), "Tag, with comma".into(), "a+b=c".into()],
        files: vec![format!("/stash/media/{file}")],
        screenshot: Some(format!("JPEG cover of {id}").into_bytes()),
        updated: 0,
    }
}
