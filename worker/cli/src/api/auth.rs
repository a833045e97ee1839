//! Who is calling, and what they may do: one middleware in front of every route.
//!
//! Three ways in: `Authorization: Bearer` with `api.token` (admin) or `api.read_token`
//! (read), a browser session cookie (its role, from the login form), or nothing at all
//! when no token is configured (admin: the API is then on loopback only). A read caller
//! may use every `GET`/`HEAD`, plus `POST /v1/policy/check` and `POST /ui/logout`,
//! which change nothing stored.
//!
//! Two checks protect browsers from other web pages. A state-changing request (any
//! method but `GET`, `HEAD`, `OPTIONS`) whose `Origin` is not this server's is refused
//! whatever its credentials: in open mode a malicious page could otherwise reach the
//! loopback API from the operator's own browser. And a state-changing request
//! authenticated by the session cookie must echo the session's CSRF token in
//! `X-CSRF-Token`, which another site cannot read. Requests without `Origin` and with a
//! bearer token (curl, the CLI) pass as before.

use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Serialize;
use subtle::ConstantTimeEq;

use super::ApiState;
use super::error::ApiError;
use super::origin;
use super::session::{self, Session};

/// What a caller may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Role {
    /// Everything.
    Admin,
    /// Every read, and nothing that changes the queue.
    Read,
}

/// The authenticated caller of a request, for the handlers that need it.
#[derive(Clone, Debug)]
pub(crate) struct Caller {
    pub(crate) role: Role,
    /// The browser session, when the cookie authenticated the request.
    pub(crate) session: Option<(String, Session)>,
}

/// The one gate in front of every route (see the module docs).
pub(crate) async fn authorize(
    State(state): State<ApiState>,
    mut request: Request,
    next: Next,
) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let changes = changes_state(&method);
    if changes && !origin::same_origin(request.headers()) {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "cross_origin",
            "a state-changing request from another site's page is refused",
        )
        .into_response();
    }
    if is_public(&path) {
        return next.run(request).await;
    }
    let caller = match identify(&state, request.headers()) {
        Identity::Caller(caller) => caller,
        Identity::WrongToken => return unauthorized(),
        Identity::Nobody if is_page(&path) && !changes => {
            return Redirect::to(session::LOGIN_PATH).into_response();
        }
        Identity::Nobody => return unauthorized(),
    };
    if caller.role == Role::Read && changes && !read_may_post(&method, &path) {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "read_only",
            "the read-only token can look but not change anything",
        )
        .into_response();
    }
    if changes
        && path != session::LOGOUT_PATH
        && let Some((_, session)) = &caller.session
    {
        let given = request
            .headers()
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok());
        if !given.is_some_and(|t| session.csrf_matches(t)) {
            return ApiError::new(
                StatusCode::FORBIDDEN,
                "csrf",
                "a request authenticated by the session cookie must carry the session's \
                 `X-CSRF-Token` (see GET /ui/session)",
            )
            .into_response();
        }
    }
    request.extensions_mut().insert(caller);
    next.run(request).await
}

/// Any method but the safe ones (RFC 9110) changes something.
pub(crate) fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Routes anyone may reach: the probes (a load balancer carries no token), the login
/// form, and the dashboard's static assets (the login page needs its style sheet).
fn is_public(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | session::LOGIN_PATH) || path.starts_with("/ui/assets/")
}

/// A dashboard page: an unauthenticated browser is sent to the login form.
fn is_page(path: &str) -> bool {
    (path == "/ui" || path.starts_with("/ui/")) && path != session::SESSION_PATH
}

/// The state-changing requests a read caller may make: checking a draft policy (nothing
/// is applied) and logging out (only its own session ends).
fn read_may_post(method: &Method, path: &str) -> bool {
    *method == Method::POST && matches!(path, "/v1/policy/check" | session::LOGOUT_PATH)
}

enum Identity {
    Caller(Caller),
    /// A bearer credential that matches no token.
    WrongToken,
    /// No credential, where one is needed.
    Nobody,
}

fn identify(state: &ApiState, headers: &HeaderMap) -> Identity {
    let Some(admin) = state.token.as_deref() else {
        // No token: the API is open (and on loopback only).
        return Identity::Caller(Caller {
            role: Role::Admin,
            session: None,
        });
    };
    if let Some(given) = bearer_of(headers) {
        return match role_of(state, admin, given) {
            Some(role) => Identity::Caller(Caller {
                role,
                session: None,
            }),
            None => Identity::WrongToken,
        };
    }
    let cookie = session::cookie_of(headers);
    match cookie.and_then(|id| Some((id, state.sessions.get(id, Instant::now())?))) {
        Some((id, session)) => Identity::Caller(Caller {
            role: session.role,
            session: Some((id.to_owned(), session)),
        }),
        None => Identity::Nobody,
    }
}

/// The role `given` grants: admin for `api.token`, read for `api.read_token`.
pub(crate) fn role_of(state: &ApiState, admin: &str, given: &str) -> Option<Role> {
    // Both comparisons always run, so the time taken does not say which token was close.
    let is_admin = matches(given, admin);
    let is_read = state
        .read_token
        .as_deref()
        .is_some_and(|read| matches(given, read));
    if is_admin {
        Some(Role::Admin)
    } else if is_read {
        Some(Role::Read)
    } else {
        None
    }
}

fn unauthorized() -> Response {
    let mut response = ApiError::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "this API needs `Authorization: Bearer <token>` with a configured token",
    )
    .into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer"),
    );
    response
}

/// Whether `headers` carry `Authorization: Bearer <expected>`.
pub(crate) fn carries_token(headers: &HeaderMap, expected: &str) -> bool {
    bearer_of(headers).is_some_and(|token| matches(token, expected))
}

/// Compares constant-time over the bytes, so the comparison does not leak how much of a
/// guessed token was right.
fn matches(given: &str, expected: &str) -> bool {
    bool::from(given.as_bytes().ct_eq(expected.as_bytes()))
}

fn bearer_of(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer)
}

/// The token of a `Bearer` credential; the scheme name is case-insensitive (RFC 9110).
///
/// An empty credential is never a token, so an API configured with an empty token by
/// mistake stays closed instead of opening to `Authorization: Bearer `.
fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_credentials() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bEaReR abc"), Some("abc"));
        assert_eq!(bearer("Bearer "), None);
        assert_eq!(bearer("Bearer    "), None);
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("abc"), None);
    }

    #[test]
    fn which_requests_change_state_and_which_are_public() {
        assert!(!changes_state(&Method::GET));
        assert!(!changes_state(&Method::HEAD));
        assert!(!changes_state(&Method::OPTIONS));
        assert!(changes_state(&Method::POST));
        assert!(changes_state(&Method::DELETE));
        assert!(changes_state(&Method::PATCH));
        assert!(is_public("/ui/assets/app.css"));
        assert!(is_public("/ui/login"));
        assert!(!is_public("/ui/"));
        assert!(is_page("/ui") && is_page("/ui/jobs"));
        assert!(!is_page("/ui/session") && !is_page("/v1/stats"));
        assert!(read_may_post(&Method::POST, "/v1/policy/check"));
        assert!(!read_may_post(&Method::POST, "/v1/jobs"));
        assert!(!read_may_post(&Method::DELETE, "/v1/policy/check"));
    }
}
