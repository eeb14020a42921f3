use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{Engine, EngineConfig};
use crate::entities::{Agent, Directory, Lifecycle, McpServer, Tenant, Tool, User};
use crate::load::PolicyBundle;
use crate::request::{Action, EntityKind, EntityRef, Request};
use crate::tenant::user_entity_id;

fn shipped() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies")
}

fn copy_policies(to: &Path) {
    let mut pending = vec![(shipped(), to.to_path_buf())];
    while let Some((from, to)) = pending.pop() {
        std::fs::create_dir_all(&to).expect("mkdir");
        for entry in std::fs::read_dir(&from).expect("read_dir") {
            let entry = entry.expect("entry");
            let target = to.join(entry.file_name());
            if entry.file_type().expect("type").is_dir() {
                pending.push((entry.path(), target));
            } else {
                std::fs::copy(entry.path(), target).expect("copy");
            }
        }
    }
}

fn directory(revision: u64, reader_lifecycle: Lifecycle) -> Arc<Directory> {
    let mut b = Directory::builder(revision);
    b.tenant(&Tenant { id: "acme".into() }).expect("tenant");
    b.server(&McpServer {
        id: "files".into(),
        name: "files".into(),
    })
    .expect("server");
    for id in ["read_file", "write_file"] {
        b.tool(&Tool {
            id: id.into(),
            tenant: "acme".into(),
            server: "files".into(),
            name: id.into(),
            lifecycle: Lifecycle::Active,
            category: "filesystem".into(),
            risk_level: Default::default(),
            risk_score: None,
            requires_approval: false,
            annotations: Default::default(),
        })
        .expect("tool");
    }
    b.agent(&Agent {
        id: "reader".into(),
        tenant: "acme".into(),
        name: "reader".into(),
        owner: None,
        lifecycle: reader_lifecycle,
        risk_level: Default::default(),
        risk_score: None,
        agent_type: "assistant".into(),
        requires_human_approval: false,
        max_delegation_depth: 0,
        tools: vec!["read_file".into()],
        can_call: vec![],
        can_delegate_to: vec![],
    })
    .expect("agent");
    Arc::new(b.build())
}

fn call(tool: &str) -> Request {
    Request::new(
        "acme",
        EntityRef::agent("reader"),
        Action::CallTool,
        EntityRef::tool(tool),
    )
}

fn engine_over(dir: &Path) -> Engine {
    let engine = Engine::from_dir(dir, EngineConfig::default()).expect("policies load");
    engine.set_directory(directory(1, Lifecycle::Active));
    engine
}

#[test]
fn cache_counts_hits_and_misses() {
    let engine = engine_over(&shipped());
    assert!(engine.decide(&call("read_file")).allow);
    assert!(engine.decide(&call("read_file")).allow);
    assert!(!engine.decide(&call("write_file")).allow);
    let stats = engine.cache_stats();
    assert_eq!((stats.hits, stats.misses), (1, 2));
    assert_eq!(stats.entries, 2, "two distinct decisions kept");
}

#[test]
fn undeclared_arguments_share_a_cache_entry_and_declared_ones_do_not() {
    let engine = engine_over(&shipped());
    let mut a = call("read_file");
    a.arguments.insert("path".into(), "/a".into());
    let mut b = call("read_file");
    b.arguments.insert("path".into(), "/b".into());
    engine.decide(&a);
    engine.decide(&b);
    assert_eq!(
        engine.cache_stats().hits,
        1,
        "`path` is not read by any policy"
    );
    let mut c = call("read_file");
    c.arguments.insert("amount".into(), 5.into());
    engine.decide(&c);
    assert_eq!(
        engine.cache_stats().misses,
        2,
        "`amount` is declared, so it keys the cache"
    );
}

#[test]
fn a_registry_revision_makes_cached_decisions_unreachable() {
    let engine = engine_over(&shipped());
    assert!(engine.decide(&call("read_file")).allow);
    engine.set_directory(directory(2, Lifecycle::Suspended));
    let after = engine.decide(&call("read_file"));
    assert!(!after.allow);
    assert_eq!(after.reasons, vec!["principal-not-active".to_owned()]);
}

