//! Tokens of external issuers, verified with the keys each publishes as a JWK set.
//!
//! Every configured issuer's JWKS is fetched when the gateway starts (a request that comes
//! first waits for that fetch), again every `refresh_secs`, and on demand when a token names
//! a key id the set lacks or the set is empty (at most once per [`ON_DEMAND_EVERY`] per
//! issuer). A failed fetch
//! keeps the previous set; an issuer without keys has all its tokens refused.
//!
//! A token goes to the issuer its unverified `iss` names when it carries a `kid` or an
//! asymmetric algorithm, else to the issuer one of whose keys its `kid` names. Everything
//! else (the gateway's own HS256 tokens, which carry no `kid`) is left to [`TokenKey`]. The
//! chosen issuer then refuses `HS*` outright and checks signature, `exp`, `iss` and `aud`.
//!
//! [`TokenKey`]: portcullis_identity::TokenKey

use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};
use pingora::connectors::http::Connector;
use pingora::http::RequestHeader;
use pingora::prelude::HttpPeer;
use portcullis_identity::{Actor, Claims};
use serde_json::{Map, Value};

use crate::config::IssuerConfig;

/// The least time between two refreshes caused by unknown key ids, per issuer.
const ON_DEMAND_EVERY: Duration = Duration::from_secs(10);
/// Largest JWKS document accepted.
const MAX_JWKS: usize = 1024 * 1024;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const READ_TIMEOUT: Duration = Duration::from_secs(5);
/// The algorithms an external token may use: asymmetric ones only.
const ASYMMETRIC: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// Every configured external issuer.
#[derive(Debug, Default)]
pub(crate) struct Issuers(Vec<Arc<Issuer>>);

/// One issuer, its JWKS endpoint and its current keys.
pub(crate) struct Issuer {
    config: IssuerConfig,
    tls: bool,
    /// Host name (or address) and port to connect to, resolved at each fetch.
    host: String,
    port: u16,
    /// `host[:port]` for the Host header.
    authority: String,
    path: String,
    connector: Connector,
    keys: ArcSwap<Vec<Key>>,
    /// Set once the first fetch was tried (successfully or not).
    first: tokio::sync::OnceCell<()>,
    /// When a token's unknown key id last caused a fetch.
    on_demand: tokio::sync::Mutex<Option<Instant>>,
}

impl std::fmt::Debug for Issuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issuer")
            .field("issuer", &self.config.issuer)
            .field("jwks_url", &self.config.jwks_url)
            .field("keys", &self.keys.load().len())
            .finish_non_exhaustive()
    }
}

/// One usable signing key of a JWKS.
struct Key {
    kid: Option<String>,
    jwk: Jwk,
    decoding: DecodingKey,
}

impl Issuers {
    pub(crate) fn new(configs: &[IssuerConfig]) -> Result<Self, crate::Error> {
        configs
            .iter()
            .map(|c| Issuer::new(c).map(Arc::new))
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
            .map_err(crate::Error::Config)
    }

    /// Starts one task per issuer that fetches its keys now and every `refresh_secs`,
    /// until `stop` changes.
    pub(crate) fn spawn_refresh(&self, stop: &tokio::sync::watch::Receiver<bool>) {
        for issuer in &self.0 {
            let issuer = issuer.clone();
            let mut stop = stop.clone();
            tokio::spawn(async move {
                issuer.loaded().await;
                let every = Duration::from_secs(issuer.config.refresh_secs);
                loop {
                    tokio::select! {
                        () = tokio::time::sleep(every) => issuer.refresh().await,
                        _ = stop.changed() => return,
                    }
                }
            });
        }
    }

    /// Verifies `token` when it belongs to an external issuer; `None` when it does not (it
    /// is then the gateway's own kind). Error messages never contain the token.
    pub(crate) async fn verify(&self, token: &str) -> Option<Result<Claims, crate::Error>> {
        if self.0.is_empty() {
            return None;
        }
        let header = jsonwebtoken::decode_header(token).ok()?;
        #[derive(serde::Deserialize)]
        struct Unverified {
            iss: Option<String>,
        }
        let named = jsonwebtoken::dangerous::insecure_decode_claims::<Unverified>(token)
            .ok()
            .and_then(|c| c.iss)
            .and_then(|iss| self.0.iter().find(|i| i.config.issuer == iss));
        let issuer = match &header.kid {
            Some(kid) => named.or_else(|| self.0.iter().find(|i| i.has_kid(kid))),
            None if ASYMMETRIC.contains(&header.alg) => named,
            None => None,
        }?;
        Some(
            issuer
                .verify(token, &header)
                .await
                .map_err(crate::Error::TokenInvalid),
        )
    }
}

