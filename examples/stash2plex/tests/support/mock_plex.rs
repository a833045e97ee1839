//! A Plex Media Server on loopback that answers as the real one does (JSON with
//! `Accept: application/json`, the real field names), for the calls stash2plex makes:
//! `/identity`, `/library/sections`, `/library/sections/{key}/all` (paged by the
//! `X-Plex-Container-*` headers), `/library/metadata/{ratingKey}`, edits by `PUT
//! /library/sections/{key}/all?type=1&id=..&field.value=..&field.locked=1&tag[i].tag.tag=..`
//! and poster uploads.
//!
//! It can behave like a real server at its worst: a file is invisible until a library
//! scan ran ([`MockPlex::scan`]); it can be down (the port refuses connections), start
//! up (503 on every path, `/identity` included), demand another token (401), or hold an
//! edit request until the test lets it go.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};

/// How the server behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Serving.
    Up,
    /// Starting: every path answers 503.
    Starting,
}

/// What a held edit becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Release {
    /// Applied and answered 200.
    Apply,
    /// Dropped unapplied, as if the connection died with the request (answered 503 if
    /// anyone still listens).
    Discard,
}

/// One movie item of the mock.
#[derive(Clone, Debug, Default)]
pub struct PlexItem {
    pub rating_key: u64,
    pub section: String,
    pub file: String,
    /// Listed and answered only once scanned.
    pub scanned: bool,
    pub title: String,
    pub summary: String,
    pub studio: String,
    pub date: String,
    /// By edit name: `actor`, `genre`, `collection`, `label`.
    pub tags: BTreeMap<String, Vec<String>>,
    pub locks: BTreeSet<String>,
    /// The fingerprint of the uploaded poster.
    pub poster: Option<String>,
    pub poster_uploads: u32,
    /// Edits applied to this item.
    pub edits: u32,
}

/// A request as the mock saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: Method,
    pub path: String,
    pub query: String,
    pub token: Option<String>,
}

/// The mock's state.
#[derive(Debug)]
pub struct PlexState {
    pub token: String,
    pub mode: Mode,
    pub sections: Vec<(String, String)>,
    pub items: BTreeMap<u64, PlexItem>,
    pub requests: Vec<Seen>,
    /// Edits are held while set.
    pub hold_edits: bool,
    /// Edits waiting for a release.
    pub held: usize,
    /// How many requests answered 503 while starting.
    pub starting_answers: usize,
}

struct Shared {
    state: Mutex<PlexState>,
    changed: watch::Sender<u64>,
    release: watch::Sender<Option<Release>>,
}

/// A mock Plex on a fixed loopback port.
pub struct MockPlex {
    shared: Arc<Shared>,
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl MockPlex {
    /// A server with one movie library, "Adult" (key 1), serving with `token`.
    pub async fn start(token: &str) -> MockPlex {
        let (changed, _) = watch::channel(0);
        let (release, _) = watch::channel(None);
        let shared = Arc::new(Shared {
            state: Mutex::new(PlexState {
                token: token.to_owned(),
                mode: Mode::Up,
                sections: vec![("1".into(), "Adult".into()), ("2".into(), "Music".into())],
                items: BTreeMap::new(),
                requests: Vec::new(),
                hold_edits: false,
                held: 0,
                starting_answers: 0,
            }),
            changed,
            release,
        });
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind mock plex");
        let addr = listener.local_addr().expect("address");
        let mut plex = MockPlex {
            shared,
            addr,
            stop: None,
            task: None,
        };
        plex.serve(listener);
        plex
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn serve(&mut self, listener: TcpListener) {
        let router = Router::new()
            .route("/identity", get(identity))
            .route("/library/sections", get(sections))
            .route("/library/sections/{key}/all", get(listing).put(edit))
            .route("/library/metadata/{id}", get(metadata))
            .route("/library/metadata/{id}/posters", post(poster))
            .fallback(not_found)
            .with_state(Arc::clone(&self.shared));
        let (stop, stopped) = oneshot::channel::<()>();
        self.stop = Some(stop);
        self.task = Some(tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await;
        }));
    }

    /// Takes the server down: its port refuses connections until [`MockPlex::up`].
    pub async fn down(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
    }

    /// Listens again on the same port, in `mode`.
    pub async fn up(&mut self, mode: Mode) {
        self.set_mode(mode);
        let listener = TcpListener::bind(self.addr)
            .await
            .expect("rebind mock plex");
        self.serve(listener);
    }