#[test]
fn a_reload_makes_cached_decisions_unreachable() {
    let tmp = tempfile::tempdir().expect("tempdir");
    copy_policies(tmp.path());
    let engine = engine_over(tmp.path());
    assert!(engine.decide(&call("read_file")).allow);
    std::fs::write(
        tmp.path().join("grants/no-files.cedar"),
        "@id(\"no-files\")\nforbid (principal, action, resource in Portcullis::McpServer::\"files\");\n",
    )
    .expect("write");
    let epoch = engine.reload(tmp.path()).expect("valid reload");
    assert_eq!(engine.epoch(), epoch);
    let after = engine.decide(&call("read_file"));
    assert!(!after.allow);
    assert_eq!(after.reasons, vec!["no-files".to_owned()]);
}

#[test]
fn a_broken_reload_keeps_the_old_set_and_reports_why() {
    let tmp = tempfile::tempdir().expect("tempdir");
    copy_policies(tmp.path());
    let engine = engine_over(tmp.path());
    let epoch = engine.epoch();
    std::fs::write(
        tmp.path().join("grants/broken.cedar"),
        "@id(\"deny-all\")\nforbid (principal, action, resource) when { principal.nope };\n",
    )
    .expect("write");
    let err = engine
        .reload(tmp.path())
        .expect_err("the broken set must not load");
    assert!(err.to_string().contains("broken.cedar:2"), "{err}");
    assert_eq!(engine.epoch(), epoch, "the old set keeps serving");
    assert!(engine.decide(&call("read_file")).allow);
    let status = engine.reload_status();
    assert_eq!(status.failures, 1);
    assert_eq!(status.last_error, Some(err));
}

#[test]
fn sliced_decisions_equal_flat_cedar_decisions() {
    // Many scoped policies: the slice for each request must decide exactly as the whole set.
    let tmp = tempfile::tempdir().expect("tempdir");
    copy_policies(tmp.path());
    let mut extra = String::new();
    for i in 0..60 {
        let (effect, scope) = match i % 6 {
            0 => ("forbid", format!("principal == Portcullis::Agent::\"a{i}\", action, resource")),
            1 => ("permit", format!("principal, action, resource == Portcullis::Tool::\"t{}\"", i % 7)),
            2 => ("forbid", "principal in Portcullis::Tenant::\"acme\", action == Portcullis::Action::\"call_tool\", resource in Portcullis::McpServer::\"s1\"".to_owned()),
            3 => ("permit", "principal is Portcullis::Agent, action, resource".to_owned()),
            4 => ("forbid", format!("principal, action, resource is Portcullis::Tool in Portcullis::McpServer::\"s{}\"", i % 3)),
            _ => ("permit", format!("principal, action in [Portcullis::Action::\"call_tool\"], resource == Portcullis::Tool::\"t{}\"", i % 5)),
        };
        extra.push_str(&format!(
            "@id(\"gen-{i}\")\n{effect} ({scope}) when {{ context.arguments has amount && context.arguments.amount == {} }};\n",
            i % 4
        ));
    }
    std::fs::write(tmp.path().join("generated.cedar"), extra).expect("write");
    let bundle = PolicyBundle::load(tmp.path()).expect("generated policies load");
    let flat =
        cedar_policy::PolicySet::from_policies(bundle.policies.iter().cloned()).expect("flat");

    let mut b = Directory::builder(1);
    b.tenant(&Tenant { id: "acme".into() }).expect("tenant");
    for s in 0..3 {
        b.server(&McpServer {
            id: format!("s{s}"),
            name: String::new(),
        })
        .expect("server");
    }
    for t in 0..7 {
        b.tool(&Tool {
            id: format!("t{t}"),
            tenant: "acme".into(),
            server: format!("s{}", t % 3),
            name: String::new(),
            lifecycle: Lifecycle::Active,
            category: String::new(),
            risk_level: Default::default(),
            risk_score: None,
            requires_approval: false,
            annotations: Default::default(),
        })
        .expect("tool");
    }
    for a in 0..12 {
        b.agent(&Agent {
            id: format!("a{a}"),
            tenant: "acme".into(),
            name: String::new(),
            owner: None,
            lifecycle: Lifecycle::Active,
            risk_level: Default::default(),
            risk_score: None,
            agent_type: String::new(),
            requires_human_approval: false,
            max_delegation_depth: 0,
            tools: (0..7)
                .filter(|t| (a + t) % 2 == 0)
                .map(|t| format!("t{t}"))
                .collect(),
            can_call: vec![],
            can_delegate_to: vec![],
        })
        .expect("agent");
    }
    let dir = Arc::new(b.build());
    let engine = Engine::new(bundle, EngineConfig::default());
    engine.set_directory(dir.clone());

    let mut compared = 0;
    let (mut allows, mut denies) = (0, 0);
    for a in 0..12 {
        for t in 0..7 {
            for amount in 0..4 {
                let mut r = Request::new(
                    "acme",
                    EntityRef::agent(format!("a{a}")),
                    Action::CallTool,
                    EntityRef::tool(format!("t{t}")),
                );
                r.arguments.insert("amount".into(), amount.into());
                let sliced = engine.decide_uncached(&r);
                let flat_decision =
                    engine.with_bundle(|bundle| flat_decide(bundle, &dir, &r, &flat));
                assert_eq!(
                    sliced.allow, flat_decision.0,
                    "agent a{a} tool t{t} amount {amount}"
                );
                assert_eq!(
                    sliced.reasons, flat_decision.1,
                    "agent a{a} tool t{t} amount {amount}"
                );
                if sliced.allow {
                    allows += 1
                } else {
                    denies += 1
                }
                compared += 1;
            }
        }
    }
    assert_eq!(compared, 12 * 7 * 4);
    assert!(
        allows > 0 && denies > 0,
        "the comparison covers both outcomes"
    );
}

