//! `verify_async`: an unknown kid triggers exactly one refresh and one retry.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use tokengate_core::{
    Algorithm, AuthError, ErrorKind, FixedClock, Key, KeyQuery, KeyResolver, KeySet, RefreshFuture, Verified, Verifier,
};
use tokengate_test_support::{AUDIENCE, ISSUER, TokenBuilder, fixture, other_fixture};

const NOW: i64 = 1_800_000_000;

/// A resolver whose refresh installs `next` (if any) as the current key set.
struct Rotating {
    current: Mutex<KeySet>,
    next: Mutex<Option<KeySet>>,
    refreshes: AtomicUsize,
}

#[derive(Clone)]
struct Shared(Arc<Rotating>);

impl KeyResolver for Shared {
    fn resolve(&self, query: &KeyQuery<'_>) -> Result<Key, AuthError> {
        self.0.current.lock().unwrap().resolve(query)
    }
    fn refresh_unknown(&self, _query: &KeyQuery<'_>) -> Option<RefreshFuture> {
        let inner = Arc::clone(&self.0);
        Some(Box::pin(async move {
            inner.refreshes.fetch_add(1, Ordering::SeqCst);
            if let Some(next) = inner.next.lock().unwrap().take() {
                *inner.current.lock().unwrap() = next;
            }
        }))
    }
}

fn setup(next: Option<KeySet>) -> (Shared, Verifier) {
    let shared = Shared(Arc::new(Rotating {
        current: Mutex::new(fixture(Algorithm::ES256).key_set()),
        next: Mutex::new(next),
        refreshes: AtomicUsize::new(0),
    }));
    let v = Verifier::builder(shared.clone())
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .algorithms([Algorithm::ES256])
        .clock(FixedClock::new(NOW))
        .build()
        .unwrap();
    (shared, v)
}

/// Polls a future that never waits (the refresh above completes at once).
fn run<T>(fut: impl Future<Output = T>) -> T {
    let mut fut = pin!(fut);
    match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("the future waited"),
    }
}

fn rotated_token() -> String {
    TokenBuilder::at(Algorithm::ES256, NOW).signed_by(other_fixture(Algorithm::ES256)).header("kid", "es256-2").sign()
}

#[test]
fn unknown_kid_refreshes_once_then_verifies() {
    let (shared, v) = setup(Some(other_fixture(Algorithm::ES256).key_set()));
    let token = rotated_token();
    assert_eq!(v.verify(&token).unwrap_err().kind(), ErrorKind::UnknownKey);
    let verified: Verified = run(v.verify_async(&token)).unwrap();
    assert_eq!(verified.key_id(), Some("es256-2"));
    assert_eq!(shared.0.refreshes.load(Ordering::SeqCst), 1);
}

#[test]
fn still_unknown_after_refresh_is_unknown_key_without_a_loop() {
    let (shared, v) = setup(None);
    let err = run(v.verify_async::<serde_json::Value>(&rotated_token())).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownKey);
    assert_eq!(shared.0.refreshes.load(Ordering::SeqCst), 1);
}

#[test]
fn known_kid_or_other_errors_do_not_refresh() {
    let (shared, v) = setup(Some(other_fixture(Algorithm::ES256).key_set()));
    run(v.verify_async::<serde_json::Value>(&TokenBuilder::at(Algorithm::ES256, NOW).sign())).unwrap();
    // A bad signature under a known kid is not a reason to refetch keys.
    let forged = TokenBuilder::at(Algorithm::ES256, NOW).signed_by(other_fixture(Algorithm::ES256)).sign();
    let err = run(v.verify_async::<serde_json::Value>(&forged)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidSignature);
    // Nor is an expired token or a refused header.
    let expired = TokenBuilder::at(Algorithm::ES256, NOW).claim("exp", NOW - 3600).sign();
    assert_eq!(run(v.verify_async::<serde_json::Value>(&expired)).unwrap_err().kind(), ErrorKind::Expired);
    assert_eq!(shared.0.refreshes.load(Ordering::SeqCst), 0);
}

#[test]
fn key_id_is_the_verifying_keys_kid() {
    let v = Verifier::builder(fixture(Algorithm::HS256).key_set())
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .algorithms([Algorithm::HS256])
        .clock(FixedClock::new(NOW))
        .build()
        .unwrap();
    let with_kid = v.verify(&TokenBuilder::at(Algorithm::HS256, NOW).sign()).unwrap();
    assert_eq!(with_kid.key_id(), Some("hs256-1"));
    assert_eq!(with_kid.header().unwrap().kid(), Some("hs256-1"));
    // A token without kid, resolved to the only key of its algorithm.
    let without = v.verify(&TokenBuilder::at(Algorithm::HS256, NOW).without_header("kid").sign()).unwrap();
    assert_eq!(without.key_id(), Some("hs256-1"));
    assert_eq!(without.header().unwrap().kid(), None);
    assert_eq!(without.key_generation(), with_kid.key_generation());
    assert!(without.key_generation() > 0);
}
