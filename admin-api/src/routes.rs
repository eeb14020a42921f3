//! The routers, one per resource group, and helpers they share.

pub(crate) mod agents;
pub(crate) mod approvals;
pub(crate) mod audit;
pub(crate) mod certifications;
pub(crate) mod clients;
pub(crate) mod inactivity;
pub(crate) mod mcp_discovery;
pub(crate) mod policies;
pub(crate) mod relations;
pub(crate) mod risk;
pub(crate) mod service_accounts;
pub(crate) mod tools;
pub(crate) mod vault;

use portcullis_registry::{Lifecycle, Nhi, NhiKind, PermissionLevel};

use crate::auth::Caller;
use crate::body::Reason;
use crate::error::{ApiError, ApiResult};
use crate::nhi;
use crate::state::AppState;

/// The name a kind has in governance answers (the seed's: `ai_agent` for agents).
pub(crate) fn nhi_type_name(k: NhiKind) -> &'static str {
    k.type_name()
}

/// A kind by its seed name (`agent` accepted too).
pub(crate) fn parse_nhi_type(t: &str) -> ApiResult<NhiKind> {
    match t {
        "service_account" => Ok(NhiKind::ServiceAccount),
        "ai_agent" | "agent" => Ok(NhiKind::Agent),
        "tool" => Ok(NhiKind::Tool),
        other => Err(ApiError::BadRequest(format!(
            "unknown nhi type `{}`: use service_account, ai_agent or tool",
            other.chars().take(64).collect::<String>()
        ))),
    }
}

/// Suspend or reactivate, with a required reason.
pub(crate) async fn set_state(
    s: &AppState,
    caller: &Caller,
    kind: Option<NhiKind>,
    id: &str,
    to: Lifecycle,
    body: Reason,
) -> ApiResult<Nhi> {
    let reason = body.reason.trim().to_owned();
    if reason.is_empty() {
        return Err(ApiError::BadRequest("`reason` must not be empty".into()));
    }
    nhi::check_text("reason", &reason)?;
    nhi::modify_as(s, caller, kind, id, None, PermissionLevel::Admin, |n| {
        nhi::transition(n, to, Some(reason.clone()))
    })
    .await
}

