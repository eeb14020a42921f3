//! The admin API's OpenAPI document exercised by schemathesis (PyPI, pinned in
//! tests/interop/requirements-schemathesis.txt): a bounded number of generated requests per
//! operation, and no 5xx, every response matching its documented schema and status.

use std::process::Command;
use std::time::Duration;

use crate::cli::bin;
use crate::interop::{Proc, free_port, interop_dir, issue_token, wait_listening, write_config};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_api_keeps_its_openapi_promises() {
    let schemathesis = interop_dir().join(".venv-st/bin/schemathesis");
    assert!(
        schemathesis.is_file(),
        "{} is missing: ./.ci/run installs it (python3 -m venv tests/interop/.venv-st && \
         tests/interop/.venv-st/bin/pip install -r tests/interop/requirements-schemathesis.txt)",
        schemathesis.display()
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let (admin_port, gateway_port) = (free_port(), free_port());
    let config = write_config(
        dir.path(),
        admin_port,
        gateway_port,
        "audit_log = \"off\"\n",
    );
    let mut cmd = bin();
    cmd.args(["serve", "--config"])
        .arg(&config)
        // The vault has a key, so its endpoints answer rather than 503.
        .env(
            "VAULT_MASTER_KEY",
            "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
        );
    let mut serve = Proc::spawn("portcullis serve", cmd, dir.path().join("serve.log"));
    assert!(wait_listening(&mut serve, admin_port, Duration::from_secs(30)).await);
    let token = issue_token(&config, "root", "acme", true);
    let out = Command::new(&schemathesis)
        .arg("run")
        .arg(format!("http://127.0.0.1:{admin_port}/openapi.json"))
        .args(["-H", &format!("Authorization: Bearer {token}")])
        .args([
            "--checks",
            "not_a_server_error,response_schema_conformance,status_code_conformance",
            "--max-examples",
            "10",
            // One worker: with two, hypothesis describes filters from two threads at once
            // and Python 3.11's AST constructor can fail ("recursion depth mismatch"), an
            // error of the tool, not of the API.
            "--workers",
            "1",
            "--seed",
            "20261130",
        ])
        .output()
        .expect("run schemathesis");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "schemathesis found problems:\n{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(report.contains("passed"), "{report}");
}
