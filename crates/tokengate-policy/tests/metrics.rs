//! Metrics (feature `metrics`): each denial by the layer is counted under its policy's
//! name; allowed requests are not.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::convert::Infallible;
use std::sync::Arc;

use http::{Request, Response, StatusCode};
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use tokengate_core::{Algorithm, FixedClock, Verified};
use tokengate_policy::{POLICY_DENIALS, PolicyLayer, Scope};
use tokengate_test_support::{TokenBuilder, verifier};
use tower::{ServiceBuilder, ServiceExt, service_fn};

const NOW: i64 = 1_800_000_000;

fn token(scope: &str) -> Arc<Verified> {
    let jwt = TokenBuilder::at(Algorithm::HS256, NOW).claim("scope", scope).sign();
    Arc::new(verifier(Algorithm::HS256).clock(FixedClock::new(NOW)).build().unwrap().verify(&jwt).unwrap())
}

#[test]
fn denials_are_counted_by_policy() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let service = ServiceBuilder::new()
        .layer(PolicyLayer::new(Scope::all_of(["orders:read"])))
        .service(service_fn(|_: Request<()>| async { Ok::<_, Infallible>(Response::new(String::new())) }));
    let request = |scope: &str| {
        let mut r = Request::new(());
        r.extensions_mut().insert(token(scope));
        r
    };
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    metrics::with_local_recorder(&recorder, || {
        rt.block_on(async {
            assert_eq!(service.clone().oneshot(request("orders:read")).await.unwrap().status(), StatusCode::OK);
            for _ in 0..3 {
                let status = service.clone().oneshot(request("other")).await.unwrap().status();
                assert_eq!(status, StatusCode::FORBIDDEN);
            }
        });
    });
    let snapshot = snapshotter.snapshot().into_vec();
    let denials: Vec<_> = snapshot.iter().filter(|(key, ..)| key.key().name() == POLICY_DENIALS).collect();
    assert_eq!(denials.len(), 1, "{denials:?}");
    let (key, .., value) = denials[0];
    assert_eq!(key.key().labels().map(|l| (l.key(), l.value())).collect::<Vec<_>>(), [("policy", "scope")]);
    assert_eq!(*value, DebugValue::Counter(3));
}
