use super::*;
use crate::model::{Agent, AgentFields, Common, Tool, ToolFields};

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

fn grant(from: &Nhi, to: &Nhi) -> Relation {
    Relation::new(
        from.tenant(),
        RelationKind::ToolGrant,
        &from.id().to_string(),
        &to.id().to_string(),
    )
}

fn snapshot(nhis: Vec<Nhi>, relations: Vec<Relation>) -> Snapshot {
    Snapshot {
        vault: Vec::new(),
        revision: 7,
        nhis,
        relations,
    }
}

#[test]
fn an_export_reads_back_as_the_same_records() {
    let (a, t) = (agent("acme", "a"), tool("acme", "t"));
    let exported = snapshot(vec![a.clone(), t.clone()], vec![grant(&a, &t)]);
    let mut text = Vec::new();
    write(&exported, &mut text).unwrap();
    let text = String::from_utf8(text).unwrap();
    assert_eq!(text.lines().count(), 3);
    assert!(
        text.lines()
            .next()
            .unwrap()
            .starts_with(r#"{"nhi":{"kind":"agent""#)
    );
    let batch = read(format!("\n{text}\n").as_bytes()).unwrap();
    assert_eq!(batch.nhis, exported.nhis);
    assert_eq!(batch.relations, exported.relations);
    check(&batch, &snapshot(vec![], vec![])).unwrap();
}

#[test]
fn a_bad_line_is_named() {
    let err = read("\n{\"nhi\": {\"kind\": \"agent\"}}\n".as_bytes()).unwrap_err();
    assert!(err.starts_with("line 2:"), "{err}");
    let err = read("{\"robot\": {}}".as_bytes()).unwrap_err();
    assert!(err.starts_with("line 1:") && err.contains("robot"), "{err}");
}

#[test]
fn ids_must_be_new() {
    let a = agent("acme", "a");
    let twice = Batch {
        nhis: vec![a.clone(), a.clone()],
        relations: vec![],
    };
    let err = check(&twice, &snapshot(vec![], vec![])).unwrap_err();
    assert!(err.contains("already taken"), "{err}");
    let once = Batch {
        nhis: vec![a.clone()],
        relations: vec![],
    };
    assert!(check(&once, &snapshot(vec![a], vec![])).is_err());
}

#[test]
fn tenant_ids_must_be_valid() {
    for tenant in ["acme/eu", "ac\u{1b}me", ""] {
        let batch = Batch {
            nhis: vec![agent(tenant, "a")],
            relations: vec![],
        };
        let err = check(&batch, &snapshot(vec![], vec![])).unwrap_err();
        assert!(err.contains("`tenant_id`"), "{tenant:?}: {err}");
    }
    let a = agent("acme", "a");
    let mut grant_elsewhere = grant(&a, &a);
    grant_elsewhere.kind = RelationKind::User;
    grant_elsewhere.level = Some(crate::model::PermissionLevel::Use);
    grant_elsewhere.tenant_id = "acme/eu".into();
    let batch = Batch {
        nhis: vec![a],
        relations: vec![grant_elsewhere],
    };
    let err = check(&batch, &snapshot(vec![], vec![])).unwrap_err();
    assert!(err.contains("invalid `tenant_id`"), "{err}");
}

#[test]
fn records_are_checked_like_the_admin_api_does() {
    let unnamed = Batch {
        nhis: vec![agent("acme", " ")],
        relations: vec![],
    };
    assert!(
        check(&unnamed, &snapshot(vec![], vec![]))
            .unwrap_err()
            .contains("`name`")
    );
    let mut broken = tool("acme", "t");
    if let Nhi::Tool(t) = &mut broken {
        t.fields.input_schema = serde_json::json!({"type": "no-such-type"});
    }
    let bad_schema = Batch {
        nhis: vec![broken],
        relations: vec![],
    };
    assert!(check(&bad_schema, &snapshot(vec![], vec![])).is_err());
}

#[test]
fn relations_join_nhis_of_their_tenant_in_the_allowed_directions() {
    let (a, t) = (agent("acme", "a"), tool("acme", "t"));
    let other = tool("globex", "t");
    let empty = snapshot(vec![], vec![]);
    // A grant to an existing tool is fine; to a tool of another tenant or backwards is not.
    let ok = Batch {
        nhis: vec![a.clone()],
        relations: vec![grant(&a, &t)],
    };
    check(&ok, &snapshot(vec![t.clone()], vec![])).unwrap();
    for (relations, nhis) in [
        (vec![grant(&a, &other)], vec![a.clone(), other.clone()]),
        (vec![grant(&t, &a)], vec![a.clone(), t.clone()]),
        (vec![grant(&a, &t)], vec![a.clone()]),
    ] {
        let batch = Batch { nhis, relations };
        assert!(check(&batch, &empty).is_err(), "{batch:?}");
    }
    let mut user = Relation::new("acme", RelationKind::User, &a.id().to_string(), "alice");
    let without_level = Batch {
        nhis: vec![a.clone()],
        relations: vec![user.clone()],
    };
    assert!(check(&without_level, &empty).is_err());
    user.level = Some(crate::model::PermissionLevel::Use);
    let with_level = Batch {
        nhis: vec![a],
        relations: vec![user],
    };
    check(&with_level, &empty).unwrap();
}