    pub fn set_mode(&self, mode: Mode) {
        self.change(|s| s.mode = mode);
    }

    /// The state, to read.
    pub fn state(&self) -> MutexGuard<'_, PlexState> {
        self.shared.state.lock().expect("mock plex state")
    }

    /// Changes the state and wakes waiters.
    pub fn change<T>(&self, f: impl FnOnce(&mut PlexState) -> T) -> T {
        let out = f(&mut self.state());
        self.shared.changed.send_modify(|v| *v += 1);
        out
    }

    /// Adds an item of library 1 holding `file`, scanned or not yet; its ratingKey.
    pub fn add_item(&self, file: &str, scanned: bool) -> u64 {
        self.change(|s| {
            let key = 1000 + s.items.len() as u64;
            let title = file
                .rsplit('/')
                .next()
                .unwrap_or(file)
                .rsplit_once('.')
                .map_or(file, |(stem, _)| stem)
                .to_owned();
            s.items.insert(
                key,
                PlexItem {
                    rating_key: key,
                    section: "1".into(),
                    file: file.into(),
                    scanned,
                    title,
                    ..PlexItem::default()
                },
            );
            key
        })
    }

    /// A library scan: every file becomes visible.
    pub fn scan(&self) {
        self.change(|s| s.items.values_mut().for_each(|i| i.scanned = true));
    }

    /// An item, cloned.
    pub fn item(&self, key: u64) -> PlexItem {
        self.state()
            .items
            .get(&key)
            .cloned()
            .expect("mock plex item")
    }

    /// Waits until `check` holds, woken by every request and change.
    pub async fn until(&self, limit: Duration, what: &str, check: impl Fn(&PlexState) -> bool) {
        let mut changes = self.shared.changed.subscribe();
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if check(&self.state()) {
                return;
            }
            match tokio::time::timeout_at(deadline, changes.changed()).await {
                Ok(Ok(())) => {}
                _ => panic!(
                    "mock plex: not reached within {limit:?}: {what}\n{:#?}",
                    self.summary()
                ),
            }
        }
    }

    /// Lets held edits go (and stops holding new ones).
    pub fn release(&self, how: Release) {
        self.change(|s| s.hold_edits = false);
        self.shared.release.send_replace(Some(how));
    }

    /// Requests matching `method` and a path starting with `prefix`.
    pub fn count(&self, method: &Method, prefix: &str) -> usize {
        self.state()
            .requests
            .iter()
            .filter(|r| r.method == method && r.path.starts_with(prefix))
            .count()
    }

    fn summary(&self) -> String {
        let s = self.state();
        let recent: Vec<String> = s
            .requests
            .iter()
            .rev()
            .take(12)
            .map(|r| format!("{} {}?{}", r.method, r.path, r.query))
            .collect();
        format!(
            "mode {:?}, items {:#?}, last requests {recent:#?}",
            s.mode, s.items
        )
    }
}

