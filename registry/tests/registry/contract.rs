//! The store contract: every backend passes the same scenarios.

use std::time::Duration;

use portcullis_registry::Store as _;
use portcullis_registry::{
    Agent, AgentFields, Common, DynStore, Nhi, NhiKind, PermissionLevel, Relation, RelationKind,
    StoreError, Tool, ToolFields,
};

use crate::common;

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

/// The scenarios, in order, against one store.
pub(crate) async fn contract(store: DynStore) {
    crud_and_versions(&store).await;
    tenants_are_isolated(&store).await;
    relations(&store).await;
    delete_cascades(&store).await;
    revisions_and_feed(&store).await;
    snapshot_feeds_the_policy_engine(&store).await;
    one_user_id_in_two_tenants(&store).await;
    concurrent_updates_never_lose_one(&store).await;
    audit_log(&store).await;
    bulk_import(&store).await;
    last_used(&store).await;
    vault_documents(&store).await;
    approvals(&store).await;
    task_owners(&store).await;
    documents(&store).await;
    computed_risk(&store).await;
    ended_sessions(&store).await;
}

async fn ended_sessions(store: &DynStore) {
    use time::{Duration as Span, OffsetDateTime};
    let now = OffsetDateTime::now_utc();
    let (before, start) = store.ended_sessions(0).await.unwrap();
    assert!(before.is_empty());
    store
        .end_session("s-1", now + Span::hours(1))
        .await
        .unwrap();
    store
        .end_session("s-gone", now - Span::seconds(1))
        .await
        .unwrap();
    store
        .end_session("s-2|with|bars", now + Span::hours(1))
        .await
        .unwrap();
    let (ids, next) = store.ended_sessions(start).await.unwrap();
    assert_eq!(
        ids,
        vec!["s-1".to_owned(), "s-2|with|bars".to_owned()],
        "expired ones are left out"
    );
    assert!(next > start);
    let (more, same) = store.ended_sessions(next).await.unwrap();
    assert!(more.is_empty());
    assert_eq!(same, next, "nothing new: the cursor stays");
    store
        .end_session("s-3", now + Span::hours(1))
        .await
        .unwrap();
    assert_eq!(
        store.ended_sessions(next).await.unwrap().0,
        vec!["s-3".to_owned()]
    );
    // A position the store never reached (it went back): everything live again.
    let (again, _) = store.ended_sessions(next + 1_000).await.unwrap();
    assert_eq!(again.len(), 3, "{again:?}");
}

async fn computed_risk(store: &DynStore) {
    use portcullis_registry::risk::{Assessment, Factor, level_of};
    let nhi = store.insert_nhi(agent("rk", "scored")).await.unwrap();
    let risk = |score: i64| Assessment {
        score,
        level: level_of(score),
        factors: vec![Factor {
            factor: "no_owner".into(),
            points: score,
            detail: "nobody owns it".into(),
        }],
        computed_at: time::OffsetDateTime::now_utc(),
    };
    let before = store.revision().await.unwrap();
    assert!(store.set_risk("rk", nhi.id(), risk(15)).await.unwrap());
    let after = store.revision().await.unwrap();
    assert!(after > before, "the policy view must see it");
    let stored = store.get_nhi("rk", nhi.id()).await.unwrap().unwrap();
    assert_eq!(
        stored.version(),
        nhi.version(),
        "derived data moves no version"
    );
    assert_eq!(stored.common().risk.as_ref().map(|r| r.score), Some(15));
    assert!(
        !store.set_risk("rk", nhi.id(), risk(15)).await.unwrap(),
        "unchanged"
    );
    assert_eq!(store.revision().await.unwrap(), after);
    // An admin's update over the version it read still works, and keeps the score.
    let mut edited = stored.clone();
    edited.common_mut().description = "edited".into();
    let edited = store.update_nhi(edited, stored.version()).await.unwrap();
    assert_eq!(edited.common().risk.as_ref().map(|r| r.score), Some(15));
    assert!(
        !store
            .set_risk("rk", uuid::Uuid::now_v7(), risk(5))
            .await
            .unwrap(),
        "gone"
    );
}

