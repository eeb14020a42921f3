//! Step 1: accept — method, path, content type, and the body read under our own cap.

use pingora::proxy::Session;

use crate::error::Error;

/// What a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    /// POST /mcp: one JSON-RPC message.
    Mcp,
    /// GET /mcp: the session's server-to-client stream.
    McpStream,
    /// DELETE /mcp: end the session.
    McpDelete,
    /// GET /mcp/tools: the REST face's tool list.
    RestList,
    /// POST /mcp/tools/{name}/call: the REST face's call.
    RestCall(String),
    /// RFC 9728 protected resource metadata.
    ResourceMetadata,
    /// `POST /oauth/token`.
    Token,
    /// `/oauth/authorize`: no interactive grant, refused.
    Authorize,
    /// `GET /jwks.json`: the keys of the tokens the gateway issues.
    Jwks,
    /// RFC 8414 authorization server metadata.
    AuthServerMetadata,
    /// `GET /approvals/{id}`: the caller's own approval.
    ApprovalStatus(String),
    /// `GET /.well-known/agents/{agent_id}`: an agent's card (public).
    AgentCard(String),
    /// `POST /a2a/{agent_id}`: one A2A JSON-RPC request to an agent.
    A2a(String),
    /// `POST /a2a/tasks`: the A2A REST face's new task.
    A2aCreate,
    /// `GET /a2a/tasks`: the caller's tasks.
    A2aList,
    /// `GET /a2a/tasks/{task_id}` or `POST /a2a/tasks/{task_id}/cancel`.
    A2aTask(String, crate::a2a::rest::TaskOp),
    NotFound,
}

pub(crate) fn route(session: &Session) -> Route {
    let req = session.req_header();
    let path = req.uri.path();
    match (req.method.as_str(), path) {
        ("POST", "/mcp") => Route::Mcp,
        ("GET", "/mcp") => Route::McpStream,
        ("DELETE", "/mcp") => Route::McpDelete,
        ("GET", "/mcp/tools") => Route::RestList,
        ("POST", p) if p.starts_with("/mcp/tools/") && p.ends_with("/call") => {
            let name = p
                .trim_start_matches("/mcp/tools/")
                .trim_end_matches("/call");
            if name.is_empty() || name.contains('/') {
                Route::NotFound
            } else {
                Route::RestCall(name.to_owned())
            }
        }
        ("GET", p) if p.starts_with("/.well-known/oauth-protected-resource") => {
            Route::ResourceMetadata
        }
        ("POST", "/oauth/token") => Route::Token,
        ("GET" | "POST", "/oauth/authorize") => Route::Authorize,
        ("GET", "/jwks.json") => Route::Jwks,
        ("GET", "/.well-known/oauth-authorization-server") => Route::AuthServerMetadata,
        ("GET", p) if p.starts_with("/approvals/") => {
            let id = p.trim_start_matches("/approvals/");
            // An approval id is a UUID: anything longer is not one.
            if id.is_empty() || id.len() > 36 || id.contains('/') {
                Route::NotFound
            } else {
                Route::ApprovalStatus(id.to_owned())
            }
        }
        ("GET", p) if p.starts_with("/.well-known/agents/") => {
            segment(p.trim_start_matches("/.well-known/agents/"), 64)
                .map_or(Route::NotFound, Route::AgentCard)
        }
        ("POST", "/a2a/tasks") => Route::A2aCreate,
        ("GET", "/a2a/tasks") => Route::A2aList,
        ("GET", p) if p.starts_with("/a2a/tasks/") => {
            segment(p.trim_start_matches("/a2a/tasks/"), 256).map_or(Route::NotFound, |t| {
                Route::A2aTask(t, crate::a2a::rest::TaskOp::Get)
            })
        }
        ("POST", p) if p.starts_with("/a2a/tasks/") && p.ends_with("/cancel") => segment(
            p.trim_start_matches("/a2a/tasks/")
                .trim_end_matches("/cancel"),
            256,
        )
        .map_or(Route::NotFound, |t| {
            Route::A2aTask(t, crate::a2a::rest::TaskOp::Cancel)
        }),
        ("POST", p) if p.starts_with("/a2a/") => {
            segment(p.trim_start_matches("/a2a/"), 64).map_or(Route::NotFound, Route::A2a)
        }
        _ => Route::NotFound,
    }
}

/// One path segment of at most `max` bytes (no `/`, no percent-escapes, nothing empty).
fn segment(s: &str, max: usize) -> Option<String> {
    (!s.is_empty() && s.len() <= max && !s.contains(['/', '%'])).then(|| s.to_owned())
}

/// A JSON request body (`application/json`), at most `cap` bytes.
pub(crate) async fn read_json_body(session: &mut Session, cap: usize) -> Result<Vec<u8>, Error> {
    let content_type = session
        .req_header()
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if !content_type.starts_with("application/json") {
        return Err(Error::MediaType);
    }
    let declared = session
        .req_header()
        .headers
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > cap) {
        drain(session).await;
        return Err(Error::TooLarge(cap));
    }
    let mut body = Vec::with_capacity(declared.unwrap_or(1024).min(cap));
    loop {
        match session.read_request_body().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > cap {
                    drain(session).await;
                    return Err(Error::TooLarge(cap));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(e) => return Err(Error::BodyUnreadable(e.etype().as_str())),
        }
    }
}

/// Reads and discards the rest of a refused body, so the client sees our answer rather
/// than a reset connection.
async fn drain(session: &mut Session) {
    session
        .as_mut()
        .set_total_drain_timeout(Some(std::time::Duration::from_secs(2)));
    let _ = session.as_mut().drain_request_body().await;
}

/// `Ok` when the request carries no `Origin`, a loopback one, or one configured as allowed.
pub(crate) fn check_origin(session: &Session, allowed: &[String]) -> Result<(), Error> {
    let Some(origin) = session
        .req_header()
        .headers
        .get("origin")
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(());
    };
    let host = origin
        .parse::<http::Uri>()
        .ok()
        .and_then(|u| u.host().map(str::to_owned))
        .unwrap_or_default();
    let loopback = matches!(host.as_str(), "localhost" | "127.0.0.1" | "[::1]" | "::1");
    if loopback || allowed.iter().any(|a| a == origin) {
        Ok(())
    } else {
        Err(Error::Origin(origin.chars().take(256).collect()))
    }
}
