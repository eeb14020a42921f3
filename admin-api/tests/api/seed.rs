//! Records as clients know them: service accounts with a `purpose`, and every record's
//! `nhi_type` (`service_account`, `ai_agent`, `tool`).

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::harness::{Api, sqlite};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_carry_their_type_and_service_accounts_their_purpose() {
    let (store, _dir) = sqlite();
    let api = Api::start(store).await;
    let root = api.token("root", "acme", true);
    let (st, sa) = api
        .call(
            Method::POST,
            "/nhi/service-accounts",
            Some(&root),
            Some(json!({"name": "nightly-etl", "purpose": "loads the warehouse every night"})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{sa}");
    assert_eq!(sa["nhi_type"], "service_account");
    assert_eq!(sa["purpose"], "loads the warehouse every night");
    let id = sa["id"].as_str().unwrap();
    let (st, patched) = api
        .call(
            Method::PATCH,
            &format!("/nhi/service-accounts/{id}"),
            Some(&root),
            Some(json!({"purpose": "loads the lake too"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{patched}");
    assert_eq!(patched["purpose"], "loads the lake too");
    let (_, agent) = api
        .call(
            Method::POST,
            "/nhi/agents",
            Some(&root),
            Some(json!({"name": "a"})),
        )
        .await;
    assert_eq!(agent["nhi_type"], "ai_agent");
    // Its own rate limit, then back to the configured one; nonsense is refused.
    let path = format!("/nhi/agents/{}", agent["id"].as_str().unwrap());
    let (st, limited) = api
        .call(
            Method::PATCH,
            &path,
            Some(&root),
            Some(json!({"rate_limit": {"requests": 5, "per_secs": 1, "burst": 10}})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{limited}");
    assert_eq!(
        limited["rate_limit"],
        json!({"requests": 5, "per_secs": 1, "burst": 10})
    );
    for bad in [json!({"requests": 0}), json!({"requests": 5, "every": 2})] {
        let (st, _) = api
            .call(
                Method::PATCH,
                &path,
                Some(&root),
                Some(json!({"rate_limit": bad})),
            )
            .await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{bad}");
    }
    let (_, cleared) = api
        .call(
            Method::PATCH,
            &path,
            Some(&root),
            Some(json!({"rate_limit": null})),
        )
        .await;
    assert!(cleared.get("rate_limit").is_none(), "{cleared}");
    let (st, _) = api
        .call(
            Method::PATCH,
            &format!("/nhi/agents/{}", agent["id"].as_str().unwrap()),
            Some(&root),
            Some(json!({"purpose": "not an agent field"})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (_, tool) = api
        .call(
            Method::POST,
            "/nhi/tools",
            Some(&root),
            Some(json!({"name": "t", "input_schema": {"type": "object"}})),
        )
        .await;
    assert_eq!(tool["nhi_type"], "tool");
    // Every kind shares the same handlers: a tool is suspended like an agent.
    let (st, suspended) = api
        .call(
            Method::POST,
            &format!("/nhi/tools/{}/suspend", tool["id"].as_str().unwrap()),
            Some(&root),
            Some(json!({"reason": "under review"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{suspended}");
    assert_eq!(suspended["lifecycle_state"], "suspended");
    let (_, doc) = api.call(Method::GET, "/openapi.json", None, None).await;
    for path in [
        "/nhi/tools/{id}/suspend",
        "/nhi/agents/{id}",
        "/nhi/service-accounts/{id}/reactivate",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} is documented");
    }
    let (_, all) = api.call(Method::GET, "/nhi", Some(&root), None).await;
    let mut types: Vec<&str> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["nhi_type"].as_str().unwrap())
        .collect();
    types.sort_unstable();
    assert_eq!(types, ["ai_agent", "service_account", "tool"]);
}
