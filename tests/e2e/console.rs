//! The web console in headless Chromium (Debian's `chromium`, driven by `playwright-core`
//! from npm: console/tests/console.mjs) against a running `portcullis serve --demo`. The
//! screenshots of each page are kept in console/test-results/.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::cli::{bin, shipped};
use crate::interop::free_port;

fn console_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("console")
}

const INSTALL: &str = "run the console install step first (./.ci/run does it): \
    `apt-get install chromium && npm ci --prefix console`";

/// The value after `NAME=` on a line of the demo's output.
fn printed(out: &str, name: &str) -> String {
    out.lines()
        .find_map(|l| l.trim().strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name}= in the demo output:\n{out}"))
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approvers_and_admins_work_in_the_console() {
    let dir = console_dir();
    assert!(
        dir.join("node_modules/playwright-core").is_dir(),
        "playwright-core is missing: {INSTALL}"
    );
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        std::path::Path::new(&chromium).is_file(),
        "{chromium} is missing: {INSTALL}"
    );
    let tmp = tempfile::tempdir().expect("tempdir");
    let config = tmp.path().join("demo.toml");
    let (gateway, admin) = (free_port(), free_port());
    std::fs::write(
        &config,
        format!(
            "[gateway]\nlisten = \"127.0.0.1:{gateway}\"\naudit_log = \"off\"\n[admin]\nlisten = \"127.0.0.1:{admin}\"\n[policy]\ndir = {:?}\nwatch = false\n",
            shipped()
        ),
    )
    .expect("config");
    let mut demo = bin()
        .args(["serve", "--demo", "--config"])
        .arg(&config)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the demo");
    let stdout = demo.stdout.take().expect("stdout");
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
        "the demo did not come up:\n{out}"
    );

    // Tokens signed with the demo's own key: an admin of another tenant, an operator.
    let data = out
        .lines()
        .find_map(|l| {
            l.strip_prefix("Throwaway data (registry, keys), removed when the demo stops: ")
        })
        .unwrap_or_else(|| panic!("the demo names its directory:\n{out}"))
        .trim()
        .to_owned();
    let other_config = tmp.path().join("other.toml");
    std::fs::write(&other_config, format!("data_dir = {data:?}\n")).expect("config");
    let issue = |sub: &str, tenant: &str, role: &str| {
        let out = bin()
            .args([
                "token", "issue", "--sub", sub, "--tenant", tenant, "--role", role, "--config",
            ])
            .arg(&other_config)
            .output()
            .expect("token issue");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    let other = issue("eve", "other", "admin");
    // An operator of the deployment (the policy set is theirs).
    let root = issue("root", "demo", "super_admin");

    let shots = dir.join("test-results");
    let run = Command::new("node")
        .arg(dir.join("tests/console.mjs"))
        .current_dir(&dir)
        .env("ADMIN_URL", format!("http://127.0.0.1:{admin}"))
        .env("GATEWAY_URL", format!("http://127.0.0.1:{gateway}"))
        .env("ADMIN", printed(&out, "ADMIN"))
        .env("ASSISTANT", printed(&out, "ASSISTANT"))
        .env("OTHER_ADMIN", other)
        .env("ROOT", root)
        .env("SHOTS", &shots)
        .env("CHROMIUM", &chromium)
        .output()
        .expect("run node");
    let _ = Command::new("kill")
        .args(["-TERM", &demo.id().to_string()])
        .status();
    let _ = demo.wait();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(run.status.success(), "the console test failed:\n{report}");
    assert!(report.contains("1 passed, 0 failed"), "{report}");
    for page in [
        "approvals",
        "approvals-decided",
        "registry-agent",
        "risk",
        "campaign",
        "audit",
        "policies",
        "other-tenant",
    ] {
        assert!(
            shots.join(format!("{page}.png")).is_file(),
            "no screenshot of {page} in {}",
            shots.display()
        );
    }
}
