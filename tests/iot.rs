//! The iot example over real sockets: its router served on `127.0.0.1:0`, a real HTTP
//! client, CWTs minted by the dev issuer's `POST /dev/cwt` and verified with the keys the
//! JWKS cache fetched over HTTP. Every refusal with its exact status and challenge.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

#[allow(dead_code)]
#[path = "../examples/iot.rs"]
mod iot;

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use iot::{Config, Running};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokengate::Algorithm;
use tokengate_issuer::{CwtMinter, DevIssuer, LocalSigner, SignerSet, dev_cwt_router};
use tokio::net::TcpListener;

async fn serve(config: Config) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    iot::start(listener, config).await.unwrap()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(10)).build().unwrap()
}

struct Reply {
    status: StatusCode,
    www_authenticate: Option<String>,
    body: String,
}

async fn telemetry(base: &str, token: Option<&str>, body: &str) -> Reply {
    let mut request =
        client().post(format!("{base}/telemetry")).header("content-type", "application/json").body(body.to_owned());
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let www_authenticate = response.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_owned());
    Reply { status, www_authenticate, body: response.text().await.unwrap() }
}

/// `POST /dev/cwt`, as the printed curl command does.
async fn mint(base: &str, body: Value) -> String {
    let response = client().post(format!("{base}/dev/cwt")).body(body.to_string()).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(body["token_type"], "Bearer");
    body["access_token"].as_str().unwrap().to_owned()
}

fn invalid_token(description: &str) -> String {
    format!(r#"Bearer realm="iot", error="invalid_token", error_description="{description}""#)
}

#[tokio::test]
async fn a_device_cwt_is_accepted_with_its_sub() {
    let running = serve(Config::embedded()).await;
    let base = running.base_url.as_str();
    let cwt = mint(base, json!({"sub": "sensor-17", "scope": "telemetry:write"})).await;
    assert!(!cwt.contains('.'));
    let cbor = URL_SAFE_NO_PAD.decode(&cwt).unwrap();
    assert_eq!(&cbor[..3], &[0xd8, 0x3d, 0xd2], "61(18(COSE_Sign1))");

    let reply = telemetry(base, Some(&cwt), r#"{"temperature":21.5}"#).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
    let body: Value = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(body, json!({"sub": "sensor-17", "accepted": {"temperature": 21.5}}));

    // A JWT from the same issuer works too (it has dots).
    let response = client().post(format!("{base}/dev/token")).body(r#"{"sub":"gateway-1"}"#).send().await.unwrap();
    let jwt = serde_json::from_str::<Value>(&response.text().await.unwrap()).unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let reply = telemetry(base, Some(&jwt), "[1,2]").await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);
    assert_eq!(serde_json::from_str::<Value>(&reply.body).unwrap()["sub"], "gateway-1");
    running.server.abort();
}

#[tokio::test]
async fn bad_cwts_are_401_invalid_token() {
    let running = serve(Config::embedded()).await;
    let base = running.base_url.as_str();
    let dev = running.dev.clone().unwrap();
    let cwt = mint(base, json!({"sub": "sensor-17"})).await;

    // No token: a bare challenge.
    let reply = telemetry(base, None, "{}").await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.www_authenticate.as_deref(), Some(r#"Bearer realm="iot""#));

    // Tampered: one bit of the signature flipped.
    let mut cbor = URL_SAFE_NO_PAD.decode(&cwt).unwrap();
    *cbor.last_mut().unwrap() ^= 1;
    let reply = telemetry(base, Some(&URL_SAFE_NO_PAD.encode(&cbor)), "{}").await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.www_authenticate, Some(invalid_token("the token's signature is invalid")));

    // Another audience, signed with the dev issuer's own key.
    let minter = CwtMinter::from_token_minter(dev.minter()).audience("billing");
    let other_aud = minter.cwt().subject("s").sign_base64url().await.unwrap();
    let reply = telemetry(base, Some(&other_aud), "{}").await;
    assert_eq!(reply.www_authenticate, Some(invalid_token("the token's audience is not accepted")));

    // A key the issuer never published.
    let stranger = SignerSet::new(LocalSigner::generate(Algorithm::ES256).unwrap());
    let minter = CwtMinter::new(stranger, dev.issuer()).audience(dev.audience());
    let foreign = minter.cwt().subject("s").sign_base64url().await.unwrap();
    let reply = telemetry(base, Some(&foreign), "{}").await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.www_authenticate, Some(invalid_token("the token's signing key is not known")));

    // Untagged (the COSE_Sign1 array without 61(18(...))), and not base64url.
    let untagged = URL_SAFE_NO_PAD.encode(&URL_SAFE_NO_PAD.decode(&cwt).unwrap()[3..]);
    let reply = telemetry(base, Some(&untagged), "{}").await;
    assert_eq!(reply.www_authenticate, Some(invalid_token("the access token is malformed")));
    let reply = telemetry(base, Some("not-base64~"), "{}").await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.www_authenticate, Some(invalid_token("the access token is malformed")));
    // The problem body says why, and never echoes the token.
    let problem: Value = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(problem["status"], 401);
    assert_eq!(problem["detail"], "the access token is malformed");
    assert!(!reply.body.contains("not-base64"));
    // Not a b64token at all: the request is malformed (400 invalid_request).
    let reply = telemetry(base, Some("not*base64"), "{}").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    running.server.abort();
}

