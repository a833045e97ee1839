//! A Stash server on loopback answering its GraphQL API (`POST /graphql`) for the
//! queries stash2plex and its plugin make (`findScene(id)`, `findScenes` with an `id`
//! cursor and an `updated_at` filter, `version`), and serving scene screenshots, with
//! the real field names. Requests must carry the API key (`ApiKey` header) or the
//! plugin's session cookie, as a Stash with credentials demands.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// A scene of the mock.
#[derive(Clone, Debug, Default)]
pub struct StashScene {
    pub id: u64,
    pub title: String,
    pub details: String,
    pub date: String,
    pub studio: Option<String>,
    pub performers: Vec<String>,
    pub tags: Vec<String>,
    pub files: Vec<String>,
    pub screenshot: Option<Vec<u8>>,
    /// Seconds after 2024-01-01T00:00:00Z.
    pub updated: u64,
}

/// The mock's state.
#[derive(Debug, Default)]
pub struct StashState {
    pub api_key: String,
    pub session: String,
    pub scenes: BTreeMap<u64, StashScene>,
    /// `findScene` calls per scene id.
    pub find_scene_calls: BTreeMap<String, u32>,
    /// Statuses to answer the next GraphQL requests with, first first.
    pub fail_next: Vec<u16>,
    clock: u64,
}

/// A mock Stash.
pub struct MockStash {
    state: Arc<Mutex<StashState>>,
    pub url: String,
}

/// 2024-01-01T00:00:00Z.
const EPOCH_2024: u64 = 1_704_067_200;

/// `updated` as Stash prints `updated_at`.
pub fn timestamp(updated: u64) -> String {
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(EPOCH_2024 + updated);
    humantime::format_rfc3339_seconds(at).to_string()
}

impl MockStash {
    /// A server accepting `api_key` and the session cookie `session`.
    pub async fn start(api_key: &str, session: &str) -> MockStash {
        let state = Arc::new(Mutex::new(StashState {
            api_key: api_key.to_owned(),
            session: session.to_owned(),
            ..StashState::default()
        }));
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind mock stash");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let router = Router::new()
            .route("/graphql", post(graphql))
            .route("/scene/{id}/screenshot", get(screenshot))
            .with_state((Arc::clone(&state), url.clone()));
        tokio::spawn(async move { axum::serve(listener, router).await });
        MockStash { state, url }
    }

    pub fn state(&self) -> MutexGuard<'_, StashState> {
        self.state.lock().expect("mock stash state")
    }

    /// Adds or changes scene `id` (its `updated_at` moves forward).
    pub fn put(&self, scene: StashScene) {
        let mut s = self.state();
        s.clock += 60;
        let mut scene = scene;
        scene.updated = s.clock;
        s.scenes.insert(scene.id, scene);
    }

    /// Changes scene `id` with `f` (its `updated_at` moves forward).
    pub fn update(&self, id: u64, f: impl FnOnce(&mut StashScene)) {
        let mut scene = self
            .state()
            .scenes
            .get(&id)
            .cloned()
            .expect("mock stash scene");
        f(&mut scene);
        self.put(scene);
    }

    /// The current clock as an `updated_at`.
    pub fn now(&self) -> String {
        timestamp(self.state().clock)
    }

    pub fn find_scene_calls(&self, id: u64) -> u32 {
        self.state()
            .find_scene_calls
            .get(&id.to_string())
            .copied()
            .unwrap_or(0)
    }
}

type St = State<(Arc<Mutex<StashState>>, String)>;

