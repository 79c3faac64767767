//! What a tenant + region + scope policy stack costs per request, against an RS256
//! verification of the same token (RSA-2048, aws-lc-rs).
//!
//! - `rs256_verify`: `Verifier::verify` (signature and registered claims);
//! - `stack_first_use`: the stack on a token just verified, so its claims are parsed
//!   for the first time inside the measurement (a request without the verified-token
//!   cache; the parse is cached on the token for every later policy or extractor);
//! - `stack_cached`: the stack on a token whose claims were already parsed (a cache hit,
//!   or a second policy layer on the same request).
//!
//! Each check builds its `PolicyRequest` from an `http::Request` as `PolicyLayer` does,
//! and reads the tenant from the route template. After criterion's groups, the variants
//! run interleaved (101 rounds, a batch of 200 of each per round) and the medians and
//! ratios are printed; the target is `stack_first_use / rs256_verify <= 0.03`.
//!
//! ```sh
//! cargo bench -p tokengate-policy --bench policy
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout, clippy::indexing_slicing, missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, criterion_group};
use tokengate_core::{Algorithm, Verified, Verifier};
use tokengate_policy::{Policy, PolicyExt, PolicyRequest, Region, RouteTemplate, Scope, Tenant};
use tokengate_test_support::{ISSUER, TokenBuilder, verifier};

struct Setup {
    verifier: Verifier,
    token: String,
    request: http::Request<()>,
    stack: Box<dyn Policy>,
}

fn setup() -> Setup {
    let verifier = verifier(Algorithm::RS256).build().unwrap();
    let token = TokenBuilder::new(Algorithm::RS256)
        .claim("tenant_id", "acme")
        .claim("region", "eu-west-1")
        .claim("scope", "orders:read orders:write profile")
        .claim("email", "alice@acme.example")
        .sign();
    let mut request = http::Request::builder().uri("/t/acme/orders").body(()).unwrap();
    request.extensions_mut().insert(RouteTemplate("/t/{tenant}/orders".into()));
    let stack = Box::new(
        Tenant::from_path_param("tenant")
            .issuer("acme", ISSUER)
            .and(Region::new("eu-west-1").failover(["us-east-1"]))
            .and(Scope::all_of(["orders:read"])),
    );
    let s = Setup { verifier, token, request, stack };
    let verified = s.verifier.verify(&s.token).unwrap();
    assert!(s.check(&verified), "the stack must allow the token");
    let mut other = http::Request::builder().uri("/t/globex/orders").body(()).unwrap();
    other.extensions_mut().insert(RouteTemplate("/t/{tenant}/orders".into()));
    assert!(s.stack.check(&verified, &PolicyRequest::from_request(&other)).is_err(), "and refuse another tenant");
    s
}

impl Setup {
    fn check(&self, verified: &Verified) -> bool {
        self.stack.check(verified, &PolicyRequest::from_request(&self.request)).is_ok()
    }

    fn fresh(&self, n: usize) -> Vec<Verified> {
        (0..n).map(|_| self.verifier.verify(&self.token).unwrap()).collect()
    }
}

fn benches(c: &mut Criterion) {
    let s = setup();
    let mut group = c.benchmark_group("policy");
    group.bench_function("rs256_verify", |b| b.iter(|| black_box(s.verifier.verify(black_box(&s.token)).is_ok())));
    group.bench_function("stack_first_use", |b| {
        b.iter_batched(|| s.verifier.verify(&s.token).unwrap(), |v| black_box(s.check(&v)), BatchSize::SmallInput)
    });
    let cached = s.verifier.verify(&s.token).unwrap();
    s.check(&cached);
    group.bench_function("stack_cached", |b| b.iter(|| black_box(s.check(black_box(&cached)))));
    group.finish();
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Nanoseconds per operation of each variant, interleaved round by round.
fn interleaved() {
    const ROUNDS: usize = 101;
    const BATCH: usize = 200;
    let s = setup();
    let cached = s.verifier.verify(&s.token).unwrap();
    s.check(&cached);
    let (mut verify, mut first, mut hit) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let start = Instant::now();
        for _ in 0..BATCH {
            black_box(s.verifier.verify(black_box(&s.token)).is_ok());
        }
        verify.push(start.elapsed().as_nanos() as f64 / BATCH as f64);

        let tokens = s.fresh(BATCH);
        let start = Instant::now();
        for v in &tokens {
            black_box(s.check(black_box(v)));
        }
        first.push(start.elapsed().as_nanos() as f64 / BATCH as f64);
        drop(tokens);

        let start = Instant::now();
        for _ in 0..BATCH {
            black_box(s.check(black_box(&cached)));
        }
        hit.push(start.elapsed().as_nanos() as f64 / BATCH as f64);
    }
    let (verify, first, hit) = (median(verify), median(first), median(hit));
    println!("\ninterleaved medians ({ROUNDS} rounds x {BATCH}):");
    println!("  rs256_verify     {:>9.1} ns", verify);
    println!("  stack_first_use  {:>9.1} ns", first);
    println!("  stack_cached     {:>9.1} ns", hit);
    println!("  stack_first_use / rs256_verify = {:.4} (target <= 0.03)", first / verify);
    println!("  stack_cached    / rs256_verify = {:.4}", hit / verify);
}

criterion_group! {
    name = policy;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = benches
}

fn main() {
    policy();
    Criterion::default().configure_from_args().final_summary();
    interleaved();
}
