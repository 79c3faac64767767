//! `check`: the revocation check on the request path, against an RS256 verification.
//!
//! Variants (the token checked is a verified RS256 access token; "not revoked" unless said):
//!
//! - `rs256_verify`: `Verifier::verify` of that token (the reference);
//! - `memory_0_rules`, `memory_1_rule`, `memory_1m_rules`: `MemoryStore::check` with no
//!   rule, one `jti` rule, and 1,000,000 `jti` rules (other tokens);
//! - `memory_1m_rules_revoked`: the same table, the token's own `jti` revoked;
//! - `memory_sid_tenant_rules`: one `sid` and one `tenant` rule (the claims are read for
//!   `sid` and the tenant: the slowest path);
//! - `redis_1_rule`: `RedisStore::check` (a real `redis-server`, mirror fresh) with one rule:
//!   the table plus the staleness check.
//!
//! Run: `cargo bench -p tokengate-revocation --features redis --bench check -- --warm-up-time 1 --measurement-time 3`
//!
//! With `TOKENGATE_BENCH_TABLE=1` it instead prints the table of BENCHMARKS.md: the
//! variants interleaved in batches over many rounds, so that load from other processes
//! falls on all alike, with each variant's ratio to `rs256_verify`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]
#![allow(clippy::print_stdout)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use tokengate_core::{Algorithm, RevocationCheck, Verified, Verifier};
use tokengate_revocation::{MemoryStore, RuleKey};
use tokengate_test_support::{ISSUER, TokenBuilder, verifier};

const RULES: usize = 1_000_000;

struct Setup {
    verifier: Verifier,
    token: String,
    verified: Verified,
    revoked: Verified,
    empty: MemoryStore,
    one: MemoryStore,
    million: MemoryStore,
    sid_tenant: MemoryStore,
    #[cfg(feature = "redis")]
    redis: (tokengate_revocation::RedisStore, tokengate_test_support::RedisServer, tokio::runtime::Runtime),
}

fn setup() -> Setup {
    let verifier = verifier(Algorithm::RS256).build().unwrap();
    let token = TokenBuilder::new(Algorithm::RS256)
        .claim("jti", "7b0e4c1e-2f7d-4b8e-9a51-0c4b7f3e9d21")
        .claim("sid", "session-live")
        .claim("tenant_id", "acme")
        .claim("scope", "orders:read orders:write")
        .sign();
    let verified = verifier.verify(&token).unwrap();
    let revoked_token = TokenBuilder::new(Algorithm::RS256).claim("jti", format!("{:032x}", 42)).sign();
    let revoked = verifier.verify(&revoked_token).unwrap();

    let empty = MemoryStore::new();
    let one = MemoryStore::new();
    one.insert(RuleKey::jti(ISSUER, "another-token").unwrap(), None);
    let million = MemoryStore::new();
    for i in 0..RULES {
        million.insert(RuleKey::jti(ISSUER, &format!("{i:032x}")).unwrap(), None);
    }
    let sid_tenant = MemoryStore::new();
    sid_tenant.insert(RuleKey::session(ISSUER, "session-gone").unwrap(), None);
    sid_tenant.insert(RuleKey::tenant(ISSUER, "globex").unwrap(), None);

    assert!(empty.check(&verified).is_ok() && one.check(&verified).is_ok());
    assert!(million.check(&verified).is_ok() && sid_tenant.check(&verified).is_ok());
    assert!(million.check(&revoked).is_err(), "the revoked token must be refused");

    #[cfg(feature = "redis")]
    let redis = {
        let server = tokengate_test_support::RedisServer::start();
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let store = runtime.block_on(async {
            let store = tokengate_revocation::RedisStore::builder(server.url()).connect().await.unwrap();
            tokengate_revocation::RevocationStore::revoke(&store, RuleKey::jti(ISSUER, "another-token").unwrap(), None)
                .await
                .unwrap();
            store
        });
        assert!(store.check(&verified).is_ok());
        (store, server, runtime)
    };

    Setup {
        verifier,
        token,
        verified,
        revoked,
        empty,
        one,
        million,
        sid_tenant,
        #[cfg(feature = "redis")]
        redis,
    }
}

type Variant<'a> = (&'static str, Box<dyn Fn() + 'a>);

fn variants(s: &Setup) -> Vec<Variant<'_>> {
    let mut out: Vec<Variant<'_>> = vec![
        ("rs256_verify", Box::new(|| drop(black_box(s.verifier.verify(black_box(&s.token)))))),
        ("memory_0_rules", Box::new(|| drop(black_box(s.empty.check(black_box(&s.verified)))))),
        ("memory_1_rule", Box::new(|| drop(black_box(s.one.check(black_box(&s.verified)))))),
        ("memory_1m_rules", Box::new(|| drop(black_box(s.million.check(black_box(&s.verified)))))),
        ("memory_1m_rules_revoked", Box::new(|| drop(black_box(s.million.check(black_box(&s.revoked)))))),
        ("memory_sid_tenant_rules", Box::new(|| drop(black_box(s.sid_tenant.check(black_box(&s.verified)))))),
    ];
    #[cfg(feature = "redis")]
    out.push(("redis_1_rule", Box::new(|| drop(black_box(s.redis.0.check(black_box(&s.verified)))))));
    out
}

/// Interleaved medians: in each round, a batch of every variant.
fn table(s: &Setup) {
    const ROUNDS: usize = 101;
    let variants = variants(s);
    let mut samples: Vec<Vec<f64>> = vec![Vec::with_capacity(ROUNDS); variants.len()];
    for _ in 0..ROUNDS {
        for (i, (name, f)) in variants.iter().enumerate() {
            // Batches of about the same duration (~0.2 ms), so preemption by other processes hits
            // every variant alike and the medians are of undisturbed batches.
            let batch = if *name == "rs256_verify" { 10 } else { 4_000 };
            let start = Instant::now();
            for _ in 0..batch {
                f();
            }
            samples[i].push(start.elapsed().as_nanos() as f64 / f64::from(batch));
        }
    }
    let medians: Vec<f64> = samples
        .iter_mut()
        .map(|v| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        })
        .collect();
    let verify = medians[0];
    println!("| variant | median | / rs256_verify |");
    println!("| --- | ---: | ---: |");
    for ((name, _), median) in variants.iter().zip(&medians) {
        println!("| `{name}` | {median:.1} ns | {:.5} |", median / verify);
    }
}

fn main() {
    let s = setup();
    if std::env::var_os("TOKENGATE_BENCH_TABLE").is_some() {
        table(&s);
        return;
    }
    let mut c = Criterion::default().configure_from_args().warm_up_time(Duration::from_secs(1));
    let mut group = c.benchmark_group("revocation_check");
    for (name, f) in variants(&s) {
        group.bench_function(name, |b| b.iter(&f));
    }
    group.finish();
    c.final_summary();
}
