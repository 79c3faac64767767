//! Test helpers: keys, and CWTs built with coset and signed with aws-lc-rs.
#![allow(dead_code, unreachable_pub, clippy::panic, clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair};
use aws_lc_rs::{hmac, signature::ECDSA_P256_SHA256_FIXED_SIGNING};
use coset::cbor::value::Value;
use coset::cwt::{ClaimsSetBuilder, Timestamp};
use coset::{CborSerializable, CoseMac0Builder, CoseSign1Builder, Header, HeaderBuilder, TaggedCborSerializable, iana};
use tokengate_core::{Algorithm, FixedClock, Key, KeySet};
use tokengate_cwt::{ALL_COSE_ALGORITHMS, CwtVerifier};

pub const NOW: i64 = 1_700_000_000;
pub const ISS: &str = "https://as.example";
pub const AUD: &str = "telemetry";

pub fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

pub struct Device {
    pub es256: EcdsaKeyPair,
    pub ed25519: Ed25519KeyPair,
    pub secret: [u8; 32],
}

impl Device {
    pub fn new() -> Device {
        let es256 = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
        let ed25519 = Ed25519KeyPair::generate().unwrap();
        let mut secret = [0u8; 32];
        aws_lc_rs::rand::fill(&mut secret).unwrap();
        Device { es256, ed25519, secret }
    }

    pub fn keys(&self) -> KeySet {
        let point = self.es256.public_key().as_ref();
        let es = Key::ec_components(Algorithm::ES256, &point[1..33], &point[33..65]).unwrap().with_kid("es");
        let ed = Key::ed25519(self.ed25519.public_key().as_ref()).unwrap().with_kid("ed");
        let mac = Key::hmac(Algorithm::HS256, &self.secret).unwrap().with_kid("mac");
        KeySet::new([es, ed, mac]).unwrap()
    }

    pub fn verifier(&self) -> CwtVerifier {
        verifier(self.keys(), FixedClock::new(NOW))
    }

    pub fn sign(&self, alg: iana::Algorithm, data: &[u8]) -> Vec<u8> {
        match alg {
            iana::Algorithm::ES256 => self.es256.sign(&SystemRandom::new(), data).unwrap().as_ref().to_vec(),
            iana::Algorithm::EdDSA => self.ed25519.sign(data).as_ref().to_vec(),
            _ => {
                let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &self.secret), data).as_ref().to_vec();
                if alg == iana::Algorithm::HMAC_256_64 { tag[..8].to_vec() } else { tag }
            }
        }
    }

    /// A tagged COSE_Sign1 (18) with these headers and payload.
    pub fn sign1(&self, protected: Header, unprotected: Header, payload: Option<Vec<u8>>) -> Vec<u8> {
        let alg = match protected.alg.clone().or(unprotected.alg.clone()) {
            Some(coset::RegisteredLabelWithPrivate::Assigned(a)) => a,
            _ => iana::Algorithm::ES256,
        };
        let mut builder = CoseSign1Builder::new().protected(protected).unprotected(unprotected);
        if let Some(p) = payload.clone() {
            builder = builder.payload(p);
        }
        let mut msg = builder.build();
        let tbs = coset::sig_structure_data(
            coset::SignatureContext::CoseSign1,
            msg.protected.clone(),
            None,
            &[],
            payload.as_deref().unwrap_or_default(),
        );
        msg.signature = self.sign(alg, &tbs);
        msg.to_tagged_vec().unwrap()
    }

    /// A tagged COSE_Mac0 (17).
    pub fn mac0(&self, alg: iana::Algorithm, kid: &str, payload: Vec<u8>) -> Vec<u8> {
        CoseMac0Builder::new()
            .protected(HeaderBuilder::new().algorithm(alg).build())
            .unprotected(HeaderBuilder::new().key_id(kid.as_bytes().to_vec()).build())
            .payload(payload)
            .create_tag(&[], |data| self.sign(alg, data))
            .build()
            .to_tagged_vec()
            .unwrap()
    }

    /// A signed CWT with the usual claims.
    pub fn signed(&self, alg: iana::Algorithm, kid: &str) -> Vec<u8> {
        self.sign1(protected(alg), kid_header(kid), Some(claims().build().to_vec().unwrap()))
    }
}

pub fn protected(alg: iana::Algorithm) -> Header {
    HeaderBuilder::new().algorithm(alg).build()
}

pub fn kid_header(kid: &str) -> Header {
    HeaderBuilder::new().key_id(kid.as_bytes().to_vec()).build()
}

pub fn claims() -> ClaimsSetBuilder {
    ClaimsSetBuilder::new()
        .issuer(ISS.into())
        .subject("device-7".into())
        .audience(AUD.into())
        .expiration_time(Timestamp::WholeSeconds(NOW + 600))
        .not_before(Timestamp::WholeSeconds(NOW - 10))
        .issued_at(Timestamp::WholeSeconds(NOW - 10))
        .cwt_id(vec![1, 2, 3])
}

/// A claims map from raw CBOR entries.
pub fn raw_claims(entries: Vec<(Value, Value)>) -> Vec<u8> {
    Value::Map(entries).to_vec().unwrap()
}

pub fn verifier(keys: KeySet, clock: FixedClock) -> CwtVerifier {
    CwtVerifier::builder(keys).issuer(ISS).audience(AUD).algorithms(ALL_COSE_ALGORITHMS).clock(clock).build().unwrap()
}

pub fn kind(result: Result<tokengate_core::Verified, tokengate_core::AuthError>) -> tokengate_core::ErrorKind {
    match result {
        Ok(v) => panic!("expected a rejection, got {v:?}"),
        Err(e) => e.kind(),
    }
}
