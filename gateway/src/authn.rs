//! Step 2: authenticate the bearer token and resolve who is acting.
//!
//! The token's `sub` is the originator; an RFC 8693 `act` claim names the current actor
//! (outermost) and earlier ones (nested). The current actor is the principal. When `sub` is
//! not a registered NHI it is the human the call is made for (`on_behalf_of`).

use std::sync::Arc;

use portcullis_registry::NhiKind;
use portcullis_registry::tokens::{Claims, LEEWAY_SECS, TokenKey};

use crate::jwks::Issuers;
use crate::lookup::Catalog;

/// The caller of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Principal {
    /// The current actor: an agent or service account id.
    pub(crate) id: String,
    pub(crate) kind: NhiKind,
    /// The tenant named by the token.
    pub(crate) tenant: String,
    /// Earlier actors of the delegation chain, the originator first.
    pub(crate) chain: Vec<String>,
    pub(crate) on_behalf_of: Option<String>,
}

/// Why a request is refused before anything else happens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AuthError {
    /// No bearer token (401).
    Missing,
    /// A token that does not verify (401); the reason never contains the token.
    Invalid(String),
    /// A valid token for someone who is not a registered agent or service account (403).
    NotAnNhi(String),
}

/// The gateway's own key, and the tokens it has verified, by their exact text: a token seen
/// again skips the signature check and claim parsing, but its expiry is checked on every use
/// (and whether its principal is still an active NHI is decided per request, as for any token).
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

    pub(crate) fn verify(&self, token: &str) -> Result<Arc<Claims>, String> {
        if let Some(claims) = self.seen.get(token) {
            if claims.exp.saturating_add(LEEWAY_SECS) > now_secs() {
                return Ok(claims);
            }
            self.seen.invalidate(token);
            return Err("token expired".into());
        }
        let claims = Arc::new(self.key.verify(token).map_err(|e| e.to_string())?);
        self.seen.insert(token.to_owned(), claims.clone());
        Ok(claims)
    }
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Verifies the bearer token: an external issuer's when it belongs to one (see [`jwks`]),
/// otherwise the gateway's own HS256 one.
///
/// [`jwks`]: crate::jwks
pub(crate) async fn authenticate(
    header: Option<&str>,
    own: &VerifiedTokens,
    issuers: &Issuers,
    catalog: &Catalog,
) -> Result<Principal, AuthError> {
    let header = header.ok_or(AuthError::Missing)?;
    let token = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            AuthError::Invalid("the Authorization header is not a bearer token".into())
        })?;
    let claims = match issuers.verify(token).await {
        Some(verified) => verified.map(Arc::new),
        None => own.verify(token),
    }
    .map_err(AuthError::Invalid)?;
    let mut actors: Vec<&str> = claims.actors();
    let on_behalf_of = match actors.first() {
        Some(first) if catalog.principal(first).is_none() && actors.len() > 1 => {
            let user = (*first).to_owned();
            actors.remove(0);
            Some(user)
        }
        _ => None,
    };
    let current = actors
        .pop()
        .ok_or_else(|| AuthError::Invalid("token names no subject".into()))?;
    let entry = catalog.principal(current).ok_or_else(|| {
        AuthError::NotAnNhi(format!(
            "`{current}` is not a registered agent or service account"
        ))
    })?;
    Ok(Principal {
        id: current.to_owned(),
        kind: entry.kind,
        tenant: claims.tenant.clone(),
        chain: actors.into_iter().map(str::to_owned).collect(),
        on_behalf_of,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use portcullis_registry::tokens::{Claims, LEEWAY_SECS, TokenKey};

    use super::{VerifiedTokens, now_secs};

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
        // The cached claims now say the token expired beyond the allowed skew.
        claims.exp = now_secs() - LEEWAY_SECS - 1;
        tokens.seen.insert(token.clone(), Arc::new(claims));
        assert_eq!(tokens.verify(&token).unwrap_err(), "token expired");
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
        assert_eq!(tokens.verify(&token).unwrap_err(), "token expired");
        assert!(tokens.seen.get(&token).is_none());
    }
}
