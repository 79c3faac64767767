//! The cost of an introspection cache hit against a bare RS256 `Verifier::verify`
//! (target: under 0.1x), and the number of calls a flood of one unknown token makes.
//!
//! Run: `cargo bench -p tokengate-introspection --bench introspection`
//!
//! The answer is fetched once from a local endpoint (axum on 127.0.0.1:0); every measured
//! call is then a cache hit: HMAC-SHA256 of the token, a moka lookup, the clock check and
//! a fresh `Verified` (registered claims and raw claims cloned).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::post;
use criterion::{Criterion, criterion_group, criterion_main};
use tokengate_core::{Algorithm, Verified};
use tokengate_introspection::{ClientAuth, Introspector};
use tokengate_test_support::{AUDIENCE, TokenBuilder, verifier};

const TOKEN: &str = "opaque-access-token-0123456789abcdef0123456789";

/// Polls a future that is ready at once (a cache hit does no I/O).
fn now<F: Future>(future: F) -> F::Output {
    let mut cx = Context::from_waker(Waker::noop());
    match pin!(future).poll(&mut cx) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the cache hit did not complete at once"),
    }
}

fn hit(introspector: &Introspector) -> Verified {
    now(introspector.introspect(black_box(TOKEN))).unwrap()
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let introspector = rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let exp = tokengate_test_support::now() + 3600;
        let body = format!(
            r#"{{"active":true,"sub":"alice","aud":"{AUDIENCE}","iss":"{base}","exp":{exp},"scope":"orders:read","client_id":"web"}}"#
        );
        let app = Router::new().route(
            "/introspect",
            post(move || {
                let body = body.clone();
                counter.fetch_add(1, Ordering::SeqCst);
                async move {
                    // Slow enough that a flood piles up behind the first call.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    ([("content-type", "application/json")], body)
                }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Introspector::builder(base.clone(), AUDIENCE)
            .client_auth(ClientAuth::secret_basic("orders-api", "secret"))
            .endpoint(format!("{base}/introspect"))
            .build()
            .await
            .unwrap()
    });

    // A flood of one unknown token: 10,000 concurrent requests, one call.
    rt.block_on(async {
        let tasks: Vec<_> = (0..10_000)
            .map(|_| {
                let introspector = introspector.clone();
                tokio::spawn(async move { introspector.introspect(TOKEN).await.map(|_| ()) })
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
    });
    #[allow(clippy::print_stdout)]
    {
        println!(
            "flood of one unknown token: 10000 concurrent requests, {} introspection call(s)",
            calls.load(Ordering::SeqCst)
        );
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    let token = TokenBuilder::new(Algorithm::RS256).sign();
    let rs256 = verifier(Algorithm::RS256).build().unwrap();
    rs256.verify(&token).unwrap();
    assert_eq!(hit(&introspector).subject(), Some("alice"));

    let mut group = c.benchmark_group("introspection");
    group.bench_function("RS256 Verifier::verify", |b| b.iter(|| rs256.verify(black_box(&token)).unwrap()));
    group.bench_function("introspection cache hit", |b| b.iter(|| hit(&introspector)));
    group.finish();
    paired(&rs256, &token, &introspector);
    assert_eq!(calls.load(Ordering::SeqCst), 1, "every measured call was a cache hit");
}

/// Both measurements interleaved in short rounds (order flipping every round), the ratio
/// taken within each round, then the median over rounds.
#[allow(clippy::print_stdout)]
fn paired(rs256: &tokengate_core::Verifier, token: &str, introspector: &Introspector) {
    const ROUNDS: usize = 201;
    const ITERS: u32 = 200;
    let mut rounds: Vec<[f64; 2]> = Vec::with_capacity(ROUNDS);
    for round in 0..ROUNDS {
        let mut times = [0.0; 2];
        for step in 0..2 {
            let which = if round % 2 == 0 { step } else { 1 - step };
            let start = Instant::now();
            for _ in 0..ITERS {
                match which {
                    0 => drop(black_box(rs256.verify(black_box(token)))),
                    _ => drop(black_box(hit(introspector))),
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
    let verify = median(rounds.iter().map(|r| r[0]).collect());
    let cached = median(rounds.iter().map(|r| r[1]).collect());
    let ratio = median(rounds.iter().map(|[v, h]| h / v).collect());
    println!(
        "paired ({ROUNDS} rounds x {ITERS}), medians in us: RS256 verify {verify:.3}, introspection cache hit \
         {cached:.3} | cache hit / RS256 verify = {ratio:.4} (1/{:.1})",
        1.0 / ratio
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
