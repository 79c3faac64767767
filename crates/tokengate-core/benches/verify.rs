//! `verify`: one 11-claim access token per algorithm, verified three ways side by side.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]
//!
//! - `floor`: the physical floor. The key is parsed once into aws-lc-rs's own verifying
//!   key (`ParsedPublicKey` / `hmac::Key`); per call: split, base64url-decode the three
//!   segments, check the signature, deserialize header and claims into small borrowed
//!   structs and check `alg`, `iss`, `aud`, `exp` and `nbf`.
//! - `jsonwebtoken`: `jsonwebtoken::decode` (aws_lc_rs backend) with the same checks.
//! - `tokengate`: `Verifier::verify`.
//!
//! Run: `cargo bench -p tokengate-core --bench verify -- --warm-up-time 1 --measurement-time 4`
//!
//! With `TOKENGATE_BENCH_TABLE=1` it instead prints the ratio table of BENCHMARKS.md:
//! the three variants interleaved in small batches over many rounds, so that load from
//! other processes falls on all three alike.

use std::borrow::Cow;
use std::hint::black_box;
use std::time::{Duration, Instant};

use aws_lc_rs::hmac;
use aws_lc_rs::signature::{self, ParsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::Criterion;
use serde::Deserialize;
use tokengate_core::{Algorithm, Verifier, algorithm_name};
use tokengate_test_support::{AUDIENCE, ISSUER, TokenBuilder, fixture};

#[allow(clippy::large_enum_variant)]
enum FloorKey {
    Hmac(hmac::Key),
    Public(ParsedPublicKey),
}

#[derive(Deserialize)]
struct FloorHeader<'a> {
    #[serde(borrow)]
    alg: Cow<'a, str>,
    #[serde(borrow)]
    #[allow(dead_code)]
    kid: Option<Cow<'a, str>>,
    #[serde(borrow)]
    #[allow(dead_code)]
    typ: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct FloorClaims<'a> {
    #[serde(borrow)]
    iss: Cow<'a, str>,
    #[serde(borrow)]
    aud: Cow<'a, str>,
    exp: i64,
    nbf: i64,
}

/// What `jsonwebtoken::decode` deserializes into: the registered claims.
#[derive(Deserialize)]
#[allow(dead_code)]
struct JwtClaims {
    iss: String,
    sub: String,
    aud: String,
    exp: i64,
    nbf: i64,
    iat: i64,
    jti: String,
}

fn floor(token: &str, key: &FloorKey, alg: &str) -> bool {
    // The clock is read per call, as every verifier must.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let Some((signing_input, sig_b64)) = token.rsplit_once('.') else { return false };
    let Some((header_b64, payload_b64)) = signing_input.split_once('.') else { return false };
    let Ok(sig) = URL_SAFE_NO_PAD.decode(sig_b64) else { return false };
    let Ok(header) = URL_SAFE_NO_PAD.decode(header_b64) else { return false };
    let Ok(header) = serde_json::from_slice::<FloorHeader<'_>>(&header) else { return false };
    if header.alg != alg {
        return false;
    }
    let ok = match key {
        FloorKey::Hmac(k) => hmac::verify(k, signing_input.as_bytes(), &sig).is_ok(),
        FloorKey::Public(k) => k.verify_sig(signing_input.as_bytes(), &sig).is_ok(),
    };
    if !ok {
        return false;
    }
    let Ok(payload) = URL_SAFE_NO_PAD.decode(payload_b64) else { return false };
    let Ok(claims) = serde_json::from_slice::<FloorClaims<'_>>(&payload) else { return false };
    claims.iss == ISSUER && claims.aud == AUDIENCE && claims.exp > now && claims.nbf <= now
}

fn b64d(s: &serde_json::Value) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(s.as_str().unwrap()).unwrap()
}

