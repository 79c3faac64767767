//! The verified-token cache: hits, and entries dying on key-set change, denied kid and exp.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

#[path = "common/capture.rs"]
mod capture;
mod common;

use std::convert::Infallible;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use common::{AUD, ISS, claims, rsa};
use http::{Request, Response, StatusCode};
use tokengate_core::{Algorithm, AuthError, ErrorKind, FixedClock, Key, KeyQuery, KeyResolver, KeySet, Verifier};
use tokengate_tower::JwtAuthLayer;
use tokengate_tower::cache::VerifiedTokenCache;
use tower::{Layer, ServiceExt, service_fn};

#[derive(Clone)]
struct Swappable(Arc<RwLock<KeySet>>);

impl KeyResolver for Swappable {
    fn resolve(&self, query: &KeyQuery<'_>) -> Result<Key, AuthError> {
        self.0.read().unwrap().resolve(query)
    }
}

/// Sends one request; returns the status, the error kind and the span's outcome.
async fn send(layer: &JwtAuthLayer, token: &str) -> (StatusCode, Option<ErrorKind>, &'static str) {
    let captured = capture::start();
    let service = layer.layer(service_fn(|_: Request<()>| async { Ok::<_, Infallible>(Response::new(String::new())) }));
    let request = Request::builder().header("authorization", format!("Bearer {token}")).body(()).unwrap();
    let response = service.oneshot(request).await.unwrap();
    let logs = captured.text();
    drop(captured);
    for segment in token.split('.').filter(|s| s.len() > 8) {
        assert!(!logs.contains(segment), "a token segment appeared in the logs");
    }
    let outcome = ["cached", "accepted", "rejected"]
        .into_iter()
        .find(|o| logs.contains(&format!("outcome=\"{o}\"")) || logs.contains(&format!("outcome={o}")))
        .unwrap_or("none");
    (response.status(), response.extensions().get::<AuthError>().map(AuthError::kind), outcome)
}

fn verifier(resolver: Swappable) -> Verifier {
    Verifier::builder(resolver).issuer(ISS).audience(AUD).algorithms([Algorithm::RS256]).build().unwrap()
}

#[tokio::test]
async fn a_repeated_token_is_served_from_the_cache() {
    let layer = JwtAuthLayer::new(rsa().verifier()).cache_verified_tokens(100);
    let token = rsa().token(&claims("alice"));
    assert_eq!(send(&layer, &token).await, (StatusCode::OK, None, "accepted"));
    assert_eq!(send(&layer, &token).await, (StatusCode::OK, None, "cached"));
    assert_eq!(send(&layer, &token).await, (StatusCode::OK, None, "cached"));
    // Another token is a miss.
    assert_eq!(send(&layer, &rsa().token(&claims("bob"))).await, (StatusCode::OK, None, "accepted"));
    // A refused token is never cached.
    let mut bad = token.clone();
    bad.truncate(token.len() - 4);
    bad.push_str("AAAA");
    for _ in 0..2 {
        assert_eq!(send(&layer, &bad).await, (StatusCode::UNAUTHORIZED, Some(ErrorKind::InvalidSignature), "rejected"));
    }
}

#[tokio::test]
async fn a_key_set_change_or_a_denied_kid_kills_the_entry() {
    let resolver = Swappable(Arc::new(RwLock::new(rsa().key_set())));
    let layer = JwtAuthLayer::new(verifier(resolver.clone())).cache_verified_tokens(100);
    let token = rsa().token(&claims("alice"));
    assert_eq!(send(&layer, &token).await.2, "accepted");
    assert_eq!(send(&layer, &token).await.2, "cached");

    // Same key, new generation (a JWKS refresh): verified again, then cached again.
    *resolver.0.write().unwrap() = rsa().key_set();
    assert_eq!(send(&layer, &token).await, (StatusCode::OK, None, "accepted"));
    assert_eq!(send(&layer, &token).await.2, "cached");

    // The kid is removed (denied): the cached entry does not save the token.
    let without = resolver.0.read().unwrap().without(rsa().kid);
    *resolver.0.write().unwrap() = without;
    assert_eq!(send(&layer, &token).await, (StatusCode::UNAUTHORIZED, Some(ErrorKind::UnknownKey), "rejected"));
}

#[tokio::test]
async fn an_entry_lives_until_exp_only() {
    let now = common::now();
    let clock = FixedClock::new(now);
    let verifier = Verifier::builder(rsa().key_set())
        .issuer(ISS)
        .audience(AUD)
        .algorithms([Algorithm::RS256])
        .leeway(Duration::ZERO)
        .clock(clock.clone())
        .build()
        .unwrap();
    let layer = JwtAuthLayer::new(verifier).cache_verified_tokens(100);
    let mut c = claims("alice");
    c["exp"] = (now + 60).into();
    let token = rsa().token(&c);
    assert_eq!(send(&layer, &token).await.2, "accepted");
    assert_eq!(send(&layer, &token).await.2, "cached");
    clock.advance(60);
    assert_eq!(send(&layer, &token).await, (StatusCode::UNAUTHORIZED, Some(ErrorKind::Expired), "rejected"));
}

#[tokio::test]
async fn the_cache_is_bounded() {
    let cache = VerifiedTokenCache::new(10);
    let layer = JwtAuthLayer::new(rsa().verifier()).verified_token_cache(cache.clone());
    let tokens: Vec<String> = (0..50).map(|i| rsa().token(&claims(&format!("user-{i}")))).collect();
    // Below the bound every verified token is stored, and served from the cache.
    for token in &tokens[..5] {
        assert_eq!(send(&layer, token).await, (StatusCode::OK, None, "accepted"));
    }
    assert_eq!(cache.entry_count(), 5);
    for token in &tokens[..5] {
        assert_eq!(send(&layer, token).await, (StatusCode::OK, None, "cached"));
    }
    // Past it, the cache stays full at the bound.
    for token in &tokens[5..] {
        assert_eq!(send(&layer, token).await.0, StatusCode::OK);
    }
    assert_eq!(cache.entry_count(), 10);
}

