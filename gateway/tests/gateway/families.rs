//! Prompts, resources, completion and logging through the gateway: federated over both
//! upstreams, filtered per caller, decided, audited.

use serde_json::{Value, json};

use crate::harness::World;

fn names(list: &Value, key: &str, field: &str) -> Vec<String> {
    let mut names: Vec<String> = list["result"][key]
        .as_array()
        .unwrap_or_else(|| panic!("no {key} in {list}"))
        .iter()
        .map(|i| i[field].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompts_are_listed_per_caller_page_by_page_and_got_by_their_prefix() {
    let w = World::start().await;
    let reader = w.token(&w.reader, "acme");
    // Page one holds each upstream's first page; `files` has a second.
    let (_, first) = w.rpc(&reader, "prompts/list", json!({})).await;
    assert_eq!(
        names(&first, "prompts", "name"),
        ["crm_greet", "files_greet"],
        "{first}"
    );
    let cursor = first["result"]["nextCursor"]
        .as_str()
        .expect("a next page")
        .to_owned();
    let (_, second) = w
        .rpc(&reader, "prompts/list", json!({"cursor": cursor}))
        .await;
    assert_eq!(
        names(&second, "prompts", "name"),
        ["files_farewell"],
        "{second}"
    );
    assert!(second["result"].get("nextCursor").is_none(), "{second}");
    // The cursor is the gateway's: a forged or altered one is refused.
    let mut altered = cursor.clone().into_bytes();
    let last = altered.len() - 1;
    altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
    for bad in [String::from_utf8(altered).unwrap(), "page-2".to_owned()] {
        let (_, reply) = w.rpc(&reader, "prompts/list", json!({"cursor": bad})).await;
        assert_eq!(reply["error"]["code"], -32602, "{reply}");
    }
    // Another principal cannot use this one's cursor.
    let writer = w.token(&w.writer, "acme");
    let (_, reply) = w
        .rpc(&writer, "prompts/list", json!({"cursor": cursor}))
        .await;
    assert_eq!(reply["error"]["code"], -32602, "{reply}");
    // `writer` holds a grant on a `files` tool only: it sees `files` prompts only.
    let (_, theirs) = w.rpc(&writer, "prompts/list", json!({})).await;
    assert_eq!(
        names(&theirs, "prompts", "name"),
        ["files_greet"],
        "{theirs}"
    );

    // prompts/get goes to the upstream its prefix names, under the upstream's own name.
    let (_, got) = w
        .rpc(
            &reader,
            "prompts/get",
            json!({"name": "crm_greet", "arguments": {"who": "Zoë"}}),
        )
        .await;
    assert_eq!(got["result"]["description"], "crm prompt", "{got}");
    let sent = w.crm.received("prompts/get");
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].1["params"],
        json!({"name": "greet", "arguments": {"who": "Zoë"}})
    );
    // Arguments are checked against the prompt's declaration.
    for (arguments, needle) in [
        (json!({}), "`who` is required"),
        (
            json!({"who": "a", "shell": "rm -rf"}),
            "no argument `shell`",
        ),
        (json!({"who": 7}), "must be a string"),
    ] {
        let (_, reply) = w
            .rpc(
                &reader,
                "prompts/get",
                json!({"name": "files_greet", "arguments": arguments}),
            )
            .await;
        assert_eq!(reply["error"]["code"], -32602, "{reply}");
        assert!(
            reply["error"]["message"].as_str().unwrap().contains(needle),
            "{reply}"
        );
    }
    assert!(
        w.seen.received("prompts/get").is_empty(),
        "an invalid get never leaves"
    );
    // A denied prompt answers exactly like one that does not exist.
    let (_, denied) = w
        .rpc(
            &writer,
            "prompts/get",
            json!({"name": "crm_greet", "arguments": {"who": "x"}}),
        )
        .await;
    let (_, unknown) = w
        .rpc(
            &writer,
            "prompts/get",
            json!({"name": "crm_nothing", "arguments": {"who": "x"}}),
        )
        .await;
    let shape = |v: &Value| {
        v["error"]["message"]
            .as_str()
            .unwrap()
            .replace("crm_greet", "X")
            .replace("crm_nothing", "X")
    };
    assert_eq!(denied["error"]["code"], unknown["error"]["code"]);
    assert_eq!(shape(&denied), shape(&unknown));
    assert_eq!(w.crm.received("prompts/get").len(), 1);
    let audit = w.audit(8).await;
    let get = audit
        .iter()
        .find(|e| {
            e.method.as_deref() == Some("prompts/get") && e.target.as_deref() == Some("crm_greet")
        })
        .expect("audited");
    assert_eq!(get.decision.as_deref(), Some("allow"));
    assert!(get.arguments_sha256.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resources_are_filtered_routed_and_decided() {
    let w = World::start().await;
    let reader = w.token(&w.reader, "acme");
    let (_, list) = w.rpc(&reader, "resources/list", json!({})).await;
    assert_eq!(
        names(&list, "resources", "uri"),
        ["crm://accounts/1", "file:///docs/plan.md"],
        "a forbidden URI is not listed: {list}"
    );
    let (_, templates) = w.rpc(&reader, "resources/templates/list", json!({})).await;
    assert_eq!(
        names(&templates, "resourceTemplates", "uriTemplate"),
        ["crm://contacts/{id}", "file:///logs/{day}"]
    );
    // Reads go to the upstream that listed the URI, or whose template it fits.
    for (uri, upstream) in [
        ("file:///docs/plan.md", "files"),
        ("crm://accounts/1", "crm"),
        ("crm://contacts/7", "crm"),
        ("file:///logs/monday", "files"),
    ] {
        let (_, read) = w.rpc(&reader, "resources/read", json!({"uri": uri})).await;
        assert_eq!(
            read["result"]["contents"][0]["text"],
            format!("{upstream} has {uri}"),
            "{read}"
        );
    }
    // A forbidden pattern, a server without a grant, and no such resource look the same.
    let writer = w.token(&w.writer, "acme");
    let (_, forbidden) = w
        .rpc(
            &reader,
            "resources/read",
            json!({"uri": "file:///etc/passwd"}),
        )
        .await;
    let (_, ungranted) = w
        .rpc(
            &writer,
            "resources/read",
            json!({"uri": "crm://accounts/1"}),
        )
        .await;
    let (_, missing) = w
        .rpc(&reader, "resources/read", json!({"uri": "nothing://here"}))
        .await;
    for reply in [&forbidden, &ungranted, &missing] {
        assert_eq!(reply["error"]["code"], -32002, "{reply}");
        assert!(
            reply["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("resource not found: ")
        );
    }
    let reads: Vec<String> = w
        .seen
        .received("resources/read")
        .iter()
        .chain(w.crm.received("resources/read").iter())
        .map(|(_, m)| m["params"]["uri"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        !reads
            .iter()
            .any(|u| u.contains("/etc/") || u.starts_with("nothing")),
        "{reads:?}"
    );
    assert_eq!(reads.len(), 4);
    // Subscriptions are decided and routed like reads.
    let (_, sub) = w
        .rpc(
            &reader,
            "resources/subscribe",
            json!({"uri": "crm://accounts/1"}),
        )
        .await;
    assert_eq!(sub["result"], json!({}), "{sub}");
    assert_eq!(
        w.crm.received("resources/subscribe")[0].1["params"],
        json!({"uri": "crm://accounts/1"})
    );
    let (_, sub) = w
        .rpc(
            &reader,
            "resources/subscribe",
            json!({"uri": "file:///etc/passwd"}),
        )
        .await;
    assert_eq!(sub["error"]["code"], -32002);
    assert!(w.seen.received("resources/subscribe").is_empty());
    // Long URIs are refused before anything else.
    let (_, long) = w
        .rpc(
            &reader,
            "resources/read",
            json!({"uri": format!("file:///{}", "a".repeat(5000))}),
        )
        .await;
    assert_eq!(long["error"]["code"], -32602);
    let audit = w.audit(10).await;
    assert!(
        audit
            .iter()
            .any(|e| e.target.as_deref() == Some("file:///etc/passwd")
                && e.decision.as_deref() == Some("deny")),
        "denied reads are audited with their URI"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completions_and_log_levels_reach_the_right_upstreams() {
    let w = World::start().await;
    let reader = w.token(&w.reader, "acme");
    let (_, prompt) = w
        .rpc(
            &reader,
            "completion/complete",
            json!({"ref": {"type": "ref/prompt", "name": "crm_greet"}, "argument": {"name": "who", "value": "Zo"}}),
        )
        .await;
    assert_eq!(
        prompt["result"]["completion"]["values"],
        json!(["crm-Zo"]),
        "{prompt}"
    );
    assert_eq!(
        w.crm.received("completion/complete")[0].1["params"],
        json!({"ref": {"type": "ref/prompt", "name": "greet"}, "argument": {"name": "who", "value": "Zo"}})
    );
    let (_, template) = w
        .rpc(
            &reader,
            "completion/complete",
            json!({"ref": {"type": "ref/resource", "uri": "file:///logs/{day}"}, "argument": {"name": "day", "value": "mon"}}),
        )
        .await;
    assert_eq!(
        template["result"]["completion"]["values"],
        json!(["files-mon"]),
        "{template}"
    );
    let writer = w.token(&w.writer, "acme");
    let (_, denied) = w
        .rpc(
            &writer,
            "completion/complete",
            json!({"ref": {"type": "ref/prompt", "name": "crm_greet"}, "argument": {"name": "who", "value": "Zo"}}),
        )
        .await;
    assert_eq!(denied["error"]["code"], -32602, "{denied}");
    assert_eq!(w.crm.received("completion/complete").len(), 1);

    let (_, set) = w
        .rpc(&reader, "logging/setLevel", json!({"level": "warning"}))
        .await;
    assert_eq!(set["result"], json!({}), "{set}");
    for seen in [&w.seen, &w.crm] {
        let levels = seen.received("logging/setLevel");
        assert_eq!(levels.len(), 1);
        assert_eq!(levels[0].1["params"], json!({"level": "warning"}));
    }
    let (_, bad) = w
        .rpc(&reader, "logging/setLevel", json!({"level": "loud"}))
        .await;
    assert_eq!(bad["error"]["code"], -32602);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_in_the_stateless_era_are_private() {
    let w = World::start().await;
    let reader = w.token(&w.reader, "acme");
    let body = json!({"jsonrpc": "2.0", "id": 3, "method": "resources/list", "params": {}});
    let (status, _, reply) = w
        .post_to(
            &w.url,
            Some(&reader),
            None,
            &[
                ("mcp-protocol-version", "2026-07-28"),
                ("mcp-method", "resources/list"),
            ],
            body.to_string().into_bytes(),
        )
        .await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["result"]["cacheScope"], "private");
    assert_eq!(names(&reply, "resources", "uri").len(), 2);
    let read = json!({"jsonrpc": "2.0", "id": 4, "method": "resources/read", "params": {"uri": "crm://accounts/1"}});
    let (status, _, reply) = w
        .post_to(
            &w.url,
            Some(&reader),
            None,
            &[
                ("mcp-protocol-version", "2026-07-28"),
                ("mcp-method", "resources/read"),
                ("mcp-name", "crm://accounts/1"),
            ],
            read.to_string().into_bytes(),
        )
        .await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(
        reply["result"]["contents"][0]["text"],
        "crm has crm://accounts/1"
    );
}
