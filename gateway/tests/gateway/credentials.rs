//! Upstream credentials from the vault: presented only for a caller holding an active lease,
//! never the caller's token, never anywhere else.

use serde_json::{Value, json};

use crate::harness::{CANARY, Setup, World};

fn vault_world() -> Setup {
    Setup {
        vault: true,
        ..Setup::default()
    }
}

/// The `x-api-key` values `crm` saw on tools/call, in order.
fn keys_on_calls(w: &World) -> Vec<Option<String>> {
    w.crm
        .api_keys
        .lock()
        .iter()
        .filter(|(m, _)| m == "tools/call")
        .map(|(_, k)| k.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_credential_goes_upstream_only_for_a_lease_holder() {
    let w = World::start_with(vault_world()).await;
    let mut answers: Vec<Value> = Vec::new();
    let reader = w.token(&w.reader, "acme");
    let (status, reply) = w
        .rpc(
            &reader,
            "tools/call",
            json!({"name": "crm_echo", "arguments": {"text": "hi"}}),
        )
        .await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["result"]["isError"], false, "{reply}");
    answers.push(reply);
    assert_eq!(keys_on_calls(&w), [Some(format!("key {CANARY}"))]);
    // Its session with `crm` was opened with the credential too; `files` never sees it.
    assert!(
        w.crm
            .api_keys
            .lock()
            .iter()
            .any(|(m, k)| m == "initialize" && k.is_some())
    );
    assert!(w.seen.api_keys.lock().iter().all(|(_, k)| k.is_none()));
    assert!(
        w.crm.authorization.lock().is_empty(),
        "the caller's token never goes upstream"
    );

    // Granted the tool, but holding no lease: refused, naming the missing lease.
    let writer = w.token(&w.writer, "acme");
    let (status, reply) = w
        .rpc(
            &writer,
            "tools/call",
            json!({"name": "crm_echo", "arguments": {"text": "hi"}}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(reply["error"]["code"], -32012, "{reply}");
    let message = reply["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("no active lease on the secret `crm-api-key`"),
        "{message}"
    );
    answers.push(reply);
    assert_eq!(
        keys_on_calls(&w).len(),
        1,
        "the refused call never reached the upstream"
    );
    let rest = w
        .http
        .post(format!("{}/tools/crm_echo/call", w.url))
        .bearer_auth(&writer)
        .json(&json!({"text": "rest"}))
        .send()
        .await
        .unwrap();
    assert_eq!(rest.status(), 403);
    answers.push(rest.json().await.unwrap());
    assert_eq!(answers[2]["error"], "credential_unavailable");

    // The secret's value shows nowhere but in that header.
    for answer in &answers {
        assert!(!answer.to_string().contains("canary"), "{answer}");
    }
    w.audit(3).await;
    assert!(!w.audit_text().contains("canary"));
    assert!(!w.metrics().contains("canary"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_lease_stops_the_credential_at_the_next_revision() {
    use portcullis_registry::vault::VaultKind;
    let w = World::start_with(vault_world()).await;
    let reader = w.token(&w.reader, "acme");
    let call = json!({"name": "crm_echo", "arguments": {"text": "hi"}});
    let (_, reply) = w.rpc(&reader, "tools/call", call.clone()).await;
    assert_eq!(reply["result"]["isError"], false, "{reply}");
    let leases = w.store.vaults("acme", VaultKind::Lease).await.unwrap();
    let doc = &leases[0];
    let mut lease = doc.lease().unwrap();
    lease.revoked_at = Some(time::OffsetDateTime::now_utc());
    let next = portcullis_registry::vault::VaultDoc::new("acme", VaultKind::Lease, &doc.id, &lease)
        .unwrap();
    w.store.put_vault(next, Some(doc.version)).await.unwrap();
    w.reinstall().await;
    let (_, reply) = w.rpc(&reader, "tools/call", call).await;
    assert_eq!(reply["error"]["code"], -32012, "{reply}");
    assert_eq!(keys_on_calls(&w).len(), 1);
}
