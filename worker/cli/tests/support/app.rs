//! A small application built with `tenax::Daemon::builder`, for the tests that run it
//! as a child process: the test binary itself, started again with `TENAX_TEST_APP`
//! set, becomes the application (see [`serve_if_child`]).
//!
//! It syncs "items" to a downstream: kind `item-sync`, payload `{"item": "NAME"}`,
//! `POST {downstream}/items/NAME` with its token in `X-App-Token`. The downstream's
//! status decides the class, as a real application's would: 404 `not_found`, 401
//! `permanent`, 503 `unavailable`, other 5xx and 429 `transient`. Its health probe is
//! `GET {downstream}/health`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use tenax::{Daemon, DaemonBuilder, HandlerContext, Secret};
use tenax_worker::{Handler, HandlerError, HandlerFuture, JobRun, probe_fn};

/// The application's name: its command, and its log's `<name> is running`.
pub const NAME: &str = "host-app";
/// Its job kind.
pub const KIND: &str = "item-sync";
/// The environment variable that makes the test binary the application.
const CHILD: &str = "TENAX_TEST_APP";

/// `[app]` in the configuration file.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppConfig {
    /// Where items go.
    pub downstream: String,
    /// Sent as `X-App-Token`.
    pub token: Secret,
    /// Sent as `X-App-Label`. Default: none.
    #[serde(default)]
    pub label: Option<String>,
}

/// The application.
pub fn app() -> DaemonBuilder<AppConfig> {
    Daemon::builder()
        .name(NAME)
        .about("A test application hosted by tenax")
        .version("9.9.9")
        .section::<AppConfig>("app")
        .handler(KIND, |ctx: &HandlerContext<AppConfig>| {
            Ok(ItemSync {
                config: ctx.shared_section(),
                client: client()?,
            })
        })
        .health_probe(|ctx: &HandlerContext<AppConfig>| {
            let config = ctx.shared_section();
            let client = client()?;
            Ok(probe_fn(move || {
                let (config, client) = (config.clone(), client.clone());
                async move {
                    let url = format!("{}/health", config.downstream);
                    let response = client
                        .get(url)
                        .header("X-App-Token", config.token.expose())
                        .send()
                        .await
                        .map_err(|e| HandlerError::unavailable(e.to_string()))?;
                    classify(response).await
                }
            }))
        })
}

/// If this process was started as the application: runs it and returns its exit code.
pub fn serve_if_child() -> Option<ExitCode> {
    std::env::var_os(CHILD)?;
    Some(app().main())
}

/// This test binary, to start as the application, and the name it logs as.
pub fn program() -> (PathBuf, String) {
    let exe = std::env::current_exe().expect("the test binary's path");
    (exe, NAME.to_owned())
}

/// The environment that makes [`program`] the application.
pub fn child_env() -> (String, String) {
    (CHILD.to_owned(), "1".to_owned())
}

fn client() -> Result<reqwest::Client, reqwest::Error> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
}

struct ItemSync {
    config: Arc<AppConfig>,
    client: reqwest::Client,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Item {
    item: String,
}

fn item(payload: &[u8]) -> Result<Item, HandlerError> {
    serde_json::from_slice::<Item>(payload)
        .ok()
        .filter(|i| !i.item.is_empty())
        .ok_or_else(|| HandlerError::permanent("the payload must be {\"item\": \"NAME\"}"))
}

impl Handler for ItemSync {
    fn handle(&self, job: JobRun) -> HandlerFuture {
        let (config, client) = (Arc::clone(&self.config), self.client.clone());
        Box::pin(async move {
            let item = item(&job.payload)?;
            let url = format!("{}/items/{}", config.downstream, item.item);
            // A careless handler that logs its credential: the daemon's log redaction
            // must catch it (the tests look for the token in the logs).
            tracing::debug!("sending {url} with X-App-Token: {}", config.token.expose());
            let mut request = client
                .post(url)
                .header("X-App-Token", config.token.expose());
            if let Some(label) = &config.label {
                request = request.header("X-App-Label", label);
            }
            let response = request.send().await.map_err(|e| {
                if e.is_connect() {
                    HandlerError::unavailable(format!("connection failed: {e}"))
                } else {
                    HandlerError::transient(e.to_string())
                }
            })?;
            classify(response).await
        })
    }