/// Decides with Cedar over the whole policy set, bypassing the index.
fn flat_decide(
    bundle: &PolicyBundle,
    dir: &Directory,
    r: &Request,
    flat: &cedar_policy::PolicySet,
) -> (bool, Vec<String>) {
    let step = super::Step {
        principal: &r.principal,
        action: r.action,
        resource: &r.resource,
        depth: 0,
    };
    let entities = super::step_entities(bundle, dir, r, &step).expect("entities");
    let facts = crate::context::CallFacts {
        tenant: crate::request::EntityKind::Tenant.uid(&r.tenant),
        input_valid: r.input_valid,
        arguments: crate::context::CallFacts::arguments(&bundle.arguments, &r.arguments)
            .expect("args"),
        chain: vec![],
        approved: false,
        on_behalf_of: None,
        target: r.target.clone(),
    };
    let request = cedar_policy::Request::new(
        r.principal.uid(),
        r.action.uid(),
        r.resource.uid(),
        facts.context(0, false).expect("context"),
        Some(&bundle.schema),
    )
    .expect("request fits the schema");
    let response = cedar_policy::Authorizer::new().is_authorized(&request, flat, &entities);
    assert_eq!(response.diagnostics().errors().count(), 0);
    let mut reasons: Vec<String> = response
        .diagnostics()
        .reason()
        .map(ToString::to_string)
        .collect();
    reasons.sort();
    (
        response.decision() == cedar_policy::Decision::Allow,
        reasons,
    )
}

#[test]
fn a_directory_hands_out_the_entity_of_each_record_cached_or_not() {
    let dir = directory(1, Lifecycle::Active);
    let built = dir
        .node(EntityKind::Agent, "reader")
        .expect("node")
        .entity()
        .expect("entity");
    let first = dir
        .entity(EntityKind::Agent, "reader")
        .expect("known")
        .expect("valid");
    let again = dir
        .entity(EntityKind::Agent, "reader")
        .expect("known")
        .expect("valid");
    assert_eq!(first, built);
    assert_eq!(again, built);
    assert!(dir.entity(EntityKind::Agent, "nobody").is_none());
    assert!(
        dir.entity(EntityKind::Tool, "reader").is_none(),
        "kinds are apart"
    );
}

