//! Per-request cost of `JwtAuthLayer` in an axum router, in process: the same router
//! without the layer, with it, and with the verified-token cache, against a bare
//! `Verifier::verify`, for RS256 and ES256.
//!
//! Run: `cargo bench -p tokengate-tower --all-features --bench layer -- --warm-up-time 1 --measurement-time 3`
//!
//! layer cost = (router with layer) - (router without layer); its ratio to the bare verify
//! is the layer's overhead over the crypto and claim checks themselves (target <= 1.10).
//! cache hit cost = (router with cached layer) - (router without layer) (target <= 1/10 of
//! a bare RS256 verify).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use criterion::{Criterion, criterion_group, criterion_main};
use http::header::AUTHORIZATION;
use http::{HeaderValue, Request, StatusCode};
use tokengate_tower::JwtAuthLayer;
use tower::ServiceExt;

/// Polls a future that is ready at once (an in-process router call does no I/O).
fn now<F: Future>(future: F) -> F::Output {
    let mut cx = Context::from_waker(Waker::noop());
    match pin!(future).poll(&mut cx) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the router call did not complete at once"),
    }
}

fn call(router: &Router, authorization: &HeaderValue) -> StatusCode {
    let request =
        Request::builder().uri("/me").header(AUTHORIZATION, authorization.clone()).body(Body::empty()).unwrap();
    now(router.clone().oneshot(request)).unwrap().status()
}

fn bench(c: &mut Criterion) {
    for (name, fixture) in [("RS256", common::rsa()), ("ES256", common::es256())] {
        let mut claims = common::claims("bench-user");
        claims["exp"] = (common::now() + 3600).into();
        let token = fixture.token(&claims);
        let authorization = HeaderValue::from_str(&format!("Bearer {token}")).unwrap();
        let verifier = fixture.verifier();

        let bare = Router::new().route("/me", get(|| async { "ok" }));
        let with_layer = bare.clone().route_layer(JwtAuthLayer::new(verifier.clone()));
        let cached = bare.clone().route_layer(JwtAuthLayer::new(verifier.clone()).cache_verified_tokens(10_000));
        assert_eq!(call(&bare, &authorization), StatusCode::OK);
        assert_eq!(call(&with_layer, &authorization), StatusCode::OK);
        assert_eq!(call(&cached, &authorization), StatusCode::OK);
        assert_eq!(call(&with_layer, &HeaderValue::from_static("Bearer a.b.c")), StatusCode::UNAUTHORIZED);

        let mut group = c.benchmark_group(name);
        group.bench_function("verify (bare Verifier::verify)", |b| {
            b.iter(|| verifier.verify(black_box(&token)).unwrap());
        });
        group.bench_function("router without layer", |b| b.iter(|| call(&bare, black_box(&authorization))));
        group.bench_function("router with layer", |b| b.iter(|| call(&with_layer, black_box(&authorization))));
        group.bench_function("router with layer, cache hit", |b| {
            b.iter(|| call(&cached, black_box(&authorization)));
        });
        group.finish();
        paired(name, &verifier, &token, [&bare, &with_layer, &cached], &authorization);
    }
}

/// The same four measurements interleaved in short rounds (the order flipping every
/// round), and the ratios taken within each round before the median over rounds: on a
/// busy machine criterion's back-to-back runs can land in different load regimes, adjacent
/// short rounds rarely do.
#[allow(clippy::print_stdout)]
fn paired(name: &str, verifier: &tokengate_core::Verifier, token: &str, routers: [&Router; 3], auth: &HeaderValue) {
    const ROUNDS: usize = 201;
    const ITERS: u32 = 50;
    let [bare, with_layer, cached] = routers;
    let mut rounds: Vec<[f64; 4]> = Vec::with_capacity(ROUNDS);
    for round in 0..ROUNDS {
        let mut times = [0.0; 4];
        for step in 0..4 {
            let which = if round % 2 == 0 { step } else { 3 - step };
            let start = Instant::now();
            for _ in 0..ITERS {
                match which {
                    0 => drop(black_box(verifier.verify(black_box(token)))),
                    1 => drop(black_box(call(bare, auth))),
                    2 => drop(black_box(call(with_layer, auth))),
                    _ => drop(black_box(call(cached, auth))),
                }
            }
            times[which] = start.elapsed().as_secs_f64() * 1e6 / f64::from(ITERS);
        }
        rounds.push(times);
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let column = |i: usize| median(rounds.iter().map(|r| r[i]).collect());
    let layer_ratio = median(rounds.iter().map(|[v, without, with, _]| (with - without) / v).collect());
    let hit_fraction = median(rounds.iter().map(|[v, without, _, hit]| (hit - without) / v).collect());
    println!(
        "{name} paired ({ROUNDS} rounds x {ITERS}), medians in us: verify {:.2}, router without layer {:.2}, \
         with layer {:.2}, cache hit {:.2} | layer cost / verify = {layer_ratio:.3} | cache hit cost / verify = \
         {hit_fraction:.4} (1/{:.1})",
        column(0),
        column(1),
        column(2),
        column(3),
        1.0 / hit_fraction,
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
