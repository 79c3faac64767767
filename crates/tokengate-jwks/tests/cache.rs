//! The cache's behaviour with a scripted key source and tokio's paused clock: max_stale,
//! cooldown and negative cache, deny_kid, health, and the task's end.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Captured, TestKey, verifier};
use tokengate_core::{Algorithm, ErrorKind, Key, KeyQuery, KeyResolver, KeySet};
use tokengate_jwks::{FetchFuture, Fetched, JwksCache, JwksError, KeySource};

const ISS: &str = "https://issuer.example";

struct State {
    keys: Mutex<Result<KeySet, JwksError>>,
    fetches: AtomicUsize,
}

impl State {
    fn serve(&self, keys: &[&TestKey]) {
        let keys = keys.iter().map(|k| Key::from_jwk_json(&k.jwk().to_string()).unwrap());
        *self.keys.lock().unwrap() = Ok(KeySet::new(keys).unwrap());
    }
    fn fail(&self) {
        *self.keys.lock().unwrap() = Err(JwksError::Source("down".into()));
    }
    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// A source whose answer the test scripts.
struct Scripted {
    state: Arc<State>,
    _dropped: DropFlag,
}

impl KeySource for Scripted {
    fn fetch(&self) -> FetchFuture<'_> {
        self.state.fetches.fetch_add(1, Ordering::SeqCst);
        let result = self.state.keys.lock().unwrap().clone().map(Fetched::new);
        Box::pin(async move { result })
    }
}

fn scripted(keys: &[&TestKey]) -> (Scripted, Arc<State>, Arc<AtomicBool>) {
    let state =
        Arc::new(State { keys: Mutex::new(Err(JwksError::Source("unset".into()))), fetches: AtomicUsize::new(0) });
    state.serve(keys);
    let dropped = Arc::new(AtomicBool::new(false));
    (Scripted { state: Arc::clone(&state), _dropped: DropFlag(Arc::clone(&dropped)) }, state, dropped)
}

fn query(kid: &str) -> KeyQuery<'_> {
    KeyQuery { kid: Some(kid), alg: Algorithm::EdDSA, issuer: Some(ISS) }
}

#[tokio::test(start_paused = true)]
async fn max_stale_expiry_fails_with_keys_unavailable_then_recovers() {
    let k1 = TestKey::new("k1");
    let (source, state, _) = scripted(&[&k1]);
    let cache = JwksCache::builder(source)
        .refresh_interval(Duration::from_secs(10))
        .min_refresh_interval(Duration::from_secs(1))
        .retry_backoff(Duration::from_secs(1), Duration::from_secs(4))
        .max_stale(Duration::from_secs(60))
        .build()
        .await
        .unwrap();
    let v = verifier(cache.clone());
    state.fail();

    tokio::time::sleep(Duration::from_secs(30)).await;
    v.verify(&k1.token(ISS)).unwrap();
    let health = cache.health();
    assert!(health.serving_stale && health.is_ready(), "{health:?}");
    assert!(health.consecutive_failures >= 3, "retries with backoff: {health:?}");
    assert!(health.key_set_age >= Duration::from_secs(30));

    // max_stale counts from when the refresh was due (9-10 s) and had its fetch_timeout
    // (15 s) to finish: the keys serve until 84-85 s.
    tokio::time::sleep(Duration::from_secs(53)).await;
    v.verify(&k1.token(ISS)).unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let err = v.verify(&k1.token(ISS)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::KeysUnavailable);
    let err = v.verify_async::<serde_json::Value>(&k1.token(ISS)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::KeysUnavailable);
    let health = cache.health();
    assert!(health.unavailable && !health.is_ready() && !health.serving_stale);

    state.serve(&[&k1]);
    tokio::time::sleep(Duration::from_secs(5)).await;
    v.verify(&k1.token(ISS)).unwrap();
    assert!(cache.health().is_ready());
}

