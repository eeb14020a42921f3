//! Portcullis identities: the bearer tokens Portcullis issues and verifies itself (HS256, a
//! key in the data directory), and RFC 8693 delegation chains. Both the admin API and the
//! gateway verify with the same key; external issuers' tokens are the gateway's concern.

mod agent;
mod client;

use std::path::Path;

pub use agent::{ACCESS_TTL_SECS, AgentTokens};
pub use client::{hash_client_secret, new_client_secret, verify_client_secret};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// What a token says about its bearer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The subject: a user, or an agent or service account id.
    pub sub: String,
    pub tenant: String,
    #[serde(default)]
    pub roles: Vec<String>,
    pub iss: String,
    pub aud: String,
    pub iat: u64,
    pub exp: u64,
    /// RFC 8693 actor claim: the outermost `act` is the current actor, nested ones earlier
    /// actors. Absent when the subject acts itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act: Option<Box<Actor>>,
}

/// One actor of an RFC 8693 delegation chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub sub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act: Option<Box<Actor>>,
}

impl Claims {
    /// The actors, earliest first, ending with the current actor: `sub` first, then the
    /// nested `act` claims from the innermost out.
    pub fn actors(&self) -> Vec<&str> {
        let mut acts = Vec::new();
        let mut next = self.act.as_deref();
        while let Some(a) = next {
            acts.push(a.sub.as_str());
            next = a.act.as_deref();
        }
        acts.reverse();
        std::iter::once(self.sub.as_str()).chain(acts).collect()
    }
}

/// A symmetric signing key and the issuer/audience it signs for.
#[derive(Clone)]
pub struct TokenKey {
    secret: Vec<u8>,
    issuer: String,
    audience: String,
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenKey")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

/// Why a token was refused. The message never contains the token.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TokenError(pub String);

impl TokenKey {
    pub fn new(secret: Vec<u8>, issuer: &str, audience: &str) -> Self {
        Self {
            secret,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
        }
    }

    /// Reads the key at `path`, creating a random one (mode 0600) if there is none.
    pub fn load_or_create(path: &Path, issuer: &str, audience: &str) -> Result<Self, TokenError> {
        let secret = load_or_create_secret(path, "token signing key").map_err(TokenError)?;
        Ok(Self::new(secret, issuer, audience))
    }

    /// Signs a token for `sub` in `tenant` with `roles`, valid for `ttl_secs`.
    pub fn issue(
        &self,
        sub: &str,
        tenant: &str,
        roles: &[String],
        ttl_secs: u64,
    ) -> Result<String, TokenError> {
        self.issue_delegated(sub, &[], tenant, roles, ttl_secs)
    }

    /// Signs a token for `sub` whose authority was delegated through `actors` (earliest
    /// first; the last one is the current actor), as an RFC 8693 token exchange would.
    pub fn issue_delegated(
        &self,
        sub: &str,
        actors: &[String],
        tenant: &str,
        roles: &[String],
        ttl_secs: u64,
    ) -> Result<String, TokenError> {
        let act = actors.iter().fold(None, |inner, a| {
            Some(Box::new(Actor {
                sub: a.clone(),
                act: inner,
            }))
        });
        let now = now();
        let claims = Claims {
            act,
            sub: sub.to_owned(),
            tenant: tenant.to_owned(),
            roles: roles.to_vec(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now,
            exp: now.saturating_add(ttl_secs),
        };
        self.sign(&claims)
    }

    /// Signs exactly these claims (their issuer and audience are taken as given).
    pub fn sign(&self, claims: &Claims) -> Result<String, TokenError> {
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            claims,
            &EncodingKey::from_secret(&self.secret),
        )
        .map_err(|e| TokenError(format!("cannot sign: {e}")))
    }

    /// Verifies signature, algorithm (HS256 only: `none` and others are refused), expiry,
    /// issuer and audience.
    ///
    /// These tokens were issued against this process's own clock, so there is no leeway: a
    /// token is accepted only before its `exp` second (RFC 7519, 4.1.4).
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let mut v = Validation::new(Algorithm::HS256);
        v.set_issuer(&[&self.issuer]);
        v.set_audience(&[&self.audience]);
        v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        v.leeway = 0;
        let claims =
            jsonwebtoken::decode::<Claims>(token, &DecodingKey::from_secret(&self.secret), &v)
                .map(|d| d.claims)
                .map_err(|e| TokenError(describe(&e)))?;
        if !unexpired(claims.exp) {
            return Err(TokenError("token expired".into()));
        }
        Ok(claims)
    }
}

pub(crate) fn describe(e: &jsonwebtoken::errors::Error) -> String {
    use jsonwebtoken::errors::ErrorKind as K;
    match e.kind() {
        K::ExpiredSignature => "token expired".into(),
        K::InvalidAudience => "token audience is not this service".into(),
        K::InvalidIssuer => "token issuer is not trusted".into(),
        K::InvalidSignature => "token signature is invalid".into(),
        K::InvalidAlgorithm => "token algorithm is not accepted".into(),
        K::MissingRequiredClaim(c) => format!("token lacks the `{c}` claim"),
        _ => "token is malformed".into(),
    }
}

