use portcullis_policy::{Action, EntityKind, EntityRef, Request, user_entity_id};

use super::*;
use crate::model::{Agent, AgentFields, Common, PermissionLevel, Tool, ToolFields};

fn agent(tenant: &str, name: &str) -> Nhi {
    Nhi::Agent(Agent {
        common: Common::new(tenant, name),
        fields: AgentFields::default(),
    })
}

fn tool(tenant: &str, name: &str) -> Nhi {
    Nhi::Tool(Tool {
        common: Common::new(tenant, name),
        fields: ToolFields::default(),
    })
}

fn id(n: &Nhi) -> String {
    n.id().to_string()
}

fn grant(from: &Nhi, to: &Nhi) -> Relation {
    Relation::new(from.tenant(), RelationKind::ToolGrant, &id(from), &id(to))
}

fn permission(on: &Nhi, user: &str) -> Relation {
    let mut r = Relation::new(on.tenant(), RelationKind::User, &id(on), user);
    r.level = Some(PermissionLevel::Use);
    r
}

fn engine(directory: Directory) -> portcullis_policy::Engine {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies");
    let engine = portcullis_policy::Engine::from_dir(&root, Default::default()).unwrap();
    engine.set_directory(std::sync::Arc::new(directory));
    engine
}

fn call(tenant: &str, agent: &Nhi, tool: &Nhi) -> Request {
    Request::new(
        tenant,
        EntityRef::agent(id(agent)),
        Action::CallTool,
        EntityRef::tool(id(tool)),
    )
}

#[test]
fn the_same_user_in_two_tenants_converts() {
    let (acme, acme_tool) = (agent("acme", "a"), tool("acme", "t"));
    let (globex, globex_tool) = (agent("globex", "g"), tool("globex", "t"));
    let snapshot = Snapshot {
        vault: Vec::new(),
        revision: 3,
        relations: vec![
            grant(&acme, &acme_tool),
            grant(&globex, &globex_tool),
            permission(&acme, "alice"),
            permission(&globex, "alice"),
        ],
        nhis: vec![
            acme.clone(),
            acme_tool.clone(),
            globex.clone(),
            globex_tool.clone(),
        ],
    };
    let built = snapshot.build_directory();
    assert_eq!(built.skipped, vec![]);
    let directory = snapshot.to_directory().expect("nothing is left out");
    for tenant in ["acme", "globex"] {
        let alice = EntityRef::new(EntityKind::User, user_entity_id(tenant, "alice"));
        assert!(directory.contains(&alice), "{alice}");
    }
    assert_eq!(directory.revision(), 3);
    let engine = engine(directory);
    assert!(engine.decide(&call("acme", &acme, &acme_tool)).allow);
    assert!(engine.decide(&call("globex", &globex, &globex_tool)).allow);
}

