//! Many issuers: keys bound to their issuer, a static map, and the dynamic mode (trusted
//! issuers loaded lazily, bounded in number, dropped when idle).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{Captured, TestKey, verifier};
use tokengate_core::{Algorithm, AuthError, ErrorKind, Key, KeyQuery, KeyResolver, KeySet};
use tokengate_jwks::{IssuerRegistry, IssuerUrl, Issuers, JwksCache, JwksCacheBuilder, JwksError};

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
    fn is_trusted(&self, issuer: &IssuerUrl<'_>) -> bool {
        let issuer = issuer.as_str();
        issuer.starts_with("https://tenant-") && issuer.ends_with(".example")
    }

    fn builder(&self, _issuer: &IssuerUrl<'_>) -> Result<JwksCacheBuilder, JwksError> {
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

    // Full, and both used in the current period: a third issuer (never loaded) is refused
    // for now, as an unavailable issuer (503, counted as a failure), not an unknown key.
    let c = "https://tenant-c.example";
    let err = v.verify_async::<serde_json::Value>(&k.token(c)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::IssuerUnavailable);
    assert_eq!(err.retry_after_secs(), Some(30), "the failure cooldown");
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

/// Trusts `https://tenant-*.example`; loading any of them fails.
struct Failing {
    built: Arc<AtomicUsize>,
}

impl IssuerRegistry for Failing {
    fn is_trusted(&self, issuer: &IssuerUrl<'_>) -> bool {
        let issuer = issuer.as_str();
        issuer.starts_with("https://tenant-") && issuer.ends_with(".example")
    }

    fn builder(&self, _issuer: &IssuerUrl<'_>) -> Result<JwksCacheBuilder, JwksError> {
        self.built.fetch_add(1, Ordering::SeqCst);
        Err(JwksError::Source("the identity provider is down".into()))
    }
}

fn tenant(i: usize) -> String {
    format!("https://tenant-{i}.example")
}

async fn kind_of(v: &tokengate_core::Verifier, token: &str) -> AuthError {
    v.verify_async::<serde_json::Value>(token).await.unwrap_err()
}

#[tokio::test]
async fn a_token_without_iss_is_an_invalid_issuer() {
    let k = TestKey::new("k");
    let a = JwksCache::builder(set(&k)).bind_issuer(A).build().await.unwrap();
    let built = Arc::new(AtomicUsize::new(0));
    let dynamic = Issuers::dynamic(Tenants { keys: set(&k), built: Arc::clone(&built) }).build().unwrap();
    for issuers in [Issuers::from_caches([a]).unwrap(), dynamic] {
        let query = KeyQuery { kid: Some("k"), alg: Algorithm::EdDSA, issuer: None };
        assert_eq!(issuers.resolve(&query).unwrap_err().kind(), ErrorKind::InvalidIssuer);
        assert!(issuers.refresh_unknown(&query).is_none());
        // A signed token without iss, through a verifier that would accept any issuer.
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
        header.kid = Some("k".into());
        let claims = serde_json::json!({"aud": common::AUDIENCE, "sub": "u", "exp": common::now() + 600});
        let token = k.sign(&header, &claims);
        let err = verifier(issuers).verify_async::<serde_json::Value>(&token).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidIssuer);
    }
    assert_eq!(built.load(Ordering::SeqCst), 0);
}

