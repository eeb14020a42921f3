//! The REST face: `GET /mcp/tools` and `POST /mcp/tools/{name}/call` (body = arguments),
//! with the same enforcement as MCP, for clients that do not speak JSON-RPC.

use bytes::Bytes;
use pingora::proxy::Session;
use serde_json::{Map, Value, json};

use crate::accept;
use crate::authn;
use crate::error::Error;
use crate::forward::{self, Target};
use crate::jsonrpc;
use crate::respond::{Answer, Reply};
use crate::session::Conversation;
use crate::state::{CallLog, State};

pub(crate) async fn list(
    state: &State,
    session: &mut Session,
    log: &mut CallLog,
) -> Result<Answer, Error> {
    let principal = authn::caller(state, session, log).await?;
    log.method = Some("tools/list".into());
    let body = json!({"tools": crate::tools::listed_tools(state, &principal).await});
    Ok(Reply::json(200, serde_json::to_vec(&body).unwrap_or_default()).into())
}

pub(crate) async fn call(
    state: &State,
    session: &mut Session,
    log: &mut CallLog,
    name: &str,
) -> Result<Answer, Error> {
    let principal = authn::caller(state, session, log).await?;
    log.method = Some("tools/call".into());
    let body = accept::read_json_body(session, state.config.body_limit).await?;
    let arguments = jsonrpc::parse_arguments(&body)?;
    let mut params = Map::new();
    params.insert("name".into(), Value::String(name.to_owned()));
    params.insert("arguments".into(), Value::Object(arguments));
    let planned = crate::tools::plan(state, log, &principal, Some(params)).await?;
    let to = Target {
        principal: &principal,
        conversation: &Conversation::Stateless,
    };
    let mut params = planned.params;
    // The REST face has no `_meta` to pass on.
    params.remove("_meta");
    let gid = state.ids.next();
    let request = Bytes::from(jsonrpc::request_body(&gid, planned.method, Some(&params)));
    let upstream = planned.upstream.as_str();
    let (ex, _) = forward::exchange(state, log, to, upstream, request).await?;
    let result = ex
        .answer(&gid)
        .await
        .and_then(crate::upstream::Answered::into_result)
        .map_err(|e| Error::upstream(upstream, e))?;
    Ok(Reply::json(200, serde_json::to_vec(&result).unwrap_or_default()).into())
}
