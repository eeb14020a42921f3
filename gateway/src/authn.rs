//! Step 2: authenticate the bearer token and resolve who is acting.
//!
//! The token's `sub` is the originator; an RFC 8693 `act` claim names the current actor
//! (outermost) and earlier ones (nested). The current actor is the principal. When `sub` is
//! not a registered NHI it is the human the call is made for (`on_behalf_of`).

use portcullis_registry::NhiKind;
use portcullis_registry::tokens::TokenKey;

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

/// Verifies the bearer token: an external issuer's when it belongs to one (see [`jwks`]),
/// otherwise the gateway's own HS256 one.
///
/// [`jwks`]: crate::jwks
pub(crate) async fn authenticate(
    header: Option<&str>,
    key: &TokenKey,
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
        Some(verified) => verified,
        None => key.verify(token).map_err(|e| e.to_string()),
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
