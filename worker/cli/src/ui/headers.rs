//! The security headers of every dashboard answer.
//!
//! The policy allows scripts, styles, images and requests from this origin only:
//! no inline script (the pages have none; data reaches the DOM as text, never as
//! markup), no third-party origin, no plugin, and no framing by another site
//! (clickjacking a "purge" button).
//!
//! The referrer policy is `same-origin`, not `no-referrer`: under `no-referrer` a
//! browser sends `Origin: null` with a form's POST (the login form's), which the API's
//! cross-site check rightly refuses. Other sites still never see a dashboard URL.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

/// The dashboard's `Content-Security-Policy`.
pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const HEADERS: &[(&str, &str)] = &[
    ("content-security-policy", CONTENT_SECURITY_POLICY),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "same-origin"),
    ("cross-origin-opener-policy", "same-origin"),
    ("cross-origin-resource-policy", "same-origin"),
];

/// Middleware: adds the security headers to every answer under `/ui` (the pages, the
/// assets, the login form, and the redirects and refusals of the token check) that
/// does not set them itself. The JSON API's answers are left as they are.
pub(crate) async fn secure(request: Request, next: Next) -> Response {
    let dashboard = request.uri().path() == "/ui" || request.uri().path().starts_with("/ui/");
    let mut response = next.run(request).await;
    if !dashboard {
        return response;
    }
    let headers = response.headers_mut();
    for (name, value) in HEADERS {
        let name = HeaderName::from_static(name);
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    response
}
