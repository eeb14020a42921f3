//! The audit trail: every admin write recorded beside the gateway's events, and `GET /audit`
//! to query both.
//!
//! [`record_writes`] records each successful `POST`, `PUT`, `PATCH` or `DELETE` with its actor
//! (the token's subject), the action, the route and the path — before the answer is sent, so
//! an acknowledged write is an audited one. Domain events (approval and campaign decisions,
//! inactivity suspensions) are recorded too, with their details. `GET /audit` (admins)
//! filters by time range, principal, actor, tool, decision and event, newest first, with a
//! cursor; `format=jsonl` exports JSON lines.

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::query::Query;
use crate::state::AppState;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(query))
}

/// The most events one query reads through (matching or not) before it answers with a
/// cursor to go on from.
const SCAN: usize = 50_000;
/// How many events the store is asked for at a time.
const PAGE: usize = 500;
/// How long after it happened a record is assumed stored, at most (the gateway's batches, a
/// store outage): a `from` query reads this far past it before it stops.
const STORED_WITHIN_MS: i64 = 15 * 60 * 1000;

/// Route segments that name the action of a `POST`.
const VERBS: [&str; 16] = [
    "suspend",
    "reactivate",
    "transfer",
    "grant",
    "revoke",
    "launch",
    "cancel",
    "certify",
    "approve",
    "deny",
    "rotate",
    "renew",
    "detect",
    "secret",
    "public-key",
    "import",
];

/// What a write did, from its method and route: the route's verb, else create, update or
/// delete.
fn action(method: &Method, route: &str) -> &'static str {
    let last = route
        .rsplit('/')
        .find(|s| !s.starts_with('{') && !s.is_empty())
        .unwrap_or_default();
    if let Some(verb) = VERBS.iter().find(|v| **v == last) {
        return verb;
    }
    match *method {
        Method::DELETE => "delete",
        Method::PATCH | Method::PUT => "update",
        _ => "create",
    }
}

