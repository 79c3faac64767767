//! Key rotation with pre-publication and the compromised-key response, verified through
//! a real `JwksCache` fetching a loopback HTTP `JwksEndpoint`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::collections::HashSet;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tokengate_core::{
    Algorithm, AuthError, Clock, ErrorKind, FixedClock, RevocationCheck, SystemClock, Verified, Verifier,
};
use tokengate_issuer::{
    DiscoveryEndpoint, IssuerError, JwksEndpoint, KeyRing, KeySchedule, KidRevocationSink, LocalSigner, RevokeFuture,
    Signer, SignerSet, TokenMinter,
};
use tokengate_issuer::{MemoryRefreshStore, RefreshError, RefreshGrant, RefreshTokens};
use tokengate_jwks::{HttpClient, JwksCache, UrlSource};
use tower::ServiceExt;

const ISS: &str = "https://issuer.example";
const AUD: &str = "orders-api";
const CACHE: u64 = 300;
const TTL: u64 = 600;

fn key(kid: &str) -> LocalSigner {
    LocalSigner::generate(Algorithm::ES256).unwrap().with_kid(kid)
}

fn ring(clock: &FixedClock) -> KeyRing {
    KeyRing::builder(key("k1"))
        .clock(clock.clone())
        .jwks_cache_lifetime(Duration::from_secs(CACHE))
        .max_token_lifetime(Duration::from_secs(TTL))
        .build()
        .unwrap()
}

fn minter(ring: &KeyRing) -> TokenMinter {
    TokenMinter::builder(SignerSet::scheduled(ring.clone()), ISS)
        .audience(AUD)
        .ttl(Duration::from_secs(TTL))
        .build()
        .unwrap()
}

