//! MCP sessions (`Mcp-Session-Id`) that any replica can serve, and that bind to the caller.
//!
//! A session id is the session's state sealed with AES-256-GCM under a key from the
//! configuration: the tenant and principal it belongs to, when it began, the protocol version,
//! and the upstream session opened for it on each upstream. Any instance with the key can
//! open it, so a session survives a restart or a move to another replica; a token for
//! another principal, a tampered id or an expired one is an unknown session (404).

use std::collections::BTreeMap;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::authn::Principal;
use crate::error::Error;
use crate::state::State;

/// How often a gateway reads the sessions other gateways on its store ended.
pub(crate) const ENDED_POLL: std::time::Duration = std::time::Duration::from_millis(250);

/// Reads the sessions ended anywhere on the store into `state.ended`, every
/// [`ENDED_POLL`], until `stop`.
pub(crate) fn spawn_ended_follower(
    state: std::sync::Arc<State>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let Some(store) = state.store.clone() else {
        return;
    };
    tokio::spawn(async move {
        let mut cursor = 0;
        let mut tick = tokio::time::interval(ENDED_POLL);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.changed() => return,
            }
            match store.ended_sessions(cursor).await {
                Ok((ids, next)) => {
                    for id in ids {
                        state.ended.insert(session_key(&id));
                    }
                    cursor = next;
                }
                Err(e) => tracing::debug!("ended sessions not read: {e}"),
            }
        }
    });
}

/// Where a gateway queues the ended sessions it could not share through the store.
pub(crate) type EndLater = tokio::sync::mpsc::Sender<(String, time::OffsetDateTime)>;

/// Shares queued ended sessions through `store`, one at a time, each retried (100 ms,
/// doubling to 5 s) until it is written or its keeping time is over: once the store is back,
/// every gateway ends them. This gateway refuses them meanwhile. At most 10,000 wait; past
/// that a session is ended at this gateway only, and an error says so.
pub(crate) fn spawn_end_sharer(store: portcullis_registry::DynStore) -> EndLater {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<(String, time::OffsetDateTime)>(10_000);
    tokio::spawn(async move {
        while let Some((id, until)) = rx.recv().await {
            let mut backoff = std::time::Duration::from_millis(100);
            while time::OffsetDateTime::now_utc() < until {
                match store.end_session(&id, until).await {
                    Ok(()) => {
                        tracing::info!("an ended session is shared with the other gateways");
                        break;
                    }
                    Err(_) => {
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(std::time::Duration::from_secs(5));
                    }
                }
            }
        }
    });
    tx
}

/// How the gateway's maps know a session: the first 128 bits of the SHA-256 of its id,
/// computed once per request. Ids are several hundred bytes (sealed); hashing and copying one
/// for every map a call touches cost more than the lookups themselves, and a digest this wide
/// names one id (another id with the same digest takes about 2^128 tries to find).
pub(crate) type SessionKey = u128;

/// The [`SessionKey`] of the session id `id`.
pub(crate) fn session_key(id: &str) -> SessionKey {
    use sha2::Digest as _;
    let digest: [u8; 32] = sha2::Sha256::digest(id.as_bytes()).into();
    u128::from_le_bytes(*digest.first_chunk::<16>().unwrap_or(&[0; 16]))
}

/// Sessions ended anywhere on the store (a sealed id cannot be recalled otherwise), kept
/// 24 h, at most a million. Each is kept as its [`SessionKey`] rather than the id: a full set
/// costs tens of megabytes, not hundreds.
#[derive(Clone)]
pub(crate) struct Ended(moka::sync::Cache<u128, ()>);

impl Default for Ended {
    fn default() -> Self {
        Self(
            // LRU, not moka's default TinyLFU: a newly ended id must always be admitted, even
            // when the set is full (the oldest goes first).
            moka::sync::Cache::builder()
                .max_capacity(1_000_000)
                .eviction_policy(moka::policy::EvictionPolicy::lru())
                .time_to_live(std::time::Duration::from_secs(24 * 3600))
                .build(),
        )
    }
}

impl Ended {
    pub(crate) fn insert(&self, key: SessionKey) {
        self.0.insert(key, ());
    }

    pub(crate) fn contains(&self, key: SessionKey) -> bool {
        self.0.contains_key(&key)
    }

    /// How many are kept (read at a metrics scrape: settles the cache's pending work first).
    pub(crate) fn len(&self) -> u64 {
        self.0.run_pending_tasks();
        self.0.entry_count()
    }
}

