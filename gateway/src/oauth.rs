//! The token endpoint (`POST /oauth/token`) and what describes it: agents and service
//! accounts get short-lived access tokens for this gateway (EdDSA, `/jwks.json`), with the
//! client-credentials grant (a client secret, or a JWT assertion signed with their
//! registered key, RFC 7523) or token exchange (RFC 8693: acting for a user or another agent,
//! only along delegation edges the policies allow).

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{DecodingKey, Validation};
use pingora::proxy::Session;
use portcullis_identity::{ACCESS_TTL_SECS, AgentTokens};
use portcullis_registry::NhiKind;
use serde_json::{Value, json};

use crate::error::Error;
use crate::respond::{Answer, Reply};
use crate::state::{CallLog, State};

const CLIENT_CREDENTIALS: &str = "client_credentials";
const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The largest token request accepted, in bytes.
const MAX_FORM: usize = 16 * 1024;
/// The algorithms a client assertion may be signed with: public-key ones only (a shared
/// secret would have to be stored in the clear).
const ASSERTION_ALGS: [jsonwebtoken::Algorithm; 6] = [
    jsonwebtoken::Algorithm::EdDSA,
    jsonwebtoken::Algorithm::ES256,
    jsonwebtoken::Algorithm::ES384,
    jsonwebtoken::Algorithm::RS256,
    jsonwebtoken::Algorithm::PS256,
    jsonwebtoken::Algorithm::RS384,
];

fn oauth(status: u16, code: &'static str, description: impl Into<String>) -> Error {
    Error::OAuth {
        status,
        code,
        description: description.into(),
    }
}

/// The gateway's base URL as clients reach it (its issuer name).
pub(crate) fn base(state: &State) -> String {
    state.public_url.load().as_ref().clone()
}

fn tokens(state: &State) -> Result<Arc<AgentTokens>, Error> {
    state.agent_tokens.load_full().ok_or_else(|| {
        oauth(
            400,
            "unsupported_grant_type",
            "this gateway issues no tokens",
        )
    })
}

/// `GET /jwks.json`: the public keys of the tokens this gateway issues.
pub(crate) fn jwks(state: &State) -> Result<Answer, Error> {
    let tokens = tokens(state)?;
    Ok(Reply::json(200, serde_json::to_vec(&tokens.jwks()).unwrap_or_default()).into())
}

/// `GET /.well-known/oauth-authorization-server` (RFC 8414).
pub(crate) fn metadata(state: &State) -> Result<Answer, Error> {
    tokens(state)?;
    let base = base(state);
    let body = json!({
        "issuer": base,
        // Required by RFC 8414 (and by MCP clients' metadata models) though no grant here
        // uses it: it answers every request with `unsupported_response_type`.
        "authorization_endpoint": format!("{base}/oauth/authorize"),
        "token_endpoint": format!("{base}/oauth/token"),
        "jwks_uri": format!("{base}/jwks.json"),
        "grant_types_supported": [CLIENT_CREDENTIALS, TOKEN_EXCHANGE],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported":
            ASSERTION_ALGS.iter().map(|a| format!("{a:?}")).collect::<Vec<_>>(),
        "response_types_supported": [],
    });
    Ok(Reply::json(200, serde_json::to_vec(&body).unwrap_or_default()).into())
}

/// `/oauth/authorize`: there is no interactive grant; agents use the token endpoint.
pub(crate) fn authorize() -> Error {
    oauth(
        400,
        "unsupported_response_type",
        "this gateway issues tokens to agents and service accounts at its token endpoint only",
    )
}

/// The form of a token request; every parameter at most once (RFC 6749, 3.2).
fn form(body: &[u8]) -> Result<HashMap<String, String>, Error> {
    let mut out = HashMap::new();
    for (k, v) in form_urlencoded::parse(body) {
        if out.insert(k.to_string(), v.to_string()).is_some() {
            return Err(oauth(
                400,
                "invalid_request",
                format!("`{k}` is given more than once"),
            ));
        }
    }
    Ok(out)
}