#[tokio::test(start_paused = true)]
async fn unknown_kids_cost_one_fetch_per_cooldown_and_new_kids_still_arrive() {
    let k1 = TestKey::new("k1");
    let k2 = TestKey::new("k2");
    let (source, state, _) = scripted(&[&k1]);
    let cache = JwksCache::builder(source).cooldown(Duration::from_secs(30)).build().await.unwrap();
    let v = verifier(cache.clone());
    assert_eq!(state.fetches(), 1);

    // The first unknown kid refreshes once; later ones within the cooldown do not.
    let forged = k1.token_with_kid(ISS, "nope");
    let started = tokio::time::Instant::now();
    assert_eq!(v.verify_async::<serde_json::Value>(&forged).await.unwrap_err().kind(), ErrorKind::UnknownKey);
    assert_eq!(state.fetches(), 2);
    for i in 0..100 {
        let forged = k1.token_with_kid(ISS, &format!("random-{i}"));
        let err = v.verify_async::<serde_json::Value>(&forged).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnknownKey, "refused by the cooldown");
    }
    // The same kid again is answered by the negative cache.
    assert!(cache.refresh_unknown(&query("nope")).is_none());
    assert_eq!(state.fetches(), 2);

    // A genuinely new kid, published now, is fetched by the next allowed refresh: not a
    // moment before the 30 s cooldown (counted from the first refresh) is over, and at once
    // when it is.
    state.serve(&[&k1, &k2]);
    let err = v.verify_async::<serde_json::Value>(&k2.token(ISS)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownKey, "still within the cooldown");
    tokio::time::advance(Duration::from_secs(30) - Duration::from_millis(1) - started.elapsed()).await;
    let err = v.verify_async::<serde_json::Value>(&k2.token(ISS)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownKey, "1 ms before the end of the cooldown");
    assert_eq!(state.fetches(), 2);
    tokio::time::advance(Duration::from_millis(1)).await;
    assert_eq!(started.elapsed(), Duration::from_secs(30));
    v.verify_async::<serde_json::Value>(&k2.token(ISS)).await.unwrap();
    assert_eq!(state.fetches(), 3);
    assert!(cache.health().unknown_kid_total >= 102);
}

/// A source that reads its keys when a fetch starts, then waits while the gate is
/// closed: a fetch the test holds "in flight".
struct Gated {
    state: Arc<State>,
    open: tokio::sync::watch::Receiver<bool>,
}

impl KeySource for Gated {
    fn fetch(&self) -> FetchFuture<'_> {
        self.state.fetches.fetch_add(1, Ordering::SeqCst);
        let result = self.state.keys.lock().unwrap().clone().map(Fetched::new);
        let mut open = self.open.clone();
        Box::pin(async move {
            let _ = open.wait_for(|open| *open).await;
            result
        })
    }
}

fn gated(keys: &[&TestKey]) -> (Gated, Arc<State>, tokio::sync::watch::Sender<bool>) {
    let (source, state, _) = scripted(keys);
    let (gate, open) = tokio::sync::watch::channel(true);
    (Gated { state: Arc::clone(&source.state), open }, state, gate)
}

