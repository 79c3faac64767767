//! JWKS cache benchmarks: key lookup (one atomic load and a hash lookup) and RS256
//! verification throughput through the cache with 1 and 2 threads.
//!
//! Run: `cargo bench -p tokengate-jwks -- --warm-up-time 1 --measurement-time 3`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tokengate_core::{Algorithm, KeyQuery, KeyResolver, KeySet, Verifier};
use tokengate_jwks::{Issuers, JwksCache};
use tokengate_test_support::{AUDIENCE, ISSUER, fixture};

fn jwks_doc() -> Vec<u8> {
    // The fixture key plus nine others, as a provider mid-rotation might publish.
    let mut keys = vec![fixture(Algorithm::RS256).jwk()];
    for i in 0..9 {
        let mut jwk = fixture(Algorithm::ES256).jwk();
        jwk["kid"] = format!("es256-extra-{i}").into();
        keys.push(jwk);
    }
    serde_json::json!({ "keys": keys }).to_string().into_bytes()
}

fn build(rt: &tokio::runtime::Runtime) -> (JwksCache, Issuers) {
    let (set, _) = KeySet::from_jwks_json(&jwks_doc()).unwrap();
    rt.block_on(async {
        let cache = JwksCache::builder(set.clone()).bind_issuer(ISSUER).build().await.unwrap();
        let mut caches = vec![cache.clone()];
        for i in 0..9 {
            let other = JwksCache::builder(set.clone()).bind_issuer(format!("https://tenant-{i}.example"));
            caches.push(other.build().await.unwrap());
        }
        (cache, Issuers::from_caches(caches).unwrap())
    })
}

fn lookup(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (cache, issuers) = build(&rt);
    let (set, _) = KeySet::from_jwks_json(&jwks_doc()).unwrap();
    let kid = fixture(Algorithm::RS256).kid().to_owned();
    let query = KeyQuery { kid: Some(&kid), alg: Algorithm::RS256, issuer: Some(ISSUER) };
    let mut group = c.benchmark_group("jwks/lookup");
    group.bench_function("KeySet (no swap, baseline)", |b| b.iter(|| set.resolve(black_box(&query)).unwrap()));
    group.bench_function("JwksCache", |b| b.iter(|| cache.resolve(black_box(&query)).unwrap()));
    group.bench_function("Issuers (10 issuers)", |b| b.iter(|| issuers.resolve(black_box(&query)).unwrap()));
    let unknown = KeyQuery { kid: Some("nope"), ..query };
    group.bench_function("JwksCache unknown kid", |b| b.iter(|| cache.resolve(black_box(&unknown)).unwrap_err()));
    group.finish();
}

/// Runs `iters` verifications split over `threads` threads; returns the wall time.
fn verify_on(verifier: &Verifier, token: &str, threads: u64, iters: u64) -> Duration {
    let per_thread = iters.div_ceil(threads);
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                for _ in 0..per_thread {
                    black_box(verifier.verify(black_box(token)).unwrap());
                }
            });
        }
    });
    start.elapsed()
}

fn verify(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (cache, _issuers) = build(&rt);
    let verifier = Verifier::builder(cache).issuer(ISSUER).audience(AUDIENCE).algorithms([Algorithm::RS256]);
    let verifier = verifier.build().unwrap();
    let (set, _) = KeySet::from_jwks_json(&jwks_doc()).unwrap();
    let baseline = Verifier::builder(set.bind_issuer(ISSUER)).issuer(ISSUER).audience(AUDIENCE);
    let baseline = baseline.algorithms([Algorithm::RS256]).build().unwrap();
    let token = fixture(Algorithm::RS256).token().sign();
    verifier.verify(&token).unwrap();
    baseline.verify(&token).unwrap();
    let mut group = c.benchmark_group("jwks/verify RS256");
    group.throughput(Throughput::Elements(1));
    for threads in [1_u64, 2] {
        group.bench_function(format!("JwksCache, {threads} thread(s)"), |b| {
            b.iter_custom(|iters| verify_on(&verifier, &token, threads, iters));
        });
        group.bench_function(format!("KeySet baseline, {threads} thread(s)"), |b| {
            b.iter_custom(|iters| verify_on(&baseline, &token, threads, iters));
        });
    }
    group.finish();
}

criterion_group!(benches, lookup, verify);
criterion_main!(benches);
