//! Arbitrary requests to the daemon's API (the same router, store and handler checks
//! `tenax run` serves): the first byte picks an endpoint, the rest is its body, query or
//! path. Whatever arrives, the answer is never a 5xx, an error always has a JSON body,
//! and the store keeps working.
#![no_main]

use std::sync::{Arc, LazyLock};

use axum::body::Body;
use axum::http::{Method, Request};
use tenax::api::{self, ApiState};
use tenax_core::{Durability, JobStore, Store, StoreOptions};
use tenax_policies::{CompiledPolicy, LivePolicy};
use tenax_worker::Worker;
use tenax_worker::http::{HttpConfig, HttpHandler};

/// The kind `tenax run` registers its HTTP handler under.
const HTTP_KIND: &str = "http";
use tower::ServiceExt;

struct Fixture {
    runtime: tokio::runtime::Runtime,
    app: axum::Router,
    store: Arc<Store>,
    _dir: tempfile::TempDir,
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let dir = tempfile::tempdir().expect("temp dir");
    // Buffered: the fuzzer is after parsing bugs, not fdatasync.
    let options = StoreOptions::default().durability(Durability::Buffered);
    let store = Arc::new(Store::open(dir.path(), options).expect("open the store"));
    let policy = LivePolicy::new(CompiledPolicy::default());
    let config = HttpConfig {
        allowed_bases: vec!["http://127.0.0.1:9/media/".into()],
        ..HttpConfig::default()
    };
    let http = HttpHandler::new(config, policy.clone()).expect("HTTP handler");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dyn_store: Arc<dyn JobStore> = store.clone();
    let worker = Worker::builder(dyn_store.clone(), policy.clone())
        .handler(HTTP_KIND, http)
        .build()
        .expect("worker");
    let state = ApiState::new(dyn_store, policy, &worker);
    let app = api::router(state, api::DEFAULT_BODY_LIMIT);
    Fixture {
        runtime,
        app,
        store,
        _dir: dir,
    }
});

fn request(bytes: &[u8]) -> Option<Request<Body>> {
    let (&selector, rest) = bytes.split_first()?;
    let text = || String::from_utf8_lossy(rest).into_owned();
    let (method, uri, body) = match selector % 6 {
        0 => (Method::POST, "/v1/jobs".to_owned(), rest.to_vec()),
        1 => (Method::POST, "/v1/dead/requeue".to_owned(), rest.to_vec()),
        2 => (Method::GET, format!("/v1/dead?{}", text()), Vec::new()),
        3 => (Method::DELETE, format!("/v1/dead?{}", text()), Vec::new()),
        4 => (Method::GET, format!("/v1/jobs/{}", text()), Vec::new()),
        _ => (Method::GET, format!("/v1/dead/{}", text()), Vec::new()),
    };
    // A target that is not a valid URI never reaches the router (the HTTP parser refuses it).
    Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(Body::from(body))
        .ok()
}

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| {
    let Some(request) = request(bytes) else {
        return;
    };
    let fixture = &*FIXTURE;
    let (status, body) = fixture.runtime.block_on(async {
        let response = fixture
            .app
            .clone()
            .oneshot(request)
            .await
            .expect("infallible");
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        (status, body)
    });
    assert!(
        !status.is_server_error(),
        "{status} for bad input: {}",
        String::from_utf8_lossy(&body)
    );
    if status.is_client_error() {
        let error: serde_json::Value =
            serde_json::from_slice(&body).expect("an error answer is JSON");
        assert!(error["error"]["message"].is_string(), "{error}");
    }
    fixture.store.stats().expect("the store still answers");
});
