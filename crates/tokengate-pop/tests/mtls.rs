//! Certificate-bound tokens over real TLS on loopback: certificates made here with rcgen,
//! `serve_tls` with rustls (aws-lc-rs), a reqwest client presenting (or not) a certificate.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use axum::{Extension, Router};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, ExtendedKeyUsagePurpose, IsCa, KeyPair};
use reqwest::StatusCode;
use serde_json::json;
use tokengate_core::{Algorithm, KeySet, Verified, Verifier};
use tokengate_issuer::{LocalSigner, SignerSet, TokenMinter};
use tokengate_pop::{CertificateBindingLayer, PeerCertificate, serve_tls, server_config};
use tokengate_tower::JwtAuthLayer;
use tokio::net::TcpListener;

struct Client {
    cert_pem: String,
    key_pem: String,
    thumbprint: String,
}

struct Pki {
    server_ca_pem: String,
    server_cert_pem: String,
    server_key_pem: String,
    client_ca_pem: String,
    alice: Client,
    mallory: Client,
    /// Issued by a CA the server does not trust.
    outsider: Client,
}

fn ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(rcgen::DnType::CommonName, name);
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

fn client(name: &str, issuer: &CertifiedIssuer<'static, KeyPair>) -> Client {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(rcgen::DnType::CommonName, name);
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, issuer).unwrap();
    let thumbprint = PeerCertificate::from_der(cert.der().to_vec()).thumbprint_s256().to_owned();
    Client { cert_pem: cert.pem(), key_pem: key.serialize_pem(), thumbprint }
}

fn pki() -> Pki {
    let server_ca = ca("server CA");
    let mut params = CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server_key = KeyPair::generate().unwrap();
    let server_cert = params.signed_by(&server_key, &server_ca).unwrap();
    let client_ca = ca("client CA");
    let other_ca = ca("other CA");
    Pki {
        server_ca_pem: server_ca.pem(),
        server_cert_pem: server_cert.pem(),
        server_key_pem: server_key.serialize_pem(),
        client_ca_pem: client_ca.pem(),
        alice: client("alice-device", &client_ca),
        mallory: client("mallory-device", &client_ca),
        outsider: client("outsider", &other_ca),
    }
}

struct Server {
    base: String,
    minter: TokenMinter,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn start(pki: &Pki) -> Server {
    let signers = SignerSet::new(LocalSigner::generate(Algorithm::ES256).unwrap());
    let (keys, _) = KeySet::from_jwks_json(&serde_json::to_vec(&signers.jwks()).unwrap()).unwrap();
    let minter = TokenMinter::builder(signers, "https://as.example").audience("payments").build().unwrap();
    let verifier = Verifier::builder(keys)
        .issuer("https://as.example")
        .audience("payments")
        .algorithms([Algorithm::ES256])
        .build()
        .unwrap();
    let me = |Extension(token): Extension<Arc<Verified>>| async move { token.subject().unwrap_or_default().to_owned() };
    let bound = Router::new().route("/me", get(me)).route_layer(CertificateBindingLayer::new());
    let strict = Router::new().route("/strict", get(me)).route_layer(CertificateBindingLayer::new().require_binding());
    let app = bound.merge(strict).route_layer(JwtAuthLayer::new(verifier).realm("payments"));
    let config =
        server_config(pki.server_cert_pem.as_bytes(), pki.server_key_pem.as_bytes(), pki.client_ca_pem.as_bytes())
            .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("https://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(serve_tls(listener, Arc::new(config), app));
    Server { base, minter, task }
}

fn https(pki: &Pki, identity: Option<&Client>) -> reqwest::Client {
    let mut builder = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .add_root_certificate(reqwest::Certificate::from_pem(pki.server_ca_pem.as_bytes()).unwrap());
    if let Some(client) = identity {
        let pem = format!("{}{}", client.cert_pem, client.key_pem);
        builder = builder.identity(reqwest::Identity::from_pem(pem.as_bytes()).unwrap());
    }
    builder.build().unwrap()
}

async fn bound_token(server: &Server, thumbprint: &str) -> String {
    server
        .minter
        .token()
        .subject("alice")
        .claim("cnf", json!({ "x5t#S256": thumbprint }))
        .unwrap()
        .sign()
        .await
        .unwrap()
}

struct Reply {
    status: StatusCode,
    www_authenticate: Option<String>,
    body: String,
}

async fn get_with(client: &reqwest::Client, url: String, token: &str) -> Reply {
    let response = client.get(url).bearer_auth(token).send().await.unwrap();
    let status = response.status();
    let www_authenticate = response.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_owned());
    Reply { status, www_authenticate, body: response.text().await.unwrap() }
}

const REFUSED: &str =
    r#"Bearer realm="payments", error="invalid_token", error_description="the token has an invalid claim""#;

#[tokio::test]
async fn a_bound_token_needs_its_own_certificate() {
    let pki = pki();
    let server = start(&pki).await;
    let token = bound_token(&server, &pki.alice.thumbprint).await;

    // The right certificate: accepted.
    let reply = get_with(&https(&pki, Some(&pki.alice)), format!("{}/me", server.base), &token).await;
    assert_eq!((reply.status, reply.body.as_str()), (StatusCode::OK, "alice"));

    // The same token from a client with another (valid) certificate: refused.
    let reply = get_with(&https(&pki, Some(&pki.mallory)), format!("{}/me", server.base), &token).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.www_authenticate.as_deref(), Some(REFUSED));
    let problem: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(
        (problem["status"].as_u64(), problem["detail"].as_str()),
        (Some(401), Some("the token has an invalid claim"))
    );
    assert!(!reply.body.contains(&pki.alice.thumbprint) && !reply.body.contains(&pki.mallory.thumbprint));

