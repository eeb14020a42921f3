//! Short-lived access tokens for agents and service accounts, signed with the gateway's own
//! Ed25519 keys (EdDSA) and published as a JWK set, so anyone can verify them and nobody
//! holding one can mint another.
//!
//! The keys live in one file (`<data_dir>/agent-token.keys`, mode 0600; every replica needs
//! the same): one JSON object per line, `{"kid": ..., "seed": <base64url of 32 bytes>}`, the
//! last line current. Rotation appends a key; the previous ones still verify the tokens they
//! signed (tokens live minutes) until they are removed from the file.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::{Claims, TokenError, describe, now, unexpired};

/// How long an access token lives by default, in seconds.
pub const ACCESS_TTL_SECS: u64 = 300;

/// One line of the key file.
#[derive(Serialize, Deserialize)]
struct StoredKey {
    kid: String,
    seed: String,
}

struct Key {
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// The public key, base64url (the JWK's `x`).
    x: String,
}

/// The gateway's agent-token keys and the issuer and audience its tokens name.
pub struct AgentTokens {
    /// Oldest first; the last is current.
    keys: Vec<Key>,
    issuer: String,
    audience: String,
}

impl std::fmt::Debug for AgentTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentTokens")
            .field(
                "kids",
                &self.keys.iter().map(|k| &k.kid).collect::<Vec<_>>(),
            )
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

fn key_from_seed(kid: &str, seed: &[u8; 32]) -> Result<Key, TokenError> {
    let signing = SigningKey::from_bytes(seed);
    let der = signing
        .to_pkcs8_der()
        .map_err(|e| TokenError(format!("cannot encode a signing key: {e}")))?;
    let x = URL_SAFE_NO_PAD.encode(signing.verifying_key().to_bytes());
    let decoding = DecodingKey::from_ed_components(&x)
        .map_err(|e| TokenError(format!("cannot use a verifying key: {e}")))?;
    Ok(Key {
        kid: kid.to_owned(),
        encoding: EncodingKey::from_ed_der(der.as_bytes()),
        decoding,
        x,
    })
}

fn new_line() -> Result<String, TokenError> {
    let seed: Zeroizing<[u8; 32]> = Zeroizing::new(rand::random());
    let kid = format!("ed-{}", now());
    let kid = format!("{kid}-{:04x}", rand::random::<u16>());
    let line = serde_json::to_string(&StoredKey {
        kid,
        seed: URL_SAFE_NO_PAD.encode(seed.as_ref()),
    })
    .map_err(|e| TokenError(e.to_string()))?;
    Ok(line)
}

impl AgentTokens {
    /// Reads the key file at `path`, creating it with one key when it does not exist.
    pub fn load_or_create(path: &Path, issuer: &str, audience: &str) -> Result<Self, TokenError> {
        if !path.exists() {
            crate::write_private(path, &format!("{}\n", new_line()?))
                .map_err(|e| TokenError(format!("cannot create {}: {e}", path.display())))?;
            tracing::info!(path = %path.display(), "created the agent token signing key");
        }
        let text = Zeroizing::new(
            std::fs::read_to_string(path)
                .map_err(|e| TokenError(format!("cannot read {}: {e}", path.display())))?,
        );
        Self::parse(&text, issuer, audience)
            .map_err(|e| TokenError(format!("{}: {}", path.display(), e.0)))
    }

    /// Appends a new current key to the file at `path`; returns its id.
    pub fn rotate(path: &Path) -> Result<String, TokenError> {
        use std::io::Write;
        let line = new_line()?;
        let kid = serde_json::from_str::<StoredKey>(&line)
            .map(|k| k.kid)
            .map_err(|e| TokenError(e.to_string()))?;
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(|e| TokenError(format!("cannot open {}: {e}", path.display())))?;
        writeln!(file, "{line}")
            .and_then(|()| file.sync_all())
            .map_err(|e| TokenError(format!("cannot write {}: {e}", path.display())))?;
        Ok(kid)
    }

