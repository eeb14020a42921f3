//! Upstream MCP servers: where they are, and MCP sessions with them.
//!
//! The gateway speaks to upstreams as an MCP client over Streamable HTTP: pingora's connector
//! opens connections, pingora's HTTP/1.1 client reads the answers, and each upstream keeps its
//! own idle connections ([`idle`]). Every request it sends carries a gateway-unique JSON-RPC
//! id ([`RequestIds`]), so no id is ever used twice in an upstream session, whoever the
//! callers are and whichever replica sends it.

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures_util::Stream;
use pingora::connectors::http::v1::Connector;
use pingora::prelude::HttpPeer;
use pingora::protocols::Stream as Connection;
use pingora::protocols::http::v1::client::HttpSession;
use serde_json::Value;
use tokio::sync::Mutex;

use crate::config::UpstreamConfig;
use crate::credentials::Presented;
use crate::error::Error;

mod idle;

use idle::Idle;

/// How long an idle upstream connection is kept.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// The most idle connections kept per upstream.
const MAX_IDLE: usize = 128;

/// The protocol version the gateway asks upstreams for.
pub(crate) const UPSTREAM_PROTOCOL: &str = "2025-06-18";
/// The largest answer the gateway reads whole from an upstream (a JSON response, a list).
pub(crate) const MAX_ANSWER: usize = 16 * 1024 * 1024;

/// Gateway-unique JSON-RPC ids for requests sent upstream: a random per-process prefix
/// (replicas share upstream sessions) and a counter.
#[derive(Debug)]
pub(crate) struct RequestIds {
    prefix: String,
    next: AtomicU64,
}

impl Default for RequestIds {
    fn default() -> Self {
        Self {
            prefix: format!("pc-{:016x}-", rand::random::<u64>()),
            next: AtomicU64::new(1),
        }
    }
}

impl RequestIds {
    pub(crate) fn next(&self) -> Value {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        Value::String(format!("{}{n}", self.prefix))
    }
}

/// One configured upstream.
pub(crate) struct Upstream {
    pub(crate) name: String,
    addr: SocketAddr,
    host: String,
    path: String,
    pub(crate) request_timeout: Duration,
    /// Where connections go (address, TLS and SNI, timeouts), built once.
    peer: Arc<HttpPeer>,
    /// Connections waiting for the next request.
    idle: Arc<Idle>,
    /// The gateway's own session, for fetching tool definitions: never a caller's.
    own: Mutex<Option<String>>,
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstream")
            .field("name", &self.name)
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

/// Why an upstream exchange failed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum UpstreamError {
    #[error("cannot reach the upstream: {0}")]
    Connect(String),
    #[error("the upstream did not answer in time")]
    Timeout,
    #[error("the upstream answered badly: {0}")]
    Protocol(String),
    /// The upstream answered a non-2xx status.
    #[error("{}", status_text(*.0))]
    Status(u16),
}

fn status_text(code: u16) -> String {
    if code == 400 {
        "the upstream refused the request (HTTP 400); if it lost the session, a new one is open: retry".into()
    } else {
        format!("the upstream answered HTTP {code}")
    }
}

impl Upstream {
    pub(crate) fn new(c: &UpstreamConfig) -> Result<Self, Error> {
        Self::build(c).map_err(Error::Config)
    }

