//! Tokens minted by jwt-simple verify with the pure-Rust backend; forgeries do not.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use jwt_simple::prelude::{
    Claims, Duration as JsDuration, ECDSAP256KeyPairLike, ES256KeyPair, Ed25519KeyPair, EdDSAKeyPairLike, HS256Key,
    MACLike, PS256KeyPair, RS256KeyPair, RSAKeyPairLike,
};
use tokengate_core::{Algorithm, CRYPTO_BACKEND, ErrorKind, Key, Verifier};

const ISS: &str = "https://issuer.test";
const AUD: &str = "api";
const RSA_PEM: &str = include_str!("data/rsa-test-key.pem");

fn claims() -> jwt_simple::claims::JWTClaims<jwt_simple::claims::NoCustomClaims> {
    Claims::create(JsDuration::from_mins(5)).with_issuer(ISS).with_audience(AUD).with_subject("s")
}

fn verifier(key: Key, alg: Algorithm) -> Verifier {
    Verifier::builder(key).issuer(ISS).audience(AUD).algorithms([alg]).build().unwrap()
}

/// Accepts the token, and refuses it with one signature character changed (not the last:
/// that one carries padding bits, and a change there is a non-canonical encoding).
fn accepts_and_refuses_tampering(v: &Verifier, token: &str) {
    assert_eq!(v.verify(token).unwrap().subject(), Some("s"));
    let mut bad = token.as_bytes().to_vec();
    let at = bad.len() - 5;
    bad[at] = if bad[at] == b'A' { b'B' } else { b'A' };
    let bad = String::from_utf8(bad).unwrap();
    assert_eq!(v.verify(&bad).unwrap_err().kind(), ErrorKind::InvalidSignature);
}

#[test]
fn the_expected_backend_is_in_use() {
    if let Ok(want) = std::env::var("TOKENGATE_EXPECT_BACKEND") {
        assert_eq!(CRYPTO_BACKEND, want);
    }
}

#[test]
fn hs256() {
    let secret = b"0123456789abcdef0123456789abcdef";
    let token = HS256Key::from_bytes(secret).authenticate(claims()).unwrap();
    accepts_and_refuses_tampering(&verifier(Key::hmac(Algorithm::HS256, secret).unwrap(), Algorithm::HS256), &token);
}

#[test]
fn rs256_and_ps256() {
    let rs = RS256KeyPair::from_pem(RSA_PEM).unwrap();
    let pem = rs.public_key().to_pem().unwrap();
    let token = rs.sign(claims()).unwrap();
    let key = Key::from_pem(Algorithm::RS256, pem.as_bytes()).unwrap();
    accepts_and_refuses_tampering(&verifier(key, Algorithm::RS256), &token);
    let ps = PS256KeyPair::from_pem(RSA_PEM).unwrap();
    let token = ps.sign(claims()).unwrap();
    let key = Key::from_pem(Algorithm::PS256, pem.as_bytes()).unwrap();
    accepts_and_refuses_tampering(&verifier(key, Algorithm::PS256), &token);
}

#[test]
fn es256() {
    let pair = ES256KeyPair::generate();
    let token = pair.sign(claims()).unwrap();
    let key = Key::from_der(Algorithm::ES256, &pair.public_key().to_der().unwrap()).unwrap();
    accepts_and_refuses_tampering(&verifier(key, Algorithm::ES256), &token);
    // CVE-2022-21449: r = s = 0 never verifies.
    let (input, _) = token.rsplit_once('.').unwrap();
    let zero = format!("{input}.{}", "A".repeat(86));
    let key = Key::from_der(Algorithm::ES256, &pair.public_key().to_der().unwrap()).unwrap();
    assert_eq!(verifier(key, Algorithm::ES256).verify(&zero).unwrap_err().kind(), ErrorKind::InvalidSignature);
}

#[test]
fn eddsa() {
    let pair = Ed25519KeyPair::generate();
    let token = pair.sign(claims()).unwrap();
    let key = Key::from_pem(Algorithm::EdDSA, pair.public_key().to_pem().as_bytes()).unwrap();
    accepts_and_refuses_tampering(&verifier(key, Algorithm::EdDSA), &token);
}