impl Drop for MockPlex {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

type St = State<Arc<Shared>>;

/// Records the request; answers 503 while starting and 401 for a wrong token
/// (`/identity` needs none, as on a real server).
fn admit(shared: &Shared, method: &Method, uri: &Uri, headers: &HeaderMap) -> Option<Response> {
    let token = headers
        .get("X-Plex-Token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut s = shared.state.lock().expect("state");
    s.requests.push(Seen {
        method: method.clone(),
        path: uri.path().to_owned(),
        query: uri.query().unwrap_or("").to_owned(),
        token: token.clone(),
    });
    let answer = if s.mode == Mode::Starting {
        s.starting_answers += 1;
        Some(
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "<html><head><title>Service Unavailable</title></head><body>\
                 <h1>503 Service Unavailable</h1></body></html>",
            )
                .into_response(),
        )
    } else if uri.path() != "/identity" && token.as_deref() != Some(s.token.as_str()) {
        Some(
            (
                StatusCode::UNAUTHORIZED,
                "<html><head><title>Unauthorized</title></head><body>\
                 <h1>401 Unauthorized</h1></body></html>",
            )
                .into_response(),
        )
    } else {
        None
    };
    drop(s);
    shared.changed.send_modify(|v| *v += 1);
    answer
}

fn container(body: Value) -> Response {
    axum::Json(json!({ "MediaContainer": body })).into_response()
}

async fn identity(State(shared): St, method: Method, uri: Uri, headers: HeaderMap) -> Response {
    if let Some(r) = admit(&shared, &method, &uri, &headers) {
        return r;
    }
    container(json!({
        "size": 0, "apiVersion": "1.1.1", "claimed": true,
        "machineIdentifier": "4d6f636b506c6578", "version": "1.41.3.9314-a0bfb8370"
    }))
}

async fn sections(State(shared): St, method: Method, uri: Uri, headers: HeaderMap) -> Response {
    if let Some(r) = admit(&shared, &method, &uri, &headers) {
        return r;
    }
    let s = shared.state.lock().expect("state");
    let dirs: Vec<Value> = s
        .sections
        .iter()
        .map(|(key, title)| {
            let kind = if title == "Music" { "artist" } else { "movie" };
            json!({
                "allowSync": true, "key": key, "type": kind, "title": title,
                "agent": "tv.plex.agents.none", "scanner": "Plex Video Files Scanner",
                "language": "xn", "uuid": format!("mock-{key}"), "refreshing": false,
                "Location": [{ "id": key.parse::<u64>().unwrap_or(0), "path": "/mnt/media" }]
            })
        })
        .collect();
    container(
        json!({ "size": dirs.len(), "allowSync": false, "title1": "Plex Library", "Directory": dirs }),
    )
}

fn listed(item: &PlexItem) -> Value {
    json!({
        "ratingKey": item.rating_key.to_string(),
        "key": format!("/library/metadata/{}", item.rating_key),
        "guid": format!("local://{}", item.rating_key),
        "type": "movie",
        "title": item.title,
        "summary": item.summary,
        "studio": item.studio,
        "originallyAvailableAt": item.date,
        "addedAt": 1_700_000_000,
        "updatedAt": 1_700_000_000,
        "Media": [{
            "id": item.rating_key, "duration": 1_200_000, "container": "mp4", "videoCodec": "h264",
            "Part": [{
                "id": item.rating_key, "key": format!("/library/parts/{}/1700000000/file.mp4", item.rating_key),
                "duration": 1_200_000, "file": item.file, "size": 1_048_576, "container": "mp4"
            }]
        }]
    })
}

async fn listing(
    State(shared): St,
    Path(key): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = admit(&shared, &method, &uri, &headers) {
        return r;
    }
    let header = |name: &str, default: usize| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let (start, size) = (
        header("X-Plex-Container-Start", 0),
        header("X-Plex-Container-Size", 50),
    );
    let s = shared.state.lock().expect("state");
    if !s.sections.iter().any(|(k, _)| *k == key) {
        return (StatusCode::NOT_FOUND, "").into_response();
    }
    let all: Vec<&PlexItem> = s
        .items
        .values()
        .filter(|i| i.section == key && i.scanned)
        .collect();
    let page: Vec<Value> = all
        .iter()
        .skip(start)
        .take(size)
        .map(|i| listed(i))
        .collect();
    container(json!({
        "size": page.len(), "totalSize": all.len(), "offset": start,
        "librarySectionID": key.parse::<u64>().unwrap_or(0), "viewGroup": "movie",
        "Metadata": page
    }))
}

async fn metadata(
    State(shared): St,
    Path(id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = admit(&shared, &method, &uri, &headers) {
        return r;
    }
    let s = shared.state.lock().expect("state");
    let Some(item) = id
        .parse::<u64>()
        .ok()
        .and_then(|k| s.items.get(&k))
        .filter(|i| i.scanned)
    else {
        return (
            StatusCode::NOT_FOUND,
            "<html><head><title>Not Found</title></head></html>",
        )
            .into_response();
    };
    let mut m = listed(item);
    m["librarySectionID"] = json!(item.section.parse::<u64>().unwrap_or(0));
    m["librarySectionTitle"] = json!("Adult");
    for (edit_name, json_name) in [
        ("genre", "Genre"),
        ("actor", "Role"),
        ("collection", "Collection"),
        ("label", "Label"),
    ] {
        if let Some(tags) = item.tags.get(edit_name).filter(|t| !t.is_empty()) {
            let list: Vec<Value> = tags
                .iter()
                .enumerate()
                .map(|(i, t)| json!({ "id": i + 1, "filter": format!("{edit_name}={}", i + 1), "tag": t }))
                .collect();
            m[json_name] = Value::Array(list);
        }
    }
    if !item.locks.is_empty() {
        m["Field"] = Value::Array(
            item.locks
                .iter()
                .map(|f| json!({ "locked": true, "name": f }))
                .collect(),
        );
    }
    container(
        json!({ "size": 1, "librarySectionID": item.section.parse::<u64>().unwrap_or(0), "Metadata": [m] }),
    )
}

async fn edit(
    State(shared): St,
    Path(key): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = admit(&shared, &method, &uri, &headers) {
        return r;
    }
    let hold = {
        let mut s = shared.state.lock().expect("state");
        if s.hold_edits {
            s.held += 1;
        }
        s.hold_edits
    };
    if hold {
        let mut release = shared.release.subscribe();
        shared.changed.send_modify(|v| *v += 1);
        let how = loop {
            if let Some(how) = *release.borrow_and_update() {
                break how;
            }
            if release.changed().await.is_err() {
                break Release::Discard;
            }
        };
        if how == Release::Discard {
            return (StatusCode::SERVICE_UNAVAILABLE, "").into_response();
        }
    }
    let params = parse_query(uri.query().unwrap_or(""));
    let get = |k: &str| {
        params
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    if get("type").as_deref() != Some("1") {
        return (StatusCode::BAD_REQUEST, "type must be 1").into_response();
    }
    let mut s = shared.state.lock().expect("state");
    let Some(item) = get("id")
        .and_then(|id| id.parse::<u64>().ok())
        .and_then(|k| s.items.get_mut(&k))
        .filter(|i| i.scanned && i.section == key)
    else {
        return (StatusCode::NOT_FOUND, "").into_response();
    };
    let mut indexed: BTreeMap<String, BTreeMap<usize, String>> = BTreeMap::new();
    for (k, v) in &params {
        if let Some(field) = k.strip_suffix(".value") {
            match field {
                "title" => item.title = v.clone(),
                "summary" => item.summary = v.clone(),
                "studio" => item.studio = v.clone(),
                "originallyAvailableAt" => item.date = v.clone(),
                _ => {}
            }
        } else if let Some(field) = k.strip_suffix(".locked") {
            if v == "1" {
                item.locks.insert(field.to_owned());
            } else {
                item.locks.remove(field);
            }
        } else if let Some((field, i)) = k
            .split_once('[')
            .and_then(|(f, rest)| Some((f, rest.strip_suffix("].tag.tag")?.parse::<usize>().ok()?)))
        {
            indexed
                .entry(field.to_owned())
                .or_default()
                .insert(i, v.clone());
        }
    }
    for (field, tags) in indexed {
        item.tags.insert(field, tags.into_values().collect());
    }
    for (k, v) in &params {
        if let Some(field) = k.strip_suffix("[].tag.tag-") {
            let gone: Vec<String> = v.split(',').map(percent_decode).collect();
            if let Some(tags) = item.tags.get_mut(field) {
                tags.retain(|t| !gone.contains(t));
            }
        }
    }
    item.edits += 1;
    drop(s);
    shared.changed.send_modify(|v| *v += 1);
    StatusCode::OK.into_response()
}

async fn poster(
    State(shared): St,
    Path(id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(r) = admit(&shared, &method, &uri, &headers) {
        return r;
    }
    let mut s = shared.state.lock().expect("state");
    let Some(item) = id
        .parse::<u64>()
        .ok()
        .and_then(|k| s.items.get_mut(&k))
        .filter(|i| i.scanned)
    else {
        return (StatusCode::NOT_FOUND, "").into_response();
    };
    if body.is_empty() {
        return (StatusCode::BAD_REQUEST, "no image").into_response();
    }
    item.poster = Some(stash2plex::poster::fingerprint(&body));
    item.poster_uploads += 1;
    drop(s);
    shared.changed.send_modify(|v| *v += 1);
    StatusCode::OK.into_response()
}

async fn not_found(State(shared): St, method: Method, uri: Uri, headers: HeaderMap) -> Response {
    if let Some(r) = admit(&shared, &method, &uri, &headers) {
        return r;
    }
    (StatusCode::NOT_FOUND, "").into_response()
}

/// `k=v&...` with values percent-decoded once (keys as sent).
fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k.to_owned(), percent_decode(v))
        })
        .collect()
}

/// `%XX` decoded; `+` is kept (Plex clients encode a space as `%20`).
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        if let (b'%', Some(b)) = (bytes[i], hex) {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
