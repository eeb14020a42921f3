//! `/nhi/{nhi_id}/client-credentials`: how an agent or service account authenticates at the
//! gateway's token endpoint — a client secret (generated, shown once, kept as an Argon2id
//! hash) and/or a public key that verifies its signed assertions.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use portcullis_registry::NhiKind;
use portcullis_registry::vault::{ClientCredentials, VaultDoc, VaultKind};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::json::Json;
use crate::nhi;
use crate::state::AppState;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(show, delete))
        .routes(routes!(new_secret))
        .routes(routes!(set_public_key))
}

/// What the API shows of an NHI's client credentials (never the secret or its hash).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct CredentialsView {
    client_id: Uuid,
    has_secret: bool,
    #[schema(value_type = Option<Object>)]
    public_jwk: Option<serde_json::Value>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>)]
    updated_at: Option<OffsetDateTime>,
}

/// A new client secret, shown this once.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct IssuedSecret {
    client_id: Uuid,
    client_secret: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PublicKey {
    /// A public JWK (RSA, EC P-256/P-384 or Ed25519) with no private part.
    #[schema(value_type = Object)]
    jwk: serde_json::Value,
}

/// The agent or service account a path names (admins only).
async fn principal(s: &AppState, caller: &Caller, id: &str) -> ApiResult<Uuid> {
    caller.require_admin()?;
    let n = nhi::load(s, caller, None, id).await?;
    if n.kind() == NhiKind::Tool {
        return Err(ApiError::BadRequest(
            "client credentials are for agents and service accounts".into(),
        ));
    }
    Ok(n.id())
}

async fn current(
    s: &AppState,
    tenant: &str,
    id: Uuid,
) -> ApiResult<(ClientCredentials, Option<u64>)> {
    match s
        .store
        .vault(tenant, VaultKind::Client, &id.to_string())
        .await?
    {
        Some(doc) => Ok((doc.client()?, Some(doc.version))),
        None => Ok((
            ClientCredentials {
                tenant_id: tenant.to_owned(),
                nhi_id: id,
                secret_hash: None,
                public_jwk: None,
                updated_at: OffsetDateTime::now_utc(),
            },
            None,
        )),
    }
}

async fn save(
    s: &AppState,
    mut c: ClientCredentials,
    expected: Option<u64>,
) -> ApiResult<ClientCredentials> {
    c.updated_at = OffsetDateTime::now_utc();
    let doc = VaultDoc::new(&c.tenant_id, VaultKind::Client, &c.nhi_id.to_string(), &c)?;
    s.store.put_vault(doc, expected).await?;
    Ok(c)
}

fn view(c: &ClientCredentials, stored: bool) -> CredentialsView {
    CredentialsView {
        client_id: c.nhi_id,
        has_secret: c.secret_hash.is_some(),
        public_jwk: c.public_jwk.clone(),
        updated_at: stored.then_some(c.updated_at),
    }
}

/// Which client credentials an NHI has.
#[utoipa::path(get, path = "/nhi/{nhi_id}/client-credentials", params(("nhi_id" = String, Path, description = "the NHI's id")), tag = "clients",
    responses((status = 200, body = CredentialsView), (status = 404, body = ErrorBody)))]
async fn show(
    State(s): State<AppState>,
    caller: Caller,
    Path(nhi_id): Path<String>,
) -> ApiResult<axum::Json<CredentialsView>> {
    let id = principal(&s, &caller, &nhi_id).await?;
    let (c, version) = current(&s, &caller.tenant, id).await?;
    Ok(axum::Json(view(&c, version.is_some())))
}

/// A new client secret (replacing any earlier one): shown in this answer only.
#[utoipa::path(post, path = "/nhi/{nhi_id}/client-credentials/secret", params(("nhi_id" = String, Path, description = "the NHI's id")), tag = "clients",
    responses((status = 201, body = IssuedSecret), (status = 404, body = ErrorBody)))]
