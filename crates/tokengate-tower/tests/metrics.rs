//! Metrics (feature `metrics`): counters move as requests are accepted and refused, with
//! bounded labels (never a subject, a token, or an unverified issuer).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use common::{AUD, ISS, claims, rsa};
use http::{Request, Response, StatusCode};
use metrics::{SharedString, Unit};
use metrics_util::CompositeKey;
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use tokengate_core::{AuthError, ErrorKind, RevocationCheck, Verified};
use tokengate_tower::metrics::{
    FAILURE_LIMIT_REFUSALS, REVOCATION_CHECKS, UNKNOWN, VERIFICATION_DURATION, VERIFICATIONS, VERIFIED_TOKEN_CACHE,
};
use tokengate_tower::rate_limit::{ClientAddr, FailureRateLimitLayer};
use tokengate_tower::{Authenticator, JwtAuthLayer};
use tower::{ServiceBuilder, ServiceExt, service_fn};

/// One reading of the recorder (reading it drains it).
type Snapshot = Vec<(CompositeKey, Option<Unit>, Option<SharedString>, DebugValue)>;

fn read(snapshotter: &Snapshotter) -> Snapshot {
    snapshotter.snapshot().into_vec()
}

/// The value of the counter `name` whose labels include all of `labels` (summed).
fn counter(snapshot: &Snapshot, name: &str, labels: &[(&str, &str)]) -> u64 {
    snapshot
        .iter()
        .filter(|(key, ..)| key.key().name() == name)
        .filter(|(key, ..)| labels.iter().all(|(k, v)| key.key().labels().any(|l| l.key() == *k && l.value() == *v)))
        .map(|(.., value)| match value {
            DebugValue::Counter(n) => *n,
            other => panic!("{name} is not a counter: {other:?}"),
        })
        .sum()
}

/// Every label value recorded under any metric.
fn label_values(snapshot: &Snapshot) -> Vec<String> {
    snapshot.iter().flat_map(|(key, ..)| key.key().labels().map(|l| l.value().to_owned()).collect::<Vec<_>>()).collect()
}

fn histogram_count(snapshot: &Snapshot, name: &str, outcome: &str) -> usize {
    snapshot
        .iter()
        .filter(|(key, ..)| key.key().name() == name && key.key().labels().any(|l| l.value() == outcome))
        .map(|(.., value)| match value {
            DebugValue::Histogram(v) => v.len(),
            other => panic!("{name} is not a histogram: {other:?}"),
        })
        .sum()
}

/// Runs `f` on a current-thread runtime with `recorder` as this thread's recorder.
fn with_recorder<F: Future<Output = ()>>(recorder: &DebuggingRecorder, f: F) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    metrics::with_local_recorder(recorder, || rt.block_on(f));
}

