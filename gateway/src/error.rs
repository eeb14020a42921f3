//! Every way the gateway refuses or fails a request, in one enum.
//!
//! Handlers return `Result<_, Error>`; [`respond::error`](crate::respond::error) turns an error
//! into the HTTP status, the `{error, message}` body of the REST face or the JSON-RPC error of
//! the MCP face, in one exhaustive match. Messages are lowercase, name what is wrong and put
//! the caller's input in backticks; every caller-chosen string in them was bounded before.

use crate::upstream::UpstreamError;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No such endpoint (404).
    #[error("no such endpoint (MCP is served at /mcp)")]
    NoRoute,
    /// A browser origin that is not allowed (403).
    #[error("origin `{0}` is not allowed")]
    Origin(String),
    /// No bearer token (401).
    #[error("missing `Authorization: Bearer` token")]
    TokenMissing,
    /// A token that does not verify (401); the reason never contains the token.
    #[error("{0}")]
    TokenInvalid(String),
    /// A valid token whose principal may not act: not a registered NHI of the token's
    /// tenant, not active, or a delegation chain that does not hold (403).
    #[error("{0}")]
    Forbidden(String),
    /// A body that is not `application/json` (415).
    #[error("expected `Content-Type: application/json`")]
    MediaType,
    /// A body over the configured cap (413).
    #[error("request body is larger than {0} bytes")]
    TooLarge(usize),
    /// The body could not be read (400).
    #[error("cannot read the request body: {0}")]
    BodyUnreadable(&'static str),
    /// A session-era request without `Mcp-Session-Id` (400).
    #[error("missing `Mcp-Session-Id`: initialize first")]
    SessionMissing,
    /// A session id that is not a live session of the caller's (404).
    #[error("unknown, expired or ended session: initialize again")]
    SessionUnknown,
    /// The HTTP method is not served here (405); `allow` lists those that are.
    #[error("{why}")]
    NotAllowed {
        why: &'static str,
        allow: &'static str,
    },
    /// Not JSON (-32700).
    #[error("parse error: {0}")]
    Parse(String),
    /// JSON, but not a JSON-RPC message the gateway accepts (-32600).
    #[error("{0}")]
    InvalidRequest(String),
    /// An `MCP-Protocol-Version` the gateway does not speak (-32022).
    #[error("unsupported protocol version `{0}`")]
    Version(String),
    /// A 2026-07-28 header that does not repeat the body (-32020).
    #[error("`{0}` header does not match the body")]
    HeaderMismatch(&'static str),
    /// A method the gateway does not serve (-32601).
    #[error("method not found: `{0}`")]
    MethodNotFound(String),
    /// Malformed `params` (-32602).
    #[error("{0}")]
    InvalidParams(String),
    /// A tool that does not exist for the caller — unknown or denied, indistinguishably
    /// (-32602 on MCP, 404 on REST).
    #[error("unknown tool: `{0}`")]
    UnknownTool(String),
    /// Arguments that fail the tool's input schema: a tool error a model can correct
    /// (`isError: true` on MCP, 422 on REST).
    #[error("{0}")]
    InvalidArguments(String),
    /// A prompt that does not exist for the caller — unknown or denied (-32602).
    #[error("unknown prompt: `{0}`")]
    UnknownPrompt(String),
    /// A resource that does not exist for the caller — unknown or denied (-32002, MCP's
    /// "resource not found").
    #[error("resource not found: `{0}`")]
    UnknownResource(String),
    /// The gateway's configuration cannot serve the request (two upstreams offer the same
    /// resource URI, say); the message names the configuration error.
    #[error("{0}")]
    Misconfigured(String),
    /// The upstream needs a credential this caller may not use (no active lease on the
    /// secret, an expired or missing secret): -32012 on MCP, 403 on REST. The message names
    /// the secret and never holds its value.
    #[error("{0}")]
    Credential(String),
    /// The call needs a human approval first (-32010 on MCP, 403 on REST).
    #[error("`{target}` needs a human approval for this call{}", approval_note(.ticket.as_deref()))]
    ApprovalRequired {
        /// The tool, prompt or resource, as the client named it.
        target: String,
        obligations: Vec<String>,
        policies: Vec<String>,
        /// The approval this call waits for (none when there is nowhere to keep one).
        ticket: Option<Box<ApprovalTicket>>,
    },
    /// A rate limit is exhausted (429 with `Retry-After`; -32014 on MCP).
    #[error("rate limit exceeded: the {limit} limit; retry in {} ms", .retry_after.as_millis())]
    RateLimited {
        /// `tenant`, `agent` or `tool`.
        limit: &'static str,
        retry_after: std::time::Duration,
    },
    /// A pinned tool whose upstream definition no longer matches what was approved (-32013
    /// on MCP, 403 on REST).
    #[error("tool `{tool}` is blocked: {why}; an admin must approve it again")]
    ToolChanged { tool: String, why: &'static str },
    /// An agent that does not exist for the caller — unknown, inactive or denied,
    /// indistinguishably (404).
    #[error("unknown agent: `{0}`")]
    UnknownAgent(String),
    /// An `A2A-Version` the gateway does not pass on (-32009).
    #[error("unsupported A2A version `{0}`")]
    A2aVersion(String),
    /// A task or context that does not exist for the caller — unknown, or another
    /// principal's (-32001 on A2A, 404 on REST).
    #[error("{what} not found: `{id}`")]
    TaskNotFound { what: &'static str, id: String },
    /// The principal has too many approvals pending to ask for another (-32010, 429 on REST).
    #[error("no new approval can be requested: {0}")]
    ApprovalLimit(String),
    /// A store the request needs does not answer (503; -32603 on MCP).
    #[error("temporarily unavailable")]
    Unavailable(String),
    /// The upstream failed, timed out or answered badly (-32011 on MCP, 502/504 on REST).
    #[error("upstream `{upstream}`: {error}")]
    Upstream {
        upstream: String,
        error: UpstreamError,
    },
    /// A refusal at the token endpoint, in OAuth's own shape (RFC 6749, 5.2): `code` is the
    /// `error`, `description` the `error_description`.
    #[error("{description}")]
    OAuth {
        status: u16,
        code: &'static str,
        description: String,
    },
    /// A fault of the gateway's own; the detail is logged, the client sees a generic text.
    #[error("internal error")]
    Internal(String),
    /// A configuration that cannot serve (at startup only).
    #[error("{0}")]
    Config(String),
}

impl Error {
    pub(crate) fn upstream(upstream: &str, error: UpstreamError) -> Self {
        Self::Upstream {
            upstream: upstream.to_owned(),
            error,
        }
    }
}

/// What a caller held for approval is told about its approval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalTicket {
    pub id: uuid::Uuid,
    /// `pending`, `approved`, `denied` or `expired`.
    pub status: &'static str,
    pub expires_at: time::OffsetDateTime,
    /// Where the caller can watch it (`GET`, with its own token).
    pub status_url: String,
    /// When to retry the same call, for a pending or approved one.
    pub retry_after_secs: Option<u64>,
}

impl ApprovalTicket {
    /// The ticket as the `data` of an error.
    pub(crate) fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "approval_id": self.id,
            "status": self.status,
            "expires_at": self
                .expires_at
                .format(&time::format_description::well_known::Rfc3339)
                .ok(),
            "status_url": self.status_url,
            "retry_after_secs": self.retry_after_secs,
        })
    }
}

/// The part of an approval-required message that says where the approval stands.
fn approval_note(ticket: Option<&ApprovalTicket>) -> String {
    match ticket {
        None => String::new(),
        Some(t) if t.status == "denied" => format!(
            ": approval {} was denied; the same call is refused until it expires",
            t.id
        ),
        Some(t) if t.status == "expired" => format!(": approval {} has expired", t.id),
        Some(t) => format!(
            ": approval {} is {}; make the same call again once it is approved",
            t.id, t.status
        ),
    }
}
