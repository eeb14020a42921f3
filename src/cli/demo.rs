//! `portcullis serve --demo`: a throwaway registry, two sample MCP servers (one of them
//! needs an API key only the vault holds), a sample A2A agent, and the calls that show what
//! the gateway does.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use base64::Engine as _;
use portcullis_gateway::{
    A2aUpstreamConfig, AuditSink, CredentialConfig, UpstreamConfig, sample_tools, serve_sample,
    serve_sample_agent, serve_sample_requiring,
};
use portcullis_identity::TokenKey;
use portcullis_registry::{
    Agent, AgentFields, Common, DynStore, Nhi, Relation, RelationKind, Tool, ToolFields,
};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use zeroize::Zeroizing;

use crate::config::{Backend, Config};

const TENANT: &str = "demo";

/// What [`configure`] set up for [`seed`]: the API key the `crm` sample server requires.
pub(crate) struct Upstreams {
    crm_api_key: Zeroizing<String>,
}

/// The seeded principals and the tool behind a vault credential.
pub(crate) struct Seeded {
    assistant: String,
    intern: String,
    researcher: String,
    crm_echo: String,
    crm_api_key: Zeroizing<String>,
}

/// The demo's throwaway data directory (registry, keys, audit log): a new directory under
/// the system's temporary directory, readable by this user only, removed when dropped —
/// after the demo stops, on Ctrl-C or SIGTERM as on an error.
#[derive(Debug)]
pub(crate) struct DemoDir {
    path: PathBuf,
}