#[tokio::test(start_paused = true)]
async fn an_issuer_that_failed_to_load_is_unavailable_during_the_cooldown() {
    let k = TestKey::new("k");
    let built = Arc::new(AtomicUsize::new(0));
    let issuers = Issuers::dynamic(Failing { built: Arc::clone(&built) })
        .failure_cooldown(Duration::from_secs(30))
        .build()
        .unwrap();
    let v = verifier(issuers.clone());

    // Never loaded: an unavailable issuer (503, counted by the failure rate limiter).
    let err = kind_of(&v, &k.token(A)).await;
    assert_eq!(err.kind(), ErrorKind::IssuerUnavailable);
    assert_eq!(err.retry_after_secs(), Some(30));
    assert_eq!(built.load(Ordering::SeqCst), 1);

    // Within the cooldown: refused at once, sync or async, without another attempt.
    tokio::time::advance(Duration::from_secs(10)).await;
    let err = v.verify(&k.token(A)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::IssuerUnavailable);
    assert_eq!(err.retry_after_secs(), Some(20));
    assert_eq!(kind_of(&v, &k.token(A)).await.kind(), ErrorKind::IssuerUnavailable);
    assert_eq!(built.load(Ordering::SeqCst), 1);

    // After it, one more attempt.
    tokio::time::advance(Duration::from_secs(21)).await;
    assert_eq!(kind_of(&v, &k.token(A)).await.kind(), ErrorKind::IssuerUnavailable);
    assert_eq!(built.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn a_full_failure_list_evicts_its_oldest_entry() {
    let k = TestKey::new("k");
    let built = Arc::new(AtomicUsize::new(0));
    let issuers = Issuers::dynamic(Failing { built: Arc::clone(&built) }).max_issuers(2).build().unwrap();
    let v = verifier(issuers);
    for i in 1..=3 {
        assert_eq!(kind_of(&v, &k.token(&tenant(i))).await.kind(), ErrorKind::IssuerUnavailable);
        tokio::time::advance(Duration::from_secs(1)).await;
    }
    assert_eq!(built.load(Ordering::SeqCst), 3);
    // The newest failures (2 and 3) are remembered: no new attempt.
    for i in [3, 2] {
        assert_eq!(kind_of(&v, &k.token(&tenant(i))).await.kind(), ErrorKind::IssuerUnavailable);
    }
    assert_eq!(built.load(Ordering::SeqCst), 3, "the cooldown still holds for the latest failures");
    // The oldest (1) made room: it is tried again.
    assert_eq!(kind_of(&v, &k.token(&tenant(1))).await.kind(), ErrorKind::IssuerUnavailable);
    assert_eq!(built.load(Ordering::SeqCst), 4);
}

#[tokio::test(start_paused = true)]
async fn new_issuer_loads_are_rate_limited() {
    let k = TestKey::new("k");
    let built = Arc::new(AtomicUsize::new(0));
    let issuers = Issuers::dynamic(Tenants { keys: set(&k), built: Arc::clone(&built) })
        .new_issuer_rate(2, Duration::from_secs(10))
        .build()
        .unwrap();
    let v = verifier(issuers.clone());
    v.verify_async::<serde_json::Value>(&k.token(&tenant(1))).await.unwrap();
    v.verify_async::<serde_json::Value>(&k.token(&tenant(2))).await.unwrap();

    // The burst is spent: a third issuer waits for the refill (one load per 5 s)...
    let err = kind_of(&v, &k.token(&tenant(3))).await;
    assert_eq!((err.kind(), err.retry_after_secs()), (ErrorKind::IssuerUnavailable, Some(5)));
    assert_eq!(v.verify(&k.token(&tenant(3))).unwrap_err().kind(), ErrorKind::IssuerUnavailable);
    // ...while the loaded issuers are not affected.
    v.verify(&k.token(&tenant(1))).unwrap();
    assert_eq!(built.load(Ordering::SeqCst), 2);

    tokio::time::advance(Duration::from_secs(5)).await;
    v.verify_async::<serde_json::Value>(&k.token(&tenant(3))).await.unwrap();
    assert_eq!(kind_of(&v, &k.token(&tenant(4))).await.kind(), ErrorKind::IssuerUnavailable);
    assert_eq!(built.load(Ordering::SeqCst), 3);
}

/// Trusts `https://tenant-*.example`; every load hangs until the test releases it.
struct Hanging {
    started: Arc<AtomicUsize>,
    release: tokio::sync::watch::Receiver<bool>,
}

struct HangingSource {
    keys: KeySet,
    release: tokio::sync::watch::Receiver<bool>,
}

impl tokengate_jwks::KeySource for HangingSource {
    fn fetch(&self) -> tokengate_jwks::FetchFuture<'_> {
        let mut release = self.release.clone();
        let keys = self.keys.clone();
        Box::pin(async move {
            let _ = release.wait_for(|go| *go).await;
            Ok(tokengate_jwks::Fetched::new(keys))
        })
    }
}

impl IssuerRegistry for Hanging {
    fn is_trusted(&self, issuer: &IssuerUrl<'_>) -> bool {
        let issuer = issuer.as_str();
        issuer.starts_with("https://tenant-") && issuer.ends_with(".example")
    }

    fn builder(&self, _issuer: &IssuerUrl<'_>) -> Result<JwksCacheBuilder, JwksError> {
        self.started.fetch_add(1, Ordering::SeqCst);
        let keys = KeySet::new([Key::hmac(Algorithm::HS256, &[3; 32]).unwrap().with_kid("h")]).unwrap();
        Ok(JwksCache::builder(HangingSource { keys, release: self.release.clone() }))
    }
}

#[tokio::test(start_paused = true)]
async fn concurrent_issuer_loads_are_capped() {
    let k = TestKey::new("k");
    let started = Arc::new(AtomicUsize::new(0));
    let (release, rx) = tokio::sync::watch::channel(false);
    let issuers = Issuers::dynamic(Hanging { started: Arc::clone(&started), release: rx })
        .max_pending_loads(3)
        .new_issuer_rate(1000, Duration::from_secs(1))
        .build()
        .unwrap();
    let v = verifier(issuers.clone());
    let mut waiting = Vec::new();
    for i in 0..3 {
        let (v, token) = (v.clone(), k.token(&tenant(i)));
        waiting.push(tokio::spawn(async move { v.verify_async::<serde_json::Value>(&token).await.map(|_| ()) }));
    }
    for _ in 0..100 {
        tokio::task::yield_now().await;
    }
    assert_eq!(started.load(Ordering::SeqCst), 3);
    // A fourth issuer is refused while three are loading; one of them can be joined.
    for i in 3..20 {
        let err = kind_of(&v, &k.token(&tenant(i))).await;
        assert_eq!((err.kind(), err.retry_after_secs()), (ErrorKind::IssuerUnavailable, Some(1)));
    }
    let query = KeyQuery { kid: Some("k"), alg: Algorithm::EdDSA, issuer: Some(&tenant(0)) };
    assert_eq!(issuers.resolve(&query).unwrap_err().kind(), ErrorKind::UnknownKey, "being loaded");
    assert_eq!(started.load(Ordering::SeqCst), 3);

    release.send_replace(true);
    for w in waiting {
        // Loaded; the token's key is not among the issuer's keys.
        assert_eq!(w.await.unwrap().unwrap_err().kind(), ErrorKind::UnknownKey);
    }
    assert_eq!(issuers.loaded().len(), 3);
    assert_eq!(kind_of(&v, &k.token(&tenant(3))).await.kind(), ErrorKind::UnknownKey);
    assert_eq!(started.load(Ordering::SeqCst), 4);
}

#[test]
fn a_load_dropped_with_its_runtime_frees_its_slot() {
    let k = TestKey::new("k");
    let started = Arc::new(AtomicUsize::new(0));
    let (release, rx) = tokio::sync::watch::channel(false);
    let issuers =
        Issuers::dynamic(Hanging { started: Arc::clone(&started), release: rx }).max_pending_loads(1).build().unwrap();
    let query = |issuer| KeyQuery { kid: Some("h"), alg: Algorithm::HS256, issuer: Some(issuer) };
    let first = tenant(1);
    let other = tenant(2);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let _load = issuers.refresh_unknown(&query(&first)).unwrap();
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        assert_eq!(started.load(Ordering::SeqCst), 1);
        let err = issuers.resolve(&query(&other)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::IssuerUnavailable, "the only slot is taken");
    });
    // The load is dropped with its runtime: the slot is free again, the issuer cools down.
    drop(runtime);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        assert_eq!(issuers.resolve(&query(&first)).unwrap_err().kind(), ErrorKind::IssuerUnavailable);
        release.send_replace(true);
        let v = verifier(issuers.clone());
        assert_eq!(kind_of(&v, &k.token(&other)).await.kind(), ErrorKind::UnknownKey, "loaded; kid unknown");
        assert_eq!(issuers.loaded(), vec![other.clone()]);
    });
}

