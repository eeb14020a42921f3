//! Several `portcullis serve` processes on one real Redis behave as one: a change made through
//! any admin API (a suspension, a revoked grant or lease) reaches every gateway within a
//! second, sessions and A2A tasks move between gateways, each host follows its own policy
//! directory; and when Redis is killed under load, the gateways
//! keep deciding from their snapshot, refuse what needs shared state, reconnect, and no
//! acknowledged write is lost.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use portcullis_registry::testutil::RedisServer;
use serde_json::{Value, json};

use crate::cli::shipped;
use crate::interop::{Proc, free_port, issue_token, rpc, serve, start_sample, wait_listening};

/// One host: a `portcullis serve` with its own policy directory.
struct Host {
    proc: Proc,
    admin: String,
    gateway: String,
    policies: PathBuf,
}

/// Copies the shipped policy set (the `.cedar` files and the schema) into `to`.
fn copy_policies(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("policy dir");
    for entry in std::fs::read_dir(from).expect("shipped policies") {
        let path = entry.expect("entry").path();
        let name = path.file_name().expect("name").to_owned();
        if path.is_dir() {
            if name != "tests" {
                copy_policies(&path, &to.join(name));
            }
        } else {
            std::fs::copy(&path, to.join(name)).expect("copy policy");
        }
    }
}

/// A `portcullis serve` named `name` on `redis`, with the sample upstream, `upstreams` (more
/// TOML upstream tables), and the vault's master key file shared by every host.
async fn host(
    dir: &Path,
    name: &str,
    sample_port: u16,
    upstreams: &str,
    redis: &str,
) -> (Host, PathBuf) {
    let (admin_port, gateway_port) = (free_port(), free_port());
    let policies = dir.join(format!("{name}-policies"));
    copy_policies(&shipped(), &policies);
    let config = dir.join(format!("{name}.toml"));
    let data = dir.join("data");
    let keys = data.join("vault.keys");
    if !keys.exists() {
        std::fs::create_dir_all(&data).expect("data dir");
        let key = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        std::fs::write(&keys, format!("k1 {key}\n")).expect("vault keys");
    }
    std::fs::write(
        &config,
        format!(
            // One data directory: every host shares the signing, session and vault keys.
            "data_dir = {data:?}\n\
             [admin]\nlisten = \"127.0.0.1:{admin_port}\"\n\
             [gateway]\nlisten = \"127.0.0.1:{gateway_port}\"\naudit_log = \"off\"\n\
             [gateway.rate_limits]\nshared = true\n\
             [[gateway.upstreams]]\nname = \"sample\"\nurl = \"http://127.0.0.1:{sample_port}/mcp\"\n\
             {upstreams}\
             [store]\nbackend = \"redis\"\nredis_url = {redis:?}\nredis_prefix = \"scale\"\n\
             [policy]\ndir = {policies:?}\nwatch = true\n\
             [approvals]\nhold_ms = 0\n\
             [vault]\nmaster_key_file = {keys:?}\n",
        ),
    )
    .expect("config");
    let logs = dir.join(name);
    std::fs::create_dir_all(&logs).expect("logs");
    let proc = serve(&config, &logs, admin_port, gateway_port).await;
    (
        Host {
            proc,
            admin: format!("http://127.0.0.1:{admin_port}"),
            gateway: format!("http://127.0.0.1:{gateway_port}"),
            policies,
        },
        config,
    )
}

async fn send(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = http
        .request(method, url)
        .bearer_auth(token)
        .timeout(Duration::from_secs(10));
    if let Some(body) = body {
        req = req.json(&body);
    }
    match req.send().await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            (status, resp.json().await.unwrap_or(Value::Null))
        }
        // A connection refused or cut counts as its own "status".
        Err(e) => (0, json!(e.to_string())),
    }
}

async fn post(http: &reqwest::Client, url: &str, token: &str, body: Value) -> (u16, Value) {
    send(http, reqwest::Method::POST, url, token, Some(body)).await
}

