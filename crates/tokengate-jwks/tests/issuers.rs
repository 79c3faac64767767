//! Many issuers: keys bound to their issuer, a static map, and the dynamic mode (trusted
//! issuers loaded lazily, bounded in number, dropped when idle).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{TestKey, verifier};
use tokengate_core::{ErrorKind, Key, KeySet};
use tokengate_jwks::{IssuerRegistry, Issuers, JwksCache, JwksCacheBuilder, JwksError};

const A: &str = "https://tenant-a.example";
const B: &str = "https://tenant-b.example";

fn set(key: &TestKey) -> KeySet {
    KeySet::new([Key::from_jwk_json(&key.jwk().to_string()).unwrap()]).unwrap()
}

#[tokio::test]
async fn colliding_kids_never_cross_issuers() {
    // Both tenants use the kid "main", with different keys.
    let ka = TestKey::new("main");
    let kb = TestKey::new("main");
    let a = JwksCache::builder(set(&ka)).bind_issuer(A).build().await.unwrap();
    let b = JwksCache::builder(set(&kb)).bind_issuer(B).build().await.unwrap();
    let issuers = Issuers::from_caches([a, b]).unwrap();
    let v = verifier(issuers.clone());

    v.verify(&ka.token(A)).unwrap();
    v.verify(&kb.token(B)).unwrap();
    // Tenant A's key signing a token that claims tenant B: B's key is picked, and fails.
    assert_eq!(v.verify(&ka.token(B)).unwrap_err().kind(), ErrorKind::InvalidSignature);
    assert_eq!(v.verify(&kb.token(A)).unwrap_err().kind(), ErrorKind::InvalidSignature);
    // Unknown and missing issuers.
    assert_eq!(v.verify(&ka.token("https://tenant-c.example")).unwrap_err().kind(), ErrorKind::InvalidIssuer);
    assert_eq!(issuers.loaded().len(), 2);
    assert!(issuers.get(A).is_some());
}

#[tokio::test]
async fn a_key_bound_to_another_issuer_is_skipped_not_rebound() {
    // A misconfigured map: B's cache serves A's key, bound to A. The binding still holds.
    let ka = TestKey::new("main");
    let a_key = Key::from_jwk_json(&ka.jwk().to_string()).unwrap().bind_issuer(A);
    let kb = TestKey::new("other");
    let b_key = Key::from_jwk_json(&kb.jwk().to_string()).unwrap();
    let b = JwksCache::builder(KeySet::new([a_key, b_key]).unwrap()).bind_issuer(B).build().await.unwrap();
    // The cache binds to B only unbound keys; a key bound to A is skipped, not rebound.
    assert!(b.keys().get("main").is_none());
    let v = verifier(Issuers::from_caches([b]).unwrap());
    assert_eq!(v.verify(&ka.token(B)).unwrap_err().kind(), ErrorKind::UnknownKey);
    v.verify(&kb.token(B)).unwrap();
}

#[tokio::test]
async fn static_map_needs_bound_caches() {
    let k = TestKey::new("k");
    let unbound = JwksCache::builder(set(&k)).build().await.unwrap();
    assert!(matches!(Issuers::from_caches([unbound]).unwrap_err(), JwksError::Config(_)));
    let a1 = JwksCache::builder(set(&k)).bind_issuer(A).build().await.unwrap();
    let a2 = JwksCache::builder(set(&k)).bind_issuer(A).build().await.unwrap();
    assert!(matches!(Issuers::from_caches([a1, a2]).unwrap_err(), JwksError::Config(_)));
}

/// Trusts `https://tenant-*.example`; every tenant's keys are `keys`.
struct Tenants {
    keys: KeySet,
    built: Arc<AtomicUsize>,
}

impl IssuerRegistry for Tenants {
    fn is_trusted(&self, issuer: &str) -> bool {
        issuer.starts_with("https://tenant-") && issuer.ends_with(".example")
    }

    fn builder(&self, _issuer: &str) -> Result<JwksCacheBuilder, JwksError> {
        self.built.fetch_add(1, Ordering::SeqCst);
        Ok(JwksCache::builder(self.keys.clone()))
    }
}

#[tokio::test(start_paused = true)]
async fn dynamic_issuers_load_lazily_are_bounded_and_dropped_when_idle() {
    let k = TestKey::new("k");
    let built = Arc::new(AtomicUsize::new(0));
    let issuers = Issuers::dynamic(Tenants { keys: set(&k), built: Arc::clone(&built) })
        .max_issuers(2)
        .idle_timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let v = verifier(issuers.clone());

    // Untrusted issuers are refused without loading anything.
    let err = v.verify_async::<serde_json::Value>(&k.token("https://evil.example")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidIssuer);
    assert_eq!(built.load(Ordering::SeqCst), 0);

    // A trusted issuer is loaded on its first token; the sync path alone cannot load it.
    assert_eq!(v.verify(&k.token(A)).unwrap_err().kind(), ErrorKind::UnknownKey);
    v.verify_async::<serde_json::Value>(&k.token(A)).await.unwrap();
    v.verify(&k.token(A)).unwrap();
    assert_eq!(built.load(Ordering::SeqCst), 1);
    // Its keys are bound to it: the same key cannot verify a token claiming B through A.
    assert!(issuers.get(A).unwrap().keys().keys().all(|key| key.issuer() == Some(A)));

    v.verify_async::<serde_json::Value>(&k.token(B)).await.unwrap();
    assert_eq!(issuers.loaded().len(), 2);

    // Full, and both used in the current period: a third issuer is refused for now.
    let c = "https://tenant-c.example";
    assert!(v.verify_async::<serde_json::Value>(&k.token(c)).await.is_err());
    assert_eq!(issuers.loaded().len(), 2);

    // After a quiet while, the least recently used one makes room.
    tokio::time::sleep(Duration::from_secs(20)).await;
    v.verify(&k.token(A)).unwrap();
    tokio::time::sleep(Duration::from_secs(31)).await; // past the failure cooldown
    v.verify_async::<serde_json::Value>(&k.token(c)).await.unwrap();
    let mut loaded = issuers.loaded();
    loaded.sort();
    assert_eq!(loaded, vec![A.to_owned(), c.to_owned()]);

    // Idle issuers are dropped.
    tokio::time::sleep(Duration::from_secs(120)).await;
    assert!(issuers.loaded().is_empty(), "{:?}", issuers.loaded());
}

#[tokio::test]
async fn concurrent_first_tokens_load_an_issuer_once() {
    let k = TestKey::new("k");
    let built = Arc::new(AtomicUsize::new(0));
    let issuers = Issuers::dynamic(Tenants { keys: set(&k), built: Arc::clone(&built) }).build().unwrap();
    let v = verifier(issuers);
    let token = k.token(A);
    let results = futures_join_all((0..50).map(|_| {
        let (v, token) = (v.clone(), token.clone());
        async move { v.verify_async::<serde_json::Value>(&token).await.is_ok() }
    }))
    .await;
    assert!(results.into_iter().all(|ok| ok));
    assert_eq!(built.load(Ordering::SeqCst), 1);
}

async fn futures_join_all<F: std::future::Future + Send + 'static>(futs: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futs.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}