struct RevokeSub(&'static str);

impl RevocationCheck for RevokeSub {
    fn check(&self, token: &Verified) -> Result<(), AuthError> {
        if token.subject() == Some(self.0) { Err(AuthError::new(ErrorKind::Revoked)) } else { Ok(()) }
    }
}

#[test]
fn verifications_are_counted_by_outcome_algorithm_and_issuer() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let auth =
        Authenticator::builder(rsa().verifier()).cache_verified_tokens(100).revocation(RevokeSub("mallory")).build();
    let good = rsa().token(&claims("alice"));
    let mut forged = good.clone();
    forged.truncate(good.len() - 4);
    forged.push_str(if good.ends_with("AAAA") { "BBBB" } else { "AAAA" });
    let mut foreign = claims("eve");
    foreign["iss"] = serde_json::json!("https://attacker.example/secret-subject-eve");
    let foreign = rsa().token(&foreign);
    let revoked = rsa().token(&claims("mallory"));

    with_recorder(&recorder, async {
        assert!(auth.verify(&good).await.is_ok());
        assert!(auth.verify(&good).await.is_ok()); // a cache hit
        assert_eq!(auth.verify(&forged).await.unwrap_err().kind(), ErrorKind::InvalidSignature);
        assert_eq!(auth.verify(&foreign).await.unwrap_err().kind(), ErrorKind::InvalidIssuer);
        assert_eq!(auth.verify(&revoked).await.unwrap_err().kind(), ErrorKind::Revoked);
        assert_eq!(auth.verify("not-a-jwt").await.unwrap_err().kind(), ErrorKind::Malformed);
    });

    let s = &read(&snapshotter);
    assert_eq!(counter(s, VERIFICATIONS, &[("outcome", "ok"), ("alg", "RS256"), ("issuer", ISS)]), 2);
    let refused = |outcome| counter(s, VERIFICATIONS, &[("outcome", outcome), ("alg", UNKNOWN), ("issuer", UNKNOWN)]);
    assert_eq!(refused("invalid_signature"), 1);
    assert_eq!(refused("invalid_issuer"), 1);
    assert_eq!(refused("revoked"), 1);
    assert_eq!(refused("malformed"), 1);
    assert_eq!(counter(s, VERIFICATIONS, &[]), 6);
    assert_eq!(histogram_count(s, VERIFICATION_DURATION, "ok"), 2);
    assert_eq!(histogram_count(s, VERIFICATION_DURATION, "refused"), 4);
    // Cache: the second `good` hit; every other JWT (the malformed token included) missed.
    assert_eq!(counter(s, VERIFIED_TOKEN_CACHE, &[("result", "hit")]), 1);
    assert_eq!(counter(s, VERIFIED_TOKEN_CACHE, &[("result", "miss")]), 5);
    // Revocation: alice twice (one of them cached), mallory once.
    assert_eq!(counter(s, REVOCATION_CHECKS, &[("outcome", "ok")]), 2);
    assert_eq!(counter(s, REVOCATION_CHECKS, &[("outcome", "revoked")]), 1);
    // Bounded labels: no unverified issuer, no subject, no token.
    for value in label_values(s) {
        assert!(!value.contains("attacker") && !value.contains("alice") && !value.contains("eve"), "{value}");
        assert!(!value.contains(&good) && value.len() < 64, "{value}");
    }
}

#[test]
fn failure_limit_refusals_are_counted() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let service = ServiceBuilder::new()
        .layer(FailureRateLimitLayer::new(NonZeroU32::new(2).unwrap(), Duration::from_secs(60)).unwrap())
        .layer(JwtAuthLayer::new(rsa().verifier()))
        .service(service_fn(|_: Request<()>| async { Ok::<_, Infallible>(Response::new(String::new())) }));
    let attacker: SocketAddr = "192.0.2.7:40000".parse().unwrap();
    let request = |token: &str| {
        let mut r = Request::builder().header("authorization", format!("Bearer {token}")).body(()).unwrap();
        r.extensions_mut().insert(ClientAddr(attacker));
        r
    };
    with_recorder(&recorder, async {
        let mut statuses = Vec::new();
        for _ in 0..4 {
            statuses.push(service.clone().oneshot(request("a.b.c")).await.unwrap().status());
        }
        assert_eq!(
            statuses,
            [
                StatusCode::UNAUTHORIZED,
                StatusCode::UNAUTHORIZED,
                StatusCode::TOO_MANY_REQUESTS,
                StatusCode::TOO_MANY_REQUESTS
            ]
        );
    });
    let s = &read(&snapshotter);
    assert_eq!(counter(s, FAILURE_LIMIT_REFUSALS, &[]), 2);
    // The two refused tokens were verified (and counted); the 429s ran no verification.
    assert_eq!(counter(s, VERIFICATIONS, &[("outcome", "invalid_encoding")]), 2);
    assert_eq!(counter(s, VERIFICATIONS, &[]), 2);
}

#[test]
fn nothing_is_recorded_without_a_recorder_and_nothing_breaks() {
    let auth = Authenticator::new(rsa().verifier());
    let token = rsa().token(&claims("alice"));
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    assert_eq!(rt.block_on(auth.verify(&token)).unwrap().subject(), Some("alice"));
    let _ = (AUD, ISS);
}