    fn build(c: &UpstreamConfig) -> Result<Self, String> {
        let uri: http::Uri = c
            .url
            .parse()
            .map_err(|e| format!("upstream `{}`: bad url: {e}", c.name))?;
        if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
            // They would travel in every request's `Host` header.
            return Err(format!(
                "upstream `{}`: the url carries credentials (user:password@); keep them in the \
                 vault and name the secret in the upstream's `credential`",
                c.name
            ));
        }
        let tls = uri.scheme_str() == Some("https");
        // An IPv6 literal without the brackets the url needs around it (`[::1]` → `::1`).
        let host = uri
            .host()
            .ok_or_else(|| format!("upstream `{}`: url has no host", c.name))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        let addr = (host.as_str(), port)
            .to_socket_addrs()
            .map_err(|e| format!("upstream `{}`: cannot resolve `{host}`: {e}", c.name))?
            .next()
            .ok_or_else(|| format!("upstream `{}`: `{host}` resolves to nothing", c.name))?;
        let connect_timeout = Duration::from_millis(c.connect_timeout_ms);
        let request_timeout = Duration::from_millis(c.request_timeout_ms);
        let sni = if tls { host.clone() } else { String::new() };
        let mut peer = HttpPeer::new(addr, tls, sni);
        peer.options.connection_timeout = Some(connect_timeout);
        peer.options.total_connection_timeout = Some(connect_timeout);
        peer.options.read_timeout = Some(request_timeout);
        peer.options.write_timeout = Some(request_timeout);
        peer.options.idle_timeout = Some(IDLE_TIMEOUT);
        Ok(Self {
            name: c.name.clone(),
            addr,
            host: uri.authority().map_or(host, |a| a.to_string()),
            path: uri
                .path_and_query()
                .map_or("/".to_owned(), |p| p.to_string()),
            request_timeout,
            peer: Arc::new(peer),
            idle: Arc::new(Idle::new(IDLE_TIMEOUT, MAX_IDLE)),
            own: Mutex::new(None),
        })
    }

    /// Sends one POST with `body`; returns the open exchange with its response header read.
    /// The caller's credentials are never part of it.
    pub(crate) async fn post(
        &self,
        connector: &Connector,
        body: Bytes,
        session_id: Option<&str>,
        credential: Option<&Presented>,
    ) -> Result<Exchange, UpstreamError> {
        self.send(connector, "POST", Some(body), session_id, credential)
            .await
    }

    /// POSTs a message that gets no answer but a status (a notification or a client's
    /// response), reading and discarding the body.
    pub(crate) async fn deliver(
        &self,
        connector: &Connector,
        body: Bytes,
        session_id: Option<&str>,
        credential: Option<&Presented>,
    ) -> Result<u16, UpstreamError> {
        let mut ex = self.post(connector, body, session_id, credential).await?;
        let status = ex.status();
        ex.drain().await;
        ex.release().await;
        Ok(status)
    }

    async fn send(
        &self,
        connector: &Connector,
        method: &str,
        body: Option<Bytes>,
        session_id: Option<&str>,
        credential: Option<&Presented>,
    ) -> Result<Exchange, UpstreamError> {
        let mut headers = vec![("mcp-protocol-version", UPSTREAM_PROTOCOL)];
        if let Some(id) = session_id {
            headers.push(("mcp-session-id", id));
        }
        self.send_with(connector, method, body, &headers, credential)
            .await
    }

    /// POSTs one A2A JSON-RPC request, with its `A2A-Version` header as the client sent it
    /// (agent servers refuse a method of the other version).
    pub(crate) async fn post_a2a(
        &self,
        connector: &Connector,
        body: Bytes,
        version: Option<&str>,
        credential: Option<&Presented>,
    ) -> Result<Exchange, UpstreamError> {
        let headers: Vec<(&str, &str)> = version.map(|v| ("a2a-version", v)).into_iter().collect();
        self.send_with(connector, "POST", Some(body), &headers, credential)
            .await
    }

    /// GETs the upstream's URL (an agent card), with these headers.
    pub(crate) async fn get(
        &self,
        connector: &Connector,
        headers: &[(&str, &str)],
    ) -> Result<Exchange, UpstreamError> {
        self.send_with(connector, "GET", None, headers, None).await
    }

    async fn send_with(
        &self,
        connector: &Connector,
        method: &str,
        body: Option<Bytes>,
        extra: &[(&str, &str)],
        credential: Option<&Presented>,
    ) -> Result<Exchange, UpstreamError> {
        let body = body.unwrap_or_default();
        let head = self.request_head(method, body.len(), extra, credential)?;
        // An idle connection first; connecting (boxed: its future is large) only without one.
        let stream = match self.idle.take() {
            Some(stream) => stream,
            None => Box::pin(connector.get_http_session(&*self.peer))
                .await
                .map_err(|e| UpstreamError::Connect(e.etype().as_str().to_owned()))?
                .0
                .into_inner(),
        };
        let stream = write_h1(stream, head, &body).await?;
        // Boxed: the exchange moves through several calls, and stays small.
        let mut http = Box::new(HttpSession::new_with_options(stream, &*self.peer));
        http.read_response().await.map_err(|e| match e.etype() {
            pingora::ErrorType::ReadTimedout
            | pingora::ErrorType::WriteTimedout
            | pingora::ErrorType::ConnectTimedout => UpstreamError::Timeout,
            other => UpstreamError::Connect(other.as_str().to_owned()),
        })?;
        Ok(Exchange {
            http,
            peer: self.peer.clone(),
            idle: self.idle.clone(),
        })
    }

    /// The request line and header, written once: the fixed headers, `extra`, the body's
    /// length and the upstream's credential. Every name and value is checked first (no
    /// control characters), so nothing a caller chose can add a header or end this one.
    fn request_head(
        &self,
        method: &str,
        length: usize,
        extra: &[(&str, &str)],
        credential: Option<&Presented>,
    ) -> Result<Vec<u8>, UpstreamError> {
        use std::io::Write as _;
        let mut head = Vec::with_capacity(256);
        let fixed = [
            ("host", self.host.as_str()),
            ("content-type", "application/json"),
            ("accept", "application/json, text/event-stream"),
        ];
        // Infallible: writing to a Vec.
        let _ = write!(head, "{method} {} HTTP/1.1\r\n", self.path);
        for (name, value) in fixed.iter().chain(extra) {
            header_line(&mut head, name.as_bytes(), value.as_bytes())?;
        }
        let _ = write!(head, "content-length: {length}\r\n");
        if let Some(c) = credential {
            // A HeaderName and a HeaderValue: checked when the credential was opened.
            header_line(&mut head, c.header.as_str().as_bytes(), c.value.as_bytes())?;
        }
        head.extend_from_slice(b"\r\n");
        Ok(head)
    }

    /// Opens a new upstream MCP session (initialize, then notifications/initialized).
    /// `None` when the upstream keeps no sessions.
    pub(crate) async fn open_session(
        &self,
        connector: &Connector,
        ids: &RequestIds,
        capabilities: &Value,
        credential: Option<&Presented>,
    ) -> Result<Option<String>, UpstreamError> {
        let empty = Value::Object(serde_json::Map::new());
        let capabilities = if capabilities.is_object() {
            capabilities
        } else {
            &empty
        };
        let params = serde_json::json!({
            "protocolVersion": UPSTREAM_PROTOCOL, "capabilities": capabilities,
            "clientInfo": {"name": "portcullis-gateway", "version": env!("CARGO_PKG_VERSION")}
        });
        let init = crate::jsonrpc::request_body(&ids.next(), "initialize", Some(&params));
        let mut ex = self
            .post(connector, Bytes::from(init), None, credential)
            .await?;
        let status = ex.status();
        let id = ex.header("mcp-session-id");
        ex.drain().await;
        ex.release().await;
        if status != 200 {
            return Err(UpstreamError::Protocol(format!(
                "initialize answered HTTP {status}"
            )));
        }
        let note = crate::jsonrpc::notification_body("notifications/initialized", None);
        self.deliver(connector, Bytes::from(note), id.as_deref(), credential)
            .await?;
        Ok(id)
    }

    /// The gateway's own session with this upstream, opened on first use. It is used only
    /// to read the upstream's tool definitions, never for a caller's request. It announces
    /// every client capability, so tools a server offers only to capable clients are listed
    /// too (callers' own sessions carry their own capabilities).
    async fn own_session(
        &self,
        connector: &Connector,
        ids: &RequestIds,
    ) -> Result<Option<String>, UpstreamError> {
        let mut guard = self.own.lock().await;
        if let Some(id) = guard.as_ref() {
            return Ok(Some(id.clone()));
        }
        let every = serde_json::json!({
            "elicitation": {"form": {}, "url": {}},
            "sampling": {},
            "roots": {"listChanged": true},
        });
        let id = self.open_session(connector, ids, &every, None).await?;
        guard.clone_from(&id);
        Ok(id)
    }

    /// Forgets the gateway's own session when the upstream no longer knows it.
    async fn forget_own(&self, stale: Option<&str>) {
        let mut guard = self.own.lock().await;
        if guard.as_deref() == stale {
            *guard = None;
        }
    }

    /// The upstream's whole list of `family` (every page, at most 50), as its own session
    /// sees it. A server that does not offer the family (an error answer) has none.
    pub(crate) async fn list(
        &self,
        connector: &Connector,
        ids: &RequestIds,
        family: crate::discovery::Family,
    ) -> Result<Vec<Value>, UpstreamError> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        for _page in 0..50 {
            let sid = self.own_session(connector, ids).await?;
            let params = cursor.as_ref().map(|c| serde_json::json!({"cursor": c}));
            let id = ids.next();
            let body = crate::jsonrpc::request_body(&id, family.method(), params.as_ref());
            let ex = self
                .post(connector, Bytes::from(body), sid.as_deref(), None)
                .await?;
            let status = ex.status();
            if status == 404 {
                self.forget_own(sid.as_deref()).await;
            }
            if !(200..300).contains(&status) {
                let mut ex = ex;
                ex.drain().await;
                ex.release().await;
                return Err(UpstreamError::Status(status));
            }
            let answered = ex.answer(&id).await?;
            if answered.error.is_some() {
                break;
            }
            let result = answered.into_result()?;
            if let Some(Value::Array(page)) = result.get(family.key()) {
                items.extend(page.iter().cloned());
            }
            cursor = result
                .get("nextCursor")
                .and_then(Value::as_str)
                .map(str::to_owned);
            if cursor.is_none() {
                break;
            }
        }
        Ok(items)
    }

    /// Opens the session's server-to-client stream (GET). `None` when the upstream offers
    /// none (405). The stream has no read timeout: it may be quiet for a long time.
    pub(crate) async fn open_stream(
        &self,
        connector: &Connector,
        session_id: &str,
        credential: Option<&Presented>,
    ) -> Result<Option<Exchange>, UpstreamError> {
        let mut ex = self
            .send(connector, "GET", None, Some(session_id), credential)
            .await?;
        let status = ex.status();
        if status == 200 && ex.is_sse() {
            ex.http.read_timeout = None;
            return Ok(Some(ex));
        }
        ex.drain().await;
        ex.release().await;
        match status {
            405 => Ok(None),
            other => Err(UpstreamError::Status(other)),
        }
    }

    /// Ends an upstream session (DELETE), best effort.
    pub(crate) async fn close_session(
        &self,
        connector: &Connector,
        id: &str,
        credential: Option<&Presented>,
    ) {
        if let Ok(mut ex) = self
            .send(connector, "DELETE", None, Some(id), credential)
            .await
        {
            ex.drain().await;
            ex.release().await;
        }
    }
}

