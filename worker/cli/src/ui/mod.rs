//! The web dashboard at `/ui`: a few hand-written pages that read and steer the daemon
//! through its own API.
//!
//! # Why no build step and no framework?
//!
//! The dashboard ships inside the binary (`include_bytes!`), so `cargo install` stays the
//! whole set-up: no npm, no bundler, no third-party code to audit or update. The pages
//! are plain ES modules under `worker/cli/ui/`; charts are SVG drawn by the project's
//! own small script. Every figure on a page comes from the same JSON API that `curl`
//! and the CLI use, so the dashboard can show nothing the API would not, and a page
//! can change nothing the API would refuse: the token, the read-only role and the
//! cross-site checks are the API's, not the pages'.
//!
//! The server side is this router: the page shell for every screen's path (so deep
//! links such as `/ui/jobs/42` load the app, which then routes in the browser), the
//! assets, and the security headers of every answer (a `Content-Security-Policy` that
//! allows only this origin's scripts and styles, no framing, no sniffing).

mod assets;
mod headers;

use axum::Router;
use axum::routing::get;

pub(crate) use headers::secure;

/// Where each screen lives; every path serves the same page shell.
const SCREENS: &[&str] = &[
    "/ui",
    "/ui/",
    "/ui/jobs",
    "/ui/jobs/{id}",
    "/ui/dead",
    "/ui/queues",
    "/ui/breaker",
    "/ui/policy",
];

/// The dashboard's routes: the screens and `/ui/assets/*`. Merged into the API's
/// router, so the API's token rules apply; [`secure`] is layered over the whole
/// router and adds the security headers to every answer under `/ui` (the login form's
/// too).
pub(crate) fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    let mut router = Router::new().route("/ui/assets/{*file}", get(assets::serve));
    for path in SCREENS {
        router = router.route(path, get(assets::shell));
    }
    router
}
