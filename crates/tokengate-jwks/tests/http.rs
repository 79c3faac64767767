//! The JWKS cache against a real HTTP server on 127.0.0.1: rotation, discovery, faults
//! (in each of which the previous keys keep serving), the refetch storm and rotation
//! under load.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine;
use common::{Captured, Mode, Server, TestKey, jwks, verifier};
use tokengate_core::{Algorithm, ErrorKind, Verifier};
use tokengate_jwks::{
    DiscoveryRegistry, DiscoverySource, HttpClient, IssuerUrl, Issuers, JwksCache, JwksError, KeySource, UrlSource,
};

const ISS: &str = "https://issuer.example";
/// Every test is bounded in time.
const LIMIT: Duration = Duration::from_secs(30);

async fn bounded<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(LIMIT, f).await.expect("test took too long")
}

fn client() -> HttpClient {
    HttpClient::new().unwrap().timeout(Duration::from_millis(300))
}

async fn cache_for(server: &Server) -> JwksCache {
    JwksCache::builder(UrlSource::new(&server.jwks_url(), client()).unwrap())
        .retry_backoff(Duration::from_secs(60), Duration::from_secs(60))
        .build()
        .await
        .unwrap()
}

#[tokio::test]
async fn rotation_new_kid_accepted_removed_kid_rejected() {
    bounded(async {
        let k1 = TestKey::new("k1");
        let k2 = TestKey::new("k2");
        let server = Server::start(jwks(&[&k1])).await;
        let cache = cache_for(&server).await;
        let v = verifier(cache.clone());
        v.verify_async::<serde_json::Value>(&k1.token(ISS)).await.unwrap();

        // The provider publishes k2: the first token naming it causes one refresh.
        server.publish(&[&k1, &k2]);
        v.verify_async::<serde_json::Value>(&k2.token(ISS)).await.unwrap();
        assert_eq!(server.hits(), 2);

        // k1 is retired: after the next refresh it is rejected.
        server.publish(&[&k2]);
        cache.refresh_now().await.unwrap();
        let err = v.verify_async::<serde_json::Value>(&k1.token(ISS)).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnknownKey);
        v.verify(&k2.token(ISS)).unwrap();
    })
    .await;
}

#[tokio::test]
async fn from_url_convenience_and_cache_control() {
    bounded(async {
        let k1 = TestKey::new("k1");
        let server = Server::start(jwks(&[&k1])).await;
        server.set(Mode::JwksWithCacheControl(jwks(&[&k1]), "public, max-age=86400".into()));
        let cache = JwksCache::from_url(&server.jwks_url()).await.unwrap();
        verifier(cache.clone()).verify(&k1.token(ISS)).unwrap();
        assert!(cache.health().is_ready());
        assert!(JwksCache::from_url("http://idp.example/jwks").await.is_err(), "plain http to a remote host");
    })
    .await;
}

#[tokio::test]
async fn discovery_binds_keys_to_the_issuer() {
    bounded(async {
        let k1 = TestKey::new("k1");
        let server = Server::start(jwks(&[&k1])).await;
        let issuer = server.base();
        let cache = JwksCache::discover(&issuer).await.unwrap();
        assert_eq!(cache.issuer(), Some(issuer.as_str()));
        assert!(cache.keys().keys().all(|k| k.issuer() == Some(issuer.as_str())));
        let v = verifier(cache.clone());
        v.verify(&k1.token(&issuer)).unwrap();
        // The same key, a token claiming another issuer: refused, even with any_issuer().
        let err = v.verify(&k1.token("https://other.example")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidIssuer);
        // A trailing slash is another issuer (exact match).
        let err = v.verify(&k1.token(&format!("{issuer}/"))).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidIssuer);
    })
    .await;
}

