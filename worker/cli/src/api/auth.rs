//! Bearer-token check for every request (except `/healthz` and `/readyz`) when a token is configured.

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use super::ApiState;
use super::error::ApiError;

pub(crate) async fn require_token(
    State(state): State<ApiState>,
    request: Request,
    next: Next,
) -> Response {
    let Some(expected) = state.token.as_deref() else {
        return next.run(request).await;
    };
    // Probes (a container's health check, a load balancer) carry no token.
    if matches!(request.uri().path(), "/healthz" | "/readyz") {
        return next.run(request).await;
    }
    if carries_token(request.headers(), expected) {
        return next.run(request).await;
    }
    let mut response = ApiError::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "this API needs `Authorization: Bearer <token>` with the configured token",
    )
    .into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer"),
    );
    response
}

/// Whether `headers` carry `Authorization: Bearer <expected>`.
pub(crate) fn carries_token(headers: &header::HeaderMap, expected: &str) -> bool {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer);
    // NOTE: constant-time over the bytes, so the comparison does not leak how much of a
    // guessed token was right.
    given.is_some_and(|token| bool::from(token.as_bytes().ct_eq(expected.as_bytes())))
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
    use super::bearer;

    #[test]
    fn bearer_credentials() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bEaReR abc"), Some("abc"));
        assert_eq!(bearer("Bearer "), None);
        assert_eq!(bearer("Bearer    "), None);
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("abc"), None);
    }
}
