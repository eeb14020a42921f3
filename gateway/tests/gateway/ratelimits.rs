//! Rate limits: per agent and per tool, an NHI's own limit, 429 with `Retry-After` and a
//! JSON-RPC error naming the limit; shared across replicas through Redis.

use portcullis_gateway::RateLimits;
use portcullis_registry::RateLimit;
use serde_json::{Value, json};

use crate::harness::{Setup, World};

/// A REST call of `files_echo` at `url` (a replica's `/mcp`): status, `Retry-After`, body.
async fn echo(w: &World, url: &str, token: &str) -> (u16, Option<String>, Value) {
    let resp = w
        .http
        .post(format!("{url}/tools/files_echo/call"))
        .bearer_auth(token)
        .json(&json!({"text": "hi"}))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let retry = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, retry, resp.json().await.unwrap_or(Value::Null))
}

fn per_minute(requests: u32, burst: u32) -> Option<RateLimit> {
    Some(RateLimit {
        requests,
        per_secs: 60,
        burst: Some(burst),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_past_its_limit_is_told_when_to_retry() {
    let w = World::start_with(Setup {
        rate_limits: RateLimits {
            agent: per_minute(1, 2),
            ..RateLimits::default()
        },
        ..Setup::default()
    })
    .await;
    let reader = w.token(&w.reader, "acme");
    for _ in 0..2 {
        assert_eq!(echo(&w, &w.url, &reader).await.0, 200);
    }
    let (status, retry, body) = echo(&w, &w.url, &reader).await;
    assert_eq!(status, 429, "{body}");
    let retry: u64 = retry.expect("Retry-After").parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(body["error"], "rate_limited");
    assert!(
        body["message"].as_str().unwrap().contains("agent limit"),
        "{body}"
    );
    // On MCP: HTTP 429 and a JSON-RPC error naming the limit.
    let call = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
        "params": {"name": "files_echo", "arguments": {"text": "hi"}}});
    let stateless = [
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", "tools/call"),
        ("mcp-name", "files_echo"),
    ];
    let (status, _, body) = w
        .post_to(
            &w.url,
            Some(&reader),
            None,
            &stateless,
            call.to_string().into_bytes(),
        )
        .await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"]["code"], -32014);
    assert_eq!(body["error"]["data"]["limit"], "agent");
    // Another agent has its own bucket.
    let writer = w.token(&w.writer, "acme");
    assert_eq!(echo(&w, &w.url, &writer).await.0, 200);
    // The reader's own limit replaces the configured one.
    let id: uuid::Uuid = w.reader.parse().unwrap();
    let mut record = w.store.get_nhi("acme", id).await.unwrap().unwrap();
    let version = record.version();
    record.common_mut().rate_limit = per_minute(600, 100);
    w.store.update_nhi(record, version).await.unwrap();
    w.reinstall().await;
    assert_eq!(echo(&w, &w.url, &reader).await.0, 200);
    let metrics = w.metrics();
    assert!(
        metrics.contains("portcullis_gateway_rate_limited_total{limit=\"agent\"} 2"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tool_limit_counts_every_caller() {
    let w = World::start_with(Setup {
        rate_limits: RateLimits {
            tool: per_minute(1, 1),
            ..RateLimits::default()
        },
        ..Setup::default()
    })
    .await;
    assert_eq!(echo(&w, &w.url, &w.token(&w.reader, "acme")).await.0, 200);
    let (status, _, body) = echo(&w, &w.url, &w.token(&w.writer, "acme")).await;
    assert_eq!(status, 429, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("tool limit"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_limit_holds_across_replicas() {
    let w = World::start_with(Setup {
        redis: true,
        rate_limits: RateLimits {
            shared: true,
            agent: per_minute(1, 2),
            ..RateLimits::default()
        },
        ..Setup::default()
    })
    .await;
    let reader = w.token(&w.reader, "acme");
    assert_eq!(echo(&w, &w.url, &reader).await.0, 200);
    assert_eq!(echo(&w, &w.replica_url, &reader).await.0, 200);
    let (status, retry, _) = echo(&w, &w.url, &reader).await;
    assert_eq!(status, 429);
    assert!(retry.is_some());
    let (status, _, _) = echo(&w, &w.replica_url, &reader).await;
    assert_eq!(status, 429, "one bucket for both replicas");
}