#[test]
fn a_load_dropped_before_its_first_poll_frees_its_slot() {
    let k = TestKey::new("k");
    let started = Arc::new(AtomicUsize::new(0));
    let (_release, rx) = tokio::sync::watch::channel(true);
    let issuers =
        Issuers::dynamic(Hanging { started: Arc::clone(&started), release: rx }).max_pending_loads(1).build().unwrap();
    let query = |issuer| KeyQuery { kid: Some("h"), alg: Algorithm::HS256, issuer: Some(issuer) };
    let first = tenant(1);
    let other = tenant(2);
    // A runtime shutting down: `spawn` drops the load's future without polling it.
    let gone = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let handle = gone.handle().clone();
    drop(gone);
    let load = {
        let _entered = handle.enter();
        issuers.refresh_unknown(&query(&first)).expect("a load is started")
    };
    assert_eq!(started.load(Ordering::SeqCst), 0, "never polled");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        // Its waiters are woken; the slot is free again and the issuer cools down.
        load.await;
        let err = issuers.resolve(&query(&first)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::IssuerUnavailable, "cooling down: {err:?}");
        assert_eq!(issuers.resolve(&query(&other)).unwrap_err().kind(), ErrorKind::UnknownKey, "a slot is free");
        let v = verifier(issuers.clone());
        assert_eq!(kind_of(&v, &k.token(&other)).await.kind(), ErrorKind::UnknownKey, "loaded; kid unknown");
        assert_eq!(issuers.loaded(), vec![other.clone()]);
    });
}