impl DemoDir {
    /// Creates `portcullis-demo-<pid>` (or `-<pid>-<n>` when that exists) in the temporary
    /// directory; an existing directory is never reused.
    pub(crate) fn create() -> anyhow::Result<Self> {
        let base = std::env::temp_dir();
        let pid = std::process::id();
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        let mut n = 0u32;
        loop {
            let name = match n {
                0 => format!("portcullis-demo-{pid}"),
                n => format!("portcullis-demo-{pid}-{n}"),
            };
            let path = base.join(name);
            match builder.create(&path) {
                Ok(()) => return Ok(Self { path }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 100 => n += 1,
                Err(e) => anyhow::bail!("cannot create {}: {e}", path.display()),
            }
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for DemoDir {
    fn drop(&mut self) {
        // A writer still finishing (the store's last flush) can add a file while the tree is
        // being removed: try a few times.
        let mut tries = 0;
        loop {
            match std::fs::remove_dir_all(&self.path) {
                Ok(()) => {
                    tracing::info!(dir = %self.path.display(), "demo data removed");
                    return;
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
                Err(e) if tries < 5 => {
                    tracing::debug!("removing {} again: {e}", self.path.display());
                    tries += 1;
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(e) => {
                    tracing::warn!("cannot remove the demo data {}: {e}", self.path.display());
                    return;
                }
            }
        }
    }
}

/// Points the configuration at the demo's data directory `dir`, a vault key made for it,
/// audit lines in a file there (unless the configuration names a sink), and two sample MCP
/// servers: `demo`, and `crm`, which refuses requests without its API key.
pub(crate) async fn configure(config: &mut Config, dir: &Path) -> anyhow::Result<Upstreams> {
    config.data_dir = dir.to_path_buf();
    config.store.backend = Backend::Sqlite;
    config.store.sqlite_path = None;
    config.auth.signing_key_file = None;
    config.auth.agent_key_file = None;
    config.gateway.session_key_file = None;
    // The held payment answers at once (a served gateway waits `approvals.hold_ms` first).
    config.approvals.hold_ms = 0;
    config.gateway.approvals.hold_ms = 0;
    let keys = dir.join("vault.keys");
    let line = portcullis_vault::MasterKeys::new_key_line("demo")?;
    std::fs::write(&keys, format!("{}\n", *line))
        .with_context(|| format!("cannot write {}", keys.display()))?;
    config.vault.master_key_file = Some(keys);
    let crm_api_key = portcullis_identity::new_client_secret();
    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    let sample = serve_sample(loopback).await?;
    let crm = serve_sample_requiring(loopback, Some(crm_api_key.to_string())).await?;
    let upstream = |name: &str, addr: SocketAddr| UpstreamConfig {
        name: name.into(),
        url: format!("http://{addr}/mcp"),
        prefix: None,
        connect_timeout_ms: 1_000,
        request_timeout_ms: 10_000,
        credential: None,
    };
    let mut crm = upstream("crm", crm);
    crm.credential = Some(CredentialConfig {
        secret: "crm-api-key".into(),
        header: "x-api-key".into(),
        format: "{secret}".into(),
    });
    config.gateway.upstreams = vec![upstream("demo", sample), crm];
    let agents = serve_sample_agent(loopback).await?;
    config.gateway.a2a_upstreams = vec![A2aUpstreamConfig {
        name: "agents".into(),
        url: format!("http://{agents}/"),
        card_url: None,
        connect_timeout_ms: 1_000,
        request_timeout_ms: 10_000,
        credential: None,
    }];
    Ok(Upstreams { crm_api_key })
}

/// Registers two agents, the sample server's tools (plus one nobody is granted) and `crm`'s
/// echo, granted to both agents.
pub(crate) async fn seed(store: &DynStore, upstreams: Upstreams) -> anyhow::Result<Seeded> {
    let mut tools = Vec::new();
    let categories = [
        ("echo", "utility"),
        ("add", "math"),
        ("transfer_funds", "payments"),
    ];
    let tool = |name: &str, description: &str, schema: Value, upstream: &str| {
        let mut common = Common::new(TENANT, name);
        description.clone_into(&mut common.description);
        let category = categories
            .iter()
            .find(|(n, _)| *n == name)
            .map_or("", |(_, c)| c);
        Nhi::Tool(Tool {
            common,
            fields: ToolFields {
                category: category.to_owned(),
                input_schema: schema,
                upstream: Some(upstream.into()),
                ..ToolFields::default()
            },
        })
    };
    for (name, description, schema) in sample_tools() {
        let record = tool(name, description, schema, "demo");
        tools.push(store.insert_nhi(record).await?.id().to_string());
    }
    let wipe = tool(
        "delete_everything",
        "Registered, granted to no one",
        json!({"type": "object"}),
        "demo",
    );
    store.insert_nhi(wipe).await?;
    let (_, description, schema) = sample_tools()
        .into_iter()
        .find(|(n, _, _)| *n == "echo")
        .context("the sample server has an echo tool")?;
    let crm_echo = store
        .insert_nhi(tool("echo", description, schema, "crm"))
        .await?
        .id()
        .to_string();
    let agent = |name: &str| {
        Nhi::Agent(Agent {
            common: Common::new(TENANT, name),
            fields: AgentFields::default(),
        })
    };
    let assistant = store.insert_nhi(agent("assistant")).await?.id().to_string();
    let intern = store.insert_nhi(agent("intern")).await?.id().to_string();
    // An agent others hand tasks to, served by the sample A2A agent; only assistant may.
    let mut researcher = agent("researcher");
    if let Nhi::Agent(a) = &mut researcher {
        a.fields.a2a_upstream = Some("agents".into());
        "Answers research tasks".clone_into(&mut a.common.description);
    }
    let researcher = store.insert_nhi(researcher).await?.id().to_string();
    store
        .put_relation(Relation::new(
            TENANT,
            RelationKind::Calling,
            &assistant,
            &researcher,
        ))
        .await?;
    let mut grants: Vec<(&String, &String)> = tools.iter().map(|t| (&assistant, t)).collect();
    grants.push((&assistant, &crm_echo));
    grants.push((&intern, &crm_echo));
    if let Some(echo) = tools.first() {
        grants.push((&intern, echo));
    }
    for (agent, tool) in grants {
        store
            .put_relation(Relation::new(TENANT, RelationKind::ToolGrant, agent, tool))
            .await?;
    }
    Ok(Seeded {
        assistant,
        intern,
        researcher,
        crm_echo,
        crm_api_key: upstreams.crm_api_key,
    })
}

/// Where the demo's things are: its gateway and admin API, its data, its audit lines.
pub(crate) struct Places<'a> {
    pub(crate) gateway: SocketAddr,
    pub(crate) admin: SocketAddr,
    pub(crate) dir: &'a Path,
    pub(crate) audit: &'a AuditSink,
}

/// Makes the calls and prints what happened, then the commands to try more.
pub(crate) async fn show(
    seeded: &Seeded,
    tokens: &TokenKey,
    places: &Places<'_>,
) -> anyhow::Result<()> {
    let (gateway, admin) = (places.gateway, places.admin);
    let assistant = tokens.issue(&seeded.assistant, TENANT, &[], 24 * 3600)?;
    let intern = tokens.issue(&seeded.intern, TENANT, &[], 24 * 3600)?;
    let admin_token = tokens.issue("demo-admin", TENANT, &["admin".into()], 24 * 3600)?;
    let calls = [
        (
            "an allowed call: assistant echoes",
            &assistant,
            "demo_echo",
            r#"{"message":"hello"}"#,
        ),
        (
            "a denied call: intern may not add (it looks unknown)",
            &intern,
            "demo_add",
            r#"{"a":1,"b":2}"#,
        ),
        (
            "a schema rejection: `a` must be a number",
            &assistant,
            "demo_add",
            r#"{"a":"one","b":2}"#,
        ),
        (
            "an approval: transfers over 10000 need a human",
            &assistant,
            "demo_transfer_funds",
            r#"{"to":"acme-supplier","amount":25000}"#,
        ),
    ];
    println!("\nPortcullis demo — MCP gateway http://{gateway}/mcp, admin API http://{admin}");
    println!(
        "Throwaway data (registry, keys), removed when the demo stops: {}",
        places.dir.display()
    );
    println!(
        "Audit lines, one JSON object per request: {}\n",
        super::serve::audit_summary(places.audit)
    );
    let mut held = None;
    for (what, token, tool, args) in calls {
        let (status, body) = call(gateway, token, tool, args).await?;
        println!("{what}\n  POST /mcp/tools/{tool}/call {args}\n  -> {status} {body}\n");
        if let Some(id) = serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|b| b.get("approval_id")?.as_str().map(str::to_owned))
        {
            held = Some((id, tool, args));
        }
    }

    // A2A: assistant may hand researcher a task (a calling edge); intern may not.
    let task =
        json!({"agent": seeded.researcher, "message": "summarise the Q3 report"}).to_string();
    let a2a = [
        (
            "an agent-to-agent task: assistant asks researcher (A2A)",
            &assistant,
        ),
        (
            "a refused task: intern has no calling edge to researcher (it looks unknown)",
            &intern,
        ),
    ];
    for (what, token) in a2a {
        let bearer = format!("Bearer {token}");
        let (status, body) = request(
            gateway,
            "POST",
            "/a2a/tasks",
            &[
                ("authorization", &bearer),
                ("content-type", "application/json"),
            ],
            &task,
        )
        .await?;
        println!("{what}\n  POST /a2a/tasks {task}\n  -> {status} {body}\n");
    }

    // The vault: `crm` needs an API key. The admin stores it and leases it to assistant;
    // the gateway presents it upstream for assistant's calls only.
    let bearer = format!("Bearer {admin_token}");
    let (status, secret) = request(
        admin,
        "POST",
        &format!("/nhi/{}/vault/secrets", seeded.crm_echo),
        &[("authorization", &bearer), ("content-type", "application/json")],
        &json!({"name": "crm-api-key", "secret_value": *seeded.crm_api_key, "secret_type": "api_key"})
            .to_string(),
    )
    .await?;
    anyhow::ensure!(status == 201, "storing the demo secret: {status} {secret}");
    let secret_id = serde_json::from_str::<Value>(&secret)?
        .get("id")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .context("the stored secret has an id")?;
    println!(
        "the vault: the admin stores crm's API key (answered with metadata only)\n  POST /nhi/<crm_echo>/vault/secrets\n  -> {status} {secret}\n"
    );
    let lease =
        json!({"secret_id": secret_id, "ttl_seconds": 3600, "consumer_nhi_id": seeded.assistant});
    let (status, body) = request(
        admin,
        "POST",
        &format!("/nhi/{}/vault/leases", seeded.crm_echo),
        &[
            ("authorization", &bearer),
            ("content-type", "application/json"),
        ],
        &lease.to_string(),
    )
    .await?;
    anyhow::ensure!(status == 201, "leasing the demo secret: {status} {body}");
    println!(
        "and leases it to assistant for an hour\n  POST /nhi/<crm_echo>/vault/leases\n  -> {status} {body}\n"
    );

    // The assistant gets its own 5-minute token at the token endpoint.
    let (_, issued) = request(
        admin,
        "POST",
        &format!("/nhi/{}/client-credentials/secret", seeded.assistant),
        &[("authorization", &bearer)],
        "",
    )
    .await?;
    let client_secret = serde_json::from_str::<Value>(&issued)?
        .get("client_secret")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .context("a client secret")?;
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{client_secret}", seeded.assistant))
    );
    // The registry change reaches the gateway a moment after the admin's writes.
    let deadline = Instant::now() + Duration::from_secs(5);
    let (status, body) = loop {
        let answer = request(
            gateway,
            "POST",
            "/oauth/token",
            &[
                ("authorization", &basic),
                ("content-type", "application/x-www-form-urlencoded"),
            ],
            "grant_type=client_credentials",
        )
        .await?;
        if answer.0 == 200 || Instant::now() > deadline {
            break answer;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let agent_token = serde_json::from_str::<Value>(&body)
        .ok()
        .and_then(|b| b.get("access_token")?.as_str().map(str::to_owned))
        .unwrap_or_default();
    println!(
        "an agent token: assistant authenticates with its client secret\n  POST /oauth/token grant_type=client_credentials\n  -> {status} {}\n",
        shorten(&body)
    );
    let crm_calls = [
        (
            "a brokered credential: assistant calls crm, which accepts only the vault's key",
            &agent_token,
        ),
        (
            "no lease, no credential: intern is granted crm_echo but holds no lease",
            &intern,
        ),
    ];
    for (what, token) in crm_calls {
        let args = r#"{"message":"from the vault"}"#;
        let (status, body) = call(gateway, token, "crm_echo", args).await?;
        println!("{what}\n  POST /mcp/tools/crm_echo/call {args}\n  -> {status} {body}\n");
    }

    println!("Tokens (24 h):\n  ASSISTANT={assistant}\n  INTERN={intern}\n  ADMIN={admin_token}\n");
    println!(
        "assistant's client credentials:\n  CLIENT_ID={}\n  CLIENT_SECRET={client_secret}\n",
        seeded.assistant
    );
    println!("Try it:");
    println!(
        "  curl -s -XPOST http://{gateway}/mcp/tools/demo_add/call -H \"Authorization: Bearer $ASSISTANT\" -H 'Content-Type: application/json' -d '{{\"a\":2,\"b\":3}}'"
    );
    println!("  curl -s http://{gateway}/mcp/tools -H \"Authorization: Bearer $INTERN\"");
    println!(
        "  curl -s http://{gateway}/.well-known/agents/{}",
        seeded.researcher
    );
    println!("  curl -s http://{gateway}/a2a/tasks -H \"Authorization: Bearer $ASSISTANT\"");
    println!(
        "  curl -s -XPOST http://{gateway}/oauth/token -u \"$CLIENT_ID:$CLIENT_SECRET\" -d grant_type=client_credentials"
    );
    println!(
        "  curl -si -XPOST http://{gateway}/mcp -H \"Authorization: Bearer $ASSISTANT\" -H 'Content-Type: application/json' -d '{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{{}},\"clientInfo\":{{\"name\":\"curl\",\"version\":\"1\"}}}}}}'"
    );
    println!("  curl -s http://{admin}/nhi/agents -H \"Authorization: Bearer $ADMIN\"");
    println!("\nThe web console: http://{admin}/ (sign in with the ADMIN token above)");
    if let Some((id, tool, args)) = held {
        println!("\nApprove the held payment (a person with the admin role), then retry it once:");
        println!("  curl -s http://{admin}/approvals/{id} -H \"Authorization: Bearer $ADMIN\"");
        println!(
            "  curl -s -XPOST http://{admin}/approvals/{id}/approve -H \"Authorization: Bearer $ADMIN\" -H 'Content-Type: application/json' -d '{{\"comment\":\"invoice checked\"}}'"
        );
        println!(
            "  curl -s -XPOST http://{gateway}/mcp/tools/{tool}/call -H \"Authorization: Bearer $ASSISTANT\" -H 'Content-Type: application/json' -d '{args}'"
        );
    }
    println!("\nCtrl-C stops the demo.\n");
    Ok(())
}

/// A token answer with the token itself cut short (it is printed in full further down only
/// for the longer-lived demo tokens).
fn shorten(body: &str) -> String {
    match serde_json::from_str::<Value>(body) {
        Ok(mut v) => {
            if let Some(token) = v.get_mut("access_token")
                && let Some(text) = token.as_str()
            {
                *token = Value::String(format!("{}…", text.chars().take(16).collect::<String>()));
            }
            v.to_string()
        }
        Err(_) => body.to_owned(),
    }
}

/// A tools/call on the gateway's REST face.
async fn call(
    gateway: SocketAddr,
    token: &str,
    tool: &str,
    args: &str,
) -> anyhow::Result<(u16, String)> {
    let bearer = format!("Bearer {token}");
    request(
        gateway,
        "POST",
        &format!("/mcp/tools/{tool}/call"),
        &[
            ("authorization", &bearer),
            ("content-type", "application/json"),
        ],
        args,
    )
    .await
}

/// A minimal HTTP/1.1 request over loopback (the demo talks to itself).
async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> anyhow::Result<(u16, String)> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ));
    stream.write_all(request.as_bytes()).await?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    let text = String::from_utf8_lossy(&raw);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .trim()
        .to_owned();
    Ok((status, body))
}
