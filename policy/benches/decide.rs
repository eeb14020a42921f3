//! Decision-path benchmarks. Run: `cargo bench -p portcullis-policy --bench decide`.
//!
//! - `cached_hit`: a repeated request, answered from the decision cache.
//! - `uncached/shipped`: the shipped policy set (~15 policies), no cache.
//! - `uncached/1k_policies`: 1,000 extra scoped policies (per tool, per agent, per tenant).
//! - `uncached/1k_policies_100k_agents`: the same over a registry of 100,000 agents.
//! - `flat_cedar/1k_policies`: Cedar alone over the same 1,000+ policies as one flat set,
//!   inputs prebuilt: what the index saves.
#![allow(
    clippy::expect_used,
    reason = "benchmark setup fails loudly on a broken fixture"
)]

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use portcullis_policy::{
    Action, Agent, Directory, Engine, EngineConfig, EntityRef, Lifecycle, McpServer, Request,
    Tenant, Tool,
};

const TENANTS: usize = 50;
const TOOLS: usize = 400;

fn shipped() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies")
}

/// The shipped policies plus `extra` generated ones, in a temporary directory.
fn policy_dir(extra: usize) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut pending = vec![(shipped(), tmp.path().to_path_buf())];
    while let Some((from, to)) = pending.pop() {
        std::fs::create_dir_all(&to).expect("mkdir");
        for entry in std::fs::read_dir(&from).expect("read_dir") {
            let entry = entry.expect("entry");
            if entry.file_type().expect("type").is_dir() {
                pending.push((entry.path(), to.join(entry.file_name())));
            } else {
                std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
            }
        }
    }
    let mut text = String::new();
    for i in 0..extra {
        let policy = match i % 5 {
            // Per-tool argument limits.
            0 | 1 => format!(
                "@id(\"tool-limit-{i}\")\nforbid (principal, action == Portcullis::Action::\"call_tool\", resource == Portcullis::Tool::\"tool-{}\")\nwhen {{ context.arguments has amount && context.arguments.amount > {} }};\n",
                i % TOOLS,
                1000 + i
            ),
            // Per-agent restrictions.
            2 | 3 => format!(
                "@id(\"agent-rule-{i}\")\nforbid (principal == Portcullis::Agent::\"agent-{i}\", action == Portcullis::Action::\"call_tool\", resource)\nwhen {{ resource.risk_score > 90 }};\n"
            ),
            // Per-tenant rules.
            _ => format!(
                "@id(\"tenant-rule-{i}\")\nforbid (principal in Portcullis::Tenant::\"tenant-{}\", action == Portcullis::Action::\"call_tool\", resource)\nwhen {{ resource.annotations.destructive && !context.approval.approved }};\n",
                i % TENANTS
            ),
        };
        text.push_str(&policy);
    }
    std::fs::write(tmp.path().join("generated.cedar"), text).expect("write");
    tmp
}

fn tool(i: usize) -> Tool {
    Tool {
        id: format!("tool-{i}"),
        tenant: format!("tenant-{}", i % TENANTS),
        server: format!("server-{}", i % 10),
        name: format!("tool_{i}"),
        lifecycle: Lifecycle::Active,
        category: "filesystem".into(),
        risk_level: Default::default(),
        risk_score: None,
        requires_approval: false,
        annotations: Default::default(),
    }
}

/// A registry of `agents` agents spread over the tenants, each granted a few tools.
fn directory(agents: usize) -> Directory {
    let mut b = Directory::builder(1);
    for t in 0..TENANTS {
        b.tenant(&Tenant {
            id: format!("tenant-{t}"),
        })
        .expect("tenant");
    }
    for s in 0..10 {
        b.server(&McpServer {
            id: format!("server-{s}"),
            name: format!("server {s}"),
        })
        .expect("server");
    }
    for i in 0..TOOLS {
        b.tool(&tool(i)).expect("tool");
    }
    for i in 0..agents {
        let tenant = i % TENANTS;
        // Tools of the agent's own tenant: tool ids congruent to the tenant.
        let tools = (0..4)
            .map(|k| format!("tool-{}", tenant + TENANTS * ((i + k) % (TOOLS / TENANTS))))
            .collect();
        b.agent(&Agent {
            id: format!("agent-{i}"),
            tenant: format!("tenant-{tenant}"),
            name: format!("agent {i}"),
            owner: None,
            lifecycle: Lifecycle::Active,
            risk_level: Default::default(),
            risk_score: None,
            agent_type: "assistant".into(),
            requires_human_approval: false,
            max_delegation_depth: 1,
            tools,
            can_call: vec![],
            can_delegate_to: vec![],
        })
        .expect("agent");
    }
    b.build()
}

/// An allowed call of agent `i` (its first granted tool).
fn request(i: usize, amount: i64) -> Request {
    let tenant = i % TENANTS;
    let tool = tenant + TENANTS * (i % (TOOLS / TENANTS));
    let mut r = Request::new(
        format!("tenant-{tenant}"),
        EntityRef::agent(format!("agent-{i}")),
        Action::CallTool,
        EntityRef::tool(format!("tool-{tool}")),
    );
    r.arguments.insert("amount".into(), amount.into());
    r.arguments
        .insert("path".into(), "/srv/data/report.csv".into());
    r
}