/// The handlers every kind of NHI has alike — list, read, update, delete, suspend and
/// reactivate — for one kind at one path; each kind's module adds only what is its own
/// (creation, and its relations).
macro_rules! kind_handlers {
    (
        kind: $kind:expr,
        tag: $tag:literal,
        collection: $collection:literal,
        item: $item:literal,
        suspend: $suspend:literal,
        reactivate: $reactivate:literal $(,)?
    ) => {
        /// List (`limit`, `offset`, `status`, `search`, and the kind's own filters).
        #[utoipa::path(get, path = $collection, tag = $tag, params($crate::body::ListQuery),
            responses((status = 200, body = $crate::nhi::Page)))]
        async fn list(
            axum::extract::State(s): axum::extract::State<$crate::state::AppState>,
            caller: $crate::auth::Caller,
            $crate::query::Query(q): $crate::query::Query<$crate::body::ListQuery>,
        ) -> $crate::error::ApiResult<axum::Json<$crate::nhi::Page>> {
            Ok(axum::Json($crate::nhi::list(&s, &caller, Some($kind), &q).await?))
        }

        /// Read one.
        #[utoipa::path(get, path = $item, params(("id" = String, Path, description = "the record's id")), tag = $tag,
            responses((status = 200, body = Object), (status = 404, body = $crate::error::ErrorBody)))]
        async fn get_one(
            axum::extract::State(s): axum::extract::State<$crate::state::AppState>,
            caller: $crate::auth::Caller,
            axum::extract::Path(id): axum::extract::Path<String>,
        ) -> $crate::error::ApiResult<axum::Json<portcullis_registry::Nhi>> {
            Ok(axum::Json($crate::nhi::load(&s, &caller, Some($kind), &id).await?))
        }

        /// Update fields (admin role, or `manage` on it); `version` or `If-Match` makes it
        /// conditional (409 when stale).
        #[utoipa::path(patch, path = $item, params(("id" = String, Path, description = "the record's id")), tag = $tag, request_body = $crate::body::NhiPatch,
            responses((status = 200, body = Object), (status = 403, body = $crate::error::ErrorBody),
                (status = 409, body = $crate::error::ErrorBody), (status = 422, body = $crate::error::ErrorBody)))]
        async fn patch(
            axum::extract::State(s): axum::extract::State<$crate::state::AppState>,
            caller: $crate::auth::Caller,
            axum::extract::Path(id): axum::extract::Path<String>,
            headers: axum::http::HeaderMap,
            $crate::json::Json(p): $crate::json::Json<$crate::body::NhiPatch>,
        ) -> $crate::error::ApiResult<axum::Json<serde_json::Value>> {
            let expected = $crate::nhi::expected_version(p.version, &headers)?;
            let updated = $crate::nhi::modify_as(
                &s,
                &caller,
                Some($kind),
                &id,
                expected,
                portcullis_registry::PermissionLevel::Manage,
                |n| $crate::nhi::apply_patch(n, &p),
            )
            .await?;
            $crate::nhi::written(&s, &caller, &updated)
        }

        /// Delete it and every grant and permission naming it (admin role, or `admin` on it).
        #[utoipa::path(delete, path = $item, params(("id" = String, Path, description = "the record's id")), tag = $tag,
            responses((status = 204), (status = 404, body = $crate::error::ErrorBody)))]
        async fn delete(
            axum::extract::State(s): axum::extract::State<$crate::state::AppState>,
            caller: $crate::auth::Caller,
            axum::extract::Path(id): axum::extract::Path<String>,
            headers: axum::http::HeaderMap,
        ) -> $crate::error::ApiResult<axum::http::StatusCode> {
            $crate::nhi::delete(
                &s,
                &caller,
                $kind,
                &id,
                $crate::nhi::expected_version(None, &headers)?,
            )
            .await?;
            Ok(axum::http::StatusCode::NO_CONTENT)
        }

        /// Suspend (requires a `reason`; admin role, or `admin` on it).
        #[utoipa::path(post, path = $suspend, params(("id" = String, Path, description = "the record's id")), tag = $tag, request_body = $crate::body::Reason,
            responses((status = 200, body = Object), (status = 409, body = $crate::error::ErrorBody)))]
        async fn suspend(
            axum::extract::State(s): axum::extract::State<$crate::state::AppState>,
            caller: $crate::auth::Caller,
            axum::extract::Path(id): axum::extract::Path<String>,
            $crate::json::Json(b): $crate::json::Json<$crate::body::Reason>,
        ) -> $crate::error::ApiResult<axum::Json<portcullis_registry::Nhi>> {
            Ok(axum::Json(
                $crate::routes::set_state(
                    &s,
                    &caller,
                    Some($kind),
                    &id,
                    portcullis_registry::Lifecycle::Suspended,
                    b,
                )
                .await?,
            ))
        }

        /// Reactivate (requires a `reason`; admin role, or `admin` on it).
        #[utoipa::path(post, path = $reactivate, params(("id" = String, Path, description = "the record's id")), tag = $tag, request_body = $crate::body::Reason,
            responses((status = 200, body = Object), (status = 409, body = $crate::error::ErrorBody)))]
        async fn reactivate(
            axum::extract::State(s): axum::extract::State<$crate::state::AppState>,
            caller: $crate::auth::Caller,
            axum::extract::Path(id): axum::extract::Path<String>,
            $crate::json::Json(b): $crate::json::Json<$crate::body::Reason>,
        ) -> $crate::error::ApiResult<axum::Json<portcullis_registry::Nhi>> {
            Ok(axum::Json(
                $crate::routes::set_state(
                    &s,
                    &caller,
                    Some($kind),
                    &id,
                    portcullis_registry::Lifecycle::Active,
                    b,
                )
                .await?,
            ))
        }
    };
}
pub(crate) use kind_handlers;
