//! Two tenants, each with a user `alice` holding a permission on its tenant's agent: an
//! ordinary state of a shared registry. Changes made through the admin API keep reaching
//! the gateway for both tenants, on SQLite and on Redis.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::cli::{bin, shipped};
use crate::interop::{Proc, free_port, issue_token, rpc, wait_listening};

/// How soon a suspension made through the admin API must stop the agent's calls.
const SUSPENSION_BOUND: Duration = Duration::from_secs(1);

/// An admin API client acting as one tenant's administrator.
struct Admin<'a> {
    http: &'a reqwest::Client,
    base: &'a str,
    token: String,
}

impl Admin<'_> {
    async fn post(&self, path: &str, body: Value) -> Value {
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .expect("admin request");
        let status = resp.status();
        let text = resp.text().await.expect("admin body");
        assert!(status.is_success(), "POST {path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }
}

/// One tenant's agent, with an MCP session through the gateway.
struct Caller {
    tenant: &'static str,
    agent: String,
    token: String,
    session: String,
}

impl Caller {
    /// Whether `sample_echo` answers this agent (anything else is a refusal).
    async fn echo(&self, http: &reqwest::Client, mcp: &str) -> (bool, Value) {
        let call = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
            "params": {"name": "sample_echo", "arguments": {"message": self.tenant}}});
        let (status, _, body) = rpc(http, mcp, &self.token, Some(&self.session), call).await;
        let answered = status == 200
            && body.pointer("/result/isError") != Some(&Value::Bool(true))
            && body
                .pointer("/result/content")
                .is_some_and(|c| c.to_string().contains(self.tenant));
        (answered, body)
    }
}

/// Registers an agent, `echo` on the sample upstream, the grant and alice's permission in
/// `tenant`, and opens the agent's MCP session.
async fn tenant(
    http: &reqwest::Client,
    admin_base: &str,
    mcp: &str,
    config: &Path,
    tenant: &'static str,
) -> Caller {
    let admin = Admin {
        http,
        base: admin_base,
        token: issue_token(config, "root", tenant, true),
    };
    let agent = admin
        .post("/nhi/agents", json!({"name": format!("{tenant}-agent")}))
        .await
        .get("id")
        .and_then(Value::as_str)
        .expect("agent id")
        .to_owned();
    let schema = json!({"type": "object", "properties": {"message": {"type": "string"}},
        "required": ["message"], "additionalProperties": false});
    let tool = admin
        .post(
            "/nhi/tools",
            json!({"name": "echo", "upstream": "sample", "input_schema": schema}),
        )
        .await
        .get("id")
        .and_then(Value::as_str)
        .expect("tool id")
        .to_owned();
    admin
        .post(
            &format!("/nhi/agents/{agent}/tools/{tool}/grant"),
            json!({}),
        )
        .await;
    admin
        .post(
            &format!("/nhi/{agent}/users/alice/grant"),
            json!({"permission_level": "use"}),
        )
        .await;

    let token = issue_token(config, &agent, tenant, false);
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "tenants-e2e", "version": "1"}}});
    let (status, session, body) = rpc(http, mcp, &token, None, init).await;
    assert_eq!(status, 200, "{tenant}: initialize: {body}");
    let session = session.expect("initialize answers an Mcp-Session-Id");
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    rpc(http, mcp, &token, Some(&session), initialized).await;
    Caller {
        tenant,
        agent,
        token,
        session,
    }
}

async fn two_tenants_with_one_user_id(backend: &str) {
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("tempdir");
    let logs = dir.path();
    let redis = (backend == "redis").then(portcullis_registry::testutil::RedisServer::start);

    let sample_port = free_port();
    let mut sample_cmd = bin();
    sample_cmd
        .arg("sample-server")
        .arg("--listen")
        .arg(format!("127.0.0.1:{sample_port}"));
    let mut sample = Proc::spawn("sample server", sample_cmd, logs.join("sample.log"));
    assert!(
        wait_listening(&mut sample, sample_port, Duration::from_secs(30)).await,
        "the sample server did not come up:\n{}",
        sample.log()
    );

    let (admin_port, gateway_port) = (free_port(), free_port());
    let store = match &redis {
        Some(r) => format!(
            "[store]\nbackend = \"redis\"\nredis_url = {:?}\nredis_prefix = \"tenants\"\n",
            r.url
        ),
        None => "[store]\nbackend = \"sqlite\"\n".to_owned(),
    };
    let config = dir.path().join("portcullis.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = {data:?}\n\
             [admin]\nlisten = \"127.0.0.1:{admin_port}\"\n\
             [gateway]\nlisten = \"127.0.0.1:{gateway_port}\"\naudit_log = \"off\"\n\
             [[gateway.upstreams]]\nname = \"sample\"\nurl = \"http://127.0.0.1:{sample_port}/mcp\"\n\
             {store}\
             [policy]\ndir = {policies:?}\nwatch = false\n",
            data = dir.path().join("data"),
            policies = shipped(),
        ),
    )
    .expect("config");
    let mut portcullis = crate::interop::serve(&config, logs, admin_port, gateway_port).await;

    let http = reqwest::Client::new();
    let admin_base = format!("http://127.0.0.1:{admin_port}");
    let mcp = format!("http://127.0.0.1:{gateway_port}/mcp");
    // Both tenants give their own `alice` a permission: the registry now holds one user id
    // in two tenants.
    let acme = tenant(&http, &admin_base, &mcp, &config, "acme").await;
    let globex = tenant(&http, &admin_base, &mcp, &config, "globex").await;

    // The changes reach the gateway: acme's agent calls its tool.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (answered, body) = acme.echo(&http, &mcp).await;
        if answered {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "acme's agent never got its tool through the gateway (last answer: {body})"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Suspended through the admin API, the agent is refused within the bound.
    let acme_admin = Admin {
        http: &http,
        base: &admin_base,
        token: issue_token(&config, "root", "acme", true),
    };
    acme_admin
        .post(
            &format!("/nhi/agents/{}/suspend", acme.agent),
            json!({"reason": "incident 19"}),
        )
        .await;
    let suspended = Instant::now();
    loop {
        let (answered, body) = acme.echo(&http, &mcp).await;
        if !answered {
            break;
        }
        assert!(
            suspended.elapsed() < SUSPENSION_BOUND,
            "acme's suspended agent still calls {:?} after the suspension (last answer: {body})",
            suspended.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let refused_after = suspended.elapsed();
    assert!(refused_after < SUSPENSION_BOUND, "{refused_after:?}");

    // The other tenant is untouched.
    let (answered, body) = globex.echo(&http, &mcp).await;
    assert!(answered, "globex's agent is refused: {body}");

    let ready = http
        .get(format!("{admin_base}/readyz"))
        .send()
        .await
        .expect("readyz");
    let status = ready.status();
    let body: Value = ready.json().await.expect("readyz body");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body.get("ready"), Some(&Value::Bool(true)), "{body}");
    let metrics = http
        .get(format!("{admin_base}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    for line in [
        "portcullis_registry_snapshot_failures_total 0",
        "portcullis_registry_skipped_records 0",
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "no `{line}` in\n{metrics}"
        );
    }
    assert!(
        portcullis.exited().is_none(),
        "portcullis serve exited:\n{}",
        portcullis.log()
    );
    println!(
        "tenants on {backend}: suspension enforced after {refused_after:?}, whole run {:.1?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_sharing_a_user_id_keep_the_registry_live_on_sqlite() {
    two_tenants_with_one_user_id("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_sharing_a_user_id_keep_the_registry_live_on_redis() {
    two_tenants_with_one_user_id("redis").await;
}
