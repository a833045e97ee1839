//! The OpenAPI document of the API, generated from the handlers and their types
//! (utoipa), served at `GET /v1/openapi.json` and checked against the live daemon in CI
//! (`.ci/api-schema`, with schemathesis).

use axum::Json;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{
    breaker, cancel, dead, dead_groups, history, info, jobs, list, policy, queues, ready,
    schedules, session,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "tenax",
        description = "The local API of the tenax daemon: enqueue, inspect, manage dead letters. With a token configured, every request but the probes needs `Authorization: Bearer <token>` (or the dashboard's session cookie); the read-only token (`api.read_token`) may make every GET and `POST /v1/policy/check`, and gets 403 `read_only` elsewhere. A state-changing request with a foreign `Origin` gets 403 `cross_origin`."
    ),
    paths(
        jobs::enqueue,
        list::list,
        jobs::show,
        jobs::cancel,
        cancel::cancel_many,
        info::stats,
        policy::policy,
        policy::check,
        history::history,
        breaker::breaker,
        schedules::list,
        info::health,
        info::metrics,
        dead::list,
        dead::show,
        dead::delete,
        dead::requeue,
        dead::purge,
        dead_groups::groups,
        queues::list,
        queues::pause,
        queues::resume,
        queues::limit,
        ready::ready,
        session::session,
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
