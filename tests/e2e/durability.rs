//! Acknowledged writes — and their audit records — survive `kill -9` of the server (SQLite
//! backend).

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::cli::{bin, shipped};

struct Server {
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(config: &Path, base: &str) -> Server {
    let child = bin()
        .arg("serve")
        .arg("--config")
        .arg(config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start portcullis serve");
    let server = Server { child };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if probe::get_ok(&format!("{base}/healthz")) {
            return server;
        }
        assert!(Instant::now() < deadline, "the server did not come up");
        std::thread::sleep(Duration::from_millis(50));
    }
}

mod probe {
    //! A tiny blocking health probe over a raw socket (the async client needs a runtime).
    use std::io::{Read, Write};

    pub(crate) fn get_ok(url: &str) -> bool {
        let Some(rest) = url.strip_prefix("http://") else {
            return false;
        };
        let Some((host, path)) = rest.split_once('/') else {
            return false;
        };
        let Ok(mut s) = std::net::TcpStream::connect(host) else {
            return false;
        };
        let req = format!("GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        if s.write_all(req.as_bytes()).is_err() {
            return false;
        }
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out.starts_with("HTTP/1.1 200")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_kill_9() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = crate::interop::free_port();
    let config = dir.path().join("portcullis.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = {data:?}\n[admin]\nlisten = \"127.0.0.1:{port}\"\n[policy]\ndir = {policies:?}\nwatch = false\n",
            data = dir.path().join("data"),
            policies = shipped(),
        ),
    )
    .expect("config");
    let base = format!("http://127.0.0.1:{port}");
    let server = start(&config, &base);
    let token = crate::interop::issue_token(&config, "root", "acme", true);

    // A burst of concurrent writes; remember every one the server acknowledged.
    let http = reqwest::Client::new();
    let mut tasks = Vec::new();
    for i in 0..120 {
        let (http, base, token) = (http.clone(), base.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            let resp = http
                .post(format!("{base}/nhi/agents"))
                .bearer_auth(&token)
                .json(&json!({"name": format!("agent-{i}"), "max_delegation_depth": i % 4}))
                .send()
                .await
                .ok()?;
            if resp.status() != 201 {
                return None;
            }
            let body: Value = resp.json().await.ok()?;
            body["id"].as_str().map(str::to_owned)
        }));
    }
    let mut acknowledged = Vec::new();
    for t in tasks {
        if let Some(id) = t.await.expect("task") {
            acknowledged.push(id);
        }
    }
    assert_eq!(
        acknowledged.len(),
        120,
        "every write of the burst is acknowledged"
    );
    // One more write, killed the moment it is acknowledged.
    let last: Value = http
        .post(format!("{base}/nhi/tools"))
        .bearer_auth(&token)
        .json(&json!({"name": "last-write"}))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    drop(server); // SIGKILL: no shutdown, no flush

    let _server = start(&config, &base);
    let page: Value = http
        .get(format!("{base}/nhi/agents?limit=500"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    let stored: Vec<&str> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|a| a["id"].as_str())
        .collect();
    for id in &acknowledged {
        assert!(
            stored.contains(&id.as_str()),
            "acknowledged agent {id} was lost"
        );
    }
    assert_eq!(page["total"], 120);
    let tool = http
        .get(format!(
            "{base}/nhi/tools/{}",
            last["id"].as_str().expect("id")
        ))
        .bearer_auth(&token)
        .send()
        .await
        .expect("send");
    assert_eq!(
        tool.status(),
        200,
        "the write acknowledged just before the kill is there"
    );
    // Each acknowledged write was audited before it was acknowledged: its record survived too.
    let trail: Value = http
        .get(format!("{base}/audit?event=admin.create&limit=1000"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    let created = |route: &str| {
        trail["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter(|e| e["route"] == route && e["actor"] == "root")
            .count()
    };
    assert_eq!(created("/nhi/agents"), 120, "{trail}");
    assert_eq!(
        created("/nhi/tools"),
        1,
        "the last write's audit record is there"
    );
}
