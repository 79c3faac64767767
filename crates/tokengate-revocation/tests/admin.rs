//! The admin router: revoke (every kind, every refusal), list, health; with the in-memory
//! store and, for 503, with a real Redis that was killed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tokengate_core::{Algorithm, ErrorKind, FixedClock, RevocationCheck};
use tokengate_revocation::{MemoryStore, admin};
use tokengate_test_support::{ISSUER, SUBJECT, TokenBuilder, verifier};
use tower::ServiceExt;

const NOW: i64 = 1_800_000_000;

async fn call(app: &Router, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

fn store() -> MemoryStore {
    MemoryStore::builder().clock(FixedClock::new(NOW)).build()
}

#[tokio::test]
async fn post_revocations_stores_every_kind() {
    for (kind, iss, value) in [
        ("jti", Some(ISSUER), "t-1"),
        ("sub", Some(ISSUER), SUBJECT),
        ("sid", Some(ISSUER), "s-1"),
        ("kid", Some(ISSUER), "k-1"),
        ("tenant", Some(ISSUER), "acme"),
        ("all", Some(ISSUER), ""),
        ("all", None, ""),
    ] {
        let store = store();
        let app: Router = admin::router(store.clone());
        let mut body = json!({"kind": kind, "not_before": NOW - 10});
        if let Some(iss) = iss {
            body["iss"] = json!(iss);
        }
        if !value.is_empty() {
            body["value"] = json!(value);
        }
        let (status, rule) = call(&app, "POST", "/revocations", Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{kind}");
        assert_eq!(rule["kind"], kind);
        assert_eq!(rule["not_before"], NOW - 10);
        assert_eq!(rule["expires_at"], NOW + 24 * 3600 + 60);
        let (status, rules) = call(&app, "GET", "/revocations", None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(rules, json!([rule]));
    }
}

#[tokio::test]
async fn not_before_defaults_to_now_and_the_rule_is_enforced() {
    let store = store();
    let app: Router = admin::router(store.clone());
    let token = verifier(Algorithm::ES256)
        .clock(FixedClock::new(NOW))
        .build()
        .unwrap()
        .verify(&TokenBuilder::at(Algorithm::ES256, NOW).sign())
        .unwrap();
    assert!(store.check(&token).is_ok());
    let (status, rule) =
        call(&app, "POST", "/revocations", Some(json!({"kind": "sub", "iss": ISSUER, "value": SUBJECT}))).await;
    assert_eq!((status, rule["not_before"].as_i64()), (StatusCode::CREATED, Some(NOW)));
    assert_eq!(store.check(&token).unwrap_err().kind(), ErrorKind::Revoked);
}

#[tokio::test]
async fn invalid_revocations_are_400_and_store_nothing() {
    let long = "x".repeat(2000);
    for (what, body) in [
        ("unknown kind", json!({"kind": "everyone", "iss": ISSUER, "value": "x"})),
        ("no iss", json!({"kind": "sub", "value": "x"})),
        ("no value", json!({"kind": "jti", "iss": ISSUER})),
        ("value on all", json!({"kind": "all", "value": "x"})),
        ("too long", json!({"kind": "sub", "iss": ISSUER, "value": long})),
        ("not_before not a number", json!({"kind": "sub", "iss": ISSUER, "value": "x", "not_before": "now"})),
        ("unknown field", json!({"kind": "sub", "iss": ISSUER, "value": "x", "cutoff": 1})),
        ("not an object", json!(["sub"])),
    ] {
        let store = store();
        let app: Router = admin::router(store.clone());
        let (status, body) = call(&app, "POST", "/revocations", Some(body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}");
        assert_eq!(body["error"], "invalid_request", "{what}");
        assert!(store.is_empty(), "{what}");
    }
}

#[tokio::test]
async fn health_of_the_memory_store() {
    let app: Router = admin::router(store());
    let (status, body) = call(&app, "GET", "/health", None).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"backend": "memory", "fresh": true, "rules": 0})));
}

#[cfg(feature = "redis")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_down_writes_are_503_and_health_turns_stale() {
    use std::time::{Duration, Instant};
    use tokengate_revocation::RedisStore;
    use tokengate_test_support::RedisServer;

    let mut redis = RedisServer::start();
    let store = RedisStore::builder(redis.url())
        .max_staleness(Duration::from_secs(1))
        .block(Duration::from_millis(100))
        .timeout(Duration::from_millis(500))
        .connect()
        .await
        .unwrap();
    let app: Router = admin::router(store.clone());
    let (status, body) = call(&app, "GET", "/health", None).await;
    assert_eq!(
        (status, body["backend"].as_str(), body["fresh"].as_bool()),
        (StatusCode::OK, Some("redis"), Some(true))
    );
    redis.kill();
    let (status, body) =
        call(&app, "POST", "/revocations", Some(json!({"kind": "jti", "iss": ISSUER, "value": "t"}))).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::SERVICE_UNAVAILABLE, Some("unavailable")));
    let (_, rules) = call(&app, "GET", "/revocations", None).await;
    assert_eq!(rules, json!([]));
    let start = Instant::now();
    loop {
        let (status, body) = call(&app, "GET", "/health", None).await;
        if status == StatusCode::SERVICE_UNAVAILABLE {
            assert_eq!(body["fresh"], false);
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "health never turned stale");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
