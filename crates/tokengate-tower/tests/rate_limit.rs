//! Failure rate limiting: N failures turn into 429 without crypto, and the client comes back.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

#[path = "common/capture.rs"]
mod capture;
mod common;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use common::{AUD, ISS, claims, rsa};
use http::header::{CACHE_CONTROL, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{Request, Response, StatusCode};
use tokengate_core::{Algorithm, AuthError, ErrorKind, Key, KeyQuery, KeyResolver, KeySet, Verifier};
use tokengate_tower::JwtAuthLayer;
use tokengate_tower::rate_limit::{ClientAddr, FailureRateLimitLayer, ManualClock};
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
    // The limiter's time moves only when the test says so: no sleeping, no wall-clock luck.
    let clock = ManualClock::new();
    let window = Duration::from_secs(60); // one attempt back every 20 s
    let service = ServiceBuilder::new()
        .layer(FailureRateLimitLayer::new(NonZeroU32::new(3).unwrap(), window).unwrap().clock(clock.clone()))
        .layer(JwtAuthLayer::new(verifier))
        .service(service_fn(|_: Request<()>| async { Ok::<_, Infallible>(Response::new(String::new())) }));

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
        assert_eq!(response.headers()[RETRY_AFTER], "20");
    }
    assert_eq!(resolutions.load(Ordering::SeqCst), before, "a limited request ran the verifier");

    // Another client is not affected.
    let response = service.clone().oneshot(request(Some(&good), bystander)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    // One second before the first attempt comes back, still limited, and told so.
    clock.advance(Duration::from_secs(19));
    let before = resolutions.load(Ordering::SeqCst);
    let response = service.clone().oneshot(request(Some(&good), attacker)).await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()[RETRY_AFTER], "1");
    assert_eq!(resolutions.load(Ordering::SeqCst), before, "a limited request ran the verifier");

    // Then the client is let back in.
    clock.advance(Duration::from_secs(1));
    let response = service.clone().oneshot(request(Some(&good), attacker)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

fn ok_service()
-> impl tower::Service<Request<()>, Response = Response<String>, Error = Infallible, Future: Send> + Clone {
    service_fn(|_: Request<()>| async { Ok::<_, Infallible>(Response::new(String::new())) })
}

fn from(token: &str, client: Option<SocketAddr>) -> Request<()> {
    let mut request = Request::builder().header("authorization", format!("Bearer {token}")).body(()).unwrap();
    if let Some(client) = client {
        request.extensions_mut().insert(ClientAddr(client));
    }
    request
}

#[tokio::test]
async fn requests_without_a_client_address_are_not_limited_and_an_error_is_logged_once() {
    let captured = capture::start();
    let service = ServiceBuilder::new()
        .layer(FailureRateLimitLayer::new(NonZeroU32::new(2).unwrap(), Duration::from_secs(60)).unwrap())
        .layer(JwtAuthLayer::new(rsa().verifier()))
        .service(ok_service());
    // Far more failures than the budget: every one is verified and refused, none is a 429
    // (an anonymous client cannot get the other unidentified clients locked out).
    for _ in 0..5 {
        assert_eq!(service.clone().oneshot(from("a.b.c", None)).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    }
    let good = rsa().token(&claims("alice"));
    assert_eq!(service.clone().oneshot(from(&good, None)).await.unwrap().status(), StatusCode::OK);
    let logs = captured.text();
    drop(captured);
    let said: Vec<&str> = logs.lines().filter(|l| l.contains("rate limiting is off for these requests")).collect();
    assert_eq!(said.len(), 1, "{logs}");
    assert!(said[0].contains("ERROR") && said[0].contains("ConnectInfoKey / ForwardedFor"), "{logs}");
    // Identified clients are limited as usual by the same layer.
    let client: SocketAddr = "192.0.2.12:1234".parse().unwrap();
    for _ in 0..2 {
        let response = service.clone().oneshot(from("a.b.c", Some(client))).await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let response = service.clone().oneshot(from(&good, Some(client))).await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    // Still no 429 for the unidentified.
    assert_eq!(service.clone().oneshot(from(&good, None)).await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn limit_unidentified_puts_them_into_one_shared_bucket() {
    let service = ServiceBuilder::new()
        .layer(
            FailureRateLimitLayer::new(NonZeroU32::new(2).unwrap(), Duration::from_secs(60))
                .unwrap()
                .limit_unidentified(),
        )
        .layer(JwtAuthLayer::new(rsa().verifier()))
        .service(ok_service());
    // Two unidentified clients spend the one shared budget...
    for _ in 0..2 {
        assert_eq!(service.clone().oneshot(from("a.b.c", None)).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    }
    // ...and every unidentified request is limited from then on, a good token too.
    let good = rsa().token(&claims("alice"));
    let response = service.clone().oneshot(from(&good, None)).await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.extensions().get::<AuthError>().map(AuthError::kind), Some(ErrorKind::RateLimited));
    // An identified client has its own bucket.
    let client: SocketAddr = "192.0.2.9:1234".parse().unwrap();
    assert_eq!(service.clone().oneshot(from(&good, Some(client))).await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn a_429_is_not_cached_and_has_no_challenge() {
    let service = ServiceBuilder::new()
        .layer(FailureRateLimitLayer::new(NonZeroU32::new(1).unwrap(), Duration::from_secs(60)).unwrap())
        .layer(JwtAuthLayer::new(rsa().verifier()))
        .service(ok_service());
    let client: SocketAddr = "192.0.2.10:1234".parse().unwrap();
    assert_eq!(service.clone().oneshot(from("a.b.c", Some(client))).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    let response = service.clone().oneshot(from("a.b.c", Some(client))).await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
    assert!(response.headers().get(WWW_AUTHENTICATE).is_none());
    assert!(response.headers().get(RETRY_AFTER).is_some());
}

struct Unavailable;

impl KeyResolver for Unavailable {
    fn resolve(&self, _: &KeyQuery<'_>) -> Result<Key, AuthError> {
        Err(AuthError::new(ErrorKind::KeysUnavailable))
    }
}

#[tokio::test]
async fn forged_tokens_for_an_issuer_that_is_down_are_not_counted() {
    let down_issuer = "https://down.issuer.test";
    let down = Verifier::builder(Unavailable)
        .issuer(down_issuer)
        .audience(AUD)
        .algorithms([Algorithm::RS256])
        .build()
        .unwrap();
    let service = ServiceBuilder::new()
        .layer(FailureRateLimitLayer::new(NonZeroU32::new(2).unwrap(), Duration::from_secs(60)).unwrap())
        .layer(JwtAuthLayer::new(rsa().verifier()).add_verifier(down))
        .service(ok_service());
    let client: SocketAddr = "192.0.2.11:1234".parse().unwrap();
    let mut forged = claims("mallory");
    forged["iss"] = down_issuer.into();
    let forged = rsa().token_with_kid(&forged, "random-kid-0001");
    // The first verifier says "not my key", the second cannot get keys: 503 every time,
    // well past the budget of 2, and never 429 (the key cache bounds the fetches).
    for _ in 0..5 {
        let response = service.clone().oneshot(from(&forged, Some(client))).await.unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.extensions().get::<AuthError>().map(AuthError::kind), Some(ErrorKind::KeysUnavailable));
    }
    // The client was not blocked: its good token for the issuer that is up passes.
    let good = rsa().token(&claims("alice"));
    assert_eq!(service.clone().oneshot(from(&good, Some(client))).await.unwrap().status(), StatusCode::OK);
}

/// The keys of a key set, unavailable while `down` is set.
#[derive(Clone)]
struct Outage(KeySet, Arc<AtomicBool>);

impl KeyResolver for Outage {
    fn resolve(&self, query: &KeyQuery<'_>) -> Result<Key, AuthError> {
        if self.1.load(Ordering::SeqCst) {
            return Err(AuthError::new(ErrorKind::KeysUnavailable));
        }
        self.0.resolve(query)
    }
}

#[tokio::test]
async fn an_outage_of_the_identity_provider_does_not_lock_clients_out() {
    let down = Arc::new(AtomicBool::new(true));
    let verifier = Verifier::builder(Outage(rsa().key_set(), Arc::clone(&down)))
        .issuer(ISS)
        .audience(AUD)
        .algorithms([Algorithm::RS256])
        .build()
        .unwrap();
    let service = ServiceBuilder::new()
        .layer(FailureRateLimitLayer::new(NonZeroU32::new(2).unwrap(), Duration::from_secs(60)).unwrap())
        .layer(JwtAuthLayer::new(verifier))
        .service(ok_service());
    let client: SocketAddr = "192.0.2.13:1234".parse().unwrap();
    let good = rsa().token(&claims("alice"));
    // A legitimate client retries through the outage...
    for _ in 0..5 {
        let response = service.clone().oneshot(from(&good, Some(client))).await.unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    }
    // ...and is served as soon as the keys are back, not answered 429.
    down.store(false, Ordering::SeqCst);
    assert_eq!(service.clone().oneshot(from(&good, Some(client))).await.unwrap().status(), StatusCode::OK);
    // Bad tokens from it still count.
    for _ in 0..2 {
        assert_eq!(
            service.clone().oneshot(from("a.b.c", Some(client))).await.unwrap().status(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        service.clone().oneshot(from(&good, Some(client))).await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

/// A resolver for an issuer trusted by pattern that cannot be loaded.
struct NotLoadable;

impl KeyResolver for NotLoadable {
    fn resolve(&self, _: &KeyQuery<'_>) -> Result<Key, AuthError> {
        Err(AuthError::new(ErrorKind::IssuerUnavailable))
    }
}

#[tokio::test]
async fn tokens_naming_issuers_that_cannot_be_loaded_are_counted() {
    let verifier =
        Verifier::builder(NotLoadable).any_issuer().audience(AUD).algorithms([Algorithm::RS256]).build().unwrap();
    let service = ServiceBuilder::new()
        .layer(FailureRateLimitLayer::new(NonZeroU32::new(2).unwrap(), Duration::from_secs(60)).unwrap())
        .layer(JwtAuthLayer::new(verifier))
        .service(ok_service());
    let client: SocketAddr = "192.0.2.21:1234".parse().unwrap();
    let token = rsa().token(&claims("flooder"));
    for _ in 0..2 {
        let response = service.clone().oneshot(from(&token, Some(client))).await.unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.extensions().get::<AuthError>().map(AuthError::kind), Some(ErrorKind::IssuerUnavailable));
    }
    let response = service.clone().oneshot(from(&token, Some(client))).await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.extensions().get::<AuthError>().map(AuthError::kind), Some(ErrorKind::RateLimited));
}

/// Revocation status unknown for everyone.
struct MirrorStale;

impl tokengate_core::RevocationCheck for MirrorStale {
    fn check(&self, _: &tokengate_core::Verified) -> Result<(), AuthError> {
        Err(AuthError::new(ErrorKind::RevocationUnavailable))
    }
}

#[tokio::test]
async fn an_unavailable_revocation_mirror_and_denials_after_authentication_are_not_counted() {
    use tokengate_tower::Authenticator;
    use tokengate_tower::response::{BearerChallenge, Problem, Rejection, mark_after_authentication};
    use tower::ServiceExt as _;

    let client: SocketAddr = "192.0.2.22:1234".parse().unwrap();
    let good = rsa().token(&claims("alice"));
    let stale = ServiceBuilder::new()
        .layer(FailureRateLimitLayer::new(NonZeroU32::new(1).unwrap(), Duration::from_secs(60)).unwrap())
        .layer(JwtAuthLayer::from_authenticator(
            Authenticator::builder(rsa().verifier()).revocation(MirrorStale).build(),
        ))
        .service(ok_service());
    for _ in 0..3 {
        let response = stale.clone().oneshot(from(&good, Some(client))).await.unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    }

    // A policy layer inside the auth layer denies with a kind that counts (a claim it does
    // not accept) but marks the refusal: never counted.
    let denying = tower::service_fn(|_: Request<()>| async {
        let rejection = Rejection::new(AuthError::new(ErrorKind::InvalidClaim), BearerChallenge::default());
        let response: Response<String> = tokengate_tower::OnRejection::on_rejection(&Problem, &rejection);
        Ok::<_, Infallible>(mark_after_authentication(response))
    });
    let policy = ServiceBuilder::new()
        .layer(FailureRateLimitLayer::new(NonZeroU32::new(1).unwrap(), Duration::from_secs(60)).unwrap())
        .layer(JwtAuthLayer::new(rsa().verifier()))
        .service(denying);
    for _ in 0..3 {
        let response = policy.clone().oneshot(from(&good, Some(client))).await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(response.extensions().get::<AuthError>().map(AuthError::kind), Some(ErrorKind::InvalidClaim));
    }
}
