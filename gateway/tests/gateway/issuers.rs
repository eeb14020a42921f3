//! Tokens of an external issuer, verified with the JWKS it serves.

use std::net::SocketAddr;
use std::sync::Arc;

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use portcullis_gateway::IssuerConfig;
use serde_json::{Value, json};

use crate::harness::World;

const ISSUER: &str = "https://idp.test";
const DOWN: &str = "https://down.test";
const AUDIENCE: &str = "portcullis-gateway";

/// A P-256 private key from a fixed scalar, as the PKCS#8 DER jsonwebtoken signs with: the
/// PrivateKeyInfo header for id-ecPublicKey/prime256v1, then an RFC 5915 ECPrivateKey.
fn es256_key(seed: u8) -> EncodingKey {
    let mut der = vec![
        0x30, 0x41, 0x02, 0x01, 0x00, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02,
        0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x04, 0x27, 0x30, 0x25,
        0x02, 0x01, 0x01, 0x04, 0x20,
    ];
    der.extend([seed; 32]);
    EncodingKey::from_ec_der(&der)
}

/// The public half of `key` as a JWK named `kid`.
fn public_jwk(key: &EncodingKey, kid: &str) -> Value {
    let mut jwk = Jwk::from_encoding_key(key, Algorithm::ES256).unwrap();
    jwk.common.key_id = Some(kid.into());
    serde_json::to_value(jwk).unwrap()
}