/// Lets spawned tasks run until `done` holds (a bounded number of turns).
async fn until(mut done: impl FnMut() -> bool) {
    for _ in 0..1000 {
        if done() {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("condition never held");
}

#[tokio::test(start_paused = true)]
async fn a_kid_found_missing_is_looked_up_again_after_the_cooldown() {
    let k1 = TestKey::new("k1");
    let k2 = TestKey::new("k2");
    let (source, state, _) = scripted(&[&k1]);
    let cache = JwksCache::builder(source).cooldown(Duration::from_secs(30)).build().await.unwrap();
    let v = verifier(cache.clone());

    // k2's first token refreshes; k2 is not there yet, so it is remembered as missing.
    let err = v.verify_async::<serde_json::Value>(&k2.token(ISS)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownKey);
    assert_eq!(state.fetches(), 2);
    assert!(cache.refresh_unknown(&query("k2")).is_none(), "negative cache, within the cooldown");

    // Published now: once the cooldown is over the negative cache no longer holds, and
    // k2's next token refreshes (not only the regular refresh, minutes later).
    state.serve(&[&k1, &k2]);
    tokio::time::advance(Duration::from_secs(31)).await;
    v.verify_async::<serde_json::Value>(&k2.token(ISS)).await.unwrap();
    assert_eq!(state.fetches(), 3);
}

#[tokio::test(start_paused = true)]
async fn a_new_kid_published_while_a_fetch_is_in_flight_is_accepted_within_one_cooldown() {
    let k1 = TestKey::new("k1");
    let k2 = TestKey::new("k2");
    let (source, state, gate) = gated(&[&k1]);
    let cache = JwksCache::builder(source).cooldown(Duration::from_secs(30)).build().await.unwrap();
    let v = verifier(cache.clone());

    // A fetch starts (for some unknown kid) and reads the source...
    gate.send_replace(false);
    let first = tokio::spawn(cache.refresh_unknown(&query("x")).expect("first unknown kid refreshes"));
    until(|| state.fetches() == 2).await;
    // ...then k2 is published, and k2's first token joins that fetch, which lacks it.
    state.serve(&[&k1, &k2]);
    let joined = cache.refresh_unknown(&query("k2")).expect("joins the fetch in flight");
    gate.send_replace(true);
    first.await.unwrap();
    joined.await;
    assert_eq!(v.verify(&k2.token(ISS)).unwrap_err().kind(), ErrorKind::UnknownKey);

    // Within the cooldown k2 is refused without a fetch; one cooldown later it is fetched.
    let err = v.verify_async::<serde_json::Value>(&k2.token(ISS)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownKey);
    assert_eq!(state.fetches(), 2);
    tokio::time::advance(Duration::from_secs(31)).await;
    v.verify_async::<serde_json::Value>(&k2.token(ISS)).await.unwrap();
    assert_eq!(state.fetches(), 3);
}

#[tokio::test(start_paused = true)]
async fn a_kid_that_joined_an_older_fetch_is_not_remembered_as_missing() {
    let k1 = TestKey::new("k1");
    let k2 = TestKey::new("k2");
    let (source, state, gate) = gated(&[&k1]);
    let cache = JwksCache::builder(source).cooldown(Duration::from_secs(30)).build().await.unwrap();
    let v = verifier(cache.clone());

    gate.send_replace(false);
    let first = tokio::spawn(cache.refresh_unknown(&query("x")).expect("first unknown kid refreshes"));
    until(|| state.fetches() == 2).await;
    state.serve(&[&k1, &k2]);
    let joined = cache.refresh_unknown(&query("k2")).expect("joins the fetch in flight");
    gate.send_replace(true);
    first.await.unwrap();
    joined.await;

    // Still within the cooldown, another fetch is in flight (here `refresh_now`): k2 is
    // not in the negative cache, so its token joins that fetch and is accepted.
    gate.send_replace(false);
    let refresh = tokio::spawn({
        let cache = cache.clone();
        async move { cache.refresh_now().await }
    });
    until(|| state.fetches() == 3).await;
    let again = cache.refresh_unknown(&query("k2")).expect("k2 joins the fetch in flight");
    gate.send_replace(true);
    refresh.await.unwrap().unwrap();
    again.await;
    v.verify(&k2.token(ISS)).unwrap();
    assert_eq!(state.fetches(), 3);
}

#[tokio::test(start_paused = true)]
async fn max_stale_holds_while_the_refresh_task_is_stuck_in_a_fetch() {
    let k1 = TestKey::new("k1");
    let (source, state, gate) = gated(&[&k1]);
    let cache = JwksCache::builder(source)
        .refresh_interval(Duration::from_secs(10))
        .min_refresh_interval(Duration::from_secs(1))
        .fetch_timeout(Duration::from_secs(24 * 3600))
        .max_stale(Duration::from_secs(60))
        .build()
        .await
        .unwrap();
    let v = verifier(cache.clone());
    gate.send_replace(false);

    // The regular refresh starts within 10 s and hangs; it times out after 24 h, and its
    // retry hangs again: the task cannot mark the keys.
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert_eq!(state.fetches(), 2);
    v.verify(&k1.token(ISS)).unwrap();
    // The keys serve until max_stale after the refresh was due (9-10 s) and should have
    // finished (fetch_timeout): 24 h + 69-70 s.
    tokio::time::sleep(Duration::from_secs(24 * 3600 + 38)).await;
    assert_eq!(state.fetches(), 3, "the retry hangs");
    v.verify(&k1.token(ISS)).unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let err = v.verify(&k1.token(ISS)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::KeysUnavailable);
    assert_eq!(err.retry_after_secs(), Some(5));
    let health = cache.health();
    assert!(health.unavailable && !health.is_ready(), "{health:?}");

    // The fetch completes: the keys serve again.
    gate.send_replace(true);
    cache.refresh_now().await.unwrap();
    v.verify(&k1.token(ISS)).unwrap();
    assert!(cache.health().is_ready());
}

#[test]
fn max_stale_holds_after_the_refresh_task_is_gone() {
    let k1 = TestKey::new("k1");
    let (source, _, _) = scripted(&[&k1]);
    let first = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let cache = first.block_on(JwksCache::builder(source).max_stale(Duration::from_secs(60)).build()).unwrap();
    // The refresh task ends with its runtime.
    drop(first);
    let paused = tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().unwrap();
    paused.block_on(async {
        let v = verifier(cache.clone());
        v.verify(&k1.token(ISS)).unwrap();
        // The keys serve until max_stale after the refresh due at 270-300 s (the default
        // interval) has had its fetch_timeout (15 s): 345-375 s.
        tokio::time::advance(Duration::from_secs(344)).await;
        v.verify(&k1.token(ISS)).unwrap();
        tokio::time::advance(Duration::from_secs(32)).await;
        let err = v.verify(&k1.token(ISS)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::KeysUnavailable);
        assert!(cache.health().unavailable);
        assert_eq!(cache.refresh_now().await.unwrap_err(), JwksError::Stopped);
    });
}

#[test]
fn a_lookup_past_the_deadline_asks_the_refresh_task_for_a_fetch() {
    let k1 = TestKey::new("k1");
    let (source, state, _) = scripted(&[&k1]);
    // The refresh task runs on its own thread, on the real clock: its next regular fetch
    // is minutes away.
    let tasks = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let cache = tasks.block_on(JwksCache::builder(source).max_stale(Duration::from_secs(60)).build()).unwrap();
    assert_eq!(state.fetches(), 1);
    // A lookup whose clock is past the deadline (the task is late): the keys stop
    // serving, and the task is asked for a fetch at once rather than at its next wake.
    let paused = tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().unwrap();
    paused.block_on(async {
        tokio::time::advance(Duration::from_secs(400)).await;
        let err = verifier(cache.clone()).verify(&k1.token(ISS)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::KeysUnavailable);
    });
    for _ in 0..500 {
        if cache.health().is_ready() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(state.fetches(), 2);
    // Read on the real clock, as the task's fetch was: the keys serve again.
    assert!(cache.health().is_ready(), "{:?}", cache.health());
    verifier(cache.clone()).verify(&k1.token(ISS)).unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_cache_that_never_refreshes_keeps_serving_past_max_stale() {
    let k1 = TestKey::new("k1");
    let (source, state, _) = scripted(&[&k1]);
    // No regular refresh, ever; max_stale is the default 24 h.
    let cache = JwksCache::builder(source)
        .refresh_interval(Duration::MAX)
        .max_refresh_interval(Duration::MAX)
        .build()
        .await
        .unwrap();
    let v = verifier(cache.clone());
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_secs(24 * 3600)).await;
        v.verify(&k1.token(ISS)).unwrap();
    }
    tokio::time::sleep(Duration::from_secs(5 * 365 * 24 * 3600)).await;
    v.verify(&k1.token(ISS)).unwrap();
    let health = cache.health();
    assert!(health.is_ready() && !health.serving_stale && !health.unavailable, "{health:?}");
    assert_eq!(state.fetches(), 1, "never refreshed");
}

/// A source that answers like [`Scripted`], with a `Cache-Control: max-age` hint.
struct Hinted {
    state: Arc<State>,
    max_age: Duration,
}

impl KeySource for Hinted {
    fn fetch(&self) -> FetchFuture<'_> {
        self.state.fetches.fetch_add(1, Ordering::SeqCst);
        let result = self.state.keys.lock().unwrap().clone().map(|k| Fetched::new(k).refresh_in(Some(self.max_age)));
        Box::pin(async move { result })
    }
}

#[tokio::test(start_paused = true)]
async fn max_stale_shorter_than_the_refresh_interval_causes_no_gap() {
    let k1 = TestKey::new("k1");
    let (source, state, _) = scripted(&[&k1]);
    let cache = JwksCache::builder(source)
        .refresh_interval(Duration::from_secs(60))
        .min_refresh_interval(Duration::from_secs(1))
        .max_stale(Duration::from_secs(5))
        .build()
        .await
        .unwrap();
    let v = verifier(cache.clone());
    for _ in 0..600 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        v.verify(&k1.token(ISS)).unwrap();
        assert!(cache.health().is_ready());
    }
    assert!(state.fetches() >= 10, "refreshed every minute: {}", state.fetches());

    // Fetches fail from now on: the keys stop serving max_stale after the refresh that
    // was due (within a minute) had its fetch_timeout (15 s) to finish.
    state.fail();
    tokio::time::sleep(Duration::from_secs(81)).await;
    assert_eq!(v.verify(&k1.token(ISS)).unwrap_err().kind(), ErrorKind::KeysUnavailable);
    state.serve(&[&k1]);
    cache.refresh_now().await.unwrap();
    v.verify(&k1.token(ISS)).unwrap();
}

