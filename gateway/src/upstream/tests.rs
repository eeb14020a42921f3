use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::idle::Idle;
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
    ex.release().await;
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

/// A pool's connection: one end of a loopback TCP pair, the other end returned to the test.
async fn pair() -> (Connection, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (ours, theirs) = tokio::join!(TcpStream::connect(addr), listener.accept());
    let ours: pingora::protocols::l4::stream::Stream = ours.expect("connect").into();
    (Box::new(ours), theirs.expect("accept").0)
}

#[tokio::test]
async fn the_pool_hands_out_the_most_recent_connection_and_keeps_at_most_its_cap() {
    let pool = Idle::new(Duration::from_secs(60), 2);
    let mut peers = Vec::new();
    let mut ids = Vec::new();
    for _ in 0..3 {
        let (conn, peer) = pair().await;
        ids.push(conn.id());
        pool.put(conn);
        peers.push(peer);
    }
    assert_eq!(pool.len(), 2, "the oldest was dropped at the cap");
    assert_eq!(pool.take().map(|c| c.id()), Some(ids[2]));
    assert_eq!(pool.take().map(|c| c.id()), Some(ids[1]));
    assert!(pool.take().is_none());
    // The dropped one was closed: its peer reads the end.
    let mut byte = [0u8; 1];
    assert_eq!(peers[0].read(&mut byte).await.expect("read"), 0);
}

#[tokio::test]
async fn the_pool_drops_closed_old_and_talkative_connections() {
    let pool = Idle::new(Duration::from_millis(200), 8);
    let (closed, peer) = pair().await;
    pool.put(closed);
    drop(peer);
    let (talkative, mut peer) = pair().await;
    pool.put(talkative);
    peer.write_all(b"HTTP/1.1 200 OK\r\n").await.expect("write");
    tokio::time::sleep(Duration::from_millis(50)).await;
    pool.sweep();
    assert_eq!(
        pool.len(),
        0,
        "a closed connection and one with unasked bytes are dropped"
    );

    let (old, _peer) = pair().await;
    pool.put(old);
    assert_eq!(pool.len(), 1);
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert!(pool.take().is_none(), "idle past its timeout");
    let (old, _peer) = pair().await;
    pool.put(old);
    tokio::time::sleep(Duration::from_millis(250)).await;
    let (fresh, _peer2) = pair().await;
    let fresh_id = fresh.id();
    pool.put(fresh);
    assert_eq!(pool.len(), 1, "taking one back drops the expired");
    assert_eq!(pool.take().map(|c| c.id()), Some(fresh_id));
}

/// A server that answers one request and hands its head (request line and headers) over.
async fn recording_server() -> (String, tokio::sync::oneshot::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/mcp?x=1", listener.local_addr().expect("addr"));
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let (mut conn, _) = listener.accept().await.expect("accept");
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = conn.read(&mut chunk).await.expect("read");
            assert!(n > 0, "the request ended early");
            buf.extend_from_slice(&chunk[..n]);
        }
        let at = buf.windows(4).position(|w| w == b"\r\n\r\n").expect("end") + 4;
        let _ = tx.send(String::from_utf8_lossy(&buf[..at]).into_owned());
        let body = br#"{"jsonrpc":"2.0","id":1,"result":{}}"#;
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            body.len()
        );
        let _ = conn.write_all(head.as_bytes()).await;
        let _ = conn.write_all(body).await;
    });
    (url, rx)
}

#[tokio::test]
async fn the_request_head_carries_the_session_the_length_and_the_credential() {
    let (url, head) = recording_server().await;
    let (up, connector) = (upstream(url), Connector::new(None));
    let presented = Presented {
        header: http::HeaderName::from_static("x-api-key"),
        value: http::HeaderValue::from_static("s3cret"),
    };
    let ex = up
        .post(
            &connector,
            Bytes::from_static(b"{\"a\":1}"),
            Some("session-1"),
            Some(&presented),
        )
        .await
        .expect("answered");
    assert_eq!(ex.status(), 200);
    let head = head.await.expect("a head");
    let mut lines: Vec<&str> = head.split("\r\n").collect();
    assert_eq!(lines.remove(0), "POST /mcp?x=1 HTTP/1.1");
    for expected in [
        format!("host: {}", up.host),
        "content-type: application/json".to_owned(),
        "accept: application/json, text/event-stream".to_owned(),
        format!("mcp-protocol-version: {UPSTREAM_PROTOCOL}"),
        "mcp-session-id: session-1".to_owned(),
        "content-length: 7".to_owned(),
        "x-api-key: s3cret".to_owned(),
    ] {
        assert!(lines.contains(&expected.as_str()), "{expected} in {head:?}");
    }
    assert_eq!(
        lines.len(),
        7 + 2,
        "seven headers, then the empty line: {head:?}"
    );
}

#[tokio::test]
async fn a_header_value_with_a_line_break_is_refused_before_anything_is_sent() {
    let (url, accepted) = server(usize::MAX).await;
    let (up, connector) = (upstream(url), Connector::new(None));
    for version in ["1.0\r\nx-injected: 1", "1.0\n", "1.0\0"] {
        let sent = up
            .post_a2a(&connector, Bytes::from_static(b"{}"), Some(version), None)
            .await;
        assert!(
            matches!(&sent, Err(UpstreamError::Protocol(why)) if why.contains("a2a-version")),
            "{version:?}: {:?}",
            sent.err()
        );
    }
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        0,
        "no connection was opened"
    );
}

#[test]
fn an_upstream_url_with_credentials_is_refused() {
    let refused = Upstream::new(&UpstreamConfig {
        name: "files".into(),
        url: "http://user:s3cret@127.0.0.1:9/mcp".into(),
        prefix: None,
        connect_timeout_ms: 1_000,
        request_timeout_ms: 2_000,
        credential: None,
    });
    let why = refused.expect_err("refused").to_string();
    assert!(
        why.contains("files") && why.contains("credentials"),
        "{why}"
    );
    assert!(
        !why.contains("s3cret"),
        "the error does not repeat the secret: {why}"
    );
}

#[test]
fn an_ipv6_literal_upstream_is_reached_at_its_address_and_named_with_brackets() {
    let up = upstream("http://[::1]:9/mcp".into());
    assert_eq!(
        up.addr,
        "[::1]:9".parse::<SocketAddr>().expect("an address")
    );
    assert_eq!(
        up.host, "[::1]:9",
        "the Host header keeps the url's brackets"
    );
}
