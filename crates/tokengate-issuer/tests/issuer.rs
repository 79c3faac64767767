//! Tokens minted by tokengate-issuer verify with tokengate-core's `Verifier` over the
//! published JWK; the JWKS endpoint and the dev issuer answer as documented.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tokengate_core::{Algorithm, ErrorKind, Key, KeySet, Verifier};
use tokengate_issuer::{
    DevActor, DevIssuer, DevTokenRequest, DevTokenResponse, IssuerError, JwksEndpoint, LocalSigner, SignFuture, Signer,
    SignerSet, TokenMinter, jwk_thumbprint,
};
use tower::ServiceExt;

const ISS: &str = "https://issuer.test";
const AUD: &str = "orders-api";

fn verifier_for(signer: &dyn Signer) -> Verifier {
    let jwk = serde_json::to_string(&signer.public_jwk()).unwrap();
    Verifier::builder(Key::from_jwk_json(&jwk).unwrap())
        .issuer(ISS)
        .audience(AUD)
        .algorithms([signer.alg()])
        .build()
        .unwrap()
}

fn minter(signer: LocalSigner) -> TokenMinter {
    TokenMinter::builder(SignerSet::new(signer), ISS).audience(AUD).build().unwrap()
}

fn decode_segment(token: &str, index: usize) -> Value {
    let segment = token.split('.').nth(index).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).unwrap()).unwrap()
}

async fn roundtrip(alg: Algorithm) {
    let signer = LocalSigner::generate(alg).unwrap();
    let verifier = verifier_for(&signer);
    let kid = signer.kid().to_owned();
    let minter = minter(signer);
    let token = minter.token().subject("alice").claim("scope", "orders:read admin").unwrap().sign().await.unwrap();
    let verified = verifier.verify(&token).unwrap();
    assert_eq!(verified.subject(), Some("alice"));
    assert_eq!(verified.issuer(), Some(ISS));
    assert_eq!(verified.key_id(), Some(kid.as_str()));
    assert!(verified.has_scope("admin"));
    let header = decode_segment(&token, 0);
    assert_eq!(header["alg"], tokengate_core::algorithm_name(alg));
    assert_eq!(header["kid"], kid);
    assert!(header.get("typ").is_none());
}

#[tokio::test]
async fn es256_tokens_verify_with_the_published_jwk() {
    roundtrip(Algorithm::ES256).await;
}

#[tokio::test]
async fn es384_tokens_verify_with_the_published_jwk() {
    roundtrip(Algorithm::ES384).await;
}

#[tokio::test]
async fn rs256_tokens_verify_with_the_published_jwk() {
    roundtrip(Algorithm::RS256).await;
}

#[tokio::test]
async fn ps256_tokens_verify_with_the_published_jwk() {
    roundtrip(Algorithm::PS256).await;
}

#[tokio::test]
async fn eddsa_tokens_verify_with_the_published_jwk() {
    roundtrip(Algorithm::EdDSA).await;
}

#[test]
fn hmac_cannot_sign_here() {
    let err = LocalSigner::generate(Algorithm::HS256).unwrap_err();
    assert!(matches!(err, IssuerError::UnsupportedAlgorithm("HS256")), "{err:?}");
}

