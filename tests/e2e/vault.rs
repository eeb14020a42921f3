//! The vault, credential brokering and agent tokens end to end: `portcullis serve` with a
//! master key file in front of server-everything, which needs a credential from the vault;
//! agents get their own tokens from the gateway's token endpoint — the official MCP Python
//! SDK with a client secret and with a signed assertion — and a delegation chain deeper than
//! its delegator allows is refused there.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ed25519_dalek::SigningKey;
use serde_json::{Value, json};

use crate::cli::shipped;
use crate::interop::{
    Admin, INSTALL, Proc, free_port, interop_dir, issue_token, rpc, serve, start_everything,
};

/// The value of the upstream's credential: it must show nowhere but at the upstream.
const CANARY: &str = "canary-e2e-7d1c upstream-live-key";

const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";

async fn put(admin: &Admin, path: &str, body: Value) -> Value {
    let resp = admin
        .http
        .put(format!("{}{path}", admin.base))
        .bearer_auth(&admin.token)
        .json(&body)
        .send()
        .await
        .expect("admin request");
    let status = resp.status();
    let text = resp.text().await.expect("body");
    assert!(status.is_success(), "PUT {path}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

async fn get(admin: &Admin, path: &str) -> String {
    let resp = admin
        .http
        .get(format!("{}{path}", admin.base))
        .bearer_auth(&admin.token)
        .send()
        .await
        .expect("admin request");
    assert!(resp.status().is_success(), "GET {path}: {}", resp.status());
    resp.text().await.expect("body")
}

/// A token request with HTTP Basic client authentication; status and body.
async fn token_request(
    http: &reqwest::Client,
    base: &str,
    (id, secret): (&str, &str),
    form: &[(&str, &str)],
) -> (u16, Value) {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let resp = http
        .post(format!("{base}/oauth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header(
            "authorization",
            format!("Basic {}", STANDARD.encode(format!("{id}:{secret}"))),
        )
        .body(body)
        .send()
        .await
        .expect("token request");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// A tools/call in `session`; the JSON-RPC answer, from a JSON body or an event stream.
async fn call(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    session: &str,
    body: &Value,
) -> (u16, Value) {
    let resp = http
        .post(url)
        .bearer_auth(token)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-06-18")
        .header("mcp-session-id", session)
        .json(body)
        .send()
        .await
        .expect("gateway request");
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    let answer = serde_json::from_str(&text).ok().or_else(|| {
        text.lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
            .find(|m| m.get("id") == body.get("id"))
    });
    (status, answer.unwrap_or(Value::Null))
}

/// Every file under `dir` (recursively) except those whose name starts with `skip`.
fn files(dir: &Path, skip: &str) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if !entry.file_name().to_string_lossy().starts_with(skip) {
                out.push(path);
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vault_credentials_and_agent_tokens_work_with_the_official_sdk() {
    let python = interop_dir().join(".venv/bin/python");
    assert!(
        python.is_file(),
        "{} is missing: {INSTALL}",
        python.display()
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).expect("logs");
    let (_everything, everything_port) = start_everything("everything", None, &logs).await;

    let (admin_port, gateway_port) = (free_port(), free_port());
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("data");
    let key_file = data.join("vault.keys");
    std::fs::write(&key_file, format!("k1 {}\n", STANDARD.encode([21u8; 32]))).expect("keys");
    let config = dir.path().join("portcullis.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = {data:?}\n\
             [admin]\nlisten = \"127.0.0.1:{admin_port}\"\n\
             [gateway]\nlisten = \"127.0.0.1:{gateway_port}\"\n\
             [[gateway.upstreams]]\nname = \"everything\"\nurl = \"http://127.0.0.1:{everything_port}/mcp\"\n\
             [gateway.upstreams.credential]\nsecret = \"everything-key\"\nheader = \"x-api-key\"\nformat = \"key {{secret}}\"\n\
             [policy]\ndir = {policies:?}\nwatch = false\n\
             [vault]\nmaster_key_file = {key_file:?}\n",
            policies = shipped(),
        ),
    )
    .expect("config");
    let portcullis = serve(&config, &logs, admin_port, gateway_port).await;
    let http = reqwest::Client::new();
    let admin = Admin {
        http: http.clone(),
        base: format!("http://127.0.0.1:{admin_port}"),
        token: issue_token(&config, "root", "acme", true),
    };
    let mut answers: Vec<String> = Vec::new();

    // planner may delegate one hop (to worker); worker may delegate to third.
    let agent = |name: &str, depth: u32| json!({"name": name, "agent_type": "assistant", "max_delegation_depth": depth});
    let planner = admin.create("/nhi/agents", agent("planner", 1)).await;
    let worker = admin.create("/nhi/agents", agent("worker", 1)).await;
    let third = admin.create("/nhi/agents", agent("third", 0)).await;
    let bystander = admin.create("/nhi/agents", agent("bystander", 0)).await;
    let echo = admin
        .create(
            "/nhi/tools",
            json!({"name": "echo", "upstream": "everything", "input_schema": {
                "type": "object", "properties": {"message": {"type": "string"}}, "required": ["message"]}}),
        )
        .await;
    for a in [&planner, &worker, &bystander] {
        admin
            .post(&format!("/nhi/agents/{a}/tools/{echo}/grant"), None)
            .await;
    }
    for (from, to) in [(&planner, &worker), (&worker, &third)] {
        admin
            .post(
                &format!("/nhi/{from}/call/{to}/grant"),
                Some(json!({"permission_type": "delegation"})),
            )
            .await;
    }
    // The upstream's credential, leased to planner and worker (not to bystander).
    let secret = admin
        .create(
            &format!("/nhi/{echo}/vault/secrets"),
            json!({"name": "everything-key", "secret_value": CANARY, "secret_type": "api_key"}),
        )
        .await;
    for consumer in [&planner, &worker] {
        admin
            .create(
                &format!("/nhi/{echo}/vault/leases"),
                json!({"secret_id": secret, "ttl_seconds": 600, "consumer_nhi_id": consumer}),
            )
            .await;
    }
    answers.push(get(&admin, &format!("/nhi/{echo}/vault/secrets")).await);
    answers.push(get(&admin, &format!("/nhi/{echo}/vault/secrets/{secret}")).await);
    answers.push(get(&admin, &format!("/nhi/{echo}/vault/leases")).await);

    // Client credentials: a secret each; worker also a public key.
    let mut secrets = std::collections::HashMap::new();
    for a in [&planner, &worker, &third, &bystander] {
        let issued = admin
            .post(&format!("/nhi/{a}/client-credentials/secret"), None)
            .await;
        secrets.insert(
            a.clone(),
            issued["client_secret"].as_str().expect("secret").to_owned(),
        );
    }
    let worker_key = SigningKey::from_bytes(&[17; 32]);
    put(
        &admin,
        &format!("/nhi/{worker}/client-credentials/public-key"),
        json!({"jwk": {"kty": "OKP", "crv": "Ed25519",
            "x": URL_SAFE_NO_PAD.encode(worker_key.verifying_key().to_bytes())}}),
    )
    .await;

    // The registry's change feed reaches the gateway a moment after the writes.
    let base = format!("http://127.0.0.1:{gateway_port}");
    let cc = [("grant_type", "client_credentials")];
    let deadline = Instant::now() + Duration::from_secs(10);
    let planner_token = loop {
        let (status, body) = token_request(&http, &base, (&planner, &secrets[&planner]), &cc).await;
        if status == 200 {
            answers.push(body.to_string());
            break body["access_token"].as_str().expect("token").to_owned();
        }
        assert!(
            Instant::now() < deadline,
            "no token for planner: {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    // (1) The official SDK gets its own tokens (secret, then assertion) and calls echo.
    let mut cmd = Command::new(&python);
    cmd.current_dir(interop_dir())
        .arg("mcp_auth.py")
        .arg(format!("{base}/mcp"))
        .args(["--issuer", &base, "--echo", "everything_echo"])
        .env("CLIENT_ID", &planner)
        .env("CLIENT_SECRET", &secrets[&planner])
        .env("JWT_CLIENT_ID", &worker)
        .env("JWT_KEY_SEED", STANDARD.encode(worker_key.to_bytes()))
        .env("PYTHONUNBUFFERED", "1");
    let mut client = Proc::spawn("mcp_auth.py", cmd, logs.join("mcp_auth.log"));
    let deadline = Instant::now() + Duration::from_secs(90);
    let status = loop {
        if let Some(status) = client.exited() {
            break status;
        }
        assert!(Instant::now() < deadline, "mcp_auth.py did not finish");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let output = client.log();
    println!("{output}");
    assert!(
        status.success() && output.contains("3 passed, 0 failed"),
        "the Python SDK failed ({status}):\n{output}\n{}",
        portcullis.log()
    );

    // (2) Token exchange: planner → worker is allowed; third on top is two hops from
    // planner, who allows one: refused at the token endpoint.
    let exchange = |agent: String, subject: String| {
        let (http, base, secret) = (http.clone(), base.clone(), secrets[&agent].clone());
        async move {
            token_request(
                &http,
                &base,
                (&agent, &secret),
                &[
                    ("grant_type", TOKEN_EXCHANGE),
                    ("subject_token", &subject),
                    ("subject_token_type", ACCESS_TOKEN),
                ],
            )
            .await
        }
    };
    let (status, body) = exchange(worker.clone(), planner_token.clone()).await;
    assert_eq!(status, 200, "{body}");
    answers.push(body.to_string());
    let chained = body["access_token"].as_str().expect("token").to_owned();
    let (status, body) = exchange(third.clone(), chained.clone()).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_grant", "{body}");
    let why = body["error_description"].as_str().unwrap_or_default();
    assert!(why.contains("delegation-too-deep"), "{why}");
    answers.push(body.to_string());

    // (3) worker acting for planner calls echo with the brokered credential; bystander,
    // granted the tool but holding no lease, is refused, naming the lease.
    let url = format!("{base}/mcp");
    let request = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "everything_echo", "arguments": {"message": "brokered"}}});
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "e2e", "version": "1"}}});
    let (_, session, body) = rpc(&http, &url, &chained, None, init.clone()).await;
    answers.push(body.to_string());
    let session = session.expect("a session");
    let (status, body) = call(&http, &url, &chained, &session, &request).await;
    assert_eq!(status, 200, "{body}");
    assert_ne!(body["result"]["isError"], true, "{body}");
    assert_eq!(
        body["result"]["content"][0]["text"], "Echo: brokered",
        "{body}"
    );
    answers.push(body.to_string());
    let (_, body) = token_request(&http, &base, (&bystander, &secrets[&bystander]), &cc).await;
    let bystander_token = body["access_token"].as_str().expect("token").to_owned();
    let (_, session, _) = rpc(&http, &url, &bystander_token, None, init).await;
    let session = session.expect("a session");
    let (status, body) = call(&http, &url, &bystander_token, &session, &request).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["error"]["code"], -32012, "{body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("no active lease on the secret `everything-key`"),
        "{message}"
    );
    answers.push(body.to_string());

    // (4) The credential shows nowhere: not in any answer, the server's log (its audit
    // events included), the SDK client's log, or the data directory (the registry holds it
    // sealed). Only the upstream, whose credential it is, has seen it.
    drop(portcullis);
    for answer in &answers {
        assert!(
            !answer.contains(CANARY),
            "an answer shows the credential: {answer}"
        );
    }
    let mut checked = 0;
    for file in files(dir.path(), "everything-") {
        let bytes = std::fs::read(&file).expect("read");
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains(CANARY) && !text.contains(&STANDARD.encode(CANARY)),
            "{} holds the credential",
            file.display()
        );
        checked += 1;
    }
    assert!(
        files(dir.path(), "everything-")
            .iter()
            .any(|f| f.ends_with("portcullis.log"))
            && checked >= 4,
        "the logs and the registry were checked ({checked} files)"
    );
}
