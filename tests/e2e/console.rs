//! The web console in headless Chromium (Debian's `chromium`, driven by `playwright-core`
//! from npm: console/tests/console.mjs) against a running `portcullis serve --demo`. The
//! screenshots of each page are kept in console/test-results/.

use std::path::PathBuf;
use std::process::Command;

use crate::demo::{Demo, printed, start_demo};

fn console_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("console")
}

const INSTALL: &str = "run the console install step first (./.ci/run does it): \
    `apt-get install chromium && npm ci --prefix console`";

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
    let Demo {
        child: mut demo,
        out,
        gateway,
        admin,
    } = start_demo(tmp.path(), "audit_log = \"off\"\n", |cmd| {
        cmd.env("NO_COLOR", "1");
    });

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
        crate::interop::token_with(&other_config, sub, tenant, &["--role", role])
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
