//! Server-sent events, as MCP servers answer with them.

use serde_json::Value;

/// The JSON messages in a `text/event-stream` body (one per event's `data`).
pub(crate) fn messages(raw: &[u8]) -> Vec<Value> {
    let text = String::from_utf8_lossy(raw);
    let mut out = Vec::new();
    let mut data = String::new();
    for line in text.lines().chain(std::iter::once("")) {
        if line.is_empty() {
            if let Ok(v) = serde_json::from_str(&data) {
                out.push(v);
            }
            data.clear();
        } else if let Some(d) = line.strip_prefix("data:") {
            if !data.is_empty() {
                data.push('\n');
            }
            data.push_str(d.strip_prefix(' ').unwrap_or(d));
        }
    }
    out
}

/// Finds complete events in a stream that arrives in arbitrary chunks.
#[derive(Debug, Default)]
pub(crate) struct Scanner {
    pending: String,
}

impl Scanner {
    /// Adds a chunk; returns the complete events it finished, as raw text blocks (without
    /// their blank-line terminator).
    pub(crate) fn push_events(&mut self, chunk: &[u8]) -> Vec<String> {
        self.pending
            .push_str(&String::from_utf8_lossy(chunk).replace("\r\n", "\n"));
        let Some(end) = self.pending.rfind("\n\n") else {
            return Vec::new();
        };
        let complete: String = self.pending.drain(..end + 2).collect();
        complete
            .split("\n\n")
            .filter(|e| !e.trim().is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// Adds a chunk; returns the JSON messages of the events it completed.
    pub(crate) fn push(&mut self, chunk: &[u8]) -> Vec<Value> {
        self.pending
            .push_str(&String::from_utf8_lossy(chunk).replace("\r\n", "\n"));
        let Some(end) = self.pending.rfind("\n\n") else {
            return Vec::new();
        };
        let complete: String = self.pending.drain(..end + 2).collect();
        messages(complete.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::messages;

    #[test]
    fn sse_events_are_parsed() {
        let raw = b"event: message\nid: 1\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\"}\n\ndata: {\"jsonrpc\":\"2.0\",\ndata: \"id\":7,\"result\":{}}\n\n";
        let m = messages(raw);
        assert_eq!(m.len(), 2);
        assert_eq!(m[1], json!({"jsonrpc": "2.0", "id": 7, "result": {}}));
    }

    #[test]
    fn the_scanner_waits_for_whole_events() {
        let mut s = super::Scanner::default();
        assert!(s.push(b"data: {\"jsonrpc\":\"2.0\",").is_empty());
        assert!(
            s.push(b"\"id\":\"q1\",\"method\":\"sampling/createMessage\"}\r\n")
                .is_empty()
        );
        let got = s.push(b"\r\ndata: {\"partial\":");
        assert_eq!(
            got,
            vec![json!({"jsonrpc": "2.0", "id": "q1", "method": "sampling/createMessage"})]
        );
        assert_eq!(s.push(b"1}\n\n"), vec![json!({"partial": 1})]);
    }
}