fn authorized(s: &StashState, headers: &HeaderMap) -> bool {
    let key = headers.get("ApiKey").and_then(|v| v.to_str().ok());
    let cookie = headers
        .get("Cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    key == Some(s.api_key.as_str())
        || (!s.session.is_empty()
            && cookie
                .split("; ")
                .any(|c| c == format!("session={}", s.session)))
}

fn scene_json(scene: &StashScene, base: &str) -> Value {
    let named =
        |list: &[String]| -> Vec<Value> { list.iter().map(|n| json!({ "name": n })).collect() };
    json!({
        "id": scene.id.to_string(),
        "title": scene.title,
        "details": scene.details,
        "date": if scene.date.is_empty() { Value::Null } else { json!(scene.date) },
        "updated_at": timestamp(scene.updated),
        "studio": scene.studio.as_ref().map(|n| json!({ "name": n })),
        "performers": named(&scene.performers),
        "tags": named(&scene.tags),
        "files": scene.files.iter().map(|p| json!({ "path": p })).collect::<Vec<_>>(),
        "paths": { "screenshot": format!("{base}/scene/{}/screenshot?t={}", scene.id, scene.updated) },
    })
}

async fn graphql(State((state, base)): St, headers: HeaderMap, body: String) -> Response {
    let mut s = state.lock().expect("state");
    if !s.fail_next.is_empty() {
        let status = s.fail_next.remove(0);
        return (
            StatusCode::from_u16(status).expect("status"),
            "failing on purpose",
        )
            .into_response();
    }
    if !authorized(&s, &headers) {
        return (StatusCode::UNAUTHORIZED, "Unauthorized\n").into_response();
    }
    let Ok(request) = serde_json::from_str::<Value>(&body) else {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            "{\"errors\":[{\"message\":\"bad JSON\"}]}",
        )
            .into_response();
    };
    let query = request["query"].as_str().unwrap_or_default();
    let vars = &request["variables"];
    let data = if query.contains("findScenes(") {
        let filter = &vars["filter"];
        assert_eq!(filter["sort"], "id", "pages are read in id order");
        let per_page = filter["per_page"].as_u64().unwrap_or(25) as usize;
        let sf = &vars["scene_filter"];
        let after = sf["id"]["value"].as_u64().unwrap_or(0);
        let since = sf["updated_at"]["value"]
            .as_str()
            .map(|t| humantime::parse_rfc3339_weak(t).expect("an RFC 3339 updated_at filter"));
        let matching: Vec<&StashScene> = s
            .scenes
            .values()
            .filter(|sc| sc.id > after)
            .filter(|sc| {
                since.is_none_or(|t| {
                    SystemTime::UNIX_EPOCH + Duration::from_secs(EPOCH_2024 + sc.updated) > t
                })
            })
            .collect();
        let page: Vec<Value> = matching
            .iter()
            .take(per_page)
            .map(|sc| scene_json(sc, &base))
            .collect();
        json!({ "findScenes": { "count": matching.len(), "duration": 0.0, "filesize": 0.0, "scenes": page } })
    } else if query.contains("findScene(") {
        let id = match &vars["id"] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        *s.find_scene_calls.entry(id.clone()).or_default() += 1;
        let scene = id
            .parse::<u64>()
            .ok()
            .and_then(|i| s.scenes.get(&i))
            .map(|sc| scene_json(sc, &base));
        json!({ "findScene": scene })
    } else if query.contains("version") {
        json!({ "version": { "version": "v0.27.2", "hash": "mock", "build_time": "2024-01-01" } })
    } else {
        return axum::Json(
            json!({ "errors": [{ "message": "mock stash: unknown query" }], "data": null }),
        )
        .into_response();
    };
    axum::Json(json!({ "data": data })).into_response()
}

async fn screenshot(State((state, _)): St, Path(id): Path<u64>, headers: HeaderMap) -> Response {
    let s = state.lock().expect("state");
    if !authorized(&s, &headers) {
        return (StatusCode::UNAUTHORIZED, "Unauthorized\n").into_response();
    }
    match s.scenes.get(&id).and_then(|sc| sc.screenshot.clone()) {
        Some(image) => ([("Content-Type", "image/jpeg")], image).into_response(),
        None => (StatusCode::NOT_FOUND, "").into_response(),
    }
}