#[tokio::test]
async fn the_dev_cwt_endpoint_checks_its_input() {
    let running = serve(Config::embedded()).await;
    let base = running.base_url.as_str();
    for body in [r#"{"sub":""}"#, r#"{"sub":"a","ttl_secs":0}"#, r#"{"sub":"a","extra":1}"#, "nope"] {
        let response = client().post(format!("{base}/dev/cwt")).body(body).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
    }
    let response = client().post(format!("{base}/dev/cwt")).body(r#"{"sub":"a","ttl_secs":60}"#).send().await.unwrap();
    let body: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(body["expires_in"], 60);
    // Unknown paths stay 404 (the token check is a route layer).
    assert_eq!(client().get(format!("{base}/nope")).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    running.server.abort();
}

#[tokio::test]
async fn an_external_issuer_is_found_by_discovery() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let idp_url = format!("http://{}", listener.local_addr().unwrap());
    let idp = DevIssuer::builder(idp_url.clone())
        .audience("plant-7")
        .signer(LocalSigner::generate(Algorithm::EdDSA).unwrap())
        .build()
        .unwrap();
    let app: axum::Router = idp.router().merge(dev_cwt_router(&idp));
    let idp_server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let vars = [("TOKENGATE_ISSUER", idp_url.clone()), ("TOKENGATE_AUDIENCE", "plant-7".to_owned())];
    let config = Config::from_vars(|name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone())).unwrap();
    let running = serve(config).await;
    let base = running.base_url.as_str();
    assert!(running.dev.is_none());
    assert_eq!(
        client().post(format!("{base}/dev/cwt")).body("{}").send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );

    let cwt = mint(&idp_url, json!({"sub": "press-3"})).await;
    let reply = telemetry(base, Some(&cwt), r#"{"pressure":3}"#).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);
    assert_eq!(serde_json::from_str::<Value>(&reply.body).unwrap()["sub"], "press-3");

    assert!(Config::from_vars(|n| (n == "TOKENGATE_ISSUER").then(|| idp_url.clone())).is_err());
    running.server.abort();
    idp_server.abort();
}

#[tokio::test]
async fn the_printed_commands_work_as_written() {
    let running = serve(Config::embedded()).await;
    let commands = iot::curl_commands(&running.base_url, true);
    assert!(commands.contains("/dev/cwt") && commands.contains("/telemetry"));
    assert!(!iot::curl_commands(&running.base_url, false).contains("/dev/cwt"));
    running.server.abort();
}