/// `POST /oauth/token`.
pub(crate) async fn token(
    state: &State,
    session: &mut Session,
    log: &mut CallLog,
) -> Result<Answer, Error> {
    log.method = Some("oauth/token".into());
    let tokens = tokens(state)?;
    let content_type = session
        .req_header()
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return Err(oauth(
            400,
            "invalid_request",
            "the body must be `application/x-www-form-urlencoded`",
        ));
    }
    let basic = session
        .req_header()
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = read(session).await?;
    let params = form(&body)?;
    let grant = params
        .get("grant_type")
        .map(String::as_str)
        .unwrap_or_default();
    // RFC 8707: a client may name the resource it wants a token for; this endpoint issues
    // tokens for the gateway's MCP endpoint only.
    if let Some(resource) = params.get("resource")
        && !names_mcp_endpoint(resource)
    {
        return Err(oauth(
            400,
            "invalid_target",
            "tokens are issued for this gateway's `/mcp` endpoint only",
        ));
    }
    let client = authenticate_client(state, &tokens, basic.as_deref(), &params).await?;
    log.principal = Some(client.id.clone());
    log.tenant = Some(client.tenant.clone());
    let (token, claims) = match grant {
        CLIENT_CREDENTIALS => tokens
            .issue(&client.id, &[], &client.tenant, ACCESS_TTL_SECS)
            .map_err(|e| Error::Internal(e.to_string()))?,
        TOKEN_EXCHANGE => crate::exchange::exchange(state, &tokens, &client, &params).await?,
        "" => return Err(oauth(400, "invalid_request", "`grant_type` is missing")),
        _ => {
            return Err(oauth(
                400,
                "unsupported_grant_type",
                "grant types: client_credentials, token exchange",
            ));
        }
    };
    log.chain = claims.actors().iter().map(|a| (*a).to_owned()).collect();
    log.decision = Some("allow");
    let mut body = json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": claims.exp.saturating_sub(claims.iat),
    });
    if grant == TOKEN_EXCHANGE
        && let Some(obj) = body.as_object_mut()
    {
        obj.insert(
            "issued_token_type".into(),
            Value::String("urn:ietf:params:oauth:token-type:access_token".into()),
        );
    }
    Ok(
        Reply::json(200, serde_json::to_vec(&body).unwrap_or_default())
            .with_header("cache-control", "no-store".into())
            .into(),
    )
}

/// Whether `resource` is an absolute http(s) URL of an `/mcp` endpoint (the host is the
/// one the client reached the gateway at, which the gateway cannot know behind a proxy).
fn names_mcp_endpoint(resource: &str) -> bool {
    let Some(rest) = resource
        .strip_prefix("https://")
        .or_else(|| resource.strip_prefix("http://"))
    else {
        return false;
    };
    rest.split_once('/')
        .is_some_and(|(host, path)| !host.is_empty() && (path == "mcp" || path == "mcp/"))
}

async fn read(session: &mut Session) -> Result<Vec<u8>, Error> {
    let mut body = Vec::new();
    loop {
        match session.read_request_body().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_FORM {
                    return Err(Error::TooLarge(MAX_FORM));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(e) => return Err(Error::BodyUnreadable(e.etype().as_str())),
        }
    }
}

/// The agent or service account a token request comes from.
#[derive(Debug, Clone)]
pub(crate) struct Client {
    pub(crate) id: String,
    pub(crate) tenant: String,
    pub(crate) kind: NhiKind,
}

/// Client authentication: HTTP Basic or form `client_secret` (checked against the stored
/// Argon2id hash, off the async workers), or a JWT assertion signed with the registered key.
async fn authenticate_client(
    state: &State,
    tokens: &AgentTokens,
    basic: Option<&str>,
    params: &HashMap<String, String>,
) -> Result<Client, Error> {
    let invalid = |why: &str| oauth(401, "invalid_client", why.to_owned());
    let (id, secret) = match basic.and_then(|h| {
        h.strip_prefix("Basic ")
            .or_else(|| h.strip_prefix("basic "))
    }) {
        Some(encoded) => {
            if params.contains_key("client_secret") || params.contains_key("client_id") {
                return Err(oauth(
                    400,
                    "invalid_request",
                    "use one client authentication method: Basic, or the form",
                ));
            }
            let decoded = STANDARD
                .decode(encoded.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| invalid("the Basic credentials are malformed"))?;
            let (id, secret) = decoded
                .split_once(':')
                .ok_or_else(|| invalid("the Basic credentials are malformed"))?;
            let unescape = |s: &str| {
                form_urlencoded::parse(format!("x={s}").as_bytes())
                    .next()
                    .map(|(_, v)| v.to_string())
                    .unwrap_or_default()
            };
            (unescape(id), Some(unescape(secret)))
        }
        None => (
            params.get("client_id").cloned().unwrap_or_default(),
            params.get("client_secret").cloned(),
        ),
    };
    let assertion = params.get("client_assertion");
    let id = match (&secret, assertion) {
        (Some(_), Some(_)) => {
            return Err(oauth(
                400,
                "invalid_request",
                "use one client authentication method",
            ));
        }
        (None, Some(assertion)) => {
            if params.get("client_assertion_type").map(String::as_str) != Some(JWT_BEARER) {
                return Err(oauth(
                    400,
                    "invalid_request",
                    format!("`client_assertion_type` must be `{JWT_BEARER}`"),
                ));
            }
            assertion_subject(state, tokens, assertion, &id)?
        }
        (Some(_), None) => id,
        (None, None) => return Err(invalid("no client authentication")),
    };
    if id.is_empty() || id.len() > 64 {
        return Err(invalid("unknown client"));
    }
    let catalog = state.catalog.load();
    let (tenant, entry) = catalog
        .client(&id)
        .ok_or_else(|| invalid("unknown client, or wrong credentials"))?;
    if let Some(secret) = secret {
        let hash = entry
            .secret_hash
            .clone()
            .ok_or_else(|| invalid("unknown client, or wrong credentials"))?;
        // Argon2id is made to be slow: a bounded number of checks run at once, off the
        // async workers, so a flood of guesses cannot take the proxy's threads.
        let Ok(permit) = tokio::time::timeout(
            std::time::Duration::from_secs(2),
            state.secret_checks.clone().acquire_owned(),
        )
        .await
        else {
            return Err(oauth(
                503,
                "temporarily_unavailable",
                "too many client secrets are being checked; retry shortly",
            ));
        };
        let matches = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            portcullis_identity::verify_client_secret(&secret, &hash)
        })
        .await
        .unwrap_or(false);
        if !matches {
            return Err(invalid("unknown client, or wrong credentials"));
        }
    }
    let principal = catalog
        .principal(&tenant, &id)
        .ok_or_else(|| invalid("unknown client, or wrong credentials"))?;
    if principal.lifecycle != portcullis_registry::Lifecycle::Active {
        return Err(oauth(
            400,
            "invalid_grant",
            format!("the client is {}", principal.lifecycle.as_str()),
        ));
    }
    Ok(Client {
        id,
        tenant,
        kind: principal.kind,
    })
}

