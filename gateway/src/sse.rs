//! Server-sent events from upstream MCP servers, decoded by the `sse-stream` crate (which
//! keeps partial lines as bytes, so a UTF-8 character split across chunks arrives whole),
//! and the events the gateway writes to clients.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use futures_util::{FutureExt as _, Stream, StreamExt as _};
use serde_json::Value;
use sse_stream::{Sse, SseByteStream};

use crate::upstream::UpstreamError;

/// The most bytes an upstream may send without completing an event.
pub(crate) const MAX_EVENT: usize = 16 * 1024 * 1024;

/// Decodes an upstream's event stream. A stream that goes [`MAX_EVENT`] bytes without
/// completing an event ends with an error instead of growing without bound.
pub(crate) fn decode<S>(
    body: S,
) -> impl Stream<Item = Result<Sse, sse_stream::Error>> + Send + Unpin + 'static
where
    S: Stream<Item = Result<Bytes, UpstreamError>> + Send + Unpin + 'static,
{
    let pending = Arc::new(AtomicUsize::new(0));
    let counted = {
        let pending = pending.clone();
        body.map(move |chunk| {
            let chunk = chunk?;
            if pending.fetch_add(chunk.len(), Ordering::Relaxed) + chunk.len() > MAX_EVENT {
                return Err(UpstreamError::Protocol(format!(
                    "an event larger than {MAX_EVENT} bytes"
                )));
            }
            Ok(chunk)
        })
    };
    SseByteStream::new(counted).inspect(move |_| pending.store(0, Ordering::Relaxed))
}

/// The JSON message an event carries, if it carries one.
pub(crate) fn message(event: &Sse) -> Option<Value> {
    serde_json::from_str(event.data.as_deref()?).ok()
}

/// The JSON messages of a whole `text/event-stream` body (one per event's data).
pub(crate) fn messages(raw: &[u8]) -> Vec<Value> {
    // A final event without its blank line still counts.
    let mut body = Vec::with_capacity(raw.len() + 2);
    body.extend_from_slice(raw);
    body.extend_from_slice(b"\n\n");
    let input = futures_util::stream::iter([Ok::<_, Infallible>(Bytes::from(body))]);
    let mut events = SseByteStream::new(input);
    let mut out = Vec::new();
    // The input is all here: every poll is ready.
    while let Some(Some(Ok(event))) = events.next().now_or_never() {
        out.extend(message(&event));
    }
    out
}

/// One event carrying `json` (serialized JSON has no raw line breaks, so one `data` line).
pub(crate) fn event(json: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(json.len() + 24);
    out.extend_from_slice(b"event: message\ndata: ");
    out.extend_from_slice(json);
    out.extend_from_slice(b"\n\n");
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use futures_util::StreamExt as _;
    use serde_json::json;

    use super::{decode, event, message, messages};
    use crate::upstream::UpstreamError;

    #[test]
    fn sse_events_are_parsed() {
        let raw = b"event: message\nid: 1\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\"}\n\ndata: {\"jsonrpc\":\"2.0\",\ndata: \"id\":7,\"result\":{}}";
        let m = messages(raw);
        assert_eq!(m.len(), 2);
        assert_eq!(m[1], json!({"jsonrpc": "2.0", "id": 7, "result": {}}));
    }

    fn chunks(
        parts: Vec<&'static [u8]>,
    ) -> impl futures_util::Stream<Item = Result<Bytes, UpstreamError>> + Send + Unpin + 'static
    {
        futures_util::stream::iter(parts.into_iter().map(|p| Ok(Bytes::from_static(p))))
    }

    #[tokio::test]
    async fn events_wait_for_their_end_across_chunks() {
        let mut events = decode(chunks(vec![
            b"data: {\"jsonrpc\":\"2.0\",",
            b"\"id\":\"q1\",\"method\":\"sampling/createMessage\"}\r\n",
            b"\r\ndata: {\"partial\":",
            b"1}\n\n",
        ]));
        let first = events.next().await.unwrap().unwrap();
        assert_eq!(
            message(&first),
            Some(json!({"jsonrpc": "2.0", "id": "q1", "method": "sampling/createMessage"}))
        );
        let second = events.next().await.unwrap().unwrap();
        assert_eq!(message(&second), Some(json!({"partial": 1})));
        assert!(events.next().await.is_none());
    }

    #[tokio::test]
    async fn a_character_split_across_chunks_arrives_whole() {
        // "é" is two bytes, "😀" four: split each between two chunks.
        let text = "data: {\"text\":\"caf\u{e9} \u{1f600}\"}\n\n".as_bytes();
        let at_e = text.iter().position(|b| *b == 0xc3).unwrap() + 1;
        let at_emoji = text.iter().position(|b| *b == 0xf0).unwrap() + 2;
        let parts: Vec<&'static [u8]> = vec![
            Box::leak(text[..at_e].to_vec().into_boxed_slice()),
            Box::leak(text[at_e..at_emoji].to_vec().into_boxed_slice()),
            Box::leak(text[at_emoji..].to_vec().into_boxed_slice()),
        ];
        let mut events = decode(chunks(parts));
        let got = events.next().await.unwrap().unwrap();
        assert_eq!(message(&got), Some(json!({"text": "caf\u{e9} \u{1f600}"})));
    }

    #[tokio::test]
    async fn an_endless_event_is_cut_off() {
        let big: &'static [u8] = Box::leak(vec![b'a'; 1024 * 1024].into_boxed_slice());
        let mut parts: Vec<&'static [u8]> = vec![b"data: "];
        parts.extend(std::iter::repeat_n(big, 17));
        let mut events = decode(chunks(parts));
        assert!(events.next().await.unwrap().is_err());
        assert!(events.next().await.is_none());
    }

    #[test]
    fn written_events_decode_to_what_was_written() {
        let json = serde_json::to_vec(&json!({"line": "a\nb", "n": 1})).unwrap();
        assert_eq!(
            messages(&event(&json)),
            vec![json!({"line": "a\nb", "n": 1})]
        );
    }
}
