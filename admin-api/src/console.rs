//! The web console: static assets compiled into the binary (built from `console/` by
//! esbuild; no Node.js at run time), served at `/` on the admin API's own listener. It signs
//! in with a bearer token kept in the tab's session storage and calls the same API with it,
//! so it sees exactly what the token may see; no cookie is ever set, so a cross-site request
//! carries nothing, and a strict Content-Security-Policy allows only these assets.

use axum::Router;
use axum::http::header::{self, HeaderValue};
use axum::response::IntoResponse;

const INDEX: &str = include_str!("../console/index.html");
const APP_JS: &str = include_str!("../console/app.js");
const APP_CSS: &str = include_str!("../console/app.css");

/// Scripts, styles and requests from this origin only; no inline script, no frames, no
/// plugins, no base or form targets elsewhere.
pub(crate) const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; \
    frame-ancestors 'none'";

fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CSP),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
            (
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        body,
    )
}

/// `/`, `/console/app.js` and `/console/app.css`.
pub(crate) fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route(
            "/",
            axum::routing::get(|| async { asset("text/html; charset=utf-8", INDEX) }),
        )
        .route(
            "/console/app.js",
            axum::routing::get(|| async { asset("text/javascript; charset=utf-8", APP_JS) }),
        )
        .route(
            "/console/app.css",
            axum::routing::get(|| async { asset("text/css; charset=utf-8", APP_CSS) }),
        )
}