#[tokio::test]
async fn discovery_issuer_mismatch_is_refused_and_old_keys_keep_serving() {
    bounded(async {
        let k1 = TestKey::new("k1");
        let server = Server::start(jwks(&[&k1])).await;
        let issuer = server.base();

        server.set_discovered_issuer("http://127.0.0.1:1");
        let err = JwksCache::discover(&issuer).await.unwrap_err();
        assert!(matches!(err, JwksError::IssuerMismatch { .. }), "{err:?}");

        server.set_discovered_issuer(&issuer);
        let cache = JwksCache::discover(&issuer).await.unwrap();
        // Later the document names another issuer, and the jwks_uri fails so that it
        // is read again: the refresh fails, the keys stay.
        server.set_discovered_issuer("https://evil.example");
        server.set(Mode::Status(500));
        let err = cache.refresh_now().await.unwrap_err();
        assert!(matches!(err, JwksError::IssuerMismatch { .. }), "{err:?}");
        verifier(cache.clone()).verify(&k1.token(&issuer)).unwrap();
        assert!(cache.health().serving_stale);
    })
    .await;
}

/// Puts the server in `mode`, refreshes, and checks the fault is reported while the
/// previous keys keep serving; then restores the server and checks recovery.
async fn fault_keeps_previous_keys(mode: Mode, expected: impl Fn(&JwksError) -> bool) {
    let k1 = TestKey::new("k1");
    let server = Server::start(jwks(&[&k1])).await;
    let cache = cache_for(&server).await;
    let v = verifier(cache.clone());
    v.verify(&k1.token(ISS)).unwrap();

    server.set(mode);
    let err = cache.refresh_now().await.unwrap_err();
    assert!(expected(&err), "unexpected error {err:?}");
    v.verify(&k1.token(ISS)).unwrap();
    v.verify_async::<serde_json::Value>(&k1.token(ISS)).await.unwrap();
    let health = cache.health();
    assert_eq!(health.consecutive_failures, 1);
    assert!(health.serving_stale && health.is_ready() && !health.unavailable);
    assert_eq!(health.last_error.as_ref(), Some(&err));

    server.publish(&[&k1]);
    cache.refresh_now().await.unwrap();
    let health = cache.health();
    assert_eq!(health.consecutive_failures, 0);
    assert!(!health.serving_stale);
    v.verify(&k1.token(ISS)).unwrap();
}

#[tokio::test]
async fn fault_http_500() {
    bounded(fault_keeps_previous_keys(Mode::Status(500), |e| *e == JwksError::Status(500))).await;
}