#[tokio::test(start_paused = true)]
async fn max_stale_shorter_than_the_max_age_hint_causes_no_gap() {
    let k1 = TestKey::new("k1");
    let (scripted, state, _) = scripted(&[&k1]);
    let source = Hinted { state: Arc::clone(&scripted.state), max_age: Duration::from_secs(120) };
    let cache = JwksCache::builder(source).max_stale(Duration::from_secs(10)).build().await.unwrap();
    let v = verifier(cache.clone());
    for _ in 0..1200 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        v.verify(&k1.token(ISS)).unwrap();
    }
    assert!(state.fetches() >= 10, "refreshed every 2 minutes: {}", state.fetches());
    assert!(cache.health().is_ready());
}

#[tokio::test(start_paused = true)]
async fn durations_up_to_duration_max_do_not_overflow() {
    let k1 = TestKey::new("k1");
    let (source, state, _) = scripted(&[&k1]);
    let cache = JwksCache::builder(source)
        .refresh_interval(Duration::MAX)
        .max_refresh_interval(Duration::MAX)
        .max_stale(Duration::MAX)
        .cooldown(Duration::MAX)
        .retry_backoff(Duration::MAX, Duration::MAX)
        .fetch_timeout(Duration::MAX)
        .build()
        .await
        .unwrap();
    let v = verifier(cache.clone());
    v.verify(&k1.token(ISS)).unwrap();
    cache.refresh_now().await.unwrap();
    state.fail();
    assert_eq!(cache.refresh_now().await.unwrap_err(), JwksError::Source("down".into()));
    assert_eq!(cache.refresh_now().await.unwrap_err(), JwksError::Source("down".into()));
    tokio::time::advance(Duration::from_secs(10 * 365 * 24 * 3600)).await;
    v.verify(&k1.token(ISS)).unwrap();
    let health = cache.health();
    assert!(health.is_ready() && health.serving_stale, "{health:?}");
    // A kid unknown now refreshes once; the cooldown (capped at 30 years) holds after.
    assert!(cache.refresh_unknown(&query("new")).is_some());
    assert!(cache.refresh_unknown(&query("newer")).is_some(), "joins the fetch in flight");
}