/// The response to one request the gateway sent, found in a JSON or SSE answer.
#[derive(Debug)]
pub(crate) struct Answered {
    pub(crate) result: Option<Value>,
    pub(crate) error: Option<crate::jsonrpc::ErrorObject>,
}

impl Answered {
    /// The result, or the upstream's JSON-RPC error as a protocol error.
    pub(crate) fn into_result(self) -> Result<Value, UpstreamError> {
        match (self.result, self.error) {
            (Some(result), _) => Ok(result),
            (None, Some(e)) => Err(UpstreamError::Protocol(format!(
                "error {}: {}",
                e.code, e.message
            ))),
            (None, None) => Err(UpstreamError::Protocol(
                "a response with neither result nor error".into(),
            )),
        }
    }
}

/// Appends `name: value` and its line end, refusing a name that is not a token and a value
/// with a control character (CR and LF above all) — RFC 9110's field syntax.
fn header_line(head: &mut Vec<u8>, name: &[u8], value: &[u8]) -> Result<(), UpstreamError> {
    let token = |b: &u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(b);
    let visible = |b: &u8| *b == b'\t' || (*b >= 0x20 && *b != 0x7f);
    if name.is_empty() || !name.iter().all(token) || !value.iter().all(visible) {
        return Err(UpstreamError::Protocol(format!(
            "the header `{}` is refused",
            String::from_utf8_lossy(name)
        )));
    }
    head.extend_from_slice(name);
    head.extend_from_slice(b": ");
    head.extend_from_slice(value);
    head.extend_from_slice(b"\r\n");
    Ok(())
}

