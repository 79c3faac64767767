//! The examples of RFC 8392 Appendix A, copied from the RFC text, verified with the
//! RFC's keys (A.2.2, A.2.3) at a clock inside their 2015 validity window.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::{hex, kind};
use tokengate_core::{Algorithm, ErrorKind, FixedClock, Key, KeySet};
use tokengate_cwt::{ALL_COSE_ALGORITHMS, CoseAlgorithm, CwtVerifier};

/// A.3: a signed CWT (tag 18, ES256), kid in the unprotected header.
const A3: &str = "d28443a10126a104524173796d6d657472696345434453413235365850a701756
36f61703a2f2f61732e6578616d706c652e636f6d02656572696b77037818636f
61703a2f2f6c696768742e6578616d706c652e636f6d041a5612aeb0051a5610d
9f0061a5610d9f007420b7158405427c1ff28d23fbad1f29c4c7c6a555e601d6f
a29f9179bc3d7438bacaca5acd08c8d4d4f96131680c429a01f85951ecee743a5
2b9b63632c57209120e1c9e30";

/// A.4: a MACed CWT with the CWT tag (61 around 17, HMAC 256/64).
const A4: &str = "d83dd18443a10104a1044c53796d6d65747269633235365850a70175636f6170
3a2f2f61732e6578616d706c652e636f6d02656572696b77037818636f61703a
2f2f6c696768742e6578616d706c652e636f6d041a5612aeb0051a5610d9f006
1a5610d9f007420b7148093101ef6d789200";

/// A.7: a MACed CWT (tag 17) whose only claim is a floating-point `iat`.
const A7: &str = "d18443a10104a1044c53796d6d65747269633235364ba106fb41d584367c2000
0048b8816f34c0542892";

/// A.2.2: the 256-bit symmetric key.
const SYMMETRIC_256: &str = "403697de87af64611c1d32a05dab0fe1fcb715a86ab435f1ec99192d79569388";
/// A.2.3: the P-256 public key.
const P256_X: &str = "143329cce7868e416927599cf65a34f3ce2ffda55a7eca69ed8919a394d42f0f";
const P256_Y: &str = "60f7f1a780d8a783bfb7a2dd6b2796e8128dbbcef9d3d168db9529971a36e7b9";

const ISS: &str = "coap://as.example.com";
const AUD: &str = "coap://light.example.com";
/// Between the examples' `iat`/`nbf` (1443944944) and `exp` (1444064944).
const IN_2015: i64 = 1_444_000_000;
const EXP: i64 = 1_444_064_944;

fn rfc_keys() -> KeySet {
    let ec = Key::ec_components(Algorithm::ES256, &hex(P256_X), &hex(P256_Y)).unwrap().with_kid("AsymmetricECDSA256");
    let mac = Key::hmac(Algorithm::HS256, &hex(SYMMETRIC_256)).unwrap().with_kid("Symmetric256");
    KeySet::new([ec, mac]).unwrap()
}

fn verifier_at(now: i64) -> CwtVerifier {
    CwtVerifier::builder(rfc_keys())
        .issuer(ISS)
        .audience(AUD)
        .algorithms(ALL_COSE_ALGORITHMS)
        .clock(FixedClock::new(now))
        .build()
        .unwrap()
}

#[test]
fn a3_signed_cwt_verifies() {
    let v = verifier_at(IN_2015).verify(&hex(A3)).unwrap();
    assert_eq!(v.subject(), Some("erikw"));
    assert_eq!(v.issuer(), Some(ISS));
    assert_eq!(v.registered().aud, vec![AUD.to_owned()]);
    assert_eq!(v.expires_at(), Some(EXP));
    assert_eq!(v.registered().nbf, Some(1_443_944_944));
    assert_eq!(v.registered().jti.as_deref(), Some("C3E"));
    assert_eq!(v.key_id(), Some("AsymmetricECDSA256"));
    assert!(v.header().is_none());
    let claims = v.claims().unwrap();
    assert_eq!(claims["sub"], "erikw");
    assert_eq!(claims["exp"], EXP);
    assert_eq!(claims["jti"], "C3E");
}

#[test]
fn a4_maced_cwt_with_cwt_tag_verifies() {
    let v = verifier_at(IN_2015).verify(&hex(A4)).unwrap();
    assert_eq!(v.subject(), Some("erikw"));
    assert_eq!(v.key_id(), Some("Symmetric256"));
}

#[test]
fn a7_float_iat_verifies_and_is_truncated() {
    let verifier = CwtVerifier::builder(rfc_keys())
        .any_issuer()
        .any_audience()
        .algorithms([CoseAlgorithm::Hmac256_64])
        .allow_missing_exp()
        .clock(FixedClock::new(IN_2015))
        .build()
        .unwrap();
    let v = verifier.verify(&hex(A7)).unwrap();
    assert_eq!(v.registered().iat, Some(1_443_944_944));
    // The default verifier requires iss, aud and exp.
    assert_eq!(kind(verifier_at(IN_2015).verify(&hex(A7))), ErrorKind::MissingClaim);
}

#[test]
fn the_examples_expired_in_2015() {
    // With the real clock, and one second past exp plus the 30 s leeway.
    let real = CwtVerifier::builder(rfc_keys()).issuer(ISS).audience(AUD).algorithms_of_keys().build().unwrap();
    assert_eq!(kind(real.verify(&hex(A3))), ErrorKind::Expired);
    assert_eq!(kind(verifier_at(EXP + 30).verify(&hex(A4))), ErrorKind::Expired);
    assert!(verifier_at(EXP + 29).verify(&hex(A4)).is_ok());
    // Before nbf (minus the leeway): not valid yet.
    assert_eq!(kind(verifier_at(1_443_944_944 - 31).verify(&hex(A3))), ErrorKind::NotYetValid);
}