#[tokio::test]
async fn concurrent_unknown_kids_share_one_fetch() {
    let k1 = TestKey::new("k1");
    let (source, state, _) = scripted(&[&k1]);
    let cache = JwksCache::builder(source).build().await.unwrap();
    let futures: Vec<_> =
        (0..100).map(|i| cache.refresh_unknown(&query(&format!("x{i}"))).expect("first wave refreshes")).collect();
    for f in futures {
        f.await;
    }
    assert_eq!(state.fetches(), 2);
}

#[tokio::test]
async fn deny_kid_removes_at_once_and_keeps_it_out() {
    let k1 = TestKey::new("k1");
    let k2 = TestKey::new("k2");
    let (source, state, _) = scripted(&[&k1, &k2]);
    let cache = JwksCache::builder(source).build().await.unwrap();
    let v = verifier(cache.clone());
    v.verify(&k1.token(ISS)).unwrap();

    assert!(cache.deny_kid("k1"));
    assert_eq!(v.verify(&k1.token(ISS)).unwrap_err().kind(), ErrorKind::UnknownKey);
    // The source still lists k1: it stays out.
    cache.refresh_now().await.unwrap();
    assert_eq!(v.verify(&k1.token(ISS)).unwrap_err().kind(), ErrorKind::UnknownKey);
    assert!(cache.keys().get("k1").is_none());
    v.verify(&k2.token(ISS)).unwrap();
    assert!(!cache.deny_kid("absent"));

    // A set of only denied keys is refused; k2 keeps serving.
    state.serve(&[&k1]);
    let err = cache.refresh_now().await.unwrap_err();
    assert!(matches!(err, JwksError::NoUsableKeys { .. }));
    v.verify(&k2.token(ISS)).unwrap();

    // Lifting the denial: k1 comes back with the next key set, not before.
    assert!(cache.allow_kid("k1"));
    assert!(!cache.allow_kid("k1"));
    assert_eq!(v.verify(&k1.token(ISS)).unwrap_err().kind(), ErrorKind::UnknownKey);
    state.serve(&[&k1, &k2]);
    cache.refresh_now().await.unwrap();
    v.verify(&k1.token(ISS)).unwrap();
}

