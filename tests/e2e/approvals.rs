//! Human approvals across real processes: a payment held by `portcullis serve`'s gateway, approved
//! through the admin API, then made once. On Redis, two instances share the store: one holds
//! the call, the other's admin API approves it and the other's gateway lets the retry through.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::cli::shipped;
use crate::interop::{Proc, free_port, issue_token, serve, start_sample};

/// One `portcullis serve`: its admin API and gateway base URLs.
struct Instance {
    _proc: Proc,
    admin: String,
    gateway: String,
}

async fn instance(
    dir: &Path,
    name: &str,
    sample_port: u16,
    store: &str,
) -> (Instance, std::path::PathBuf) {
    let (admin_port, gateway_port) = (free_port(), free_port());
    let config = dir.join(format!("{name}.toml"));
    std::fs::write(
        &config,
        format!(
            "data_dir = {data:?}\n\
             [admin]\nlisten = \"127.0.0.1:{admin_port}\"\n\
             [gateway]\nlisten = \"127.0.0.1:{gateway_port}\"\naudit_log = \"off\"\n\
             [[gateway.upstreams]]\nname = \"sample\"\nurl = \"http://127.0.0.1:{sample_port}/mcp\"\n\
             {store}\
             [policy]\ndir = {policies:?}\nwatch = false\n\
             [approvals]\nhold_ms = 0\n",
            // One data directory: both instances share the signing and session keys.
            data = dir.join("data"),
            policies = shipped(),
        ),
    )
    .expect("config");
    let logs = dir.join(name);
    std::fs::create_dir_all(&logs).expect("logs");
    let proc = serve(&config, &logs, admin_port, gateway_port).await;
    (
        Instance {
            _proc: proc,
            admin: format!("http://127.0.0.1:{admin_port}"),
            gateway: format!("http://127.0.0.1:{gateway_port}"),
        },
        config,
    )
}

async fn post(http: &reqwest::Client, url: &str, token: &str, body: Value) -> (u16, Value) {
    let resp = http
        .post(url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn held_payment_approved_and_made_once(backend: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let redis = (backend == "redis").then(portcullis_registry::testutil::RedisServer::start);
    let (_sample, sample_port) = start_sample(dir.path()).await;
    let store = match &redis {
        Some(r) => format!(
            "[store]\nbackend = \"redis\"\nredis_url = {:?}\nredis_prefix = \"appr\"\n",
            r.url
        ),
        None => "[store]\nbackend = \"sqlite\"\n".to_owned(),
    };
    let (first, config) = instance(dir.path(), "first", sample_port, &store).await;
    // On Redis a second instance over the same store; on SQLite the same one again.
    let second = match &redis {
        Some(_) => Some(instance(dir.path(), "second", sample_port, &store).await.0),
        None => None,
    };
    let other = second.as_ref().unwrap_or(&first);

    let http = reqwest::Client::new();
    let root = issue_token(&config, "root", "acme", true);
    let (status, agent) = post(
        &http,
        &format!("{}/nhi/agents", first.admin),
        &root,
        json!({"name": "payer"}),
    )
    .await;
    assert_eq!(status, 201, "{agent}");
    let agent = agent["id"].as_str().unwrap().to_owned();
    let (status, tool) = post(
        &http,
        &format!("{}/nhi/tools", first.admin),
        &root,
        json!({"name": "transfer_funds", "upstream": "sample", "category": "payments",
            "input_schema": {"type": "object", "properties": {"to": {"type": "string"},
            "amount": {"type": "integer"}}, "required": ["to", "amount"]}}),
    )
    .await;
    assert_eq!(status, 201, "{tool}");
    let tool = tool["id"].as_str().unwrap().to_owned();
    let (status, _) = post(
        &http,
        &format!("{}/nhi/agents/{agent}/tools/{tool}/grant", first.admin),
        &root,
        json!({}),
    )
    .await;
    assert_eq!(status, 200);
    let token = issue_token(&config, &agent, "acme", false);
    let pay = |base: &str, amount: i64| {
        let (http, token, url) = (
            http.clone(),
            token.clone(),
            format!("{base}/mcp/tools/sample_transfer_funds/call"),
        );
        async move {
            post(
                &http,
                &url,
                &token,
                json!({"to": "acme-supplier", "amount": amount}),
            )
            .await
        }
    };
    // A small payment goes through once the grant has reached both gateways.
    let deadline = Instant::now() + Duration::from_secs(10);
    for base in [&first.gateway, &other.gateway] {
        loop {
            let (status, body) = pay(base, 5).await;
            if status == 200 {
                break;
            }
            assert!(Instant::now() < deadline, "{status} {body}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    // A large one is held at the first gateway.
    let (status, body) = pay(&first.gateway, 25_000).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"], "approval_required");
    let id = body["approval_id"]
        .as_str()
        .expect("an approval id")
        .to_owned();
    // The other instance's admin API sees it and approves it.
    let (status, listed) = {
        let resp = http
            .get(format!("{}/approvals?status=pending", other.admin))
            .bearer_auth(&root)
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.json::<Value>().await.unwrap())
    };
    assert_eq!(status, 200);
    assert_eq!(listed["items"][0]["id"], id.as_str(), "{listed}");
    assert_eq!(
        listed["items"][0]["arguments"],
        Value::Null,
        "no arguments in lists"
    );
    let (status, decided) = post(
        &http,
        &format!("{}/approvals/{id}/approve", other.admin),
        &root,
        json!({"comment": "invoice 4411 checked"}),
    )
    .await;
    assert_eq!(status, 200, "{decided}");
    // The retry goes through the other gateway, once.
    let (status, body) = pay(&other.gateway, 25_000).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.to_string()
            .contains("transferred 25000 to acme-supplier"),
        "{body}"
    );
    let (status, body) = pay(&first.gateway, 25_000).await;
    assert_eq!(status, 403, "one approval, one call: {body}");
    assert_ne!(body["approval_id"], id.as_str());
    // The caller sees its first approval spent.
    let resp = http
        .get(format!("{}/approvals/{id}", first.gateway))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let seen: Value = resp.json().await.unwrap();
    assert_eq!(seen["status"], "consumed", "{seen}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_payment_is_approved_and_made_once_on_sqlite() {
    held_payment_approved_and_made_once("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_payment_is_approved_at_one_instance_and_made_at_another_on_redis() {
    held_payment_approved_and_made_once("redis").await;
}
