//! Browser sessions for the dashboard: a login form that takes a token, a cookie that
//! stands for it, and logout.
//!
//! The token never reaches the page's scripts: the form posts it once, and the browser
//! keeps only a random session id in an `HttpOnly`, `SameSite=Strict` cookie. Pages learn
//! their role and CSRF token from `GET /ui/session`.

mod store;

use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};

pub(crate) use store::{DEFAULT_LIFETIME, Session, Sessions};

use super::ApiState;
use super::auth::{Caller, Role};
use super::error::ApiError;

pub(crate) const LOGIN_PATH: &str = "/ui/login";
pub(crate) const LOGOUT_PATH: &str = "/ui/logout";
pub(crate) const SESSION_PATH: &str = "/ui/session";
/// Where a login lands.
const HOME: &str = "/ui/";
const COOKIE: &str = "tenax_session";
const FORM: &str = include_str!("login.html");

/// The session id in the request's `Cookie` headers, if any.
pub(crate) fn cookie_of(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| *name == COOKIE && !value.is_empty())
        .map(|(_, value)| value)
}

/// The login form, with `error` shown above the field when a login failed.
fn form(error: Option<&str>) -> String {
    match error {
        Some(message) => FORM
            .replace(
                "{{error}}",
                &format!("<p id=\"login-error\" class=\"error\" role=\"alert\">{message}</p>"),
            )
            .replace("{{invalid}}", "aria-invalid=\"true\" "),
        None => FORM.replace("{{error}}\n", "").replace("{{invalid}}", ""),
    }
}

/// `GET /ui/login`: the form; without a configured token there is nothing to log in to.
pub(crate) async fn login_form(State(state): State<ApiState>) -> Response {
    if state.token.is_none() {
        return Redirect::to(HOME).into_response();
    }
    no_store(Html(form(None)).into_response())
}

#[derive(Deserialize)]
struct LoginForm {
    token: Option<String>,
}

/// `POST /ui/login` with `token=...` (form-encoded): either token starts a session of its
/// role and goes to the dashboard; anything else gets the form again with a 401 that does
/// not say what was wrong.
pub(crate) async fn login(
    State(state): State<ApiState>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Some(admin) = state.token.as_deref() else {
        return Redirect::to(HOME).into_response();
    };
    let given = body
        .ok()
        .and_then(|b| String::from_utf8(b.to_vec()).ok())
        .and_then(|text| super::body::query::<LoginForm>(Some(&text)).ok())
        .and_then(|f| f.token);
    let role = given
        .as_deref()
        .filter(|t| !t.is_empty())
        .and_then(|t| super::auth::role_of(&state, admin, t));
    let Some(role) = role else {
        let page = Html(form(Some("That token was not accepted.")));
        return no_store((StatusCode::UNAUTHORIZED, page).into_response());
    };
    let id = match state.sessions.start(role, Instant::now()) {
        Ok(id) => id,
        Err(err) => {
            return ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                format!("no random session id: {err}"),
            )
            .into_response();
        }
    };
    let max_age = state.sessions.lifetime().as_secs();
    let cookie = format!("{COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}");
    with_cookie(Redirect::to(HOME).into_response(), &cookie)
}

/// `POST /ui/logout`: ends the session and clears the cookie.
pub(crate) async fn logout(State(state): State<ApiState>, headers: HeaderMap) -> Response {
    if let Some(id) = cookie_of(&headers) {
        state.sessions.end(id);
    }
    let cookie = format!("{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    with_cookie(Redirect::to(LOGIN_PATH).into_response(), &cookie)
}

/// What the dashboard's pages need to know about their caller.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct SessionView {
    /// What the caller may do: `admin`, or `read` (every read, no change).
    role: Role,
    /// The token to send as `X-CSRF-Token` with every state-changing request, when the
    /// caller is a browser session; `null` otherwise.
    csrf: Option<String>,
    /// Whether the daemon has a token (so a login, and a logout, mean something).
    token_required: bool,
}

/// The caller's role and, for a browser session, its CSRF token.
#[utoipa::path(get, path = "/ui/session", tag = "dashboard",
    responses(
        (status = 200, description = "The caller", body = SessionView),
        (status = 401, description = "No valid token or session", body = super::error::ErrorBody),
    ))]
pub(crate) async fn session(
    State(state): State<ApiState>,
    caller: Option<Extension<Caller>>,
) -> Response {
    let Some(Extension(caller)) = caller else {
        return ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "not logged in")
            .into_response();
    };
    let view = SessionView {
        role: caller.role,
        csrf: caller.session.map(|(_, s)| s.csrf),
        token_required: state.token.is_some(),
    };
    no_store(Json(view).into_response())
}

fn with_cookie(mut response: Response, cookie: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    no_store(response)
}

/// Pages and answers about credentials are never cached.
fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; tenax_session=abc; b=2"),
        );
        assert_eq!(cookie_of(&h), Some("abc"));
        let mut empty = HeaderMap::new();
        empty.append(header::COOKIE, HeaderValue::from_static("tenax_session="));
        assert_eq!(cookie_of(&empty), None);
    }

    #[test]
    fn the_form_shows_an_error_only_after_a_failed_login() {
        let plain = form(None);
        assert!(!plain.contains("{{") && !plain.contains("role=\"alert\""));
        assert!(plain.contains("/ui/assets/app.css"));
        let failed = form(Some("That token was not accepted."));
        assert!(failed.contains("role=\"alert\"") && failed.contains("aria-invalid"));
    }
}