#[test]
fn the_default_kid_is_the_rfc7638_thumbprint() {
    // RFC 7638 section 3.1: the example RSA key and its thumbprint.
    let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
    let rfc: tokengate_core::jwk::Jwk =
        serde_json::from_value(json!({"kty": "RSA", "n": n, "e": "AQAB", "alg": "RS256", "kid": "2011-04-29"}))
            .unwrap();
    assert_eq!(jwk_thumbprint(&rfc).unwrap(), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");

    for alg in [Algorithm::ES256, Algorithm::RS256, Algorithm::EdDSA] {
        let signer = LocalSigner::generate(alg).unwrap();
        assert_eq!(signer.kid(), jwk_thumbprint(&signer.public_jwk()).unwrap());
        let renamed = signer.with_kid("key-7");
        assert_eq!(renamed.kid(), "key-7");
        assert_eq!(renamed.public_jwk().common.key_id.as_deref(), Some("key-7"));
    }
}

#[tokio::test]
async fn registered_claims_header_typ_and_extra_claims() {
    let signer = LocalSigner::generate(Algorithm::ES256).unwrap().with_kid("key-1");
    assert_eq!(signer.public_jwk().common.key_id.as_deref(), Some("key-1"));
    let verifier = {
        let jwk = serde_json::to_string(&signer.public_jwk()).unwrap();
        Verifier::builder(Key::from_jwk_json(&jwk).unwrap())
            .issuer(ISS)
            .audience(AUD)
            .algorithms([Algorithm::ES256])
            .typ("at+jwt")
            .build()
            .unwrap()
    };
    let minter = TokenMinter::builder(SignerSet::new(signer), ISS)
        .audience(AUD)
        .ttl(Duration::from_secs(120))
        .typ("at+jwt")
        .build()
        .unwrap();
    let mut extra = serde_json::Map::new();
    extra.insert("tenant_id".into(), json!("acme"));
    extra.insert("roles".into(), json!(["reader", "writer"]));
    let token = minter.token().subject("bob").claims(extra).unwrap().sign().await.unwrap();
    verifier.verify(&token).unwrap();

    let header = decode_segment(&token, 0);
    assert_eq!(header, json!({"alg": "ES256", "typ": "at+jwt", "kid": "key-1"}));
    let claims = decode_segment(&token, 1);
    assert_eq!(claims["iss"], ISS);
    assert_eq!(claims["aud"], AUD);
    assert_eq!(claims["sub"], "bob");
    assert_eq!(claims["tenant_id"], "acme");
    assert_eq!(claims["roles"], json!(["reader", "writer"]));
    let iat = claims["iat"].as_i64().unwrap();
    assert_eq!(claims["exp"].as_i64().unwrap() - iat, 120);
    assert_eq!(claims["nbf"].as_i64().unwrap(), iat);
    assert_eq!(URL_SAFE_NO_PAD.decode(claims["jti"].as_str().unwrap()).unwrap().len(), 16);

    let again = decode_segment(&minter.token().sign().await.unwrap(), 1);
    assert_ne!(again["jti"], claims["jti"], "jti is random per token");
}

#[tokio::test]
async fn several_audiences_become_an_array_and_a_token_may_replace_them() {
    let signer = LocalSigner::generate(Algorithm::EdDSA).unwrap();
    let minter = TokenMinter::builder(SignerSet::new(signer), ISS).audience(AUD).audience("billing").build().unwrap();
    let claims = decode_segment(&minter.token().sign().await.unwrap(), 1);
    assert_eq!(claims["aud"], json!([AUD, "billing"]));
    let claims = decode_segment(&minter.token().audiences(["only"]).sign().await.unwrap(), 1);
    assert_eq!(claims["aud"], "only");
}

#[tokio::test]
async fn reserved_claims_cannot_be_overridden() {
    let minter = minter(LocalSigner::generate(Algorithm::ES256).unwrap());
    for name in ["iss", "sub", "aud", "exp", "nbf", "iat", "jti"] {
        let err = minter.token().claim(name, "x").unwrap_err();
        assert!(matches!(err, IssuerError::ReservedClaim(ref n) if n == name), "{err:?}");
    }
}

#[tokio::test]
async fn an_old_token_is_rejected_as_expired() {
    let signer = LocalSigner::generate(Algorithm::ES256).unwrap();
    let verifier = verifier_for(&signer);
    let minter = minter(signer);
    let iat = 1_700_000_000;
    let token = minter.token().subject("alice").issued_at(iat).ttl(Duration::from_secs(60)).sign().await.unwrap();
    assert_eq!(verifier.verify(&token).unwrap_err().kind(), ErrorKind::Expired);
}

#[test]
fn minter_configuration_is_checked() {
    let signers = SignerSet::new(LocalSigner::generate(Algorithm::ES256).unwrap());
    assert!(TokenMinter::builder(signers.clone(), "").build().is_err());
    assert!(TokenMinter::builder(signers.clone(), ISS).ttl(Duration::ZERO).build().is_err());
    assert!(TokenMinter::builder(signers, ISS).audience("").build().is_err());
}

#[tokio::test]
async fn pkcs8_roundtrip_keeps_the_key() {
    for alg in [Algorithm::ES256, Algorithm::RS256, Algorithm::EdDSA] {
        let original = LocalSigner::generate(alg).unwrap();
        let der = original.to_pkcs8_der().unwrap();
        let loaded = LocalSigner::from_pkcs8(alg, &der).unwrap();
        assert_eq!(loaded.public_jwk(), original.public_jwk(), "{alg:?}");
        let verifier = verifier_for(&original);
        let token = minter(loaded).token().subject("x").sign().await.unwrap();
        verifier.verify(&token).unwrap();

        let public = Key::from_pem(alg, original.public_key_pem().unwrap().as_bytes()).unwrap();
        let verifier = Verifier::builder(public).issuer(ISS).audience(AUD).algorithms([alg]).build().unwrap();
        verifier.verify(&token).unwrap();

        let pem = pem::encode(&pem::Pem::new("PRIVATE KEY", der));
        let from_pem = LocalSigner::from_pkcs8_pem(alg, pem.as_bytes()).unwrap();
        assert_eq!(from_pem.kid(), original.kid());
    }
    let ec = LocalSigner::generate(Algorithm::ES256).unwrap().to_pkcs8_der().unwrap();
    assert!(matches!(LocalSigner::from_pkcs8(Algorithm::RS256, &ec), Err(IssuerError::InvalidKey(_))));
    assert!(matches!(LocalSigner::from_pkcs8(Algorithm::ES256, b"garbage"), Err(IssuerError::InvalidKey(_))));
}

/// A signer that stands for a KMS: it signs after an await point, through the trait.
struct RemoteSigner(LocalSigner);

impl Signer for RemoteSigner {
    fn alg(&self) -> Algorithm {
        self.0.alg()
    }
    fn kid(&self) -> &str {
        "kms-key"
    }
    fn public_jwk(&self) -> tokengate_core::jwk::Jwk {
        let mut jwk = self.0.public_jwk();
        jwk.common.key_id = Some("kms-key".into());
        jwk
    }
    fn sign<'a>(&'a self, message: &'a [u8]) -> SignFuture<'a> {
        Box::pin(async move {
            tokio::task::yield_now().await;
            self.0.sign_now(message)
        })
    }
}

/// A signer whose backend is down.
struct FailingSigner;

impl Signer for FailingSigner {
    fn alg(&self) -> Algorithm {
        Algorithm::ES256
    }
    fn kid(&self) -> &str {
        "down"
    }
    fn public_jwk(&self) -> tokengate_core::jwk::Jwk {
        LocalSigner::generate(Algorithm::ES256).unwrap().public_jwk()
    }
    fn sign<'a>(&'a self, _message: &'a [u8]) -> SignFuture<'a> {
        Box::pin(async { Err(IssuerError::Signing("kms unavailable".into())) })
    }
}

/// A careless KMS adapter that returns its HMAC secret as the "public" JWK.
struct SecretSigner;

impl Signer for SecretSigner {
    fn alg(&self) -> Algorithm {
        Algorithm::HS256
    }
    fn kid(&self) -> &str {
        "hmac"
    }
    fn public_jwk(&self) -> tokengate_core::jwk::Jwk {
        serde_json::from_value(json!({"kty":"oct","kid":"hmac","k":"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA"}))
            .unwrap()
    }
    fn sign<'a>(&'a self, _message: &'a [u8]) -> SignFuture<'a> {
        Box::pin(async { Err(IssuerError::Signing("not used".into())) })
    }
}

#[test]
fn a_symmetric_key_is_never_published() {
    let active = LocalSigner::generate(Algorithm::ES256).unwrap();
    let refused = SignerSet::new(active).publish(SecretSigner);
    assert!(matches!(refused, Err(IssuerError::Config(ref m)) if m.contains("symmetric")));
    let jwks = serde_json::to_string(&SignerSet::new(SecretSigner).jwks()).unwrap();
    assert_eq!(jwks, r#"{"keys":[]}"#);
}

#[tokio::test]
async fn an_async_signer_works_through_the_trait_object() {
    let remote = RemoteSigner(LocalSigner::generate(Algorithm::ES256).unwrap());
    let verifier = verifier_for(&remote);
    let minter = TokenMinter::builder(SignerSet::new(remote), ISS).audience(AUD).build().unwrap();
    let token = minter.token().subject("svc").sign().await.unwrap();
    assert_eq!(verifier.verify(&token).unwrap().key_id(), Some("kms-key"));

    let failing = TokenMinter::builder(SignerSet::new(FailingSigner), ISS).build().unwrap();
    assert!(matches!(failing.token().sign().await, Err(IssuerError::Signing(_))));
}

#[tokio::test]
async fn a_signer_set_publishes_every_key_and_signs_with_the_active_one() {
    let active = LocalSigner::generate(Algorithm::ES256).unwrap().with_kid("new");
    let retired = LocalSigner::generate(Algorithm::RS256).unwrap().with_kid("old");
    let set = SignerSet::new(active).publish(retired).unwrap();
    assert_eq!(set.kids().collect::<Vec<_>>(), ["new", "old"]);
    let duplicate = LocalSigner::generate(Algorithm::EdDSA).unwrap().with_kid("old");
    assert!(matches!(set.clone().publish(duplicate), Err(IssuerError::Config(_))));

    let jwks = serde_json::to_vec(&set.jwks()).unwrap();
    let (keys, skipped) = KeySet::from_jwks_json(&jwks).unwrap();
    assert!(skipped.is_empty());
    assert_eq!(keys.len(), 2);
    let verifier =
        Verifier::builder(keys).issuer(ISS).audience(AUD).algorithms([Algorithm::ES256, Algorithm::RS256]).build();
    let minter = TokenMinter::builder(set, ISS).audience(AUD).build().unwrap();
    let token = minter.token().sign().await.unwrap();
    assert_eq!(verifier.unwrap().verify(&token).unwrap().key_id(), Some("new"));
}

async fn body_json(response: axum::response::Response) -> Value {
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn the_jwks_endpoint_sends_cache_control_and_the_public_keys() {
    let signer = LocalSigner::generate(Algorithm::ES256).unwrap();
    let kid = signer.kid().to_owned();
    let app: axum::Router = JwksEndpoint::new(SignerSet::new(signer)).max_age(Duration::from_secs(42)).router();
    let response =
        app.clone().oneshot(Request::get("/.well-known/jwks.json").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "public, max-age=42");
    assert_eq!(response.headers()["content-type"], "application/jwk-set+json");
    let body = body_json(response).await;
    let keys = body["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["kid"], kid);
    assert_eq!(keys[0]["use"], "sig");
    assert_eq!(keys[0]["alg"], "ES256");
    assert!(keys[0].get("d").is_none(), "no private key material");

    let post = Request::post("/.well-known/jwks.json").body(Body::empty()).unwrap();
    assert_eq!(app.oneshot(post).await.unwrap().status(), StatusCode::METHOD_NOT_ALLOWED);
}

fn dev() -> DevIssuer {
    DevIssuer::builder("http://127.0.0.1:9/").audience(AUD).typ("at+jwt").build().unwrap()
}

async fn post_token(app: &axum::Router, body: &str) -> axum::response::Response {
    let request =
        Request::post("/dev/token").header("content-type", "application/json").body(Body::from(body.to_owned()));
    app.clone().oneshot(request.unwrap()).await.unwrap()
}

#[tokio::test]
async fn the_dev_issuer_serves_discovery_and_jwks() {
    let dev = dev();
    assert_eq!(dev.issuer(), "http://127.0.0.1:9");
    let app: axum::Router = dev.router();
    let response = app
        .clone()
        .oneshot(Request::get("/.well-known/openid-configuration").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let doc = body_json(response).await;
    assert_eq!(doc["issuer"], "http://127.0.0.1:9");
    assert_eq!(doc["jwks_uri"], "http://127.0.0.1:9/.well-known/jwks.json");
    assert_eq!(doc["token_endpoint"], "http://127.0.0.1:9/dev/token");
    assert_eq!(doc["id_token_signing_alg_values_supported"], json!(["ES256"]));

    let response = app.oneshot(Request::get("/.well-known/jwks.json").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(response.headers()["cache-control"], "public, max-age=300");
    let jwks = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(KeySet::from_jwks_json(&jwks).unwrap().0.len(), 1);
}

#[tokio::test]
async fn the_dev_token_endpoint_mints_verifiable_tokens() {
    let dev = dev();
    let app: axum::Router = dev.router();
    let response = post_token(
        &app,
        r#"{"sub":"alice","scope":"orders:read admin","tenant_id":"acme","region":"eu","ttl_secs":600}"#,
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: DevTokenResponse = serde_json::from_value(body_json(response).await).unwrap();
    assert_eq!(body.token_type, "Bearer");
    assert_eq!(body.expires_in, 600);

    let (keys, _) = KeySet::from_jwks_json(&serde_json::to_vec(&dev.minter().signers().jwks()).unwrap()).unwrap();
    let verifier = Verifier::builder(keys)
        .issuer(dev.issuer())
        .audience(AUD)
        .algorithms([Algorithm::ES256])
        .typ("at+jwt")
        .build()
        .unwrap();
    let verified = verifier.verify(&body.access_token).unwrap();
    assert_eq!(verified.subject(), Some("alice"));
    assert!(verified.has_scope("admin"));
    let claims = verified.claims().unwrap();
    assert_eq!(claims["tenant_id"], "acme");
    assert_eq!(claims["region"], "eu");
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 600);

    // Without optional fields: default lifetime, no scope claim.
    let response = post_token(&app, r#"{"sub":"bob"}"#).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: DevTokenResponse = serde_json::from_value(body_json(response).await).unwrap();
    assert_eq!(body.expires_in, 3600);
    let verified = verifier.verify(&body.access_token).unwrap();
    assert!(verified.claims().unwrap().get("scope").is_none());
}

#[tokio::test]
async fn bad_dev_token_requests_are_400() {
    let app: axum::Router = dev().router();
    for body in [
        "",
        "not json",
        "[]",
        r#"{}"#,
        r#"{"sub":""}"#,
        r#"{"sub":42}"#,
        r#"{"sub":"a","ttl_secs":0}"#,
        r#"{"sub":"a","ttl_secs":86401}"#,
        r#"{"sub":"a","ttl_secs":-5}"#,
        r#"{"sub":"a","tenant_id":""}"#,
        r#"{"sub":"a","region":""}"#,
        r#"{"sub":"a","admin":true}"#,
    ] {
        let response = post_token(&app, body).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "body {body:?}");
        let error = body_json(response).await;
        assert_eq!(error["error"], "invalid_request", "body {body:?}");
    }
    let long = format!(r#"{{"sub":"{}"}}"#, "x".repeat(2000));
    assert_eq!(post_token(&app, &long).await.status(), StatusCode::BAD_REQUEST);
    // Over the 16 KiB limit: refused before the body is read whole.
    let huge = format!(r#"{{"sub":"a","scope":"{}"}}"#, "s ".repeat(20_000));
    assert_eq!(post_token(&app, &huge).await.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let two_mib = format!(r#"{{"sub":"a","scope":"{}"}}"#, "s".repeat(2 << 20));
    assert_eq!(post_token(&app, &two_mib).await.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let ok = post_token(&app, r#"{"sub":"a","ttl_secs":86400}"#).await;
    assert_eq!(ok.status(), StatusCode::OK);

    let get = Request::get("/dev/token").body(Body::empty()).unwrap();
    assert_eq!(app.oneshot(get).await.unwrap().status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn the_dev_issuer_mint_validates_like_the_endpoint() {
    let dev = dev();
    assert!(matches!(dev.mint(&DevTokenRequest::new("")).await, Err(IssuerError::InvalidRequest(_))));
    let request = DevTokenRequest { ttl_secs: Some(0), ..DevTokenRequest::new("a") };
    assert!(matches!(dev.mint(&request).await, Err(IssuerError::InvalidRequest(_))));
    assert!(DevIssuer::new("ftp://nope").is_err());
    assert!(DevIssuer::builder("http://x").default_ttl_secs(0).build().is_err());
    assert!(DevIssuer::builder("http://x").audience("").build().is_err());
}

#[tokio::test]
async fn a_dev_issuer_mounts_under_its_issuer_path() {
    let acme = DevIssuer::builder("http://127.0.0.1:9/issuers/acme").audience(AUD).build().unwrap();
    let globex = DevIssuer::builder("http://127.0.0.1:9/issuers/globex").audience(AUD).build().unwrap();
    assert_eq!(acme.path(), "/issuers/acme");
    assert_eq!(dev().path(), "");
    let app: axum::Router = acme.mounted_router().merge(globex.mounted_router());

    let get = |path: &'static str| Request::get(path).body(Body::empty()).unwrap();
    let doc =
        body_json(app.clone().oneshot(get("/issuers/acme/.well-known/openid-configuration")).await.unwrap()).await;
    assert_eq!(doc["issuer"], "http://127.0.0.1:9/issuers/acme");
    assert_eq!(doc["jwks_uri"], "http://127.0.0.1:9/issuers/acme/.well-known/jwks.json");
    assert_eq!(doc["token_endpoint"], "http://127.0.0.1:9/issuers/acme/dev/token");
    let response = app.clone().oneshot(get("/issuers/globex/.well-known/jwks.json")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let jwks = response.into_body().collect().await.unwrap().to_bytes();
    let (globex_keys, _) = KeySet::from_jwks_json(&jwks).unwrap();
    assert_eq!(app.clone().oneshot(get("/.well-known/jwks.json")).await.unwrap().status(), StatusCode::NOT_FOUND);

    // Each issuer mints with its own key and its own `iss`.
    let request = Request::post("/issuers/globex/dev/token").body(Body::from(r#"{"sub":"g"}"#)).unwrap();
    let body: DevTokenResponse = serde_json::from_value(body_json(app.oneshot(request).await.unwrap()).await).unwrap();
    let verifier = |keys: KeySet, iss: &str| {
        Verifier::builder(keys).issuer(iss).audience(AUD).algorithms([Algorithm::ES256]).build().unwrap()
    };
    let verified = verifier(globex_keys, globex.issuer()).verify(&body.access_token).unwrap();
    assert_eq!(verified.issuer(), Some("http://127.0.0.1:9/issuers/globex"));
    let (acme_keys, _) = KeySet::from_jwks_json(&serde_json::to_vec(&acme.minter().signers().jwks()).unwrap()).unwrap();
    assert!(verifier(acme_keys, globex.issuer()).verify(&body.access_token).is_err());
}

#[tokio::test]
async fn the_dev_token_endpoint_takes_auth_time_acr_roles_and_act() {
    let dev = dev();
    let app: axum::Router = dev.router();
    let auth_time = now() - 100;
    let body = json!({
        "sub": "alice", "auth_time": auth_time, "acr": "mfa", "roles": ["admin", "billing"], "region": "eu-west-1",
        "act": {"sub": "reporting-service", "iss": "https://a.example", "act": {"sub": "gateway"}},
    });
    let response = post_token(&app, &body.to_string()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let token: DevTokenResponse = serde_json::from_value(body_json(response).await).unwrap();
    let claims = decode_segment(&token.access_token, 1);
    assert_eq!(claims["auth_time"], auth_time);
    assert_eq!(claims["acr"], "mfa");
    assert_eq!(claims["roles"], json!(["admin", "billing"]));
    assert_eq!(claims["region"], "eu-west-1");
    assert_eq!(
        claims["act"],
        json!({"sub": "reporting-service", "iss": "https://a.example", "act": {"sub": "gateway"}})
    );

    // The typed request builds the same chain.
    let act = DevActor::new("reporting-service").for_actor(DevActor::new("gateway"));
    let minted = dev.mint(&DevTokenRequest { act: Some(act), ..DevTokenRequest::new("bob") }).await.unwrap();
    assert_eq!(
        decode_segment(&minted.access_token, 1)["act"],
        json!({"sub": "reporting-service", "act": {"sub": "gateway"}})
    );
}

#[tokio::test]
async fn bad_new_dev_token_fields_are_400() {
    let app: axum::Router = dev().router();
    let future = now() + 3600;
    let nine_deep = (0..9).fold(json!({"sub": "x"}), |inner, _| json!({"sub": "x", "act": inner}));
    for (body, description) in [
        (json!({"sub": "a", "auth_time": "yesterday"}), None),
        (json!({"sub": "a", "auth_time": -1}), Some("auth_time must be a past time in seconds since the epoch")),
        (json!({"sub": "a", "auth_time": future}), Some("auth_time must be a past time in seconds since the epoch")),
        (json!({"sub": "a", "auth_time": 1.5}), None),
        (json!({"sub": "a", "acr": ""}), Some("acr is empty")),
        (json!({"sub": "a", "acr": ["mfa"]}), None),
        (json!({"sub": "a", "roles": "admin"}), None),
        (json!({"sub": "a", "roles": [""]}), Some("a role is empty")),
        (json!({"sub": "a", "roles": [1]}), None),
        (json!({"sub": "a", "roles": vec!["r"; 33]}), Some("at most 32 roles")),
        (json!({"sub": "a", "act": "svc"}), None),
        (json!({"sub": "a", "act": {}}), None),
        (json!({"sub": "a", "act": {"sub": ""}}), Some("act.sub is required")),
        (json!({"sub": "a", "act": {"sub": "s", "iss": ""}}), Some("act.iss is empty")),
        (json!({"sub": "a", "act": {"sub": "s", "extra": 1}}), None),
        (json!({"sub": "a", "act": nine_deep}), Some("act is nested deeper than 8")),
    ] {
        let response = post_token(&app, &body.to_string()).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "body {body}");
        let error = body_json(response).await;
        assert_eq!(error["error"], "invalid_request", "body {body}");
        if let Some(description) = description {
            assert_eq!(error["error_description"], description, "body {body}");
        } else {
            assert!(error["error_description"].as_str().unwrap().starts_with("expected a JSON object"), "body {body}");
        }
    }
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}