impl Issuer {
    fn new(c: &IssuerConfig) -> Result<Self, String> {
        let uri: http::Uri = c
            .jwks_url
            .parse()
            .map_err(|e| format!("issuer `{}`: bad jwks_url: {e}", c.issuer))?;
        let tls = uri.scheme_str() == Some("https");
        let host = uri
            .host()
            .ok_or_else(|| format!("issuer `{}`: jwks_url has no host", c.issuer))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        Ok(Self {
            config: c.clone(),
            tls,
            port: uri.port_u16().unwrap_or(if tls { 443 } else { 80 }),
            authority: uri.authority().map_or(host.clone(), |a| a.to_string()),
            host,
            path: uri
                .path_and_query()
                .map_or("/".to_owned(), |p| p.to_string()),
            connector: Connector::new(None),
            keys: ArcSwap::from_pointee(Vec::new()),
            first: tokio::sync::OnceCell::new(),
            on_demand: tokio::sync::Mutex::new(None),
        })
    }

    fn has_kid(&self, kid: &str) -> bool {
        self.keys
            .load()
            .iter()
            .any(|k| k.kid.as_deref() == Some(kid))
    }

    /// Returns once the first fetch was tried (the first caller makes it).
    async fn loaded(&self) {
        self.first.get_or_init(|| self.refresh()).await;
    }

    /// Fetches the key set; a failure keeps the previous one.
    async fn refresh(&self) {
        match self.fetch().await {
            Ok(keys) => {
                tracing::debug!(issuer = %self.config.issuer, keys = keys.len(), "JWKS loaded");
                self.keys.store(Arc::new(keys));
            }
            Err(e) => tracing::warn!(
                issuer = %self.config.issuer,
                url = %self.config.jwks_url,
                "cannot fetch the JWKS, keeping the previous keys: {e}"
            ),
        }
    }

    /// Refreshes for a token whose key is not in the set, unless that was done recently.
    async fn refresh_on_demand(&self) {
        let mut last = self.on_demand.lock().await;
        if last.is_some_and(|t| t.elapsed() < ON_DEMAND_EVERY) {
            return;
        }
        *last = Some(Instant::now());
        self.refresh().await;
    }