#[test]
fn a_sweep_dropped_with_its_runtime_is_started_again_by_the_next_load() {
    let k = TestKey::new("k");
    let built = Arc::new(AtomicUsize::new(0));
    let issuers = Issuers::dynamic(Tenants { keys: set(&k), built: Arc::clone(&built) })
        .idle_timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let v = verifier(issuers.clone());
    let paused = || tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().unwrap();
    // The first load starts the sweep of idle issuers; it ends with its runtime.
    let first = paused();
    first.block_on(async { v.verify_async::<serde_json::Value>(&k.token(A)).await.unwrap() });
    drop(first);
    let second = paused();
    second.block_on(async {
        v.verify_async::<serde_json::Value>(&k.token(B)).await.unwrap();
        assert_eq!(issuers.loaded().len(), 2);
        tokio::time::sleep(Duration::from_secs(120)).await;
        assert!(issuers.loaded().is_empty(), "idle issuers are dropped: {:?}", issuers.loaded());
    });
    assert_eq!(built.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn unverified_issuers_cannot_forge_log_lines() {
    /// A marker no real log line starts with (unlike a date, which the real timestamp
    /// of a line can hit).
    const FORGED: &str = "FORGED-LINE";
    /// Tokens naming a forged-line issuer (refused: not canonical) and a very long one
    /// (trusted; its load fails).
    async fn attempts() {
        let k = TestKey::new("k");
        let built = Arc::new(AtomicUsize::new(0));
        let issuers = Issuers::dynamic(Failing { built: Arc::clone(&built) }).build().unwrap();
        let v = verifier(issuers);
        let forged = format!("https://tenant-x\n{FORGED} INFO admin logged in.example");
        assert_eq!(kind_of(&v, &k.token(&forged)).await.kind(), ErrorKind::InvalidIssuer);
        let long = format!("https://tenant-{}.example", "z".repeat(2_000));
        assert_eq!(kind_of(&v, &k.token(&long)).await.kind(), ErrorKind::IssuerUnavailable);
        assert_eq!(built.load(Ordering::SeqCst), 1);
    }
    // Once without a subscriber: registers the log call sites from this thread first (one
    // that another test thread registers while the subscriber is installed can miss it).
    attempts().await;
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    tracing::callsite::rebuild_interest_cache();
    attempts().await;

    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(log.contains("issuer refused: not a canonical URL"), "{log}");
    assert!(log.contains("cannot load the issuer's keys"), "{log}");
    assert!(log.lines().all(|line| !line.starts_with(FORGED)), "a forged line: {log}");
    assert!(log.contains(&format!("tenant-x\\n{FORGED}")), "escaped: {log}");
    assert!(!log.contains(&"z".repeat(200)), "the issuer is shortened in the log");
}

/// Trusts `https://tenant-*.example`; loads fail while `down` is set.
struct Flaky {
    keys: KeySet,
    down: Arc<std::sync::atomic::AtomicBool>,
    built: Arc<AtomicUsize>,
}

impl IssuerRegistry for Flaky {
    fn is_trusted(&self, issuer: &IssuerUrl<'_>) -> bool {
        issuer.as_str().starts_with("https://tenant-") && issuer.as_str().ends_with(".example")
    }

    fn builder(&self, _issuer: &IssuerUrl<'_>) -> Result<JwksCacheBuilder, JwksError> {
        self.built.fetch_add(1, Ordering::SeqCst);
        if self.down.load(Ordering::SeqCst) {
            return Err(JwksError::Source("the identity provider is down".into()));
        }
        Ok(JwksCache::builder(self.keys.clone()))
    }
}

#[tokio::test(start_paused = true)]
async fn a_denied_kid_stays_denied_when_the_issuer_is_loaded_again() {
    let k = TestKey::new("k");
    let other = TestKey::new("other");
    let keys = KeySet::new([
        Key::from_jwk_json(&k.jwk().to_string()).unwrap(),
        Key::from_jwk_json(&other.jwk().to_string()).unwrap(),
    ])
    .unwrap();
    let built = Arc::new(AtomicUsize::new(0));
    let issuers = Issuers::dynamic(Tenants { keys, built: Arc::clone(&built) })
        .idle_timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let v = verifier(issuers.clone());
    v.verify_async::<serde_json::Value>(&k.token(A)).await.unwrap();

    // The operator denies the leaked kid: refused at once.
    assert!(issuers.deny_kid(A, "k"), "it was being served");
    assert_eq!(kind_of(&v, &k.token(A)).await.kind(), ErrorKind::UnknownKey);
    // A denial may also come before the issuer is ever loaded.
    assert!(!issuers.deny_kid(B, "k"), "B is not loaded");

    // The idle sweep drops A; the next token loads it again, from the same source.
    tokio::time::sleep(Duration::from_secs(120)).await;
    assert!(issuers.loaded().is_empty());
    assert_eq!(kind_of(&v, &k.token(A)).await.kind(), ErrorKind::UnknownKey, "still denied after the reload");
    assert_eq!(built.load(Ordering::SeqCst), 2, "A was loaded again");
    v.verify(&other.token(A)).unwrap();
    assert!(issuers.get(A).unwrap().keys().get("k").is_none());
    // B, loaded for the first time, never serves the kid denied in advance.
    assert_eq!(kind_of(&v, &k.token(B)).await.kind(), ErrorKind::UnknownKey);
    v.verify(&other.token(B)).unwrap();

    // Allowed again: served from the next key set.
    assert!(issuers.allow_kid(A, "k"));
    assert!(!issuers.allow_kid(A, "k"), "no longer denied");
    issuers.get(A).unwrap().refresh_now().await.unwrap();
    v.verify(&k.token(A)).unwrap();
    assert_eq!(kind_of(&v, &k.token(B)).await.kind(), ErrorKind::UnknownKey, "B's denial is its own");
}

#[tokio::test(start_paused = true)]
async fn a_denial_given_while_the_issuer_loads_is_applied() {
    let started = Arc::new(AtomicUsize::new(0));
    let (release, rx) = tokio::sync::watch::channel(false);
    let issuers = Issuers::dynamic(Hanging { started: Arc::clone(&started), release: rx }).build().unwrap();
    let query = KeyQuery { kid: Some("h"), alg: Algorithm::HS256, issuer: Some(A) };
    let load = issuers.refresh_unknown(&query).unwrap();
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert_eq!(started.load(Ordering::SeqCst), 1, "being built");
    assert!(!issuers.deny_kid(A, "h"));
    release.send_replace(true);
    load.await;
    assert_eq!(issuers.loaded(), vec![A.to_owned()]);
    assert_eq!(issuers.resolve(&query).unwrap_err().kind(), ErrorKind::UnknownKey, "denied");
}

#[tokio::test(start_paused = true)]
async fn known_issuers_load_again_outside_the_new_issuer_budget() {
    let k = TestKey::new("k");
    let built = Arc::new(AtomicUsize::new(0));
    let down = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let issuers = Issuers::dynamic(Flaky { keys: set(&k), down: Arc::clone(&down), built: Arc::clone(&built) })
        .new_issuer_rate(2, Duration::from_secs(3600))
        .max_pending_loads(2)
        .idle_timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let v = verifier(issuers.clone());
    // A legitimate tenant loads, and is dropped when idle.
    v.verify_async::<serde_json::Value>(&k.token(A)).await.unwrap();
    tokio::time::sleep(Duration::from_secs(120)).await;
    assert!(issuers.loaded().is_empty());

    // A flood of random trusted-pattern issuers spends the budget of new issuers...
    let mut kinds = Vec::new();
    for i in 0..50 {
        let token = k.token_with_kid(&format!("https://tenant-flood-{i}.example"), "random");
        kinds.push(kind_of(&v, &token).await.kind());
    }
    assert_eq!(kinds.iter().filter(|kind| **kind == ErrorKind::UnknownKey).count(), 1, "one loaded: {kinds:?}");
    assert_eq!(kinds.iter().filter(|kind| **kind == ErrorKind::IssuerUnavailable).count(), 49, "{kinds:?}");
    // ...and a tenant never seen before waits for the budget, as an unavailable issuer...
    let err = kind_of(&v, &k.token(B)).await;
    assert_eq!(err.kind(), ErrorKind::IssuerUnavailable);
    assert!(err.retry_after_secs().is_some_and(|s| s > 1000), "{err:?}");
    // ...but the tenant that loaded before loads again at once.
    v.verify_async::<serde_json::Value>(&k.token(A)).await.unwrap();
    assert_eq!(built.load(Ordering::SeqCst), 3, "A twice and one flood issuer; B was not tried");

    // Dropped again while its provider is down: a known issuer is KeysUnavailable (its
    // provider is down), a never-loaded one IssuerUnavailable.
    tokio::time::sleep(Duration::from_secs(120)).await;
    down.store(true, Ordering::SeqCst);
    let err = kind_of(&v, &k.token(A)).await;
    assert_eq!((err.kind(), err.retry_after_secs()), (ErrorKind::KeysUnavailable, Some(30)));
    assert_eq!(v.verify(&k.token(A)).unwrap_err().kind(), ErrorKind::KeysUnavailable, "cooling down");
    assert_eq!(kind_of(&v, &k.token(B)).await.kind(), ErrorKind::IssuerUnavailable);
}

/// Records every issuer it is asked about; trusts `https://login.example/tenants/*`.
#[derive(Default, Clone)]
struct Recording {
    asked: Arc<std::sync::Mutex<Vec<String>>>,
}

impl IssuerRegistry for Recording {
    fn is_trusted(&self, issuer: &IssuerUrl<'_>) -> bool {
        self.asked.lock().unwrap().push(issuer.as_str().to_owned());
        issuer.as_str().starts_with("https://login.example/tenants/")
    }

    fn builder(&self, _issuer: &IssuerUrl<'_>) -> Result<JwksCacheBuilder, JwksError> {
        Err(JwksError::Source("not in this test".into()))
    }
}

#[tokio::test]
async fn non_canonical_issuers_are_refused_before_the_registry_sees_them() {
    let k = TestKey::new("k");
    let registry = Recording::default();
    let issuers = Issuers::dynamic(registry.clone()).build().unwrap();
    let v = verifier(issuers.clone());
    for iss in [
        "https://login.example/tenants/../admin",
        "https://login.example/tenants/%2e%2e/admin",
        "https://login.example/tenants/%2E%2e/admin",
        "https://login.example/tenants/.%2E/admin",
        "https://login.example/tenants/./x",
        "https://login.example/tenants/x%2f..%2fadmin",
        "https://login.example/tenants/x\\..\\admin",
        "https://attacker@login.example/tenants/x",
        "https://login.example/tenants/x?next=/admin",
        "https://login.example/tenants/x#admin",
        "https://login.example/tenants//x",
        "https://LOGIN.example/tenants/x",
        "https://login.example:443/tenants/x",
    ] {
        let query = KeyQuery { kid: Some("k"), alg: Algorithm::EdDSA, issuer: Some(iss) };
        let err = issuers.resolve(&query).unwrap_err();
        assert_eq!(
            (err.kind(), err.detail()),
            (ErrorKind::InvalidIssuer, Some("issuer is not a canonical URL")),
            "{iss}"
        );
        assert!(issuers.refresh_unknown(&query).is_none(), "{iss}");
        assert_eq!(kind_of(&v, &k.token(iss)).await.kind(), ErrorKind::InvalidIssuer, "{iss}");
    }
    assert!(registry.asked.lock().unwrap().is_empty(), "{:?}", registry.asked.lock().unwrap());
    // A canonical issuer reaches the registry, unchanged.
    let good = "https://login.example/tenants/x";
    assert_eq!(kind_of(&v, &k.token(good)).await.kind(), ErrorKind::IssuerUnavailable, "trusted; its load fails");
    assert_eq!(registry.asked.lock().unwrap().first().map(String::as_str), Some(good));
}