/// The registry shared by the tests: tools `echo` and `transfer_funds` on the sample upstream.
struct Fixture {
    http: reqwest::Client,
    root: String,
    config: PathBuf,
    echo: String,
    transfer: String,
}

impl Fixture {
    async fn new(admin: &str, config: PathBuf) -> Self {
        let http = reqwest::Client::new();
        let root = issue_token(&config, "root", "acme", true);
        let mut f = Self {
            http,
            root,
            config,
            echo: String::new(),
            transfer: String::new(),
        };
        f.echo = f
            .create(
                admin,
                "tools",
                json!({"name": "echo", "upstream": "sample",
                "input_schema": {"type": "object", "properties": {"message": {"type": "string"}},
                "required": ["message"]}}),
            )
            .await;
        f.transfer = f
            .create(
                admin,
                "tools",
                json!({"name": "transfer_funds", "upstream": "sample",
                "category": "payments", "input_schema": {"type": "object", "properties": {
                "to": {"type": "string"}, "amount": {"type": "integer"}},
                "required": ["to", "amount"]}}),
            )
            .await;
        f
    }

    async fn create(&self, admin: &str, kind: &str, body: Value) -> String {
        let (status, created) =
            post(&self.http, &format!("{admin}/nhi/{kind}"), &self.root, body).await;
        assert_eq!(status, 201, "{created}");
        created["id"].as_str().expect("id").to_owned()
    }

    /// An admin write (`POST {admin}{path}`) that must succeed.
    async fn write(&self, admin: &str, path: &str, body: Value) {
        let (status, answer) = post(&self.http, &format!("{admin}{path}"), &self.root, body).await;
        assert_eq!(status, 200, "POST {path}: {answer}");
    }

    /// A new agent granted `tools`, and its token.
    async fn agent(&self, admin: &str, name: &str, tools: &[&str]) -> (String, String) {
        let id = self.create(admin, "agents", json!({"name": name})).await;
        for tool in tools {
            self.write(
                admin,
                &format!("/nhi/agents/{id}/tools/{tool}/grant"),
                json!({}),
            )
            .await;
        }
        let token = issue_token(&self.config, &id, "acme", false);
        (id, token)
    }

    /// Opens an MCP session at `gateway` for the holder of `token`; its id.
    async fn open_session(&self, gateway: &str, token: &str) -> String {
        let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "scale-probe", "version": "1"}}});
        let (status, session, body) =
            rpc(&self.http, &format!("{gateway}/mcp"), token, None, init).await;
        assert_eq!(status, 200, "{body}");
        session.expect("a session id")
    }

    /// `tools/call sample_echo` with `message` in `session` at `gateway`.
    async fn echo_in(
        &self,
        gateway: &str,
        token: &str,
        session: &str,
        message: &str,
    ) -> (u16, Value) {
        let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": {"name": "sample_echo", "arguments": {"message": message}}});
        let (status, _, body) = rpc(
            &self.http,
            &format!("{gateway}/mcp"),
            token,
            Some(session),
            call,
        )
        .await;
        (status, body)
    }

    /// Ends `session` with `DELETE /mcp` at `gateway` (204).
    async fn end_session(&self, gateway: &str, token: &str, session: &str) {
        let resp = self
            .http
            .delete(format!("{gateway}/mcp"))
            .bearer_auth(token)
            .header("mcp-session-id", session)
            .send()
            .await
            .expect("DELETE /mcp");
        assert_eq!(resp.status(), 204);
    }

    async fn echo(&self, gateway: &str, token: &str) -> (u16, Value) {
        post(
            &self.http,
            &format!("{gateway}/mcp/tools/sample_echo/call"),
            token,
            json!({"message": "hi"}),
        )
        .await
    }

    async fn pay(&self, gateway: &str, token: &str) -> (u16, Value) {
        post(
            &self.http,
            &format!("{gateway}/mcp/tools/sample_transfer_funds/call"),
            token,
            json!({"to": "acme-supplier", "amount": 25_000}),
        )
        .await
    }
}