#[test]
fn a_record_that_cannot_convert_is_left_out_and_reported() {
    let (good, good_tool) = (agent("acme", "good"), tool("acme", "t"));
    // A tenant id with `/` would make its users' ids ambiguous.
    let (bad, bad_tool) = (agent("globex/eu", "bad"), tool("globex/eu", "t"));
    // Two tenants' records with one id: neither can be the entity of that id.
    let twin = agent("initech", "twin");
    let mut copy = twin.clone();
    copy.common_mut().tenant_id = "umbrella".into();
    // A grant in acme from a record acme does not have.
    let stray = Relation::new("acme", RelationKind::ToolGrant, &id(&bad), &id(&good_tool));
    let snapshot = Snapshot {
        vault: Vec::new(),
        revision: 9,
        nhis: vec![
            good.clone(),
            good_tool.clone(),
            bad.clone(),
            bad_tool.clone(),
            twin.clone(),
            copy,
        ],
        relations: vec![
            grant(&good, &good_tool),
            grant(&bad, &bad_tool),
            permission(&good, "alice"),
            permission(&bad, "alice"),
            stray,
        ],
    };
    let DirectoryBuild { directory, skipped } = snapshot.build_directory();
    let described: Vec<String> = skipped.iter().map(ToString::to_string).collect();
    let left_out = |tenant: &str, kind: &str, what: &str| {
        skipped
            .iter()
            .find(|s| s.tenant == tenant && s.kind == kind && s.id.contains(what))
            .unwrap_or_else(|| panic!("{kind} {what} of {tenant} is not reported: {described:?}"))
    };
    assert!(
        left_out("globex/eu", "agent", &id(&bad))
            .reason
            .contains("`/`")
    );
    left_out("globex/eu", "tool", &id(&bad_tool));
    left_out("globex/eu", "tool_grant relation", &id(&bad));
    left_out("globex/eu", "user relation", "alice");
    for tenant in ["initech", "umbrella"] {
        let s = left_out(tenant, "agent", &id(&twin));
        assert!(s.reason.contains("`initech`, `umbrella`"), "{s}");
    }
    assert!(
        left_out("acme", "tool_grant relation", &id(&bad))
            .reason
            .contains("not a record of the tenant")
    );
    assert_eq!(skipped.len(), 7, "{described:?}");

    // The rest converts: acme's agent calls, the left-out ones are unknown (denied).
    for r in [&bad, &bad_tool, &twin] {
        let kind = if matches!(r, Nhi::Tool(_)) {
            EntityKind::Tool
        } else {
            EntityKind::Agent
        };
        assert!(!directory.contains(&EntityRef::new(kind, id(r))));
    }
    assert!(directory.contains(&EntityRef::new(
        EntityKind::User,
        user_entity_id("acme", "alice")
    )));
    let engine = engine(directory);
    assert!(engine.decide(&call("acme", &good, &good_tool)).allow);
    assert!(!engine.decide(&call("globex/eu", &bad, &bad_tool)).allow);
    assert!(!engine.decide(&call("initech", &twin, &good_tool)).allow);

    // All or nothing: the strict form names the first problem.
    let err = snapshot.to_directory().unwrap_err().to_string();
    assert!(
        err.contains("globex/eu") && err.contains("left out"),
        "{err}"
    );
}

#[test]
fn grants_stay_in_their_tenant() {
    // A relation stored in globex that names acme's agent and tool grants nothing.
    let (a, t) = (agent("acme", "a"), tool("acme", "t"));
    let g = agent("globex", "g");
    let mut foreign = grant(&a, &t);
    foreign.tenant_id = "globex".into();
    let snapshot = Snapshot {
        vault: Vec::new(),
        revision: 1,
        nhis: vec![a.clone(), t.clone(), g],
        relations: vec![foreign],
    };
    let DirectoryBuild { directory, skipped } = snapshot.build_directory();
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert_eq!(skipped[0].tenant, "globex");
    assert!(!engine(directory).decide(&call("acme", &a, &t)).allow);
}

#[test]
fn the_computed_risk_score_reaches_policies() {
    // A policy set whose only rule reads the score: grants for the low-risk only.
    let dir = tempfile::tempdir().unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies");
    std::fs::copy(
        root.join("portcullis.cedarschema"),
        dir.path().join("portcullis.cedarschema"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("risk.cedar"),
        "@id(\"low-risk-only\")\npermit (principal is Portcullis::Agent, action == Portcullis::Action::\"call_tool\", resource)\nwhen { principal.risk_score < 50 };\n",
    )
    .unwrap();
    let (calm, risky, t) = (
        agent("acme", "calm"),
        agent("acme", "risky"),
        tool("acme", "t"),
    );
    let mut risky = risky;
    risky.common_mut().risk = Some(crate::risk::Assessment {
        score: 80,
        level: portcullis_policy::RiskLevel::Critical,
        factors: Vec::new(),
        computed_at: time::OffsetDateTime::UNIX_EPOCH,
    });
    let snapshot = Snapshot {
        vault: Vec::new(),
        revision: 1,
        nhis: vec![calm.clone(), risky.clone(), t.clone()],
        relations: Vec::new(),
    };
    let engine = portcullis_policy::Engine::from_dir(dir.path(), Default::default()).unwrap();
    engine.set_directory(std::sync::Arc::new(snapshot.to_directory().unwrap()));
    assert!(engine.decide(&call("acme", &calm, &t)).allow);
    assert!(!engine.decide(&call("acme", &risky, &t)).allow);
}
