//! The audit trail: admin writes recorded with their actor beside gateway events; `GET /audit`
//! filters, pages with a cursor and exports JSON lines.

use std::collections::HashSet;

use portcullis_registry::AuditRecord;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Api, sqlite};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_writes_are_audited_and_the_trail_is_queried() {
    let (store, _dir) = sqlite();
    let api = Api::start(store.clone()).await;
    let root = api.token("root", "acme", true);
    let call = |method: Method, path: String, body: Option<Value>| {
        let (api, root) = (&api, root.clone());
        async move { api.call(method, &path, Some(&root), body).await }
    };
    let (_, agent) = call(
        Method::POST,
        "/nhi/agents".into(),
        Some(json!({"name": "a1"})),
    )
    .await;
    let agent = agent["id"].as_str().unwrap().to_owned();
    let (_, tool) = call(
        Method::POST,
        "/nhi/tools".into(),
        Some(json!({"name": "t1", "input_schema": {"type": "object"}})),
    )
    .await;
    let tool = tool["id"].as_str().unwrap().to_owned();
    call(
        Method::PATCH,
        format!("/nhi/agents/{agent}"),
        Some(json!({"description": "d"})),
    )
    .await;
    call(
        Method::POST,
        format!("/nhi/agents/{agent}/tools/{tool}/grant"),
        Some(json!({})),
    )
    .await;
    call(
        Method::POST,
        format!("/nhi/agents/{agent}/suspend"),
        Some(json!({"reason": "incident 7"})),
    )
    .await;
    // A refused write is not an audited one.
    let (status, _) = call(
        Method::POST,
        "/nhi/agents".into(),
        Some(json!({"name": ""})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = call(Method::DELETE, format!("/nhi/tools/{tool}"), None).await;
    assert!(status.is_success());
    // Gateway events, as the gateway writes them, an hour apart in the past.
    let now = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
    let gateway: Vec<AuditRecord> = (0..6)
        .map(|i| {
            let e = json!({"principal": if i % 2 == 0 { "p-even" } else { "p-odd" },
                "tool": "files_read", "decision": if i == 5 { "deny" } else { "allow" }, "n": i});
            AuditRecord::new("acme", now - (10 - i) * 3_600_000, &e).unwrap()
        })
        .collect();
    store.append_audit(gateway).await.unwrap();

    let get = |query: &str| {
        let (api, root) = (&api, root.clone());
        let path = format!("/audit{query}");
        async move { api.call(Method::GET, &path, Some(&root), None).await }
    };
    let (status, all) = get("?limit=1000").await;
    assert_eq!(status, StatusCode::OK, "{all}");
    let events: Vec<&str> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["event"].as_str())
        .collect();
    for expected in [
        "admin.create",
        "admin.update",
        "admin.grant",
        "admin.suspend",
        "admin.delete",
    ] {
        assert!(events.contains(&expected), "{expected} missing: {all}");
    }
    assert_eq!(
        events.iter().filter(|e| **e == "admin.create").count(),
        2,
        "two creations, the refused one not"
    );
    let (_, mine) = get("?actor=root&event=admin.suspend").await;
    let suspend = &mine["items"][0];
    assert_eq!(suspend["actor"], "root");
    assert_eq!(suspend["route"], "/nhi/agents/{id}/suspend");
    assert_eq!(suspend["path"], format!("/nhi/agents/{agent}/suspend"));

    let (_, denied) = get("?decision=deny").await;
    assert_eq!(denied["items"].as_array().unwrap().len(), 1);
    assert_eq!(denied["items"][0]["n"], 5);
    let (_, odd) = get("?principal=p-odd&tool=files_read").await;
    let ns: Vec<i64> = odd["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["n"].as_i64().unwrap())
        .collect();
    assert_eq!(ns, vec![5, 3, 1], "newest first");
    // A time range: events 2..=4 (8 to 6 hours ago).
    let at = |hours: i64| {
        let t = time::OffsetDateTime::from_unix_timestamp(now / 1000 - hours * 3600).unwrap();
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let (_, range) = get(&format!(
        "?principal=p-even&from={}&to={}",
        at(8).replace('+', "%2B"),
        at(6).replace('+', "%2B")
    ))
    .await;
    let ns: Vec<i64> = range["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["n"].as_i64().unwrap())
        .collect();
    assert_eq!(ns, vec![4, 2], "{range}");

    // Pages of two cover the gateway events once each.
    let mut seen = HashSet::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10 {
        let q = match &cursor {
            Some(c) => format!("?tool=files_read&limit=2&cursor={c}"),
            None => "?tool=files_read&limit=2".to_owned(),
        };
        let (_, page) = get(&q).await;
        for e in page["items"].as_array().unwrap() {
            assert!(seen.insert(e["n"].as_i64().unwrap()), "no event twice");
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 6);

    // JSON lines.
    let resp = api
        .http
        .get(format!(
            "{}/audit?tool=files_read&limit=4&format=jsonl",
            api.base
        ))
        .bearer_auth(&root)
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.headers()["content-type"].to_str().unwrap(),
        "application/x-ndjson"
    );
    assert!(resp.headers().contains_key("portcullis-next-cursor"));
    let text = resp.text().await.unwrap();
    assert_eq!(text.lines().count(), 4);
    assert!(
        text.lines()
            .all(|l| serde_json::from_str::<Value>(l).is_ok())
    );

    for bad in [
        "?limit=0",
        "?from=yesterday",
        "?format=xml",
        "?cursor=nope",
        "?what=1",
    ] {
        let (status, body) = get(bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
    let member = api.token("member", "acme", false);
    let (status, _) = api.call(Method::GET, "/audit", Some(&member), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let other = api.token("root", "globex", true);
    let (_, theirs) = api.call(Method::GET, "/audit", Some(&other), None).await;
    assert_eq!(theirs["items"], json!([]));

    // Stored out of the order they happened (a gateway's batch kept through a store outage
    // lands after newer records): `from` still finds a record in its range stored before an
    // older one.
    let now = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
    let record = |principal: &str, minutes_ago: i64| {
        AuditRecord::new(
            "acme",
            now - minutes_ago * 60_000,
            &json!({"principal": principal, "decision": "allow"}),
        )
        .unwrap()
    };
    store
        .append_audit(vec![record("p-in-range", 5)])
        .await
        .unwrap();
    store
        .append_audit(vec![record("p-late", 12)])
        .await
        .unwrap();
    let from = time::OffsetDateTime::from_unix_timestamp(now / 1000 - 6 * 60)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let (_, found) = get(&format!("?from={}", from.replace('+', "%2B"))).await;
    let principals: Vec<&str> = found["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["principal"].as_str())
        .collect();
    assert_eq!(principals, vec!["p-in-range"], "{found}");
}
