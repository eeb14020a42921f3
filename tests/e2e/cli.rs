//! The policy command line, as a user runs it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub(crate) fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_portcullis"))
}

pub(crate) fn shipped() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("policies")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `portcullis policy explain [--json] FILE` against the shipped policies.
fn explain(input: &Path, json: bool) -> Output {
    let mut cmd = bin();
    cmd.args(["policy", "explain"]);
    if json {
        cmd.arg("--json");
    }
    cmd.arg("--policies")
        .arg(shipped())
        .arg(input)
        .output()
        .expect("run")
}

/// Appends `policy` to a copy of the shipped policies and validates the copy.
fn validate_with(policy: &str) -> (Output, PathBuf, tempfile::TempDir) {
    let tmp = tempfile::tempdir().expect("tempdir");
    copy_dir(&shipped(), tmp.path());
    let file = tmp.path().join("team").join("rules.cedar");
    std::fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
    std::fs::write(&file, policy).expect("write");
    let out = bin()
        .args(["policy", "validate"])
        .arg(tmp.path())
        .output()
        .expect("run");
    (out, file, tmp)
}

#[test]
fn validate_accepts_the_shipped_policies() {
    let out = bin()
        .args(["policy", "validate"])
        .arg(shipped())
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("policies valid"));
}

#[test]
fn validate_rejects_bad_policies_naming_file_and_line() {
    let cases = [
        (
            "attribute typo",
            "// header\n@id(\"typo\")\npermit (principal, action == Portcullis::Action::\"call_tool\", resource)\nwhen { principal.toolz.contains(resource) };\n",
            4,
            "toolz",
        ),
        (
            "unknown entity type",
            "@id(\"robot\")\npermit (principal == Portcullis::Robot::\"r2\", action, resource);\n",
            2,
            "Portcullis::Robot",
        ),
        (
            "missing id",
            "\n\npermit (principal, action, resource);\n",
            3,
            "@id",
        ),
        (
            "syntax error",
            "@id(\"broken\")\npermit (principal, action, resource)\nwhen { principal.lifecycle == };\n",
            3,
            "unexpected token",
        ),
    ];
    for (name, policy, line, needle) in cases {
        let (out, file, _tmp) = validate_with(policy);
        let output = text(&out);
        assert!(!out.status.success(), "{name}: must fail\n{output}");
        let location = format!("{}:{line}:", file.display());
        assert!(
            output.contains(&location),
            "{name}: expected `{location}` in\n{output}"
        );
        assert!(
            output.contains(needle),
            "{name}: expected `{needle}` in\n{output}"
        );
    }
}

#[test]
fn test_runs_the_shipped_cases() {
    let out = bin()
        .args(["policy", "test"])
        .arg(shipped().join("tests"))
        .output()
        .expect("run");
    let output = text(&out);
    assert!(out.status.success(), "{output}");
    let summary = output.lines().last().unwrap_or_default();
    assert!(summary.ends_with(" passed, 0 failed"), "{summary}");
}

#[test]
fn test_fails_when_a_case_fails() {
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        tmp.path().join("wrong.yaml"),
        r#"
entities:
  tenants: [{id: acme}]
  servers: [{id: s}]
  tools: [{id: t, tenant: acme, server: s}]
  agents: [{id: a, tenant: acme}]
cases:
  - name: no grant, but expected allowed
    request: {tenant: acme, principal: {agent: a}, action: call_tool, resource: {tool: t}}
    expect: {decision: allow}
"#,
    )
    .expect("write");
    let out = bin()
        .args(["policy", "test"])
        .arg(tmp.path())
        .arg("--policies")
        .arg(shipped())
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(text(&out).contains("0 passed, 1 failed"), "{}", text(&out));
}