/// Two tenants each have a user `alice` (and a `bob` in acme); each tenant's agent is owned
/// by its `alice`. Only acme's alice is an operator.
fn two_tenant_directory() -> Arc<Directory> {
    let mut b = Directory::builder(1);
    b.server(&McpServer {
        id: "files".into(),
        name: "files".into(),
    })
    .expect("server");
    for (tenant, tool, agent) in [
        ("acme", "read_file", "reader"),
        ("globex", "lookup", "gbot"),
    ] {
        b.tenant(&Tenant { id: tenant.into() }).expect("tenant");
        b.tool(&Tool {
            id: tool.into(),
            tenant: tenant.into(),
            server: "files".into(),
            name: tool.into(),
            lifecycle: Lifecycle::Active,
            category: String::new(),
            risk_level: Default::default(),
            risk_score: None,
            requires_approval: false,
            annotations: Default::default(),
        })
        .expect("tool");
        b.agent(&Agent {
            id: agent.into(),
            tenant: tenant.into(),
            name: agent.into(),
            owner: Some("alice".into()),
            lifecycle: Lifecycle::Active,
            risk_level: Default::default(),
            risk_score: None,
            agent_type: String::new(),
            requires_human_approval: false,
            max_delegation_depth: 0,
            tools: vec![],
            can_call: vec![],
            can_delegate_to: vec![],
        })
        .expect("agent");
    }
    for (tenant, user, roles) in [
        ("acme", "alice", vec!["operator".to_owned()]),
        ("acme", "bob", vec!["operator".to_owned()]),
        ("globex", "alice", vec![]),
    ] {
        b.user(&User {
            id: user.into(),
            tenant: tenant.into(),
            roles,
        })
        .expect("a user id of one tenant may exist in another");
    }
    Arc::new(b.build())
}

#[test]
fn equal_user_ids_of_two_tenants_are_two_users() {
    let tmp = tempfile::tempdir().expect("tempdir");
    copy_policies(tmp.path());
    std::fs::write(
        tmp.path().join("grants/owner-operator.cedar"),
        "@id(\"owner-operator\")\n\
         permit (principal, action == Portcullis::Action::\"call_tool\", resource)\n\
         when { context has on_behalf_of && principal has owner &&\n\
                principal.owner == context.on_behalf_of &&\n\
                context.on_behalf_of in context.tenant &&\n\
                context.on_behalf_of.roles.contains(\"operator\") };\n",
    )
    .expect("write");
    let engine = Engine::from_dir(tmp.path(), EngineConfig::default()).expect("policies load");
    let dir = two_tenant_directory();
    for tenant in ["acme", "globex"] {
        let user = EntityRef::new(EntityKind::User, user_entity_id(tenant, "alice"));
        assert!(dir.contains(&user), "{user}");
    }
    engine.set_directory(dir);
    let on_behalf = |tenant: &str, agent: &str, tool: &str, user: &str| {
        let mut r = Request::new(
            tenant,
            EntityRef::agent(agent),
            Action::CallTool,
            EntityRef::tool(tool),
        );
        r.on_behalf_of = Some(user.into());
        r
    };

    // acme's alice owns acme's agent and is an operator there.
    let acme = engine.decide(&on_behalf("acme", "reader", "read_file", "alice"));
    assert!(acme.allow, "{acme:?}");
    assert_eq!(acme.reasons, vec!["owner-operator".to_owned()]);
    // globex's alice owns globex's agent but is no operator: acme's roles do not leak over.
    let globex = engine.decide(&on_behalf("globex", "gbot", "lookup", "alice"));
    assert!(!globex.allow, "{globex:?}");
    assert!(
        globex.errors.is_empty(),
        "globex's alice is found: {globex:?}"
    );
    // bob is an operator in acme, but the agent's owner is acme's alice, not bob.
    let bob = engine.decide(&on_behalf("acme", "reader", "read_file", "bob"));
    assert!(!bob.allow && bob.errors.is_empty(), "{bob:?}");
    // Cached answers stay apart too.
    assert!(
        engine
            .decide(&on_behalf("acme", "reader", "read_file", "alice"))
            .allow
    );
    assert!(
        !engine
            .decide(&on_behalf("globex", "gbot", "lookup", "alice"))
            .allow
    );
}

