//! Tenant ids: a token naming an invalid one is refused.

use reqwest::{Method, StatusCode};

use crate::harness::{Api, sqlite};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_naming_an_invalid_tenant_is_refused() {
    let (store, _dir) = sqlite();
    let api = Api::start(store).await;
    for (tenant, why) in [("acme/eu", "`/`"), ("", "empty"), ("ac\u{7}me", "control")] {
        let token = api.token("root", tenant, true);
        let (st, body) = api
            .call(Method::GET, "/nhi/agents", Some(&token), None)
            .await;
        assert_eq!(st, StatusCode::UNAUTHORIZED, "{tenant:?}: {body}");
        let message = body["message"].as_str().expect("message");
        assert!(
            message.contains("invalid tenant") && message.contains(why),
            "{tenant:?}: {message}"
        );
    }
    let token = api.token("root", "acme", true);
    let (st, body) = api
        .call(Method::GET, "/nhi/agents", Some(&token), None)
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
}