async fn documents(store: &DynStore) {
    let before = store.revision().await.unwrap();
    assert_eq!(
        store
            .put_doc("campaign", "dk", "c-1", "one".into(), None)
            .await
            .unwrap(),
        1
    );
    // Creating it again, or writing a stale version, is a conflict.
    assert!(matches!(
        store
            .put_doc("campaign", "dk", "c-1", "x".into(), None)
            .await,
        Err(StoreError::Conflict { .. })
    ));
    assert_eq!(
        store
            .put_doc("campaign", "dk", "c-1", "two".into(), Some(1))
            .await
            .unwrap(),
        2
    );
    assert!(matches!(
        store
            .put_doc("campaign", "dk", "c-1", "x".into(), Some(1))
            .await,
        Err(StoreError::Conflict {
            expected: 1,
            actual: 2
        })
    ));
    assert!(matches!(
        store
            .put_doc("campaign", "dk", "nope", "x".into(), Some(1))
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(
        store.doc("campaign", "dk", "c-1").await.unwrap(),
        Some((2, "two".to_owned()))
    );
    assert!(store.doc("campaign", "dk2", "c-1").await.unwrap().is_none());
    assert!(store.doc("other", "dk", "c-1").await.unwrap().is_none());
    store
        .put_doc("campaign", "dk2", "c-9", "nine".into(), None)
        .await
        .unwrap();
    let mine = store.docs("campaign", Some("dk")).await.unwrap();
    assert_eq!(mine, vec![("dk".to_owned(), 2, "two".to_owned())]);
    assert_eq!(store.docs("campaign", None).await.unwrap().len(), 2);
    assert!(store.docs("other", None).await.unwrap().is_empty());
    assert_eq!(
        store.revision().await.unwrap(),
        before,
        "documents move no revision"
    );
}

async fn task_owners(store: &DynStore) {
    use portcullis_registry::task::TaskOwner;
    use time::{Duration as Span, OffsetDateTime};

    let t0 = OffsetDateTime::now_utc();
    let owner = |tenant: &str, principal: &str, task: &str, at: OffsetDateTime| TaskOwner {
        tenant_id: tenant.into(),
        agent_id: "agent-1".into(),
        task_id: task.into(),
        principal_id: principal.into(),
        chain: vec!["boss".into()],
        on_behalf_of: None,
        created_at: at,
    };
    let before = store.revision().await.unwrap();
    let first = store
        .claim_task(owner("tk", "planner", "t-1", t0))
        .await
        .unwrap();
    assert_eq!(first.principal_id, "planner");
    assert_eq!(first.chain, vec!["boss".to_owned()]);
    // The first claim wins: a later one is told who owns it.
    let again = store
        .claim_task(owner("tk", "intruder", "t-1", t0))
        .await
        .unwrap();
    assert_eq!(again.principal_id, "planner");
    // The same task id at another tenant is another task; ':' in names cannot collide.
    let other = store
        .claim_task(owner("tk2", "intruder", "t-1", t0))
        .await
        .unwrap();
    assert_eq!(other.principal_id, "intruder");
    let tricky = store
        .claim_task(owner("tk:agent-1", "intruder", "x", t0))
        .await
        .unwrap();
    assert_eq!(tricky.principal_id, "intruder");
    assert!(
        store
            .task_owner("tk", "agent-1", "x")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store.revision().await.unwrap(),
        before,
        "tasks move no revision"
    );

    let found = store
        .task_owner("tk", "agent-1", "t-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found, first);
    assert!(
        store
            .task_owner("tk", "agent-2", "t-1")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .task_owner("tk2", "agent-1", "t-9")
            .await
            .unwrap()
            .is_none()
    );

    store
        .claim_task(owner("tk", "planner", "t-2", t0 + Span::seconds(1)))
        .await
        .unwrap();
    let mine = store.owned_tasks("tk", "planner", 10).await.unwrap();
    let ids: Vec<&str> = mine.iter().map(|o| o.task_id.as_str()).collect();
    assert_eq!(ids, ["t-2", "t-1"], "newest first, the caller's own only");
    assert_eq!(
        store.owned_tasks("tk", "planner", 1).await.unwrap().len(),
        1
    );
    assert!(
        store
            .owned_tasks("tk", "intruder", 10)
            .await
            .unwrap()
            .is_empty()
    );

    // Purged by age: t-1 (and the other tenants' at t0) go, t-2 stays.
    let purged = store
        .purge_tasks(t0 + Span::milliseconds(500))
        .await
        .unwrap();
    assert_eq!(purged, 3);
    assert!(
        store
            .task_owner("tk", "agent-1", "t-1")
            .await
            .unwrap()
            .is_none()
    );
    let left = store.owned_tasks("tk", "planner", 10).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].task_id, "t-2");
}

async fn approvals(store: &DynStore) {
    use portcullis_registry::approval::{Approval, ApprovalStatus, ApprovalSubject};
    use time::{Duration as Span, OffsetDateTime};
    let t0 = OffsetDateTime::now_utc();
    let subject = |principal: &str, args: &str| ApprovalSubject {
        tenant_id: "appr".into(),
        principal_id: principal.into(),
        chain: vec![],
        on_behalf_of: None,
        action: "call_tool".into(),
        target_id: "tool-1".into(),
        arguments_sha256: args.into(),
    };
    let at = |s: ApprovalSubject, now: OffsetDateTime| {
        Approval::pending(
            s,
            "files_write".into(),
            serde_json::json!({"path": "/tmp/x"}),
            vec!["tool-requires-approval".into()],
            now,
            now + Span::minutes(10),
        )
    };
    let revision = store.revision().await.unwrap();

    // One live approval per binding: the second request finds the first.
    let (first, created) = store
        .open_approval(at(subject("a-1", "h1"), t0), 3)
        .await
        .unwrap();
    assert!(created);
    assert_eq!((first.version, first.status), (1, ApprovalStatus::Pending));
    let (again, created) = store
        .open_approval(at(subject("a-1", "h1"), t0), 3)
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(again.id, first.id);
    assert_eq!(again, first);
    // Other arguments: another approval. A third pending one of a-1 is over the bound.
    let (other, created) = store
        .open_approval(at(subject("a-1", "h2"), t0), 2)
        .await
        .unwrap();
    assert!(created && other.id != first.id);
    let err = store
        .open_approval(at(subject("a-1", "h3"), t0), 2)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Limit(_)), "{err}");
    // ... which is per principal.
    store
        .open_approval(at(subject("a-2", "h3"), t0), 2)
        .await
        .unwrap();
    assert_eq!(store.pending_approvals(t0).await.unwrap(), 3);
    assert_eq!(
        store.revision().await.unwrap(),
        revision,
        "approvals move no revision"
    );

    // Approve (compare-and-swap on the version); a stale writer loses.
    let mut approved = first.clone();
    approved.status = ApprovalStatus::Approved;
    approved.decided_by = Some("root".into());
    let approved = store.update_approval(approved, 1).await.unwrap();
    assert_eq!(approved.version, 2);
    let err = store.update_approval(first.clone(), 1).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Conflict {
                expected: 1,
                actual: 2
            }
        ),
        "{err}"
    );
    assert_eq!(store.pending_approvals(t0).await.unwrap(), 2);
    assert_eq!(
        store
            .approval("appr", first.id)
            .await
            .unwrap()
            .unwrap()
            .status,
        ApprovalStatus::Approved
    );
    // Two concurrent consumers of the same approved version: exactly one wins.
    let consume = |a: &Approval| {
        let mut c = a.clone();
        c.status = ApprovalStatus::Consumed;
        let store = store.clone();
        let version = a.version;
        tokio::spawn(async move { store.update_approval(c, version).await })
    };
    let (x, y) = (consume(&approved), consume(&approved));
    let results = [x.await.unwrap(), y.await.unwrap()];
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    // Consumed: the same call needs a new approval.
    let (fresh, created) = store
        .open_approval(at(subject("a-1", "h1"), t0), 3)
        .await
        .unwrap();
    assert!(created && fresh.id != first.id);
    // A denial stands for its binding until it expires.
    let mut denied = fresh.clone();
    denied.status = ApprovalStatus::Denied;
    let denied = store.update_approval(denied, 1).await.unwrap();
    let (found, created) = store
        .open_approval(at(subject("a-1", "h1"), t0), 3)
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(
        (found.id, found.status),
        (denied.id, ApprovalStatus::Denied)
    );
    // Past its expiry, a new request opens.
    let later = t0 + Span::minutes(11);
    let (renewed, created) = store
        .open_approval(at(subject("a-1", "h1"), later), 3)
        .await
        .unwrap();
    assert!(created && renewed.id != denied.id);
    assert_eq!(
        store.pending_approvals(later).await.unwrap(),
        1,
        "the others expired"
    );

    // Listed newest first; invisible to another tenant.
    let listed = store.approvals("appr").await.unwrap();
    assert_eq!(listed.len(), 5);
    assert_eq!(listed[0].id, renewed.id);
    assert!(
        listed
            .windows(2)
            .all(|w| w[0].created_at >= w[1].created_at)
    );
    assert!(store.approvals("other").await.unwrap().is_empty());
    assert!(store.approval("other", first.id).await.unwrap().is_none());
    let missing = at(subject("a-9", "h9"), t0);
    assert!(matches!(
        store.update_approval(missing, 1).await.unwrap_err(),
        StoreError::NotFound(_)
    ));

    // Purge: what was created before the cut and can no longer let a call through.
    let purged = store.purge_approvals(later, later).await.unwrap();
    assert_eq!(purged, 4, "consumed, denied, and two expired pending ones");
    let left = store.approvals("appr").await.unwrap();
    assert_eq!(left.iter().map(|a| a.id).collect::<Vec<_>>(), [renewed.id]);
    assert_eq!(store.revision().await.unwrap(), revision);
}

