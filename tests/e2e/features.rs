//! The whole of MCP through the gateway: one script of the official MCP Python SDK
//! (tests/interop/mcp_features.py) runs against server-everything directly and through
//! `portcullis serve`, and both runs must report the same — tools with sampling, elicitation,
//! progress, logging and roots; resources with templates, binary contents and
//! subscriptions; prompts with arguments and an embedded resource; completion — with every
//! server-to-client flow repeated 20 times and no answer lost.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::cli::shipped;
use crate::interop::{
    Admin, INSTALL, Proc, free_port, interop_dir, issue_token, start_everything, wait_listed,
};

const REPEAT: u64 = 20;

/// Runs the features script against `url`; its report.
async fn features(url: &str, token: Option<&str>, out: &Path, logs: &Path) -> Value {
    let python = interop_dir().join(".venv/bin/python");
    assert!(
        python.is_file(),
        "{} is missing: {INSTALL}",
        python.display()
    );
    let mut cmd = Command::new(python);
    cmd.current_dir(interop_dir())
        .arg("mcp_features.py")
        .arg(url)
        .args(["--repeat", &REPEAT.to_string(), "--out"])
        .arg(out)
        .env("PYTHONUNBUFFERED", "1");
    if let Some(token) = token {
        cmd.env("MCP_TOKEN", token);
    }
    let name = out
        .file_stem()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let mut script = Proc::spawn(&name, cmd, logs.join(format!("{name}.log")));
    let deadline = Instant::now() + Duration::from_secs(180);
    let status = loop {
        if let Some(status) = script.exited() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "mcp_features.py did not finish:\n{}",
            script.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        status.success(),
        "mcp_features.py failed ({status}):\n{}",
        script.log()
    );
    let text = std::fs::read_to_string(out).expect("the report");
    serde_json::from_str(&text).expect("the report is JSON")
}

/// The parts of two reports that differ, named by their path.
fn differences(a: &Value, b: &Value, path: &str, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for key in x.keys().chain(y.keys().filter(|k| !x.contains_key(*k))) {
                let (l, r) = (
                    x.get(key).unwrap_or(&Value::Null),
                    y.get(key).unwrap_or(&Value::Null),
                );
                differences(l, r, &format!("{path}/{key}"), out);
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (l, r)) in x.iter().zip(y).enumerate() {
                differences(l, r, &format!("{path}/{i}"), out);
            }
        }
        _ if a != b => out.push(format!("{path}:\n    direct:  {a}\n    gateway: {b}")),
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_feature_of_server_everything_works_the_same_through_the_gateway() {
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("tempdir");
    let logs = dir.path();
    let (_direct, direct_port) = start_everything("direct", None, logs).await;
    let (_behind, behind_port) = start_everything("behind", None, logs).await;

    let direct = features(
        &format!("http://127.0.0.1:{direct_port}/mcp"),
        None,
        &logs.join("direct.json"),
        logs,
    )
    .await;

    // The gateway in front of the other server, with no name prefix: one upstream.
    let (admin_port, gateway_port) = (free_port(), free_port());
    let config = logs.join("portcullis.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = {data:?}\n\
             [admin]\nlisten = \"127.0.0.1:{admin_port}\"\n\
             [gateway]\nlisten = \"127.0.0.1:{gateway_port}\"\naudit_log = \"off\"\n\
             [[gateway.upstreams]]\nname = \"everything\"\nurl = \"http://127.0.0.1:{behind_port}/mcp\"\nprefix = \"\"\n\
             [policy]\ndir = {policies:?}\nwatch = false\n",
            data = logs.join("data"),
            policies = shipped(),
        ),
    )
    .expect("config");
    let mut portcullis = crate::interop::serve(&config, logs, admin_port, gateway_port).await;

    // Every tool the server offers, registered with its own schema and granted.
    let http = reqwest::Client::new();
    let admin = Admin {
        http: http.clone(),
        base: format!("http://127.0.0.1:{admin_port}"),
        token: issue_token(&config, "root", "acme", true),
    };
    let agent = admin
        .create("/nhi/agents", json!({"name": "features-agent"}))
        .await;
    let mut names = Vec::new();
    for tool in direct["tools"].as_array().expect("tools") {
        let name = tool["name"].as_str().expect("name").to_owned();
        let id = admin
            .create(
                "/nhi/tools",
                json!({"name": name, "upstream": "everything", "input_schema": tool["inputSchema"]}),
            )
            .await;
        admin
            .post(&format!("/nhi/agents/{agent}/tools/{id}/grant"), None)
            .await;
        names.push(name);
    }
    names.sort();
    let mcp = format!("http://127.0.0.1:{gateway_port}/mcp");
    let token = issue_token(&config, &agent, "acme", false);
    wait_listed(&http, &mcp, &token, &names).await;

    let through = features(&mcp, Some(&token), &logs.join("gateway.json"), logs).await;
    let mut diffs = Vec::new();
    differences(&direct, &through, "", &mut diffs);
    assert!(
        diffs.is_empty(),
        "the gateway changed what the client sees:\n{}",
        diffs.join("\n")
    );
    let flows = &through["server_to_client"];
    for flow in ["sampling", "elicitation", "roots"] {
        assert_eq!(flows[flow], json!(REPEAT), "{flow}: answers lost: {flows}");
    }
    assert_eq!(through["logging"]["message_arrived"], true);
    assert_eq!(through["subscription"]["update_arrived"], true);
    assert!(
        portcullis.exited().is_none(),
        "portcullis serve exited:\n{}",
        portcullis.log()
    );
    let count = |key: &str| through[key].as_array().map_or(0, Vec::len);
    println!(
        "features: {} tools, {} prompts, {} resources, {} templates, {} reads, flows {flows}; done in {:.1?}",
        count("tools"),
        count("prompts"),
        count("resources"),
        count("templates"),
        through["reads"].as_object().map_or(0, serde_json::Map::len),
        started.elapsed()
    );
}