#[test]
fn explain_shows_decision_reasons_and_obligations() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let input = tmp.path().join("call.yaml");
    std::fs::write(
        &input,
        r#"
entities:
  tenants: [{id: acme}]
  servers: [{id: bank}]
  tools: [{id: pay, tenant: acme, server: bank, category: payments}]
  agents: [{id: treasurer, tenant: acme, tools: [pay]}]
request:
  tenant: acme
  principal: {agent: treasurer}
  action: call_tool
  resource: {tool: pay}
  arguments: {amount: 50000}
"#,
    )
    .expect("write");
    let out = explain(&input, false);
    let output = text(&out);
    assert!(out.status.success(), "{output}");
    assert!(output.contains("decision: deny"), "{output}");
    assert!(
        output.contains("large-payment-approval (") && output.contains("arguments.cedar:"),
        "{output}"
    );
    assert!(output.contains("obligations: human_approval"), "{output}");

    let json = explain(&input, true);
    let decision: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    assert_eq!(decision["allow"], false);
    assert_eq!(decision["obligations"][0], "human_approval");
    // The JSON names each reason's file and line, as the text does.
    let reason = &decision["reasons"][0];
    assert_eq!(reason["policy"], "large-payment-approval", "{decision}");
    assert!(
        reason["file"]
            .as_str()
            .is_some_and(|f| f.ends_with("arguments.cedar")),
        "{decision}"
    );
    let line = reason["line"].as_u64().expect("a line number");
    assert!(
        output.contains(&format!("arguments.cedar:{line})")),
        "{line} vs\n{output}"
    );
}

/// One typo in an explain file is one error, naming the field and the name, and nothing is
/// decided (no policy's reasons that point elsewhere).
#[test]
fn explain_names_the_one_typo_of_a_request_file() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let good = serde_json::json!({
        "entities": {
            "tenants": [{"id": "acme"}],
            "servers": [{"id": "bank"}],
            "tools": [{"id": "pay", "tenant": "acme", "server": "bank", "category": "payments"}],
            "agents": [{"id": "treasurer", "tenant": "acme", "tools": ["pay"]}]
        },
        "request": {
            "tenant": "acme",
            "principal": {"agent": "treasurer"},
            "action": "call_tool",
            "resource": {"tool": "pay"},
            "arguments": {"amount": 50000}
        }
    })
    .to_string();
    let typos = [
        (
            "\"tenant\":\"acme\",\"principal\"",
            "\"tenant\":\"acem\",\"principal\"",
            "request.tenant: tenant `acem`",
        ),
        (
            "\"tools\":[\"pay\"]",
            "\"tools\":[\"pya\"]",
            "entities.agents[0] (`treasurer`).tools: tool `pya`",
        ),
        (
            "\"resource\":{\"tool\":\"pay\"}",
            "\"resource\":{\"tool\":\"pya\"}",
            "request.resource: tool `pya`",
        ),
        (
            "\"amount\":50000",
            "\"amount\":\"50000\"",
            "argument `amount` is a string, but policies read it as Long",
        ),
        (
            "\"arguments\":",
            "\"argumnets\":",
            "unknown field `argumnets`",
        ),
    ];
    for (right, wrong, expected) in typos {
        assert!(good.contains(right), "{right} not in {good}");
        let input = tmp.path().join("call.json");
        std::fs::write(&input, good.replacen(right, wrong, 1)).expect("write");
        let out = explain(&input, true);
        let output = text(&out);
        // Refused before deciding (error lines), or decided with evaluation errors.
        let errors: Vec<String> = if out.status.success() {
            let d: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
            assert_eq!(d["allow"], false, "{output}");
            assert_eq!(d["reasons"], serde_json::json!([]), "{wrong}: {output}");
            d["errors"]
                .as_array()
                .expect("errors")
                .iter()
                .map(ToString::to_string)
                .collect()
        } else {
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .filter(|l| l.starts_with("error"))
                .map(str::to_owned)
                .collect()
        };
        assert_eq!(errors.len(), 1, "{wrong}: one error expected:\n{output}");
        assert!(
            errors[0].contains(expected),
            "{wrong}: `{expected}` missing:\n{output}"
        );
    }
    // A misspelt argument is no error (tools have arguments policies do not read), but it
    // is pointed out.
    let input = tmp.path().join("call.json");
    std::fs::write(&input, good.replacen("\"amount\"", "\"amonut\"", 1)).expect("write");
    let out = explain(&input, false);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("argument `amonut` is not declared"),
        "{}",
        text(&out)
    );
}

