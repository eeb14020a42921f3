//! The admin API's own tokens: checked against its own clock, with no leeway.

use reqwest::{Method, StatusCode};

use crate::harness::{Api, sqlite};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_is_refused_from_its_expiry_on() {
    let (store, _dir) = sqlite();
    let api = Api::start(store).await;
    let valid = api.token("alice", "acme", true);
    let (status, _) = api
        .call(Method::GET, "/nhi/agents", Some(&valid), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let mut claims = api.key.verify(&valid).expect("valid");
    let now = claims.iat;
    for ago in [60, 2, 0] {
        claims.exp = now - ago;
        let expired = api.key.sign(&claims).expect("sign");
        let (status, body) = api
            .call(Method::GET, "/nhi/agents", Some(&expired), None)
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{ago} s ago: {body}");
        assert!(
            body["message"]
                .as_str()
                .unwrap_or_default()
                .contains("expired"),
            "{body}"
        );
    }
}
