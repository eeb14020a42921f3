//! Interoperability with software nobody on the project wrote: the official MCP Python SDK
//! (`mcp`, pinned in tests/interop/requirements.txt) as the client and the reference server
//! `@modelcontextprotocol/server-everything` (pinned in tests/interop/package.json, Streamable
//! HTTP mode) as two upstreams, with `portcullis serve` in between.
//!
//! Needs `npm ci --prefix tests/interop` and a venv at tests/interop/.venv with
//! tests/interop/requirements.txt installed (`./.ci/run` does both); without them the test fails.

use std::fs::File;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::cli::{bin, shipped};

/// server-everything's `echo` input schema, as its tools/list reports it.
fn echo_schema() -> Value {
    json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "properties": {"message": {"type": "string", "description": "Message to echo"}},
        "required": ["message"]
    })
}

/// server-everything's `get-sum` input schema.
fn get_sum_schema() -> Value {
    json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "properties": {
            "a": {"type": "number", "description": "First number"},
            "b": {"type": "number", "description": "Second number"}
        },
        "required": ["a", "b"]
    })
}

/// server-everything's `trigger-long-running-operation` input schema.
fn long_running_schema() -> Value {
    json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "properties": {
            "duration": {"default": 10, "description": "Duration of the operation in seconds", "type": "number"},
            "steps": {"default": 5, "description": "Number of steps in the operation", "type": "number"}
        }
    })
}

pub(crate) fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop")
}

pub(crate) const INSTALL: &str = "run the interop install step first (./.ci/run does it): \
    `npm ci --prefix tests/interop && python3 -m venv tests/interop/.venv && \
    tests/interop/.venv/bin/pip install -r tests/interop/requirements.txt`";

/// A process this test started: killed and reaped when dropped, its log shown on a failure.
pub(crate) struct Proc {
    name: String,
    child: Child,
    log: PathBuf,
    /// Show the log's tail when the test fails (unless the failure message has it already).
    show_log: bool,
}

impl Proc {
    pub(crate) fn spawn(name: &str, mut cmd: Command, log: PathBuf) -> Self {
        let out = File::create(&log).expect("log file");
        let err = out.try_clone().expect("log file");
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name} ({cmd:?}): {e}"));
        Self {
            name: name.to_owned(),
            child,
            log,
            show_log: true,
        }
    }

    pub(crate) fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().expect("try_wait")
    }

    /// Sends SIGTERM (a polite stop).
    pub(crate) fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill -TERM");
        assert!(status.success());
    }

    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if self.show_log && std::thread::panicking() {
            let log = self.log();
            let lines: Vec<&str> = log.lines().collect();
            let tail = lines.get(lines.len().saturating_sub(60)..).unwrap_or(&[]);
            eprintln!(
                "--- {} ({}), last lines ---\n{}",
                self.name,
                self.log.display(),
                tail.join("\n")
            );
        }
    }
}

pub(crate) fn free_port() -> u16 {
    portcullis_registry::testutil::free_port()
}

/// Writes `dir/portcullis.toml` for `portcullis serve`: the data in `dir/data`, the admin API
/// and the gateway on the given loopback ports, the shipped policies (not watched), and
/// `gateway` (lines and `[[gateway.upstreams]]` tables of the gateway's own) after the
/// gateway's `listen`.
pub(crate) fn write_config(
    dir: &Path,
    admin_port: u16,
    gateway_port: u16,
    gateway: &str,
) -> PathBuf {
    let config = dir.join("portcullis.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = {data:?}\n\
             [admin]\nlisten = \"127.0.0.1:{admin_port}\"\n\
             [gateway]\nlisten = \"127.0.0.1:{gateway_port}\"\n{gateway}\
             [policy]\ndir = {policies:?}\nwatch = false\n",
            data = dir.join("data"),
            policies = shipped(),
        ),
    )
    .expect("config");
    config
}