fn audience_verifier(audience: &str) -> tokengate_core::VerifierBuilder {
    Verifier::builder(rsa().key_set()).issuer(ISS).audience(audience).algorithms([Algorithm::RS256])
}

#[tokio::test]
async fn a_shared_cache_never_lets_a_token_into_a_stricter_layer() {
    let cache = VerifiedTokenCache::new(100);
    let web_verifier = audience_verifier("web").build().unwrap();
    let web = JwtAuthLayer::new(web_verifier.clone()).verified_token_cache(cache.clone());
    let admin = JwtAuthLayer::new(audience_verifier("admin-api").require(["acr"]).build().unwrap())
        .verified_token_cache(cache.clone());

    // Accepted (and cached) by the lenient layer first, then sent to the strict one.
    let mut web_only = claims("alice");
    web_only["aud"] = "web".into();
    let token = rsa().token(&web_only);
    assert_eq!(send(&web, &token).await, (StatusCode::OK, None, "accepted"));
    assert_eq!(send(&web, &token).await, (StatusCode::OK, None, "cached"));
    assert_eq!(send(&admin, &token).await, (StatusCode::UNAUTHORIZED, Some(ErrorKind::InvalidAudience), "rejected"));

    // Both audiences but no acr: the admin layer's own checks still run.
    let mut both = claims("bob");
    both["aud"] = serde_json::json!(["web", "admin-api"]);
    let token = rsa().token(&both);
    assert_eq!(send(&web, &token).await, (StatusCode::OK, None, "accepted"));
    assert_eq!(send(&admin, &token).await, (StatusCode::UNAUTHORIZED, Some(ErrorKind::MissingClaim), "rejected"));
    assert_eq!(send(&web, &token).await, (StatusCode::OK, None, "cached"));

    // Another layer with the very same verifier shares the entries.
    let web_too = JwtAuthLayer::new(web_verifier).realm("other").verified_token_cache(cache);
    assert_eq!(send(&web_too, &token).await, (StatusCode::OK, None, "cached"));
}

#[tokio::test]
async fn an_entry_dies_at_the_verifiers_max_age() {
    let now = common::now();
    let clock = FixedClock::new(now);
    let verifier = Verifier::builder(rsa().key_set())
        .issuer(ISS)
        .audience(AUD)
        .algorithms([Algorithm::RS256])
        .leeway(Duration::ZERO)
        .max_age(Duration::from_secs(60))
        .clock(clock.clone())
        .build()
        .unwrap();
    let layer = JwtAuthLayer::new(verifier).cache_verified_tokens(100);
    // exp is far away (5 minutes); max_age (60 s from iat) is what ends the entry.
    let mut c = claims("alice");
    c["iat"] = now.into();
    c["nbf"] = now.into();
    let token = rsa().token(&c);
    assert_eq!(send(&layer, &token).await.2, "accepted");
    clock.advance(59);
    assert_eq!(send(&layer, &token).await, (StatusCode::OK, None, "cached"));
    clock.advance(2);
    assert_eq!(send(&layer, &token).await, (StatusCode::UNAUTHORIZED, Some(ErrorKind::TooOld), "rejected"));
}

/// A custom resolver over one lone key (generation 0), which an operator replaces.
#[derive(Clone)]
struct LoneKey(Arc<RwLock<Key>>);

impl KeyResolver for LoneKey {
    fn resolve(&self, query: &KeyQuery<'_>) -> Result<Key, AuthError> {
        self.0.read().unwrap().resolve(query)
    }
}

/// Issue 7 item 12: the entry is bound to the key that verified it, not to the key-set
/// generation, which is 0 for every lone key and for custom resolvers.
#[tokio::test]
async fn replacing_the_key_behind_a_kid_kills_cached_entries() {
    for kid in [Some("hs-1"), None] {
        let lone = |secret: &[u8]| {
            let key = Key::hmac(Algorithm::HS256, secret).unwrap();
            match kid {
                Some(kid) => key.with_kid(kid),
                None => key,
            }
        };
        let leaked = [1u8; 32];
        let resolver = LoneKey(Arc::new(RwLock::new(lone(&leaked))));
        let verifier = Verifier::builder(resolver.clone())
            .issuer(ISS)
            .audience(AUD)
            .algorithms([Algorithm::HS256])
            .build()
            .unwrap();
        let layer = JwtAuthLayer::new(verifier).cache_verified_tokens(100);
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        header.kid = kid.map(str::to_owned);
        let encoding = jsonwebtoken::EncodingKey::from_secret(&leaked).unwrap();
        let token = jsonwebtoken::encode(&header, &claims("mallory"), &encoding).unwrap();
        assert_eq!(send(&layer, &token).await, (StatusCode::OK, None, "accepted"), "kid {kid:?}");
        assert_eq!(send(&layer, &token).await, (StatusCode::OK, None, "cached"), "kid {kid:?}");

        // The leaked secret is rotated: same kid, same (zero) generation, another key.
        let rotated = lone(&[2u8; 32]);
        assert_eq!(rotated.generation(), resolver.0.read().unwrap().generation());
        *resolver.0.write().unwrap() = rotated;
        assert_eq!(
            send(&layer, &token).await,
            (StatusCode::UNAUTHORIZED, Some(ErrorKind::InvalidSignature), "rejected"),
            "kid {kid:?}"
        );
    }
}
