//! Step 2: authenticate the bearer token and resolve who is acting.
//!
//! The token's `sub` is the originator; an RFC 8693 `act` claim names the current actor
//! (outermost) and earlier ones (nested). The current actor is the principal. When `sub` is
//! not a registered NHI it is the human the call is made for (`on_behalf_of`).

use std::sync::Arc;

use pingora::proxy::Session;
use portcullis_identity::{AgentTokens, Claims, TokenKey, unexpired};
use portcullis_registry::NhiKind;

use crate::error::Error;
use crate::jwks::Issuers;
use crate::lookup::Catalog;
use crate::state::{CallLog, State};

/// Longest subject (and tenant) accepted from a token, in bytes.
pub(crate) const MAX_SUBJECT: usize = 256;
/// Most actors a token's delegation chain may name, the subject included.
pub(crate) const MAX_ACTORS: usize = 16;

/// The caller of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Principal {
    /// The current actor: an active agent or service account of `tenant`.
    pub(crate) id: String,
    pub(crate) kind: NhiKind,
    /// The tenant named by the token, which is also the principal's tenant in the registry.
    pub(crate) tenant: String,
    /// Earlier actors of the delegation chain, the originator first: active agents of
    /// `tenant`.
    pub(crate) chain: Vec<String>,
    pub(crate) on_behalf_of: Option<String>,
}

/// The gateway's own key, and the tokens it has verified, by their exact text: a token seen
/// again skips the signature check and claim parsing, but its expiry is checked on every use
/// (and whether its principal may act is decided per request, as for any token).
pub(crate) struct VerifiedTokens {
    key: TokenKey,
    seen: moka::sync::Cache<String, Arc<Claims>>,
}

impl VerifiedTokens {
    pub(crate) fn new(key: TokenKey) -> Self {
        Self {
            key,
            seen: moka::sync::Cache::builder()
                .max_capacity(10_000)
                .time_to_idle(std::time::Duration::from_secs(300))
                .build(),
        }
    }

    /// Verifies one of the gateway's own tokens. They carry the gateway's own clock's
    /// times, so there is no leeway: a token is refused from its `exp` second on.
    pub(crate) fn verify(&self, token: &str) -> Result<Arc<Claims>, Error> {
        self.verify_with(token, |t| self.key.verify(t))
    }

    /// As [`verify`](Self::verify), for a token the gateway's agent-token keys signed.
    pub(crate) fn verify_agent(
        &self,
        token: &str,
        agents: &AgentTokens,
    ) -> Result<Arc<Claims>, Error> {
        self.verify_with(token, |t| agents.verify(t))
    }

    /// The claims of a token one of the gateway's own keys verified before (refused once it
    /// has expired); `None` for a token not seen yet.
    fn cached(&self, token: &str) -> Option<Result<Arc<Claims>, Error>> {
        let claims = self.seen.get(token)?;
        if unexpired(claims.exp) {
            return Some(Ok(claims));
        }
        self.seen.invalidate(token);
        Some(Err(Error::TokenInvalid("token expired".into())))
    }

    fn verify_with(
        &self,
        token: &str,
        check: impl FnOnce(&str) -> Result<Claims, portcullis_identity::TokenError>,
    ) -> Result<Arc<Claims>, Error> {
        if let Some(seen) = self.cached(token) {
            return seen;
        }
        let claims = Arc::new(check(token).map_err(|e| Error::TokenInvalid(e.to_string()))?);
        self.seen.insert(token.to_owned(), claims.clone());
        Ok(claims)
    }
}

/// Whether `token` is one the gateway's agent-token keys signed (EdDSA under a known `kid`).
fn is_agent_token(token: &str, agents: &AgentTokens) -> bool {
    jsonwebtoken::decode_header(token).is_ok_and(|h| {
        h.alg == jsonwebtoken::Algorithm::EdDSA && h.kid.as_deref().is_some_and(|k| agents.knows(k))
    })
}

/// Verifies a bearer token of any kind the gateway accepts: its own agent tokens, an
/// external issuer's, or its own HS256 ones.
pub(crate) async fn verify_token(
    token: &str,
    own: &VerifiedTokens,
    issuers: &Issuers,
    agents: Option<&AgentTokens>,
) -> Result<Arc<Claims>, Error> {
    // The common case first: a token of the gateway's own keys, verified before (no header
    // to decode, no signature to check).
    if let Some(seen) = own.cached(token) {
        return seen;
    }
    if let Some(agents) = agents.filter(|a| is_agent_token(token, a)) {
        return own.verify_agent(token, agents);
    }
    // Boxed: a token of another issuer is the rarer case, and its future (a key fetch) large.
    match Box::pin(issuers.verify(token)).await {
        Some(verified) => verified.map(Arc::new),
        None => own.verify(token),
    }
}

/// The principal of a request (step 2), noted in the call's log; or why it may not act.
pub(crate) async fn caller(
    state: &State,
    session: &Session,
    log: &mut CallLog,
) -> Result<Principal, Error> {
    let header = session
        .req_header()
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok());
    caller_from(state, header, log).await
}

/// [`caller`], from the `Authorization` header's value.
pub(crate) async fn caller_from(
    state: &State,
    header: Option<&str>,
    log: &mut CallLog,
) -> Result<Principal, Error> {
    let catalog = state.catalog.load();
    let agents = state.agent_tokens.load_full();
    let principal = authenticate(
        header,
        &state.tokens,
        &state.issuers,
        agents.as_deref(),
        &catalog,
    )
    .await?;
    log.principal = Some(principal.id.clone());
    log.tenant = Some(principal.tenant.clone());
    log.chain.clone_from(&principal.chain);
    if let Some(sink) = &state.store_sink {
        sink.used(&principal.tenant, &principal.id);
    }
    Ok(principal)
}