/// Records every successful admin write with its actor (see the module docs).
pub(crate) async fn record_writes(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    if !matches!(
        *req.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    ) {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    let caller = <Caller as axum::extract::FromRequestParts<AppState>>::from_request_parts(
        &mut parts, &state,
    )
    .await
    .ok();
    let route = parts
        .extensions
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    let path: String = parts.uri.path().chars().take(512).collect();
    let method = parts.method.clone();
    let response = next.run(Request::from_parts(parts, body)).await;
    if let (Some(caller), Some(route), true) = (caller, route, response.status().is_success()) {
        let event = serde_json::json!({
            "event": format!("admin.{}", action(&method, &route)),
            "actor": caller.sub,
            "method": method.as_str(),
            "route": route,
            "path": path,
            "status": response.status().as_u16(),
        });
        crate::governance::audit(&state.store, &caller.tenant, event).await;
        if let Some(risk) = &state.risk {
            risk.touch(&caller.tenant);
        }
    }
    response
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct AuditQuery {
    /// Events at or after this time (RFC 3339).
    from: Option<String>,
    /// Events at or before this time (RFC 3339).
    to: Option<String>,
    /// The acting agent or service account of a gateway event.
    principal: Option<String>,
    /// The person (token subject) of an admin event.
    actor: Option<String>,
    /// The tool as the caller named it.
    tool: Option<String>,
    /// `allow`, `deny`, `unknown`, `approval_required`, `approved`, ...
    decision: Option<String>,
    /// An admin or domain event name, e.g. `admin.create`, `certification.revoked`.
    event: Option<String>,
    /// 1..=1000, default 100.
    limit: Option<usize>,
    /// Where the previous page ended (`next_cursor`).
    cursor: Option<String>,
    /// `json` (default) or `jsonl` (one event per line; the next cursor in the
    /// `Portcullis-Next-Cursor` header).
    format: Option<String>,
}

fn time_param(name: &str, value: Option<&String>) -> ApiResult<Option<i64>> {
    value
        .map(|v| {
            OffsetDateTime::parse(v, &Rfc3339)
                .map(crate::governance::ms)
                .map_err(|_| {
                    ApiError::BadRequest(format!(
                        "`{name}` must be an RFC 3339 time, got `{}`",
                        v.chars().take(64).collect::<String>()
                    ))
                })
        })
        .transpose()
}

/// Query the tenant's audit trail (gateway and admin events), newest first.
#[utoipa::path(get, path = "/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn query(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<AuditQuery>,
) -> ApiResult<Response> {
    caller.require_admin()?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::BadRequest("`limit` must be 1 to 1000".into()));
    }
    let jsonl = match q.format.as_deref() {
        None | Some("json") => false,
        Some("jsonl") => true,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "`format` must be json or jsonl, got `{}`",
                other.chars().take(32).collect::<String>()
            )));
        }
    };
    let (from, to) = (
        time_param("from", q.from.as_ref())?,
        time_param("to", q.to.as_ref())?,
    );
    let wanted = |e: &Value, key: &str, want: &Option<String>| {
        want.as_ref()
            .is_none_or(|w| e.get(key).and_then(Value::as_str) == Some(w.as_str()))
    };
    let mut items = Vec::new();
    let mut cursor = q.cursor.clone();
    let mut scanned = 0;
    let mut next = None;
    'pages: loop {
        let page = s
            .store
            .audit_page(&caller.tenant, cursor.as_deref(), PAGE)
            .await?;
        let exhausted = page.len() < PAGE;
        for (at, record) in page {
            scanned += 1;
            cursor = Some(at.clone());
            // The trail is in the order records were stored, which is the order they happened
            // only roughly: a gateway stores its records in batches, and keeps them through a
            // store outage. A record older than `from` by more than that delay ends the scan.
            if from.is_some_and(|f| record.at_ms < f.saturating_sub(STORED_WITHIN_MS)) {
                break 'pages;
            }
            let in_range =
                from.is_none_or(|f| record.at_ms >= f) && to.is_none_or(|t| record.at_ms <= t);
            let event: Value = serde_json::from_str(record.event.get()).unwrap_or(Value::Null);
            if in_range
                && wanted(&event, "principal", &q.principal)
                && wanted(&event, "actor", &q.actor)
                && wanted(&event, "tool", &q.tool)
                && wanted(&event, "decision", &q.decision)
                && wanted(&event, "event", &q.event)
            {
                items.push(event);
                if items.len() == limit {
                    next = Some(at);
                    break 'pages;
                }
            }
            if scanned >= SCAN {
                next = Some(at);
                break 'pages;
            }
        }
        if exhausted {
            break;
        }
    }
    if jsonl {
        let mut body = String::new();
        for e in &items {
            body.push_str(&e.to_string());
            body.push('\n');
        }
        let mut response = (
            StatusCode::OK,
            [("content-type", "application/x-ndjson")],
            body,
        )
            .into_response();
        if let Some(n) = next.as_deref().and_then(|n| HeaderValue::from_str(n).ok()) {
            response.headers_mut().insert("portcullis-next-cursor", n);
        }
        return Ok(response);
    }
    Ok(axum::Json(serde_json::json!({"items": items, "next_cursor": next})).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_come_from_the_route() {
        assert_eq!(action(&Method::POST, "/nhi/agents"), "create");
        assert_eq!(action(&Method::PATCH, "/nhi/agents/{id}"), "update");
        assert_eq!(action(&Method::DELETE, "/nhi/tools/{id}"), "delete");
        assert_eq!(action(&Method::POST, "/nhi/agents/{id}/suspend"), "suspend");
        assert_eq!(
            action(&Method::POST, "/nhi/agents/{id}/tools/{tool_id}/grant"),
            "grant"
        );
        assert_eq!(
            action(
                &Method::POST,
                "/nhi/certifications/{campaign_id}/revoke/{nhi_id}"
            ),
            "revoke"
        );
    }
}