fn kid_of(token: &str) -> String {
    let header = token.split('.').next().unwrap();
    let header: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

/// Serves the JWKS of `ring` on a loopback port; returns its URL.
async fn serve_jwks(ring: &KeyRing) -> String {
    let app = JwksEndpoint::new(SignerSet::scheduled(ring.clone())).max_age(Duration::from_secs(CACHE)).router();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/.well-known/jwks.json")
}

async fn cache(url: &str) -> JwksCache {
    let source = UrlSource::new(url, HttpClient::new().unwrap()).unwrap();
    JwksCache::builder(source).bind_issuer(ISS).build().await.unwrap()
}

fn verifier(cache: &JwksCache, clock: &FixedClock) -> Verifier {
    Verifier::builder(cache.clone())
        .issuer(ISS)
        .audience(AUD)
        .algorithms([Algorithm::ES256])
        .clock(clock.clone())
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_signed_before_a_rotation_still_verifies_through_a_real_jwks_cache() {
    let t0 = SystemClock.now();
    let clock = FixedClock::new(t0);
    let ring = ring(&clock);
    let minter = minter(&ring);
    let cache = cache(&serve_jwks(&ring).await).await;
    let verifier = verifier(&cache, &clock);

    let before = minter.token().subject("alice").sign().await.unwrap();
    assert_eq!(kid_of(&before), "k1");
    verifier.verify(&before).unwrap();

    let schedule = ring.rotate(key("k2")).unwrap();
    assert_eq!(schedule, KeySchedule { published_at: t0, active_from: t0 + 300, retire_after: i64::MAX });
    assert_eq!(ring.schedule_of("k1").unwrap().retire_after, t0 + 300 + 600);
    cache.refresh_now().await.unwrap();
    assert!(cache.keys().get("k2").is_some(), "k2 is published before it signs");

    clock.set(schedule.active_from);
    let after = minter.token().subject("alice").sign().await.unwrap();
    assert_eq!(kid_of(&after), "k2");
    assert_eq!(verifier.verify(&after).unwrap().subject(), Some("alice"));
    assert_eq!(verifier.verify(&before).unwrap().subject(), Some("alice"), "the old key is still published");

    // The last k1 token expires at t0 + 299 + 600; k1 stays published until t0 + 900.
    clock.set(t0 + 900);
    cache.refresh_now().await.unwrap();
    assert!(cache.keys().get("k1").is_some());
    clock.set(t0 + 901);
    cache.refresh_now().await.unwrap();
    assert!(cache.keys().get("k1").is_none(), "k1 is retired once every token it signed has expired");
    assert_eq!(ring.published_kids(), ["k2"]);
}

#[tokio::test]
async fn a_new_key_never_signs_before_its_publication_and_activation() {
    let t0 = 1_000_000;
    let clock = FixedClock::new(t0);
    let ring = ring(&clock);
    let minter = minter(&ring);

    // Explicit schedule: published at t0 + 100, signing from t0 + 400.
    let schedule = KeySchedule { published_at: t0 + 100, active_from: t0 + 400, retire_after: i64::MAX };
    ring.schedule(key("k2"), schedule).unwrap();
    for t in [t0, t0 + 99] {
        clock.set(t);
        assert_eq!(ring.published_kids(), ["k1"], "at {t}");
        assert_eq!(kid_of(&minter.token().sign().await.unwrap()), "k1");
    }
    for t in [t0 + 100, t0 + 250, t0 + 399] {
        clock.set(t);
        assert_eq!(ring.published_kids(), ["k1", "k2"], "at {t}");
        assert_eq!(kid_of(&minter.token().sign().await.unwrap()), "k1", "at {t}");
    }
    clock.set(t0 + 400);
    assert_eq!(kid_of(&minter.token().sign().await.unwrap()), "k2");
}

#[test]
fn a_schedule_that_breaks_the_rules_is_refused() {
    let t0 = 1_000_000;
    let clock = FixedClock::new(t0);
    let ring = ring(&clock);
    let early = KeySchedule { published_at: t0, active_from: t0 + 299, retire_after: i64::MAX };
    let err = ring.schedule(key("k2"), early).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid issuer configuration: key \"k2\" would sign at 1000299 before one JWKS-cache lifetime (300 s) after its publication at 1000000"
    );
    let past = KeySchedule { published_at: t0 - 1, active_from: t0 + 400, retire_after: i64::MAX };
    let err = ring.schedule(key("k2"), past).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid issuer configuration: key \"k2\" would be published in the past (999999 < now 1000000)"
    );
    let short = KeySchedule { published_at: t0, active_from: t0 + 300, retire_after: t0 + 899 };
    let err = ring.schedule(key("k2"), short).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid issuer configuration: key \"k2\" would retire at 1000899 before one token lifetime (600 s) after it starts signing at 1000300"
    );
    let err = ring.schedule(key("k1"), KeySchedule::open_ended(t0, t0 + 300)).unwrap_err();
    assert_eq!(err.to_string(), "invalid issuer configuration: duplicate kid \"k1\"");

    ring.rotate(key("k2")).unwrap();
    let err = ring.rotate(key("k3")).unwrap_err();
    assert_eq!(err.to_string(), "invalid issuer configuration: a rotation is pending: \"k2\" signs from 1000300");
    assert_eq!(ring.published_kids(), ["k1", "k2"], "refusals change nothing");
}

#[tokio::test]
async fn a_token_that_would_outlive_its_key_is_refused() {
    let t0 = 1_000_000;
    let clock = FixedClock::new(t0);
    let ring = ring(&clock);
    let minter = minter(&ring);
    ring.rotate(key("k2")).unwrap(); // k1 retires at t0 + 900
    clock.set(t0 + 100);
    let err = minter.token().ttl(Duration::from_secs(801)).sign().await.unwrap_err();
    assert!(matches!(err, IssuerError::InvalidRequest(_)));
    assert_eq!(
        err.to_string(),
        "invalid token request: the token would expire at 1000901, after its key \"k1\" retires at 1000900"
    );
    assert_eq!(kid_of(&minter.token().ttl(Duration::from_secs(800)).sign().await.unwrap()), "k1");
}

