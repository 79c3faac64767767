//! Failure rate limiting: N failures turn into 429 without crypto, and the client comes back.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{AUD, ISS, claims, rsa};
use http::header::RETRY_AFTER;
use http::{Request, Response, StatusCode};
use tokengate_core::{Algorithm, AuthError, ErrorKind, Key, KeyQuery, KeyResolver, KeySet, Verifier};
use tokengate_tower::JwtAuthLayer;
use tokengate_tower::rate_limit::{ClientAddr, FailureRateLimitLayer};
use tower::{ServiceBuilder, ServiceExt, service_fn};

/// Counts key resolutions: every verification that gets as far as the key resolves one.
#[derive(Clone)]
struct Counting(KeySet, Arc<AtomicUsize>);

impl KeyResolver for Counting {
    fn resolve(&self, query: &KeyQuery<'_>) -> Result<Key, AuthError> {
        self.1.fetch_add(1, Ordering::SeqCst);
        self.0.resolve(query)
    }
}

#[tokio::test]
async fn failures_turn_into_429_without_crypto_and_the_client_comes_back() {
    let resolutions = Arc::new(AtomicUsize::new(0));
    let verifier = Verifier::builder(Counting(rsa().key_set(), Arc::clone(&resolutions)))
        .issuer(ISS)
        .audience(AUD)
        .algorithms([Algorithm::RS256])
        .build()
        .unwrap();
    let window = Duration::from_millis(1500); // one attempt back every 500 ms
    let service = ServiceBuilder::new()
        .layer(FailureRateLimitLayer::new(NonZeroU32::new(3).unwrap(), window).unwrap())
        .layer(JwtAuthLayer::new(verifier))
        .service(service_fn(|_: Request<()>| async { Ok::<_, Infallible>(Response::new(())) }));

    let good = rsa().token(&claims("alice"));
    let mut bad = good.clone();
    bad.truncate(good.len() - 4);
    bad.push_str("AAAA");
    let attacker: SocketAddr = "192.0.2.7:40000".parse().unwrap();
    let bystander: SocketAddr = "192.0.2.8:40000".parse().unwrap();
    let request = |token: Option<&str>, from: SocketAddr| {
        let mut b = Request::builder();
        if let Some(token) = token {
            b = b.header("authorization", format!("Bearer {token}"));
        }
        let mut r = b.body(()).unwrap();
        r.extensions_mut().insert(ClientAddr(from));
        r
    };

    // Requests without a token never count.
    for _ in 0..5 {
        let response = service.clone().oneshot(request(None, attacker)).await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    for _ in 0..3 {
        let response = service.clone().oneshot(request(Some(&bad), attacker)).await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let before = resolutions.load(Ordering::SeqCst);
    for token in [&bad, &good] {
        let response = service.clone().oneshot(request(Some(token), attacker)).await.unwrap();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.extensions().get::<AuthError>().map(AuthError::kind), Some(ErrorKind::RateLimited));
        let retry: u64 = response.headers()[RETRY_AFTER].to_str().unwrap().parse().unwrap();
        assert!((1..=1).contains(&retry), "{retry}");
    }
    assert_eq!(resolutions.load(Ordering::SeqCst), before, "a limited request ran the verifier");

    // Another client is not affected.
    let response = service.clone().oneshot(request(Some(&good), bystander)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    // After the window the client is let back in.
    tokio::time::sleep(window + Duration::from_millis(100)).await;
    let response = service.clone().oneshot(request(Some(&good), attacker)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn requests_without_a_client_address_are_not_limited() {
    let service = ServiceBuilder::new()
        .layer(FailureRateLimitLayer::new(NonZeroU32::new(1).unwrap(), Duration::from_secs(60)).unwrap())
        .layer(JwtAuthLayer::new(rsa().verifier()))
        .service(service_fn(|_: Request<()>| async { Ok::<_, Infallible>(Response::new(())) }));
    for _ in 0..3 {
        let request = Request::builder().header("authorization", "Bearer a.b.c").body(()).unwrap();
        assert_eq!(service.clone().oneshot(request).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    }
}