fn floor_key(alg: Algorithm) -> FloorKey {
    let f = fixture(alg);
    let jwk = f.bare_jwk();
    match alg {
        Algorithm::HS256 => FloorKey::Hmac(hmac::Key::new(hmac::HMAC_SHA256, f.secret().unwrap())),
        Algorithm::RS256 => FloorKey::Public(
            ParsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, f.rsa_pkcs1_der().unwrap()).unwrap(),
        ),
        Algorithm::PS256 => FloorKey::Public(
            ParsedPublicKey::new(&signature::RSA_PSS_2048_8192_SHA256, f.rsa_pkcs1_der().unwrap()).unwrap(),
        ),
        Algorithm::ES256 => {
            let mut point = vec![4u8];
            point.extend(b64d(&jwk["x"]));
            point.extend(b64d(&jwk["y"]));
            FloorKey::Public(ParsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point).unwrap())
        }
        Algorithm::EdDSA => FloorKey::Public(ParsedPublicKey::new(&signature::ED25519, b64d(&jwk["x"])).unwrap()),
        _ => unreachable!(),
    }
}

/// An 11-claim access token (RFC 9068 shape): iss, sub, aud, exp, nbf, iat, jti,
/// client_id, scope, tenant, azp.
fn access_token(alg: Algorithm) -> String {
    TokenBuilder::new(alg)
        .header("typ", "at+jwt")
        .claim("client_id", "orders-frontend")
        .claim("scope", "orders:read orders:write profile")
        .claim("tenant", "tenant-42")
        .claim("azp", "orders-frontend")
        .sign()
}

/// One algorithm's token and the three verifiers, each set up once.
struct Case {
    alg: Algorithm,
    name: &'static str,
    token: String,
    floor_key: FloorKey,
    jwt_key: jsonwebtoken::DecodingKey,
    validation: jsonwebtoken::Validation,
    verifier: Verifier,
}

impl Case {
    fn new(alg: Algorithm) -> Case {
        let name = algorithm_name(alg);
        let token = access_token(alg);
        let floor_key = floor_key(alg);
        let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(fixture(alg).jwk()).unwrap();
        let jwt_key = jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap();
        let mut validation = jsonwebtoken::Validation::new(alg);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.validate_nbf = true;
        let verifier = Verifier::builder(fixture(alg).key_set())
            .issuer(ISSUER)
            .audience(AUDIENCE)
            .algorithms([alg])
            .build()
            .unwrap();
        let case = Case { alg, name, token, floor_key, jwt_key, validation, verifier };
        assert!(case.floor(), "floor accepts the {name} token");
        case.jsonwebtoken();
        case.tokengate();
        case
    }

    fn floor(&self) -> bool {
        floor(black_box(&self.token), &self.floor_key, self.name)
    }

    fn jsonwebtoken(&self) {
        black_box(jsonwebtoken::decode::<JwtClaims>(black_box(&self.token), &self.jwt_key, &self.validation).unwrap());
    }

    fn tokengate(&self) {
        black_box(self.verifier.verify(black_box(&self.token)).unwrap());
    }

    fn run(&self, variant: usize) {
        match variant {
            0 => assert!(self.floor()),
            1 => self.jsonwebtoken(),
            _ => self.tokengate(),
        }
    }
}

const ALGORITHMS: [Algorithm; 5] =
    [Algorithm::HS256, Algorithm::RS256, Algorithm::PS256, Algorithm::ES256, Algorithm::EdDSA];

fn bench_verify(c: &mut Criterion) {
    for case in ALGORITHMS.map(Case::new) {
        let mut group = c.benchmark_group(format!("verify/{}", case.name));
        group.bench_function("floor", |b| b.iter(|| assert!(case.floor())));
        group.bench_function("jsonwebtoken", |b| b.iter(|| case.jsonwebtoken()));
        group.bench_function("tokengate", |b| b.iter(|| case.tokengate()));
        group.finish();
    }
}