async fn cache_control(app: axum::Router, path: &str) -> String {
    let response = app.oneshot(Request::get(path).body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(response.status(), 200);
    response.headers()["cache-control"].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn jwks_and_discovery_cache_control_follow_the_schedule() {
    let t0 = 1_000_000;
    let clock = FixedClock::new(t0);
    let ring = ring(&clock);
    let signers = SignerSet::scheduled(ring.clone());
    let app = axum::Router::new()
        .merge(JwksEndpoint::new(signers.clone()).max_age(Duration::from_secs(CACHE)).router())
        .route(
            "/.well-known/openid-configuration",
            DiscoveryEndpoint::new(serde_json::json!({"issuer": ISS}), signers)
                .max_age(Duration::from_secs(CACHE))
                .into_route(),
        );
    let both = || async {
        (
            cache_control(app.clone(), "/.well-known/jwks.json").await,
            cache_control(app.clone(), "/.well-known/openid-configuration").await,
        )
    };
    assert_eq!(both().await, ("public, max-age=300".to_owned(), "public, max-age=300".to_owned()));
    // A key scheduled for publication at t0 + 120: nobody may cache past that.
    ring.schedule(key("k2"), KeySchedule::open_ended(t0 + 120, t0 + 420)).unwrap();
    assert_eq!(both().await, ("public, max-age=120".to_owned(), "public, max-age=120".to_owned()));
    clock.set(t0 + 120);
    assert_eq!(both().await.0, "public, max-age=300");
}

/// A stand-in for a revocation store: the issuer writes kids, verifiers read them.
#[derive(Clone, Default)]
struct KidStore(Arc<RwLock<HashSet<String>>>);

impl KidRevocationSink for KidStore {
    fn revoke_kid<'a>(&'a self, kid: &'a str, _until: i64) -> RevokeFuture<'a> {
        self.0.write().unwrap().insert(kid.to_owned());
        Box::pin(std::future::ready(Ok(())))
    }
}

impl RevocationCheck for KidStore {
    fn check(&self, token: &Verified) -> Result<(), AuthError> {
        let kid = token.header().and_then(|h| h.kid());
        match kid {
            Some(kid) if self.0.read().unwrap().contains(kid) => Err(AuthError::new(ErrorKind::Revoked)),
            _ => Ok(()),
        }
    }
}

struct FailingSink;

impl KidRevocationSink for FailingSink {
    fn revoke_kid<'a>(&'a self, _kid: &'a str, _until: i64) -> RevokeFuture<'a> {
        Box::pin(std::future::ready(Err(IssuerError::Store("store down".into()))))
    }
}

#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One global subscriber for the binary: a thread-local default can miss events whose
/// callsite interest another test thread cached first.
fn logs() -> &'static Logs {
    static LOGS: OnceLock<Logs> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Logs::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt().with_writer(move || writer.clone()).with_ansi(false).finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
        logs
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compromised_key_is_refused_by_a_separate_verifier_within_a_second() {
    let logs = logs();

    let clock = FixedClock::new(SystemClock.now());
    let ring = ring(&clock);
    let minter = minter(&ring);
    let url = serve_jwks(&ring).await;
    let store = KidStore::default();
    // A separate verifier instance: its own JWKS cache, following the same store.
    let separate =
        tokengate_tower::Authenticator::builder(verifier(&cache(&url).await, &clock)).revocation(store.clone()).build();

    let old = minter.token().subject("alice").sign().await.unwrap();
    separate.verify(&old).await.unwrap();
    // Alice's login: a refresh family whose access token k1 signed; Bob's was not.
    let refresh = RefreshTokens::new(MemoryRefreshStore::new());
    let alice = refresh.issue(RefreshGrant::new("alice", "web"), clock.now()).await.unwrap();
    let bob = refresh.issue(RefreshGrant::new("bob", "web"), clock.now()).await.unwrap();
    let family = refresh.family_of(&alice).await.unwrap().unwrap();
    refresh.signed_with(&family, "k1").await.unwrap();

    let replacement: Arc<dyn Signer> = Arc::new(key("k9"));
    let report = ring.compromised("k1", Some(replacement), &store, Some(&refresh)).await.unwrap();
    assert_eq!(report.revoked_families, 1);
    assert_eq!(refresh.rotate(&alice, clock.now()).await.unwrap_err(), RefreshError::Revoked);
    refresh.rotate(&bob, clock.now()).await.unwrap();
    assert_eq!(report.kid, "k1");
    assert!(report.was_signing);
    assert_eq!(report.signing_kid.as_deref(), Some("k9"));
    assert_eq!(report.revoked_until, clock.now() + 600);
    assert_eq!(ring.published_kids(), ["k9"], "dropped from the JWKS");

    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        match separate.verify(&old).await {
            Err(e) if e.kind() == ErrorKind::Revoked => break,
            other => assert!(Instant::now() < deadline, "still accepted after 1 s: {other:?}"),
        }
        tokio::task::yield_now().await;
    }
    let new = minter.token().subject("alice").sign().await.unwrap();
    assert_eq!(kid_of(&new), "k9");
    assert_eq!(separate.verify(&new).await.unwrap().subject(), Some("alice"), "learned through unknown-kid refresh");

    let logged = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(logged.contains("compromised key stopped, unpublished and revoked"), "{logged}");
    assert!(logged.contains("kid=\"k1\"") || logged.contains("kid=k1"), "{logged}");
    assert!(logged.contains("revoked_families=1"), "{logged}");
    assert!(!logged.contains(&old), "no token in the log");
    assert!(!logged.contains(&alice), "no refresh token in the log");
    assert!(!logged.contains("\"d\""), "no key material in the log");
}

#[tokio::test]
async fn compromised_refusals_say_why_and_change_nothing() {
    let clock = FixedClock::new(1_000_000);
    let ring = ring(&clock);
    let store = KidStore::default();
    let err = ring.compromised("nope", None, &store, None).await.unwrap_err();
    assert_eq!(err.to_string(), "invalid issuer configuration: unknown key \"nope\"");
    let err = ring.compromised("k1", None, &store, None).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid issuer configuration: key \"k1\" is the only key that can sign: give a replacement"
    );
    assert_eq!(ring.published_kids(), ["k1"]);
    assert!(store.0.read().unwrap().is_empty());

    // A pre-published key that does not sign yet: compromised without a replacement.
    ring.rotate(key("k2")).unwrap();
    let report = ring.compromised("k2", None, &store, None).await.unwrap();
    assert!(!report.was_signing);
    assert_eq!(report.signing_kid.as_deref(), Some("k1"));
    assert_eq!(ring.published_kids(), ["k1"]);

    // The store is down: the key is already stopped, and the error says so.
    ring.rotate(key("k3")).unwrap();
    let err = ring.compromised("k3", None, &FailingSink, None).await.unwrap_err();
    assert_eq!(err.to_string(), "store unavailable: store down");
    assert_eq!(ring.published_kids(), ["k1"]);
}