/// Sends an HTTP/1.1 request with its header and body in one write: one segment on the
/// wire, one wake-up of the upstream.
async fn write_h1(
    mut stream: Connection,
    mut head: Vec<u8>,
    body: &[u8],
) -> Result<Connection, UpstreamError> {
    use tokio::io::AsyncWriteExt;
    /// Bodies up to this size are copied behind the header; larger ones follow it.
    const COALESCE: usize = 64 * 1024;
    let written = async {
        if body.len() <= COALESCE {
            head.extend_from_slice(body);
            stream.write_all(&head).await?;
        } else {
            stream.write_all(&head).await?;
            stream.write_all(body).await?;
        }
        stream.flush().await
    }
    .await;
    written.map_err(|e| {
        tracing::debug!("while writing to the upstream: {e}");
        UpstreamError::Connect(pingora::ErrorType::WriteError.as_str().to_owned())
    })?;
    Ok(stream)
}

/// One request/response exchange with an upstream, response header read.
pub(crate) struct Exchange {
    http: Box<HttpSession>,
    peer: Arc<HttpPeer>,
    /// Where the connection goes back once the answer is read.
    idle: Arc<Idle>,
}

impl Exchange {
    pub(crate) fn status(&self) -> u16 {
        self.http.resp_header().map_or(0, |h| h.status.as_u16())
    }

