//! `dpop`: what DPoP adds to a request: `DpopVerifier::check` on a fresh ES256 proof
//! (every check, the replay cache insert included), against one P-256 signature check.
//!
//! Run: `cargo bench -p tokengate-pop --bench dpop` (prints the interleaved ratio table
//! of BENCHMARKS.md; target: check <= 1.10x one signature verification).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stdout,
    missing_docs
)]

use std::hint::black_box;
use std::time::Instant;

use aws_lc_rs::digest;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair, ParsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;
use tokengate_core::{Algorithm, FixedClock};
use tokengate_pop::dpop::{DpopRequest, DpopVerifier, jwk_thumbprint};

const NOW: i64 = 1_700_000_000;
const ROUNDS: usize = 101;
const BATCH: usize = 60;

fn main() {
    let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
    let point = pair.public_key().as_ref().to_vec();
    let b = |s: &[u8]| URL_SAFE_NO_PAD.encode(s);
    let jwk = json!({"kty": "EC", "crv": "P-256", "x": b(&point[1..33]), "y": b(&point[33..65])});
    let jkt = jwk_thumbprint(jwk.as_object().unwrap()).unwrap();
    let token = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln";
    let ath = b(digest::digest(&digest::SHA256, token.as_bytes()).as_ref());
    let header = b(json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": jwk}).to_string().as_bytes());
    let proofs: Vec<String> = (0..ROUNDS * BATCH)
        .map(|i| {
            let claims = json!({"jti": format!("jti-{i}"), "htm": "GET", "htu": "https://api.example/me", "iat": NOW, "ath": ath});
            let input = format!("{header}.{}", b(claims.to_string().as_bytes()));
            let sig = pair.sign(&SystemRandom::new(), input.as_bytes()).unwrap();
            format!("{input}.{}", b(sig.as_ref()))
        })
        .collect();
    let verifier = DpopVerifier::new("https://api.example").algorithms([Algorithm::ES256]).clock(FixedClock::new(NOW));
    let request = DpopRequest { method: "GET", path: "/me", access_token: token, jkt: Some(&jkt) };
    let key = ParsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point).unwrap();
    let (input, sig) = proofs[0].rsplit_once('.').unwrap();
    let sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
    assert!(key.verify_sig(input.as_bytes(), &sig).is_ok());
    let (mut best, mut ratios) = ([f64::MAX; 2], Vec::new());
    let mut next = proofs.iter();
    for round in 0..ROUNDS {
        let mut this = [0.0; 2];
        for i in 0..2 {
            let variant = (round + i) % 2;
            let t = Instant::now();
            for _ in 0..BATCH {
                if variant == 0 {
                    black_box(key.verify_sig(black_box(input.as_bytes()), black_box(&sig)).is_ok());
                } else {
                    let proof = next.next().unwrap();
                    assert!(verifier.check(black_box(proof), &request).is_ok());
                }
            }
            this[variant] = t.elapsed().as_secs_f64() * 1e6 / BATCH as f64;
        }
        best[0] = best[0].min(this[0]);
        best[1] = best[1].min(this[1]);
        ratios.push(this[1] / this[0]);
    }
    ratios.sort_by(f64::total_cmp);
    println!(
        "| P-256 signature check | `DpopVerifier::check` (fresh proof) | check / signature, median of rounds | target |"
    );
    println!("| ---: | ---: | ---: | ---: |");
    println!("| {:.2} µs | {:.2} µs | {:.3}x | ≤ 1.10x |", best[0], best[1], ratios[ratios.len() / 2]);
}
