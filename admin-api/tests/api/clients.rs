//! Client credentials of agents and service accounts: a secret shown once and kept hashed,
//! a public key checked before it is kept.

use portcullis_registry::vault::VaultKind;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::harness::{Api, sqlite};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_secret_is_shown_once_and_kept_hashed() {
    let (store, _dir) = sqlite();
    let api = Api::start(store.clone()).await;
    let admin = api.token("root", "acme", true);
    let (_, agent) = api
        .call(
            Method::POST,
            "/nhi/agents",
            Some(&admin),
            Some(json!({"name": "a"})),
        )
        .await;
    let id = agent["id"].as_str().unwrap().to_owned();
    let path = format!("/nhi/{id}/client-credentials");
    let (_, before) = api.call(Method::GET, &path, Some(&admin), None).await;
    assert_eq!(before["has_secret"], false);
    let (status, issued) = api
        .call(Method::POST, &format!("{path}/secret"), Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{issued}");
    assert_eq!(issued["client_id"], id);
    let secret = issued["client_secret"].as_str().unwrap().to_owned();
    let (_, shown) = api.call(Method::GET, &path, Some(&admin), None).await;
    assert_eq!(shown["has_secret"], true);
    assert!(
        !shown.to_string().contains(&secret) && !shown.to_string().contains("argon2"),
        "{shown}"
    );
    let stored = store
        .vault("acme", VaultKind::Client, &id)
        .await
        .unwrap()
        .unwrap();
    assert!(!stored.body.contains(&secret));
    let hash = stored.client().unwrap().secret_hash.unwrap();
    assert!(portcullis_identity::verify_client_secret(&secret, &hash));
    // A new secret replaces the old one.
    let (_, again) = api
        .call(Method::POST, &format!("{path}/secret"), Some(&admin), None)
        .await;
    let hash = store
        .vault("acme", VaultKind::Client, &id)
        .await
        .unwrap()
        .unwrap()
        .client()
        .unwrap()
        .secret_hash
        .unwrap();
    assert!(!portcullis_identity::verify_client_secret(&secret, &hash));
    assert!(portcullis_identity::verify_client_secret(
        again["client_secret"].as_str().unwrap(),
        &hash
    ));

    // Public keys: a public JWK is kept; private parts, shared secrets and junk are refused.
    let dir = tempfile::tempdir().unwrap();
    let keys =
        portcullis_identity::AgentTokens::load_or_create(&dir.path().join("k"), "i", "a").unwrap();
    let public = keys.jwks()["keys"][0].clone();
    let (status, kept) = api
        .call(
            Method::PUT,
            &format!("{path}/public-key"),
            Some(&admin),
            Some(json!({"jwk": public})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{kept}");
    assert_eq!(kept["public_jwk"]["x"], public["x"]);
    let mut private = public.clone();
    private["d"] = json!("AAAA");
    for bad in [
        private,
        json!({"kty": "oct", "k": "c2VjcmV0"}),
        json!({"kty": "nonsense"}),
    ] {
        let (status, body) = api
            .call(
                Method::PUT,
                &format!("{path}/public-key"),
                Some(&admin),
                Some(json!({"jwk": bad})),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    }
    // Weak keys: RSA under 2048 bits. A P-256 key (RFC 7517's example) is kept.
    use base64::Engine as _;
    let n1024 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([0xC5u8; 128]);
    let n2048 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([0xC5u8; 256]);
    let rsa = |n: &str| json!({"kty": "RSA", "n": n, "e": "AQAB"});
    let ec = json!({"kty": "EC", "crv": "P-256",
        "x": "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4",
        "y": "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"});
    for (jwk, expected) in [
        (rsa(&n1024), StatusCode::UNPROCESSABLE_ENTITY),
        (rsa(&n2048), StatusCode::OK),
        (ec, StatusCode::OK),
    ] {
        let (status, body) = api
            .call(
                Method::PUT,
                &format!("{path}/public-key"),
                Some(&admin),
                Some(json!({"jwk": jwk})),
            )
            .await;
        assert_eq!(status, expected, "{jwk}: {body}");
        if status != StatusCode::OK {
            assert!(body.to_string().contains("2048 bits"), "{body}");
        }
    }
    // Tools have none; non-admins may not set any.
    let (_, tool) = api
        .call(
            Method::POST,
            "/nhi/tools",
            Some(&admin),
            Some(json!({"name": "t"})),
        )
        .await;
    let (status, _) = api
        .call(
            Method::POST,
            &format!(
                "/nhi/{}/client-credentials/secret",
                tool["id"].as_str().unwrap()
            ),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = api
        .call(
            Method::POST,
            &format!("{path}/secret"),
            Some(&api.token("bob", "acme", false)),
            None,
        )
        .await;
    assert!(status == StatusCode::FORBIDDEN || status == StatusCode::NOT_FOUND);
    let (status, _) = api.call(Method::DELETE, &path, Some(&admin), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, after) = api.call(Method::GET, &path, Some(&admin), None).await;
    assert_eq!(
        (after["has_secret"].as_bool(), after["public_jwk"].is_null()),
        (Some(false), true)
    );
}