/// The client an RFC 7523 assertion authenticates: signed by its registered key, `iss` and
/// `sub` its id, `aud` this token endpoint (or the issuer), unexpired, and never replayed.
fn assertion_subject(
    state: &State,
    tokens: &AgentTokens,
    assertion: &str,
    claimed: &str,
) -> Result<String, Error> {
    let invalid = |why: &str| oauth(401, "invalid_client", why.to_owned());
    let header = jsonwebtoken::decode_header(assertion)
        .map_err(|_| invalid("the assertion is malformed"))?;
    if !ASSERTION_ALGS.contains(&header.alg) {
        return Err(invalid(
            "the assertion's `alg` is not a public-key algorithm this endpoint takes",
        ));
    }
    #[derive(serde::Deserialize)]
    struct Unverified {
        sub: Option<String>,
    }
    let sub = jsonwebtoken::dangerous::insecure_decode_claims::<Unverified>(assertion)
        .ok()
        .and_then(|c| c.sub)
        .filter(|s| s.len() <= 64)
        .ok_or_else(|| invalid("the assertion names no client"))?;
    if !claimed.is_empty() && claimed != sub {
        return Err(invalid("`client_id` is not the assertion's subject"));
    }
    let catalog = state.catalog.load();
    let (_, entry) = catalog
        .client(&sub)
        .ok_or_else(|| invalid("unknown client, or wrong credentials"))?;
    let jwk: Jwk = entry
        .public_jwk
        .as_ref()
        .and_then(|j| serde_json::from_value(j.clone()).ok())
        .ok_or_else(|| invalid("the client has no registered public key"))?;
    if jwk
        .common
        .key_algorithm
        .is_some_and(|alg| alg.to_string() != format!("{:?}", header.alg))
    {
        return Err(invalid("the assertion's `alg` is not the registered key's"));
    }
    let key = DecodingKey::from_jwk(&jwk)
        .map_err(|_| invalid("the registered public key is unusable"))?;
    let base = base(state);
    let mut v = Validation::new(header.alg);
    v.set_issuer(&[&sub]);
    v.sub = Some(sub.clone());
    // The token endpoint, or the issuer (RFC 7523bis), with or without a closing slash.
    v.set_audience(&[
        format!("{base}/oauth/token"),
        base.clone(),
        format!("{base}/"),
        tokens.issuer().to_owned(),
    ]);
    v.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
    v.leeway = 5;
    #[derive(serde::Deserialize)]
    struct Assertion {
        exp: u64,
        #[serde(default)]
        jti: Option<String>,
    }
    let claims = jsonwebtoken::decode::<Assertion>(assertion, &key, &v)
        .map_err(|_| invalid("the assertion does not verify"))?
        .claims;
    let jti = claims
        .jti
        .filter(|j| !j.is_empty() && j.len() <= 128)
        .ok_or_else(|| invalid("the assertion needs a `jti`"))?;
    let now = crate::session::now();
    if claims.exp > now + 600 {
        return Err(invalid("the assertion lives longer than 10 minutes"));
    }
    // One atomic check-and-insert: of two requests with the same assertion, one wins.
    if !state
        .assertions
        .entry((sub.clone(), jti))
        .or_insert(())
        .is_fresh()
    {
        return Err(invalid("the assertion was used before"));
    }
    Ok(sub)
}
