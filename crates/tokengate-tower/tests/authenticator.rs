//! The transport-neutral `Authenticator`: revocation and remote (introspection) hooks, the
//! unknown-kid slow path (parsed once, resumed), and the exact HTTP answers of each.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

#[path = "common/capture.rs"]
mod capture;
mod common;

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use common::{AUD, ISS, claims, hs256, rsa};
use http::header::{CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{Request, Response, StatusCode};
use tokengate_core::{
    Algorithm, AuthError, ErrorKind, Key, KeyQuery, KeyResolver, KeySet, RefreshFuture, RegisteredClaims,
    RemoteVerifier, RevocationCheck, Verified, Verifier, VerifyFuture, parses_on_this_thread,
};
use tokengate_tower::{Authentication, Authenticator, JwtAuthLayer};
use tower::{Layer, ServiceExt, service_fn};

/// Revokes the subjects in its list; fails closed when `unavailable`.
#[derive(Clone, Default)]
struct Revocations {
    subjects: Arc<Mutex<Vec<String>>>,
    unavailable: Arc<Mutex<bool>>,
    checks: Arc<AtomicUsize>,
}

impl RevocationCheck for Revocations {
    fn check(&self, token: &Verified) -> Result<(), AuthError> {
        self.checks.fetch_add(1, Ordering::SeqCst);
        if *self.unavailable.lock().unwrap() {
            return Err(AuthError::with_detail(ErrorKind::RevocationUnavailable, "mirror stale"));
        }
        let subjects = self.subjects.lock().unwrap();
        match token.subject() {
            Some(sub) if subjects.iter().any(|s| s == sub) => Err(AuthError::with_detail(ErrorKind::Revoked, "sub")),
            _ => Ok(()),
        }
    }
}

/// A fake introspection endpoint: `active-<sub>` is active, `inactive` is not, `down` cannot
/// be asked; JWTs are active unless their text is in `inactive_jwts`.
#[derive(Clone, Default)]
struct FakeRemote {
    calls: Arc<AtomicUsize>,
    inactive_jwts: Arc<Mutex<Vec<String>>>,
}

impl RemoteVerifier for FakeRemote {
    fn verify_remote(&self, token: &str) -> VerifyFuture {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let token = token.to_owned();
        let inactive = self.inactive_jwts.lock().unwrap().contains(&token);
        Box::pin(async move {
            tokio::task::yield_now().await;
            if inactive || token == "inactive" {
                return Err(AuthError::new(ErrorKind::Inactive));
            }
            if token == "down" {
                return Err(AuthError::with_detail(ErrorKind::IntrospectionUnavailable, "connection refused"));
            }
            let sub = token.strip_prefix("active-").unwrap_or("jwt").to_owned();
            let registered = RegisteredClaims { sub: Some(sub.clone()), iss: Some(ISS.into()), ..Default::default() };
            let raw = serde_json::json!({"sub": sub, "iss": ISS}).to_string();
            Ok(tokengate_core::unchecked::verified_from_parts(None, registered, raw.into_boxed_str(), None, 0))
        })
    }
}

/// Sends `token` through the layer; returns status, `WWW-Authenticate`, body and error kind.
async fn send(layer: &JwtAuthLayer, token: &str) -> (StatusCode, Option<String>, String, Option<ErrorKind>) {
    let service = layer.layer(service_fn(|req: Request<()>| async move {
        let sub = req.extensions().get::<Arc<Verified>>().and_then(|v| v.subject().map(str::to_owned));
        Ok::<_, Infallible>(Response::new(sub.unwrap_or_default()))
    }));
    let request = Request::builder().header("authorization", format!("Bearer {token}")).body(()).unwrap();
    let response = service.oneshot(request).await.unwrap();
    if response.status() != StatusCode::OK {
        assert_eq!(response.headers()[CONTENT_TYPE], "application/problem+json");
        assert_eq!(response.headers()["cache-control"], "no-store");
    }
    (
        response.status(),
        response.headers().get(WWW_AUTHENTICATE).map(|v| v.to_str().unwrap().to_owned()),
        response.body().clone(),
        response.extensions().get::<AuthError>().map(AuthError::kind),
    )
}

fn problem(status: u16, title: &str, detail: &str) -> String {
    format!(r#"{{"type":"about:blank","title":"{title}","status":{status},"detail":"{detail}"}}"#)
}

fn invalid_token(description: &str) -> Option<String> {
    Some(format!(r#"Bearer realm="api", error="invalid_token", error_description="{description}""#))
}

#[tokio::test]
async fn a_revoked_token_is_401_invalid_token_even_from_the_cache() {
    let revocations = Revocations::default();
    let auth =
        Authenticator::builder(rsa().verifier()).cache_verified_tokens(100).revocation(revocations.clone()).build();
    let layer = JwtAuthLayer::from_authenticator(auth);
    let token = rsa().token(&claims("alice"));
    assert_eq!(send(&layer, &token).await.0, StatusCode::OK);
    assert_eq!(send(&layer, &token).await.0, StatusCode::OK); // now a cache hit
    assert_eq!(revocations.checks.load(Ordering::SeqCst), 2, "revocation runs on cached tokens too");

    revocations.subjects.lock().unwrap().push("alice".into());
    let captured = capture::start();
    let answer = send(&layer, &token).await;
    let logs = captured.text();
    drop(captured);
    assert_eq!(
        answer,
        (
            StatusCode::UNAUTHORIZED,
            invalid_token("the access token has been revoked"),
            problem(401, "Unauthorized", "the access token has been revoked"),
            Some(ErrorKind::Revoked),
        )
    );
    assert!(logs.contains("revocation: Revoked (sub)"), "{logs}");
    assert!(logs.contains("outcome=\"rejected\"") || logs.contains("outcome=rejected"), "{logs}");
    for segment in token.split('.') {
        assert!(!logs.contains(segment), "a token segment appeared in the logs");
    }
    // Another subject still passes.
    assert_eq!(send(&layer, &rsa().token(&claims("bob"))).await.0, StatusCode::OK);
}

#[tokio::test]
async fn an_unknown_revocation_status_is_503_and_not_401() {
    let revocations = Revocations::default();
    *revocations.unavailable.lock().unwrap() = true;
    let layer =
        JwtAuthLayer::from_authenticator(Authenticator::builder(rsa().verifier()).revocation(revocations).build());
    let service = layer.layer(service_fn(|_: Request<()>| async { Ok::<_, Infallible>(Response::new(String::new())) }));
    let token = rsa().token(&claims("alice"));
    let request = Request::builder().header("authorization", format!("Bearer {token}")).body(()).unwrap();
    let response = service.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers().get(WWW_AUTHENTICATE), None);
    assert_eq!(response.headers()[RETRY_AFTER], "5");
    assert_eq!(response.headers()[CONTENT_TYPE], "application/problem+json");
    assert_eq!(response.body(), &problem(503, "Service Unavailable", "revocation status is temporarily unavailable"));
    assert_eq!(response.extensions().get::<AuthError>().map(AuthError::kind), Some(ErrorKind::RevocationUnavailable));
}

#[tokio::test]
async fn opaque_tokens_go_to_the_remote_verifier() {
    let remote = FakeRemote::default();
    let revocations = Revocations::default();
    revocations.subjects.lock().unwrap().push("eve".into());
    let auth = Authenticator::builder(rsa().verifier()).remote(remote.clone()).revocation(revocations).build();
    let layer = JwtAuthLayer::from_authenticator(auth.clone());

    assert_eq!(send(&layer, "active-carol").await, (StatusCode::OK, None, "carol".into(), None));
    assert_eq!(
        send(&layer, "inactive").await,
        (
            StatusCode::UNAUTHORIZED,
            invalid_token("the access token is not active"),
            problem(401, "Unauthorized", "the access token is not active"),
            Some(ErrorKind::Inactive),
        )
    );
    assert_eq!(
        send(&layer, "down").await,
        (
            StatusCode::SERVICE_UNAVAILABLE,
            None,
            problem(503, "Service Unavailable", "the authorization server is temporarily unavailable"),
            Some(ErrorKind::IntrospectionUnavailable),
        )
    );
    // Revocation runs on remote answers too.
    assert_eq!(send(&layer, "active-eve").await.3, Some(ErrorKind::Revoked));
    assert_eq!(remote.calls.load(Ordering::SeqCst), 4);

    // A JWT is verified locally, never sent out (no zero trust configured).
    assert_eq!(send(&layer, &rsa().token(&claims("alice"))).await.0, StatusCode::OK);
    assert_eq!(remote.calls.load(Ordering::SeqCst), 4);
    // The remote path is a pending future, Send + 'static.
    let pending = match auth.authenticate("active-dan") {
        Authentication::Pending(pending) => pending,
        Authentication::Done(result) => panic!("opaque tokens are remote: {result:?}"),
    };
    let joined = tokio::spawn(pending).await.unwrap().unwrap();
    assert_eq!(joined.subject(), Some("dan"));
}

#[tokio::test]
async fn without_a_remote_verifier_an_opaque_token_is_malformed() {
    let layer = JwtAuthLayer::new(rsa().verifier());
    assert_eq!(
        send(&layer, "opaque").await,
        (
            StatusCode::UNAUTHORIZED,
            invalid_token("the access token is malformed"),
            problem(401, "Unauthorized", "the access token is malformed"),
            Some(ErrorKind::Malformed),
        )
    );
}

#[tokio::test]
async fn zero_trust_checks_a_locally_verified_jwt_remotely_on_every_call() {
    let remote = FakeRemote::default();
    let auth =
        Authenticator::builder(rsa().verifier()).cache_verified_tokens(100).remote_after_local(remote.clone()).build();
    let layer = JwtAuthLayer::from_authenticator(auth);
    let token = rsa().token(&claims("alice"));
    // The local claims are what the handler sees (the fake answers with sub "jwt").
    assert_eq!(send(&layer, &token).await, (StatusCode::OK, None, "alice".into(), None));
    assert_eq!(send(&layer, &token).await, (StatusCode::OK, None, "alice".into(), None)); // cached
    assert_eq!(remote.calls.load(Ordering::SeqCst), 2, "a cache hit is checked remotely too");

    remote.inactive_jwts.lock().unwrap().push(token.clone());
    assert_eq!(
        send(&layer, &token).await,
        (
            StatusCode::UNAUTHORIZED,
            invalid_token("the access token is not active"),
            problem(401, "Unauthorized", "the access token is not active"),
            Some(ErrorKind::Inactive),
        )
    );
    // A forged JWT never reaches the remote verifier.
    let mut forged = rsa().token(&claims("mallory"));
    // The last character of a 256-byte signature is one of A, Q, g, w (2 bits and
    // padding): replacing it with 'A' left a quarter of the tokens unchanged (and valid).
    let last = forged.pop();
    forged.push(if last == Some('A') { 'Q' } else { 'A' });
    let calls = remote.calls.load(Ordering::SeqCst);
    assert_eq!(send(&layer, &forged).await.3, Some(ErrorKind::InvalidSignature));
    assert_eq!(remote.calls.load(Ordering::SeqCst), calls);
}

/// A resolver that knows no key until it is refreshed, and counts what it is asked.
#[derive(Clone, Default)]
struct Learning {
    keys: Arc<RwLock<Option<KeySet>>>,
    next: Arc<Mutex<Option<KeySet>>>,
    resolves: Arc<AtomicUsize>,
    refreshes: Arc<AtomicUsize>,
}

impl KeyResolver for Learning {
    fn resolve(&self, query: &KeyQuery<'_>) -> Result<Key, AuthError> {
        self.resolves.fetch_add(1, Ordering::SeqCst);
        match &*self.keys.read().unwrap() {
            Some(keys) => keys.resolve(query),
            None => Err(AuthError::new(ErrorKind::UnknownKey)),
        }
    }

    fn refresh_unknown(&self, _query: &KeyQuery<'_>) -> Option<RefreshFuture> {
        self.refreshes.fetch_add(1, Ordering::SeqCst);
        let this = self.clone();
        Some(Box::pin(async move {
            tokio::task::yield_now().await;
            if let Some(next) = this.next.lock().unwrap().take() {
                *this.keys.write().unwrap() = Some(next);
            }
        }))
    }
}

#[tokio::test(flavor = "current_thread")]
async fn the_unknown_kid_slow_path_parses_the_token_once_and_resumes() {
    let resolver = Learning::default();
    *resolver.next.lock().unwrap() = Some(rsa().key_set());
    let verifier =
        Verifier::builder(resolver.clone()).issuer(ISS).audience(AUD).algorithms([Algorithm::RS256]).build().unwrap();
    let auth = Authenticator::new(verifier);
    let token = rsa().token(&claims("alice"));

    let before = parses_on_this_thread();
    let pending = match auth.authenticate(&token) {
        Authentication::Pending(pending) => pending,
        Authentication::Done(result) => panic!("an unknown kid must refresh: {result:?}"),
    };
    let verified = pending.await.unwrap();
    assert_eq!(verified.subject(), Some("alice"));
    assert_eq!(parses_on_this_thread() - before, 1, "the token is parsed once, then resumed");
    assert_eq!(resolver.resolves.load(Ordering::SeqCst), 2, "one lookup before the refresh, one after");
    assert_eq!(resolver.refreshes.load(Ordering::SeqCst), 1);

    // Still unknown after the refresh: refused, again parsed once.
    let before = parses_on_this_thread();
    let error = auth.verify(&rsa().token_with_kid(&claims("alice"), "gone")).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::UnknownKey);
    assert_eq!(parses_on_this_thread() - before, 1);
    assert_eq!(resolver.refreshes.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "current_thread")]
async fn a_key_that_cannot_be_refreshed_is_refused_without_a_slow_path() {
    // A static key set cannot refresh: the refusal is decided at once.
    let auth = Authenticator::new(hs256().verifier());
    match auth.authenticate(&hs256().token_with_kid(&claims("alice"), "other")) {
        Authentication::Done(Err(error)) => assert_eq!(error.kind(), ErrorKind::UnknownKey),
        other => panic!("expected an immediate UnknownKey, got {other:?}"),
    }
}

#[tokio::test(flavor = "current_thread")]
async fn verifiers_are_tried_in_order_and_the_second_may_need_a_refresh() {
    let resolver = Learning::default();
    *resolver.next.lock().unwrap() = Some(rsa().key_set());
    let learning =
        Verifier::builder(resolver.clone()).issuer(ISS).audience(AUD).algorithms([Algorithm::RS256]).build().unwrap();
    let auth = Authenticator::builder(hs256().verifier()).verifier(learning).build();
    assert_eq!(auth.verifiers().len(), 2);
    // An HS256 token: the first verifier accepts; the second is never asked.
    assert!(auth.verify(&hs256().token(&claims("a"))).await.is_ok());
    assert_eq!(resolver.resolves.load(Ordering::SeqCst), 0);
    // An RS256 token: the first refuses (algorithm), the second refreshes and accepts.
    let verified = auth.verify(&rsa().token(&claims("b"))).await.unwrap();
    assert_eq!(verified.subject(), Some("b"));
    assert_eq!(resolver.refreshes.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn empty_body_keeps_the_headers_and_drops_the_problem() {
    let layer = JwtAuthLayer::new(rsa().verifier()).realm("orders").empty_body();
    let service = layer.layer(service_fn(|_: Request<()>| async { Ok::<_, Infallible>(Response::new(())) }));
    let request = Request::builder().header("authorization", "Bearer a.b.c").body(()).unwrap();
    let response = service.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.headers()[WWW_AUTHENTICATE],
        r#"Bearer realm="orders", error="invalid_token", error_description="the access token is malformed""#
    );
    assert_eq!(response.headers().get(CONTENT_TYPE), None);
    assert_eq!(response.extensions().get::<AuthError>().map(AuthError::kind), Some(ErrorKind::InvalidEncoding));
}