/// The locked upstream's key: only the vault holds it.
const LOCKED_KEY: &str = "locked-e2e-key";

/// A refusal: the caller may not call the tool (403), or may not even know of it (404).
const REFUSED: &[u16] = &[403, 404];
const OK: &[u16] = &[200];

/// Waits until `probe` answers one of `want` on every gateway; how long that took. Panics
/// after `within`.
async fn until_everywhere<F, Fut>(
    gateways: &[&str],
    want: &[u16],
    within: Duration,
    probe: F,
) -> Duration
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = (u16, Value)>,
{
    let start = Instant::now();
    for gateway in gateways {
        loop {
            let (status, body) = probe((*gateway).to_owned()).await;
            if want.contains(&status) {
                break;
            }
            assert!(
                start.elapsed() < within,
                "{gateway} still answers {status} {body} after {:?}, not {want:?}",
                start.elapsed()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    start.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateways_on_one_redis_behave_as_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let redis = RedisServer::start();
    let (_sample, sample_port) = start_sample(dir.path()).await;
    let (_agent, agent_port) = crate::a2a::start_agent(dir.path()).await;
    // An upstream that answers only with its key, which only the vault holds.
    let locked_port = free_port();
    let mut cmd = crate::cli::bin();
    cmd.args(["sample-server", "--require-api-key", "--listen"])
        .arg(format!("127.0.0.1:{locked_port}"))
        .env("SAMPLE_API_KEY", LOCKED_KEY);
    let mut locked = Proc::spawn("locked sample", cmd, dir.path().join("locked.log"));
    assert!(wait_listening(&mut locked, locked_port, Duration::from_secs(30)).await);
    let upstreams = format!(
        "[[gateway.upstreams]]\nname = \"locked\"\nurl = \"http://127.0.0.1:{locked_port}/mcp\"\n\
         [gateway.upstreams.credential]\nsecret = \"locked-key\"\nheader = \"x-api-key\"\n\
         [[gateway.a2a_upstreams]]\nname = \"echo\"\nurl = \"http://127.0.0.1:{agent_port}/\"\n"
    );
    let (a, config) = host(dir.path(), "a", sample_port, &upstreams, &redis.url).await;
    let (b, _) = host(dir.path(), "b", sample_port, &upstreams, &redis.url).await;
    let gateways = [a.gateway.as_str(), b.gateway.as_str()];
    let f = Fixture::new(&a.admin, config).await;
    let (worker, token) = f.agent(&b.admin, "worker", &[&f.echo]).await;
    let echo = |gateway: String| {
        let token = token.clone();
        let f = &f;
        async move { f.echo(&gateway, &token).await }
    };
    // A grant made at b's admin API reaches both gateways.
    until_everywhere(&gateways, OK, Duration::from_secs(5), echo).await;

    // A session opened at one gateway continues at the other, and ends everywhere.
    let session = f.open_session(&a.gateway, &token).await;
    let (status, body) = f.echo_in(&b.gateway, &token, &session, "moved").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.to_string().contains("Echo: moved"), "{body}");
    f.end_session(&a.gateway, &token, &session).await;
    let in_session = |gateway: String| {
        let (f, token, session) = (&f, token.clone(), session.clone());
        async move { f.echo_in(&gateway, &token, &session, "after").await }
    };
    until_everywhere(&[&b.gateway], &[404], Duration::from_secs(1), in_session).await;

    // A suspension made at a's admin API stops the agent at every gateway within a second.
    f.write(
        &a.admin,
        &format!("/nhi/agents/{worker}/suspend"),
        json!({"reason": "scale-out test"}),
    )
    .await;
    let took = until_everywhere(&gateways, REFUSED, Duration::from_secs(1), echo).await;
    eprintln!("suspension effective on both gateways after {took:?}");
    f.write(
        &b.admin,
        &format!("/nhi/agents/{worker}/reactivate"),
        json!({"reason": "back"}),
    )
    .await;
    until_everywhere(&gateways, OK, Duration::from_secs(1), echo).await;

    // A grant revoked at b's admin API is gone at every gateway within a second.
    f.write(
        &b.admin,
        &format!("/nhi/agents/{worker}/tools/{}/revoke", f.echo),
        json!({}),
    )
    .await;
    let took = until_everywhere(&gateways, REFUSED, Duration::from_secs(1), echo).await;
    eprintln!("revocation effective on both gateways after {took:?}");
    f.write(
        &a.admin,
        &format!("/nhi/agents/{worker}/tools/{}/grant", f.echo),
        json!({}),
    )
    .await;
    until_everywhere(&gateways, OK, Duration::from_secs(1), echo).await;

    // A lease issued at a's admin API puts the vault's key on the worker's calls to the
    // locked upstream through both gateways; revoked at b's, it is gone at both within a
    // second (the call is refused before anything is sent).
    let locked_echo = f
        .create(
            &a.admin,
            "tools",
            json!({"name": "echo", "upstream": "locked",
            "input_schema": {"type": "object", "properties": {"message": {"type": "string"}},
            "required": ["message"]}}),
        )
        .await;
    f.write(
        &a.admin,
        &format!("/nhi/agents/{worker}/tools/{locked_echo}/grant"),
        json!({}),
    )
    .await;
    let secret = f
        .create(
            &a.admin,
            &format!("{locked_echo}/vault/secrets"),
            json!({
            "name": "locked-key", "secret_value": LOCKED_KEY, "secret_type": "api_key"}),
        )
        .await;
    let lease = f
        .create(
            &a.admin,
            &format!("{locked_echo}/vault/leases"),
            json!({
            "secret_id": secret, "ttl_seconds": 600, "consumer_nhi_id": worker}),
        )
        .await;
    let locked_call = |gateway: String| {
        let (http, token) = (f.http.clone(), token.clone());
        async move {
            post(
                &http,
                &format!("{gateway}/mcp/tools/locked_echo/call"),
                &token,
                json!({"message": "with the key"}),
            )
            .await
        }
    };
    until_everywhere(&gateways, OK, Duration::from_secs(5), locked_call).await;
    let (status, body) = send(
        &f.http,
        reqwest::Method::DELETE,
        &format!("{}/nhi/{locked_echo}/vault/leases/{lease}", b.admin),
        &f.root,
        None,
    )
    .await;
    assert!((200..300).contains(&status), "{status} {body}");
    let took = until_everywhere(&gateways, &[403], Duration::from_secs(1), locked_call).await;
    eprintln!("lease revocation effective on both gateways after {took:?}");
    let (_, body) = locked_call(a.gateway.clone()).await;
    assert_eq!(body["error"], "credential_unavailable", "{body}");

    // An A2A task created through a belongs to its sender at b too: the sender reads it
    // there, another agent of the tenant with its own calling edge does not find it.
    let echo_agent = f
        .create(
            &a.admin,
            "agents",
            json!({"name": "echo", "a2a_upstream": "echo"}),
        )
        .await;
    let (planner, planner_token) = f.agent(&a.admin, "planner", &[]).await;
    let (researcher, researcher_token) = f.agent(&a.admin, "researcher", &[]).await;
    for caller in [&planner, &researcher] {
        f.write(
            &b.admin,
            &format!("/nhi/{caller}/call/{echo_agent}/grant"),
            json!({"permission_type": "calling"}),
        )
        .await;
    }
    let a2a = |gateway: &str, token: &str, method: &str, params: Value| {
        let (http, url, token) = (
            f.http.clone(),
            format!("{gateway}/a2a/{echo_agent}"),
            token.to_owned(),
        );
        let body = json!({"jsonrpc": "2.0", "id": "c-1", "method": method, "params": params});
        async move {
            let resp = http
                .post(url)
                .bearer_auth(token)
                .header("a2a-version", "1.0")
                .json(&body)
                .send()
                .await
                .expect("a2a request");
            (
                resp.status().as_u16(),
                resp.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let list_probe = |gateway: String| a2a(&gateway, &researcher_token, "ListTasks", json!({}));
    until_everywhere(&gateways, OK, Duration::from_secs(5), list_probe).await;
    let (status, created) = a2a(
        &a.gateway,
        &planner_token,
        "SendMessage",
        crate::a2a::send_params("hold"),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let task = created["result"]["task"]["id"]
        .as_str()
        .expect("task id")
        .to_owned();
    let (status, got) = a2a(&b.gateway, &planner_token, "GetTask", json!({"id": task})).await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["result"]["id"], task.as_str(), "{got}");
    let (status, got) = a2a(
        &b.gateway,
        &researcher_token,
        "GetTask",
        json!({"id": task}),
    )
    .await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(
        got["error"]["code"], -32001,
        "not the researcher's task: {got}"
    );

    // Each host follows its own policy directory: a forbid written on a's refuses at a only,
    // then the same written on b's refuses at b too; removing them restores both.
    let freeze = "@id(\"freeze-tools\")\n\
                  forbid (principal, action == Portcullis::Action::\"call_tool\", resource);\n";
    std::fs::write(a.policies.join("freeze.cedar"), freeze).expect("write policy");
    until_everywhere(&[&a.gateway], REFUSED, Duration::from_secs(10), echo).await;
    assert_eq!(
        echo(b.gateway.clone()).await.0,
        200,
        "b's directory did not change"
    );
    std::fs::write(b.policies.join("freeze.cedar"), freeze).expect("write policy");
    until_everywhere(&[&b.gateway], REFUSED, Duration::from_secs(10), echo).await;
    for host in [&a, &b] {
        std::fs::remove_file(host.policies.join("freeze.cedar")).expect("remove policy");
    }
    until_everywhere(&gateways, OK, Duration::from_secs(10), echo).await;
    drop((a.proc, b.proc));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_under_load_fails_closed_and_loses_no_acknowledged_write() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut redis = RedisServer::start_durable(&dir.path().join("redis"));
    let (_sample, sample_port) = start_sample(dir.path()).await;
    let (a, config) = host(dir.path(), "a", sample_port, "", &redis.url).await;
    let (b, _) = host(dir.path(), "b", sample_port, "", &redis.url).await;
    let gateways = [a.gateway.as_str(), b.gateway.as_str()];
    let f = Arc::new(Fixture::new(&a.admin, config).await);

    // steady: no per-NHI limit (nothing shared on its path); limited: a shared bucket;
    // payer: a payment held for an approval, approved before the outage.
    let (steady, steady_token) = f.agent(&a.admin, "steady", &[&f.echo]).await;
    let (limited, limited_token) = f.agent(&a.admin, "limited", &[&f.echo]).await;
    let (_, payer_token) = f.agent(&a.admin, "payer", &[&f.transfer]).await;
    let (outage, outage_token) = f.agent(&a.admin, "outage", &[&f.echo]).await;
    let (status, body) = send(
        &f.http,
        reqwest::Method::PATCH,
        &format!("{}/nhi/agents/{limited}", a.admin),
        &f.root,
        Some(json!({"rate_limit": {"requests": 1000, "per_secs": 1, "burst": 1000}})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    for token in [&steady_token, &limited_token, &outage_token] {
        let probe = |gateway: String| {
            let (f, token) = (f.clone(), token.clone());
            async move { f.echo(&gateway, &token).await }
        };
        until_everywhere(&gateways, OK, Duration::from_secs(5), probe).await;
    }
    let (status, held) = f.pay(&a.gateway, &payer_token).await;
    assert_eq!(status, 403, "{held}");
    let approval = held["approval_id"]
        .as_str()
        .expect("an approval")
        .to_owned();
    f.write(
        &b.admin,
        &format!("/approvals/{approval}/approve"),
        json!({"comment": "checked"}),
    )
    .await;

    // A session of `outage`'s, opened at a, serving at b.
    let session = f.open_session(&a.gateway, &outage_token).await;
    let in_session = |gateway: String| {
        let (f, token, session) = (f.clone(), outage_token.clone(), session.clone());
        async move { f.echo_in(&gateway, &token, &session, "s").await }
    };
    assert_eq!(in_session(b.gateway.clone()).await.0, 200);

    // Load: steady calls through both gateways, and a burst of admin writes through both
    // admin APIs, for the whole test.
    let stop = Arc::new(AtomicBool::new(false));
    let calls = {
        let (f, stop, token) = (f.clone(), stop.clone(), steady_token.clone());
        let gateways = [a.gateway.clone(), b.gateway.clone()];
        tokio::spawn(async move {
            let mut statuses = Vec::new();
            let mut n = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let (status, body) = f.echo(&gateways[n % 2], &token).await;
                statuses.push((Instant::now(), status, body));
                n += 1;
            }
            statuses
        })
    };
    let writes = {
        let (f, stop) = (f.clone(), stop.clone());
        let admins = [a.admin.clone(), b.admin.clone()];
        tokio::spawn(async move {
            let (mut acknowledged, mut refused) = (Vec::new(), 0usize);
            let mut n = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let (status, body) = post(
                    &f.http,
                    &format!("{}/nhi/agents", admins[n % 2]),
                    &f.root,
                    json!({"name": format!("burst-{n}")}),
                )
                .await;
                match status {
                    201 => acknowledged.push(body["id"].as_str().expect("id").to_owned()),
                    503 => refused += 1,
                    other => panic!("an admin write answered {other} {body}"),
                }
                n += 1;
                // A steady stream, not a flood: each write makes every gateway read a new
                // snapshot.
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            (acknowledged, refused)
        })
    };
    tokio::time::sleep(Duration::from_millis(700)).await;

    let down_at = time::OffsetDateTime::now_utc();
    redis.kill();
    let down = Instant::now();
    // Redis is gone: decisions still come from the snapshot; what needs shared state is
    // refused, on both gateways.
    tokio::time::sleep(Duration::from_millis(300)).await;
    for gateway in gateways {
        let asked = Instant::now();
        let (status, body) = f.echo(gateway, &outage_token).await;
        assert_eq!(status, 200, "decided from the snapshot: {body}");
        let (status, body) = f.echo(gateway, &limited_token).await;
        assert_eq!(status, 503, "a shared limit that cannot be counted: {body}");
        let (status, body) = f.pay(gateway, &payer_token).await;
        assert_eq!(status, 503, "an approval that cannot be consumed: {body}");
        let (status, body) = post(
            &f.http,
            &format!("{gateway}/mcp/tools/sample_transfer_funds/call"),
            &payer_token,
            json!({"to": "acme-supplier", "amount": 30_000}),
        )
        .await;
        assert_eq!(status, 503, "an approval that cannot be opened: {body}");
        assert!(
            asked.elapsed() < Duration::from_secs(3),
            "refusals took {:?}: fail closed, not hang",
            asked.elapsed()
        );
    }
    let (status, body) = post(
        &f.http,
        &format!("{}/nhi/agents", b.admin),
        &f.root,
        json!({"name": "during-outage"}),
    )
    .await;
    assert_eq!(
        status, 503,
        "no write is acknowledged without the store: {body}"
    );
    // A session ended at a while Redis is down: refused there at once, and everywhere once
    // Redis is back.
    f.end_session(&a.gateway, &outage_token, &session).await;
    assert_eq!(in_session(a.gateway.clone()).await.0, 404);
    tokio::time::sleep(Duration::from_millis(1500).saturating_sub(down.elapsed())).await;

    let up_at = time::OffsetDateTime::now_utc();
    redis.restart();
    let up = Instant::now();
    // The gateways reconnect: the shared bucket and the approval work again.
    let limited_probe = |gateway: String| {
        let (f, token) = (f.clone(), limited_token.clone());
        async move { f.echo(&gateway, &token).await }
    };
    let took = until_everywhere(&gateways, OK, Duration::from_secs(10), limited_probe).await;
    eprintln!("shared limits counted again {took:?} after the restart");
    let (status, body) = f.pay(&b.gateway, &payer_token).await;
    assert_eq!(status, 200, "the approval survived the restart: {body}");
    let took = until_everywhere(&[&b.gateway], &[404], Duration::from_secs(8), in_session).await;
    eprintln!("the session ended during the outage refused at b after another {took:?}");
    let (status, body) = f.pay(&a.gateway, &payer_token).await;
    assert_eq!(status, 403, "and is spent once: {body}");

    // A change made after the restart reaches both gateways within a couple of seconds
    // (the change feed resubscribes; the revision poll runs every second meanwhile).
    let suspended = Instant::now();
    f.write(
        &b.admin,
        &format!("/nhi/agents/{steady}/suspend"),
        json!({"reason": "after the restart"}),
    )
    .await;
    let steady_probe = |gateway: String| {
        let (f, token) = (f.clone(), steady_token.clone());
        async move { f.echo(&gateway, &token).await }
    };
    let took = until_everywhere(&gateways, REFUSED, Duration::from_secs(3), steady_probe).await;
    eprintln!(
        "a suspension after the restart effective after {took:?} ({:?} after it)",
        up.elapsed()
    );

    stop.store(true, Ordering::Relaxed);
    let statuses = calls.await.expect("load");
    let (acknowledged, refused) = writes.await.expect("writes");
    // Every steady call before the suspension was decided and answered: Redis's outage
    // cost no call that needs only the snapshot.
    let before_suspension: Vec<_> = statuses
        .iter()
        .filter(|(answered, _, _)| *answered < suspended)
        .collect();
    assert!(
        before_suspension.len() > 20,
        "{} calls",
        before_suspension.len()
    );
    let during_outage = before_suspension
        .iter()
        .filter(|(answered, _, _)| *answered > down && *answered < up)
        .count();
    assert!(
        during_outage > 5,
        "{during_outage} calls while Redis was down"
    );
    for (_, status, body) in &before_suspension {
        assert_eq!(*status, 200, "a steady call failed: {body}");
    }
    assert!(refused > 0, "writes during the outage were refused");
    assert!(
        acknowledged.len() > 5,
        "{} writes acknowledged",
        acknowledged.len()
    );
    // No acknowledged write is missing, read through either admin API.
    for (n, id) in acknowledged.iter().enumerate() {
        let admin = if n % 2 == 0 { &a.admin } else { &b.admin };
        let (status, body) = send(
            &f.http,
            reqwest::Method::GET,
            &format!("{admin}/nhi/agents/{id}"),
            &f.root,
            None,
        )
        .await;
        assert_eq!(status, 200, "acknowledged agent {id} lost: {body}");
    }
    // The audit records of the calls `outage` made while Redis was down (one at each gateway)
    // are stored after it returns.
    let rfc3339 = |t: time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .expect("a time")
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("principal", &outage)
            .append_pair("decision", "allow")
            .append_pair("from", &rfc3339(down_at))
            .append_pair("to", &rfc3339(up_at))
            .append_pair("limit", "1000")
            .finish();
        let resp = f
            .http
            .get(format!("{}/audit?{query}", a.admin))
            .bearer_auth(&f.root)
            .send()
            .await
            .expect("audit");
        assert_eq!(resp.status(), 200);
        let page: Value = resp.json().await.expect("audit page");
        let during = page["items"].as_array().expect("items").len();
        if during >= 2 {
            break;
        }
        if Instant::now() >= deadline {
            let (_, all) = send(
                &f.http,
                reqwest::Method::GET,
                &format!("{}/audit?principal={outage}&limit=1000", a.admin),
                &f.root,
                None,
            )
            .await;
            panic!(
                "audit records of the outage ({} to {}) missing: {page}\nall of them: {all}",
                rfc3339(down_at),
                rfc3339(up_at)
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop((a.proc, b.proc));
}