/// Whether a token expiring at `exp` (seconds since the epoch) may still be used now: only
/// before that second, with no allowance for clock skew.
pub fn unexpired(exp: u64) -> bool {
    now() < exp
}

/// Reads a hex secret of at least 32 bytes at `path`, creating a random 32-byte one (mode
/// 0600) if the file does not exist. `what` names it in messages.
pub fn load_or_create_secret(path: &Path, what: &str) -> Result<Vec<u8>, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => decode_hex(text.trim())
            .filter(|k| k.len() >= 32)
            .ok_or_else(|| format!("{}: not a hex key of at least 32 bytes", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let secret: [u8; 32] = rand::random();
            write_private(path, &encode_hex(&secret))
                .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
            tracing::info!(path = %path.display(), "created a new {what}");
            Ok(secret.to_vec())
        }
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

pub(crate) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn encode_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| {
            text.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect()
}

pub(crate) fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::TokenKey;

    #[test]
    fn issue_verify_and_refuse() {
        let key = TokenKey::new(vec![7; 32], "portcullis", "portcullis");
        let token = key
            .issue("alice", "acme", &["admin".into()], 60)
            .expect("sign");
        let claims = key.verify(&token).expect("valid");
        assert_eq!(
            (claims.sub.as_str(), claims.tenant.as_str()),
            ("alice", "acme")
        );
        assert_eq!(claims.roles, vec!["admin".to_owned()]);

        let other = TokenKey::new(vec![8; 32], "portcullis", "portcullis");
        assert!(other.verify(&token).unwrap_err().0.contains("signature"));
        let wrong_aud = TokenKey::new(vec![7; 32], "portcullis", "gateway");
        assert!(wrong_aud.verify(&token).unwrap_err().0.contains("audience"));
        let mut claims = key.verify(&token).expect("valid");
        claims.exp = claims.iat - 120;
        let expired = key.sign(&claims).expect("sign");
        assert!(key.verify(&expired).unwrap_err().0.contains("expired"));
        claims.exp = claims.iat + 5;
        assert!(
            key.verify(&key.sign(&claims).expect("sign")).is_ok(),
            "not yet expired"
        );
    }

    #[test]
    fn no_leeway_for_own_tokens() {
        let key = TokenKey::new(vec![7; 32], "portcullis", "portcullis");
        let mut claims = key
            .verify(&key.issue("alice", "acme", &[], 60).expect("sign"))
            .expect("valid");
        let now = super::now();
        for ago in [0, 1, 2] {
            claims.exp = now - ago;
            let err = key
                .verify(&key.sign(&claims).expect("sign"))
                .expect_err("expired, however recently");
            assert_eq!(err.0, "token expired", "{ago} s ago");
        }
    }

    #[test]
    fn delegation_chains_round_trip() {
        let key = TokenKey::new(vec![7; 32], "portcullis", "portcullis");
        let token = key
            .issue_delegated(
                "planner",
                &["researcher".into(), "summarizer".into()],
                "acme",
                &[],
                60,
            )
            .expect("sign");
        let claims = key.verify(&token).expect("valid");
        // The outermost `act` is the current actor.
        assert_eq!(
            claims.act.as_ref().map(|a| a.sub.as_str()),
            Some("summarizer")
        );
        assert_eq!(claims.actors(), vec!["planner", "researcher", "summarizer"]);
        let plain = key
            .verify(&key.issue("solo", "acme", &[], 60).expect("sign"))
            .expect("valid");
        assert_eq!(plain.actors(), vec!["solo"]);
    }

    #[test]
    fn alg_none_is_refused() {
        let key = TokenKey::new(vec![7; 32], "portcullis", "portcullis");
        // {"alg":"none","typ":"JWT"} . {"sub":"x","tenant":"t","iss":"portcullis","aud":"portcullis","iat":1,"exp":99999999999}
        let header = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0";
        let body = "eyJzdWIiOiJ4IiwidGVuYW50IjoidCIsImlzcyI6InBvcnRjdWxsaXMiLCJhdWQiOiJwb3J0Y3VsbGlzIiwiaWF0IjoxLCJleHAiOjk5OTk5OTk5OTk5fQ";
        assert!(key.verify(&format!("{header}.{body}.")).is_err());
    }

    #[test]
    fn key_file_is_created_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("keys/signing.key");
        let a = TokenKey::load_or_create(&path, "i", "a").expect("create");
        let b = TokenKey::load_or_create(&path, "i", "a").expect("read");
        let token = a.issue("s", "t", &[], 60).expect("sign");
        assert!(b.verify(&token).is_ok(), "the same key is read back");
        std::fs::write(&path, "short").expect("write");
        assert!(TokenKey::load_or_create(&path, "i", "a").is_err());
    }
}
