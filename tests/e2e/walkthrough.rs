//! The README's admin API walkthrough, run as written (bash, curl, jq) against a fresh
//! server: every command must succeed, ids are captured before they are used, and the
//! answers have the documented shapes.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::interop::{free_port, issue_token, serve, write_config};

/// The shell block that follows the `<!-- walkthrough` marker in README.md.
fn walkthrough() -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let from = readme
        .find("<!-- walkthrough")
        .expect("the README marks its walkthrough");
    let rest = &readme[from..];
    let open = rest
        .find("```sh\n")
        .expect("a shell block after the marker")
        + "```sh\n".len();
    let close = rest[open..].find("```").expect("the block ends");
    rest[open..open + close].to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_admin_walkthrough_runs_as_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (admin_port, gateway_port) = (free_port(), free_port());
    // No upstream is configured (as in config/portcullis.toml): the walkthrough's tool is
    // kept with a warning.
    let config = write_config(
        dir.path(),
        admin_port,
        gateway_port,
        "audit_log = \"off\"\n",
    );
    let _portcullis = serve(&config, dir.path(), admin_port, gateway_port).await;
    let token = issue_token(&config, "alice", "acme", true);
    let script = walkthrough();
    assert!(script.contains("api -XPOST"), "{script}");
    let out = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .env("TOKEN", &token)
        .env("A", format!("127.0.0.1:{admin_port}"))
        .output()
        .expect("run bash");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the walkthrough failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
    assert!(!stdout.contains(&token), "the token was echoed");

    // Every answer printed is JSON (or the empty body of a 204).
    let answers: Vec<Value> = stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    // Lists: one shape everywhere.
    let lists: Vec<&Value> = answers
        .iter()
        .filter(|a| a.get("items").is_some())
        .collect();
    assert!(lists.len() >= 9, "{stdout}");
    for l in &lists {
        assert!(
            l["items"].is_array()
                && l["total"].is_u64()
                && l["limit"].is_u64()
                && l["offset"].is_u64(),
            "{l}"
        );
    }
    // The tool names an upstream this server does not have: kept, with a warning.
    let tool = answers
        .iter()
        .find(|a| a["name"] == "read_file" && a.get("warnings").is_some())
        .unwrap_or_else(|| panic!("the tool's answer carries a warning:\n{stdout}"));
    assert!(
        tool["warnings"][0]
            .as_str()
            .unwrap()
            .contains("`files` is not configured"),
        "{tool}"
    );
    // Grants and revokes answer alike; the second revoke is not an error.
    let revokes: Vec<&Value> = answers
        .iter()
        .filter(|a| a["granted"] == false && a["tool_id"].is_string())
        .collect();
    assert_eq!(
        revokes
            .iter()
            .map(|r| r["revoked"].clone())
            .collect::<Vec<_>>(),
        vec![Value::Bool(true), Value::Bool(false)],
        "{stdout}"
    );
    // The last answer: `researcher`'s callers after the service account was deleted and the
    // delegation revoked — none left.
    let last = answers.last().expect("answers");
    assert_eq!(
        (&last["items"], &last["total"]),
        (&Value::Array(vec![]), &Value::from(0)),
        "{last}"
    );

    // `/readyz` counts the tool no request can reach (once the gateway's view has it).
    let http = reqwest::Client::new();
    let readyz = |caller: Option<&str>| {
        let mut req = http.get(format!("http://127.0.0.1:{admin_port}/readyz"));
        if let Some(t) = caller {
            req = req.bearer_auth(t);
        }
        async {
            req.send()
                .await
                .expect("readyz")
                .json::<Value>()
                .await
                .expect("json")
        }
    };
    let operator = crate::interop::token_with(&config, "ops", "acme", &["--role", "super_admin"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let ready = readyz(Some(&operator)).await;
        if ready["unroutable_tools"] == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "{ready}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A count over every tenant: not for an anonymous probe, nor a tenant's admin.
    for caller in [None, Some(token.as_str())] {
        let ready = readyz(caller).await;
        assert_eq!(ready["ready"], true, "{ready}");
        assert!(ready.get("unroutable_tools").is_none(), "{ready}");
    }
}
