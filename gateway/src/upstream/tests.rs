use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::*;

/// An HTTP/1.1 server answering every POST with a small JSON body; `per_connection`
/// requests on each connection, then it closes it. Counts the connections it accepted.
async fn server(per_connection: usize) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/mcp", listener.local_addr().expect("addr"));
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                for _ in 0..per_connection {
                    if !answer_one(&mut conn).await {
                        return;
                    }
                }
                // Dropped: the upstream closes a connection the gateway holds idle.
            });
        }
    });
    (url, accepted)
}

/// Reads one request (header and Content-Length body) and answers it.
async fn answer_one(conn: &mut TcpStream) -> bool {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let body_start = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        match conn.read(&mut chunk).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..body_start]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map_or(0, |v| v.trim().parse().expect("a length"));
    while buf.len() < body_start + length {
        match conn.read(&mut chunk).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let body = br#"{"jsonrpc":"2.0","id":1,"result":{}}"#;
    let head = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    conn.write_all(head.as_bytes()).await.is_ok() && conn.write_all(body).await.is_ok()
}

fn upstream(url: String) -> Upstream {
    Upstream::new(&UpstreamConfig {
        name: "test".into(),
        url,
        prefix: None,
        connect_timeout_ms: 1_000,
        request_timeout_ms: 2_000,
        credential: None,
    })
    .expect("upstream")
}

/// Posts once and reads the whole answer.
async fn call(up: &Upstream, connector: &Connector) -> Result<u16, UpstreamError> {
    let mut ex = up
        .post(connector, Bytes::from_static(b"{}"), None, None)
        .await?;
    let status = ex.status();
    ex.drain().await;
    ex.release(connector).await;
    Ok(status)
}

#[tokio::test]
async fn idle_connections_are_reused() {
    let (url, accepted) = server(usize::MAX).await;
    let (up, connector) = (upstream(url), Connector::new(None));
    for _ in 0..5 {
        assert_eq!(call(&up, &connector).await.expect("answered"), 200);
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 1, "one connection for all");
}

#[tokio::test]
async fn a_connection_the_upstream_closed_is_not_reused() {
    let (url, accepted) = server(1).await;
    let (up, connector) = (upstream(url), Connector::new(None));
    for n in 1..=3 {
        // Time for the upstream's close to arrive before the next call.
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(call(&up, &connector).await.expect("answered"), 200);
        assert_eq!(
            accepted.load(Ordering::SeqCst),
            n,
            "a new connection each time"
        );
    }
}
