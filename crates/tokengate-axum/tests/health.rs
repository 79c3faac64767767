//! `/healthz` and `/readyz` (feature `health`): readiness false before the first key set,
//! true after, false past `max_stale` (tokio's paused clock) and when a revocation
//! mirror check says it is stale; liveness unaffected.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use http::{Request, StatusCode};
use tokengate_core::readiness::{Deferred, Readiness, ReadinessCheck, ReadinessChecks};
use tokengate_core::{Algorithm, KeySet};
use tokengate_jwks::{FetchFuture, Fetched, JwksCache, JwksError, KeySource};
use tower::ServiceExt;

struct Scripted(Arc<Mutex<Result<KeySet, JwksError>>>);

impl KeySource for Scripted {
    fn fetch(&self) -> FetchFuture<'_> {
        let result = self.0.lock().unwrap().clone().map(Fetched::new);
        Box::pin(async move { result })
    }
}

/// A revocation mirror's freshness, as the revocation crate would report it.
struct Mirror(Arc<AtomicBool>);

impl ReadinessCheck for Mirror {
    fn name(&self) -> Cow<'_, str> {
        "revocation mirror".into()
    }
    fn readiness(&self) -> Readiness {
        if self.0.load(Ordering::SeqCst) { Readiness::Ready } else { Readiness::not_ready("mirror is stale") }
    }
}

async fn get(app: &Router, uri: &str) -> (StatusCode, serde_json::Value) {
    let response = app.clone().oneshot(Request::get(uri).body(Body::empty()).unwrap()).await.unwrap();
    let status = response.status();
    assert_eq!(response.headers()["content-type"], "application/json");
    let body = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
    (status, serde_json::from_slice(&body).unwrap())
}

#[tokio::test(start_paused = true)]
async fn readiness_follows_the_keys_and_the_mirror() {
    let keys = Deferred::new("keys");
    let fresh = Arc::new(AtomicBool::new(true));
    let app =
        tokengate_axum::health::router(ReadinessChecks::new().check(keys.clone()).check(Mirror(Arc::clone(&fresh))));

    // Before the first key set: not ready, and the body says what.
    let (status, body) = get(&app, "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["ready"], false);
    assert_eq!(body["checks"][0], serde_json::json!({"name": "keys", "ready": false, "reason": "not started yet"}));
    assert_eq!(body["checks"][1], serde_json::json!({"name": "revocation mirror", "ready": true}));
    assert_eq!(get(&app, "/healthz").await, (StatusCode::OK, serde_json::json!({"status": "ok"})));

    // The first key set: ready.
    let answer = Arc::new(Mutex::new(Ok(tokengate_test_support::fixture(Algorithm::ES256).key_set())));
    let cache = JwksCache::builder(Scripted(Arc::clone(&answer)))
        .bind_issuer("https://issuer.example")
        .refresh_interval(Duration::from_secs(10))
        .min_refresh_interval(Duration::from_secs(1))
        .retry_backoff(Duration::from_secs(1), Duration::from_secs(4))
        .max_stale(Duration::from_secs(60))
        .build()
        .await
        .unwrap();
    assert!(keys.set(cache.clone()));
    let (status, body) = get(&app, "/readyz").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["checks"][0], serde_json::json!({"name": "keys of https://issuer.example", "ready": true}));

    // The source fails: stale keys still serve within max_stale (ready)...
    *answer.lock().unwrap() = Err(JwksError::Source("down".into()));
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert!(cache.health().serving_stale);
    assert_eq!(get(&app, "/readyz").await.0, StatusCode::OK);
    // ...and past it, not ready (the refresh was due at 9-10 s, had 15 s to finish, plus 60 s).
    tokio::time::sleep(Duration::from_secs(60)).await;
    let (status, body) = get(&app, "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        body["checks"][0],
        serde_json::json!({"name": "keys of https://issuer.example", "ready": false,
            "reason": "keys not refreshed within max_stale"})
    );
    assert_eq!(get(&app, "/healthz").await.0, StatusCode::OK, "liveness is separate");

    // Keys back: ready again.
    *answer.lock().unwrap() = Ok(tokengate_test_support::fixture(Algorithm::ES256).key_set());
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(get(&app, "/readyz").await.0, StatusCode::OK);

    // A stale revocation mirror: not ready, naming the mirror only.
    fresh.store(false, Ordering::SeqCst);
    let (status, body) = get(&app, "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["checks"][0]["ready"], true);
    assert_eq!(
        body["checks"][1],
        serde_json::json!({"name": "revocation mirror", "ready": false, "reason": "mirror is stale"})
    );
}