#[tokio::test]
async fn a_compromised_signing_key_hands_over_to_the_replacement_or_the_previous_key() {
    let t0 = 1_000_000;
    let clock = FixedClock::new(t0);
    let store = KidStore::default();

    // With a replacement: it signs at once; the previous key retires one token lifetime
    // from now at the latest.
    let ring = ring(&clock);
    ring.rotate(key("k2")).unwrap();
    clock.set(t0 + 300);
    let replacement: Arc<dyn Signer> = Arc::new(key("k3"));
    let report = ring.compromised("k2", Some(replacement), &store, None).await.unwrap();
    assert!(report.was_signing);
    assert_eq!(report.signing_kid.as_deref(), Some("k3"));
    assert_eq!(ring.published_kids(), ["k1", "k3"]);
    assert_eq!(ring.schedule_of("k1").unwrap().retire_after, t0 + 300 + 600);

    // Without one: the previous key, still published, signs again.
    clock.set(t0);
    let ring = self::ring(&clock);
    ring.rotate(key("k2")).unwrap();
    clock.set(t0 + 300);
    let report = ring.compromised("k2", None, &store, None).await.unwrap();
    assert_eq!(report.signing_kid.as_deref(), Some("k1"));
    assert_eq!(ring.published_kids(), ["k1"]);
}
