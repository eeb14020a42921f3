//! Portcullis control plane: the admin API (axum) over the NHI registry.
//!
//! Every request is authenticated by a bearer token and scoped to the token's tenant;
//! mutations need the `admin` role; non-admins see only the NHIs they hold a user-to-NHI
//! permission on. Errors are `{error, message}` JSON with the matching status.

mod auth;
mod body;
mod console;
mod error;
pub mod governance;
mod json;
mod list;
mod metrics;
mod nhi;
mod query;
mod routes;
mod state;
pub mod vault;

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

pub use auth::Caller;
pub use error::ApiError;
pub use metrics::Metrics;
pub use state::{AppState, Readiness};
pub use vault::{Vault, VaultConfig};

/// Admin listener configuration (`[admin]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Largest request body accepted, in bytes (413 past it).
    pub body_limit: usize,
}

impl Default for AdminConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8081)),
            body_limit: 1024 * 1024,
        }
    }
}

#[derive(OpenApi)]
#[openapi(info(
    title = "Portcullis admin API",
    description = "NHI registry: service accounts, agents, tools, grants and permissions"
))]
struct ApiDoc;

/// Every operation can also answer an error (`400` malformed input, `401` no or a bad token,
/// `403`, `404`, `409`, `413`, `415`, `422`, `503`), always as `{error, message}`: documented
/// once, as each operation's `default` response.
fn document_errors(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let error = ResponseBuilder::new()
        .description("An error: `{error, message}` with the status that fits it")
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build();
    for item in doc.paths.paths.values_mut() {
        for op in [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ]
        .into_iter()
        .flatten()
        {
            op.responses
                .responses
                .entry("default".to_owned())
                .or_insert_with(|| error.clone().into());
        }
    }
}

/// The admin API router.
pub fn router(state: AppState, config: &AdminConfig) -> Router {
    let (api, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(routes::service_accounts::routes())
        .merge(routes::agents::routes())
        .merge(routes::tools::routes())
        .merge(routes::relations::routes())
        .merge(routes::vault::routes())
        .merge(routes::clients::routes())
        .merge(routes::approvals::routes())
        .merge(routes::certifications::routes())
        .merge(routes::inactivity::routes())
        .merge(routes::audit::routes())
        .merge(routes::mcp_discovery::routes())
        .merge(routes::risk::routes())
        .merge(routes::policies::routes())
        .split_for_parts();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    document_errors(&mut doc);
    let doc = std::sync::Arc::new(doc);
    api.merge(console::routes())
        .route("/healthz", axum::routing::get(|| async { "ok" }))
        .route("/readyz", axum::routing::get(ready))
        .route("/metrics", axum::routing::get(metrics::render))
        .route(
            "/openapi.json",
            axum::routing::get(move || {
                let doc = doc.clone();
                async move { axum::Json(doc.as_ref().clone()) }
            }),
        )
        .fallback(|| async { ApiError::NotFound("no such endpoint".into()) })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            routes::audit::record_writes,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(DefaultBodyLimit::max(config.body_limit))
        .with_state(state)
}

/// Ready when the store answers and the registry view (when there is one) is installed and
/// no further behind than allowed; otherwise 503 with the reason.
async fn ready(
    State(s): State<AppState>,
    mut parts: axum::http::request::Parts,
) -> axum::response::Response {
    let not_ready = |reason: String| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({"ready": false, "reason": reason})),
        )
            .into_response()
    };
    if let Err(e) = s.store.ping().await {
        tracing::warn!("not ready: {e}");
        return not_ready("the store does not answer".into());
    }
    if let Some(r) = &s.readiness
        && let Err(reason) = r.view.check(r.max_staleness)
    {
        tracing::warn!("not ready: {reason}");
        return not_ready(reason);
    }
    let mut body = serde_json::json!({"ready": true});
    // What concerns the whole deployment rather than one tenant is shown to its operators (a
    // `super_admin` token) only, like `GET /policies`.
    let operator = <auth::Caller as axum::extract::FromRequestParts<AppState>>::from_request_parts(
        &mut parts, &s,
    )
    .await
    .is_ok_and(|c| c.roles.iter().any(|r| r == "super_admin"));
    if let Some(engine) = s.readiness.as_ref().and_then(|r| r.policy.as_ref())
        && let Some(obj) = body.as_object_mut()
    {
        let status = engine.reload_status();
        // Why the last reload failed names files and lines of the deployment's policy set:
        // operators only. Anyone sees whether it failed.
        let mut policy = serde_json::json!({
            "epoch": status.epoch,
            "reloads": status.reloads,
            "failures": status.failures,
            "failing": status.last_error.is_some(),
        });
        if operator && let Some(p) = policy.as_object_mut() {
            p.insert(
                "last_error".into(),
                status.last_error.map(|e| e.to_string()).into(),
            );
        }
        obj.insert("policy".into(), policy);
    }
    // Tools no request can reach: registered with an `upstream` this gateway is not
    // configured with. A count over every tenant: operators only.
    if operator
        && let Some(n) = s.discovery.as_ref().and_then(|d| d.unroutable_tools())
        && let Some(obj) = body.as_object_mut()
    {
        obj.insert("unroutable_tools".into(), n.into());
    }
    axum::Json(body).into_response()
}
