//! A whole `tools/call` through the gateway's own work, without sockets. Run:
//! `cargo bench -p portcullis-gateway --bench call`.
//!
//! - `cached`: `echo` with a 1 KiB argument, the same call over and over: the decision comes
//!   from the cache (what `loadtest/bench pinned` sends).
//! - `fresh`: `transfer_funds` with a new currency each time (a field the policies read, so
//!   part of the decision's key): every decision is taken anew.
//!
//! Each covers the bearer token, the session id, the strict parse, schema validation, the
//! arguments' hash, the decision, the credential lookup, the upstream request's
//! serialization, the upstream answer's check and re-addressing, and the audit record's
//! serialization; not HTTP parsing, the sockets or the store's write.
#![allow(
    clippy::expect_used,
    reason = "benchmark setup fails loudly on a broken fixture"
)]

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{Criterion, criterion_group, criterion_main};
use portcullis_gateway::{Gateway, GatewayConfig, UpstreamConfig};
use portcullis_identity::TokenKey;
use portcullis_policy::{Engine, EngineConfig};
use portcullis_registry::{
    Agent, AgentFields, Common, DynStore, Nhi, Relation, RelationKind, SqliteStore, Tool,
    ToolFields,
};
use serde_json::{Value, json};

struct Fixture {
    gateway: Gateway,
    authorization: String,
    session: String,
    _dir: tempfile::TempDir,
}

async fn add(store: &DynStore, nhi: Nhi) -> String {
    store
        .insert_nhi(nhi)
        .await
        .expect("insert")
        .id()
        .to_string()
}

fn tool(name: &str, category: &str, schema: Value) -> Nhi {
    Nhi::Tool(Tool {
        common: Common::new("bench", name),
        fields: ToolFields {
            upstream: Some("files".into()),
            category: category.into(),
            input_schema: schema,
            ..ToolFields::default()
        },
    })
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let store: DynStore = Arc::new(SqliteStore::open(&dir.path().join("r.db")).expect("open"));
    let agent = add(
        &store,
        Nhi::Agent(Agent {
            common: Common::new("bench", "bench-agent"),
            fields: AgentFields::default(),
        }),
    )
    .await;
    let echo = add(
        &store,
        tool(
            "echo",
            "utility",
            json!({"type": "object", "properties": {"message": {"type": "string"}},
                   "required": ["message"], "additionalProperties": false}),
        ),
    )
    .await;
    let pay = add(
        &store,
        tool(
            "transfer_funds",
            "payments",
            json!({"type": "object", "properties": {"to": {"type": "string"},
                   "amount": {"type": "integer", "minimum": 1}, "currency": {"type": "string"}},
                   "required": ["to", "amount"], "additionalProperties": false}),
        ),
    )
    .await;
    for t in [&echo, &pay] {
        store
            .put_relation(Relation::new("bench", RelationKind::ToolGrant, &agent, t))
            .await
            .expect("grant");
    }
    let config = GatewayConfig {
        audit_log: portcullis_gateway::AuditSink::Off,
        upstreams: vec![UpstreamConfig {
            name: "files".into(),
            // Never connected to: the benchmark answers in the upstream's place.
            url: "http://127.0.0.1:9/mcp".into(),
            prefix: Some(String::new()),
            connect_timeout_ms: 1000,
            request_timeout_ms: 1000,
            credential: None,
        }],
        ..GatewayConfig::default()
    };
    let policies = Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies");
    let engine = Arc::new(Engine::from_dir(&policies, EngineConfig::default()).expect("policies"));
    let key = TokenKey::new(vec![9; 32], "portcullis", "portcullis");
    let gateway = Gateway::new(
        config,
        engine.clone(),
        key.clone(),
        &[3; 32],
        &prometheus::Registry::new(),
        None,
    )
    .expect("gateway");
    let snapshot = store.snapshot().await.expect("snapshot");
    engine.set_directory(Arc::new(snapshot.to_directory().expect("directory")));
    gateway.install(&snapshot);
    let token = key.issue(&agent, "bench", &[], 3600).expect("token");
    let session = gateway.seal_session("bench", &agent).expect("session");
    Fixture {
        gateway,
        authorization: format!("Bearer {token}"),
        session,
        _dir: dir,
    }
}

/// The upstream's answer: the echo tool's result, under the gateway's id.
fn answer(gid: &Value, sent: &[u8]) -> Vec<u8> {
    let request: Value = serde_json::from_slice(sent).expect("the gateway sent JSON");
    let text = request
        .pointer("/params/arguments")
        .expect("arguments")
        .to_string();
    serde_json::to_vec(&json!({"jsonrpc": "2.0", "id": gid, "result": {
        "content": [{"type": "text", "text": text}], "isError": false}}))
    .expect("answer")
}

fn call(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let f = runtime.block_on(fixture());
    let cached = serde_json::to_vec(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "echo", "arguments": {"message": "x".repeat(1024)}}}))
    .expect("body");
    let run = |body: &[u8]| {
        let reply = runtime
            .block_on(
                f.gateway
                    .call_in_process(&f.authorization, &f.session, body, answer),
            )
            .expect("the call is answered");
        assert!(reply.starts_with(b"{"), "a JSON-RPC reply");
        reply
    };
    let first: Value = serde_json::from_slice(&run(&cached)).expect("reply");
    assert_eq!(
        first.pointer("/result/isError"),
        Some(&json!(false)),
        "{first}"
    );
    c.bench_function("call/cached", |b| {
        b.iter(|| black_box(run(black_box(&cached))))
    });
    let amount = AtomicU64::new(1);
    c.bench_function("call/fresh", |b| {
        b.iter(|| {
            let n = amount.fetch_add(1, Ordering::Relaxed);
            let body = format!(
                r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"transfer_funds","arguments":{{"to":"acct-{n}","amount":{},"currency":"C{n}"}}}}}}"#,
                n % 10_000 + 1
            );
            black_box(run(body.as_bytes()))
        });
    });
}

criterion_group!(benches, call);
criterion_main!(benches);
