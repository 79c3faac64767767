//! What recording metrics costs per request, with a real recorder installed (the
//! Prometheus exporter's), against a bare RS256 `Verifier::verify`.
//!
//! Run: `cargo bench -p tokengate-tower --all-features --bench metrics`
//!
//! Every variant runs the same kind of `Authenticator` (cache on, a revocation hook);
//! "recorded" holds the Prometheus recorder's handles (installed globally), "not recorded"
//! the no-op recorder's (its first call made inside
//! `metrics::with_local_recorder(&NoopRecorder, ..)`: handles are taken on first use and
//! kept). The recording cost is their difference (what the exporter does per request),
//! plus the bookkeeping both variants do (two clock reads, measured alone), measured on a cache hit (the cheapest request, so the difference is not
//! lost in the crypto's noise, and the one that records the most: the verification
//! counter, the duration histogram, the cache counter and the revocation counter), and on
//! a full RS256 verification as a cross-check. Target: <= 1% of a bare RS256 verify.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;
use std::time::Instant;

use metrics::NoopRecorder;
use metrics_exporter_prometheus::PrometheusBuilder;
use tokengate_core::{AuthError, RevocationCheck, Verified};
use tokengate_tower::{Authentication, Authenticator};

struct NotRevoked;

impl RevocationCheck for NotRevoked {
    fn check(&self, token: &Verified) -> Result<(), AuthError> {
        black_box(token);
        Ok(())
    }
}

fn ok(auth: &Authenticator, token: &str) {
    match auth.authenticate(token) {
        Authentication::Done(result) => drop(black_box(result.unwrap())),
        Authentication::Pending(_) => panic!("pending"),
    }
}

#[allow(clippy::print_stdout)]
fn main() {
    let handle = PrometheusBuilder::new().install_recorder().unwrap();
    let fixture = common::rsa();
    let mut claims = common::claims("bench-user");
    claims["exp"] = (common::now() + 3600).into();
    let token = fixture.token(&claims);
    let verifier = fixture.verifier();
    let build = |cache: bool| {
        let builder = Authenticator::builder(verifier.clone()).revocation(NotRevoked);
        if cache { builder.cache_verified_tokens(1000).build() } else { builder.build() }
    };
    let (cached, uncached) = (build(true), build(false));
    let (cached_off, uncached_off) = (build(true), build(false));
    ok(&cached, &token);
    ok(&uncached, &token);
    metrics::with_local_recorder(&NoopRecorder, || {
        ok(&cached_off, &token);
        ok(&uncached_off, &token);
    });
    assert!(handle.render().contains("tokengate_verifications_total"), "the recorder is installed");

    const ROUNDS: usize = 301;
    const ITERS: u32 = 200;
    // verify, cached recorded, cached not recorded, full recorded, full not recorded, clock
    let mut rounds: Vec<[f64; 6]> = Vec::with_capacity(ROUNDS);
    for round in 0..ROUNDS {
        let mut times = [0.0; 6];
        for step in 0..6 {
            let which = if round % 2 == 0 { step } else { 5 - step };
            let iters = if matches!(which, 1 | 2 | 5) { ITERS * 10 } else { ITERS };
            let start = Instant::now();
            for _ in 0..iters {
                match which {
                    0 => drop(black_box(verifier.verify(black_box(&token)).unwrap())),
                    1 => ok(&cached, black_box(&token)),
                    2 => ok(&cached_off, black_box(&token)),
                    3 => ok(&uncached, black_box(&token)),
                    4 => ok(&uncached_off, black_box(&token)),
                    _ => drop(black_box(black_box(Instant::now()).elapsed().as_secs_f64())),
                }
            }
            times[which] = start.elapsed().as_secs_f64() * 1e9 / f64::from(iters);
        }
        rounds.push(times);
        handle.run_upkeep();
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let column = |i: usize| median(rounds.iter().map(|r| r[i]).collect());
    let on_hit = median(rounds.iter().map(|r| (r[1] - r[2] + r[5]) / r[0]).collect());
    let on_full = median(rounds.iter().map(|r| (r[3] - r[4] + r[5]) / r[0]).collect());
    println!(
        "RS256, Prometheus recorder, interleaved ({ROUNDS} rounds), medians in ns: verify {:.0}, \
         cache hit recorded {:.0} / not recorded {:.0}, full recorded {:.0} / not recorded {:.0}, clock pair {:.0}",
        column(0),
        column(1),
        column(2),
        column(3),
        column(4),
        column(5),
    );
    println!(
        "recording cost / RS256 verify: measured on a cache hit {:.2}%, on a full verification {:.2}% \
         (exporter + clock, on a hit: {:.0} ns)",
        on_hit * 100.0,
        on_full * 100.0,
        median(rounds.iter().map(|r| r[1] - r[2] + r[5]).collect()),
    );
}
