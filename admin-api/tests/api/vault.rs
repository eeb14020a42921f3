//! The vault through the admin API: secrets sealed, rotated and destroyed, leases issued,
//! renewed, revoked and revoked with their NHI, and no value anywhere it should not be.

use base64::Engine as _;
use portcullis_registry::vault::VaultKind;
use portcullis_vault::{Binding, MasterKeys, VaultError};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::harness::{Api, sqlite};

const CANARY: &str = "canary-7d3f9a sk_live_do_not_leak";

fn key(byte: u8) -> String {
    base64::engine::general_purpose::STANDARD.encode([byte; 32])
}

/// Creates an agent; its id.
async fn agent(api: &Api, token: &str, name: &str) -> String {
    let (status, body) = api
        .call(
            Method::POST,
            "/nhi/agents",
            Some(token),
            Some(json!({"name": name})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_master_key_the_vault_says_why_and_the_rest_runs() {
    let (store, _dir) = sqlite();
    let vault = portcullis_admin_api::Vault::new(
        Err(VaultError::NoMasterKey),
        portcullis_admin_api::VaultConfig::default(),
    );
    let api = Api::start_full(store, None, vault).await;
    let admin = api.token("root", "acme", true);
    let owner = agent(&api, &admin, "owner").await;
    let (status, body) = api
        .call(
            Method::POST,
            &format!("/nhi/{owner}/vault/secrets"),
            Some(&admin),
            Some(json!({"name": "k", "secret_value": CANARY})),
        )
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"], "vault_unavailable");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("VAULT_MASTER_KEY"),
        "{body}"
    );
    let (status, _) = api
        .call(
            Method::GET,
            &format!("/nhi/{owner}/vault/leases"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let (status, _) = api
        .call(Method::GET, "/nhi/agents", Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::OK, "the rest of the API runs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_are_sealed_rotated_and_old_versions_destroyed() {
    let (store, _dir) = sqlite();
    let api = Api::start(store.clone()).await;
    let admin = api.token("root", "acme", true);
    let owner = agent(&api, &admin, "crm-tool-owner").await;
    let path = format!("/nhi/{owner}/vault/secrets");
    let (status, created) = api
        .call(
            Method::POST,
            &path,
            Some(&admin),
            Some(json!({"name": "crm-api-key", "secret_value": CANARY, "secret_type": "api_key", "rotation_interval_days": 30})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["current_version"], 1);
    assert!(created["rotation_due_at"].is_string(), "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    // A second secret of the same name on the same NHI is a conflict.
    let (status, _) = api
        .call(
            Method::POST,
            &path,
            Some(&admin),
            Some(json!({"name": "crm-api-key", "secret_value": "x"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    // Bad input names what is wrong.
    for (body, needle) in [
        (
            json!({"name": "k2", "secret_value": ""}),
            "must not be empty",
        ),
        (
            json!({"name": "k2", "secret_value": "v", "value": "x"}),
            "value",
        ),
    ] {
        let (status, reply) = api
            .call(Method::POST, &path, Some(&admin), Some(body))
            .await;
        assert!(status.is_client_error(), "{reply}");
        assert!(
            reply["message"].as_str().unwrap().contains(needle),
            "{reply}"
        );
    }
    // Not for non-admins, not in another tenant.
    let (status, _) = api
        .call(
            Method::GET,
            &path,
            Some(&api.token("bob", "acme", false)),
            None,
        )
        .await;
    assert!(status == StatusCode::FORBIDDEN || status == StatusCode::NOT_FOUND);
    let (status, _) = api
        .call(
            Method::GET,
            &path,
            Some(&api.token("root", "globex", true)),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, rotated) = api
        .call(
            Method::POST,
            &format!("{path}/{id}/rotate"),
            Some(&admin),
            Some(json!({"new_value": "second value"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    assert_eq!(rotated["current_version"], 2);
    let versions = rotated["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2);
    assert!(versions[0]["destroy_at"].is_string() && versions[1]["destroy_at"].is_null());

    // What is stored is sealed, bound to its record, and the old version still opens.
    let doc = store
        .vault("acme", VaultKind::Secret, &id)
        .await
        .unwrap()
        .unwrap();
    assert!(!doc.body.contains("canary") && !doc.body.contains("second value"));
    let secret = doc.secret().unwrap();
    let keys = MasterKeys::from_base64(&key(7)).unwrap();
    let open = |version: u64| {
        let v = secret
            .versions
            .iter()
            .find(|v| v.version == version)
            .unwrap();
        let nhi = secret.nhi_id.to_string();
        keys.open(
            &Binding {
                tenant: "acme",
                nhi: &nhi,
                secret: &id,
                version,
            },
            &v.sealed,
        )
        .map(|p| String::from_utf8(p.to_vec()).unwrap())
    };
    assert_eq!(open(1).unwrap(), CANARY);
    assert_eq!(open(2).unwrap(), "second value");

    // After the keeping time, the sweep destroys version 1.
    tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
    assert_eq!(portcullis_admin_api::vault::sweep(&store).await.unwrap(), 1);
    let (_, after) = api
        .call(Method::GET, &format!("{path}/{id}"), Some(&admin), None)
        .await;
    assert_eq!(after["versions"].as_array().unwrap().len(), 1, "{after}");
    assert_eq!(portcullis_admin_api::vault::sweep(&store).await.unwrap(), 0);

    // Master-key rotation: the old key (under its id) and a new current one, rewrap, then
    // the old key can go.
    let old_id = MasterKeys::from_base64(&key(7))
        .unwrap()
        .current_id()
        .to_owned();
    let both = MasterKeys::parse_file(&format!("{old_id} {}\nnew {}", key(7), key(8))).unwrap();
    assert_eq!(
        portcullis_admin_api::vault::rewrap(&store, &both)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        portcullis_admin_api::vault::rewrap(&store, &both)
            .await
            .unwrap(),
        0,
        "done once"
    );
    let moved = store
        .vault("acme", VaultKind::Secret, &id)
        .await
        .unwrap()
        .unwrap()
        .secret()
        .unwrap();
    let only_new = MasterKeys::parse_file(&format!("new {}", key(8))).unwrap();
    let v = moved.current().unwrap();
    let nhi = moved.nhi_id.to_string();
    let opened = only_new
        .open(
            &Binding {
                tenant: "acme",
                nhi: &nhi,
                secret: &id,
                version: v.version,
            },
            &v.sealed,
        )
        .unwrap();
    assert_eq!(opened.as_slice(), b"second value");

    let (status, _) = api
        .call(Method::DELETE, &format!("{path}/{id}"), Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = api
        .call(Method::GET, &format!("{path}/{id}"), Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leases_expire_renew_within_their_bound_and_die_with_their_nhi() {
    let (store, _dir) = sqlite();
    let api = Api::start(store.clone()).await;
    let admin = api.token("root", "acme", true);
    let owner = agent(&api, &admin, "owner").await;
    let consumer = agent(&api, &admin, "consumer").await;
    let (_, secret) = api
        .call(
            Method::POST,
            &format!("/nhi/{owner}/vault/secrets"),
            Some(&admin),
            Some(json!({"name": "k", "secret_value": CANARY})),
        )
        .await;
    let secret = secret["id"].as_str().unwrap().to_owned();
    let leases = format!("/nhi/{owner}/vault/leases");
    let lease =
        |ttl: u64| json!({"secret_id": secret, "ttl_seconds": ttl, "consumer_nhi_id": consumer});
    let (status, body) = api
        .call(Method::POST, &leases, Some(&admin), Some(lease(601)))
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "beyond the maximum TTL: {body}"
    );
    let (status, issued) = api
        .call(Method::POST, &leases, Some(&admin), Some(lease(60)))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{issued}");
    assert_eq!(issued["active"], true);
    let id = issued["id"].as_str().unwrap().to_owned();
    // Renewal: within the maximum from issue time, yes; past it, no.
    let renew = |ttl: u64| json!({"ttl_seconds": ttl});
    let (status, renewed) = api
        .call(
            Method::POST,
            &format!("{leases}/{id}/renew"),
            Some(&admin),
            Some(renew(300)),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{renewed}");
    assert!(renewed["expires_at"].as_str().unwrap() > issued["expires_at"].as_str().unwrap());
    let (status, refused) = api
        .call(
            Method::POST,
            &format!("{leases}/{id}/renew"),
            Some(&admin),
            Some(renew(700)),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert!(refused["message"].as_str().unwrap().contains("maximum"));
    // The consumer sees the lease among its own.
    let (_, held) = api
        .call(
            Method::GET,
            &format!("/nhi/{consumer}/vault/leases"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(held["items"].as_array().unwrap().len(), 1, "{held}");
    assert_eq!(held["total"], 1);
    // Revoked at once.
    let (status, _) = api
        .call(
            Method::DELETE,
            &format!("{leases}/{id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, listed) = api.call(Method::GET, &leases, Some(&admin), None).await;
    assert_eq!(listed["items"][0]["active"], false);
    let (status, _) = api
        .call(
            Method::POST,
            &format!("{leases}/{id}/renew"),
            Some(&admin),
            Some(renew(10)),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "a revoked lease is not renewed"
    );

    // Suspending the consumer revokes what it holds; a suspended NHI gets no new lease.
    let (_, second) = api
        .call(Method::POST, &leases, Some(&admin), Some(lease(60)))
        .await;
    let (status, _) = api
        .call(
            Method::POST,
            &format!("/nhi/agents/{consumer}/suspend"),
            Some(&admin),
            Some(json!({"reason": "key leaked"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let doc = store
        .vault("acme", VaultKind::Lease, second["id"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap()
        .lease()
        .unwrap();
    assert!(doc.revoked_at.is_some(), "revoked with its holder");
    assert!(doc.revoked_reason.unwrap().contains("suspended"));
    let (status, body) = api
        .call(Method::POST, &leases, Some(&admin), Some(lease(60)))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    // Every answer of the vault kept the value to itself.
    let (_, secrets) = api
        .call(
            Method::GET,
            &format!("/nhi/{owner}/vault/secrets"),
            Some(&admin),
            None,
        )
        .await;
    for body in [&issued, &renewed, &listed, &held, &secrets] {
        assert!(!body.to_string().contains("canary"), "{body}");
    }
}
