//! What A2A results and requests say about tasks: the task and context a result names, and
//! the push-notification URLs a request sets (checked so an agent server cannot be pointed
//! at the network it runs in).

use std::net::IpAddr;

use serde_json::{Map, Value};

use crate::error::Error;

/// The ownership space of an agent's contexts (agent ids are UUIDs: no task space is named
/// like this).
pub(crate) fn contexts(agent: &str) -> String {
    format!("{agent}/context")
}

/// The task id and context id a result or stream event names, in either version's shape:
/// 1.0 wraps it (`task`, `message`, `statusUpdate`, `artifactUpdate`), 0.3 tags it with
/// `kind`; a bare task (`GetTask`, `CancelTask`) has an `id` and a `status`.
pub(crate) fn named(result: &Value) -> (Option<String>, Option<String>) {
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
    for wrapper in ["task", "message", "statusUpdate", "artifactUpdate"] {
        if let Some(inner) = result.get(wrapper).filter(|v| v.is_object()) {
            let task = if wrapper == "task" {
                text(inner, "id")
            } else {
                text(inner, "taskId")
            };
            return (task, text(inner, "contextId"));
        }
    }
    let task = match result.get("kind").and_then(Value::as_str) {
        Some("task") => text(result, "id"),
        Some(_) => text(result, "taskId"),
        None if result.get("status").is_some() => text(result, "id"),
        None => None,
    };
    (task, text(result, "contextId"))
}

/// The URL a push-config request sets: 1.0 `url`, 0.3 `pushNotificationConfig.url`.
pub(crate) fn push_url(params: &Map<String, Value>) -> Option<String> {
    params
        .get("url")
        .or_else(|| params.get("pushNotificationConfig")?.get("url"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// The URL a message's `configuration` sets for pushes about its task, if any (1.0
/// `taskPushNotificationConfig`, 0.3 `pushNotificationConfig`).
pub(crate) fn inline_push_url(params: &Map<String, Value>) -> Option<String> {
    let configuration = params.get("configuration")?;
    ["taskPushNotificationConfig", "pushNotificationConfig"]
        .iter()
        .find_map(|k| configuration.get(*k)?.get("url"))
        .map(|u| u.as_str().unwrap_or_default().to_owned())
}

/// Whether `ip` is somewhere a push must not go unless configured: loopback, private,
/// link-local, unique-local, shared (CGNAT), unspecified, multicast or broadcast.
fn internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_documentation()
                || (a == 100 && (64..128).contains(&b))
                || a == 0
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return internal(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
        }
    }
}

/// Checks a push-notification URL: `http` or `https`, a host, and no address inside the
/// network (as written or as the host resolves now) unless its host is in `allowed`.
pub(crate) async fn check_push_url(url: &str, allowed: &[String]) -> Result<(), Error> {
    let refuse = |why: &str| {
        let shown: String = url.chars().take(256).collect();
        Err(Error::InvalidParams(format!(
            "push-notification url `{shown}` is refused: {why}"
        )))
    };
    if url.len() > crate::jsonrpc::MAX_URI {
        return refuse("too long");
    }
    let Ok(uri) = url.parse::<http::Uri>() else {
        return refuse("not a URL");
    };
    let tls = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => return refuse("only http and https URLs are allowed"),
    };
    let Some(host) = uri.host() else {
        return refuse("it names no host");
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if allowed.iter().any(|a| a.eq_ignore_ascii_case(bare)) {
        return Ok(());
    }
    if bare.eq_ignore_ascii_case("localhost") || bare.to_ascii_lowercase().ends_with(".localhost") {
        return refuse("it names this machine");
    }
    let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
    let addrs: Vec<IpAddr> = match bare.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        // Bounded: a host that resolves slowly is refused rather than waited for.
        Err(_) => match tokio::time::timeout(
            std::time::Duration::from_secs(2),
            tokio::net::lookup_host((bare, port)),
        )
        .await
        {
            Ok(Ok(addrs)) => addrs.map(|a| a.ip()).collect(),
            Ok(Err(_)) | Err(_) => return refuse("its host does not resolve"),
        },
    };
    if addrs.is_empty() {
        return refuse("its host does not resolve");
    }
    if addrs.into_iter().any(internal) {
        return refuse(
            "it points inside the network (loopback, private or link-local); allow its host in \
             gateway.a2a.push_allowed_hosts",
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn tasks_are_found_in_both_shapes() {
        let v10 = json!({"task": {"id": "t1", "contextId": "c1", "status": {}}});
        assert_eq!(named(&v10), (Some("t1".into()), Some("c1".into())));
        let update = json!({"statusUpdate": {"taskId": "t1", "contextId": "c1"}});
        assert_eq!(named(&update), (Some("t1".into()), Some("c1".into())));
        let v03 = json!({"kind": "task", "id": "t2", "contextId": "c2"});
        assert_eq!(named(&v03), (Some("t2".into()), Some("c2".into())));
        let event = json!({"kind": "artifact-update", "taskId": "t2", "contextId": "c2"});
        assert_eq!(named(&event), (Some("t2".into()), Some("c2".into())));
        let bare = json!({"id": "t3", "status": {"state": "TASK_STATE_WORKING"}});
        assert_eq!(named(&bare).0, Some("t3".into()));
        let message = json!({"message": {"messageId": "m", "role": "ROLE_AGENT"}});
        assert_eq!(named(&message), (None, None));
    }

    #[test]
    fn push_urls_in_both_shapes() {
        let v10 = json!({"taskId": "t", "url": "https://hooks.example/a"});
        assert_eq!(
            push_url(v10.as_object().unwrap()).as_deref(),
            Some("https://hooks.example/a")
        );
        let v03 = json!({"taskId": "t", "pushNotificationConfig": {"url": "https://h.example/"}});
        assert_eq!(
            push_url(v03.as_object().unwrap()).as_deref(),
            Some("https://h.example/")
        );
        let send = json!({"message": {}, "configuration": {"taskPushNotificationConfig": {"url": "http://10.0.0.1/"}}});
        assert_eq!(
            inline_push_url(send.as_object().unwrap()).as_deref(),
            Some("http://10.0.0.1/")
        );
    }

    #[tokio::test]
    async fn internal_addresses_are_refused() {
        for url in [
            "http://127.0.0.1:9000/hook",
            "http://localhost/hook",
            "http://10.1.2.3/",
            "http://192.168.0.10/",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]/",
            "http://[fe80::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://0.0.0.0/",
            "http://100.64.0.1/",
            "file:///etc/passwd",
            "gopher://8.8.8.8/",
            "not a url",
        ] {
            assert!(check_push_url(url, &[]).await.is_err(), "{url} passed");
        }
        assert!(check_push_url("https://8.8.8.8/hook", &[]).await.is_ok());
        let allowed = ["127.0.0.1".to_owned()];
        assert!(
            check_push_url("http://127.0.0.1:9/", &allowed)
                .await
                .is_ok()
        );
    }
}