/// How a request relates to an MCP session.
#[derive(Debug)]
pub(crate) enum Conversation {
    /// The 2026-07-28 era (and the REST face): every request stands alone.
    Stateless,
    /// A live session of the caller's, opened from its `Mcp-Session-Id`.
    Session {
        id: String,
        key: SessionKey,
        state: std::sync::Arc<SessionState>,
    },
}

impl Conversation {
    /// The caller's session from `Mcp-Session-Id`: 400 without one, 404 for anything but a
    /// live session of theirs.
    pub(crate) fn open(
        state: &State,
        session: &pingora::proxy::Session,
        principal: &Principal,
    ) -> Result<Self, Error> {
        let id = session
            .req_header()
            .headers
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok());
        Self::open_id(state, id, principal)
    }

    /// [`open`](Self::open), from the `Mcp-Session-Id` header's value.
    pub(crate) fn open_id(
        state: &State,
        id: Option<&str>,
        principal: &Principal,
    ) -> Result<Self, Error> {
        let id = id.ok_or(Error::SessionMissing)?;
        let key = session_key(id);
        if state.ended.contains(key) {
            return Err(Error::SessionUnknown);
        }
        let opened = state
            .sessions
            .open(id, key, &principal.tenant, &principal.id)
            .ok_or(Error::SessionUnknown)?;
        Ok(Self::Session {
            id: id.to_owned(),
            key,
            state: opened,
        })
    }

    /// The upstream session this client session has open with `upstream`, if any: the
    /// replacement opened after the upstream lost one, else the one sealed in the id.
    pub(crate) fn known_upstream(&self, state: &State, upstream: &str) -> Option<String> {
        match self {
            Self::Stateless => None,
            Self::Session {
                key, state: sealed, ..
            } => state
                .overrides
                .get(&(*key, upstream.to_owned()))
                .or_else(|| sealed.upstreams.get(upstream).cloned()),
        }
    }

    /// Every upstream this client session has a session with, and that session.
    pub(crate) fn upstream_sessions(&self, state: &State) -> Vec<(String, String)> {
        let mut names: Vec<&String> = state.upstreams.keys().collect();
        names.sort();
        names
            .into_iter()
            .filter_map(|name| Some((name.clone(), self.known_upstream(state, name)?)))
            .collect()
    }
}

/// How long a session lives.
const LIFETIME_SECS: u64 = 24 * 3600;
/// Binds ciphertexts to this use of the key.
const AAD: &[u8] = b"portcullis mcp session v1";

/// What a session id carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SessionState {
    pub(crate) tenant: String,
    pub(crate) principal: String,
    pub(crate) issued: u64,
    pub(crate) protocol: String,
    /// Upstream name → the upstream's session id for this session.
    #[serde(default)]
    pub(crate) upstreams: BTreeMap<String, String>,
    /// The client's capabilities, passed on to the upstream sessions opened for it.
    #[serde(default)]
    pub(crate) capabilities: serde_json::Value,
}

pub(crate) struct SessionKeys {
    cipher: Aes256Gcm,
    /// Ids opened before, by their [`SessionKey`], with what they carry: a session's later
    /// requests skip base64, AES-GCM and JSON. Only ids that opened are kept, and the
    /// caller, tenant and lifetime are checked on every use.
    opened: moka::sync::Cache<SessionKey, std::sync::Arc<SessionState>>,
}

/// Most opened session ids kept, and for how long unused.
const OPENED_KEPT: u64 = 50_000;
const OPENED_IDLE: std::time::Duration = std::time::Duration::from_secs(600);

impl std::fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKeys(..)")
    }
}