    pub(crate) fn header(&self, name: &str) -> Option<String> {
        self.http
            .resp_header()
            .and_then(|h| h.headers.get(name))
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    /// Whether the answer is a server-sent event stream.
    pub(crate) fn is_sse(&self) -> bool {
        self.http
            .resp_header()
            .and_then(|h| h.headers.get("content-type"))
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| {
                c.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("text/event-stream")
            })
    }

    /// The next chunk of the response body; `None` at the end.
    pub(crate) async fn chunk(&mut self) -> Result<Option<Bytes>, UpstreamError> {
        self.http
            .read_body_bytes()
            .await
            .map_err(|e| match e.etype() {
                pingora::ErrorType::ReadTimedout => UpstreamError::Timeout,
                other => UpstreamError::Protocol(other.as_str().to_owned()),
            })
    }

    pub(crate) async fn drain(&mut self) {
        while let Ok(Some(_)) = self.chunk().await {}
    }

    /// The whole body, at most [`MAX_ANSWER`] bytes, within the upstream's request timeout
    /// (a body that keeps coming is cut off); the connection goes back to the pool.
    pub(crate) async fn read_all(mut self) -> Result<Vec<u8>, UpstreamError> {
        let budget = self
            .peer
            .options
            .read_timeout
            .unwrap_or(Duration::from_secs(30));
        let mut raw = Vec::new();
        let read = tokio::time::timeout(budget, async {
            while let Some(chunk) = self.chunk().await? {
                if raw.len() + chunk.len() > MAX_ANSWER {
                    return Err(UpstreamError::Protocol(format!(
                        "the answer is larger than {MAX_ANSWER} bytes"
                    )));
                }
                raw.extend_from_slice(&chunk);
            }
            Ok(())
        })
        .await
        .unwrap_or(Err(UpstreamError::Timeout));
        if let Err(e) = read {
            self.http.shutdown().await;
            return Err(e);
        }
        self.release().await;
        Ok(raw)
    }

    /// Reads the answer to the request sent with `id` (JSON, or the response among SSE
    /// events) and returns it. Anything else in the answer is dropped.
    pub(crate) async fn answer(self, id: &Value) -> Result<Answered, UpstreamError> {
        let sse = self.is_sse();
        let raw = self.read_all().await?;
        let messages: Vec<Value> = if sse {
            crate::sse::messages(&raw)
        } else {
            serde_json::from_slice(&raw).into_iter().collect()
        };
        let answer = messages
            .into_iter()
            .find(|m| m.get("id") == Some(id) && m.get("method").is_none())
            .ok_or_else(|| UpstreamError::Protocol("no response to the request".into()))?;
        let error = answer
            .get("error")
            .cloned()
            .map(serde_json::from_value)
            .transpose()
            .map_err(|_| UpstreamError::Protocol("a malformed error object".into()))?;
        Ok(Answered {
            result: answer.get("result").cloned(),
            error,
        })
    }

    /// The body as a stream of chunks, for the SSE decoder. The connection is not reused.
    pub(crate) fn into_stream(
        self,
    ) -> impl Stream<Item = Result<Bytes, UpstreamError>> + Send + Unpin + 'static {
        Box::pin(futures_util::stream::unfold(Some(self), |ex| async move {
            let mut ex = ex?;
            match ex.chunk().await {
                Ok(Some(chunk)) => Some((Ok(chunk), Some(ex))),
                Ok(None) => None,
                Err(e) => Some((Err(e), None)),
            }
        }))
    }

    /// Keeps the connection for the next request when the response was read completely and
    /// the upstream keeps it open (HTTP/1.1, no `Connection: close`); else closes it.
    pub(crate) async fn release(self) {
        let mut http = *self.http;
        if http.is_body_done() {
            http.respect_keepalive();
            if let Some(stream) = http.reuse().await {
                self.idle.put(stream);
            }
        } else {
            http.shutdown().await;
        }
    }
}

#[cfg(test)]
mod tests;
