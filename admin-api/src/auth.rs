//! Who is calling: a bearer token verified into a [`Caller`].

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use portcullis_identity::TokenKey;
use portcullis_registry::check_tenant_id;

use crate::error::ApiError;

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The token subject: a user id.
    pub sub: String,
    /// Every request is scoped to this tenant.
    pub tenant: String,
    pub roles: Vec<String>,
}

impl Caller {
    pub fn is_admin(&self) -> bool {
        self.roles
            .iter()
            .any(|r| r == "admin" || r == "super_admin")
    }

    /// Mutations need the `admin` role.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(ApiError::Forbidden(
                "this operation needs the `admin` role".into(),
            ))
        }
    }
}

/// Anything that holds the token key.
pub trait HasTokenKey {
    fn token_key(&self) -> &TokenKey;
}

impl<S> FromRequestParts<S> for Caller
where
    S: HasTokenKey + Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| {
                ApiError::Unauthorized("missing `Authorization: Bearer` token".into())
            })?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ApiError::Unauthorized("the Authorization header is not a bearer token".into())
            })?;
        let claims = state
            .token_key()
            .verify(token)
            .map_err(|e| ApiError::Unauthorized(e.to_string()))?;
        check_tenant_id(&claims.tenant).map_err(|e| {
            ApiError::Unauthorized(format!("the token names an invalid tenant: {e}"))
        })?;
        Ok(Self {
            sub: claims.sub,
            tenant: claims.tenant,
            roles: claims.roles,
        })
    }
}
