//! RFC 7662 introspection endpoint: client authentication, `active: true` with the
//! claims, exactly `{"active": false}` for anything not active.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tokengate_core::{Algorithm, AuthError, ErrorKind, KeySet, RevocationCheck, Verified, Verifier};
use tokengate_issuer::{IntrospectionEndpoint, LocalSigner, SignerSet, TokenMinter};
use tower::ServiceExt;

const ISS: &str = "https://auth.example";

struct RevokeJti(&'static str);

impl RevocationCheck for RevokeJti {
    fn check(&self, token: &Verified) -> Result<(), AuthError> {
        match token.claims_as::<Value>()?["jti"].as_str() {
            Some(jti) if jti == self.0 => Err(AuthError::new(ErrorKind::Revoked)),
            _ => Ok(()),
        }
    }
}

fn setup() -> (TokenMinter, axum::Router) {
    let signers = SignerSet::new(LocalSigner::generate(Algorithm::ES256).unwrap());
    let minter = TokenMinter::builder(signers.clone(), ISS).audience("orders").build().unwrap();
    let (keys, _) = KeySet::from_jwks_json(&serde_json::to_vec(&signers.jwks()).unwrap()).unwrap();
    let verifier =
        Verifier::builder(keys).issuer(ISS).audience("orders").algorithms([Algorithm::ES256]).build().unwrap();
    let app = IntrospectionEndpoint::new(verifier)
        .client("gateway", "gateway-secret")
        .client("odd", "s:cret")
        .revocation(RevokeJti("revoked-jti"))
        .router();
    (minter, app)
}

fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

async fn call(
    app: &axum::Router,
    auth: Option<&str>,
    body: &str,
) -> (StatusCode, Option<String>, Option<String>, Value) {
    let mut request = Request::post("/introspect").header("content-type", "application/x-www-form-urlencoded");
    if let Some(auth) = auth {
        request = request.header("authorization", auth);
    }
    let response = app.clone().oneshot(request.body(Body::from(body.to_owned())).unwrap()).await.unwrap();
    let status = response.status();
    let header = |name: &str| response.headers().get(name).map(|v| v.to_str().unwrap().to_owned());
    let (cache, challenge) = (header("cache-control"), header("www-authenticate"));
    assert_eq!(cache.as_deref(), Some("no-store"));
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, cache, challenge, serde_json::from_slice(&body).unwrap())
}

#[tokio::test]
async fn an_active_token_answers_with_its_claims() {
    let (minter, app) = setup();
    let token = minter.token().subject("alice").claim("scope", "orders:read").unwrap().sign().await.unwrap();
    let (status, _, _, body) = call(&app, Some(&basic("gateway", "gateway-secret")), &format!("token={token}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["active"], true);
    assert_eq!(body["sub"], "alice");
    assert_eq!(body["scope"], "orders:read");
    assert_eq!(body["iss"], ISS);
    assert_eq!(body["aud"], "orders");
    assert_eq!(body["token_type"], "Bearer");
    // RFC 6749 2.3.1: the credentials are form-urlencoded before Basic.
    let (status, _, _, body) = call(&app, Some(&basic("odd", "s%3Acret")), &format!("token={token}")).await;
    assert_eq!((status, body["active"].clone()), (StatusCode::OK, json!(true)));
}

#[tokio::test]
async fn anything_not_active_answers_exactly_active_false() {
    let (minter, app) = setup();
    let good = minter.token().subject("alice").sign().await.unwrap();
    let mut tampered = good.clone();
    tampered.pop();
    tampered.push(if good.ends_with('A') { 'B' } else { 'A' });
    let expired = minter.token().subject("alice").issued_at(1_000).ttl(Duration::from_secs(60)).sign().await.unwrap();
    let revoked = minter.token().subject("alice").jti("revoked-jti").sign().await.unwrap();
    let other_audience = minter.token().subject("alice").audiences(["billing"]).sign().await.unwrap();
    let foreign = {
        let signers = SignerSet::new(LocalSigner::generate(Algorithm::ES256).unwrap());
        TokenMinter::builder(signers, ISS).audience("orders").build().unwrap().token().sign().await.unwrap()
    };
    for (name, token) in [
        ("tampered", tampered),
        ("expired", expired),
        ("revoked", revoked),
        ("other audience", other_audience),
        ("foreign key", foreign),
        ("garbage", "not-a-token".to_owned()),
    ] {
        let (status, _, _, body) =
            call(&app, Some(&basic("gateway", "gateway-secret")), &format!("token={token}")).await;
        assert_eq!((status, body), (StatusCode::OK, json!({"active": false})), "{name}");
    }
}

#[tokio::test]
async fn the_calling_client_must_authenticate() {
    let (minter, app) = setup();
    let token = minter.token().subject("alice").sign().await.unwrap();
    let body = format!("token={token}");
    let refused = json!({"error": "invalid_client", "error_description": "client authentication failed"});
    for (name, auth) in [
        ("none", None),
        ("wrong secret", Some(basic("gateway", "nope"))),
        ("other client's secret", Some(basic("gateway", "s:cret"))),
        ("unknown client", Some(basic("mallory", "gateway-secret"))),
        ("bearer", Some(format!("Bearer {token}"))),
        ("not base64", Some("Basic !!!".to_owned())),
        ("no colon", Some(format!("Basic {}", STANDARD.encode("gateway")))),
    ] {
        let (status, _, challenge, json) = call(&app, auth.as_deref(), &body).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{name}");
        assert_eq!(challenge.as_deref(), Some("Basic realm=\"introspection\""), "{name}");
        assert_eq!(json, refused, "{name}");
    }
}

#[tokio::test]
async fn a_malformed_request_is_invalid_request() {
    let (_, app) = setup();
    let auth = basic("gateway", "gateway-secret");
    let (status, _, _, body) = call(&app, Some(&auth), "token_type_hint=access_token").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body, json!({"error": "invalid_request", "error_description": "token is required"}));
    let (status, _, _, body) = call(&app, Some(&auth), "token=a&token=b").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body, json!({"error": "invalid_request", "error_description": "token is repeated"}));
    let (status, _, _, body) = call(&app, Some(&auth), &format!("token={}", "a".repeat(17 * 1024))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body, json!({"error": "invalid_request", "error_description": "the request body is too large"}));
}
