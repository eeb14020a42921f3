//! The A2A gateway across real processes: an agent built with the official A2A Python SDK
//! (`a2a-sdk`, pinned in tests/interop/requirements.txt) behind `portcullis serve`, the SDK's
//! client resolving the agent's card from the gateway and sending, streaming and reading tasks
//! on both protocol versions; then calling and delegation edges, task ownership across
//! principals and tenants, push-notification URLs and the REST face, over plain HTTP.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::cli::shipped;
use crate::interop::{INSTALL, Proc, free_port, interop_dir, issue_token, serve, wait_listening};

/// The SDK echo agent on a free loopback port.
pub(crate) async fn start_agent(logs: &Path) -> (Proc, u16) {
    let python = interop_dir().join(".venv/bin/python");
    assert!(
        python.is_file(),
        "{} is missing: {INSTALL}",
        python.display()
    );
    for attempt in 0..3 {
        let port = free_port();
        let mut cmd = Command::new(&python);
        cmd.arg(interop_dir().join("a2a_agent.py"))
            .args(["--port", &port.to_string()]);
        let mut proc = Proc::spawn(
            "a2a-sdk echo agent",
            cmd,
            logs.join(format!("agent-{attempt}.log")),
        );
        if wait_listening(&mut proc, port, Duration::from_secs(30)).await {
            return (proc, port);
        }
        assert!(
            proc.exited().is_some(),
            "the agent did not listen:\n{}",
            proc.log()
        );
    }
    panic!("the A2A agent did not start");
}

/// A token for `sub` whose authority was delegated through `act` (earliest first).
fn delegated_token(config: &Path, sub: &str, act: &[&str]) -> String {
    let more: Vec<&str> = act.iter().flat_map(|a| ["--act", a]).collect();
    crate::interop::token_with(config, sub, "acme", &more)
}

struct Gw {
    http: reqwest::Client,
    base: String,
    agent: String,
}

impl Gw {
    /// One A2A 1.0 JSON-RPC request to the echo agent: the HTTP status and the JSON body.
    async fn rpc(&self, token: &str, method: &str, params: Value) -> (u16, Value) {
        self.rpc_to(&self.agent, token, "1.0", method, params).await
    }

