//! Shared helpers: Ed25519 test keys minted with aws-lc-rs and signed with jsonwebtoken,
//! and a JWKS / discovery server on 127.0.0.1 whose behaviour a test can switch.
#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Value, json};
use tokengate_core::{Algorithm, Verifier};

pub const AUDIENCE: &str = "orders-api";

/// An Ed25519 signing key with its public JWK.
#[derive(Clone)]
pub struct TestKey {
    pub kid: String,
    encoding: EncodingKey,
    pub public: Vec<u8>,
}

impl TestKey {
    pub fn new(kid: &str) -> TestKey {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        TestKey {
            kid: kid.to_owned(),
            encoding: EncodingKey::from_ed_der(pkcs8.as_ref()),
            public: pair.public_key().as_ref().to_vec(),
        }
    }

    pub fn jwk(&self) -> Value {
        json!({"kty": "OKP", "crv": "Ed25519", "use": "sig", "alg": "EdDSA", "kid": self.kid,
               "x": URL_SAFE_NO_PAD.encode(&self.public)})
    }

    /// The public key as PEM (`SubjectPublicKeyInfo`).
    pub fn public_pem(&self) -> String {
        let mut der = vec![0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];
        der.extend_from_slice(&self.public);
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        format!("-----BEGIN PUBLIC KEY-----\n{b64}\n-----END PUBLIC KEY-----\n")
    }

    /// A token for `iss`, signed with this key, naming `kid`.
    pub fn token_with_kid(&self, iss: &str, kid: &str) -> String {
        let mut header = Header::new(jsonwebtoken::Algorithm::EdDSA);
        header.kid = Some(kid.to_owned());
        let claims = json!({"iss": iss, "aud": AUDIENCE, "sub": "user-1", "exp": now() + 600, "iat": now()});
        jsonwebtoken::encode(&header, &claims, &self.encoding).unwrap()
    }

    /// Signs any header and claims with this key.
    pub fn sign(&self, header: &Header, claims: &Value) -> String {
        jsonwebtoken::encode(header, claims, &self.encoding).unwrap()
    }

    pub fn token(&self, iss: &str) -> String {
        self.token_with_kid(iss, &self.kid)
    }
}

pub fn now() -> i64 {
    i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()).unwrap()
}

pub fn jwks(keys: &[&TestKey]) -> String {
    json!({"keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>()}).to_string()
}

pub fn verifier(resolver: impl tokengate_core::KeyResolver) -> Verifier {
    Verifier::builder(resolver).any_issuer().audience(AUDIENCE).algorithms([Algorithm::EdDSA]).build().unwrap()
}

/// What the server answers on `/jwks`.
#[derive(Clone, Debug)]
pub enum Mode {
    Jwks(String),
    JwksWithCacheControl(String, String),
    Status(u16),
    Hang,
    Garbage,
    Huge(usize),
    /// A body of this many bytes, chunked, without `Content-Length`.
    HugeChunked(usize),
    /// Redirect to the same JWKS through another host name (`localhost` instead of 127.0.0.1).
    RedirectOtherHost,
    /// Redirect to `/jwks-real` on the same origin.
    RedirectSameHost,
}

struct ServerState {
    mode: Mode,
    real: String,
    issuer: String,
    port: u16,
    /// The `jwks_uri` the discovery document names, when not this server's `/jwks`.
    jwks_uri: Option<String>,
    /// The whole discovery document, when set.
    discovery: Option<String>,
}

/// A JWKS and discovery server on 127.0.0.1 (random port), stopped when dropped.
pub struct Server {
    pub addr: SocketAddr,
    state: Arc<Mutex<ServerState>>,
    hits: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    pub async fn start(jwks: String) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(ServerState {
            mode: Mode::Jwks(jwks.clone()),
            real: jwks,
            issuer: format!("http://{addr}"),
            port: addr.port(),
            jwks_uri: None,
            discovery: None,
        }));
        let hits = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(AtomicUsize::new(0));
        let app = axum::Router::new().fallback(handle).with_state((
            Arc::clone(&state),
            Arc::clone(&hits),
            Arc::clone(&requests),
        ));
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Server { addr, state, hits, requests, task }
    }

    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn jwks_url(&self) -> String {
        format!("http://{}/jwks", self.addr)
    }

    pub fn set(&self, mode: Mode) {
        let mut state = self.state.lock().unwrap();
        if let Mode::Jwks(body) = &mode {
            state.real = body.clone();
        }
        state.mode = mode;
    }

    pub fn publish(&self, keys: &[&TestKey]) {
        self.set(Mode::Jwks(jwks(keys)));
    }

    /// The `issuer` the discovery document names.
    pub fn set_discovered_issuer(&self, issuer: &str) {
        self.state.lock().unwrap().issuer = issuer.to_owned();
    }

    /// The `jwks_uri` the discovery document names.
    pub fn set_jwks_uri(&self, uri: &str) {
        self.state.lock().unwrap().jwks_uri = Some(uri.to_owned());
    }

    /// The discovery document, verbatim.
    pub fn set_discovery_document(&self, body: &str) {
        self.state.lock().unwrap().discovery = Some(body.to_owned());
    }

    /// Requests to `/jwks` so far.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    /// Requests to any path so far (discovery documents included).
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

type AppState = (Arc<Mutex<ServerState>>, Arc<AtomicUsize>, Arc<AtomicUsize>);

async fn handle(State((state, hits, requests)): State<AppState>, uri: Uri) -> Response {
    requests.fetch_add(1, Ordering::SeqCst);
    let (mode, real, issuer, port, jwks_uri, discovery) = {
        let s = state.lock().unwrap();
        (s.mode.clone(), s.real.clone(), s.issuer.clone(), s.port, s.jwks_uri.clone(), s.discovery.clone())
    };
    match uri.path() {
        "/.well-known/openid-configuration" => {
            let jwks_uri = jwks_uri.unwrap_or_else(|| format!("http://127.0.0.1:{port}/jwks"));
            let doc = discovery.unwrap_or_else(|| json!({"issuer": issuer, "jwks_uri": jwks_uri}).to_string());
            ([(header::CONTENT_TYPE, "application/json")], doc).into_response()
        }
        "/jwks-real" => real.into_response(),
        "/jwks" => {
            hits.fetch_add(1, Ordering::SeqCst);
            match mode {
                Mode::Jwks(body) => ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
                Mode::JwksWithCacheControl(body, cc) => ([(header::CACHE_CONTROL, cc)], body).into_response(),
                Mode::Status(code) => StatusCode::from_u16(code).unwrap().into_response(),
                Mode::Hang => {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    real.into_response()
                }
                Mode::Garbage => "{\"keys\": [ this is not json".into_response(),
                Mode::Huge(len) => Response::new(Body::from(vec![b' '; len])),
                Mode::HugeChunked(len) => {
                    let chunks = (0..len / 65_536).map(|_| Ok::<_, std::io::Error>(vec![b' '; 65_536]));
                    Response::new(Body::from_stream(futures_util::stream::iter(chunks)))
                }
                Mode::RedirectOtherHost => {
                    let to = format!("http://localhost:{port}/jwks-real");
                    (StatusCode::FOUND, [(header::LOCATION, to)]).into_response()
                }
                Mode::RedirectSameHost => (StatusCode::FOUND, [(header::LOCATION, "/jwks-real")]).into_response(),
            }
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// A `Write` into a shared buffer, for capturing tracing output.
#[derive(Clone, Default)]
pub struct Captured(pub Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