/// A data directory with a config pointing at it.
fn data_config(dir: &Path) -> PathBuf {
    let config = dir.join("portcullis.toml");
    std::fs::write(
        &config,
        format!("data_dir = {:?}\n", dir.join("data").display().to_string()),
    )
    .expect("write config");
    config
}

#[test]
fn registry_import_and_export_round_trip() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let config = data_config(tmp.path());
    let (a1, a2, t) = (
        "0193a000-0000-7000-8000-000000000001",
        "0193a000-0000-7000-8000-000000000002",
        "0193a000-0000-7000-8000-000000000003",
    );
    let common = |kind: &str, id: &str, name: &str| {
        format!(
            r#""kind":"{kind}","id":"{id}","tenant_id":"acme","name":"{name}","lifecycle_state":"active","risk_level":"low","created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z","version":1"#
        )
    };
    let lines = [
        format!(r#"{{"nhi":{{{}}}}}"#, common("agent", a1, "reader")),
        format!(r#"{{"nhi":{{{}}}}}"#, common("agent", a2, "writer")),
        format!(
            r#"{{"nhi":{{{},"upstream":"files","input_schema":{{"type":"object"}}}}}}"#,
            common("tool", t, "read")
        ),
        format!(
            r#"{{"relation":{{"tenant_id":"acme","kind":"tool_grant","source":"{a1}","target":"{t}"}}}}"#
        ),
    ];
    let file = tmp.path().join("registry.jsonl");
    std::fs::write(&file, lines.join("\n")).expect("write");
    let import = || {
        bin()
            .args(["registry", "import"])
            .arg(&file)
            .arg("--config")
            .arg(&config)
            .output()
            .expect("run")
    };
    let out = import();
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("imported 3 records and 1 relations"),
        "{}",
        text(&out)
    );
    let out = bin()
        .args(["registry", "export", "--config"])
        .arg(&config)
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", text(&out));
    let exported: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let written: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(exported.len(), 4);
    for (got, want) in exported.iter().zip(&written) {
        for key in ["id", "name", "kind"] {
            assert_eq!(got["nhi"][key], want["nhi"][key]);
        }
        assert_eq!(got["relation"], want["relation"]);
    }

    // The same records again: refused whole, naming the record.
    let out = import();
    assert!(!out.status.success());
    assert!(text(&out).contains("already taken"), "{}", text(&out));

    // A grant to a tool that exists nowhere, and a malformed line: refused, nothing stored.
    let late = format!(
        r#"{{"nhi":{{{}}}}}"#,
        common("agent", "0193a000-0000-7000-8000-000000000009", "late")
    );
    let dangling = format!(
        r#"{{"relation":{{"tenant_id":"acme","kind":"tool_grant","source":"{a2}","target":"0193a000-0000-7000-8000-0000000000ff"}}}}"#
    );
    std::fs::write(&file, format!("{late}\n{dangling}\n")).expect("write");
    let out = import();
    assert!(!out.status.success());
    assert!(text(&out).contains("tool_grant relation"), "{}", text(&out));
    std::fs::write(&file, "\n{\"nhi\": {\"kind\": \"agent\"}}\n").expect("write");
    let out = import();
    assert!(!out.status.success());
    assert!(text(&out).contains("line 2"), "{}", text(&out));
    let out = bin()
        .args(["registry", "export", "--config"])
        .arg(&config)
        .output()
        .expect("run");
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 4);
}

