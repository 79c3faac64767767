//! `cwt`: one signed CWT (ES256, 8 claims) verified three ways side by side.
//!
//! - `p256`: the signature check alone (aws-lc-rs `ParsedPublicKey::verify_sig` over a
//!   precomputed `Sig_structure`): the cost no CWT verifier can avoid.
//! - `floor`: the P-256 floor for a whole CWT: the key parsed once; per call coset parses
//!   the tagged `COSE_Sign1` and the claims set, builds the `Sig_structure`, aws-lc-rs
//!   checks the signature, and `iss`, `aud`, `exp` are compared.
//! - `tokengate`: `CwtVerifier::verify` (tags, header rules, strict claims with the JSON
//!   form built, key lookup by `kid`, pinning, signature, every registered-claim check).
//!
//! Run: `cargo bench -p tokengate-cwt --bench cwt -- --warm-up-time 1 --measurement-time 4`
//! With `TOKENGATE_BENCH_TABLE=1`: the interleaved ratio table of BENCHMARKS.md.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stdout,
    missing_docs
)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair, ParsedPublicKey};
use coset::cwt::{ClaimsSet, ClaimsSetBuilder, Timestamp};
use coset::{CborSerializable, CoseSign1, CoseSign1Builder, HeaderBuilder, TaggedCborSerializable, iana};
use criterion::Criterion;
use tokengate_core::{Algorithm, FixedClock, Key, KeySet};
use tokengate_cwt::{CoseAlgorithm, CwtVerifier};

const NOW: i64 = 1_700_000_000;
const ISS: &str = "https://as.example";
const AUD: &str = "telemetry";

struct Case {
    token: Vec<u8>,
    tbs: Vec<u8>,
    signature: Vec<u8>,
    key: ParsedPublicKey,
    verifier: CwtVerifier,
}

impl Case {
    fn new() -> Case {
        let pair = EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
        let point = pair.public_key().as_ref().to_vec();
        let claims = ClaimsSetBuilder::new()
            .issuer(ISS.into())
            .subject("device-0042".into())
            .audience(AUD.into())
            .expiration_time(Timestamp::WholeSeconds(NOW + 600))
            .not_before(Timestamp::WholeSeconds(NOW - 10))
            .issued_at(Timestamp::WholeSeconds(NOW - 10))
            .cwt_id(vec![7; 16])
            .claim(iana::CwtClaimName::Scope, "telemetry:write".into())
            .build();
        let sign1 = CoseSign1Builder::new()
            .protected(HeaderBuilder::new().algorithm(iana::Algorithm::ES256).build())
            .unprotected(HeaderBuilder::new().key_id(b"device-ca-1".to_vec()).build())
            .payload(claims.to_vec().unwrap())
            .create_signature(&[], |tbs| pair.sign(&SystemRandom::new(), tbs).unwrap().as_ref().to_vec())
            .build();
        let tbs = sign1.tbs_data(&[]);
        let signature = sign1.signature.clone();
        let token = sign1.to_tagged_vec().unwrap();
        let key = ParsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point.clone()).unwrap();
        let core_key =
            Key::ec_components(Algorithm::ES256, &point[1..33], &point[33..]).unwrap().with_kid("device-ca-1");
        let verifier = CwtVerifier::builder(KeySet::new([core_key]).unwrap())
            .issuer(ISS)
            .audience(AUD)
            .algorithms([CoseAlgorithm::ES256])
            .clock(FixedClock::new(NOW))
            .build()
            .unwrap();
        let case = Case { token, tbs, signature, key, verifier };
        assert!(case.p256() && case.floor());
        assert_eq!(case.verifier.verify(&case.token).unwrap().subject(), Some("device-0042"));
        case
    }

    fn p256(&self) -> bool {
        self.key.verify_sig(black_box(&self.tbs), black_box(&self.signature)).is_ok()
    }

    fn floor(&self) -> bool {
        let Ok(sign1) = CoseSign1::from_tagged_slice(black_box(&self.token)) else { return false };
        let tbs = sign1.tbs_data(&[]);
        if self.key.verify_sig(&tbs, &sign1.signature).is_err() {
            return false;
        }
        let Ok(claims) = ClaimsSet::from_slice(sign1.payload.as_deref().unwrap_or_default()) else { return false };
        claims.issuer.as_deref() == Some(ISS)
            && claims.audience.as_deref() == Some(AUD)
            && matches!(claims.expiration_time, Some(Timestamp::WholeSeconds(exp)) if exp > NOW)
    }

    fn tokengate(&self) -> bool {
        self.verifier.verify(black_box(&self.token)).is_ok()
    }

    fn run(&self, variant: usize) -> bool {
        match variant {
            0 => self.p256(),
            1 => self.floor(),
            _ => self.tokengate(),
        }
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Batches of the three variants in rotating order over many rounds.
fn ratio_table() {
    let case = Case::new();
    let start = Instant::now();
    let mut calls = 0u32;
    while start.elapsed() < Duration::from_millis(4) {
        case.floor();
        calls += 1;
    }
    let batch = calls.max(1);
    let mut best = [f64::MAX; 3];
    let (mut vs_floor, mut vs_p256) = (Vec::new(), Vec::new());
    for round in 0..201 {
        let mut this = [0.0; 3];
        for i in 0..3 {
            let variant = (round + i) % 3;
            let t = Instant::now();
            for _ in 0..batch {
                black_box(case.run(variant));
            }
            this[variant] = t.elapsed().as_secs_f64() * 1e6 / f64::from(batch);
        }
        for (b, t) in best.iter_mut().zip(this) {
            *b = b.min(t);
        }
        vs_floor.push(this[2] / this[1]);
        vs_p256.push(this[2] / this[0]);
    }
    println!(
        "| P-256 signature only | floor (coset + aws-lc-rs) | tokengate `CwtVerifier::verify` | tokengate / floor, median | tokengate / signature, median | target |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: | ---: |");
    println!(
        "| {:.2} µs | {:.2} µs | {:.2} µs | {:.3}x | {:.3}x | ≤ 1.10x floor |",
        best[0],
        best[1],
        best[2],
        median(&mut vs_floor),
        median(&mut vs_p256)
    );
}

fn main() {
    if std::env::var_os("TOKENGATE_BENCH_TABLE").is_some() {
        ratio_table();
        return;
    }
    let case = Case::new();
    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("cwt_es256");
    group.bench_function("p256", |b| b.iter(|| case.p256()));
    group.bench_function("floor", |b| b.iter(|| case.floor()));
    group.bench_function("tokengate", |b| b.iter(|| case.tokengate()));
    group.finish();
    c.final_summary();
}