fn sign(alg: Algorithm, key: &EncodingKey, kid: Option<&str>, claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

/// Serves `{"keys": <keys>}` at `/jwks` on loopback; the keys can be changed while it runs.
async fn serve_jwks(keys: Arc<parking_lot::Mutex<Vec<Value>>>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().route(
        "/jwks",
        axum::routing::get(move || {
            let keys = keys.lock().clone();
            async move { axum::Json(json!({ "keys": keys })) }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

fn issuer(name: &str, jwks: SocketAddr) -> IssuerConfig {
    IssuerConfig {
        issuer: name.into(),
        jwks_url: format!("http://{jwks}/jwks"),
        audience: AUDIENCE.into(),
        tenant_claim: "org".into(),
        tenants: vec!["acme".into()],
        refresh_secs: 300,
        leeway_secs: 5,
    }
}

#[tokio::test]
async fn external_issuer_tokens() {
    let first = es256_key(0x11);
    let keys = Arc::new(parking_lot::Mutex::new(vec![public_jwk(&first, "k1")]));
    let jwks = serve_jwks(keys.clone()).await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let w = World::with_issuers(vec![issuer(ISSUER, jwks), issuer(DOWN, closed)]).await;
    let claims = |sub: &str| {
        json!({"iss": ISSUER, "aud": [AUDIENCE, "other"], "sub": sub, "org": "acme",
               "iat": now(), "exp": now() + 300})
    };
    let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
        .to_string()
        .into_bytes();
    let refused = |token: String| {
        let list = list.clone();
        let w = &w;
        async move {
            let (status, _, body) = w.post(Some(&token), list).await;
            assert_eq!(status, 401, "{body}");
            let message = body["message"].as_str().unwrap_or_default().to_owned();
            assert!(!message.contains(&token), "{message}");
            message
        }
    };

    // A token of the issuer, signed with its published key.
    let token = sign(Algorithm::ES256, &first, Some("k1"), &claims(&w.reader));
    let (status, body) = w.rpc(&token, "tools/list", json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["result"]["tools"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "files_echo"),
        "{body}"
    );
    // A delegation chain: a human subject, the registered agent acting for them.
    let mut delegated = claims("alice@example.com");
    delegated["act"] = json!({"sub": w.reader});
    let token = sign(Algorithm::ES256, &first, Some("k1"), &delegated);
    // Alice may have the agent act for her only with a permission on it.
    let (status, _, body) = w.post(Some(&token), list.clone()).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("permission to use"),
        "{body}"
    );
    let mut usage = portcullis_registry::Relation::new(
        "acme",
        portcullis_registry::RelationKind::User,
        &w.reader,
        "alice@example.com",
    );
    usage.level = Some(portcullis_registry::PermissionLevel::Use);
    w.store.put_relation(usage).await.unwrap();
    w.reinstall().await;
    let (status, body) = w.rpc(&token, "tools/list", json!({})).await;
    assert_eq!(status, 200, "{body}");

    let mut wrong_audience = claims(&w.reader);
    wrong_audience["aud"] = json!("elsewhere");
    let message = refused(sign(Algorithm::ES256, &first, Some("k1"), &wrong_audience)).await;
    assert!(message.contains("audience"), "{message}");

    let mut expired = claims(&w.reader);
    expired["exp"] = json!(now() - 600);
    let message = refused(sign(Algorithm::ES256, &first, Some("k1"), &expired)).await;
    assert!(message.contains("expired"), "{message}");
    // The issuer's clock is not ours: its configured leeway (5 s) applies, and no more.
    let mut skewed = claims(&w.reader);
    skewed["exp"] = json!(now() - 2);
    let token = sign(Algorithm::ES256, &first, Some("k1"), &skewed);
    let (status, body) = w.rpc(&token, "tools/list", json!({})).await;
    assert_eq!(status, 200, "within the leeway: {body}");
    skewed["exp"] = json!(now() - 8);
    let message = refused(sign(Algorithm::ES256, &first, Some("k1"), &skewed)).await;
    assert!(message.contains("expired"), "beyond the leeway: {message}");

    // An issuer asserts only the tenants it is configured for.
    let mut foreign = claims(&w.outsider);
    foreign["org"] = json!("globex");
    let message = refused(sign(Algorithm::ES256, &first, Some("k1"), &foreign)).await;
    assert!(
        message.contains("may not assert tenant `globex`"),
        "{message}"
    );
    // A tenant it may assert, naming a principal registered in another tenant.
    let token = sign(Algorithm::ES256, &first, Some("k1"), &claims(&w.outsider));
    let (status, _, body) = w.post(Some(&token), list.clone()).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("of tenant `acme`"),
        "{body}"
    );

    let mut no_tenant = claims(&w.reader);
    no_tenant.as_object_mut().unwrap().remove("org");
    let message = refused(sign(Algorithm::ES256, &first, Some("k1"), &no_tenant)).await;
    assert!(message.contains("no tenant"), "{message}");

    let mut wrong_issuer = claims(&w.reader);
    wrong_issuer["iss"] = json!("https://elsewhere.test");
    let message = refused(sign(Algorithm::ES256, &first, Some("k1"), &wrong_issuer)).await;
    assert!(message.contains("issuer"), "{message}");

    // Another key under the same key id.
    let forger = es256_key(0x22);
    let message = refused(sign(
        Algorithm::ES256,
        &forger,
        Some("k1"),
        &claims(&w.reader),
    ))
    .await;
    assert!(message.contains("signature"), "{message}");

    // HS256 under the issuer's key id, even signed with the gateway's own secret.
    let mut own = claims(&w.reader);
    own["iss"] = json!("portcullis");
    own["aud"] = json!("portcullis");
    own["tenant"] = json!("acme");
    let hs = EncodingKey::from_secret(&[9; 32]);
    let message = refused(sign(Algorithm::HS256, &hs, Some("k1"), &own)).await;
    assert!(message.contains("algorithm"), "{message}");
    // Without a key id, HS256 is the gateway's own kind: its key does not take this one.
    refused(sign(Algorithm::HS256, &hs, None, &claims(&w.reader))).await;

    // The issuer whose JWKS endpoint is down: its tokens are refused, the gateway's work.
    let mut down = claims(&w.reader);
    down["iss"] = json!(DOWN);
    let message = refused(sign(Algorithm::ES256, &first, Some("k1"), &down)).await;
    assert!(message.contains("no signing keys"), "{message}");
    let message = refused(sign(Algorithm::ES256, &first, None, &down)).await;
    assert!(message.contains("no signing keys"), "{message}");
    let (status, body) = w
        .rpc(&w.token(&w.reader, "acme"), "tools/list", json!({}))
        .await;
    assert_eq!(status, 200, "{body}");

    // Rotation: a new key under a new id is fetched when a token first names it.
    let second = es256_key(0x33);
    keys.lock().push(public_jwk(&second, "k2"));
    let token = sign(Algorithm::ES256, &second, Some("k2"), &claims(&w.reader));
    let (status, body) = w.rpc(&token, "tools/list", json!({})).await;
    assert_eq!(status, 200, "{body}");
    // Unknown ids fetch again at most every 10 s: a third key is not looked for yet.
    let third = es256_key(0x44);
    keys.lock().push(public_jwk(&third, "k3"));
    let message = refused(sign(
        Algorithm::ES256,
        &third,
        Some("k3"),
        &claims(&w.reader),
    ))
    .await;
    assert!(message.contains("not one of"), "{message}");
    // Keys without an id in the token: every key of the issuer is tried.
    let token = sign(Algorithm::ES256, &second, None, &claims(&w.reader));
    let (status, body) = w.rpc(&token, "tools/list", json!({})).await;
    assert_eq!(status, 200, "{body}");
}
