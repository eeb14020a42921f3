//! `portcullis serve --demo` shows an allowed call, a denied call, a schema rejection, an
//! approval, an allowed and a refused agent-to-agent task, an agent token and a credential
//! brokered from the vault, through the real gateway.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::cli::{bin, shipped};
use crate::interop::free_port;

/// A running `portcullis serve --demo` and what it printed until it was ready.
pub(crate) struct Demo {
    pub(crate) child: Child,
    pub(crate) out: String,
    pub(crate) gateway: u16,
    pub(crate) admin: u16,
}

/// Starts the demo on free ports with the shipped policies (`gateway` adds lines to its
/// `[gateway]` table; `setup` adjusts the command) and reads its narrative until it says it
/// is ready. Its standard error is discarded unless `setup` says otherwise.
pub(crate) fn start_demo(dir: &Path, gateway: &str, setup: impl FnOnce(&mut Command)) -> Demo {
    let (gateway_port, admin) = (free_port(), free_port());
    let config = dir.join("demo.toml");
    std::fs::write(
        &config,
        format!(
            "[gateway]\nlisten = \"127.0.0.1:{gateway_port}\"\n{gateway}[admin]\nlisten = \"127.0.0.1:{admin}\"\n[policy]\ndir = {:?}\nwatch = false\n",
            shipped()
        ),
    )
    .expect("config");
    let mut cmd = bin();
    cmd.args(["serve", "--demo", "--config"])
        .arg(&config)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    setup(&mut cmd);
    let mut child = cmd.spawn().expect("start the demo");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut out = String::new();
    while Instant::now() < deadline && !out.contains("Ctrl-C stops the demo") {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            out.push_str(&line);
            out.push('\n');
        }
    }
    assert!(
        out.contains("Ctrl-C stops the demo"),
        "the demo did not finish:\n{out}"
    );
    Demo {
        child,
        out,
        gateway: gateway_port,
        admin,
    }
}

/// The value after `NAME=` on a line of the demo's output.
pub(crate) fn printed(out: &str, name: &str) -> String {
    out.lines()
        .find_map(|l| l.trim().strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name}= in the demo output:\n{out}"))
        .to_owned()
}