    // No certificate at all: refused.
    let reply = get_with(&https(&pki, None), format!("{}/me", server.base), &token).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.www_authenticate.as_deref(), Some(REFUSED));
    server.task.abort();
}

#[tokio::test]
async fn unbound_tokens_pass_unless_the_route_requires_binding() {
    let pki = pki();
    let server = start(&pki).await;
    let plain = server.minter.token().subject("bob").sign().await.unwrap();
    let no_cert = https(&pki, None);
    let reply = get_with(&no_cert, format!("{}/me", server.base), &plain).await;
    assert_eq!((reply.status, reply.body.as_str()), (StatusCode::OK, "bob"));
    // /strict refuses unbound tokens, with or without a certificate.
    let reply = get_with(&https(&pki, Some(&pki.alice)), format!("{}/strict", server.base), &plain).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.www_authenticate.as_deref(), Some(REFUSED));
    // ...and accepts a bound one over the right connection.
    let token = bound_token(&server, &pki.alice.thumbprint).await;
    let reply = get_with(&https(&pki, Some(&pki.alice)), format!("{}/strict", server.base), &token).await;
    assert_eq!(reply.status, StatusCode::OK);
    // A malformed cnf.x5t#S256 (not a string) is refused too.
    let odd = server.minter.token().subject("x").claim("cnf", json!({ "x5t#S256": 7 })).unwrap().sign().await.unwrap();
    let reply = get_with(&https(&pki, Some(&pki.alice)), format!("{}/me", server.base), &odd).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    server.task.abort();
}

#[tokio::test]
async fn a_certificate_from_an_untrusted_ca_fails_the_handshake() {
    let pki = pki();
    let server = start(&pki).await;
    let token = bound_token(&server, &pki.outsider.thumbprint).await;
    let result = https(&pki, Some(&pki.outsider)).get(format!("{}/me", server.base)).bearer_auth(&token).send().await;
    assert!(result.is_err(), "the TLS handshake must fail: {result:?}");
    // The server keeps serving after a failed handshake.
    let plain = server.minter.token().subject("bob").sign().await.unwrap();
    assert_eq!(get_with(&https(&pki, None), format!("{}/me", server.base), &plain).await.status, StatusCode::OK);
    server.task.abort();
}

#[test]
fn bad_pem_is_a_configuration_error() {
    let pki = pki();
    let err = server_config(b"nothing", pki.server_key_pem.as_bytes(), pki.client_ca_pem.as_bytes()).unwrap_err();
    assert!(err.to_string().contains("TLS certificate"), "{err}");
    let err = server_config(pki.server_cert_pem.as_bytes(), pki.server_key_pem.as_bytes(), b"").unwrap_err();
    assert!(err.to_string().contains("client CA"), "{err}");
    assert!(!err.to_string().contains("PRIVATE"));
}