#[tokio::test]
async fn the_task_stops_when_the_last_clone_is_dropped() {
    let k1 = TestKey::new("k1");
    let (source, _, dropped) = scripted(&[&k1]);
    let cache = JwksCache::builder(source).build().await.unwrap();
    let clone = cache.clone();
    drop(cache);
    tokio::task::yield_now().await;
    assert!(!dropped.load(Ordering::SeqCst));
    drop(clone);
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert!(dropped.load(Ordering::SeqCst), "the source (and the cache) must be freed");
}

#[tokio::test]
async fn bound_cache_refuses_other_issuers_before_any_refresh() {
    let k1 = TestKey::new("k1");
    let (source, state, _) = scripted(&[&k1]);
    let cache = JwksCache::builder(source).bind_issuer(ISS).build().await.unwrap();
    let v = verifier(cache.clone());
    v.verify(&k1.token(ISS)).unwrap();
    let err = v.verify_async::<serde_json::Value>(&k1.token_with_kid("https://tenant-b.example", "zz")).await;
    assert_eq!(err.unwrap_err().kind(), ErrorKind::InvalidIssuer);
    assert_eq!(v.verify(&k1.token("https://tenant-b.example")).unwrap_err().kind(), ErrorKind::InvalidIssuer);
    assert_eq!(state.fetches(), 1, "a token of another issuer never causes a fetch");
}

#[tokio::test]
async fn static_key_set_is_a_source() {
    let key = Key::hmac(Algorithm::HS256, &[9; 32]).unwrap().with_kid("h1");
    let cache = JwksCache::builder(KeySet::new([key]).unwrap()).build().await.unwrap();
    assert!(cache.resolve(&KeyQuery { kid: Some("h1"), alg: Algorithm::HS256, issuer: None }).is_ok());
    let health = cache.health();
    assert_eq!(health.key_count, 1);
    assert_eq!(health.source, "static keys");
    // Unchanged keys are not swapped on refresh.
    let generation = health.generation;
    cache.refresh_now().await.unwrap();
    assert_eq!(cache.health().generation, generation);
}

#[tokio::test]
async fn invalid_configuration_is_refused() {
    let key = || KeySet::new([Key::hmac(Algorithm::HS256, &[9; 32]).unwrap()]).unwrap();
    let err = JwksCache::builder(key())
        .min_refresh_interval(Duration::from_secs(10))
        .max_refresh_interval(Duration::from_secs(1))
        .build()
        .await
        .unwrap_err();
    assert!(matches!(err, JwksError::Config(_)));
    let err = JwksCache::builder(key()).retry_backoff(Duration::ZERO, Duration::from_secs(1)).build().await;
    assert!(matches!(err.unwrap_err(), JwksError::Config(_)));
    let err = JwksCache::builder(KeySet::empty()).build().await.unwrap_err();
    assert!(matches!(err, JwksError::NoUsableKeys { .. }));
}

