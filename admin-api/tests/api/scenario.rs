//! One scenario covering every endpoint and the bad inputs, run on SQLite and on Redis.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Api, BODY_LIMIT, sqlite};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_on_sqlite() {
    let (store, _dir) = sqlite();
    scenario(&Api::start(store).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_on_redis() {
    let server = portcullis_registry::testutil::RedisServer::start();
    let store = portcullis_registry::RedisStore::connect(&server.url, "api-scenario")
        .await
        .expect("connect");
    scenario(&Api::start(std::sync::Arc::new(store)).await).await;
}

fn id(v: &Value) -> String {
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {v}"))
        .to_owned()
}

fn assert_error(status: StatusCode, body: &Value, want: StatusCode, needle: &str) {
    assert_eq!(status, want, "{body}");
    let message = body["message"]
        .as_str()
        .unwrap_or_else(|| panic!("no message in {body}"));
    assert!(body["error"].is_string(), "{body}");
    assert!(
        message.contains(needle),
        "expected `{needle}` in `{message}`"
    );
}

async fn scenario(api: &Api) {
    let admin = api.token("root", "acme", true);
    let other_admin = api.token("root", "globex", true);
    let bob = api.token("bob", "acme", false);
    let a = Some(admin.as_str());

    // --- create ---
    let (st, sa) = api.call(Method::POST, "/nhi/service-accounts", a, Some(json!({"name": "backup-job", "description": "nightly backups", "owner_id": "alice", "risk_level": "medium"}))).await;
    assert_eq!(st, StatusCode::CREATED, "{sa}");
    assert_eq!(
        (
            sa["kind"].as_str(),
            sa["version"].as_u64(),
            sa["lifecycle_state"].as_str()
        ),
        (Some("service_account"), Some(1), Some("active"))
    );
    let sa_id = id(&sa);
    let (st, agent) = api.call(Method::POST, "/nhi/agents", a, Some(json!({"name": "planner", "agent_type": "assistant", "model_provider": "acme-ai", "model_name": "m1", "max_delegation_depth": 2}))).await;
    assert_eq!(st, StatusCode::CREATED, "{agent}");
    let agent_id = id(&agent);
    let (_, helper) = api
        .call(
            Method::POST,
            "/nhi/agents",
            a,
            Some(json!({"name": "researcher"})),
        )
        .await;
    let helper_id = id(&helper);
    let schema =
        json!({"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]});
    let (st, tool) = api.call(Method::POST, "/nhi/tools", a, Some(json!({"name": "read_file", "category": "filesystem", "input_schema": schema, "upstream": "files", "annotations": {"readOnlyHint": true}}))).await;
    assert_eq!(st, StatusCode::CREATED, "{tool}");
    let tool_id = id(&tool);
    let (_, risky) = api.call(Method::POST, "/nhi/tools", a, Some(json!({"name": "wire_transfer", "category": "payments", "requires_approval": true, "risk_level": "critical"}))).await;
    let risky_id = id(&risky);

    // --- bad input ---
    let (st, b) = api
        .call(
            Method::POST,
            "/nhi/tools",
            a,
            Some(json!({"name": "bad", "input_schema": {"type": "objekt"}})),
        )
        .await;
    assert_error(st, &b, StatusCode::UNPROCESSABLE_ENTITY, "input_schema");
    let (st, b) = api
        .call(
            Method::POST,
            "/nhi/agents",
            a,
            Some(json!({"name": "x", "colour": "red"})),
        )
        .await;
    assert_error(st, &b, StatusCode::BAD_REQUEST, "colour");
    let (st, b) = api
        .call(
            Method::POST,
            "/nhi/agents",
            a,
            Some(json!({"name": "x", "max_delegation_depth": "two"})),
        )
        .await;
    assert_error(st, &b, StatusCode::BAD_REQUEST, "max_delegation_depth");
    let (st, b) = api
        .call(
            Method::POST,
            "/nhi/agents",
            a,
            Some(json!({"description": "no name"})),
        )
        .await;
    assert_error(st, &b, StatusCode::BAD_REQUEST, "name");
    let (st, b) = api
        .call(Method::POST, "/nhi/agents", a, Some(json!({"name": "   "})))
        .await;
    assert_error(st, &b, StatusCode::BAD_REQUEST, "name");
    let (st, b) = api
        .call(
            Method::POST,
            "/nhi/agents",
            a,
            Some(json!({"name": "x", "risk_level": "extreme"})),
        )
        .await;
    assert_error(st, &b, StatusCode::BAD_REQUEST, "risk_level");
    let (st, b) = api
        .raw(
            Method::POST,
            "/nhi/agents",
            &admin,
            Some("application/json"),
            b"{\"name\": ".to_vec(),
        )
        .await;
    assert_error(st, &b, StatusCode::BAD_REQUEST, "malformed JSON");
    let (st, b) = api
        .raw(
            Method::POST,
            "/nhi/agents",
            &admin,
            None,
            b"{\"name\": \"x\"}".to_vec(),
        )
        .await;
    assert_error(
        st,
        &b,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "application/json",
    );
    let big = format!(
        "{{\"name\": \"x\", \"description\": \"{}\"}}",
        "a".repeat(BODY_LIMIT + 10)
    );
    let (st, b) = api
        .raw(
            Method::POST,
            "/nhi/agents",
            &admin,
            Some("application/json"),
            big.into_bytes(),
        )
        .await;
    assert_error(st, &b, StatusCode::PAYLOAD_TOO_LARGE, "larger");
    let (st, b) = api
        .call(Method::GET, "/nhi/agents/not-a-uuid", a, None)
        .await;
    assert_error(st, &b, StatusCode::BAD_REQUEST, "not-a-uuid");
    let (st, b) = api
        .call(Method::GET, "/nhi/agents?limit=abc", a, None)
        .await;
    assert_error(st, &b, StatusCode::BAD_REQUEST, "query");
    let (st, b) = api
        .call(Method::GET, "/nhi/agents?colour=red", a, None)
        .await;
    assert_error(st, &b, StatusCode::BAD_REQUEST, "colour");
    let (st, b) = api
        .call(Method::GET, "/nhi/agents?category=x", a, None)
        .await;
    assert_error(st, &b, StatusCode::BAD_REQUEST, "tools only");

    // --- auth ---
    let (st, b) = api.call(Method::GET, "/nhi/agents", None, None).await;
    assert_error(st, &b, StatusCode::UNAUTHORIZED, "Bearer");
    let (st, b) = api
        .call(Method::GET, "/nhi/agents", Some("not.a.token"), None)
        .await;
    assert_error(st, &b, StatusCode::UNAUTHORIZED, "token");
    let forged = portcullis_identity::TokenKey::new(vec![1; 32], "portcullis", "portcullis")
        .issue("root", "acme", &["admin".into()], 60)
        .expect("sign");
    let (st, b) = api
        .call(Method::GET, "/nhi/agents", Some(&forged), None)
        .await;
    assert_error(st, &b, StatusCode::UNAUTHORIZED, "signature");
    let (st, b) = api
        .call(
            Method::POST,
            "/nhi/agents",
            Some(&bob),
            Some(json!({"name": "mine"})),
        )
        .await;
    assert_error(st, &b, StatusCode::FORBIDDEN, "admin");

    // --- read, list, filters, summary ---
    let (st, got) = api
        .call(Method::GET, &format!("/nhi/agents/{agent_id}"), a, None)
        .await;
    assert_eq!(
        (st, got["name"].as_str()),
        (StatusCode::OK, Some("planner"))
    );
    let (st, _) = api
        .call(Method::GET, &format!("/nhi/tools/{agent_id}"), a, None)
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "an agent id is not a tool");
    let (_, page) = api
        .call(Method::GET, "/nhi/agents?limit=1&offset=1", a, None)
        .await;
    assert_eq!(
        (
            page["total"].as_u64(),
            page["items"].as_array().map(Vec::len)
        ),
        (Some(2), Some(1))
    );
    assert_eq!(page["items"][0]["name"], "researcher");
    let (_, page) = api
        .call(Method::GET, "/nhi/agents?search=PLAN", a, None)
        .await;
    assert_eq!(page["total"], 1);
    let (_, page) = api
        .call(Method::GET, "/nhi/tools?requires_approval=true", a, None)
        .await;
    assert_eq!(
        (page["total"].as_u64(), page["items"][0]["name"].as_str()),
        (Some(1), Some("wire_transfer"))
    );
    let (_, page) = api
        .call(
            Method::GET,
            "/nhi/tools?category=filesystem&risk_level=low",
            a,
            None,
        )
        .await;
    assert_eq!(page["total"], 1);
    let (_, page) = api
        .call(Method::GET, "/nhi/service-accounts?search=nightly", a, None)
        .await;
    assert_eq!(page["total"], 1);
    let (_, page) = api.call(Method::GET, "/nhi", a, None).await;
    assert_eq!(page["total"], 5);
    let (_, page) = api.call(Method::GET, "/nhi?kind=tool", a, None).await;
    assert_eq!(page["total"], 2);

    // --- update, versions, lifecycle ---
    let path = format!("/nhi/agents/{agent_id}");
    let (st, v2) = api
        .call(
            Method::PATCH,
            &path,
            a,
            Some(json!({"version": 1, "description": "plans"})),
        )
        .await;
    assert_eq!(
        (st, v2["version"].as_u64(), v2["description"].as_str()),
        (StatusCode::OK, Some(2), Some("plans")),
        "{v2}"
    );
    let (st, b) = api
        .call(
            Method::PATCH,
            &path,
            a,
            Some(json!({"version": 1, "description": "stale"})),
        )
        .await;
    assert_error(st, &b, StatusCode::CONFLICT, "version");
    let resp = api
        .http
        .patch(format!("{}{path}", api.base))
        .bearer_auth(&admin)
        .header("if-match", "\"1\"")
        .json(&json!({"name": "x"}))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    let (st, b) = api
        .call(
            Method::PATCH,
            &path,
            a,
            Some(json!({"category": "tools-only"})),
        )
        .await;
    assert_error(st, &b, StatusCode::BAD_REQUEST, "agent");
    let (st, b) = api
        .call(
            Method::PATCH,
            &path,
            a,
            Some(json!({"lifecycle_state": "archived"})),
        )
        .await;
    assert_error(st, &b, StatusCode::CONFLICT, "illegal lifecycle transition");
    let (st, b) = api
        .call(
            Method::PATCH,
            &format!("/nhi/tools/{tool_id}"),
            a,
            Some(json!({"input_schema": {"type": 5}})),
        )
        .await;
    assert_error(st, &b, StatusCode::UNPROCESSABLE_ENTITY, "input_schema");

    let (st, b) = api
        .call(Method::POST, &format!("{path}/suspend"), a, Some(json!({})))
        .await;
    assert_error(st, &b, StatusCode::BAD_REQUEST, "reason");
    let (st, s) = api
        .call(
            Method::POST,
            &format!("{path}/suspend"),
            a,
            Some(json!({"reason": "leaked key"})),
        )
        .await;
    assert_eq!(
        (
            st,
            s["lifecycle_state"].as_str(),
            s["lifecycle_reason"].as_str()
        ),
        (StatusCode::OK, Some("suspended"), Some("leaked key"))
    );
    let (st, b) = api
        .call(
            Method::POST,
            &format!("{path}/suspend"),
            a,
            Some(json!({"reason": "again"})),
        )
        .await;
    assert_error(st, &b, StatusCode::CONFLICT, "`suspended` to `suspended`");
    let (st, r) = api
        .call(
            Method::POST,
            &format!("{path}/reactivate"),
            a,
            Some(json!({"reason": "rotated"})),
        )
        .await;
    assert_eq!(
        (st, r["lifecycle_state"].as_str()),
        (StatusCode::OK, Some("active"))
    );
    let sa_path = format!("/nhi/service-accounts/{sa_id}");
    let (st, s) = api
        .call(
            Method::POST,
            &format!("{sa_path}/suspend"),
            a,
            Some(json!({"reason": "audit"})),
        )
        .await;
    assert_eq!(
        (st, s["lifecycle_state"].as_str()),
        (StatusCode::OK, Some("suspended"))
    );
    let (_, summary) = api
        .call(Method::GET, "/nhi/service-accounts/summary", a, None)
        .await;
    assert_eq!(
        (
            summary["total"].as_u64(),
            summary["by_status"]["suspended"].as_u64(),
            summary["by_risk_level"]["medium"].as_u64()
        ),
        (Some(1), Some(1), Some(1)),
        "{summary}"
    );
    let (_, reac) = api
        .call(
            Method::POST,
            &format!("{sa_path}/reactivate"),
            a,
            Some(json!({"reason": "cleared"})),
        )
        .await;
    assert_eq!(reac["lifecycle_state"], "active");
    let (st, t) = api
        .call(
            Method::POST,
            &format!("{sa_path}/transfer"),
            a,
            Some(json!({"new_owner_id": "carol"})),
        )
        .await;
    assert_eq!(
        (st, t["owner_id"].as_str()),
        (StatusCode::OK, Some("carol"))
    );
    let (st, b) = api
        .call(
            Method::POST,
            &format!("{sa_path}/transfer"),
            a,
            Some(json!({})),
        )
        .await;
    assert_error(st, &b, StatusCode::BAD_REQUEST, "new_owner_id");

    // --- grants ---
    let (st, g) = api
        .call(
            Method::POST,
            &format!("{path}/tools/{tool_id}/grant"),
            a,
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{g}");
    let (_, tools) = api
        .call(Method::GET, &format!("{path}/tools"), a, None)
        .await;
    assert_eq!(
        tools["items"]
            .as_array()
            .map(|t| t.iter().map(|t| t["id"].clone()).collect::<Vec<_>>()),
        Some(vec![json!(tool_id)])
    );
    assert_eq!(
        (tools["total"].as_u64(), tools["limit"].as_u64()),
        (Some(1), Some(50))
    );
    let (_, agents) = api
        .call(
            Method::GET,
            &format!("/nhi/tools/{tool_id}/agents"),
            a,
            None,
        )
        .await;
    assert_eq!(agents["items"][0]["id"], json!(agent_id));
    let (st, _) = api
        .call(
            Method::POST,
            &format!("{path}/tools/{agent_id}/grant"),
            a,
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "an agent is not a tool");
    let (st, b) = api
        .call(
            Method::POST,
            &format!("{path}/tools/{risky_id}/revoke"),
            a,
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "nothing to revoke is not an error: {b}");
    assert_eq!(
        (b["tool_id"].as_str(), &b["granted"], &b["revoked"]),
        (Some(risky_id.as_str()), &json!(false), &json!(false)),
        "{b}"
    );
    let (st, _) = api
        .call(
            Method::POST,
            &format!("{path}/tools/{tool_id}/revoke"),
            a,
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (_, tools) = api
        .call(Method::GET, &format!("{path}/tools"), a, None)
        .await;
    assert_eq!(
        tools,
        json!({"items": [], "total": 0, "limit": 50, "offset": 0})
    );

    // --- NHI-to-NHI ---
    let (st, e) = api
        .call(
            Method::POST,
            &format!("/nhi/{agent_id}/call/{helper_id}/grant"),
            a,
            Some(json!({"permission_type": "delegation"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{e}");
    let (st, _) = api
        .call(
            Method::POST,
            &format!("/nhi/{sa_id}/call/{helper_id}/grant"),
            a,
            Some(json!({"permission_type": "calling"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    // "Grant agent A permission to call tool B" is a tool grant.
    let (st, b) = api
        .call(
            Method::POST,
            &format!("/nhi/{agent_id}/call/{tool_id}/grant"),
            a,
            Some(json!({"permission_type": "calling"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(b["tool_grant"], true);
    let (_, tools) = api
        .call(
            Method::GET,
            &format!("/nhi/agents/{agent_id}/tools"),
            a,
            None,
        )
        .await;
    assert!(
        tools["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["id"] == tool_id.as_str()),
        "{tools}"
    );
    // Revoked without a body: the only permission the agent holds on the tool.
    let (st, b) = api
        .call(
            Method::POST,
            &format!("/nhi/{agent_id}/call/{tool_id}/revoke"),
            a,
            None,
        )
        .await;
    assert_eq!((st, &b["revoked"]), (StatusCode::OK, &json!(true)), "{b}");
    // Revoking again is not an error, as granting again is not: nothing is held any more.
    let (st, b) = api
        .call(
            Method::POST,
            &format!("/nhi/{agent_id}/call/{tool_id}/revoke"),
            a,
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(
        (&b["granted"], &b["revoked"]),
        (&json!(false), &json!(false)),
        "{b}"
    );
    // A tool calls nothing.
    let (st, b) = api
        .call(
            Method::POST,
            &format!("/nhi/{tool_id}/call/{agent_id}/grant"),
            a,
            Some(json!({"permission_type": "calling"})),
        )
        .await;
    assert_error(st, &b, StatusCode::BAD_REQUEST, "calling");
    let (st, b) = api
        .call(
            Method::POST,
            &format!("/nhi/{agent_id}/call/{helper_id}/grant"),
            a,
            Some(json!({"permission_type": "friendship"})),
        )
        .await;
    assert_error(st, &b, StatusCode::BAD_REQUEST, "permission_type");
    let (_, callers) = api
        .call(Method::GET, &format!("/nhi/{helper_id}/callers"), a, None)
        .await;
    let mut seen: Vec<(String, String)> = callers["items"]
        .as_array()
        .expect("list")
        .iter()
        .map(|c| {
            (
                c["nhi"]["id"].as_str().unwrap().to_owned(),
                c["permission_type"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    seen.sort();
    let mut want = vec![
        (agent_id.clone(), "delegation".to_owned()),
        (sa_id.clone(), "calling".to_owned()),
    ];
    want.sort();
    assert_eq!(seen, want);
    let (_, callees) = api
        .call(Method::GET, &format!("/nhi/{agent_id}/callees"), a, None)
        .await;
    assert_eq!(
        (
            callees["items"][0]["nhi"]["id"].as_str(),
            callees["items"][0]["permission_type"].as_str()
        ),
        (Some(helper_id.as_str()), Some("delegation"))
    );
    let (st, _) = api
        .call(
            Method::POST,
            &format!("/nhi/{agent_id}/call/{helper_id}/revoke"),
            a,
            Some(json!({"permission_type": "delegation"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, b) = api
        .call(
            Method::POST,
            &format!("/nhi/{agent_id}/call/{helper_id}/revoke"),
            a,
            Some(json!({"permission_type": "delegation"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(
        (&b["permission_type"], &b["revoked"]),
        (&json!("delegation"), &json!(false)),
        "{b}"
    );
    let (_, callees) = api
        .call(Method::GET, &format!("/nhi/{agent_id}/callees"), a, None)
        .await;
    assert_eq!(callees["items"], json!([]));
    assert_eq!(callees["total"], 0);

    // --- user-to-NHI and what a non-admin sees ---
    let (_, page) = api.call(Method::GET, "/nhi/agents", Some(&bob), None).await;
    assert_eq!(page["total"], 0, "bob holds no permission yet");
    let (st, g) = api
        .call(
            Method::POST,
            &format!("/nhi/{agent_id}/users/bob/grant"),
            a,
            Some(json!({"permission_level": "manage"})),
        )
        .await;
    assert_eq!(
        (st, g["permission_level"].as_str()),
        (StatusCode::OK, Some("manage"))
    );
    // Grant and revoke answer the same shape: which NHI, which user, and what changed.
    assert_eq!(
        (
            g["nhi_id"].as_str(),
            &g["user_id"],
            &g["granted"],
            &g["created"]
        ),
        (
            Some(agent_id.as_str()),
            &json!("bob"),
            &json!(true),
            &json!(true)
        ),
        "{g}"
    );
    let (st, b) = api
        .call(
            Method::POST,
            &format!("/nhi/{agent_id}/users/bob/grant"),
            a,
            Some(json!({"permission_level": "owner"})),
        )
        .await;
    assert_error(st, &b, StatusCode::BAD_REQUEST, "permission_level");
    let (_, users) = api
        .call(Method::GET, &format!("/nhi/{agent_id}/users"), a, None)
        .await;
    assert_eq!(
        users,
        json!({"items": [{"user_id": "bob", "permission_level": "manage"}], "total": 1,
            "limit": 50, "offset": 0})
    );
    let (_, page) = api.call(Method::GET, "/nhi", Some(&bob), None).await;
    assert_eq!(
        (page["total"].as_u64(), page["items"][0]["id"].as_str()),
        (Some(1), Some(agent_id.as_str()))
    );
    let (st, _) = api.call(Method::GET, &path, Some(&bob), None).await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = api
        .call(
            Method::GET,
            &format!("/nhi/agents/{helper_id}"),
            Some(&bob),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "no permission: invisible");
    let (st, b) = api
        .call(
            Method::PATCH,
            &path,
            Some(&bob),
            Some(json!({"description": "mine now"})),
        )
        .await;
    // `manage` configures and updates; lifecycle changes and deletion need `admin`.
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(b["description"], "mine now");
    let (st, b) = api.call(Method::DELETE, &path, Some(&bob), None).await;
    assert_error(st, &b, StatusCode::FORBIDDEN, "admin");
    let (st, b) = api
        .call(
            Method::POST,
            &format!("{path}/suspend"),
            Some(&bob),
            Some(json!({"reason": "mine to stop"})),
        )
        .await;
    assert_error(st, &b, StatusCode::FORBIDDEN, "admin");
    let (st, _) = api
        .call(
            Method::POST,
            &format!("/nhi/{agent_id}/users/carol/grant"),
            a,
            Some(json!({"permission_level": "admin"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let carol = api.token("carol", "acme", false);
    for (verb, reason) in [
        ("suspend", "carol stops it"),
        ("reactivate", "carol restarts it"),
    ] {
        let (st, b) = api
            .call(
                Method::POST,
                &format!("{path}/{verb}"),
                Some(&carol),
                Some(json!({"reason": reason})),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{verb}: {b}");
    }
    // The super_admin role bypasses the checks like admin.
    let root = api
        .key
        .issue("root", "acme", &["super_admin".to_owned()], 600)
        .unwrap();
    let (st, b) = api
        .call(
            Method::PATCH,
            &path,
            Some(&root),
            Some(json!({"description": "by the super admin"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let (st, _) = api
        .call(
            Method::POST,
            &format!("/nhi/{agent_id}/users/carol/revoke"),
            a,
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (_, acc) = api
        .call(Method::GET, "/nhi/users/bob/accessible", Some(&bob), None)
        .await;
    assert_eq!(
        (
            acc["items"][0]["nhi"]["id"].as_str(),
            acc["items"][0]["permission_level"].as_str()
        ),
        (Some(agent_id.as_str()), Some("manage"))
    );
    let (st, _) = api
        .call(Method::GET, "/nhi/users/alice/accessible", Some(&bob), None)
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    for revoked in [true, false] {
        let (st, b) = api
            .call(
                Method::POST,
                &format!("/nhi/{agent_id}/users/bob/revoke"),
                a,
                None,
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{b}");
        assert_eq!(
            (
                b["nhi_id"].as_str(),
                &b["user_id"],
                &b["granted"],
                &b["revoked"]
            ),
            (
                Some(agent_id.as_str()),
                &json!("bob"),
                &json!(false),
                &json!(revoked)
            ),
            "{b}"
        );
    }
    let (_, page) = api.call(Method::GET, "/nhi", Some(&bob), None).await;
    assert_eq!(page["total"], 0);

    // --- tenants ---
    let o = Some(other_admin.as_str());
    for p in [
        path.clone(),
        format!("/nhi/tools/{tool_id}"),
        sa_path.clone(),
    ] {
        let (st, _) = api.call(Method::GET, &p, o, None).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{p} from another tenant");
    }
    let (st, _) = api
        .call(
            Method::PATCH,
            &path,
            o,
            Some(json!({"description": "hijack"})),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = api.call(Method::DELETE, &path, o, None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = api
        .call(
            Method::POST,
            &format!("/nhi/{agent_id}/users/mallory/grant"),
            o,
            Some(json!({"permission_level": "admin"})),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (_, page) = api.call(Method::GET, "/nhi", o, None).await;
    assert_eq!(page["total"], 0);

    // --- delete ---
    let (st, body) = api
        .call(Method::DELETE, &format!("/nhi/tools/{risky_id}"), a, None)
        .await;
    assert_eq!((st, body), (StatusCode::NO_CONTENT, Value::Null));
    let (st, _) = api
        .call(Method::GET, &format!("/nhi/tools/{risky_id}"), a, None)
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = api
        .call(Method::DELETE, &format!("/nhi/tools/{risky_id}"), a, None)
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    let (st, t) = api
        .call(
            Method::PATCH,
            &format!("/nhi/tools/{tool_id}"),
            a,
            Some(json!({"requires_approval": true, "input_schema": {"type": "object"}})),
        )
        .await;
    assert_eq!(
        (
            st,
            t["requires_approval"].as_bool(),
            t["input_schema"].clone()
        ),
        (StatusCode::OK, Some(true), json!({"type": "object"})),
        "{t}"
    );
    let (st, _) = api
        .call(
            Method::POST,
            &format!("{path}/tools/{tool_id}/grant"),
            a,
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = api.call(Method::DELETE, &path, a, None).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (_, agents) = api
        .call(
            Method::GET,
            &format!("/nhi/tools/{tool_id}/agents"),
            a,
            None,
        )
        .await;
    assert_eq!(
        agents["items"],
        json!([]),
        "deleting the agent removed its grant"
    );
    let resp = api
        .http
        .delete(format!("{}{sa_path}", api.base))
        .bearer_auth(&admin)
        .header("if-match", "1")
        .send()
        .await
        .expect("send");
    assert_eq!(
        resp.status(),
        StatusCode::CONFLICT,
        "stale If-Match on delete"
    );
    let (st, _) = api.call(Method::DELETE, &sa_path, a, None).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (_, page) = api
        .call(Method::GET, "/nhi/service-accounts", a, None)
        .await;
    assert_eq!(page["total"], 0);

    // --- operations ---
    let (st, _) = api.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(st, StatusCode::OK);
    // The web console: its page and assets need no token (the API calls they make do),
    // under a policy that allows only this origin's scripts and styles.
    for (path, kind) in [
        ("/", "text/html"),
        ("/console/app.js", "text/javascript"),
        ("/console/app.css", "text/css"),
    ] {
        let resp = api
            .http
            .get(format!("{}{path}", api.base))
            .send()
            .await
            .expect("console");
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        assert!(header("content-type").starts_with(kind), "{path}");
        let csp = header("content-security-policy");
        assert!(
            csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
            "{path}: {csp}"
        );
        assert_eq!(header("x-content-type-options"), "nosniff");
        assert!(resp.headers().get("set-cookie").is_none());
    }
    let (st, _) = api.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(st, StatusCode::OK);
    let metrics = api
        .http
        .get(format!("{}/metrics", api.base))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains(
            "portcullis_admin_requests_total{method=\"POST\",route=\"/nhi/agents\",status=\"201\"}"
        ),
        "{metrics}"
    );
    let (st, doc) = api.call(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(st, StatusCode::OK);
    for p in [
        "/nhi/service-accounts",
        "/nhi/service-accounts/summary",
        "/nhi/service-accounts/{id}/transfer",
        "/nhi/agents/{id}/tools/{tool_id}/grant",
        "/nhi/tools/{id}/agents",
        "/nhi/{id}/users/{user_id}/grant",
        "/nhi/users/{user_id}/accessible",
        "/nhi",
        "/nhi/{id}/call/{target_id}/grant",
        "/nhi/{id}/callees",
    ] {
        assert!(
            doc["paths"][p].is_object(),
            "{p} missing from the OpenAPI document"
        );
    }
    let (st, b) = api.call(Method::GET, "/nope", a, None).await;
    assert_error(st, &b, StatusCode::NOT_FOUND, "endpoint");
}