    async fn rpc_to(
        &self,
        agent: &str,
        token: &str,
        version: &str,
        method: &str,
        params: Value,
    ) -> (u16, Value) {
        let resp = self
            .http
            .post(format!("{}/a2a/{agent}", self.base))
            .bearer_auth(token)
            .header("a2a-version", version)
            .json(&json!({"jsonrpc": "2.0", "id": "c-1", "method": method, "params": params}))
            .send()
            .await
            .expect("gateway request");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn rest(
        &self,
        token: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let url = format!("{}{path}", self.base);
        let mut req = match method {
            "GET" => self.http.get(url),
            _ => self.http.post(url),
        }
        .bearer_auth(token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.expect("gateway request");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }
}

pub(crate) fn send_params(text: &str) -> Value {
    json!({
        "message": {"messageId": uuid::Uuid::new_v4().to_string(), "role": "ROLE_USER",
            "parts": [{"text": text}]},
        "configuration": {"returnImmediately": true},
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a2a_tasks_are_decided_owned_and_interoperate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_agent, agent_port) = start_agent(dir.path()).await;
    let (admin_port, gateway_port) = (free_port(), free_port());
    let config = dir.path().join("portcullis.toml");
    let audit = dir.path().join("audit.jsonl");
    std::fs::write(
        &config,
        format!(
            "data_dir = {data:?}\n\
             [admin]\nlisten = \"127.0.0.1:{admin_port}\"\n\
             [gateway]\nlisten = \"127.0.0.1:{gateway_port}\"\naudit_log = {{ file = {audit:?} }}\n\
             [[gateway.a2a_upstreams]]\nname = \"echo\"\nurl = \"http://127.0.0.1:{agent_port}/\"\n\
             [policy]\ndir = {policies:?}\nwatch = false\n\
             [approvals]\nhold_ms = 0\n",
            data = dir.path().join("data"),
            policies = shipped(),
        ),
    )
    .expect("config");
    let _portcullis = serve(&config, dir.path(), admin_port, gateway_port).await;
    let http = reqwest::Client::new();
    let admin = crate::interop::Admin {
        http: http.clone(),
        base: format!("http://127.0.0.1:{admin_port}"),
        token: issue_token(&config, "root", "acme", true),
    };
    let echo = admin
        .create(
            "/nhi/agents",
            json!({"name": "echo", "a2a_upstream": "echo"}),
        )
        .await;
    let planner = admin
        .create(
            "/nhi/agents",
            json!({"name": "planner", "max_delegation_depth": 1}),
        )
        .await;
    let researcher = admin
        .create(
            "/nhi/agents",
            json!({"name": "researcher", "max_delegation_depth": 1}),
        )
        .await;
    let helper = admin.create("/nhi/agents", json!({"name": "helper"})).await;
    let outsider = admin
        .create("/nhi/agents", json!({"name": "outsider"}))
        .await;
    let careful = admin
        .create(
            "/nhi/agents",
            json!({"name": "careful", "requires_human_approval": true}),
        )
        .await;
    let edge = |from: &str, to: &str, kind: &str| {
        let path = format!("/nhi/{from}/call/{to}/grant");
        let body = json!({"permission_type": kind});
        let admin = &admin;
        async move { admin.post(&path, Some(body)).await }
    };
    for caller in [&planner, &researcher, &helper, &careful] {
        edge(caller, &echo, "calling").await;
    }
    edge(&planner, &researcher, "delegation").await;
    edge(&researcher, &helper, "delegation").await;
    let globex = crate::interop::Admin {
        http: http.clone(),
        base: admin.base.clone(),
        token: issue_token(&config, "root", "globex", true),
    };
    let intruder = globex
        .create("/nhi/agents", json!({"name": "intruder"}))
        .await;

    let gw = Gw {
        http: http.clone(),
        base: format!("http://127.0.0.1:{gateway_port}"),
        agent: echo.clone(),
    };
    let planner_token = issue_token(&config, &planner, "acme", false);
    // The registry reaches the gateway a moment after the admin API acknowledges.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, _) = gw.rpc(&planner_token, "ListTasks", json!({})).await;
        if status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the edge never reached the gateway"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The card names the gateway, never the agent server.
    let card: Value = http
        .get(format!("{}/.well-known/agents/{echo}", gw.base))
        .send()
        .await
        .expect("card")
        .json()
        .await
        .expect("card json");
    let endpoint = format!("{}/a2a/{echo}", gw.base);
    assert_eq!(card["url"], endpoint.as_str(), "{card}");
    let interfaces = card["supportedInterfaces"].as_array().expect("interfaces");
    assert_eq!(interfaces.len(), 2, "{card}");
    assert!(interfaces.iter().all(|i| i["url"] == endpoint.as_str()));
    assert!(
        !card.to_string().contains(&agent_port.to_string()),
        "{card}"
    );
    let unknown = http
        .get(format!(
            "{}/.well-known/agents/{}",
            gw.base,
            uuid::Uuid::new_v4()
        ))
        .send()
        .await
        .expect("card");
    assert_eq!(unknown.status(), 404);

    // The official SDK client, through the card, on both protocol versions.
    for version in ["1.0", "0.3"] {
        let out = Command::new(interop_dir().join(".venv/bin/python"))
            .arg(interop_dir().join("a2a_client.py"))
            .args([
                "--card-url",
                &format!("{}/.well-known/agents/{echo}", gw.base),
            ])
            .args(["--token", &planner_token, "--version", version])
            .output()
            .expect("a2a client");
        assert!(
            out.status.success(),
            "a2a client {version}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report: Value = serde_json::from_slice(&out.stdout).expect("client report");
        assert_eq!(report["endpoint"], endpoint.as_str(), "{report}");
        assert_eq!(report["send"]["state"], "completed", "{report}");
        assert_eq!(report["send"]["text"], "echo: hello", "{report}");
        assert_eq!(report["stream"]["state"], "completed", "{report}");
        assert_eq!(report["stream"]["text"], "echo: stream me", "{report}");
        let events = report["stream"]["events"].as_array().expect("events");
        assert!(
            events.len() >= 3 && events.contains(&json!("artifact_update")),
            "{report}"
        );
        assert_eq!(
            report["get"]["task_id"], report["send"]["task_id"],
            "{report}"
        );
        assert_eq!(report["get"]["state"], "completed", "{report}");
    }

    // No calling edge: refused exactly like an agent that does not exist.
    let outsider_token = issue_token(&config, &outsider, "acme", false);
    let (status, denied) = gw
        .rpc(&outsider_token, "SendMessage", send_params("hi"))
        .await;
    assert_eq!(status, 404, "{denied}");
    let ghost = uuid::Uuid::new_v4().to_string();
    let (status, missing) = gw
        .rpc_to(
            &ghost,
            &outsider_token,
            "1.0",
            "SendMessage",
            send_params("hi"),
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(
        denied["message"].as_str().map(|m| m.replace(&echo, "ID")),
        missing["message"].as_str().map(|m| m.replace(&ghost, "ID")),
        "a denied agent looks unknown"
    );

    // The planner's task, held open by the agent.
    let (status, created) = gw
        .rpc(&planner_token, "SendMessage", send_params("hold"))
        .await;
    assert_eq!(status, 200, "{created}");
    let task = created["result"]["task"]["id"]
        .as_str()
        .expect("task id")
        .to_owned();

    // Another principal of the tenant, with its own calling edge, cannot touch it.
    let researcher_token = issue_token(&config, &researcher, "acme", false);
    for method in ["GetTask", "CancelTask", "SubscribeToTask"] {
        let (status, body) = gw.rpc(&researcher_token, method, json!({"id": task})).await;
        assert_eq!(status, 200, "{method}: {body}");
        assert_eq!(body["error"]["code"], -32001, "{method}: {body}");
    }
    // Nor continue it.
    let mut continued = send_params("more");
    continued["message"]["taskId"] = json!(task);
    let (_, body) = gw.rpc(&researcher_token, "SendMessage", continued).await;
    assert_eq!(body["error"]["code"], -32001, "{body}");
    // Another tenant does not even see the agent.
    let intruder_token = issue_token(&config, &intruder, "globex", false);
    for method in ["GetTask", "CancelTask", "SubscribeToTask"] {
        let (status, body) = gw.rpc(&intruder_token, method, json!({"id": task})).await;
        assert_eq!(status, 404, "{method}: {body}");
    }
    let (status, _) = gw
        .rest(
            &intruder_token,
            "GET",
            &format!("/a2a/tasks/{task}?agent={echo}"),
            None,
        )
        .await;
    assert_eq!(status, 404);
    // Its list holds none of the planner's tasks.
    let (_, listed) = gw.rpc(&researcher_token, "ListTasks", json!({})).await;
    assert_eq!(listed["result"]["tasks"], json!([]), "{listed}");
    let (_, listed) = gw.rpc(&planner_token, "ListTasks", json!({})).await;
    let ids: Vec<&str> = listed["result"]["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .filter_map(|t| t["id"].as_str())
        .collect();
    assert!(ids.contains(&task.as_str()) && ids.len() == 5, "{listed}");
    assert!(listed["result"].get("totalSize").is_none());

    // The researcher acting for the planner (a delegation edge, within depth) may read it.
    let delegate = delegated_token(&config, &planner, &[&researcher]);
    let (_, body) = gw.rpc(&delegate, "GetTask", json!({"id": task})).await;
    assert_eq!(body["result"]["id"], task.as_str(), "{body}");
    // Two hops from the planner: beyond its depth of 1, refused like an unknown agent.
    let too_deep = delegated_token(&config, &planner, &[&researcher, &helper]);
    let (status, body) = gw.rpc(&too_deep, "SendMessage", send_params("hi")).await;
    assert_eq!(status, 404, "{body}");
    // A delegate outside any delegation edge (outsider → researcher): refused.
    let outside = delegated_token(&config, &outsider, &[&researcher]);
    let (status, body) = gw.rpc(&outside, "GetTask", json!({"id": task})).await;
    assert!(status == 404 || status == 403, "{status} {body}");
    assert!(body.get("result").is_none(), "{body}");

    // Push notifications: never into the network, on either version.
    let (_, body) = gw
        .rpc(
            &planner_token,
            "CreateTaskPushNotificationConfig",
            json!({"taskId": task, "url": "http://127.0.0.1:9/hook"}),
        )
        .await;
    assert_eq!(body["error"]["code"], -32602, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("refused")
    );
    let (_, body) = gw
        .rpc_to(
            &echo,
            &planner_token,
            "0.3",
            "tasks/pushNotificationConfig/set",
            json!({"taskId": task, "pushNotificationConfig": {"url": "http://169.254.169.254/"}}),
        )
        .await;
    assert_eq!(body["error"]["code"], -32602, "{body}");
    let mut inline = send_params("hi");
    inline["configuration"]["taskPushNotificationConfig"] = json!({"url": "http://localhost/x"});
    let (_, body) = gw.rpc(&planner_token, "SendMessage", inline).await;
    assert_eq!(body["error"]["code"], -32602, "{body}");
    // A public address is passed on, and the config belongs to the task's owner only.
    let (_, body) = gw
        .rpc(
            &planner_token,
            "CreateTaskPushNotificationConfig",
            json!({"taskId": task, "url": "https://203.0.113.9/hook"}),
        )
        .await;
    assert_eq!(
        body["error"]["code"], -32602,
        "documentation ranges are refused too: {body}"
    );
    let (_, body) = gw
        .rpc(
            &planner_token,
            "CreateTaskPushNotificationConfig",
            json!({"taskId": task, "url": "https://8.8.8.8/hook"}),
        )
        .await;
    assert_eq!(body["result"]["url"], "https://8.8.8.8/hook", "{body}");
    let (_, body) = gw
        .rpc(
            &researcher_token,
            "ListTaskPushNotificationConfigs",
            json!({"taskId": task}),
        )
        .await;
    assert_eq!(body["error"]["code"], -32001, "{body}");

    // The owner cancels its task.
    let (_, body) = gw
        .rpc(&planner_token, "CancelTask", json!({"id": task}))
        .await;
    assert_eq!(
        body["result"]["status"]["state"], "TASK_STATE_CANCELED",
        "{body}"
    );

    // An unsupported version and a method of the other version.
    let (_, body) = gw
        .rpc_to(&echo, &planner_token, "2.0", "GetTask", json!({"id": task}))
        .await;
    assert_eq!(body["error"]["code"], -32009, "{body}");
    let (_, body) = gw
        .rpc_to(
            &echo,
            &planner_token,
            "1.0",
            "tasks/get",
            json!({"id": task}),
        )
        .await;
    assert_eq!(body["error"]["code"], -32601, "{body}");

    // An agent that requires approval: its message is held until a person approves exactly
    // that message, which then goes through once.
    let careful_token = issue_token(&config, &careful, "acme", false);
    let message = send_params("approve me");
    let (_, held) = gw.rpc(&careful_token, "SendMessage", message.clone()).await;
    assert_eq!(held["error"]["code"], -32010, "{held}");
    let approval = held["error"]["data"]["approval_id"]
        .as_str()
        .expect("approval id")
        .to_owned();
    let shown: Value = http
        .get(format!("{}/approvals/{approval}", admin.base))
        .bearer_auth(&admin.token)
        .send()
        .await
        .expect("approval")
        .json()
        .await
        .expect("approval json");
    assert_eq!(
        shown["arguments"]["message"]["parts"][0]["text"], "approve me",
        "the approver reads the message: {shown}"
    );
    admin
        .post(
            &format!("/approvals/{approval}/approve"),
            Some(json!({"comment": "ok"})),
        )
        .await;
    let (_, other) = gw
        .rpc(&careful_token, "SendMessage", send_params("something else"))
        .await;
    assert_eq!(
        other["error"]["code"], -32010,
        "another message needs its own: {other}"
    );
    let (_, sent) = gw.rpc(&careful_token, "SendMessage", message.clone()).await;
    assert!(sent["result"]["task"]["id"].is_string(), "{sent}");
    let (_, again) = gw.rpc(&careful_token, "SendMessage", message).await;
    assert_eq!(
        again["error"]["code"], -32010,
        "one approval, one task: {again}"
    );

    // The REST face, with the same checks.
    let (status, made) = gw
        .rest(
            &planner_token,
            "POST",
            "/a2a/tasks",
            Some(json!({"agent": echo, "message": "via rest"})),
        )
        .await;
    assert_eq!(status, 200, "{made}");
    let rest_task = made["task"]["id"].as_str().expect("task").to_owned();
    assert_eq!(
        made["task"]["status"]["state"], "TASK_STATE_COMPLETED",
        "{made}"
    );
    let (_, mine) = gw.rest(&planner_token, "GET", "/a2a/tasks", None).await;
    let mine: Vec<&str> = mine["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .filter_map(|t| t["task_id"].as_str())
        .collect();
    assert!(mine.contains(&rest_task.as_str()) && mine.contains(&task.as_str()));
    let (status, got) = gw
        .rest(
            &planner_token,
            "GET",
            &format!("/a2a/tasks/{rest_task}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(
        got["artifacts"][0]["parts"][0]["text"], "echo: via rest",
        "{got}"
    );
    let (status, _) = gw
        .rest(
            &researcher_token,
            "GET",
            &format!("/a2a/tasks/{rest_task}?agent={echo}"),
            None,
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = gw
        .rest(
            &researcher_token,
            "POST",
            &format!("/a2a/tasks/{rest_task}/cancel?agent={echo}"),
            None,
        )
        .await;
    assert_eq!(status, 404);
    let (_, theirs) = gw.rest(&researcher_token, "GET", "/a2a/tasks", None).await;
    assert_eq!(theirs["tasks"], json!([]));
    let (status, _) = gw
        .rest(
            &outsider_token,
            "POST",
            "/a2a/tasks",
            Some(json!({"agent": echo, "message": "hi"})),
        )
        .await;
    assert_eq!(status, 404);

    // Audited: the target agent, the task, the method and the decision.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let log = std::fs::read_to_string(&audit).unwrap_or_default();
        let events: Vec<Value> = log
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        let sent = events.iter().any(|e| {
            e["method"] == "SendMessage"
                && e["target"] == echo.as_str()
                && e["task"] == task.as_str()
                && e["decision"] == "allow"
        });
        let refused = events
            .iter()
            .any(|e| e["principal"] == outsider.as_str() && e["decision"] == "deny");
        if sent && refused {
            break;
        }
        assert!(Instant::now() < deadline, "audit records missing:\n{log}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
