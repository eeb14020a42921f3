//! The token endpoint: agents and service accounts authenticate (a client secret, or a JWT
//! assertion signed with their registered key) and get short-lived EdDSA access tokens that
//! `/mcp` accepts; token exchange issues a chain only along allowed delegation edges.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use portcullis_registry::vault::{ClientCredentials, VaultDoc, VaultKind};
use portcullis_registry::{
    Agent, AgentFields, Common, Nhi, PermissionLevel, Relation, RelationKind,
};
use serde_json::{Value, json};

use crate::harness::{PUBLIC_URL, Setup, World};

const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

async fn world() -> World {
    World::start_with(Setup {
        tokens: true,
        ..Setup::default()
    })
    .await
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

fn base(w: &World) -> String {
    w.url.trim_end_matches("/mcp").to_owned()
}

/// Stores the client credentials of `nhi`: a secret (hashed) and/or a public JWK.
async fn register(w: &World, nhi: &str, secret: Option<&str>, jwk: Option<Value>) {
    let creds = ClientCredentials {
        tenant_id: "acme".into(),
        nhi_id: nhi.parse().expect("uuid"),
        secret_hash: secret.map(|s| portcullis_identity::hash_client_secret(s).expect("hash")),
        public_jwk: jwk,
        updated_at: time::OffsetDateTime::now_utc(),
    };
    let doc = VaultDoc::new("acme", VaultKind::Client, nhi, &creds).expect("doc");
    let current = w
        .store
        .vault("acme", VaultKind::Client, nhi)
        .await
        .expect("read")
        .map(|d| d.version);
    w.store.put_vault(doc, current).await.expect("put");
    w.reinstall().await;
}

/// POSTs a token request; returns status, headers and body.
async fn token_request(
    w: &World,
    basic: Option<(&str, &str)>,
    form: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, Value) {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let mut req = w
        .http
        .post(format!("{}/oauth/token", base(w)))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body);
    if let Some((id, secret)) = basic {
        req = req.header(
            "authorization",
            format!("Basic {}", STANDARD.encode(format!("{id}:{secret}"))),
        );
    }
    let resp = req.send().await.expect("send");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.json().await.unwrap_or(Value::Null);
    (status, headers, body)
}

/// The access token of a successful request (panics with the answer otherwise).
async fn get_token(w: &World, basic: Option<(&str, &str)>, form: &[(&str, &str)]) -> String {
    let (status, headers, body) = token_request(w, basic, form).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(body["token_type"], "Bearer");
    body["access_token"].as_str().expect("a token").to_owned()
}