async fn vault_documents(store: &DynStore) {
    use portcullis_registry::vault::{VaultDoc, VaultKind};
    let doc = |tenant: &str, id: &str, body: &str| VaultDoc {
        tenant_id: tenant.into(),
        kind: VaultKind::Secret,
        id: id.into(),
        version: 0,
        body: body.into(),
    };
    let before = store.revision().await.expect("revision");
    let created = store
        .put_vault(doc("vt", "s-1", r#"{"n":1}"#), None)
        .await
        .expect("new");
    assert_eq!(created.version, 1);
    assert!(
        store.revision().await.expect("revision") > before,
        "a vault write moves the revision"
    );
    assert!(matches!(
        store.put_vault(doc("vt", "s-1", "{}"), None).await,
        Err(StoreError::AlreadyExists(_))
    ));
    let updated = store
        .put_vault(doc("vt", "s-1", r#"{"n":2}"#), Some(1))
        .await
        .expect("update");
    assert_eq!(updated.version, 2);
    assert!(matches!(
        store.put_vault(doc("vt", "s-1", "{}"), Some(1)).await,
        Err(StoreError::Conflict {
            expected: 1,
            actual: 2
        })
    ));
    assert!(matches!(
        store.put_vault(doc("vt", "missing", "{}"), Some(1)).await,
        Err(StoreError::NotFound(_))
    ));
    // Another kind and another tenant are other documents.
    store
        .put_vault(
            VaultDoc {
                kind: VaultKind::Lease,
                ..doc("vt", "s-1", "{}")
            },
            None,
        )
        .await
        .expect("a lease with the same id");
    store
        .put_vault(doc("other", "s-1", r#"{"n":9}"#), None)
        .await
        .expect("another tenant");
    let read = store
        .vault("vt", VaultKind::Secret, "s-1")
        .await
        .expect("read")
        .expect("there");
    assert_eq!((read.version, read.body.as_str()), (2, r#"{"n":2}"#));
    assert_eq!(
        store
            .vaults("vt", VaultKind::Secret)
            .await
            .expect("list")
            .len(),
        1
    );
    assert_eq!(
        store
            .vaults("vt", VaultKind::Lease)
            .await
            .expect("list")
            .len(),
        1
    );
    assert!(
        store
            .vault("nobody", VaultKind::Secret, "s-1")
            .await
            .expect("read")
            .is_none()
    );
    let snapshot = store.snapshot().await.expect("snapshot");
    let mut held: Vec<(String, VaultKind, u64)> = snapshot
        .vault
        .iter()
        .filter(|d| d.id == "s-1")
        .map(|d| (d.tenant_id.clone(), d.kind, d.version))
        .collect();
    held.sort_by(|a, b| (&a.0, a.1.as_str()).cmp(&(&b.0, b.1.as_str())));
    assert_eq!(
        held,
        vec![
            ("other".to_owned(), VaultKind::Secret, 1),
            ("vt".to_owned(), VaultKind::Lease, 1),
            ("vt".to_owned(), VaultKind::Secret, 2),
        ]
    );
    assert!(
        store
            .delete_vault("vt", VaultKind::Secret, "s-1")
            .await
            .expect("delete")
    );
    assert!(
        !store
            .delete_vault("vt", VaultKind::Secret, "s-1")
            .await
            .expect("again")
    );
    assert!(
        store
            .vault("vt", VaultKind::Secret, "s-1")
            .await
            .expect("read")
            .is_none()
    );
}

async fn bulk_import(store: &DynStore) {
    let mut feed = store.subscribe();
    let before = store.revision().await.expect("revision");
    // Enough records to cross the Redis backend's chunks.
    let agents: Vec<Nhi> = (0..2_500)
        .map(|i| agent("bulk", &format!("a{i}")))
        .collect();
    let t = tool("bulk", "t");
    let grants: Vec<Relation> = agents
        .iter()
        .map(|a| {
            Relation::new(
                "bulk",
                RelationKind::ToolGrant,
                &a.id().to_string(),
                &t.id().to_string(),
            )
        })
        .collect();
    let mut nhis = agents.clone();
    nhis.push(t.clone());
    store
        .import(nhis.clone(), grants.clone())
        .await
        .expect("import");
    let after = store.revision().await.expect("revision");
    assert_eq!(after, before + 1, "one import moves the revision once");
    let announced = tokio::time::timeout(Duration::from_secs(5), feed.recv())
        .await
        .expect("announced")
        .expect("feed");
    assert_eq!(announced, after);
    let listed = store.list_nhis("bulk", NhiKind::Agent).await.expect("list");
    assert_eq!(listed.len(), 2_500);
    assert_eq!(listed[0].common().name, "a0", "oldest first, in file order");
    assert!(listed.iter().all(|n| n.version() == 1));
    let granted = store
        .relations(
            "bulk",
            RelationKind::ToolGrant,
            None,
            Some(&t.id().to_string()),
        )
        .await
        .expect("relations");
    assert_eq!(granted.len(), 2_500);
    // An import that names an existing id writes nothing.
    let fresh = agent("bulk", "fresh");
    let err = store
        .import(vec![fresh.clone(), agents[7].clone()], vec![])
        .await
        .expect_err("an existing id");
    assert!(matches!(err, StoreError::AlreadyExists(_)), "{err:?}");
    assert!(
        store
            .get_nhi("bulk", fresh.id())
            .await
            .expect("get")
            .is_none(),
        "nothing of a refused import is stored"
    );
    assert_eq!(store.revision().await.expect("revision"), after);
}

async fn audit_log(store: &DynStore) {
    use portcullis_registry::AuditRecord;
    let before = store.revision().await.expect("revision");
    let records: Vec<AuditRecord> = (0..5)
        .map(|i| {
            AuditRecord::new(
                if i == 2 { "a2" } else { "a1" },
                1_700_000_000_000 + i,
                &serde_json::json!({"n": i, "tool": "t"}),
            )
            .unwrap()
        })
        .collect();
    store.append_audit(records.clone()).await.expect("append");
    let newest = store.audit("a1", 10).await.expect("audit");
    let ns: Vec<i64> = newest
        .iter()
        .map(|r| r.event()["n"].as_i64().unwrap())
        .collect();
    assert_eq!(ns, vec![4, 3, 1, 0], "newest first, this tenant only");
    assert_eq!(newest[0], records[4]);
    assert_eq!(store.audit("a1", 2).await.expect("audit").len(), 2);
    assert_eq!(store.audit("a2", 10).await.expect("audit").len(), 1);
    assert_eq!(
        store.revision().await.expect("revision"),
        before,
        "audit does not move the revision"
    );
    // Pages: newest first, each continuing after the last cursor, this tenant only.
    let first = store.audit_page("a1", None, 3).await.expect("page");
    let n = |page: &[(String, AuditRecord)]| -> Vec<i64> {
        page.iter()
            .map(|(_, r)| r.event()["n"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(n(&first), vec![4, 3, 1]);
    let cursor = first.last().map(|(c, _)| c.clone()).unwrap();
    let second = store
        .audit_page("a1", Some(&cursor), 3)
        .await
        .expect("page");
    assert_eq!(n(&second), vec![0]);
    let last = second.last().map(|(c, _)| c.clone()).unwrap();
    assert!(
        store
            .audit_page("a1", Some(&last), 3)
            .await
            .expect("page")
            .is_empty()
    );
    assert!(matches!(
        store.audit_page("a1", Some("not a cursor"), 3).await,
        Err(StoreError::Invalid(_))
    ));
}

async fn last_used(store: &DynStore) {
    use portcullis_registry::LastUse;
    let a = store.insert_nhi(agent("u1", "busy")).await.expect("insert");
    let version = a.version();
    let revision = store.revision().await.expect("revision");
    assert!(a.common().last_used_at.is_none());
    let at = |ms| LastUse {
        tenant_id: "u1".into(),
        id: a.id(),
        at_ms: ms,
    };
    store
        .touch_last_used(vec![at(1_700_000_000_000), at(1_700_000_005_000)])
        .await
        .expect("touch");
    store
        .touch_last_used(vec![at(1_700_000_001_000)])
        .await
        .expect("an older use");
    let got = store
        .get_nhi("u1", a.id())
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(
        got.common().last_used_at.map(|t| t.unix_timestamp()),
        Some(1_700_000_005),
        "the latest use wins"
    );
    assert_eq!(got.version(), version, "no version bump");
    assert_eq!(
        store.revision().await.expect("revision"),
        revision,
        "no revision bump"
    );
    let listed = store.list_nhis("u1", NhiKind::Agent).await.expect("list");
    assert_eq!(listed[0].common().last_used_at, got.common().last_used_at);
    // An update does not erase it.
    let mut changed = got.clone();
    changed.common_mut().description = "still busy".into();
    store.update_nhi(changed, version).await.expect("update");
    let got = store
        .get_nhi("u1", a.id())
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(
        got.common().last_used_at.map(|t| t.unix_timestamp()),
        Some(1_700_000_005)
    );
}

async fn crud_and_versions(store: &DynStore) {
    let a = store
        .insert_nhi(agent("t1", "planner"))
        .await
        .expect("insert");
    assert_eq!(a.version(), 1);
    let again = store.insert_nhi(a.clone()).await;
    assert!(
        matches!(again, Err(StoreError::AlreadyExists(_))),
        "{again:?}"
    );

    let mut changed = a.clone();
    changed.common_mut().description = "plans things".into();
    let v2 = store
        .update_nhi(changed.clone(), 1)
        .await
        .expect("update at version 1");
    assert_eq!(v2.version(), 2);
    let stale = store.update_nhi(changed, 1).await;
    assert!(
        matches!(
            stale,
            Err(StoreError::Conflict {
                expected: 1,
                actual: 2
            })
        ),
        "{stale:?}"
    );

    let got = store
        .get_nhi("t1", a.id())
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(got, v2);
    assert_eq!(got.common().description, "plans things");

    let t = store
        .insert_nhi(tool("t1", "search"))
        .await
        .expect("insert tool");
    let agents = store.list_nhis("t1", NhiKind::Agent).await.expect("list");
    assert_eq!(agents.iter().map(Nhi::id).collect::<Vec<_>>(), vec![a.id()]);
    let tools = store.list_nhis("t1", NhiKind::Tool).await.expect("list");
    assert_eq!(tools.iter().map(Nhi::id).collect::<Vec<_>>(), vec![t.id()]);

    let missing = store.update_nhi(agent("t1", "ghost"), 1).await;
    assert!(
        matches!(missing, Err(StoreError::NotFound(_))),
        "{missing:?}"
    );
}

async fn tenants_are_isolated(store: &DynStore) {
    let a = store
        .insert_nhi(agent("t2", "private"))
        .await
        .expect("insert");
    assert!(store.get_nhi("t3", a.id()).await.expect("get").is_none());
    assert!(
        store
            .list_nhis("t3", NhiKind::Agent)
            .await
            .expect("list")
            .is_empty()
    );
    assert!(!store.delete_nhi("t3", a.id()).await.expect("delete"));
    assert!(store.get_nhi("t2", a.id()).await.expect("get").is_some());
}

async fn relations(store: &DynStore) {
    let a = store
        .insert_nhi(agent("r1", "a"))
        .await
        .expect("insert")
        .id()
        .to_string();
    let b = store
        .insert_nhi(agent("r1", "b"))
        .await
        .expect("insert")
        .id()
        .to_string();
    let t = store
        .insert_nhi(tool("r1", "t"))
        .await
        .expect("insert")
        .id()
        .to_string();

    let grant = Relation::new("r1", RelationKind::ToolGrant, &a, &t);
    assert!(store.put_relation(grant.clone()).await.expect("grant"));
    assert!(
        !store
            .put_relation(grant.clone())
            .await
            .expect("grant again is no change")
    );
    let by_agent = store
        .relations("r1", RelationKind::ToolGrant, Some(&a), None)
        .await
        .expect("q");
    assert_eq!(by_agent, vec![grant.clone()]);
    let by_tool = store
        .relations("r1", RelationKind::ToolGrant, None, Some(&t))
        .await
        .expect("q");
    assert_eq!(by_tool, vec![grant.clone()]);
    assert!(
        store
            .relations("r2", RelationKind::ToolGrant, None, None)
            .await
            .expect("q")
            .is_empty()
    );

    store
        .put_relation(Relation::new("r1", RelationKind::Calling, &a, &b))
        .await
        .expect("edge");
    store
        .put_relation(Relation::new("r1", RelationKind::Delegation, &a, &b))
        .await
        .expect("edge");
    let calling = store
        .relations("r1", RelationKind::Calling, None, Some(&b))
        .await
        .expect("q");
    assert_eq!(calling.len(), 1);
    assert!(
        store
            .delete_relation(&Relation::new("r1", RelationKind::Calling, &a, &b))
            .await
            .expect("revoke")
    );
    assert!(
        !store
            .delete_relation(&Relation::new("r1", RelationKind::Calling, &a, &b))
            .await
            .expect("again")
    );
    assert_eq!(
        store
            .relations("r1", RelationKind::Delegation, Some(&a), None)
            .await
            .expect("q")
            .len(),
        1
    );

    let mut user = Relation::new("r1", RelationKind::User, &a, "alice");
    user.level = Some(PermissionLevel::Use);
    assert!(store.put_relation(user.clone()).await.expect("user grant"));
    user.level = Some(PermissionLevel::Admin);
    assert!(
        !store
            .put_relation(user.clone())
            .await
            .expect("level change is an update")
    );
    let users = store
        .relations("r1", RelationKind::User, Some(&a), None)
        .await
        .expect("q");
    assert_eq!(users, vec![user]);
}

async fn delete_cascades(store: &DynStore) {
    let a = store
        .insert_nhi(agent("d1", "a"))
        .await
        .expect("insert")
        .id();
    let t = store
        .insert_nhi(tool("d1", "t"))
        .await
        .expect("insert")
        .id();
    store
        .put_relation(Relation::new(
            "d1",
            RelationKind::ToolGrant,
            &a.to_string(),
            &t.to_string(),
        ))
        .await
        .expect("grant");
    assert!(store.delete_nhi("d1", t).await.expect("delete"));
    assert!(store.get_nhi("d1", t).await.expect("get").is_none());
    assert!(
        store
            .relations("d1", RelationKind::ToolGrant, None, None)
            .await
            .expect("q")
            .is_empty()
    );
    assert!(!store.delete_nhi("d1", t).await.expect("delete twice"));
}

async fn revisions_and_feed(store: &DynStore) {
    let mut feed = store.subscribe();
    let before = store.revision().await.expect("revision");
    store.insert_nhi(agent("f1", "a")).await.expect("insert");
    let after = store.revision().await.expect("revision");
    assert!(after > before);
    let announced = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match feed.recv().await {
                Ok(r) if r >= after => return r,
                Ok(_) => continue,
                Err(e) => panic!("feed closed: {e}"),
            }
        }
    })
    .await
    .expect("the write is announced on the change feed");
    assert_eq!(announced, after);
}

async fn snapshot_feeds_the_policy_engine(store: &DynStore) {
    let a = store
        .insert_nhi(agent("s1", "caller"))
        .await
        .expect("insert")
        .id()
        .to_string();
    let mut t = tool("s1", "lookup");
    if let Nhi::Tool(tool) = &mut t {
        tool.fields.upstream = Some("crm".into());
    }
    let t = store.insert_nhi(t).await.expect("insert").id().to_string();
    store
        .put_relation(Relation::new("s1", RelationKind::ToolGrant, &a, &t))
        .await
        .expect("grant");
    let snapshot = store.snapshot().await.expect("snapshot");
    assert_eq!(snapshot.revision, store.revision().await.expect("revision"));
    let directory = snapshot.to_directory().expect("directory");
    assert_eq!(directory.revision(), snapshot.revision);

    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies");
    let engine = portcullis_policy::Engine::from_dir(&root, Default::default()).expect("policies");
    engine.set_directory(std::sync::Arc::new(directory));
    let request = |tool: &str| {
        portcullis_policy::Request::new(
            "s1",
            portcullis_policy::EntityRef::agent(a.clone()),
            portcullis_policy::Action::CallTool,
            portcullis_policy::EntityRef::tool(tool),
        )
    };
    assert!(
        engine.decide(&request(&t)).allow,
        "the grant in the store allows the call"
    );
    let other = store
        .insert_nhi(tool("s1", "other"))
        .await
        .expect("insert")
        .id()
        .to_string();
    engine.set_directory(std::sync::Arc::new(
        store
            .snapshot()
            .await
            .expect("s")
            .to_directory()
            .expect("d"),
    ));
    assert!(!engine.decide(&request(&other)).allow, "no grant, no call");
}

/// Two tenants each give their own `alice` a permission: every later snapshot still
/// converts, and each tenant's agent keeps its grant.
async fn one_user_id_in_two_tenants(store: &DynStore) {
    let mut agents = Vec::new();
    for tenant in ["twin1", "twin2"] {
        let a = store.insert_nhi(agent(tenant, "a")).await.expect("insert");
        let t = store.insert_nhi(tool(tenant, "t")).await.expect("insert");
        let (a, t) = (a.id().to_string(), t.id().to_string());
        store
            .put_relation(Relation::new(tenant, RelationKind::ToolGrant, &a, &t))
            .await
            .expect("grant");
        let mut alice = Relation::new(tenant, RelationKind::User, &a, "alice");
        alice.level = Some(PermissionLevel::Use);
        store.put_relation(alice).await.expect("permission");
        agents.push((tenant, a, t));
    }
    let snapshot = store.snapshot().await.expect("snapshot");
    let built = snapshot.build_directory();
    assert_eq!(built.skipped, vec![], "nothing is left out");
    let directory = snapshot.to_directory().expect("directory");
    for tenant in ["twin1", "twin2"] {
        let alice = portcullis_policy::EntityRef::new(
            portcullis_policy::EntityKind::User,
            portcullis_registry::user_entity_id(tenant, "alice"),
        );
        assert!(directory.contains(&alice), "{alice}");
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies");
    let engine = portcullis_policy::Engine::from_dir(&root, Default::default()).expect("policies");
    engine.set_directory(std::sync::Arc::new(directory));
    for (tenant, a, t) in agents {
        let mut request = portcullis_policy::Request::new(
            tenant,
            portcullis_policy::EntityRef::agent(a),
            portcullis_policy::Action::CallTool,
            portcullis_policy::EntityRef::tool(t),
        );
        request.on_behalf_of = Some("alice".into());
        let decision = engine.decide(&request);
        assert!(decision.allow, "{tenant}: {decision:?}");
    }
}

async fn concurrent_updates_never_lose_one(store: &DynStore) {
    let a = store
        .insert_nhi(agent("c1", "contended"))
        .await
        .expect("insert");
    // Many writers each read, change and write with the version they read, retrying on a
    // conflict: every increment must land.
    let writers = 8;
    let mut tasks = Vec::new();
    for _ in 0..writers {
        let store = store.clone();
        let id = a.id();
        tasks.push(tokio::spawn(async move {
            let mut conflicts = 0;
            loop {
                let current = store.get_nhi("c1", id).await.expect("get").expect("exists");
                let mut next = current.clone();
                if let Nhi::Agent(agent) = &mut next {
                    agent.fields.max_delegation_depth += 1;
                }
                match store.update_nhi(next, current.version()).await {
                    Ok(_) => return conflicts,
                    Err(StoreError::Conflict { .. }) => conflicts += 1,
                    Err(e) => panic!("update failed: {e}"),
                }
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    let last = store
        .get_nhi("c1", a.id())
        .await
        .expect("get")
        .expect("exists");
    let Nhi::Agent(agent) = &last else {
        panic!("an agent")
    };
    assert_eq!(agent.fields.max_delegation_depth, writers);
    assert_eq!(last.version(), 1 + u64::from(writers));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_passes_the_contract() {
    let (store, _dir) = common::sqlite();
    // One process, no shared buckets: a shared rate limit needs Redis.
    assert!(matches!(
        store.rate_take("t:a", Duration::from_secs(1), 2).await,
        Err(StoreError::Invalid(_))
    ));
    contract(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_passes_the_contract() {
    let server = common::redis_server();
    let store = portcullis_registry::RedisStore::connect(&server.url, "contract")
        .await
        .expect("connect");
    // A shared bucket: a burst of 2, then one token a second; other keys are other buckets.
    let second = Duration::from_secs(1);
    assert_eq!(store.rate_take("t:a", second, 2).await.unwrap(), None);
    assert_eq!(store.rate_take("t:a", second, 2).await.unwrap(), None);
    let wait = store
        .rate_take("t:a", second, 2)
        .await
        .unwrap()
        .expect("empty");
    assert!(wait > Duration::ZERO && wait <= second, "{wait:?}");
    assert_eq!(store.rate_take("t:b", second, 2).await.unwrap(), None);
    let fast = Duration::from_millis(20);
    assert_eq!(store.rate_take("t:c", fast, 1).await.unwrap(), None);
    assert!(store.rate_take("t:c", fast, 1).await.unwrap().is_some());
    tokio::time::sleep(Duration::from_millis(40)).await;
    assert_eq!(
        store.rate_take("t:c", fast, 1).await.unwrap(),
        None,
        "refilled"
    );
    contract(std::sync::Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_change_feed_crosses_instances() {
    let server = common::redis_server();
    let writer: DynStore = std::sync::Arc::new(
        portcullis_registry::RedisStore::connect(&server.url, "shared")
            .await
            .expect("connect writer"),
    );
    let reader: DynStore = std::sync::Arc::new(
        portcullis_registry::RedisStore::connect(&server.url, "shared")
            .await
            .expect("connect reader"),
    );
    let mut feed = reader.subscribe();
    let a = writer
        .insert_nhi(agent("x1", "remote"))
        .await
        .expect("insert");
    let written = writer.revision().await.expect("revision");
    let announced = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match feed.recv().await {
                Ok(r) if r >= written => return r,
                Ok(_) => continue,
                Err(e) => panic!("feed closed: {e}"),
            }
        }
    })
    .await
    .expect("the other instance announces the write");
    assert_eq!(announced, written);
    let snapshot = reader.snapshot().await.expect("snapshot");
    assert!(snapshot.revision >= written);
    assert!(snapshot.nhis.iter().any(|n| n.id() == a.id()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_change_feed_survives_a_dropped_subscription() {
    let server = common::redis_server();
    let store: DynStore = std::sync::Arc::new(
        portcullis_registry::RedisStore::connect(&server.url, "resub")
            .await
            .expect("connect"),
    );
    let mut feed = store.subscribe();
    let mut admin = redis::Client::open(server.url.as_str())
        .expect("client")
        .get_multiplexed_async_connection()
        .await
        .expect("admin connection");
    let killed: u64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("pubsub")
        .query_async(&mut admin)
        .await
        .expect("kill the subscriber");
    assert_eq!(killed, 1);
    store.insert_nhi(agent("k1", "a")).await.expect("insert");
    let written = store.revision().await.expect("revision");
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match feed.recv().await {
                Ok(r) if r >= written => return,
                Ok(_) => continue,
                Err(e) => panic!("feed closed: {e}"),
            }
        }
    })
    .await
    .expect("the feed resubscribes and announces the write");
}

/// A Redis restarted without its data (no persistence, or a failover to an empty replica)
/// starts counting revisions again from zero. A follower that had installed a later revision
/// follows it back instead of ignoring every write until the count catches up — a suspension
/// made then would otherwise never reach the gateways.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_follows_a_redis_that_lost_its_data() {
    let mut server = common::redis_server();
    let store: DynStore = std::sync::Arc::new(
        portcullis_registry::RedisStore::connect(&server.url, "lost")
            .await
            .expect("connect"),
    );
    for n in 0..5 {
        store
            .insert_nhi(agent("acme", &format!("before-{n}")))
            .await
            .expect("insert");
    }
    let view = std::sync::Arc::new(portcullis_registry::RegistryView::new());
    let names = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let seen = names.clone();
    let _follower = portcullis_registry::follow(store.clone(), view.clone(), move |snap, _| {
        *seen.lock().unwrap() = snap.nhis.iter().map(|n| n.common().name.clone()).collect();
        Ok(())
    })
    .await;
    let before = view.status().installed.expect("installed");
    assert!(before >= 5, "{before}");
    let until = time::OffsetDateTime::now_utc() + time::Duration::hours(1);
    for n in 0..3 {
        store
            .end_session(&format!("old-{n}"), until)
            .await
            .expect("end");
    }
    let (_, cursor) = store.ended_sessions(0).await.expect("ended");

    server.restart();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    // Writes fail until the connection is back.
    while store.insert_nhi(agent("acme", "after")).await.is_err() {
        assert!(std::time::Instant::now() < deadline, "no reconnect");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(store.revision().await.expect("revision") < before);
    // The ended-session log starts again too, past the old cursor's sequence number before
    // anyone reads it: a reader at the old cursor still gets every new entry.
    for n in 0..5 {
        store
            .end_session(&format!("new-{n}"), until)
            .await
            .expect("end");
    }
    let (ids, _) = store.ended_sessions(cursor).await.expect("ended");
    assert_eq!(ids.len(), 5, "{ids:?}");
    loop {
        if *names.lock().unwrap() == ["after"] && view.check(Duration::from_secs(5)).is_ok() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the view stayed at {:?}: {:?}",
            view.status(),
            names.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
