//! Tokens minted by independent implementations (jwt-simple, jsonwebtoken, RFC 7515 vectors).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use jwt_simple::prelude::{
    Claims, Duration as JsDuration, ECDSAP256KeyPairLike, ECDSAP384KeyPairLike, ES256KeyPair, ES384KeyPair,
    Ed25519KeyPair, EdDSAKeyPairLike, HS256Key, MACLike, PS256KeyPair, RS256KeyPair, RSAKeyPairLike,
};
use serde::{Deserialize, Serialize};
use tokengate_core::{Algorithm, ErrorKind, FixedClock, Key, KeySet, Verified, Verifier};
use tokengate_test_support::{AUDIENCE, ISSUER, SUBJECT, fixture};

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Custom {
    scope: String,
    tenant: String,
}

fn claims() -> jwt_simple::claims::JWTClaims<Custom> {
    Claims::with_custom_claims(
        Custom { scope: "orders:read".into(), tenant: "t-42".into() },
        JsDuration::from_secs(300),
    )
    .with_issuer(ISSUER)
    .with_audience(AUDIENCE)
    .with_subject(SUBJECT)
    .with_jwt_id("jti-interop")
}

fn verifier(key: Key, alg: Algorithm) -> Verifier {
    Verifier::builder(KeySet::new([key]).unwrap()).issuer(ISSUER).audience(AUDIENCE).algorithms([alg]).build().unwrap()
}

fn check(verified: &Verified<Custom>) {
    assert_eq!(verified.subject(), Some(SUBJECT));
    assert_eq!(verified.issuer(), Some(ISSUER));
    assert_eq!(verified.registered().jti.as_deref(), Some("jti-interop"));
    assert_eq!(verified.claims().unwrap(), &Custom { scope: "orders:read".into(), tenant: "t-42".into() });
}

#[test]
fn jwt_simple_hs256() {
    let secret = fixture(Algorithm::HS256).secret().unwrap();
    let key = HS256Key::from_bytes(secret).with_key_id("js-hs");
    let token = key.authenticate(claims()).unwrap();
    let ours = Key::hmac(Algorithm::HS256, secret).unwrap().with_kid("js-hs");
    check(&verifier(ours, Algorithm::HS256).verify_as(&token).unwrap());
}

#[test]
fn jwt_simple_rs256_key_from_its_jwk() {
    // The private key comes from the fixture (RSA key generation in pure Rust is slow in
    // debug builds); signing and the JWK export are jwt-simple's own.
    let pair = RS256KeyPair::from_pem(&fixture(Algorithm::RS256).private_pem().unwrap()).unwrap().with_key_id("js-rs");
    let token = pair.sign(claims()).unwrap();
    let jwk = pair.public_key().with_key_id("js-rs").to_jwk();
    let ours = Key::from_jwk_json(&jwk).unwrap();
    assert_eq!(ours.algorithm(), Algorithm::RS256);
    check(&verifier(ours, Algorithm::RS256).verify_as(&token).unwrap());
}

#[test]
fn jwt_simple_ps256_key_from_its_pem() {
    let pair = PS256KeyPair::from_pem(&fixture(Algorithm::PS256).private_pem().unwrap()).unwrap();
    let token = pair.sign(claims()).unwrap();
    let pem = pair.public_key().to_pem().unwrap();
    let ours = Key::from_pem(Algorithm::PS256, pem.as_bytes()).unwrap();
    check(&verifier(ours, Algorithm::PS256).verify_as(&token).unwrap());
    // The same PS256 token is not accepted by an RS256-pinned key of the same modulus.
    let rs = Key::from_pem(Algorithm::RS256, pem.as_bytes()).unwrap();
    let v = Verifier::builder(rs).issuer(ISSUER).audience(AUDIENCE).algorithms_of_keys().build().unwrap();
    assert_eq!(v.verify(&token).unwrap_err().kind(), ErrorKind::AlgorithmMismatch);
}

#[test]
fn jwt_simple_es256_key_from_its_der() {
    let pair = ES256KeyPair::generate();
    let token = pair.sign(claims()).unwrap();
    let der = pair.public_key().to_der().unwrap();
    let ours = Key::from_der(Algorithm::ES256, &der).unwrap();
    check(&verifier(ours, Algorithm::ES256).verify_as(&token).unwrap());
}

#[test]
fn jwt_simple_es384_key_from_its_jwk() {
    let pair = ES384KeyPair::generate().with_key_id("js-es384");
    let token = pair.sign(claims()).unwrap();
    let jwk = pair.public_key().with_key_id("js-es384").to_jwk();
    let ours = Key::from_jwk_json(&jwk).unwrap();
    assert_eq!(ours.algorithm(), Algorithm::ES384);
    check(&verifier(ours, Algorithm::ES384).verify_as(&token).unwrap());
}

#[test]
fn jwt_simple_eddsa_key_from_its_pem_and_jwk() {
    let pair = Ed25519KeyPair::generate().with_key_id("js-ed");
    let token = pair.sign(claims()).unwrap();
    let from_pem = Key::from_pem(Algorithm::EdDSA, pair.public_key().to_pem().as_bytes()).unwrap().with_kid("js-ed");
    check(&verifier(from_pem, Algorithm::EdDSA).verify_as(&token).unwrap());
    let from_jwk = Key::from_jwk_json(&pair.public_key().with_key_id("js-ed").to_jwk()).unwrap();
    check(&verifier(from_jwk, Algorithm::EdDSA).verify_as(&token).unwrap());
}