/// Unauthenticated worst cases: tokens just under the 8 KiB limit whose claims are
/// parsed (strictly) before the signature check refuses them.
fn bench_hostile(c: &mut Criterion) {
    let case = Case::new(Algorithm::RS256);
    let header = r#"{"alg":"RS256","kid":"rs256-1"}"#;
    let b64 = |s: &str| URL_SAFE_NO_PAD.encode(s);
    // As many short distinct member names as fit: the duplicate check's worst case.
    let mut members = String::from("{");
    let mut i = 0;
    while members.len() < 5_900 {
        members.push_str(&format!("\"{i:x}\":0,"));
        i += 1;
    }
    members.push_str("\"end\":0}");
    // The same inside one nested object.
    let nested = format!("{{\"x\":{members}}}");
    let mut group = c.benchmark_group("hostile/RS256");
    for (name, claims) in [("many-members", members), ("many-nested-members", nested)] {
        let token = format!("{}.{}.{}", b64(header), b64(&claims), b64("not a signature"));
        assert!(token.len() <= 8192, "{}", token.len());
        assert!(case.verifier.verify(&token).is_err());
        group.bench_function(name, |b| b.iter(|| case.verifier.verify(black_box(&token)).unwrap_err()));
    }
    group.finish();
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Interleaved measurement for the ratio table: batches of the three variants in
/// rotating order, many rounds, so that load from other processes hits all three alike.
/// Reports the fastest round of each variant (the closest to an unloaded machine) with
/// its ratio to the floor, and the median of the per-round ratios.
#[allow(clippy::print_stdout, clippy::print_stderr)]
fn ratio_table() {
    const ROUNDS: usize = 201;
    const BATCH_TIME: Duration = Duration::from_millis(4);
    println!();
    println!(
        "| alg | floor | jsonwebtoken::decode | tokengate `verify` | tokengate / floor, median of rounds | target |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    for case in ALGORITHMS.map(Case::new) {
        // Calibrate the batch size on the floor.
        let start = Instant::now();
        let mut calls = 0u32;
        while start.elapsed() < BATCH_TIME {
            case.run(0);
            calls += 1;
        }
        let batch = calls.max(1);
        let mut per_call = [Vec::new(), Vec::new(), Vec::new()];
        let mut ratios = [Vec::new(), Vec::new()];
        for round in 0..ROUNDS {
            let mut this = [0f64; 3];
            for k in 0..3 {
                let variant = (round + k) % 3;
                let t = Instant::now();
                for _ in 0..batch {
                    case.run(variant);
                }
                this[variant] = t.elapsed().as_secs_f64() * 1e6 / f64::from(batch);
            }
            for v in 0..3 {
                per_call[v].push(this[v]);
            }
            ratios[0].push(this[1] / this[0]);
            ratios[1].push(this[2] / this[0]);
        }
        let [fmin, jmin, tmin] = per_call.each_ref().map(|v| v.iter().copied().fold(f64::INFINITY, f64::min));
        let [f, j, t] = per_call.map(|mut v| median(&mut v));
        let [rj, rt] = ratios.map(|mut v| median(&mut v));
        let target = if case.alg == Algorithm::HS256 { "<= 1.30x" } else { "<= 1.10x" };
        println!(
            "| {} | {fmin:.2} us | {jmin:.2} us ({:.2}x) | {tmin:.2} us ({:.2}x) | {rt:.2}x (jsonwebtoken {rj:.2}x) | {target} |",
            case.name,
            jmin / fmin,
            tmin / fmin,
        );
        eprintln!("{}: median per call: floor {f:.3} us, jsonwebtoken {j:.3} us, tokengate {t:.3} us", case.name);
    }
}

fn main() {
    if std::env::var_os("TOKENGATE_BENCH_TABLE").is_some() {
        ratio_table();
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    bench_verify(&mut c);
    bench_hostile(&mut c);
    c.final_summary();
}