/// Waits until `port` accepts connections; false if the process exits first or time runs out.
pub(crate) async fn wait_listening(proc: &mut Proc, port: u16, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if proc.exited().is_some() {
            return false;
        }
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// One server-everything (Streamable HTTP at /mcp) on loopback: on `port`, or on a free port.
pub(crate) async fn start_everything(name: &str, port: Option<u16>, logs: &Path) -> (Proc, u16) {
    let dir = interop_dir();
    let entry = dir.join("node_modules/@modelcontextprotocol/server-everything/dist/index.js");
    assert!(entry.is_file(), "{} is missing: {INSTALL}", entry.display());
    let preload = dir.join("pin-loopback.mjs");
    static STARTS: AtomicUsize = AtomicUsize::new(0);
    for _ in 0..3 {
        let port = port.unwrap_or_else(free_port);
        let mut cmd = Command::new("node");
        cmd.current_dir(&dir)
            .arg(&entry)
            .arg("streamableHttp")
            .env("PORT", port.to_string())
            .env(
                "NODE_OPTIONS",
                format!("--import \"{}\"", preload.display()),
            );
        let log = logs.join(format!(
            "everything-{name}-{port}-{}.log",
            STARTS.fetch_add(1, Ordering::Relaxed)
        ));
        let mut proc = Proc::spawn(&format!("server-everything `{name}`"), cmd, log);
        if wait_listening(&mut proc, port, Duration::from_secs(30)).await {
            return (proc, port);
        }
        // A free port taken between picking and binding: try another one.
        assert!(
            proc.exited().is_some(),
            "server-everything `{name}` did not listen on {port}:\n{}",
            proc.log()
        );
    }
    panic!("server-everything `{name}` did not start (see its logs in {logs:?})");
}

/// `portcullis sample-server` on a free loopback port, its log in `logs`.
pub(crate) async fn start_sample(logs: &Path) -> (Proc, u16) {
    let port = free_port();
    let mut cmd = bin();
    cmd.arg("sample-server")
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"));
    let mut sample = Proc::spawn("sample server", cmd, logs.join("sample.log"));
    assert!(wait_listening(&mut sample, port, Duration::from_secs(30)).await);
    (sample, port)
}

/// Starts `portcullis serve --config config` and waits for both of its listeners.
pub(crate) async fn serve(config: &Path, logs: &Path, admin_port: u16, gateway_port: u16) -> Proc {
    let mut cmd = bin();
    cmd.arg("serve")
        .arg("--config")
        .arg(config)
        .env("NO_COLOR", "1");
    let mut portcullis = Proc::spawn("portcullis serve", cmd, logs.join("portcullis.log"));
    assert!(
        wait_listening(&mut portcullis, admin_port, Duration::from_secs(30)).await
            && wait_listening(&mut portcullis, gateway_port, Duration::from_secs(30)).await,
        "portcullis serve did not come up:\n{}",
        portcullis.log()
    );
    portcullis
}

/// A token from `portcullis token issue` with the server's configuration, `admin` or not.
pub(crate) fn issue_token(config: &Path, sub: &str, tenant: &str, admin: bool) -> String {
    let role: &[&str] = if admin { &["--role", "admin"] } else { &[] };
    token_with(config, sub, tenant, role)
}

/// A token from `portcullis token issue` with the server's configuration, for `sub` of
/// `tenant`, with `more` arguments (`--role …`, `--act …`).
pub(crate) fn token_with(config: &Path, sub: &str, tenant: &str, more: &[&str]) -> String {
    let out = bin()
        .args(["token", "issue", "--tenant", tenant, "--sub", sub])
        .args(more)
        .arg("--config")
        .arg(config)
        .output()
        .expect("portcullis token issue");
    assert!(
        out.status.success(),
        "token issue: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf8")
        .trim()
        .to_owned()
}

pub(crate) struct Admin {
    pub(crate) http: reqwest::Client,
    pub(crate) base: String,
    pub(crate) token: String,
}

impl Admin {
    pub(crate) async fn post(&self, path: &str, body: Option<Value>) -> Value {
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.expect("admin request");
        let status = resp.status();
        let text = resp.text().await.expect("admin body");
        assert!(status.is_success(), "POST {path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    pub(crate) async fn create(&self, path: &str, body: Value) -> String {
        let created = self.post(path, Some(body)).await;
        created
            .get("id")
            .and_then(Value::as_str)
            .expect("id")
            .to_owned()
    }
}

/// A plain JSON-RPC POST to the gateway; the answer's status, session id and JSON body.
pub(crate) async fn rpc(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    session: Option<&str>,
    body: Value,
) -> (u16, Option<String>, Value) {
    let mut req = http
        .post(url)
        .bearer_auth(token)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-06-18")
        .json(&body);
    if let Some(id) = session {
        req = req.header("mcp-session-id", id);
    }
    let resp = req.send().await.expect("gateway request");
    let status = resp.status().as_u16();
    let id = resp
        .headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let text = resp.text().await.unwrap_or_default();
    (
        status,
        id,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

/// Waits (bounded) until the gateway lists exactly `expected` to the holder of `token`: the
/// registry's change feed reaches the gateway a moment after the admin writes.
pub(crate) async fn wait_listed(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    expected: &[String],
) {
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "interop-probe", "version": "1"}}});
    let (status, session, body) = rpc(http, url, token, None, init).await;
    assert_eq!(status, 200, "initialize: {body}");
    let session = session.expect("initialize answers an Mcp-Session-Id");
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    rpc(http, url, token, Some(&session), initialized).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
        let (_, _, body) = rpc(http, url, token, Some(&session), list).await;
        let names: Vec<String> = body
            .pointer("/result/tools")
            .and_then(Value::as_array)
            .map(|tools| {
                tools
                    .iter()
                    .filter_map(|t| t.get("name").and_then(Value::as_str).map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        if names == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the gateway never listed {expected:?} (last answer: {body})"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Two server-everything upstreams (`everything`, `spare`), `portcullis serve` in front of
/// them, and an agent granted `echo` on both and `trigger-long-running-operation` on `spare`;
/// `get-sum` is registered on `everything` but not granted.
struct World {
    // Fields drop in order: the gateway, the upstreams, then the directory with the logs.
    portcullis: Proc,
    everything: Option<Proc>,
    everything_port: u16,
    _spare: Proc,
    mcp_url: String,
    agent_token: String,
    expected: Vec<String>,
    dir: tempfile::TempDir,
}

impl World {
    async fn start() -> Self {
        let python = interop_dir().join(".venv/bin/python");
        assert!(
            python.is_file(),
            "{} is missing: {INSTALL}",
            python.display()
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let logs = dir.path();

        // (a) two independent server-everything upstreams.
        let (everything, everything_port) = start_everything("everything", None, logs).await;
        let (spare, spare_port) = start_everything("spare", None, logs).await;

        // (b) the gateway and the admin API in front of them.
        let (admin_port, gateway_port) = (free_port(), free_port());
        let config = write_config(
            dir.path(),
            admin_port,
            gateway_port,
            &format!(
                "[[gateway.upstreams]]\nname = \"everything\"\nurl = \"http://127.0.0.1:{everything_port}/mcp\"\n\
                 [[gateway.upstreams]]\nname = \"spare\"\nurl = \"http://127.0.0.1:{spare_port}/mcp\"\n"
            ),
        );
        let portcullis = serve(&config, logs, admin_port, gateway_port).await;
        let admin_base = format!("http://127.0.0.1:{admin_port}");
        let http = reqwest::Client::new();
        let health = http
            .get(format!("{admin_base}/healthz"))
            .send()
            .await
            .expect("healthz");
        assert_eq!(health.status(), 200);

        // (c) the agent and its tools, through the admin API.
        let admin = Admin {
            http: http.clone(),
            base: admin_base,
            token: issue_token(&config, "root", "acme", true),
        };
        let agent = admin
            .create(
                "/nhi/agents",
                json!({"name": "interop-agent", "agent_type": "assistant"}),
            )
            .await;
        let mut granted = Vec::new();
        for upstream in ["everything", "spare"] {
            granted.push(
                admin
                    .create(
                        "/nhi/tools",
                        json!({"name": "echo", "upstream": upstream, "description": "Echoes back the input string", "input_schema": echo_schema()}),
                    )
                    .await,
            );
            // Offered only to clients that can answer elicitations.
            granted.push(
                admin
                    .create(
                        "/nhi/tools",
                        json!({"name": "trigger-elicitation-request", "upstream": upstream, "input_schema": {"type": "object"}}),
                    )
                    .await,
            );
        }
        granted.push(
            admin
                .create(
                    "/nhi/tools",
                    json!({"name": "trigger-long-running-operation", "upstream": "spare", "input_schema": long_running_schema()}),
                )
                .await,
        );
        admin
            .create(
                "/nhi/tools",
                json!({"name": "get-sum", "upstream": "everything", "input_schema": get_sum_schema()}),
            )
            .await;
        for tool in &granted {
            admin
                .post(&format!("/nhi/agents/{agent}/tools/{tool}/grant"), None)
                .await;
        }

        let mcp_url = format!("http://127.0.0.1:{gateway_port}/mcp");
        let agent_token = issue_token(&config, &agent, "acme", false);
        let expected: Vec<String> = [
            "everything_echo",
            "everything_trigger-elicitation-request",
            "spare_echo",
            "spare_trigger-elicitation-request",
            "spare_trigger-long-running-operation",
        ]
        .map(str::to_owned)
        .into();
        wait_listed(&http, &mcp_url, &agent_token, &expected).await;
        Self {
            portcullis,
            everything: Some(everything),
            everything_port,
            _spare: spare,
            mcp_url,
            agent_token,
            expected,
            dir,
        }
    }

    /// (d) starts tests/interop/mcp_client.py (the official SDK) against the gateway.
    fn client(&self, args: &[&str]) -> Proc {
        let mut cmd = Command::new(interop_dir().join(".venv/bin/python"));
        cmd.current_dir(interop_dir())
            .arg("mcp_client.py")
            .arg(&self.mcp_url)
            .args(args)
            .env("MCP_TOKEN", &self.agent_token)
            .env("PYTHONUNBUFFERED", "1");
        Proc::spawn("mcp_client.py", cmd, self.dir.path().join("mcp_client.log"))
    }

    /// Waits for the client to finish and asserts it reported no failure.
    async fn expect_success(&mut self, mut client: Proc, within: Duration) {
        let deadline = Instant::now() + within;
        let status = loop {
            if let Some(status) = client.exited() {
                break status;
            }
            assert!(Instant::now() < deadline, "mcp_client.py did not finish");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let output = client.log();
        client.show_log = false;
        println!("{output}");
        let summary = output
            .lines()
            .rev()
            .find(|l| l.ends_with(" failed"))
            .unwrap_or_default();
        assert!(
            status.success() && summary.ends_with(", 0 failed"),
            "the Python SDK client failed ({status}):\n{output}"
        );
        assert!(
            self.portcullis.exited().is_none(),
            "portcullis serve exited:\n{}",
            self.portcullis.log()
        );
    }

    /// Kills the `everything` upstream and starts a new one on the same port: it has forgotten
    /// every MCP session.
    async fn restart_everything(&mut self) {
        drop(self.everything.take());
        let (proc, _) =
            start_everything("everything", Some(self.everything_port), self.dir.path()).await;
        self.everything = Some(proc);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_python_sdk_and_server_everything_work_through_the_gateway() {
    let started = Instant::now();
    let mut world = World::start().await;
    let allowed = world.expected.join(",");
    let client = world.client(&[
        "--allowed",
        &allowed,
        "--echo",
        "everything_echo",
        "--echo",
        "spare_echo",
        "--denied",
        "everything_get-sum",
        "--denied-arguments",
        r#"{"a": 1, "b": 2}"#,
        "--invalid",
        "everything_echo",
        "--progress",
        "spare_trigger-long-running-operation",
        "--elicit",
        "everything_trigger-elicitation-request",
        "--elicit",
        "spare_trigger-elicitation-request",
    ]);
    world.expect_success(client, Duration::from_secs(90)).await;
    println!("interop: done in {:.1?}", started.elapsed());
    // (e) every process is killed and reaped by its guard when `world` drops.
}

/// The README: "The gateway keeps one MCP session per upstream and re-initializes it when the
/// upstream forgets it." server-everything forgets every session when it restarts (and then
/// answers HTTP 400, not 404, to the old session id).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_session_survives_an_upstream_restart() {
    let mut world = World::start().await;
    let handshake = world.dir.path().join("handshake");
    std::fs::create_dir(&handshake).expect("mkdir");
    let mut client = world.client(&[
        "--survive-restart",
        "everything_echo",
        "--handshake",
        handshake.to_str().expect("utf8 path"),
        "--timeout",
        "90",
    ]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !handshake.join("ready").exists() {
        assert!(
            client.exited().is_none() && Instant::now() < deadline,
            "the client never got to the restart:\n{}",
            client.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    world.restart_everything().await;
    std::fs::write(handshake.join("restarted"), b"").expect("handshake");
    world.expect_success(client, Duration::from_secs(90)).await;
}