/// Verifies the bearer token — an external issuer's when it belongs to one (see [`jwks`]),
/// otherwise the gateway's own HS256 one — and checks in code, before any policy runs,
/// that every actor it names is a registered, active NHI of the token's tenant.
///
/// [`jwks`]: crate::jwks
pub(crate) async fn authenticate(
    header: Option<&str>,
    own: &VerifiedTokens,
    issuers: &Issuers,
    agents: Option<&AgentTokens>,
    catalog: &Catalog,
) -> Result<Principal, Error> {
    let header = header.ok_or(Error::TokenMissing)?;
    let token = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            Error::TokenInvalid("the Authorization header is not a bearer token".into())
        })?;
    let claims = verify_token(token, own, issuers, agents).await?;
    let tenant = claims.tenant.as_str();
    portcullis_registry::check_tenant_id(tenant)
        .map_err(|why| Error::TokenInvalid(format!("token tenant: {why}")))?;
    let mut actors: Vec<&str> = claims.actors();
    if actors.len() > MAX_ACTORS {
        return Err(Error::TokenInvalid(format!(
            "token delegation chain names more than {MAX_ACTORS} actors"
        )));
    }
    if let Some(long) = actors
        .iter()
        .find(|a| a.len() > MAX_SUBJECT || a.is_empty())
    {
        return Err(Error::TokenInvalid(format!(
            "token names a subject of {} bytes (1 to {MAX_SUBJECT} allowed)",
            long.len()
        )));
    }
    let on_behalf_of = match actors.first() {
        Some(first) if catalog.principal(tenant, first).is_none() && actors.len() > 1 => {
            let user = (*first).to_owned();
            actors.remove(0);
            Some(user)
        }
        _ => None,
    };
    let current = actors
        .pop()
        .ok_or_else(|| Error::TokenInvalid("token names no subject".into()))?;
    let entry = acting(catalog, tenant, current)?;
    for earlier in &actors {
        let e = acting(catalog, tenant, earlier)?;
        if e.kind != NhiKind::Agent {
            return Err(Error::Forbidden(format!(
                "`{earlier}` is not an agent: delegation chains are made of agents"
            )));
        }
    }
    // A call made for a user needs the user's permission (`use` or more) on the NHI the
    // user handed it to.
    if let Some(user) = &on_behalf_of {
        let first = actors.first().copied().unwrap_or(current);
        if !catalog.user_may_use(tenant, user, first) {
            return Err(Error::Forbidden(format!(
                "user `{user}` holds no permission to use `{first}`"
            )));
        }
    }
    Ok(Principal {
        id: current.to_owned(),
        kind: entry.kind,
        tenant: tenant.to_owned(),
        chain: actors.into_iter().map(str::to_owned).collect(),
        on_behalf_of,
    })
}

/// An actor that may act: registered in `tenant` (not merely somewhere) and active.
fn acting<'a>(
    catalog: &'a Catalog,
    tenant: &str,
    id: &str,
) -> Result<&'a crate::lookup::PrincipalEntry, Error> {
    let entry = catalog.principal(tenant, id).ok_or_else(|| {
        Error::Forbidden(format!(
            "`{id}` is not a registered agent or service account of tenant `{tenant}`"
        ))
    })?;
    if entry.lifecycle != portcullis_registry::Lifecycle::Active {
        return Err(Error::Forbidden(format!(
            "`{id}` is {}: only active agents and service accounts act",
            entry.lifecycle.as_str()
        )));
    }
    Ok(entry)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use portcullis_identity::{Claims, TokenKey};

    use super::VerifiedTokens;

    fn now_secs() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }

    fn key() -> TokenKey {
        TokenKey::new(vec![7; 32], "portcullis", "portcullis")
    }

    #[test]
    fn a_token_seen_again_is_not_verified_again() {
        let tokens = VerifiedTokens::new(key());
        let token = key().issue("a-1", "acme", &[], 600).unwrap();
        let first = tokens.verify(&token).unwrap();
        let again = tokens.verify(&token).unwrap();
        assert!(
            Arc::ptr_eq(&first, &again),
            "the second use is served from the cache"
        );
        assert_eq!(again.sub, "a-1");
        // Any other text is verified on its own: a changed signature is refused.
        let mut forged = token.clone();
        let last = forged.pop().unwrap();
        forged.push(if last == 'A' { 'B' } else { 'A' });
        assert!(tokens.verify(&forged).is_err());
    }

    #[test]
    fn expiry_is_checked_on_every_use() {
        let tokens = VerifiedTokens::new(key());
        let token = key().issue("a-1", "acme", &[], 600).unwrap();
        let mut claims: Claims = (*tokens.verify(&token).unwrap()).clone();
        // The cached claims now say the token expired a second ago: no leeway.
        claims.exp = now_secs() - 1;
        tokens.seen.insert(token.clone(), Arc::new(claims));
        assert_eq!(
            tokens.verify(&token).unwrap_err().to_string(),
            "token expired"
        );
        assert!(
            tokens.seen.get(&token).is_none(),
            "an expired token leaves the cache"
        );
    }

    #[test]
    fn an_expired_token_is_never_cached() {
        let tokens = VerifiedTokens::new(key());
        let now = now_secs();
        let claims = Claims {
            sub: "a-1".into(),
            tenant: "acme".into(),
            roles: vec![],
            iss: "portcullis".into(),
            aud: "portcullis".into(),
            iat: now - 7200,
            exp: now - 3600,
            act: None,
        };
        let token = key().sign(&claims).unwrap();
        assert_eq!(
            tokens.verify(&token).unwrap_err().to_string(),
            "token expired"
        );
        assert!(tokens.seen.get(&token).is_none());
    }
}
