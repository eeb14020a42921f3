//! A caller's lists (prompts, resources, resource templates), merged across the upstreams of
//! its conversation page by page under one opaque gateway cursor.
//!
//! Each page asks every upstream that still has pages for its next one, in the caller's own
//! upstream session, so each upstream's pagination is kept. The cursor holds where each
//! upstream is, sealed under the session key and bound to the caller and the list: a client
//! can neither read nor forge it, and never hands an upstream a cursor of its own making.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde_json::{Map, Value};

use crate::discovery::Family;
use crate::error::Error;
use crate::forward::{self, Target};
use crate::jsonrpc;
use crate::state::{CallLog, State};

/// One page of a merged list.
#[derive(Debug, Default)]
pub(crate) struct Page {
    /// Each item with the upstream it came from.
    pub(crate) items: Vec<(String, Value)>,
    /// The cursor of the next page, when an upstream has more.
    pub(crate) next: Option<String>,
}

/// Where each upstream still listing is: its next cursor, or `None` before its first page.
type Position = BTreeMap<String, Option<String>>;

fn aad(family: Family, to: Target<'_>) -> Vec<u8> {
    format!(
        "portcullis list cursor v1\0{}\0{}\0{}",
        family.method(),
        to.principal.tenant,
        to.principal.id
    )
    .into_bytes()
}

/// The next page of `family` for the caller, after `cursor` (from the start without one).
pub(crate) async fn page(
    state: &State,
    to: Target<'_>,
    family: Family,
    params: Option<&Map<String, Value>>,
) -> Result<Page, Error> {
    let position: Position = match params.and_then(|p| p.get("cursor")) {
        None | Some(Value::Null) => state.upstreams.keys().map(|u| (u.clone(), None)).collect(),
        Some(Value::String(cursor)) => state
            .sessions
            .open_bytes(cursor, &aad(family, to))
            .and_then(|plain| serde_json::from_slice(&plain).ok())
            .ok_or_else(|| {
                Error::InvalidParams("invalid cursor: use one this list returned".into())
            })?,
        Some(_) => return Err(Error::InvalidParams("`cursor` must be a string".into())),
    };
    let mut page = Page::default();
    let mut next = Position::new();
    for (upstream, cursor) in position {
        let gid = state.ids.next();
        let params = cursor.as_ref().map(|c| serde_json::json!({"cursor": c}));
        let body = Bytes::from(jsonrpc::request_body(
            &gid,
            family.method(),
            params.as_ref(),
        ));
        // The fan-out's own bookkeeping stays out of the caller's log.
        let mut scratch = CallLog::default();
        let answered = match forward::exchange(state, &mut scratch, to, &upstream, body).await {
            Ok((ex, _)) => ex.answer(&gid).await,
            Err(Error::Upstream { error, .. }) => Err(error),
            Err(other) => return Err(other),
        };
        let result = match answered {
            Ok(answered) if answered.error.is_some() => continue, // it offers no such list
            Ok(answered) => answered.into_result(),
            Err(e) => Err(e),
        };
        let result = match result {
            Ok(result) => result,
            Err(e) => {
                // An upstream that cannot answer is left out of this listing.
                state.metrics.upstream_failed(&upstream, &e);
                tracing::warn!(%upstream, "{} failed: {e}", family.method());
                continue;
            }
        };
        if let Some(Value::Array(items)) = result.get(family.key()) {
            page.items
                .extend(items.iter().map(|item| (upstream.clone(), item.clone())));
        }
        if let Some(Value::String(more)) = result.get("nextCursor") {
            next.insert(upstream, Some(more.clone()));
        }
    }
    if !next.is_empty() {
        let plain = serde_json::to_vec(&next).map_err(|e| Error::Internal(e.to_string()))?;
        page.next = Some(state.sessions.seal_bytes(&plain, &aad(family, to))?);
    }
    Ok(page)
}
