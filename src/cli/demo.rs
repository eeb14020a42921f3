//! `portcullis serve --demo`: a throwaway registry, a sample MCP server, and four calls that
//! show what the gateway does.

use std::net::SocketAddr;

use anyhow::Context as _;
use portcullis_gateway::{UpstreamConfig, sample_tools, serve_sample};
use portcullis_identity::TokenKey;
use portcullis_registry::{
    Agent, AgentFields, Common, DynStore, Nhi, Relation, RelationKind, Tool, ToolFields,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::config::{Backend, Config};

const TENANT: &str = "demo";

/// The seeded principals.
pub(crate) struct Seeded {
    assistant: String,
    intern: String,
}

/// Points the configuration at a fresh data directory and a sample MCP server.
pub(crate) async fn configure(config: &mut Config) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("portcullis-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    config.data_dir = dir;
    config.store.backend = Backend::Sqlite;
    config.store.sqlite_path = None;
    config.auth.signing_key_file = None;
    config.gateway.session_key_file = None;
    let sample = serve_sample(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    config.gateway.upstreams = vec![UpstreamConfig {
        name: "demo".into(),
        url: format!("http://{sample}/mcp"),
        prefix: None,
        connect_timeout_ms: 1_000,
        request_timeout_ms: 10_000,
        credential: None,
    }];
    Ok(())
}

/// Registers two agents and the sample server's tools (plus one nobody is granted).
pub(crate) async fn seed(store: &DynStore) -> anyhow::Result<Seeded> {
    let mut tools = Vec::new();
    let categories = [
        ("echo", "utility"),
        ("add", "math"),
        ("transfer_funds", "payments"),
    ];
    for (name, description, schema) in sample_tools() {
        let mut common = Common::new(TENANT, name);
        common.description = description.to_owned();
        let category = categories
            .iter()
            .find(|(n, _)| *n == name)
            .map_or("", |(_, c)| c);
        let fields = ToolFields {
            category: category.to_owned(),
            input_schema: schema,
            upstream: Some("demo".into()),
            ..ToolFields::default()
        };
        tools.push(
            store
                .insert_nhi(Nhi::Tool(Tool { common, fields }))
                .await?
                .id()
                .to_string(),
        );
    }
    let mut wipe = Common::new(TENANT, "delete_everything");
    wipe.description = "Registered, granted to no one".into();
    let fields = ToolFields {
        upstream: Some("demo".into()),
        ..ToolFields::default()
    };
    store
        .insert_nhi(Nhi::Tool(Tool {
            common: wipe,
            fields,
        }))
        .await?;
    let agent = |name: &str| {
        Nhi::Agent(Agent {
            common: Common::new(TENANT, name),
            fields: AgentFields::default(),
        })
    };
    let assistant = store.insert_nhi(agent("assistant")).await?.id().to_string();
    let intern = store.insert_nhi(agent("intern")).await?.id().to_string();
    for tool in &tools {
        store
            .put_relation(Relation::new(
                TENANT,
                RelationKind::ToolGrant,
                &assistant,
                tool,
            ))
            .await?;
    }
    if let Some(echo) = tools.first() {
        store
            .put_relation(Relation::new(
                TENANT,
                RelationKind::ToolGrant,
                &intern,
                echo,
            ))
            .await?;
    }
    Ok(Seeded { assistant, intern })
}

/// Makes the four calls and prints what happened, then the commands to try more.
pub(crate) async fn show(
    seeded: &Seeded,
    tokens: &TokenKey,
    gateway: SocketAddr,
    admin: SocketAddr,
) -> anyhow::Result<()> {
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
    println!("\nPortcullis demo — MCP gateway http://{gateway}/mcp, admin API http://{admin}\n");
    for (what, token, tool, args) in calls {
        let (status, body) = post(gateway, &format!("/mcp/tools/{tool}/call"), token, args).await?;
        println!("{what}\n  POST /mcp/tools/{tool}/call {args}\n  -> {status} {body}\n");
    }
    println!("Tokens (24 h):\n  ASSISTANT={assistant}\n  INTERN={intern}\n  ADMIN={admin_token}\n");
    println!("Try it:");
    println!(
        "  curl -s -XPOST http://{gateway}/mcp/tools/demo_add/call -H \"Authorization: Bearer $ASSISTANT\" -H 'Content-Type: application/json' -d '{{\"a\":2,\"b\":3}}'"
    );
    println!("  curl -s http://{gateway}/mcp/tools -H \"Authorization: Bearer $INTERN\"");
    println!(
        "  curl -si -XPOST http://{gateway}/mcp -H \"Authorization: Bearer $ASSISTANT\" -H 'Content-Type: application/json' -d '{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{{}},\"clientInfo\":{{\"name\":\"curl\",\"version\":\"1\"}}}}}}'"
    );
    println!("  curl -s http://{admin}/nhi/agents -H \"Authorization: Bearer $ADMIN\"");
    println!("\nCtrl-C stops the demo.\n");
    Ok(())
}

/// A minimal HTTP/1.1 POST over loopback (the demo talks to itself).
async fn post(
    addr: SocketAddr,
    path: &str,
    token: &str,
    body: &str,
) -> anyhow::Result<(u16, String)> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
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
