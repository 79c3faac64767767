//! What the policy layer logs: the policy's name and the denial kind, never the token.
//! (Its own test binary: it installs the one global subscriber.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::convert::Infallible;
use std::io;
use std::sync::{Arc, Mutex, PoisonError};

use http::{Request, Response, StatusCode};
use tokengate_core::Algorithm;
use tokengate_policy::{PolicyLayer, Scope};
use tokengate_test_support::{TokenBuilder, verifier};
use tokengate_tower::JwtAuthLayer;
use tower::{ServiceBuilder, ServiceExt};

struct Writer(Arc<Mutex<Vec<u8>>>);

impl io::Write for Writer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn denials_are_logged_without_the_token() {
    let buffer = Arc::new(Mutex::new(Vec::new()));
    let writer = Arc::clone(&buffer);
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || Writer(Arc::clone(&writer)))
        .finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let service = ServiceBuilder::new()
        .layer(JwtAuthLayer::new(verifier(Algorithm::HS256).build().unwrap()))
        .layer(PolicyLayer::new(Scope::all_of(["admin"])))
        .service_fn(|_r: Request<()>| async { Ok::<_, Infallible>(Response::new(String::new())) });
    let token = TokenBuilder::new(Algorithm::HS256).claim("scope", "read").claim("email", "alice@example.com").sign();
    let request = Request::builder().header("authorization", format!("Bearer {token}")).body(()).unwrap();
    assert_eq!(service.clone().oneshot(request).await.unwrap().status(), StatusCode::FORBIDDEN);

    // Without the authentication layer: the error names the missing layer.
    let bare = ServiceBuilder::new()
        .layer(PolicyLayer::new(Scope::all_of(["admin"])))
        .service_fn(|_r: Request<()>| async { Ok::<_, Infallible>(Response::new(String::new())) });
    let request = Request::builder().header("authorization", format!("Bearer {token}")).body(()).unwrap();
    assert_eq!(bare.oneshot(request).await.unwrap().status(), StatusCode::INTERNAL_SERVER_ERROR);

    let logs = String::from_utf8_lossy(&buffer.lock().unwrap()).into_owned();
    assert!(logs.contains("tokengate policy: denied"), "{logs}");
    assert!(logs.contains("policy=\"scope\"") || logs.contains("policy=scope"), "{logs}");
    assert!(logs.contains("kind=insufficient_scope"), "{logs}");
    assert!(logs.contains("is the authentication layer missing?"), "{logs}");
    let signature = token.rsplit('.').next().unwrap();
    let payload = token.split('.').nth(1).unwrap();
    assert!(!logs.contains(signature), "the signature was logged: {logs}");
    assert!(!logs.contains(payload), "the claims segment was logged: {logs}");
    assert!(!logs.contains("alice@example.com"), "a claim was logged: {logs}");
}