    fn validate(&self, payload: &[u8]) -> Result<(), HandlerError> {
        item(payload).map(|_| ())
    }
}

/// The downstream's answer as a class; the body goes into the message (where a
/// downstream that echoes the token would put it).
async fn classify(response: reqwest::Response) -> Result<(), HandlerError> {
    let status = response.status().as_u16();
    if response.status().is_success() {
        return Ok(());
    }
    let body = response.text().await.unwrap_or_default();
    let message = format!("HTTP {status}: {body}");
    let error = match status {
        404 => HandlerError::not_found(message),
        401 | 403 => HandlerError::permanent(message),
        503 => HandlerError::unavailable(message),
        _ => HandlerError::transient(message),
    };
    Err(error.with_status(status))
}

/// One request a [`MockDownstream`] received: its path and the credential headers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    pub path: String,
    pub app_token: Option<String>,
    pub plex_token: Option<String>,
}

/// A loopback downstream for the application and for HTTP jobs. `/health` and
/// `/items/*` answer 503 while it is [`down`](Self::set_down); `/items/gone` 401,
/// `/items/later` 404, `/items/echo` and `/echo` 500 with the credential they got in
/// the body (a downstream that echoes what it was sent); everything else 200.
#[derive(Clone)]
pub struct MockDownstream {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    seen: Arc<std::sync::Mutex<Vec<Seen>>>,
    down: Arc<std::sync::atomic::AtomicBool>,
}

impl MockDownstream {
    pub async fn start() -> MockDownstream {
        use axum::http::StatusCode;
        use axum::response::IntoResponse;
        use std::sync::atomic::Ordering;

        let seen: Arc<std::sync::Mutex<Vec<Seen>>> = Arc::default();
        let down: Arc<std::sync::atomic::AtomicBool> = Arc::default();
        let (log, is_down) = (Arc::clone(&seen), Arc::clone(&down));
        let router = axum::Router::new().fallback(move |request: axum::extract::Request| {
            let (log, is_down) = (Arc::clone(&log), Arc::clone(&is_down));
            async move {
                let header = |name: &str| {
                    request
                        .headers()
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned)
                };
                let entry = Seen {
                    path: request.uri().path().to_owned(),
                    app_token: header("x-app-token"),
                    plex_token: header("x-plex-token"),
                };
                log.lock().expect("seen").push(entry.clone());
                let path = entry.path.as_str();
                let down = is_down.load(Ordering::SeqCst);
                if down && (path == "/health" || path.starts_with("/items/")) {
                    return (StatusCode::SERVICE_UNAVAILABLE, "starting").into_response();
                }
                match path {
                    "/items/gone" => (StatusCode::UNAUTHORIZED, "who are you").into_response(),
                    "/items/later" => (StatusCode::NOT_FOUND, "not scanned yet").into_response(),
                    "/items/echo" => (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        format!("rejected token {}", entry.app_token.unwrap_or_default()),
                    )
                        .into_response(),
                    "/echo" => (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        format!("rejected token {}", entry.plex_token.unwrap_or_default()),
                    )
                        .into_response(),
                    _ => "ok".into_response(),
                }
            }
        });
        MockDownstream {
            base: super::serve(router).await,
            seen,
            down,
        }
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("seen").clone()
    }

    /// The requests to `path`.
    pub fn seen_at(&self, path: &str) -> Vec<Seen> {
        self.seen().into_iter().filter(|s| s.path == path).collect()
    }

    /// While down, `/health` and `/items/*` answer 503.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, std::sync::atomic::Ordering::SeqCst);
    }
}