#[test]
fn invalid_tenant_ids_are_refused() {
    let mut b = Directory::builder(1);
    let err = b
        .user(&User {
            id: "b".into(),
            tenant: "a/x".into(),
            roles: vec![],
        })
        .expect_err("`/` in a tenant id would make user ids ambiguous");
    assert!(err.to_string().contains("`/`"), "{err}");
    let err = b
        .tenant(&Tenant { id: String::new() })
        .expect_err("empty tenant");
    assert!(err.to_string().contains("empty"), "{err}");

    let engine = engine_over(&shipped());
    let mut r = call("read_file");
    r.tenant = "acme/x".into();
    let d = engine.decide(&r);
    assert!(!d.allow);
    assert!(
        d.errors.iter().any(|e| e.contains("invalid tenant")),
        "{d:?}"
    );
}

/// Agents `a` → `b` → `c`: `a` may delegate to `b` (depth ≤ `a_depth`), `b` to `c`.
fn delegation_directory(a_depth: u32) -> Arc<Directory> {
    let mut b = Directory::builder(1);
    b.tenant(&Tenant { id: "acme".into() }).expect("tenant");
    for (id, depth, to) in [("a", a_depth, "b"), ("b", 1, "c"), ("c", 0, "")] {
        b.agent(&Agent {
            id: id.into(),
            tenant: "acme".into(),
            name: id.into(),
            owner: None,
            lifecycle: Lifecycle::Active,
            risk_level: Default::default(),
            risk_score: None,
            agent_type: "assistant".into(),
            requires_human_approval: false,
            max_delegation_depth: depth,
            tools: vec![],
            can_call: vec![],
            can_delegate_to: if to.is_empty() {
                vec![]
            } else {
                vec![to.into()]
            },
        })
        .expect("agent");
    }
    Arc::new(b.build())
}

#[test]
fn delegation_alone_is_decided_hop_by_hop() {
    let engine = Engine::from_dir(&shipped(), EngineConfig::default()).expect("policies load");
    engine.set_directory(delegation_directory(2));
    let chain = |ids: &[&str]| ids.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    assert!(engine.decide_delegation("acme", &chain(&["a"]), "b").allow);
    assert!(
        engine
            .decide_delegation("acme", &chain(&["a", "b"]), "c")
            .allow
    );
    // No edge from `b` back to `a`, none from `a` straight to `c`.
    assert!(!engine.decide_delegation("acme", &chain(&["b"]), "a").allow);
    assert!(!engine.decide_delegation("acme", &chain(&["a"]), "c").allow);
    // Nothing to decide: refused, never allowed by default.
    assert!(!engine.decide_delegation("acme", &[], "b").allow);

    // `a` allows one hop only: a → b → c is two hops from `a`.
    engine.set_directory(delegation_directory(1));
    let deep = engine.decide_delegation("acme", &chain(&["a", "b"]), "c");
    assert!(!deep.allow);
    assert!(
        deep.reasons
            .iter()
            .any(|r| r.contains("delegation-too-deep")),
        "{:?}",
        deep.reasons
    );
    assert!(engine.decide_delegation("acme", &chain(&["a"]), "b").allow);
}

/// An unknown actor in a delegation chain fails both its hop and its own step: the decision
/// says so once.
#[test]
fn an_error_of_several_steps_is_reported_once() {
    let engine = Engine::from_dir(&shipped(), EngineConfig::default()).expect("policies load");
    engine.set_directory(directory(1, Lifecycle::Active));
    let mut r = call("read_file");
    r.chain = vec!["raeder".into()];
    let d = engine.decide_uncached(&r);
    assert!(!d.allow);
    assert_eq!(d.errors.len(), 1, "{:?}", d.errors);
    assert!(d.errors[0].contains("raeder"), "{:?}", d.errors);
}