/// The URL of the printed `curl` command that contains `part`.
fn printed_url(out: &str, part: &str) -> String {
    out.lines()
        .filter(|l| l.contains("curl") && l.contains(part))
        .find_map(|l| l.split_whitespace().find(|w| w.starts_with("http://")))
        .unwrap_or_else(|| panic!("no curl command with {part}:\n{out}"))
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_shows_the_four_outcomes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let Demo { mut child, out, .. } = start_demo(dir.path(), "audit_log = \"off\"\n", |_| {});
    for expected in [
        "-> 200 {\"content\":[{\"type\":\"text\",\"text\":\"Echo: hello\"}]",
        "-> 404 {\"error\":\"unknown_tool\"",
        "-> 422 {\"error\":\"invalid_arguments\",\"message\":\"invalid arguments for tool `demo_add`: argument `a`",
        "-> 403 {\"error\":\"approval_required\"",
        "ASSISTANT=ey",
        // The vault: crm accepts only the key the vault holds, presented for the lease holder.
        "-> 200 {\"access_token\":\"ey",
        "-> 200 {\"content\":[{\"type\":\"text\",\"text\":\"Echo: from the vault\"}]",
        "-> 403 {\"error\":\"credential_unavailable\",\"message\":\"no active lease on the secret `crm-api-key`",
        "CLIENT_SECRET=",
        // A2A: one allowed task between agents, one refused like an unknown agent.
        "\"parts\":[{\"text\":\"echo: summarise the Q3 report\"}]",
        "-> 404 {\"error\":\"not_found\",\"message\":\"unknown agent:",
    ] {
        assert!(
            out.contains(expected),
            "`{expected}` missing from the demo output:\n{out}"
        );
    }
    // The printed commands approve the held payment and retry it: it goes through once.
    let http = reqwest::Client::new();
    let admin = printed(&out, "ADMIN");
    let assistant = printed(&out, "ASSISTANT");
    let approve = printed_url(&out, "/approve");
    let resp = http
        .post(&approve)
        .bearer_auth(&admin)
        .json(&serde_json::json!({"comment": "invoice checked"}))
        .send()
        .await
        .expect("approve");
    assert_eq!(
        resp.status(),
        200,
        "{}",
        resp.text().await.unwrap_or_default()
    );
    let retry = printed_url(&out, "demo_transfer_funds/call");
    let body = serde_json::json!({"to": "acme-supplier", "amount": 25000});
    let resp = http
        .post(&retry)
        .bearer_auth(&assistant)
        .json(&body)
        .send()
        .await
        .expect("retry");
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    assert_eq!(status, 200, "{text}");
    assert!(
        text.contains("transferred 25000 to acme-supplier"),
        "{text}"
    );
    let again = http
        .post(&retry)
        .bearer_auth(&assistant)
        .json(&body)
        .send()
        .await
        .expect("again");
    assert_eq!(again.status(), 403, "one approval, one call");
    // The printed card names the gateway as the researcher's endpoint.
    let card_url = printed_url(&out, "/.well-known/agents/");
    let card: serde_json::Value = http
        .get(&card_url)
        .send()
        .await
        .expect("card")
        .json()
        .await
        .expect("card json");
    let gateway = card_url.split("/.well-known").next().unwrap_or_default();
    assert!(
        card["url"]
            .as_str()
            .is_some_and(|u| u.starts_with(&format!("{gateway}/a2a/"))),
        "{card}"
    );
    // The printed console address serves the console.
    let console = out
        .lines()
        .find_map(|l| l.strip_prefix("The web console: "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no console address:\n{out}"));
    let page = http.get(console).send().await.expect("console");
    assert_eq!(page.status(), 200);
    assert!(
        page.text()
            .await
            .unwrap_or_default()
            .contains("/console/app.js")
    );
    // Stopped as a person stops it, so its directory goes too.
    assert!(terminate(&mut child).success());
}

/// Sends SIGTERM and waits (at most 30 s) for the process to exit.
fn terminate(child: &mut std::process::Child) -> std::process::ExitStatus {
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill -TERM");
    assert!(sent.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the demo did not stop on SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The demo says where its throwaway data and its audit lines are, keeps audit lines out of
/// what it prints and out of the log, and removes its directory when stopped with SIGTERM
/// (as with Ctrl-C).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_removes_its_directory_when_stopped() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let log = tmp.path().join("demo.log");
    let Demo { mut child, out, .. } = start_demo(tmp.path(), "", |cmd| {
        cmd.env_remove("NO_COLOR")
            .env_remove("RUST_LOG")
            .stderr(std::fs::File::create(&log).expect("log"));
    });
    let after = |prefix: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(prefix))
            .and_then(|l| l.rsplit(": ").next())
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| panic!("no `{prefix}` line in the demo output:\n{out}"))
    };
    let dir = after("Throwaway data");
    let audit = after("Audit lines");
    assert!(dir.is_dir(), "{} is not a directory", dir.display());
    assert!(dir.join("registry.db").is_file());
    assert_eq!(audit.parent(), Some(dir.as_path()), "{}", audit.display());
    let audited = std::fs::read_to_string(&audit).expect("the audit file");
    assert!(audited.lines().count() >= 4, "{audited}");
    assert!(
        !out.contains("latency_ms"),
        "audit lines in the narrative:\n{out}"
    );

    let status = terminate(&mut child);
    let logged = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(status.success(), "{status}:\n{logged}");
    assert!(!dir.exists(), "{} left behind:\n{logged}", dir.display());
    assert!(
        !logged.contains('\u{1b}'),
        "colour codes in a log file:\n{logged:?}"
    );
    assert!(logged.contains("portcullis is ready"), "{logged}");
    assert!(
        !logged.contains("latency_ms"),
        "audit lines in the log:\n{logged}"
    );
}