#[test]
fn building_outside_a_runtime_is_an_error() {
    let key = KeySet::new([Key::hmac(Algorithm::HS256, &[9; 32]).unwrap()]).unwrap();
    let fut = JwksCache::builder(key).build();
    // Polled by a bare executor without a tokio runtime.
    let err = futures_lite_block_on(fut).unwrap_err();
    assert_eq!(err, JwksError::NoRuntime);
}

/// A minimal executor, enough for a future that completes without waking.
fn futures_lite_block_on<F: std::future::Future>(fut: F) -> F::Output {
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    let mut fut = std::pin::pin!(fut);
    loop {
        if let std::task::Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

#[tokio::test(start_paused = true)]
async fn health_reports_the_unknown_kid_rate() {
    let k1 = TestKey::new("k1");
    let (source, _, _) = scripted(&[&k1]);
    let cache = JwksCache::builder(source).build().await.unwrap();
    let _ = cache.health();
    for i in 0..50 {
        let kid = format!("u{i}");
        assert!(cache.resolve(&query(&kid)).is_err());
    }
    tokio::time::advance(Duration::from_secs(10)).await;
    let health = cache.health();
    assert_eq!(health.unknown_kid_total, 50);
    assert!((health.unknown_kid_rate - 5.0).abs() < 0.01, "{}", health.unknown_kid_rate);
}

/// Rotates, fails, recovers and denies a kid, with HMAC keys made of `secret`.
async fn audited_scenario(secret: [u8; 48]) {
    let hs256 = Key::hmac(Algorithm::HS256, &secret).unwrap().with_kid("rotating");
    let hs384 = Key::hmac(Algorithm::HS384, &secret).unwrap().with_kid("rotating");
    let other = Key::hmac(Algorithm::HS256, &[1; 32]).unwrap().with_kid("other");
    let state =
        Arc::new(State { keys: Mutex::new(Ok(KeySet::new([hs256, other]).unwrap())), fetches: AtomicUsize::new(0) });
    let source = Scripted { state: Arc::clone(&state), _dropped: DropFlag(Arc::new(AtomicBool::new(false))) };
    let cache = JwksCache::builder(source).build().await.unwrap();

    *state.keys.lock().unwrap() = Ok(KeySet::new([hs384]).unwrap());
    cache.refresh_now().await.unwrap();
    state.fail();
    cache.refresh_now().await.unwrap_err();
    *state.keys.lock().unwrap() =
        Ok(KeySet::new([Key::hmac(Algorithm::HS384, &secret).unwrap().with_kid("rotating")]).unwrap());
    cache.refresh_now().await.unwrap();
    cache.deny_kid("rotating");
}

#[tokio::test]
async fn audit_events_name_kids_and_algorithms_but_no_key_material() {
    let secret = [0x5a_u8; 48];
    // Once without a subscriber: registers the log call sites from this thread first.
    // (A call site another test thread registers while this test installs its
    // subscriber can miss the subscriber, and its events would not be captured.)
    audited_scenario(secret).await;
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt().with_ansi(false).with_writer(move || writer.clone()).finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    tracing::callsite::rebuild_interest_cache();
    audited_scenario(secret).await;

    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(log.contains("key added") && (log.contains("kid=\"other\"") || log.contains("kid=other")), "{log}");
    assert!(log.contains("algorithm changed for an existing kid"), "{log}");
    assert!(log.contains("HS384") && log.contains("HS256"), "{log}");
    assert!(log.contains("key removed"), "{log}");
    assert!(log.contains("key fetch failed"), "{log}");
    assert!(log.contains("key fetch recovered"), "{log}");
    assert!(log.contains("kid denied"), "{log}");
    use base64::Engine;
    for encoded in [
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret),
        base64::engine::general_purpose::STANDARD.encode(secret),
    ] {
        assert!(!log.contains(&encoded), "key material in the log");
    }
    assert!(!log.contains("5a5a5a") && !log.contains("90, 90"), "key material in the log");
}