    async fn verify(&self, token: &str, header: &Header) -> Result<Claims, String> {
        if !ASYMMETRIC.contains(&header.alg) {
            return Err("token algorithm is not accepted".into());
        }
        self.loaded().await;
        let known = match &header.kid {
            Some(kid) => self.has_kid(kid),
            None => !self.keys.load().is_empty(),
        };
        if !known {
            self.refresh_on_demand().await;
        }
        let keys = self.keys.load_full();
        if keys.is_empty() {
            return Err(format!(
                "no signing keys of issuer `{}` are available",
                self.config.issuer
            ));
        }
        let mut candidates = keys
            .iter()
            .filter(|k| header.kid.is_none() || k.kid == header.kid)
            .peekable();
        if candidates.peek().is_none() {
            return Err(format!(
                "token signing key is not one of issuer `{}`",
                self.config.issuer
            ));
        }
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_audience(&[&self.config.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = self.config.leeway_secs;
        let mut refusal = "token algorithm is not accepted".to_owned();
        for key in candidates.filter(|k| fits(&k.jwk, header.alg)) {
            match jsonwebtoken::decode::<Map<String, Value>>(token, &key.decoding, &validation) {
                Ok(data) => return self.claims(data.claims),
                Err(e) => refusal = describe(&e),
            }
        }
        Err(refusal)
    }

    /// The verified claims in the shape of the gateway's own tokens.
    fn claims(&self, claims: Map<String, Value>) -> Result<Claims, String> {
        let text = |name: &str| {
            claims
                .get(name)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let sub = text("sub").ok_or("token lacks the `sub` claim")?;
        let tenant = text(&self.config.tenant_claim).ok_or("token names no tenant")?;
        if !self.config.tenants.contains(&tenant) {
            return Err(format!(
                "issuer `{}` may not assert tenant `{}`",
                self.config.issuer,
                tenant.chars().take(128).collect::<String>()
            ));
        }
        let act = claims
            .get("act")
            .map(|a| serde_json::from_value::<Actor>(a.clone()))
            .transpose()
            .map_err(|_| "token `act` claim is malformed")?;
        let number = |name: &str| claims.get(name).and_then(Value::as_u64).unwrap_or(0);
        Ok(Claims {
            sub,
            tenant,
            roles: Vec::new(),
            iss: self.config.issuer.clone(),
            aud: self.config.audience.clone(),
            iat: number("iat"),
            exp: number("exp"),
            act: act.map(Box::new),
        })
    }

    /// GETs the JWKS through pingora's connector and keeps the keys that can verify.
    async fn fetch(&self) -> Result<Vec<Key>, String> {
        let addr = tokio::net::lookup_host((self.host.as_str(), self.port))
            .await
            .map_err(|e| format!("cannot resolve `{}`: {e}", self.host))?
            .next()
            .ok_or_else(|| format!("`{}` resolves to nothing", self.host))?;
        let sni = if self.tls {
            self.host.clone()
        } else {
            String::new()
        };
        let mut peer = HttpPeer::new(addr, self.tls, sni);
        peer.options.connection_timeout = Some(CONNECT_TIMEOUT);
        peer.options.total_connection_timeout = Some(CONNECT_TIMEOUT);
        peer.options.read_timeout = Some(READ_TIMEOUT);
        peer.options.write_timeout = Some(READ_TIMEOUT);
        let io = |e: Box<pingora::Error>| e.etype().as_str().to_owned();
        let (mut http, _reused) = self.connector.get_http_session(&peer).await.map_err(io)?;
        let mut req = RequestHeader::build("GET", self.path.as_bytes(), Some(2))
            .map_err(|e| e.to_string())?;
        req.insert_header("host", self.authority.clone())
            .map_err(|e| e.to_string())?;
        req.insert_header("accept", "application/json")
            .map_err(|e| e.to_string())?;
        http.write_request_header(Box::new(req)).await.map_err(io)?;
        http.finish_request_body().await.map_err(io)?;
        http.read_response_header().await.map_err(io)?;
        let status = http.response_header().map_or(0, |h| h.status.as_u16());
        let mut body = Vec::new();
        let read = async {
            while let Some(chunk) = http.read_response_body().await.map_err(io)? {
                body.extend_from_slice(&chunk);
                if body.len() > MAX_JWKS {
                    return Err("the JWKS is too large".to_owned());
                }
            }
            Ok(())
        }
        .await;
        http.shutdown().await;
        read?;
        if status != 200 {
            return Err(format!("the JWKS endpoint answered HTTP {status}"));
        }
        #[derive(serde::Deserialize)]
        struct Set {
            keys: Vec<Value>,
        }
        let set: Set = serde_json::from_slice(&body).map_err(|e| format!("not a JWK set: {e}"))?;
        Ok(set.keys.into_iter().filter_map(usable).collect())
    }
}

/// A signing key of an asymmetric kind; `None` for anything else (symmetric `oct` keys,
/// encryption keys, kinds this build cannot verify).
fn usable(value: Value) -> Option<Key> {
    let jwk: Jwk = serde_json::from_value(value).ok()?;
    if jwk.common.public_key_use == Some(PublicKeyUse::Encryption) {
        return None;
    }
    if !matches!(
        jwk.algorithm,
        AlgorithmParameters::RSA(_)
            | AlgorithmParameters::EllipticCurve(_)
            | AlgorithmParameters::OctetKeyPair(_)
    ) {
        return None;
    }
    let decoding = DecodingKey::from_jwk(&jwk).ok()?;
    Some(Key {
        kid: jwk.common.key_id.clone(),
        jwk,
        decoding,
    })
}

/// Whether `jwk` is a key for `alg`: the right kind and curve, and the same `alg` if it
/// names one.
fn fits(jwk: &Jwk, alg: Algorithm) -> bool {
    use Algorithm as A;
    let kind = match (&jwk.algorithm, alg) {
        (
            AlgorithmParameters::RSA(_),
            A::RS256 | A::RS384 | A::RS512 | A::PS256 | A::PS384 | A::PS512,
        ) => true,
        (AlgorithmParameters::EllipticCurve(p), A::ES256) => p.curve == EllipticCurve::P256,
        (AlgorithmParameters::EllipticCurve(p), A::ES384) => p.curve == EllipticCurve::P384,
        (AlgorithmParameters::OctetKeyPair(p), A::EdDSA) => p.curve == EllipticCurve::Ed25519,
        _ => false,
    };
    kind && jwk
        .common
        .key_algorithm
        .is_none_or(|a| a == KeyAlgorithm::from(alg))
}

/// The same wording as the gateway's own tokens get.
fn describe(e: &jsonwebtoken::errors::Error) -> String {
    use jsonwebtoken::errors::ErrorKind as K;
    match e.kind() {
        K::ExpiredSignature => "token expired".into(),
        K::ImmatureSignature => "token is not valid yet".into(),
        K::InvalidAudience => "token audience is not this service".into(),
        K::InvalidIssuer => "token issuer is not trusted".into(),
        K::InvalidSignature => "token signature is invalid".into(),
        K::InvalidAlgorithm => "token algorithm is not accepted".into(),
        K::MissingRequiredClaim(c) => format!("token lacks the `{c}` claim"),
        _ => "token is malformed".into(),
    }
}
