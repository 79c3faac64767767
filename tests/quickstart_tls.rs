//! The quickstart over HTTPS (TOKENGATE_TLS_CERT / _KEY / _CLIENT_CA) with client
//! certificates made here (rcgen): a certificate-bound token (`cnf.x5t#S256`, RFC 8705)
//! on `/me` is accepted only over a connection with that certificate.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

#[allow(dead_code)]
#[path = "../examples/quickstart.rs"]
mod quickstart;

use std::path::PathBuf;
use std::time::Duration;

use quickstart::{Config, Running};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, ExtendedKeyUsagePurpose, IsCa, KeyPair};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokengate_pop::PeerCertificate;
use tokio::net::TcpListener;

struct Identity {
    pem: String,
    thumbprint: String,
}

struct Pki {
    dir: PathBuf,
    server_ca_pem: String,
    alice: Identity,
    mallory: Identity,
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(rcgen::DnType::CommonName, name);
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

fn leaf(
    names: Vec<String>,
    usage: ExtendedKeyUsagePurpose,
    issuer: &CertifiedIssuer<'static, KeyPair>,
) -> (String, String, String) {
    let mut params = CertificateParams::new(names).unwrap();
    params.extended_key_usages = vec![usage];
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, issuer).unwrap();
    let thumbprint = PeerCertificate::from_der(cert.der().to_vec()).thumbprint_s256().to_owned();
    (cert.pem(), key.serialize_pem(), thumbprint)
}

/// Certificates, and the three PEM files the quickstart reads, in a fresh directory.
fn pki() -> (Pki, Config) {
    let server_ca = ca("server CA");
    let client_ca = ca("client CA");
    let (server_cert, server_key, _) = leaf(vec!["127.0.0.1".into()], ExtendedKeyUsagePurpose::ServerAuth, &server_ca);
    let client = |name: &str| {
        let (cert, key, thumbprint) = leaf(vec![name.into()], ExtendedKeyUsagePurpose::ClientAuth, &client_ca);
        Identity { pem: format!("{cert}{key}"), thumbprint }
    };
    let unique = format!("tokengate-quickstart-tls-{}-{:?}", std::process::id(), std::thread::current().id());
    let dir = std::env::temp_dir().join(unique.replace(['(', ')'], ""));
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, pem: &str| {
        let path = dir.join(name);
        std::fs::write(&path, pem).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let vars = [
        ("TOKENGATE_TLS_CERT", write("cert.pem", &server_cert)),
        ("TOKENGATE_TLS_KEY", write("key.pem", &server_key)),
        ("TOKENGATE_TLS_CLIENT_CA", write("client-ca.pem", &client_ca.pem())),
    ];
    let config = Config::from_vars(|name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone())).unwrap();
    let pki =
        Pki { dir, server_ca_pem: server_ca.pem(), alice: client("alice-device"), mallory: client("mallory-device") };
    (pki, config)
}

fn https(pki: &Pki, identity: Option<&Identity>) -> reqwest::Client {
    let mut builder = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .add_root_certificate(reqwest::Certificate::from_pem(pki.server_ca_pem.as_bytes()).unwrap());
    if let Some(identity) = identity {
        builder = builder.identity(reqwest::Identity::from_pem(identity.pem.as_bytes()).unwrap());
    }
    builder.build().unwrap()
}

async fn serve(config: Config) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    quickstart::start(listener, config).await.unwrap()
}

async fn mint(client: &reqwest::Client, base: &str, body: Value) -> String {
    let response = client.post(format!("{base}/dev/token")).body(body.to_string()).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

async fn me(client: &reqwest::Client, base: &str, token: &str) -> (StatusCode, Option<String>, String) {
    let response = client.get(format!("{base}/me")).bearer_auth(token).send().await.unwrap();
    let status = response.status();
    let www = response.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_owned());
    (status, www, response.text().await.unwrap())
}

const REFUSED: &str =
    r#"Bearer realm="quickstart", error="invalid_token", error_description="the token has an invalid claim""#;

#[tokio::test]
async fn a_certificate_bound_token_needs_its_certificate() {
    let (pki, config) = pki();
    let running = serve(config).await;
    let base = running.base_url.as_str();
    assert!(base.starts_with("https://"));
    let alice = https(&pki, Some(&pki.alice));
    let token = mint(&alice, base, json!({"sub": "alice", "cnf": {"x5t#S256": pki.alice.thumbprint}})).await;

    let (status, _, body) = me(&alice, base, &token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["cnf"]["x5t#S256"], pki.alice.thumbprint.as_str());

    // The same token from a client with another certificate of the same CA.
    let (status, www, _) = me(&https(&pki, Some(&pki.mallory)), base, &token).await;
    assert_eq!((status, www.as_deref()), (StatusCode::UNAUTHORIZED, Some(REFUSED)));

    // No client certificate: the handshake still succeeds (requested, not required), the
    // bound token does not.
    let no_cert = https(&pki, None);
    let (status, www, _) = me(&no_cert, base, &token).await;
    assert_eq!((status, www.as_deref()), (StatusCode::UNAUTHORIZED, Some(REFUSED)));

    // An unbound token keeps working as a bearer token, with or without a certificate.
    let plain = mint(&no_cert, base, json!({"sub": "bob"})).await;
    assert_eq!(me(&no_cert, base, &plain).await.0, StatusCode::OK);
    assert_eq!(me(&alice, base, &plain).await.0, StatusCode::OK);
    running.server.abort();
}

#[tokio::test]
async fn over_plain_http_a_bound_token_is_refused() {
    let running = serve(Config::embedded()).await;
    let base = running.base_url.as_str();
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let token = mint(&client, base, json!({"sub": "alice", "cnf": {"x5t#S256": "AAAA"}})).await;
    let (status, www, _) = me(&client, base, &token).await;
    assert_eq!((status, www.as_deref()), (StatusCode::UNAUTHORIZED, Some(REFUSED)));
    running.server.abort();
}

#[test]
fn the_tls_variables_go_together() {
    let only_cert = Config::from_vars(|name| (name == "TOKENGATE_TLS_CERT").then(|| "cert.pem".to_owned()));
    assert!(only_cert.unwrap_err().contains("go together"));
}

#[tokio::test]
async fn unreadable_tls_files_fail_the_start() {
    let config = Config {
        tls: Some(["/nonexistent/c.pem".into(), "/nonexistent/k.pem".into(), "/nonexistent/ca.pem".into()]),
        ..Config::embedded()
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    assert!(quickstart::start(listener, config).await.is_err());
}
