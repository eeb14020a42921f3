//! Governance across real processes: a certification campaign's revoke takes an agent's
//! access away at the gateway.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::cli::{bin, shipped};
use crate::interop::{Admin, Proc, free_port, issue_token, serve, wait_listening};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_agent_is_refused_at_the_gateway() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sample_port = free_port();
    let mut cmd = bin();
    cmd.arg("sample-server")
        .arg("--listen")
        .arg(format!("127.0.0.1:{sample_port}"));
    let mut sample = Proc::spawn("sample server", cmd, dir.path().join("sample.log"));
    assert!(wait_listening(&mut sample, sample_port, Duration::from_secs(30)).await);
    let (admin_port, gateway_port) = (free_port(), free_port());
    let config = dir.path().join("portcullis.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = {data:?}\n\
             [admin]\nlisten = \"127.0.0.1:{admin_port}\"\n\
             [gateway]\nlisten = \"127.0.0.1:{gateway_port}\"\naudit_log = \"off\"\n\
             [[gateway.upstreams]]\nname = \"sample\"\nurl = \"http://127.0.0.1:{sample_port}/mcp\"\n\
             [policy]\ndir = {policies:?}\nwatch = false\n",
            data = dir.path().join("data"),
            policies = shipped(),
        ),
    )
    .expect("config");
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
    let tool = admin
        .create(
            "/nhi/tools",
            json!({"name": "echo", "upstream": "sample", "input_schema": {"type": "object",
                "properties": {"message": {"type": "string"}}}}),
        )
        .await;
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