pub(crate) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl SessionKeys {
    /// Uses the first 32 bytes of `key`.
    pub(crate) fn new(key: &[u8]) -> Result<Self, Error> {
        let key = key
            .get(..32)
            .ok_or_else(|| Error::Config("the session key must be at least 32 bytes".into()))?;
        let cipher = Aes256Gcm::new_from_slice(key)
            .map_err(|_| Error::Config("the session key must be 32 bytes".into()))?;
        Ok(Self {
            cipher,
            opened: moka::sync::Cache::builder()
                .max_capacity(OPENED_KEPT)
                .time_to_idle(OPENED_IDLE)
                .build(),
        })
    }

    /// Seals `state` into a session id (visible ASCII: base64url).
    pub(crate) fn seal(&self, state: &SessionState) -> Result<String, Error> {
        let plain = serde_json::to_vec(state).map_err(|e| Error::Internal(e.to_string()))?;
        self.seal_bytes(&plain, AAD)
    }

    /// Opens a session id (`key`: its [`SessionKey`]) for the caller; `None` for anything
    /// but a live session of theirs.
    pub(crate) fn open(
        &self,
        id: &str,
        key: SessionKey,
        tenant: &str,
        principal: &str,
    ) -> Option<std::sync::Arc<SessionState>> {
        let state = match self.opened.get(&key) {
            Some(state) => state,
            None => {
                let plain = self.open_bytes(id, AAD)?;
                let state =
                    std::sync::Arc::new(serde_json::from_slice::<SessionState>(&plain).ok()?);
                self.opened.insert(key, state.clone());
                state
            }
        };
        let live = now() < state.issued.saturating_add(LIFETIME_SECS);
        (live && state.tenant == tenant && state.principal == principal).then_some(state)
    }

    /// `plain` sealed under this key and `aad` (which must be given again to open it), as
    /// visible ASCII: a random nonce, then the ciphertext, base64url.
    pub(crate) fn seal_bytes(&self, plain: &[u8], aad: &[u8]) -> Result<String, Error> {
        let nonce_bytes: [u8; 12] = rand::random();
        let sealed = self
            .cipher
            .encrypt(&Nonce::from(nonce_bytes), Payload { msg: plain, aad })
            .map_err(|_| Error::Internal("cannot seal".into()))?;
        let mut out = Vec::with_capacity(12 + sealed.len());
        out.extend_from_slice(&nonce_bytes);
        out.extend_from_slice(&sealed);
        Ok(URL_SAFE_NO_PAD.encode(out))
    }

    /// What [`seal_bytes`](Self::seal_bytes) sealed with the same `aad`; `None` for
    /// anything else.
    pub(crate) fn open_bytes(&self, sealed: &str, aad: &[u8]) -> Option<Vec<u8>> {
        let raw = URL_SAFE_NO_PAD.decode(sealed.as_bytes()).ok()?;
        let (nonce, sealed) = (raw.get(..12)?, raw.get(12..)?);
        let nonce: [u8; 12] = nonce.try_into().ok()?;
        self.cipher
            .decrypt(&Nonce::from(nonce), Payload { msg: sealed, aad })
            .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::{SessionKeys, SessionState, now, session_key};

    fn state() -> SessionState {
        SessionState {
            tenant: "acme".into(),
            principal: "agent-1".into(),
            issued: now(),
            protocol: "2025-06-18".into(),
            upstreams: [("files".to_owned(), "s-1".to_owned())].into(),
            capabilities: serde_json::json!({"sampling": {}}),
        }
    }

    #[test]
    fn sealed_sessions_open_only_for_their_principal() {
        let keys = SessionKeys::new(&[5; 32]).unwrap();
        let id = keys.seal(&state()).unwrap();
        assert!(id.bytes().all(|b| b.is_ascii_graphic()));
        assert_eq!(
            keys.open(&id, session_key(&id), "acme", "agent-1")
                .as_deref(),
            Some(&state())
        );
        // Opened once (kept), it is still checked on every use.
        assert_eq!(
            keys.open(&id, session_key(&id), "acme", "agent-2"),
            None,
            "another principal"
        );
        assert_eq!(
            keys.open(&id, session_key(&id), "globex", "agent-1"),
            None,
            "another tenant"
        );
        assert_eq!(
            keys.open(&id, session_key(&id), "acme", "agent-1")
                .as_deref(),
            Some(&state())
        );
        let other = SessionKeys::new(&[6; 32]).unwrap();
        assert_eq!(
            other.open(&id, session_key(&id), "acme", "agent-1"),
            None,
            "another key"
        );
        let mut tampered = id.clone().into_bytes();
        let last = tampered.len() - 2;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            {
                let tampered = std::str::from_utf8(&tampered).unwrap();
                keys.open(tampered, session_key(tampered), "acme", "agent-1")
            },
            None
        );
        assert_eq!(
            keys.open("garbage", session_key("garbage"), "acme", "agent-1"),
            None
        );
        assert_ne!(keys.seal(&state()).unwrap(), id, "a fresh nonce every time");
    }

    #[test]
    fn expired_sessions_do_not_open() {
        let keys = SessionKeys::new(&[5; 32]).unwrap();
        let old = SessionState {
            issued: now() - 25 * 3600,
            ..state()
        };
        assert_eq!(
            {
                let id = keys.seal(&old).unwrap();
                keys.open(&id, session_key(&id), "acme", "agent-1")
            },
            None
        );
    }
}