fn engine(extra_policies: usize, agents: usize) -> (Engine, tempfile::TempDir) {
    let dir = policy_dir(extra_policies);
    let engine = Engine::from_dir(dir.path(), EngineConfig::default()).expect("policies load");
    let start = Instant::now();
    let directory = directory(agents);
    eprintln!(
        "directory of {agents} agents ({} entities) built in {:?}; {} policies",
        directory.len(),
        start.elapsed(),
        engine.with_bundle(|b| b.len())
    );
    engine.set_directory(Arc::new(directory));
    (engine, dir)
}

fn benches(c: &mut Criterion) {
    let (small, _d1) = engine(0, 1_000);
    let hit = request(7, 10);
    assert!(
        small.decide(&hit).allow,
        "the benchmark request is an allowed call"
    );
    c.bench_function("cached_hit", |b| {
        b.iter(|| black_box(small.decide(black_box(&hit))))
    });

    let mut group = c.benchmark_group("uncached");
    group.bench_function("shipped", |b| {
        b.iter(|| black_box(small.decide_uncached(black_box(&hit))))
    });
    let (big, _d2) = engine(1_000, 1_000);
    assert!(big.decide_uncached(&hit).allow);
    group.bench_function("1k_policies", |b| {
        b.iter(|| black_box(big.decide_uncached(black_box(&hit))))
    });
    let (huge, _d3) = engine(1_000, 100_000);
    // The same request shape as above (tenant 7, a tool with no per-tool rules), by an agent
    // near the end of a registry a hundred times larger: only the registry size differs.
    let far = request(99_957, 10);
    assert!(huge.decide_uncached(&far).allow);
    group.bench_function("1k_policies_100k_agents", |b| {
        b.iter(|| black_box(huge.decide_uncached(black_box(&far))))
    });
    // Distinct arguments every time, through the cache: what a stream of fresh calls costs.
    let mut n = 0_i64;
    group.bench_function("1k_policies_100k_agents_cache_miss", |b| {
        b.iter(|| {
            n += 1;
            black_box(huge.decide(&request(99_957, n)))
        })
    });
    group.finish();

    flat_cedar(c);
}

/// Cedar alone, one flat set of the same policies, every input prebuilt.
fn flat_cedar(c: &mut Criterion) {
    use cedar_policy::{Authorizer, Context, Entities, PolicySet, Request as CedarRequest};
    use std::str::FromStr;
    let dir = policy_dir(1_000);
    let mut text = String::new();
    for entry in walk(dir.path()) {
        text.push_str(&std::fs::read_to_string(entry).expect("read"));
        text.push('\n');
    }
    let set = PolicySet::from_str(&text).expect("parse");
    let schema_text =
        std::fs::read_to_string(dir.path().join("portcullis.cedarschema")).expect("schema");
    let (schema, _) = cedar_policy::Schema::from_cedarschema_str(&schema_text).expect("schema");
    let entities = Entities::from_json_value(
        serde_json::json!([
            {"uid": {"type": "Portcullis::Agent", "id": "agent-7"}, "parents": [{"type": "Portcullis::Tenant", "id": "tenant-7"}],
             "attrs": {"name": "a", "lifecycle": {"__entity": {"type": "Portcullis::Lifecycle", "id": "active"}},
                       "risk_level": {"__entity": {"type": "Portcullis::RiskLevel", "id": "low"}}, "risk_score": 25,
                       "agent_type": "assistant", "requires_human_approval": false, "max_delegation_depth": 1,
                       "tools": [{"__entity": {"type": "Portcullis::Tool", "id": "tool-357"}}], "can_call": [], "can_delegate_to": []}},
            {"uid": {"type": "Portcullis::Tool", "id": "tool-357"}, "parents": [{"type": "Portcullis::Tenant", "id": "tenant-7"}, {"type": "Portcullis::McpServer", "id": "server-7"}],
             "attrs": {"name": "t", "lifecycle": {"__entity": {"type": "Portcullis::Lifecycle", "id": "active"}}, "category": "filesystem",
                       "risk_level": {"__entity": {"type": "Portcullis::RiskLevel", "id": "low"}}, "risk_score": 25, "requires_approval": false,
                       "annotations": {"read_only": false, "destructive": false, "idempotent": false, "open_world": false}}}
        ]),
        Some(&schema),
    )
    .expect("entities");
    let context = Context::from_json_value(
        serde_json::json!({
            "tenant": {"__entity": {"type": "Portcullis::Tenant", "id": "tenant-7"}},
            "input_valid": true, "arguments": {"amount": 10},
            "delegation": {"depth": 0, "chain": []}, "approval": {"approved": false}
        }),
        None,
    )
    .expect("context");
    let request = CedarRequest::new(
        "Portcullis::Agent::\"agent-7\"".parse().expect("uid"),
        "Portcullis::Action::\"call_tool\"".parse().expect("uid"),
        "Portcullis::Tool::\"tool-357\"".parse().expect("uid"),
        context,
        Some(&schema),
    )
    .expect("request");
    let authorizer = Authorizer::new();
    assert_eq!(
        authorizer
            .is_authorized(&request, &set, &entities)
            .decision(),
        cedar_policy::Decision::Allow
    );
    c.bench_function("flat_cedar/1k_policies", |b| {
        b.iter(|| black_box(authorizer.is_authorized(&request, &set, &entities)))
    });
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(d).expect("read_dir").flatten() {
            let p = entry.path();
            if p.is_dir() {
                pending.push(p);
            } else if p.extension().is_some_and(|e| e == "cedar") {
                out.push(p);
            }
        }
    }
    out
}

criterion_group! {
    name = decide;
    config = Criterion::default().sample_size(50);
    targets = benches
}
criterion_main!(decide);
