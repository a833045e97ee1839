//! `GET /v1/openapi.json` describes every route the daemon serves.

mod support;

use anyhow::Result;
use serde_json::Value;
use support::daemon::Daemon;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_lists_every_route_with_its_answers() -> Result<()> {
    let daemon = Daemon::start("");
    let client = support::api_client();
    let doc: Value = client
        .get(format!("{}/v1/openapi.json", daemon.url))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    assert!(
        doc["openapi"].as_str().unwrap_or("").starts_with("3."),
        "{doc}"
    );
    let routes = [
        ("/v1/jobs", "post"),
        ("/v1/jobs/{id}", "get"),
        ("/v1/stats", "get"),
        ("/v1/dead", "get"),
        ("/v1/dead", "delete"),
        ("/v1/dead/{id}", "get"),
        ("/v1/dead/requeue", "post"),
        ("/v1/policy", "get"),
        ("/v1/breaker", "get"),
        ("/v1/schedules", "get"),
        ("/v1/queues", "get"),
        ("/v1/queues/{name}/pause", "post"),
        ("/v1/queues/{name}/resume", "post"),
        ("/v1/queues/{name}/limit", "post"),
        ("/v1/openapi.json", "get"),
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/metrics", "get"),
        ("/v1/jobs/cancel", "post"),
        ("/v1/dead/groups", "get"),
        ("/v1/policy/check", "post"),
        ("/v1/history", "get"),
        ("/ui/session", "get"),
    ];
    for (path, method) in routes {
        let op = &doc["paths"][path][method];
        assert!(op["responses"].is_object(), "{method} {path} is documented");
        // Each documented route is served (not the fallback's "no such endpoint").
        if method == "get" && !path.contains('{') {
            let r = client.get(format!("{}{path}", daemon.url)).send().await?;
            assert_ne!(r.status().as_u16(), 404, "{path} is served");
        }
    }
    let paths = doc["paths"].as_object().map_or(0, |p| p.len());
    assert_eq!(paths, 22, "no route documented that is not served");
    assert!(doc["components"]["schemas"]["JobView"].is_object());
    assert_eq!(
        doc["components"]["securitySchemes"]["token"]["scheme"], "bearer",
        "the token is documented"
    );
    Ok(())
}
