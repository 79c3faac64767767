//! Metrics (feature `metrics`): fetches by result, key-set age, serving stale and
//! unknown-kid refreshes move with what the cache does (tokio's paused clock, a test
//! recorder on the runtime's one thread).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::TestKey;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use tokengate_core::{Algorithm, Key, KeyQuery, KeyResolver, KeySet};
use tokengate_jwks::metrics::{FETCHES, KEY_SET_AGE, SERVING_STALE, UNKNOWN_KID_REFRESHES};
use tokengate_jwks::{FetchFuture, Fetched, JwksCache, JwksError, KeySource};

struct Scripted(Arc<Mutex<Result<KeySet, JwksError>>>);

impl KeySource for Scripted {
    fn fetch(&self) -> FetchFuture<'_> {
        let result = self.0.lock().unwrap().clone().map(Fetched::new);
        Box::pin(async move { result })
    }
    fn describe(&self) -> String {
        "scripted-source".to_owned()
    }
}

fn key_set(key: &TestKey) -> KeySet {
    KeySet::new([Key::from_jwk_json(&key.jwk().to_string()).unwrap()]).unwrap()
}

type Snapshot = Vec<(metrics_util::CompositeKey, Option<metrics::Unit>, Option<metrics::SharedString>, DebugValue)>;

fn value<'a>(snapshot: &'a Snapshot, name: &str, labels: &[(&str, &str)]) -> Option<&'a DebugValue> {
    snapshot
        .iter()
        .find(|(key, ..)| {
            key.key().name() == name
                && labels.iter().all(|(k, v)| key.key().labels().any(|l| l.key() == *k && l.value() == *v))
        })
        .map(|(.., value)| value)
}

fn gauge(snapshot: &Snapshot, name: &str) -> f64 {
    match value(snapshot, name, &[("source", "scripted-source")]) {
        Some(DebugValue::Gauge(v)) => v.into_inner(),
        other => panic!("{name}: {other:?}"),
    }
}

fn counter(snapshot: &Snapshot, name: &str, labels: &[(&str, &str)]) -> u64 {
    match value(snapshot, name, labels) {
        Some(DebugValue::Counter(n)) => *n,
        None => 0,
        other => panic!("{name}: {other:?}"),
    }
}

#[test]
fn fetches_age_stale_and_unknown_kids_are_recorded() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let k1 = TestKey::new("k1");
    let answer = Arc::new(Mutex::new(Ok(key_set(&k1))));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().unwrap();
    metrics::with_local_recorder(&recorder, || {
        rt.block_on(async {
            let cache = JwksCache::builder(Scripted(Arc::clone(&answer)))
                .refresh_interval(Duration::from_secs(10))
                .min_refresh_interval(Duration::from_secs(1))
                .retry_backoff(Duration::from_secs(1), Duration::from_secs(4))
                .cooldown(Duration::from_secs(5))
                .build()
                .await
                .unwrap();
            let s = snapshotter.snapshot().into_vec();
            assert_eq!(counter(&s, FETCHES, &[("source", "scripted-source"), ("result", "ok")]), 1);

            // The source fails: failed fetches counted, stale served, the age grows.
            *answer.lock().unwrap() = Err(JwksError::Source("down".into()));
            tokio::time::sleep(Duration::from_secs(30)).await;
            assert!(cache.health().serving_stale);
            let s = snapshotter.snapshot().into_vec();
            assert!(counter(&s, FETCHES, &[("result", "error")]) >= 3);
            assert_eq!(counter(&s, FETCHES, &[("result", "ok")]), 0, "read since the last snapshot");
            assert_eq!(gauge(&s, SERVING_STALE), 1.0);
            assert!(gauge(&s, KEY_SET_AGE) >= 20.0, "{}", gauge(&s, KEY_SET_AGE));

            // Back: fresh again.
            *answer.lock().unwrap() = Ok(key_set(&k1));
            tokio::time::sleep(Duration::from_secs(10)).await;
            assert!(!cache.health().serving_stale);
            let s = snapshotter.snapshot().into_vec();
            assert!(counter(&s, FETCHES, &[("result", "ok")]) >= 1);
            assert_eq!(gauge(&s, SERVING_STALE), 0.0);
            assert!(gauge(&s, KEY_SET_AGE) < 10.0);

            // Unknown kids: one refresh per cooldown, however many lookups.
            let query = KeyQuery { kid: Some("nope"), alg: Algorithm::EdDSA, issuer: None };
            for _ in 0..5 {
                assert!(cache.resolve(&query).is_err());
                if let Some(refresh) = cache.refresh_unknown(&query) {
                    refresh.await;
                }
            }
            let s = snapshotter.snapshot().into_vec();
            assert_eq!(counter(&s, UNKNOWN_KID_REFRESHES, &[("source", "scripted-source")]), 1);
        });
    });
}