async fn new_secret(
    State(s): State<AppState>,
    caller: Caller,
    Path(nhi_id): Path<String>,
) -> ApiResult<(StatusCode, axum::Json<IssuedSecret>)> {
    let id = principal(&s, &caller, &nhi_id).await?;
    let secret = portcullis_identity::new_client_secret();
    let text = secret.to_string();
    let hash = tokio::task::spawn_blocking(move || portcullis_identity::hash_client_secret(&text))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let (mut c, version) = current(&s, &caller.tenant, id).await?;
    c.secret_hash = Some(hash);
    save(&s, c, version).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(IssuedSecret {
            client_id: id,
            client_secret: secret.to_string(),
        }),
    ))
}

/// Public keys the token endpoint accepts: RSA of 2048 bits or more, EC on P-256 or P-384,
/// Ed25519 — never a shared secret.
fn check_key_strength(params: &jsonwebtoken::jwk::AlgorithmParameters) -> ApiResult<()> {
    use base64::Engine as _;
    use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve};
    let refuse = |why: &str| Err(ApiError::Unprocessable(format!("`jwk`: {why}")));
    match params {
        AlgorithmParameters::RSA(rsa) => {
            let n = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(rsa.n.trim_end_matches('='))
                .unwrap_or_default();
            let bytes = n.iter().skip_while(|b| **b == 0).count();
            if bytes * 8 < 2048 {
                return refuse("an RSA key needs at least 2048 bits");
            }
            Ok(())
        }
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 | EllipticCurve::P384 => Ok(()),
            _ => refuse("an EC key must be on P-256 or P-384"),
        },
        AlgorithmParameters::OctetKeyPair(okp) => match okp.curve {
            EllipticCurve::Ed25519 => Ok(()),
            _ => refuse("an OKP key must be Ed25519"),
        },
        _ => refuse("must be a public key (RSA, EC or OKP), not a shared secret"),
    }
}

/// Register (or replace) the public key that verifies the NHI's client assertions.
#[utoipa::path(put, path = "/nhi/{nhi_id}/client-credentials/public-key", params(("nhi_id" = String, Path, description = "the NHI's id")), tag = "clients", request_body = PublicKey,
    responses((status = 200, body = CredentialsView), (status = 422, body = ErrorBody)))]
async fn set_public_key(
    State(s): State<AppState>,
    caller: Caller,
    Path(nhi_id): Path<String>,
    Json(b): Json<PublicKey>,
) -> ApiResult<axum::Json<CredentialsView>> {
    let id = principal(&s, &caller, &nhi_id).await?;
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(b.jwk.clone())
        .map_err(|e| ApiError::Unprocessable(format!("`jwk` is not a JWK: {e}")))?;
    if b.jwk.get("d").is_some() || b.jwk.get("p").is_some() {
        return Err(ApiError::Unprocessable(
            "`jwk` holds a private key: send the public part only".into(),
        ));
    }
    jsonwebtoken::DecodingKey::from_jwk(&jwk)
        .map_err(|e| ApiError::Unprocessable(format!("`jwk` cannot verify signatures: {e}")))?;
    check_key_strength(&jwk.algorithm)?;
    let (mut c, version) = current(&s, &caller.tenant, id).await?;
    c.public_jwk = Some(b.jwk);
    let c = save(&s, c, version).await?;
    Ok(axum::Json(view(&c, true)))
}

/// Remove every client credential of the NHI (its tokens already issued live out their
/// minutes).
#[utoipa::path(delete, path = "/nhi/{nhi_id}/client-credentials", params(("nhi_id" = String, Path, description = "the NHI's id")), tag = "clients",
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete(
    State(s): State<AppState>,
    caller: Caller,
    Path(nhi_id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = principal(&s, &caller, &nhi_id).await?;
    s.store
        .delete_vault(&caller.tenant, VaultKind::Client, &id.to_string())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
