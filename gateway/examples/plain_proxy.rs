//! pingora with no enforcement: the floor under the gateway's data plane, for
//! `loadtest/bench pinned`. It runs like the gateway does (pingora's HTTP proxy service on
//! its own one-worker tokio runtime, mimalloc) and either forwards every request to the
//! upstream with pingora's own upstream path, adding the upstream's API key, or (`--answer`)
//! reads the request and answers it itself, so the two rows split pingora's cost between the
//! client's side and the upstream's.
//!
//! `plain_proxy LISTEN UPSTREAM API_KEY [--answer]`

use std::sync::Arc;

use bytes::Bytes;
use pingora::http::{RequestHeader, ResponseHeader};
use pingora::prelude::*;
use pingora::server::configuration::ServerConf;
use pingora::services::Service as _;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// What `--answer` sends back: a tool result the load scenario counts as a success.
const ANSWER: &[u8] =
    br#"{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"ok"}],"isError":false}}"#;

struct Plain {
    peer: HttpPeer,
    api_key: String,
    answer: bool,
}

#[async_trait::async_trait]
impl ProxyHttp for Plain {
    type CTX = ();

    fn new_ctx(&self) {}

    async fn request_filter(&self, session: &mut Session, _ctx: &mut ()) -> Result<bool> {
        if !self.answer {
            return Ok(false);
        }
        while session.read_request_body().await?.is_some() {}
        let mut header = ResponseHeader::build(200, Some(2))?;
        header.insert_header("content-type", "application/json")?;
        header.insert_header("content-length", ANSWER.len().to_string())?;
        session
            .write_response_header(Box::new(header), false)
            .await?;
        session
            .write_response_body(Some(Bytes::from_static(ANSWER)), true)
            .await?;
        Ok(true)
    }

    async fn upstream_peer(&self, _session: &mut Session, _ctx: &mut ()) -> Result<Box<HttpPeer>> {
        Ok(Box::new(self.peer.clone()))
    }

    async fn upstream_request_filter(
        &self,
        _session: &mut Session,
        request: &mut RequestHeader,
        _ctx: &mut (),
    ) -> Result<()> {
        request.insert_header("x-api-key", &self.api_key)
    }
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [listen, upstream, api_key, rest @ ..] = args.as_slice() else {
        eprintln!("usage: plain_proxy LISTEN UPSTREAM API_KEY [--answer]");
        std::process::exit(2);
    };
    let conf = Arc::new(ServerConf::default());
    let mut service = pingora::proxy::http_proxy_service(
        &conf,
        Plain {
            peer: HttpPeer::new(upstream.as_str(), false, String::new()),
            api_key: api_key.clone(),
            answer: rest.iter().any(|a| a == "--answer"),
        },
    );
    service.add_tcp(listen);
    let (_stop, watch) = tokio::sync::watch::channel(false);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    runtime.block_on(service.start_service(None, watch, 1));
    Ok(())
}
