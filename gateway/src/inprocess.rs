//! A `tools/call` through the gateway's own work without sockets: what `cargo bench -p
//! portcullis-gateway` measures, so a regression in the per-call work shows before a load
//! test. Not an API: the data plane runs the same functions from `POST /mcp`.

use std::time::Instant;

use serde_json::Value;

use crate::forward::Target;
use crate::jsonrpc::{self, Message};
use crate::session::{Conversation, SessionState};
use crate::state::CallLog;

impl crate::Gateway {
    /// A session id for `principal` of `tenant`, as `initialize` seals one (with no
    /// upstream sessions in it).
    #[doc(hidden)]
    pub fn seal_session(&self, tenant: &str, principal: &str) -> Result<String, crate::Error> {
        self.state.sessions.seal(&SessionState {
            tenant: tenant.to_owned(),
            principal: principal.to_owned(),
            issued: crate::session::now(),
            protocol: "2025-06-18".to_owned(),
            upstreams: std::collections::BTreeMap::new(),
            capabilities: serde_json::json!({}),
        })
    }

    /// One `tools/call` as `POST /mcp` handles it, minus the sockets: the bearer token and
    /// the session checked, the body parsed strictly, the arguments validated and hashed, the
    /// decision taken (cached), the credential looked up, the upstream request serialized;
    /// then `upstream` (given the gateway id) answers in place of the upstream, and its answer
    /// is checked and re-addressed; last, the audit record is built and serialized. Not
    /// included: HTTP parsing, the sockets, tracking the call for cancellation, metrics and
    /// the store's write. Returns the body the client would get, or the refusal's message.
    #[doc(hidden)]
    pub async fn call_in_process(
        &self,
        authorization: &str,
        session_id: &str,
        body: &[u8],
        upstream: impl Fn(&Value, &[u8]) -> Vec<u8>,
    ) -> Result<Vec<u8>, String> {
        let state = &self.state;
        let started = Instant::now();
        let mut log = CallLog::default();
        let principal = crate::authn::caller_from(state, Some(authorization), &mut log)
            .await
            .map_err(|e| e.to_string())?;
        let message = jsonrpc::parse(body).map_err(|r| r.error.to_string())?;
        let Message::Request { id, method, params } = message else {
            return Err("not a request".into());
        };
        if method != "tools/call" {
            return Err(format!("`{method}` is not a tools/call"));
        }
        log.id = Some(id.clone());
        log.method = Some(method);
        let conversation = Conversation::open_id(state, Some(session_id), &principal)
            .map_err(|e| e.to_string())?;
        let to = Target {
            principal: &principal,
            conversation: &conversation,
        };
        let planned = crate::tools::plan(state, &mut log, &principal, params)
            .await
            .map_err(|e| e.to_string())?;
        let credential =
            crate::forward::credential(state, to, &planned.upstream).map_err(|e| e.to_string())?;
        std::hint::black_box(credential);
        let gid = state.ids.next();
        let sent = jsonrpc::request_body(&gid, planned.method, Some(&planned.params));
        let answered = upstream(&gid, &sent);
        let reply = crate::forward::answer_body(&answered, &planned.upstream, &gid, &id)
            .map_err(|e| e.to_string())?;
        let event = crate::proxy::audit_event(&log, 200, started);
        let tenant = event.tenant.clone().unwrap_or_default();
        let record = portcullis_registry::AuditRecord::new(&tenant, crate::audit::now_ms(), &event)
            .map_err(|e| e.to_string())?;
        std::hint::black_box(record);
        Ok(reply.body)
    }
}
