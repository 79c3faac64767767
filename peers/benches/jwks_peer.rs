//! tokengate's JWKS cache side by side with jwt-authorizer 0.15's JWKS key store, in the
//! same run, with the same RSA key, the same JWKS served by the same local server, and
//! the same token.
//!
//! jwt-authorizer keeps its JWKS key store behind a `tokio::sync::Mutex` that every
//! verification takes, and holds it across the refresh fetch. tokengate's lookup is one
//! atomic load; refreshes run in a background task.
//!
//! Run: `cd peers && cargo bench --bench jwks_peer -- --warm-up-time 1 --measurement-time 3`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::hint::black_box;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use jwt_authorizer::{Authorizer, AuthorizerBuilder, Refresh, RefreshStrategy, RegisteredClaims, Validation};
use tokengate_core::{Algorithm, Verifier};
use tokengate_jwks::{HttpClient, JwksCache, UrlSource};
use tokengate_test_support::{AUDIENCE, ISSUER, b64, fixture};

/// How long the JWKS endpoint takes to answer (a provider across a network).
const JWKS_LATENCY: Duration = Duration::from_millis(50);

/// Serves `body` on 127.0.0.1 after `JWKS_LATENCY`, one thread per connection.
fn serve_jwks(body: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/jwks", listener.local_addr().unwrap());
    let body = Arc::new(body);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let body = Arc::clone(&body);
            std::thread::spawn(move || {
                let mut buf = [0_u8; 4096];
                let mut seen = Vec::new();
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                std::thread::sleep(JWKS_LATENCY);
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(body.as_bytes());
            });
        }
    });
    url
}

struct Setup {
    token: String,
    ours: Verifier,
    theirs: Arc<Authorizer<RegisteredClaims>>,
}

fn setup(rt: &tokio::runtime::Runtime) -> Setup {
    let key = fixture(Algorithm::RS256);
    let url = serve_jwks(serde_json::json!({ "keys": [key.jwk()] }).to_string());
    let token = key.token().sign();
    rt.block_on(async {
        let source = UrlSource::new(&url, HttpClient::new().unwrap()).unwrap();
        // No cooldown: every unknown kid may refresh, as jwt-authorizer is set up below.
        let cache = JwksCache::builder(source).cooldown(Duration::ZERO).build().await.unwrap();
        let ours = Verifier::builder(cache).issuer(ISSUER).audience(AUDIENCE).algorithms([Algorithm::RS256]);
        let ours = ours.build().unwrap();
        // Refresh on every unknown kid (KeyNotFound, no minimum interval).
        let refresh = Refresh {
            strategy: RefreshStrategy::KeyNotFound,
            refresh_interval: Duration::ZERO,
            retry_interval: Duration::ZERO,
        };
        let theirs = AuthorizerBuilder::<RegisteredClaims>::from_jwks_url(&url)
            .validation(Validation::new().iss(&[ISSUER]).aud(&[AUDIENCE]))
            .refresh(refresh)
            .build()
            .await
            .unwrap();
        // Both load the JWKS and accept the token before measuring.
        ours.verify_async::<serde_json::Value>(&token).await.unwrap();
        theirs.check_auth(&token).await.unwrap();
        Setup { token, ours, theirs: Arc::new(theirs) }
    })
}

/// A token naming a kid nobody has (the signature is never reached).
fn unknown_kid_token(valid: &str, n: u64) -> String {
    let payload = valid.split('.').nth(1).unwrap();
    let header = format!(r#"{{"alg":"RS256","typ":"JWT","kid":"unknown-{n}"}}"#);
    format!("{}.{payload}.{}", b64(header), b64([7_u8; 256]))
}

async fn ours_loop(s: Arc<Setup>, n: u64) {
    for _ in 0..n {
        black_box(s.ours.verify_async::<serde_json::Value>(black_box(&s.token)).await.unwrap());
    }
}

async fn theirs_loop(s: Arc<Setup>, n: u64) {
    for _ in 0..n {
        black_box(s.theirs.check_auth(black_box(&s.token)).await.unwrap());
    }
}

fn steady(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let s = Arc::new(setup(&rt));
    let mut group = c.benchmark_group("peer/verify RS256 via JWKS");
    group.throughput(Throughput::Elements(1));
    for threads in [1_u64, 2] {
        group.bench_function(format!("tokengate JwksCache, {threads} thread(s)"), |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    let tasks: Vec<_> =
                        (0..threads).map(|_| tokio::spawn(ours_loop(Arc::clone(&s), iters.div_ceil(threads)))).collect();
                    for t in tasks {
                        t.await.unwrap();
                    }
                    start.elapsed()
                })
            });
        });
        group.bench_function(format!("jwt-authorizer KeyStore, {threads} thread(s)"), |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    let tasks: Vec<_> = (0..threads)
                        .map(|_| tokio::spawn(theirs_loop(Arc::clone(&s), iters.div_ceil(threads))))
                        .collect();
                    for t in tasks {
                        t.await.unwrap();
                    }
                    start.elapsed()
                })
            });
        });
    }
    group.finish();
}

/// The latency of one valid verification while a refresh caused by an unknown kid is
/// in flight against a JWKS endpoint that takes 50 ms to answer.
fn during_refresh(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let s = Arc::new(setup(&rt));
    let counter = Arc::new(AtomicU64::new(0));
    let mut group = c.benchmark_group("peer/valid token while a JWKS refresh is in flight");
    group.sample_size(10);
    group.bench_function("tokengate JwksCache", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let forged = unknown_kid_token(&s.token, counter.fetch_add(1, Ordering::Relaxed));
                    let s2 = Arc::clone(&s);
                    let refresh =
                        tokio::spawn(async move { s2.ours.verify_async::<serde_json::Value>(&forged).await.is_err() });
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    let start = Instant::now();
                    black_box(s.ours.verify_async::<serde_json::Value>(&s.token).await.unwrap());
                    total += start.elapsed();
                    assert!(refresh.await.unwrap());
                }
                total
            })
        });
    });
    group.bench_function("jwt-authorizer KeyStore", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let forged = unknown_kid_token(&s.token, counter.fetch_add(1, Ordering::Relaxed));
                    let s2 = Arc::clone(&s);
                    let refresh = tokio::spawn(async move { s2.theirs.check_auth(&forged).await.is_err() });
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    let start = Instant::now();
                    black_box(s.theirs.check_auth(&s.token).await.unwrap());
                    total += start.elapsed();
                    assert!(refresh.await.unwrap());
                }
                total
            })
        });
    });
    group.finish();
}

criterion_group!(benches, steady, during_refresh);
criterion_main!(benches);