#[test]
fn jwt_simple_token_signed_by_another_key_is_refused() {
    let token = ES256KeyPair::generate().sign(claims()).unwrap();
    let other = Key::from_der(Algorithm::ES256, &ES256KeyPair::generate().public_key().to_der().unwrap()).unwrap();
    let err = verifier(other, Algorithm::ES256).verify(&token).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidSignature);
}

#[test]
fn jsonwebtoken_minted_tokens_verify() {
    for alg in [Algorithm::HS256, Algorithm::RS256, Algorithm::PS256, Algorithm::ES256, Algorithm::EdDSA] {
        let f = fixture(alg);
        let enc = match alg {
            Algorithm::HS256 => jsonwebtoken::EncodingKey::from_secret(f.secret().unwrap()).unwrap(),
            Algorithm::RS256 | Algorithm::PS256 => {
                jsonwebtoken::EncodingKey::from_rsa_pem(f.private_pem().unwrap().as_bytes()).unwrap()
            }
            Algorithm::ES256 => jsonwebtoken::EncodingKey::from_ec_pem(f.private_pem().unwrap().as_bytes()).unwrap(),
            _ => jsonwebtoken::EncodingKey::from_ed_pem(f.private_pem().unwrap().as_bytes()).unwrap(),
        };
        let mut header = jsonwebtoken::Header::new(alg);
        header.kid = Some(f.kid().to_owned());
        let now = jsonwebtoken::get_current_timestamp();
        let body = serde_json::json!({"iss": ISSUER, "aud": [AUDIENCE, "other"], "sub": SUBJECT, "exp": now + 60,
            "iat": now, "scope": "orders:read", "tenant": "t-42", "jti": "jti-interop"});
        let token = jsonwebtoken::encode(&header, &body, &enc).unwrap();
        let v = verifier(f.key(), alg);
        check(&v.verify_as(&token).unwrap());
    }
}

// ---- RFC 7515 Appendix A ------------------------------------------------------------

/// The payload of every RFC 7515 Appendix A example: iss "joe", exp 1300819380 (2011),
/// "http://example.com/is_root": true. No aud.
const RFC_EXP: i64 = 1_300_819_380;

fn rfc_verifier(key: Key, alg: Algorithm, now: i64) -> Verifier {
    Verifier::builder(KeySet::new([key]).unwrap())
        .issuer("joe")
        .any_audience()
        .algorithms([alg])
        .clock(FixedClock::new(now))
        .build()
        .unwrap()
}

fn check_rfc(token: &str, key: Key, alg: Algorithm) {
    let v = rfc_verifier(key.clone(), alg, RFC_EXP - 60);
    let verified = v.verify(token).unwrap();
    assert_eq!(verified.issuer(), Some("joe"));
    assert_eq!(verified.expires_at(), Some(RFC_EXP));
    assert_eq!(verified.claims().unwrap()["http://example.com/is_root"], true);
    // Today the example has long expired.
    let today = rfc_verifier(key, alg, 1_800_000_000);
    assert_eq!(today.verify(token).unwrap_err().kind(), ErrorKind::Expired);
    // One flipped signature bit and it no longer verifies.
    let (input, sig) = token.rsplit_once('.').unwrap();
    let mut sig: Vec<char> = sig.chars().collect();
    sig[3] = if sig[3] == 'A' { 'B' } else { 'A' };
    let tampered = format!("{input}.{}", sig.into_iter().collect::<String>());
    assert_eq!(v.verify(&tampered).unwrap_err().kind(), ErrorKind::InvalidSignature);
}

/// RFC 7515 A.1: HMAC SHA-256. Header `{"typ":"JWT",\r\n "alg":"HS256"}`.
#[test]
fn rfc7515_a1_hs256() {
    let jwk = r#"{"kty":"oct",
        "k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"}"#;
    let token = concat!(
        "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9",
        ".",
        "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ",
        ".",
        "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
    );
    let key = Key::from_jwk_json(jwk).unwrap();
    assert_eq!(key.algorithm(), Algorithm::HS256);
    check_rfc(token, key, Algorithm::HS256);
}

/// RFC 7515 A.2: RSASSA-PKCS1-v1_5 SHA-256 with the appendix's 2048-bit key.
#[test]
fn rfc7515_a2_rs256() {
    let jwk = concat!(
        r#"{"kty":"RSA","e":"AQAB","n":""#,
        "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddx",
        "HmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMs",
        "D1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSH",
        "SXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdV",
        "MTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8",
        "NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ",
        r#""}"#,
    );
    let token = concat!(
        "eyJhbGciOiJSUzI1NiJ9",
        ".",
        "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ",
        ".",
        "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7",
        "AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4",
        "BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K",
        "0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqv",
        "hJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrB",
        "p0igcN_IoypGlUPQGe77Rw",
    );
    let key = Key::from_jwk_json(jwk).unwrap();
    assert_eq!(key.algorithm(), Algorithm::RS256);
    check_rfc(token, key, Algorithm::RS256);
}

/// RFC 7515 A.3: ECDSA P-256 SHA-256 (a randomized signature, so only verifiable).
#[test]
fn rfc7515_a3_es256() {
    let jwk = r#"{"kty":"EC","crv":"P-256",
        "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
        "y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#;
    let token = concat!(
        "eyJhbGciOiJFUzI1NiJ9",
        ".",
        "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ",
        ".",
        "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q",
    );
    let key = Key::from_jwk_json(jwk).unwrap();
    assert_eq!(key.algorithm(), Algorithm::ES256);
    check_rfc(token, key, Algorithm::ES256);
}
