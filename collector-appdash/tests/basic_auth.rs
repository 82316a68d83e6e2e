//! Optional HTTP basic auth on the web UI and the API.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use base64::Engine as _;
use support::{builder, get, get_with, start};

fn basic(credentials: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(credentials)
    )
}

#[tokio::test]
async fn every_route_needs_the_right_credentials() {
    let handle = builder()
        .with_basic_auth("admin", "s3cret:with colon")
        .start()
        .await
        .unwrap();
    let addr = handle.http_addr();
    for path in [
        "/",
        "/traces",
        "/api/traces",
        "/traces/0000000000000001/profile",
        "/nowhere",
    ] {
        let resp = get(addr, path).await;
        assert_eq!(resp.status, 401, "{path}");
        assert_eq!(
            resp.header("www-authenticate"),
            Some("Basic realm=\"appdash\"")
        );
        assert_eq!(resp.body, "unauthorized");
    }
    for wrong in [
        basic("admin:wrong"),
        basic("admin:s3cret:with colo"),
        basic("admin:s3cret:with colonx"),
        basic("Admin:s3cret:with colon"),
        "Basic not-base64!".to_owned(),
        "Bearer abc".to_owned(),
        "Basic".to_owned(),
    ] {
        let resp = get_with(addr, "/api/traces", &[("Authorization", &wrong)]).await;
        assert_eq!(resp.status, 401, "{wrong}");
    }
    let good = basic("admin:s3cret:with colon");
    let resp = get_with(addr, "/api/traces", &[("Authorization", &good)]).await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json()["traces"], serde_json::json!([]));
    let lower = good.replacen("Basic", "basic", 1);
    let resp = get_with(addr, "/traces", &[("Authorization", &lower)]).await;
    assert_eq!(resp.status, 200);
    handle.shutdown().await;
}

#[tokio::test]
async fn without_auth_configured_everything_is_open() {
    let handle = start().await;
    assert_eq!(get(handle.http_addr(), "/api/traces").await.status, 200);
    handle.shutdown().await;
}