#[tokio::test]
async fn fault_hang_past_timeout() {
    let started = std::time::Instant::now();
    bounded(fault_keeps_previous_keys(Mode::Hang, |e| matches!(e, JwksError::Timeout(_)))).await;
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn fault_garbage() {
    bounded(fault_keeps_previous_keys(Mode::Garbage, |e| matches!(e, JwksError::InvalidJwks(_)))).await;
}

#[tokio::test]
async fn fault_ten_megabyte_body() {
    let limit = tokengate_jwks::DEFAULT_MAX_BODY;
    bounded(fault_keeps_previous_keys(Mode::Huge(10 * 1024 * 1024), |e| *e == JwksError::TooLarge { limit })).await;
}

#[tokio::test]
async fn fault_ten_megabyte_chunked_body_without_length() {
    let limit = tokengate_jwks::DEFAULT_MAX_BODY;
    let mode = Mode::HugeChunked(10 * 1024 * 1024);
    bounded(fault_keeps_previous_keys(mode, |e| *e == JwksError::TooLarge { limit })).await;
}

#[tokio::test]
async fn fault_redirect_to_another_host() {
    bounded(fault_keeps_previous_keys(Mode::RedirectOtherHost, |e| matches!(e, JwksError::Redirect(_)))).await;
}

#[tokio::test]
async fn fault_duplicate_kids() {
    let a = TestKey::new("dup");
    let b = TestKey::new("dup");
    let doc = jwks(&[&a, &b]);
    bounded(fault_keeps_previous_keys(Mode::Jwks(doc), |e| matches!(e, JwksError::InvalidJwks(_)))).await;
}

#[tokio::test]
async fn fault_only_unusable_keys() {
    // An encryption key and a weak RSA key: both skipped, so nothing usable is left.
    let doc = serde_json::json!({"keys": [
        {"kty": "OKP", "crv": "Ed25519", "use": "enc", "kid": "enc", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
        {"kty": "RSA", "kid": "weak", "alg": "RS256", "n": "AQAB", "e": "AQAB"}
    ]})
    .to_string();
    bounded(fault_keeps_previous_keys(Mode::Jwks(doc), |e| *e == JwksError::NoUsableKeys { skipped: 2 })).await;
}

#[tokio::test]
async fn unusable_keys_inside_a_good_set_are_skipped() {
    bounded(async {
        let k1 = TestKey::new("k1");
        let server = Server::start(jwks(&[&k1])).await;
        let mut doc: serde_json::Value = serde_json::from_str(&jwks(&[&k1])).unwrap();
        doc["keys"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({"kty": "RSA", "kid": "weak", "n": "AQAB", "e": "AQAB"}));
        server.set(Mode::Jwks(doc.to_string()));
        let cache = cache_for(&server).await;
        assert_eq!(cache.keys().len(), 1);
        verifier(cache).verify(&k1.token(ISS)).unwrap();
    })
    .await;
}

#[tokio::test]
async fn same_host_redirect_is_followed() {
    bounded(async {
        let k1 = TestKey::new("k1");
        let server = Server::start(jwks(&[&k1])).await;
        server.set(Mode::RedirectSameHost);
        let cache = cache_for(&server).await;
        verifier(cache).verify(&k1.token(ISS)).unwrap();
    })
    .await;
}

#[tokio::test]
async fn first_fetch_failure_fails_the_build() {
    bounded(async {
        let server = Server::start(String::new()).await;
        server.set(Mode::Status(503));
        let err = JwksCache::builder(UrlSource::new(&server.jwks_url(), client()).unwrap()).build().await.unwrap_err();
        assert_eq!(err, JwksError::Status(503));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refetch_storm_costs_one_fetch_per_cooldown() {
    bounded(async {
        let k1 = TestKey::new("k1");
        let server = Server::start(jwks(&[&k1])).await;
        let cache = cache_for(&server).await;
        assert_eq!(server.hits(), 1);
        let v = verifier(cache.clone());
        let forged: Vec<String> = (0..10_000).map(|i| k1.token_with_kid(ISS, &format!("random-{i}"))).collect();
        let mut tasks = tokio::task::JoinSet::new();
        for token in forged {
            let v = v.clone();
            tasks.spawn(async move { v.verify_async::<serde_json::Value>(&token).await.map(|_| ()) });
        }
        let mut rejected = 0;
        while let Some(result) = tasks.join_next().await {
            assert_eq!(result.unwrap().unwrap_err().kind(), ErrorKind::UnknownKey);
            rejected += 1;
        }
        assert_eq!(rejected, 10_000);
        // One initial fetch, and at most one caused by the storm (cooldown 30 s).
        assert!(server.hits() <= 2, "{} fetches", server.hits());
        let health = cache.health();
        assert!(health.unknown_kid_total >= 10_000);
        // Valid tokens were never affected.
        v.verify(&k1.token(ISS)).unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_under_load_has_zero_failures() {
    bounded(async {
        let first = TestKey::new("gen-0");
        let server = Arc::new(Server::start(jwks(&[&first])).await);
        let cache = JwksCache::builder(UrlSource::new(&server.jwks_url(), client()).unwrap())
            .refresh_interval(Duration::from_millis(2))
            .min_refresh_interval(Duration::from_millis(1))
            .build()
            .await
            .unwrap();
        let v = verifier(cache.clone());
        let signing = Arc::new(std::sync::RwLock::new(first.clone()));
        let stop = Arc::new(AtomicBool::new(false));
        let verified = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(AtomicU64::new(0));

        let mut workers = Vec::new();
        for _ in 0..4 {
            let (v, signing, stop, verified, failed) =
                (v.clone(), Arc::clone(&signing), Arc::clone(&stop), Arc::clone(&verified), Arc::clone(&failed));
            workers.push(tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let token = signing.read().unwrap().token(ISS);
                    match v.verify_async::<serde_json::Value>(&token).await {
                        Ok(_) => verified.fetch_add(1, Ordering::Relaxed),
                        Err(e) => {
                            eprintln!("valid token failed: {e:?}");
                            failed.fetch_add(1, Ordering::Relaxed)
                        }
                    };
                    tokio::task::yield_now().await;
                }
            }));
        }

        // The provider rotates every few milliseconds: it publishes the next key before
        // signing with it (and waits until it has been fetched), and keeps every earlier
        // key published: on a loaded machine a worker can hold a token across many
        // rotations, and retiring its key would fail it for a reason this test is not
        // about (removed kids are refused: `rotation_new_kid_accepted_removed_kid_rejected`).
        let mut published = vec![first];
        let mut rotations = 0;
        while rotations < 100 {
            let next = TestKey::new(&format!("gen-{}", rotations + 1));
            published.push(next.clone());
            server.publish(&published.iter().collect::<Vec<_>>());
            cache.refresh_now().await.unwrap();
            *signing.write().unwrap() = next;
            rotations += 1;
            tokio::time::sleep(Duration::from_millis(3)).await;
        }
        stop.store(true, Ordering::Relaxed);
        for w in workers {
            w.await.unwrap();
        }
        let (ok, bad) = (verified.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
        eprintln!("{rotations} rotations, {ok} verifications, {bad} failures, {} fetches", server.hits());
        assert!(ok >= 200, "only {ok} verifications");
        assert_eq!(bad, 0);
    })
    .await;
}

#[tokio::test]
async fn dynamic_issuers_through_discovery() {
    bounded(async {
        let k1 = TestKey::new("k1");
        let server = Server::start(jwks(&[&k1])).await;
        let issuer = server.base();
        let trusted = issuer.clone();
        let registry =
            tokengate_jwks::DiscoveryRegistry::new(client(), move |iss: &IssuerUrl<'_>| iss.as_str() == trusted);
        let issuers = tokengate_jwks::Issuers::dynamic(registry).build().unwrap();
        let v = verifier(issuers.clone());
        v.verify_async::<serde_json::Value>(&k1.token(&issuer)).await.unwrap();
        assert_eq!(issuers.loaded(), vec![issuer.clone()]);
        let err = v.verify_async::<serde_json::Value>(&k1.token("http://127.0.0.1:1")).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidIssuer);
        assert_eq!(server.hits(), 1);
    })
    .await;
}

#[tokio::test]
async fn a_flood_of_new_trusted_issuers_is_bounded() {
    bounded(async {
        let k1 = TestKey::new("k1");
        let server = Server::start(jwks(&[&k1])).await;
        // Every tenant under the server is trusted; none has a discovery document.
        let prefix = format!("{}/tenants/", server.base());
        let registry = DiscoveryRegistry::new(HttpClient::new().unwrap(), move |iss: &IssuerUrl<'_>| {
            iss.as_str().starts_with(&prefix)
        });
        let issuers = Issuers::dynamic(registry)
            .max_pending_loads(8)
            .new_issuer_rate(10, Duration::from_secs(3600))
            .build()
            .unwrap();
        let v = verifier(issuers.clone());
        // 1,000 tokens, each naming a new random tenant, in waves of 100 concurrent ones.
        for wave in 0..10 {
            let mut tasks = tokio::task::JoinSet::new();
            for i in 0..100 {
                let token = k1.token(&format!("{}/tenants/{wave}-{i}-{}", server.base(), rand_suffix()));
                let v = v.clone();
                tasks.spawn(async move { v.verify_async::<serde_json::Value>(&token).await.map(|_| ()) });
            }
            while let Some(result) = tasks.join_next().await {
                // Never loaded: unavailable issuers (503), counted by the failure limiter.
                let err = result.unwrap().unwrap_err();
                assert_eq!(err.kind(), ErrorKind::IssuerUnavailable, "{err:?}");
                assert!(err.retry_after_secs().is_some_and(|s| s >= 1));
            }
        }
        // Each load is one request for a discovery document: at most the rate allows.
        assert_eq!(server.requests(), 10, "{} discovery requests", server.requests());
        assert!(issuers.loaded().is_empty());
    })
    .await;
}

fn rand_suffix() -> u64 {
    use std::hash::BuildHasher;
    std::collections::hash_map::RandomState::new().hash_one(std::time::Instant::now())
}

/// A JWKS with `key` and a symmetric key whose secret anyone reading it learns.
fn with_published_secret(key: &TestKey) -> (String, Vec<u8>) {
    let secret = vec![0x42_u8; 32];
    let oct = serde_json::json!({"kty": "oct", "kid": "shared", "alg": "HS256",
        "k": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&secret)});
    let doc = serde_json::json!({"keys": [key.jwk(), oct]}).to_string();
    (doc, secret)
}

fn hs256_token(secret: &[u8], iss: &str) -> String {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = Some("shared".into());
    let claims = serde_json::json!({"iss": iss, "aud": common::AUDIENCE, "sub": "mallory", "exp": common::now() + 600});
    jsonwebtoken::encode(&header, &claims, &jsonwebtoken::EncodingKey::from_secret(secret).unwrap()).unwrap()
}

fn any_alg_verifier(resolver: impl tokengate_core::KeyResolver) -> Verifier {
    Verifier::builder(resolver)
        .any_issuer()
        .audience(common::AUDIENCE)
        .algorithms([Algorithm::EdDSA, Algorithm::HS256])
        .build()
        .unwrap()
}

#[tokio::test]
async fn symmetric_keys_of_a_published_key_set_are_skipped() {
    bounded(async {
        let k1 = TestKey::new("k1");
        let (doc, secret) = with_published_secret(&k1);
        let server = Server::start(doc.clone()).await;

        // JWKS URL.
        let source = UrlSource::new(&server.jwks_url(), client()).unwrap();
        let fetched = source.fetch().await.unwrap();
        assert_eq!(fetched.keys.len(), 1);
        assert!(fetched.keys.get("shared").is_none());
        assert_eq!(fetched.skipped.len(), 1);
        assert_eq!(fetched.skipped[0].kid.as_deref(), Some("shared"));
        let reason = fetched.skipped[0].reason.to_string();
        assert!(reason.contains("symmetric key") && reason.contains("over HTTP"), "{reason}");
        let cache = JwksCache::builder(source).build().await.unwrap();
        let v = any_alg_verifier(cache.clone());
        v.verify(&k1.token(ISS)).unwrap();
        let err = v.verify_async::<serde_json::Value>(&hs256_token(&secret, ISS)).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnknownKey);

        // Discovery.
        let issuer = server.base();
        let cache = JwksCache::discover(&issuer).await.unwrap();
        assert!(cache.keys().get("shared").is_none());
        let err = any_alg_verifier(cache).verify(&hs256_token(&secret, &issuer)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnknownKey);

        // A published set of only symmetric keys has nothing usable.
        let oct_only: serde_json::Value = serde_json::from_str(&doc).unwrap();
        let oct_only = serde_json::json!({"keys": [oct_only["keys"][1].clone()]}).to_string();
        server.set(Mode::Jwks(oct_only));
        let err = JwksCache::builder(UrlSource::new(&server.jwks_url(), client()).unwrap()).build().await.unwrap_err();
        assert_eq!(err, JwksError::NoUsableKeys { skipped: 1 });
    })
    .await;
}

#[tokio::test]
async fn credentials_and_query_of_a_url_are_never_shown() {
    let k1 = TestKey::new("k1");
    // A failed refresh without a subscriber first: registers the log call sites from this
    // thread (one that another test thread registers while the subscriber is installed
    // can miss it).
    bounded(async {
        let server = Server::start(jwks(&[&k1])).await;
        let cache = JwksCache::builder(UrlSource::new(&server.jwks_url(), client()).unwrap()).build().await.unwrap();
        server.set(Mode::RedirectOtherHost);
        cache.refresh_now().await.unwrap_err();
    })
    .await;
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt().with_ansi(false).with_writer(move || writer.clone()).finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    tracing::callsite::rebuild_interest_cache();
    bounded(async {
        let server = Server::start(jwks(&[&k1])).await;
        let url = format!("http://alice:pa55word@{}/jwks?api_key=s3cr3t-key#frag", server.addr);
        let source = UrlSource::new(&url, client()).unwrap();
        assert_eq!(source.url(), url, "the request uses the whole URL");
        let expected = format!("JWKS http://{}/jwks", server.addr);
        assert_eq!(source.describe(), expected);
        let debug = format!("{source:?}");
        let cache = JwksCache::builder(source).build().await.unwrap();
        assert_eq!(cache.health().source, expected);
        let cache_debug = format!("{cache:?}");

        // Failures: the error, the health and the log.
        server.set(Mode::RedirectOtherHost);
        let err = cache.refresh_now().await.unwrap_err();
        assert!(matches!(err, JwksError::Redirect(_)), "{err:?}");
        let shown = [err.to_string(), format!("{:?}", cache.health()), debug, cache_debug];
        let refused = HttpClient::new().unwrap().allow_insecure_http();
        let insecure = UrlSource::new("ftp://alice:pa55word@idp.example/jwks?api_key=s3cr3t-key", refused).unwrap_err();
        let discovery = DiscoverySource::new(&format!("http://alice:pa55word@{}", server.addr), client()).unwrap();
        let with_query = DiscoverySource::new("https://idp.example/?api_key=s3cr3t-key", client()).unwrap_err();
        assert!(matches!(with_query, JwksError::Config(_)), "{with_query:?}");
        let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        let more =
            [insecure.to_string(), with_query.to_string(), discovery.describe(), format!("{discovery:?}"), log.clone()];
        for text in shown.iter().chain(&more) {
            for secret in ["alice", "pa55word", "s3cr3t-key", "#frag"] {
                assert!(!text.contains(secret), "{secret} shown in {text}");
            }
        }
        assert!(log.contains("key fetch failed"), "{log}");
    })
    .await;
}

#[tokio::test]
async fn a_huge_cache_control_max_age_does_not_overflow() {
    bounded(async {
        let k1 = TestKey::new("k1");
        let server = Server::start(jwks(&[&k1])).await;
        server.set(Mode::JwksWithCacheControl(jwks(&[&k1]), "max-age=18446744073709551615".into()));
        let cache = JwksCache::builder(UrlSource::new(&server.jwks_url(), client()).unwrap())
            .max_refresh_interval(Duration::MAX)
            .build()
            .await
            .unwrap();
        cache.refresh_now().await.unwrap();
        verifier(cache.clone()).verify(&k1.token(ISS)).unwrap();
        assert!(cache.health().is_ready());
        assert_eq!(server.hits(), 2);
    })
    .await;
}

#[tokio::test]
async fn a_discovered_jwks_uri_must_be_https_or_on_the_plain_http_issuers_own_origin() {
    bounded(async {
        let k1 = TestKey::new("k1");
        let issuer = Server::start(jwks(&[&k1])).await;
        // Another local service, which the discovery document must not be able to reach.
        let local_service = Server::start(jwks(&[&k1])).await;
        for jwks_uri in [
            local_service.jwks_url(),
            format!("http://localhost:{}/jwks", issuer.addr.port()),
            format!("http://127.0.0.2:{}/jwks", issuer.addr.port()),
        ] {
            issuer.set_jwks_uri(&jwks_uri);
            let source = DiscoverySource::new(&issuer.base(), client()).unwrap();
            let err = source.fetch().await.unwrap_err();
            assert!(
                matches!(&err, JwksError::InsecureUrl(m) if m.contains("discovered jwks_uri")),
                "{jwks_uri}: {err}"
            );
        }
        assert_eq!(local_service.requests(), 0, "never contacted");
        assert_eq!(issuer.hits(), 0);
        // On the issuer's own origin, plain http is fine (a local identity provider).
        issuer.set_jwks_uri(&issuer.jwks_url());
        let source = DiscoverySource::new(&issuer.base(), client()).unwrap();
        assert_eq!(source.fetch().await.unwrap().keys.len(), 1);
    })
    .await;
}

#[test]
fn http_client_debug_never_shows_the_clients_default_headers() {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-api-key", reqwest::header::HeaderValue::from_static("SECRET-API-KEY"));
    let custom = reqwest::Client::builder().default_headers(headers).build().unwrap();
    let client = HttpClient::with_client(custom);
    let url = UrlSource::new("https://idp.example/jwks", client.clone()).unwrap();
    let discovery = DiscoverySource::new("https://idp.example", client.clone()).unwrap();
    for shown in [format!("{client:?}"), format!("{url:?}"), format!("{discovery:?}")] {
        assert!(!shown.contains("SECRET") && !shown.contains("x-api-key"), "{shown}");
        assert!(shown.contains("HttpClient"), "{shown}");
    }
}

#[tokio::test]
async fn jwks_and_discovery_parse_errors_speak_to_operators() {
    bounded(async {
        let k1 = TestKey::new("k1");
        let server = Server::start(jwks(&[&k1])).await;
        let cases = [
            (r#"{"keys": [], "keys": []}"#, "JWKS: duplicate member name"),
            ("{\"keys\": [ this is not json", "JWKS: not valid JSON"),
            (&format!("{}{}", "[".repeat(64), "]".repeat(64)), "JWKS: nesting too deep"),
        ];
        for (body, expected) in cases {
            server.set(Mode::Jwks(body.to_owned()));
            let err = UrlSource::new(&server.jwks_url(), client()).unwrap().fetch().await.unwrap_err();
            let text = err.to_string();
            assert!(matches!(err, JwksError::InvalidJwks(_)), "{text}");
            assert!(text.starts_with("invalid JWKS") && text.contains(expected), "{text}");
            assert!(!text.contains("access token"), "{text}");
        }
        server.publish(&[&k1]);
        let issuer = server.base();
        server.set_discovery_document(&format!(r#"{{"issuer": "{issuer}", "issuer": "{issuer}", "jwks_uri": "x"}}"#));
        let err = DiscoverySource::new(&issuer, client()).unwrap().fetch().await.unwrap_err();
        assert_eq!(err, JwksError::InvalidDiscovery("duplicate member name".into()), "{err}");
        assert!(!err.to_string().contains("access token"));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_under_load_through_the_unknown_kid_path_has_zero_failures() {
    // The provider publishes each new key just before signing with it, and the cache
    // learns of it only from the first tokens that name it (no regular refresh, no
    // `refresh_now` before signing): those tokens take the unknown-kid path under load.
    // The documented bound: a kid published before its first token is accepted at once
    // when the cooldown has run out; within a cooldown of the last unknown-kid refresh,
    // not before it ends. The rotations are spaced by more than the cooldown, so the
    // bound says: zero failures, and one fetch per new kid for all concurrent callers.
    const COOLDOWN: Duration = Duration::from_millis(20);
    bounded(async {
        let first = TestKey::new("gen-0");
        let server = Arc::new(Server::start(jwks(&[&first])).await);
        let cache = JwksCache::builder(UrlSource::new(&server.jwks_url(), client()).unwrap())
            .refresh_interval(Duration::from_secs(3600))
            .cooldown(COOLDOWN)
            .build()
            .await
            .unwrap();
        let v = verifier(cache.clone());
        let signing = Arc::new(std::sync::RwLock::new(first.clone()));
        let stop = Arc::new(AtomicBool::new(false));
        let verified = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(AtomicU64::new(0));

        let mut workers = Vec::new();
        for _ in 0..4 {
            let (v, signing, stop, verified, failed) =
                (v.clone(), Arc::clone(&signing), Arc::clone(&stop), Arc::clone(&verified), Arc::clone(&failed));
            workers.push(tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let token = signing.read().unwrap().token(ISS);
                    match v.verify_async::<serde_json::Value>(&token).await {
                        Ok(_) => verified.fetch_add(1, Ordering::Relaxed),
                        Err(e) => {
                            eprintln!("valid token failed: {e:?}");
                            failed.fetch_add(1, Ordering::Relaxed)
                        }
                    };
                    tokio::task::yield_now().await;
                }
            }));
        }

        let mut published = vec![first];
        let rotations = 20;
        for rotation in 1..=rotations {
            let next = TestKey::new(&format!("gen-{rotation}"));
            published.push(next.clone());
            // Every earlier key stays published: a worker on a loaded machine may hold a
            // token across many rotations.
            server.publish(&published.iter().collect::<Vec<_>>());
            *signing.write().unwrap() = next.clone();
            // Only the workers' tokens can bring the new key in.
            while cache.keys().get(&next.kid).is_none() {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            // A barrier, not a way in: the fetch that brought the key has finished, so
            // the next rotation's tokens cannot join a fetch that read the old set...
            cache.refresh_now().await.unwrap();
            // ...and the cooldown of this rotation's unknown-kid refresh is over.
            tokio::time::sleep(COOLDOWN).await;
        }
        stop.store(true, Ordering::Relaxed);
        for w in workers {
            w.await.unwrap();
        }
        let (ok, bad) = (verified.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
        eprintln!("{rotations} rotations, {ok} verifications, {bad} failures, {} fetches", server.hits());
        assert!(ok >= 200, "only {ok} verifications");
        assert_eq!(bad, 0);
        // The first fetch, then per rotation one unknown-kid refresh (shared by every
        // concurrent token naming the new kid) and the barrier.
        assert_eq!(server.hits(), 1 + 2 * rotations);
    })
    .await;
}
