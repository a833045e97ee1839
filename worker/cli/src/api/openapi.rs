//! The OpenAPI document of the API, generated from the handlers and their types
//! (utoipa), served at `GET /v1/openapi.json` and checked against the live daemon in CI
//! (`.ci/api-schema`, with schemathesis).

use axum::Json;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{dead, info, jobs, list, queues, ready, schedules};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "tenax",
        description = "The local API of the tenax daemon: enqueue, inspect, manage dead letters. With a token configured, every request but the probes needs `Authorization: Bearer <token>`."
    ),
    paths(
        jobs::enqueue,
        list::list,
        jobs::show,
        jobs::cancel,
        info::stats,
        info::policy,
        info::breaker,
        schedules::list,
        info::health,
        info::metrics,
        dead::list,
        dead::show,
        dead::delete,
        dead::requeue,
        dead::purge,
        queues::list,
        queues::pause,
        queues::resume,
        queues::limit,
        ready::ready,
        document,
    ),
    modifiers(&BearerToken),
    security((), ("token" = [])),
)]
struct ApiDoc;

/// The `token` scheme: `Authorization: Bearer <api.token>` when a token is configured
/// (hence the empty alternative: without one, no credential is needed).
struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The document, as JSON.
pub(crate) fn json() -> serde_json::Value {
    serde_json::to_value(ApiDoc::openapi()).unwrap_or_default()
}

/// This document.
#[utoipa::path(get, path = "/v1/openapi.json", tag = "inspect",
    responses((status = 200, description = "The OpenAPI document", body = Object)))]
pub(crate) async fn document() -> Json<serde_json::Value> {
    Json(json())
}
