use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::PolicyWatcher;
use crate::engine::{Engine, EngineConfig};

/// Polls `cond` until it holds or `limit` passes.
fn eventually(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    cond()
}

fn write_policies(dir: &Path, extra: &str) {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies/portcullis.cedarschema");
    std::fs::copy(shipped, dir.join("portcullis.cedarschema")).expect("schema");
    std::fs::write(
        dir.join("main.cedar"),
        format!("@id(\"all\")\npermit (principal, action, resource);\n{extra}"),
    )
    .expect("write");
}

#[test]
fn the_watcher_swaps_valid_sets_and_keeps_serving_through_broken_ones() {
    let tmp = tempfile::tempdir().expect("tempdir");
    write_policies(tmp.path(), "");
    let engine = Arc::new(Engine::from_dir(tmp.path(), EngineConfig::default()).expect("load"));
    let _watcher = PolicyWatcher::spawn(engine.clone(), tmp.path()).expect("watch");
    let first = engine.epoch();

    // A valid change is picked up.
    std::fs::write(
        tmp.path().join("more.cedar"),
        "@id(\"more\")\nforbid (principal, action, resource);\n",
    )
    .expect("write");
    assert!(
        eventually(Duration::from_secs(10), || engine
            .with_bundle(|b| b.policy("more").is_some())),
        "a valid new file is loaded"
    );
    let second = engine.epoch();
    assert!(second > first);

    // A broken change is reported and the previous set keeps serving.
    std::fs::write(
        tmp.path().join("broken.cedar"),
        "@id(\"broken\")\npermit (principal, action, resource",
    )
    .expect("write");
    assert!(
        eventually(Duration::from_secs(10), || engine.reload_status().failures
            >= 1),
        "the broken file is reported"
    );
    let status = engine.reload_status();
    let why = status.last_error.expect("an error is kept").to_string();
    assert!(why.contains("broken.cedar"), "{why}");
    assert_eq!(engine.epoch(), second, "the previous set keeps serving");
    assert!(engine.with_bundle(|b| b.policy("more").is_some()));

    // Fixing it loads again and clears the error.
    std::fs::remove_file(tmp.path().join("broken.cedar")).expect("remove");
    assert!(eventually(Duration::from_secs(10), || engine
        .reload_status()
        .last_error
        .is_none()));
    assert!(engine.epoch() > second);
}