    fn parse(text: &str, issuer: &str, audience: &str) -> Result<Self, TokenError> {
        let mut keys = Vec::new();
        for (n, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let bad = |why: &str| TokenError(format!("line {}: {why}", n + 1));
            let stored: StoredKey = serde_json::from_str(line).map_err(|_| bad("not a key"))?;
            let seed = Zeroizing::new(
                URL_SAFE_NO_PAD
                    .decode(&stored.seed)
                    .map_err(|_| bad("the seed is not base64url"))?,
            );
            let seed: Zeroizing<[u8; 32]> = Zeroizing::new(
                seed.as_slice()
                    .try_into()
                    .map_err(|_| bad("the seed is not 32 bytes"))?,
            );
            keys.push(key_from_seed(&stored.kid, &seed)?);
        }
        if keys.is_empty() {
            return Err(TokenError("no key".into()));
        }
        Ok(Self {
            keys,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
        })
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// Signs `claims` (issuer and audience as given) with the current key.
    pub fn sign(&self, claims: &Claims) -> Result<String, TokenError> {
        let key = self
            .keys
            .last()
            .ok_or_else(|| TokenError("no signing key".into()))?;
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(key.kid.clone());
        jsonwebtoken::encode(&header, claims, &key.encoding)
            .map_err(|e| TokenError(format!("cannot sign: {e}")))
    }

    /// An access token for `sub` of `tenant` acting through `actors` (earliest first, the
    /// last the current actor), valid `ttl_secs`.
    pub fn issue(
        &self,
        sub: &str,
        actors: &[String],
        tenant: &str,
        ttl_secs: u64,
    ) -> Result<(String, Claims), TokenError> {
        let act = actors.iter().fold(None, |inner, a| {
            Some(Box::new(crate::Actor {
                sub: a.clone(),
                act: inner,
            }))
        });
        let now = now();
        let claims = Claims {
            sub: sub.to_owned(),
            tenant: tenant.to_owned(),
            roles: Vec::new(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now,
            exp: now.saturating_add(ttl_secs),
            act,
        };
        Ok((self.sign(&claims)?, claims))
    }

    /// Whether `kid` names one of these keys (the token is then this issuer's to verify).
    pub fn knows(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid == kid)
    }

    /// Verifies a token of these keys: EdDSA, a known `kid`, issuer, audience, and not
    /// expired (no leeway: the gateway's own clock).
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| TokenError("token is malformed".into()))?;
        if header.alg != Algorithm::EdDSA {
            return Err(TokenError("token algorithm is not accepted".into()));
        }
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| self.keys.iter().find(|k| k.kid == kid))
            .ok_or_else(|| TokenError("token signing key is not one of this gateway's".into()))?;
        let mut v = Validation::new(Algorithm::EdDSA);
        v.set_issuer(&[&self.issuer]);
        v.set_audience(&[&self.audience]);
        v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        v.leeway = 0;
        let claims = jsonwebtoken::decode::<Claims>(token, &key.decoding, &v)
            .map(|d| d.claims)
            .map_err(|e| TokenError(describe(&e)))?;
        if !unexpired(claims.exp) {
            return Err(TokenError("token expired".into()));
        }
        Ok(claims)
    }

    /// The public keys as a JWK set (`/jwks.json`).
    pub fn jwks(&self) -> serde_json::Value {
        let keys: Vec<serde_json::Value> = self
            .keys
            .iter()
            .map(|k| {
                serde_json::json!({
                    "kty": "OKP", "crv": "Ed25519", "x": k.x, "kid": k.kid,
                    "alg": "EdDSA", "use": "sig",
                })
            })
            .collect();
        serde_json::json!({ "keys": keys })
    }
}

#[cfg(test)]
mod tests {
    use super::AgentTokens;

    #[test]
    fn tokens_round_trip_rotate_and_refuse() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agent-token.keys");
        let tokens = AgentTokens::load_or_create(&path, "http://gw", "http://gw/mcp").unwrap();
        let (token, claims) = tokens
            .issue("agent-1", &["agent-2".into()], "acme", 300)
            .unwrap();
        let verified = tokens.verify(&token).unwrap();
        assert_eq!(verified, claims);
        assert_eq!(verified.actors(), vec!["agent-1", "agent-2"]);
        // The file holds the key: read again, the same key verifies.
        let again = AgentTokens::load_or_create(&path, "http://gw", "http://gw/mcp").unwrap();
        assert!(again.verify(&token).is_ok());
        // Rotation: new tokens use the new key, old ones still verify, both are published.
        let kid = AgentTokens::rotate(&path).unwrap();
        let rotated = AgentTokens::load_or_create(&path, "http://gw", "http://gw/mcp").unwrap();
        let (fresh, _) = rotated.issue("agent-1", &[], "acme", 300).unwrap();
        assert_eq!(
            jsonwebtoken::decode_header(&fresh).unwrap().kid.as_deref(),
            Some(kid.as_str())
        );
        assert!(rotated.verify(&token).is_ok() && rotated.verify(&fresh).is_ok());
        assert_eq!(rotated.jwks()["keys"].as_array().unwrap().len(), 2);
        assert!(!rotated.jwks().to_string().contains("seed"));
        // Another gateway's key, another audience, an expired token: refused.
        let other_dir = tempfile::tempdir().unwrap();
        let other =
            AgentTokens::load_or_create(&other_dir.path().join("k"), "http://gw", "http://gw/mcp")
                .unwrap();
        assert!(
            rotated
                .verify(&other.issue("a", &[], "acme", 300).unwrap().0)
                .is_err()
        );
        let elsewhere =
            AgentTokens::load_or_create(&path, "http://gw", "http://other/mcp").unwrap();
        assert!(
            rotated
                .verify(&elsewhere.issue("a", &[], "acme", 300).unwrap().0)
                .is_err()
        );
        let (expired, _) = rotated.issue("a", &[], "acme", 0).unwrap();
        assert_eq!(rotated.verify(&expired).unwrap_err().0, "token expired");
        // The gateway's HS256 kind is not taken for this kind.
        let hs = crate::TokenKey::new(vec![1; 32], "http://gw", "http://gw/mcp")
            .issue("a", "acme", &[], 300)
            .unwrap();
        assert!(rotated.verify(&hs).is_err());
    }
}