#[test]
fn tampered_examples_are_refused() {
    for vector in [A3, A4] {
        let mut bytes = hex(vector);
        let at = bytes.windows(5).position(|w| w == b"erikw").unwrap();
        bytes[at + 4] = b'x';
        assert_eq!(kind(verifier_at(IN_2015).verify(&bytes)), ErrorKind::InvalidSignature, "{vector}");
        // A changed signature or tag byte.
        let mut bytes = hex(vector);
        *bytes.last_mut().unwrap() ^= 1;
        assert_eq!(kind(verifier_at(IN_2015).verify(&bytes)), ErrorKind::InvalidSignature);
    }
}

#[test]
fn the_examples_fail_with_other_keys_under_the_same_kid() {
    let other_ec =
        aws_lc_rs::signature::EcdsaKeyPair::generate(&aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
    use aws_lc_rs::signature::KeyPair;
    let point = other_ec.public_key().as_ref().to_vec();
    let keys = KeySet::new([
        Key::ec_components(Algorithm::ES256, &point[1..33], &point[33..]).unwrap().with_kid("AsymmetricECDSA256"),
        Key::hmac(Algorithm::HS256, &[9; 32]).unwrap().with_kid("Symmetric256"),
    ])
    .unwrap();
    let verifier = CwtVerifier::builder(keys)
        .issuer(ISS)
        .audience(AUD)
        .algorithms(ALL_COSE_ALGORITHMS)
        .clock(FixedClock::new(IN_2015))
        .build()
        .unwrap();
    assert_eq!(kind(verifier.verify(&hex(A3))), ErrorKind::InvalidSignature);
    assert_eq!(kind(verifier.verify(&hex(A4))), ErrorKind::InvalidSignature);
}

#[test]
fn wrong_audience_and_issuer_are_refused() {
    let build = |iss: &str, aud: &str| {
        CwtVerifier::builder(rfc_keys())
            .issuer(iss)
            .audience(aud)
            .algorithms(ALL_COSE_ALGORITHMS)
            .clock(FixedClock::new(IN_2015))
            .build()
            .unwrap()
    };
    assert_eq!(kind(build(ISS, "coap://other.example.com").verify(&hex(A3))), ErrorKind::InvalidAudience);
    assert_eq!(kind(build("coap://evil.example.com", AUD).verify(&hex(A4))), ErrorKind::InvalidIssuer);
}

#[test]
fn untagged_and_doubly_tagged_examples_are_refused() {
    let a3 = hex(A3);
    assert_eq!(a3[0], 0xd2);
    // Untagged: the bare COSE_Sign1 array.
    assert_eq!(kind(verifier_at(IN_2015).verify(&a3[1..])), ErrorKind::Malformed);
    // Only the CWT tag, no COSE tag.
    let only_cwt = [&[0xd8, 0x3d][..], &a3[1..]].concat();
    assert_eq!(kind(verifier_at(IN_2015).verify(&only_cwt)), ErrorKind::Malformed);
    // The CWT tag around the COSE tag: accepted (as A.4 does).
    let cwt_tagged = [&[0xd8, 0x3d][..], &a3].concat();
    assert!(verifier_at(IN_2015).verify(&cwt_tagged).is_ok());
    // Doubly tagged: 61(61(18(...))), 18(18(...)), 18(61(...)).
    for prefix in [&[0xd8, 0x3d, 0xd8, 0x3d][..], &[0xd2][..]] {
        let doubled = [prefix, &a3].concat();
        assert_eq!(kind(verifier_at(IN_2015).verify(&doubled)), ErrorKind::Malformed, "{prefix:x?}");
    }
    let inner_cwt = [&[0xd2, 0xd8, 0x3d][..], &a3[1..]].concat();
    assert_eq!(kind(verifier_at(IN_2015).verify(&inner_cwt)), ErrorKind::Malformed);
    // A MACed example under the signed tag: the structure says Sign1, the alg says MAC.
    let a4 = hex(A4);
    let retagged = [&[0xd2][..], &a4[3..]].concat();
    assert_eq!(kind(verifier_at(IN_2015).verify(&retagged)), ErrorKind::AlgorithmNotAllowed);
}

#[test]
fn the_allowlist_and_key_pinning_apply() {
    let es_only = CwtVerifier::builder(rfc_keys())
        .issuer(ISS)
        .audience(AUD)
        .algorithms([CoseAlgorithm::ES256])
        .clock(FixedClock::new(IN_2015))
        .build()
        .unwrap();
    assert!(es_only.verify(&hex(A3)).is_ok());
    assert_eq!(kind(es_only.verify(&hex(A4))), ErrorKind::AlgorithmNotAllowed);
    // The kid names a key pinned to another algorithm.
    let swapped =
        KeySet::new([Key::hmac(Algorithm::HS256, &hex(SYMMETRIC_256)).unwrap().with_kid("AsymmetricECDSA256")])
            .unwrap();
    let verifier = CwtVerifier::builder(swapped)
        .issuer(ISS)
        .audience(AUD)
        .algorithms(ALL_COSE_ALGORITHMS)
        .clock(FixedClock::new(IN_2015))
        .build()
        .unwrap();
    assert_eq!(kind(verifier.verify(&hex(A3))), ErrorKind::AlgorithmMismatch);
    assert_eq!(kind(verifier.verify(&hex(A4))), ErrorKind::UnknownKey);
}
