//! Shared test fixtures: freshly generated keys, tokens minted by jsonwebtoken 12.
//! Also included by tokengate-axum's tests and the tower bench (`#[path]`).
#![allow(dead_code, unreachable_pub)]

use std::sync::OnceLock;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
use tokengate_core::{Algorithm, Key, KeySet, Verifier};

pub const ISS: &str = "https://issuer.tokengate.test";
pub const AUD: &str = "orders-api";

pub struct Fixture {
    pub alg: Algorithm,
    pub kid: &'static str,
    pub encoding: jsonwebtoken::EncodingKey,
    pub key: Key,
}

/// Reads one DER TLV: (content, rest).
fn tlv(input: &[u8]) -> (&[u8], &[u8]) {
    let (_, rest) = input.split_first().expect("tag");
    let (&first, rest) = rest.split_first().expect("len");
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let (bytes, rest) = rest.split_at(usize::from(first & 0x7f));
        (bytes.iter().fold(0usize, |a, &b| (a << 8) | usize::from(b)), rest)
    };
    rest.split_at(len)
}

/// The RSAPrivateKey (PKCS#1) inside a PKCS#8 PrivateKeyInfo.
fn pkcs1_from_pkcs8(pkcs8: &[u8]) -> Vec<u8> {
    let (info, _) = tlv(pkcs8);
    let (_, rest) = tlv(info); // version
    let (_, rest) = tlv(rest); // algorithm
    let (octets, _) = tlv(rest); // privateKey
    octets.to_vec()
}

pub fn rsa() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).expect("rsa");
        let pkcs8 = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der<'_>>::as_der(&pair).expect("pkcs8");
        let encoding = jsonwebtoken::EncodingKey::from_rsa_der(&pkcs1_from_pkcs8(pkcs8.as_ref()));
        let public = pair.public_key().as_ref().to_vec(); // PKCS#1 RSAPublicKey
        let key = Key::from_der(Algorithm::RS256, &public).expect("rsa key").with_kid("rs-1");
        Fixture { alg: Algorithm::RS256, kid: "rs-1", encoding, key }
    })
}

pub fn es256() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).expect("ec");
        let pkcs8 = pair.to_pkcs8v1().expect("pkcs8");
        let encoding = jsonwebtoken::EncodingKey::from_ec_der(pkcs8.as_ref());
        let point = pair.public_key().as_ref();
        let (x, y) = point.get(1..).expect("point").split_at(32);
        let key = Key::ec_components(Algorithm::ES256, x, y).expect("ec key").with_kid("es-1");
        Fixture { alg: Algorithm::ES256, kid: "es-1", encoding, key }
    })
}

pub const SECRET: [u8; 32] = *b"tokengate-test-secret-0123456789";

pub fn hs256() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| Fixture {
        alg: Algorithm::HS256,
        kid: "hs-1",
        encoding: jsonwebtoken::EncodingKey::from_secret(&SECRET).expect("secret"),
        key: Key::hmac(Algorithm::HS256, &SECRET).expect("hmac").with_kid("hs-1"),
    })
}

pub fn now() -> i64 {
    i64::try_from(jsonwebtoken::get_current_timestamp()).expect("time")
}

/// Standard claims for `sub`, valid for five minutes.
pub fn claims(sub: &str) -> serde_json::Value {
    let now = now();
    serde_json::json!({"iss": ISS, "aud": AUD, "sub": sub, "iat": now, "nbf": now, "exp": now + 300})
}

fn jwt_alg(alg: Algorithm) -> jsonwebtoken::Algorithm {
    match alg {
        Algorithm::RS256 => jsonwebtoken::Algorithm::RS256,
        Algorithm::ES256 => jsonwebtoken::Algorithm::ES256,
        _ => jsonwebtoken::Algorithm::HS256,
    }
}

impl Fixture {
    pub fn token(&self, claims: &serde_json::Value) -> String {
        self.token_with_kid(claims, self.kid)
    }

    pub fn token_with_kid(&self, claims: &serde_json::Value, kid: &str) -> String {
        let mut header = jsonwebtoken::Header::new(jwt_alg(self.alg));
        header.kid = Some(kid.to_owned());
        jsonwebtoken::encode(&header, claims, &self.encoding).expect("encode")
    }

    pub fn key_set(&self) -> KeySet {
        KeySet::new([self.key.clone()]).expect("key set")
    }

    pub fn verifier(&self) -> Verifier {
        Verifier::builder(self.key_set()).issuer(ISS).audience(AUD).algorithms([self.alg]).build().expect("verifier")
    }
}
