//! Governance across real processes: MCP discovery lists, imports (pins) and checks the
//! sample server's tools; a certification campaign's revoke takes an agent's access away at
//! the gateway.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::interop::{Admin, free_port, issue_token, serve, start_sample, write_config};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_agent_is_refused_at_the_gateway() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_sample, sample_port) = start_sample(dir.path()).await;
    let (admin_port, gateway_port) = (free_port(), free_port());
    let config = write_config(
        dir.path(),
        admin_port,
        gateway_port,
        &format!(
            "audit_log = \"off\"\n\
             [[gateway.upstreams]]\nname = \"sample\"\nurl = \"http://127.0.0.1:{sample_port}/mcp\"\n"
        ),
    );
    let _portcullis = serve(&config, dir.path(), admin_port, gateway_port).await;
    let http = reqwest::Client::new();
    let admin = Admin {
        http: http.clone(),
        base: format!("http://127.0.0.1:{admin_port}"),
        token: issue_token(&config, "root", "acme", true),
    };
    let agent = admin
        .create("/nhi/agents", json!({"name": "reporter"}))
        .await;

    // Discovery: the sample server answers, with its three tools, none registered yet.
    let get = |path: &'static str| {
        let (http, base, token) = (http.clone(), admin.base.clone(), admin.token.clone());
        async move {
            let resp = http
                .get(format!("{base}{path}"))
                .bearer_auth(token)
                .send()
                .await
                .expect("admin get");
            assert!(resp.status().is_success(), "{path}: {}", resp.status());
            resp.json::<Value>().await.expect("json")
        }
    };
    let upstreams = get("/nhi/mcp-discovery/gateways").await;
    let upstreams = &upstreams["items"];
    assert_eq!(upstreams[0]["name"], "sample", "{upstreams}");
    assert_eq!(upstreams[0]["healthy"], true, "{upstreams}");
    assert_eq!(upstreams[0]["tools"], 3);
    let offered = get("/nhi/mcp-discovery/tools").await;
    let offered = offered["items"].as_array().expect("tools");
    assert_eq!(offered.len(), 3);
    assert!(offered.iter().all(|t| t["status"] == "new"), "{offered:?}");
    // Import two: registered with their schema, pinned to their definition.
    let imported = admin
        .post(
            "/nhi/mcp-discovery/import",
            Some(json!({"tool_names": ["sample_echo", "sample_add", "sample_nope"]})),
        )
        .await;
    assert_eq!(imported["not_found"], json!(["sample_nope"]), "{imported}");
    let outcomes: Vec<&str> = imported["imported"]
        .as_array()
        .expect("imported")
        .iter()
        .map(|i| i["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["created", "created"]);
    let tool = imported["imported"][0]["tool_id"]
        .as_str()
        .expect("tool id")
        .to_owned();
    let again = admin
        .post(
            "/nhi/mcp-discovery/import",
            Some(json!({"tool_names": ["echo"], "upstream": "sample"})),
        )
        .await;
    assert_eq!(again["imported"][0]["outcome"], "unchanged", "{again}");
    let record = get_nhi(&http, &admin, &tool).await;
    assert_eq!(
        record["input_schema"]["required"],
        json!(["message"]),
        "{record}"
    );
    assert_eq!(
        record["definition_sha256"].as_str().map(str::len),
        Some(64),
        "{record}"
    );
    // A tool registered by hand that the server does not offer.
    admin
        .create(
            "/nhi/tools",
            json!({"name": "retired", "upstream": "sample", "input_schema": {"type": "object"}}),
        )
        .await;
    let check = get("/nhi/mcp-discovery/sync-check").await;
    let names = |key: &str| -> Vec<String> {
        check[key]
            .as_array()
            .expect("list")
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names("new"), ["transfer_funds"], "{check}");
    assert_eq!(names("removed"), ["retired"], "{check}");
    assert!(names("changed").is_empty(), "{check}");
    admin
        .post(
            &format!("/nhi/agents/{agent}/tools/{tool}/grant"),
            Some(json!({})),
        )
        .await;
    let token = issue_token(&config, &agent, "acme", false);
    let call = || {
        let (http, token) = (http.clone(), token.clone());
        async move {
            http.post(format!(
                "http://127.0.0.1:{gateway_port}/mcp/tools/sample_echo/call"
            ))
            .bearer_auth(token)
            .json(&json!({"message": "still here"}))
            .send()
            .await
            .expect("call")
            .status()
            .as_u16()
        }
    };
    let until = |want: u16| {
        let call = &call;
        async move {
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                let status = call().await;
                if status == want {
                    return;
                }
                assert!(Instant::now() < deadline, "still {status}, not {want}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    until(200).await;

    let campaign = admin
        .create(
            "/nhi/certifications",
            json!({"name": "Q4 review", "nhi_types": ["ai_agent"], "due_date": "2099-12-31"}),
        )
        .await;
    let launched: Value = admin
        .post(&format!("/nhi/certifications/{campaign}/launch"), None)
        .await;
    assert_eq!(launched["items"][0]["nhi_id"], agent.as_str(), "{launched}");
    let revoked = admin
        .post(
            &format!("/nhi/certifications/{campaign}/revoke/{agent}"),
            Some(json!({"comment": "no longer needed"})),
        )
        .await;
    assert_eq!(revoked["status"], "completed", "{revoked}");
    // Deprecated: the gateway refuses its next call once the change reaches it.
    until(403).await;
}

async fn get_nhi(http: &reqwest::Client, admin: &Admin, id: &str) -> Value {
    http.get(format!("{}/nhi/tools/{id}", admin.base))
        .bearer_auth(&admin.token)
        .send()
        .await
        .expect("get tool")
        .json()
        .await
        .expect("json")
}