/// The unverified claims of a token.
fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64")).expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_secret_buys_a_token_both_replicas_accept() {
    let w = world().await;
    register(&w, &w.reader, Some("s3cret-of-reader"), None).await;
    let reader = w.reader.as_str();

    let token = get_token(
        &w,
        Some((reader, "s3cret-of-reader")),
        &[("grant_type", "client_credentials")],
    )
    .await;
    let c = claims(&token);
    assert_eq!(c["sub"], reader);
    assert_eq!(c["tenant"], "acme");
    assert_eq!(c["iss"], PUBLIC_URL);
    assert_eq!(c["aud"], format!("{PUBLIC_URL}/mcp"));
    let ttl = c["exp"].as_u64().unwrap() - c["iat"].as_u64().unwrap();
    assert!(ttl > 0 && ttl <= 300, "short-lived: {ttl}s");
    // The token works for a call, at either replica (one key file, one public URL).
    let (status, reply) = w
        .rpc(
            &token,
            "tools/call",
            json!({"name": "files_echo", "arguments": {"text": "hi"}}),
        )
        .await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["result"]["isError"], false, "{reply}");
    let session = w.initialize(&w.replica_url, &token).await;
    let (status, reply) = w
        .rpc_in(&w.replica_url, &token, &session, "tools/list", json!({}))
        .await;
    assert_eq!(status, 200, "{reply}");
    assert!(reply["result"]["tools"].is_array(), "{reply}");

    // The secret in the form (client_secret_post) works as well.
    let posted = get_token(
        &w,
        None,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", reader),
            ("client_secret", "s3cret-of-reader"),
            ("resource", &format!("{PUBLIC_URL}/mcp")),
        ],
    )
    .await;
    assert_eq!(claims(&posted)["sub"], reader);

    // A wrong secret, an unknown client: 401 invalid_client with a Basic challenge.
    for (id, secret) in [
        (reader, "not-the-secret"),
        ("00000000-0000-7000-8000-000000000000", "x"),
    ] {
        let (status, headers, body) = token_request(
            &w,
            Some((id, secret)),
            &[("grant_type", "client_credentials")],
        )
        .await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["error"], "invalid_client", "{body}");
        assert!(
            headers["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Basic")
        );
        assert!(body.get("access_token").is_none());
    }
    // The secret is never echoed, whatever the answer.
    let (_, _, body) = token_request(
        &w,
        Some((reader, "not-the-secret")),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert!(!body.to_string().contains("not-the-secret"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_token_requests_get_oauth_errors() {
    let w = world().await;
    register(&w, &w.reader, Some("s3cret-of-reader"), None).await;
    register(&w, &w.benched, Some("s3cret-of-benched"), None).await;
    let reader = w.reader.as_str();
    // (Basic credentials, form, status, `error`, part of `error_description`)
    type Case<'a> = (
        Option<(&'a str, &'a str)>,
        Vec<(&'a str, &'a str)>,
        u16,
        &'a str,
        &'a str,
    );
    let cases: Vec<Case<'_>> = vec![
        (
            Some((reader, "s3cret-of-reader")),
            vec![("grant_type", "password")],
            400,
            "unsupported_grant_type",
            "grant types",
        ),
        (
            Some((reader, "s3cret-of-reader")),
            vec![],
            400,
            "invalid_request",
            "`grant_type` is missing",
        ),
        (
            Some((reader, "s3cret-of-reader")),
            vec![
                ("grant_type", "client_credentials"),
                ("grant_type", "client_credentials"),
            ],
            400,
            "invalid_request",
            "`grant_type` is given more than once",
        ),
        (
            Some((reader, "s3cret-of-reader")),
            vec![
                ("grant_type", "client_credentials"),
                ("client_secret", "s3cret-of-reader"),
            ],
            400,
            "invalid_request",
            "one client authentication method",
        ),
        (
            None,
            vec![("grant_type", "client_credentials"), ("client_id", reader)],
            401,
            "invalid_client",
            "no client authentication",
        ),
        (
            Some((reader, "s3cret-of-reader")),
            vec![
                ("grant_type", "client_credentials"),
                ("resource", "https://elsewhere.example/api"),
            ],
            400,
            "invalid_target",
            "`/mcp` endpoint only",
        ),
        // A suspended agent authenticates, but gets no token.
        (
            Some((w.benched.as_str(), "s3cret-of-benched")),
            vec![("grant_type", "client_credentials")],
            400,
            "invalid_grant",
            "suspended",
        ),
    ];
    for (basic, form, status, code, text) in cases {
        let (got, _, body) = token_request(&w, basic, &form).await;
        assert_eq!(
            (got, body["error"].as_str()),
            (status, Some(code)),
            "{form:?}: {body}"
        );
        let description = body["error_description"].as_str().unwrap_or_default();
        assert!(description.contains(text), "{form:?}: {description}");
    }

    // Not a form: refused before anything is read as one.
    let resp = w
        .http
        .post(format!("{}/oauth/token", base(&w)))
        .header("content-type", "application/json")
        .body(r#"{"grant_type":"client_credentials"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    // Larger than any token request: 413.
    let big = format!("grant_type=client_credentials&pad={}", "a".repeat(20_000));
    let resp = w
        .http
        .post(format!("{}/oauth/token", base(&w)))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_keys_and_metadata_let_anyone_verify_the_tokens() {
    let w = world().await;
    register(&w, &w.reader, Some("s3cret-of-reader"), None).await;
    let meta: Value = w
        .http
        .get(format!(
            "{}/.well-known/oauth-authorization-server",
            base(&w)
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(meta["issuer"], PUBLIC_URL);
    assert_eq!(meta["token_endpoint"], format!("{PUBLIC_URL}/oauth/token"));
    assert_eq!(meta["jwks_uri"], format!("{PUBLIC_URL}/jwks.json"));
    // No interactive grant: the authorization endpoint RFC 8414 asks for only refuses.
    let resp = w
        .http
        .get(format!("{}/oauth/authorize?response_type=code", base(&w)))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "unsupported_response_type");
    let prm: Value = w
        .http
        .get(format!(
            "{}/.well-known/oauth-protected-resource/mcp",
            base(&w)
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(prm["authorization_servers"], json!([PUBLIC_URL]));
    assert_eq!(prm["resource"], format!("{PUBLIC_URL}/mcp"));

    let jwks: Value = w
        .http
        .get(format!("{}/jwks.json", base(&w)))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let keys = jwks["keys"].as_array().expect("keys");
    assert!(!keys.is_empty());
    for k in keys {
        assert_eq!(
            (k["kty"].as_str(), k["crv"].as_str()),
            (Some("OKP"), Some("Ed25519"))
        );
        assert!(
            k.get("d").is_none() && k.get("seed").is_none(),
            "public keys only: {k}"
        );
    }
    let token = get_token(
        &w,
        Some((&w.reader, "s3cret-of-reader")),
        &[("grant_type", "client_credentials")],
    )
    .await;
    // A third party verifies the token with the published key of its `kid`.
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::EdDSA);
    let jwk = keys
        .iter()
        .find(|k| k["kid"].as_str() == header.kid.as_deref())
        .expect("the token's key is published");
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(jwk.clone()).unwrap();
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    v.set_issuer(&[PUBLIC_URL]);
    v.set_audience(&[format!("{PUBLIC_URL}/mcp")]);
    let verified = jsonwebtoken::decode::<Value>(
        &token,
        &jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap(),
        &v,
    )
    .expect("verifies with the published key");
    assert_eq!(verified.claims["sub"], w.reader.as_str());

    // A token with the right shape, signed by some other Ed25519 key under the same `kid`,
    // is refused by `/mcp`.
    let forged = sign_ed25519(
        &SigningKey::from_bytes(&[42; 32]),
        header.kid.as_deref(),
        &verified.claims,
    );
    let (status, _, body) = w
        .post(
            Some(&forged),
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
                .to_string()
                .into_bytes(),
        )
        .await;
    assert_eq!(status, 401, "{body}");
}

fn sign_ed25519(key: &SigningKey, kid: Option<&str>, claims: &Value) -> String {
    let der = key.to_pkcs8_der().unwrap();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(
        &header,
        claims,
        &jsonwebtoken::EncodingKey::from_ed_der(der.as_bytes()),
    )
    .unwrap()
}

fn public_jwk(key: &SigningKey) -> Value {
    json!({"kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(key.verifying_key().to_bytes())})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_assertion_buys_a_token_once() {
    let w = world().await;
    let key = SigningKey::from_bytes(&[7; 32]);
    register(&w, &w.reader, None, Some(public_jwk(&key))).await;
    let reader = w.reader.as_str();
    let assertion = |aud: &str, exp: u64, jti: &str| {
        sign_ed25519(
            &key,
            None,
            &json!({"iss": reader, "sub": reader, "aud": aud, "exp": exp, "jti": jti}),
        )
    };
    let endpoint = format!("{PUBLIC_URL}/oauth/token");
    let good = assertion(&endpoint, now() + 60, "jti-1");
    let form = |a: &str| {
        vec![
            ("grant_type", "client_credentials".to_owned()),
            ("client_assertion_type", JWT_BEARER.to_owned()),
            ("client_assertion", a.to_owned()),
        ]
    };
    let request = |a: String| {
        let w = &w;
        let form = form(&a);
        async move {
            let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            token_request(w, None, &pairs).await
        }
    };
    let (status, _, body) = request(good.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        claims(body["access_token"].as_str().unwrap())["sub"],
        reader
    );

    // The same assertion again: refused.
    let (status, _, body) = request(good).await;
    assert_eq!(status, 401);
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("used before"),
        "{body}"
    );

    let other = SigningKey::from_bytes(&[8; 32]);
    let refused = [
        (assertion("http://elsewhere/token", now() + 60, "jti-2"), "does not verify"),
        (assertion(&endpoint, now() - 30, "jti-3"), "does not verify"),
        (assertion(&endpoint, now() + 3600, "jti-4"), "longer than 10 minutes"),
        (assertion(&endpoint, now() + 60, ""), "needs a `jti`"),
        (
            sign_ed25519(
                &other,
                None,
                &json!({"iss": reader, "sub": reader, "aud": endpoint, "exp": now() + 60, "jti": "jti-5"}),
            ),
            "does not verify",
        ),
        (
            jsonwebtoken::encode(
                &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
                &json!({"iss": reader, "sub": reader, "aud": endpoint, "exp": now() + 60, "jti": "jti-6"}),
                &jsonwebtoken::EncodingKey::from_secret(b"guess"),
            )
            .unwrap(),
            "not a public-key algorithm",
        ),
    ];
    for (a, why) in refused {
        let (status, _, body) = request(a).await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["error"], "invalid_client");
        assert!(
            body["error_description"].as_str().unwrap().contains(why),
            "{why}: {body}"
        );
    }
}

async fn add_agent(w: &World, name: &str, depth: u32) -> String {
    let nhi = Nhi::Agent(Agent {
        common: Common::new("acme", name),
        fields: AgentFields {
            max_delegation_depth: depth,
            ..AgentFields::default()
        },
    });
    w.store
        .insert_nhi(nhi)
        .await
        .expect("insert")
        .id()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_exchange_follows_delegation_edges_and_user_permissions() {
    let w = world().await;
    // planner (one hop allowed) → worker → third; alice may use planner, not worker.
    let planner = add_agent(&w, "planner", 1).await;
    let worker = add_agent(&w, "worker", 1).await;
    let third = add_agent(&w, "third", 0).await;
    for (from, to) in [(&planner, &worker), (&worker, &third)] {
        w.store
            .put_relation(Relation::new("acme", RelationKind::Delegation, from, to))
            .await
            .unwrap();
    }
    let mut alice = Relation::new("acme", RelationKind::User, &planner, "alice");
    alice.level = Some(PermissionLevel::Use);
    w.store.put_relation(alice).await.unwrap();
    for agent in [&planner, &worker, &third, &w.reader] {
        register(&w, agent, Some(&format!("secret-{agent}")), None).await;
    }
    let secret = |a: &str| format!("secret-{a}");
    let own = |agent: &str| {
        let s = secret(agent);
        let agent = agent.to_owned();
        let w = &w;
        async move {
            get_token(
                w,
                Some((&agent, &s)),
                &[("grant_type", "client_credentials")],
            )
            .await
        }
    };
    let exchange = |agent: &str, subject: &str| {
        let (agent, subject, s) = (agent.to_owned(), subject.to_owned(), secret(agent));
        let w = &w;
        async move {
            token_request(
                w,
                Some((&agent, &s)),
                &[
                    ("grant_type", TOKEN_EXCHANGE),
                    ("subject_token", &subject),
                    ("subject_token_type", ACCESS_TOKEN),
                ],
            )
            .await
        }
    };

    // planner → worker: allowed; the token says worker acts for planner.
    let planner_token = own(&planner).await;
    let (status, _, body) = exchange(&worker, &planner_token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["issued_token_type"], ACCESS_TOKEN);
    let chained = body["access_token"].as_str().unwrap().to_owned();
    let c = claims(&chained);
    assert_eq!(
        (c["sub"].as_str(), c["act"]["sub"].as_str()),
        (Some(planner.as_str()), Some(worker.as_str()))
    );
    // /mcp takes it: worker acting through planner's delegation.
    let (status, reply) = w.rpc(&chained, "tools/list", json!({})).await;
    assert_eq!(status, 200, "{reply}");

    // worker → third on top: two hops from planner, who allows one.
    let (status, _, body) = exchange(&third, &chained).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_grant");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("delegation-too-deep"),
        "{body}"
    );
    // No edge at all: reader may not act for planner.
    let (status, _, body) = exchange(&w.reader, &planner_token).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("not allowed"),
        "{body}"
    );
    // Acting twice in one chain: refused.
    let (status, _, _) = exchange(&worker, &chained).await;
    assert_eq!(status, 400);
    // A subject token that does not verify.
    let (status, _, body) = exchange(&worker, "not.a.token").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );

    // A user: alice may hand over to planner (her permission), not to worker.
    let alice_token = w.token("alice", "acme");
    let (status, _, body) = exchange(&planner, &alice_token).await;
    assert_eq!(status, 200, "{body}");
    let for_alice = body["access_token"].as_str().unwrap().to_owned();
    let c = claims(&for_alice);
    assert_eq!(
        (c["sub"].as_str(), c["act"]["sub"].as_str()),
        (Some("alice"), Some(planner.as_str()))
    );
    let (status, _, body) = exchange(&worker, &alice_token).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("holds no permission"),
        "{body}"
    );
    // alice → planner → worker: planner may delegate to worker.
    let (status, _, body) = exchange(&worker, &for_alice).await;
    assert_eq!(status, 200, "{body}");
    let c = claims(body["access_token"].as_str().unwrap());
    assert_eq!(c["sub"], "alice");
    assert_eq!(c["act"]["sub"], worker.as_str());
    assert_eq!(c["act"]["act"]["sub"], planner.as_str());
    // The chained token lives no longer than its subject.
    assert!(c["exp"].as_u64().unwrap() <= claims(&for_alice)["exp"].as_u64().unwrap());

    // Another tenant's token as the subject: refused.
    let outsider = w.token(&w.outsider, "globex");
    let (status, _, body) = exchange(&worker, &outsider).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("another tenant"),
        "{body}"
    );
}