#[test]
fn shared_rate_limits_without_redis_refuse_to_start() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let config = tmp.path().join("c.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = {:?}\n[gateway.rate_limits]\nshared = true\nagent = {{ requests = 5 }}\n",
            tmp.path().join("data")
        ),
    )
    .expect("config");
    let out = bin()
        .args(["serve", "--config"])
        .arg(&config)
        .output()
        .expect("run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("rate_limits.shared needs store.backend"),
        "{stderr}"
    );
}

/// `serve` with its output in a file: plain text (no colour codes, though `NO_COLOR` is
/// unset), one start-up line saying what it serves, and no audit line in the log — they go
/// to their own file under the data directory, their latencies to the microsecond.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_logs_plain_text_a_summary_and_no_audit_lines() {
    use crate::interop::{Proc, free_port, wait_listening};
    use std::time::{Duration, Instant};

    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let (gateway_port, admin_port) = (free_port(), free_port());
    let config = crate::interop::write_config(
        tmp.path(),
        admin_port,
        gateway_port,
        "[[gateway.upstreams]]\nname = \"files\"\nurl = \"http://127.0.0.1:9/mcp\"\n",
    );
    let mut cmd = bin();
    cmd.args(["serve", "--config"])
        .arg(&config)
        .env_remove("NO_COLOR")
        .env_remove("RUST_LOG");
    let mut serve = Proc::spawn("portcullis serve", cmd, tmp.path().join("serve.log"));
    assert!(
        wait_listening(&mut serve, admin_port, Duration::from_secs(60)).await
            && wait_listening(&mut serve, gateway_port, Duration::from_secs(30)).await,
        "portcullis serve did not come up:\n{}",
        serve.log()
    );
    // One request (refused: no token) makes one audit line.
    let status = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{gateway_port}/mcp"))
        .header("content-type", "application/json")
        .body(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#)
        .send()
        .await
        .expect("a call")
        .status();
    assert_eq!(status, 401);
    let audit = data.join("audit.jsonl");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut lines = String::new();
    while Instant::now() < deadline && !lines.contains("latency_ms") {
        tokio::time::sleep(Duration::from_millis(50)).await;
        lines = std::fs::read_to_string(&audit).unwrap_or_default();
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline && !serve.log().contains("portcullis is ready") {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    serve.terminate();
    let log = serve.log();

    assert!(
        !log.contains('\u{1b}'),
        "colour codes in a log file:\n{log:?}"
    );
    let ready = log
        .lines()
        .find(|l| l.contains("portcullis is ready"))
        .unwrap_or_else(|| panic!("no start-up summary:\n{log}"));
    for expected in [
        format!("gateway=127.0.0.1:{gateway_port}"),
        format!("admin=127.0.0.1:{admin_port}"),
        format!("policy_dir={}", shipped().display()),
        "upstreams=\"files\"".to_owned(),
        format!("store=\"sqlite {}\"", data.join("registry.db").display()),
        format!("audit=\"{}\"", audit.display()),
    ] {
        assert!(ready.contains(&expected), "`{expected}` missing: {ready}");
    }
    let policies: usize = ready
        .split("policies=")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no policy count: {ready}"));
    assert!(policies > 0, "{ready}");

    assert!(
        !log.contains("latency_ms"),
        "an audit line in the log:\n{log}"
    );
    let event: serde_json::Value = lines
        .lines()
        .next()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("no audit line in {}: {lines:?}", audit.display()));
    assert_eq!(event["status"], 401, "{event}");
    let latency = lines
        .split("\"latency_ms\":")
        .nth(1)
        .and_then(|rest| rest.split([',', '}']).next())
        .expect("a latency");
    let decimals = latency.split('.').nth(1).map_or(0, str::len);
    assert!(
        decimals <= 3,
        "latency_ms {latency}: to the microsecond at most"
    );
}
