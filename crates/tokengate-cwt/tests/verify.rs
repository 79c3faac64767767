//! Every refusal of the verifier on CWTs built for the test (coset + aws-lc-rs), each
//! with its exact error kind.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use common::{AUD, Device, ISS, NOW, claims, kid_header, kind, protected, raw_claims};
use coset::cbor::value::Value;
use coset::{CborSerializable, HeaderBuilder, iana};
use tokengate_core::{Algorithm, ErrorKind, FixedClock, Key, KeySet, RemoteVerifier};
use tokengate_cwt::{CoseAlgorithm, CwtVerifier};

type Entries = Vec<(Value, Value)>;

fn text(s: &str) -> Value {
    Value::Text(s.into())
}

fn int(i: i64) -> Value {
    Value::Integer(i.into())
}

fn base_entries() -> Vec<(Value, Value)> {
    vec![(int(1), text(ISS)), (int(2), text("device-7")), (int(3), text(AUD)), (int(4), int(NOW + 600))]
}

#[test]
fn every_algorithm_round_trips() {
    let d = Device::new();
    let v = d.verifier();
    for (alg, kid) in [(iana::Algorithm::ES256, "es"), (iana::Algorithm::EdDSA, "ed")] {
        let verified = v.verify(&d.signed(alg, kid)).unwrap();
        assert_eq!(verified.subject(), Some("device-7"));
        assert_eq!(verified.key_id(), Some(kid));
    }
    for alg in [iana::Algorithm::HMAC_256_64, iana::Algorithm::HMAC_256_256] {
        let verified = v.verify(&d.mac0(alg, "mac", claims().build().to_vec().unwrap())).unwrap();
        assert_eq!(verified.registered().jti.as_deref(), Some("AQID"));
    }
}

#[test]
fn the_verified_claims_are_json_under_jwt_names() {
    let d = Device::new();
    let mut entries = base_entries();
    entries.push((int(7), Value::Bytes(vec![0xff, 0xfe])));
    entries.push((int(9), text("telemetry:write fw:read")));
    entries.push((int(-70000), Value::Bytes(b"hi".to_vec())));
    entries.push((text("tenant_id"), text("acme")));
    entries.push((int(8), Value::Map(vec![(int(1), Value::Map(vec![(int(1), int(2))]))])));
    let verified = d
        .verifier()
        .verify(&d.sign1(protected(iana::Algorithm::ES256), kid_header("es"), Some(raw_claims(entries))))
        .unwrap();
    let json: serde_json::Value = serde_json::from_str(verified.raw_claims()).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "iss": ISS, "sub": "device-7", "aud": AUD, "exp": NOW + 600, "jti": "__4",
            "scope": "telemetry:write fw:read", "-70000": "aGk", "tenant_id": "acme",
            "cnf": {"1": {"1": 2}}
        })
    );
    assert!(verified.has_scope("fw:read"));
    assert_eq!(verified.registered().jti.as_deref(), Some("__4"));
}

#[test]
fn registered_claims_are_checked_like_jwts() {
    let d = Device::new();
    let v = d.verifier();
    let sign = |entries: Vec<(Value, Value)>| {
        d.sign1(protected(iana::Algorithm::ES256), kid_header("es"), Some(raw_claims(entries)))
    };
    let with = |k: i64, val: Value| {
        let mut e: Vec<_> = base_entries().into_iter().filter(|(key, _)| *key != int(k)).collect();
        e.push((int(k), val));
        e
    };
    let without = |k: i64| base_entries().into_iter().filter(|(key, _)| *key != int(k)).collect::<Vec<_>>();
    let cases: Vec<(&str, Entries, ErrorKind)> = vec![
        ("expired", with(4, int(NOW - 31)), ErrorKind::Expired),
        ("no exp", without(4), ErrorKind::MissingClaim),
        ("no iss", without(1), ErrorKind::MissingClaim),
        ("no aud", without(3), ErrorKind::MissingClaim),
        ("other iss", with(1, text("https://evil.example")), ErrorKind::InvalidIssuer),
        ("other aud", with(3, text("billing")), ErrorKind::InvalidAudience),
        ("aud array without ours", with(3, Value::Array(vec![text("a"), text("b")])), ErrorKind::InvalidAudience),
        ("nbf in the future", with(5, int(NOW + 31)), ErrorKind::NotYetValid),
        ("iat in the future", with(6, int(NOW + 31)), ErrorKind::IssuedInFuture),
        ("exp as text", with(4, text("soon")), ErrorKind::InvalidClaim),
        ("negative exp", with(4, int(-1)), ErrorKind::InvalidClaim),
        ("exp NaN", with(4, Value::Float(f64::NAN)), ErrorKind::InvalidClaim),
        ("exp tagged as a date", with(4, Value::Tag(1, Box::new(int(NOW + 600)))), ErrorKind::InvalidClaim),
        ("iss as bytes", with(1, Value::Bytes(b"x".to_vec())), ErrorKind::InvalidClaim),
        ("cti as text", with(7, text("id")), ErrorKind::InvalidClaim),
        (
            "iss twice",
            {
                let mut e = base_entries();
                e.push((text("iss"), text(ISS)));
                e
            },
            ErrorKind::DuplicateMember,
        ),
        (
            "key 1 twice",
            {
                let mut e = base_entries();
                e.push((int(1), text(ISS)));
                e
            },
            ErrorKind::DuplicateMember,
        ),
        (
            "nested duplicate",
            with(8, Value::Map(vec![(int(1), int(1)), (text("1"), int(2))])),
            ErrorKind::DuplicateMember,
        ),
        (
            "bytes as a claim key",
            {
                let mut e = base_entries();
                e.push((Value::Bytes(vec![1]), int(1)));
                e
            },
            ErrorKind::InvalidJson,
        ),
    ];
    for (name, entries, want) in cases {
        assert_eq!(kind(v.verify(&sign(entries))), want, "{name}");
    }
    // Within the leeway: accepted.
    assert!(v.verify(&sign(with(4, int(NOW - 29)))).is_ok());
    // Nesting deeper than the JSON bound.
    let mut deep = int(1);
    for _ in 0..20 {
        deep = Value::Array(vec![deep]);
    }
    assert_eq!(kind(v.verify(&sign(with(-1, deep)))), ErrorKind::NestingTooDeep);
    // A payload that is not a map.
    let array = Value::Array(vec![int(1)]).to_vec().unwrap();
    assert_eq!(
        kind(v.verify(&d.sign1(protected(iana::Algorithm::ES256), kid_header("es"), Some(array)))),
        ErrorKind::InvalidJson
    );
}

#[test]
fn required_claims_and_waived_exp() {
    let d = Device::new();
    let v = CwtVerifier::builder(d.keys())
        .issuer(ISS)
        .audience(AUD)
        .algorithms([CoseAlgorithm::ES256])
        .require(["jti", "tenant_id"])
        .clock(FixedClock::new(NOW))
        .build()
        .unwrap();
    let err = v.verify(&d.signed(iana::Algorithm::ES256, "es")).unwrap_err();
    assert_eq!((err.kind(), err.detail()), (ErrorKind::MissingClaim, Some("tenant_id")));
    let no_exp: Vec<_> = base_entries().into_iter().filter(|(k, _)| *k != int(4)).collect();
    let token = d.sign1(protected(iana::Algorithm::ES256), kid_header("es"), Some(raw_claims(no_exp)));
    let lax = CwtVerifier::builder(d.keys())
        .issuer(ISS)
        .audience(AUD)
        .algorithms([CoseAlgorithm::ES256])
        .allow_missing_exp()
        .clock(FixedClock::new(NOW))
        .build()
        .unwrap();
    assert!(lax.verify(&token).is_ok());
}

#[test]
fn header_rules() {
    let d = Device::new();
    let v = d.verifier();
    let payload = || Some(claims().build().to_vec().unwrap());
    let es = || protected(iana::Algorithm::ES256);
    // alg only in the unprotected header.
    let t = d.sign1(
        HeaderBuilder::new().build(),
        HeaderBuilder::new().algorithm(iana::Algorithm::ES256).key_id(b"es".to_vec()).build(),
        payload(),
    );
    assert_eq!(kind(v.verify(&t)), ErrorKind::AlgorithmNotAllowed);
    // alg in both headers.
    let t =
        d.sign1(es(), HeaderBuilder::new().algorithm(iana::Algorithm::ES256).key_id(b"es".to_vec()).build(), payload());
    assert_eq!(kind(v.verify(&t)), ErrorKind::AlgorithmNotAllowed);
    // An alg we do not verify (ES384), and a MAC alg in a COSE_Sign1.
    let t = d.sign1(protected(iana::Algorithm::ES384), kid_header("es"), payload());
    assert_eq!(kind(v.verify(&t)), ErrorKind::AlgorithmNotAllowed);
    let t = d.sign1(protected(iana::Algorithm::HMAC_256_256), kid_header("mac"), payload());
    assert_eq!(kind(v.verify(&t)), ErrorKind::AlgorithmNotAllowed);
    // An unknown critical header, a critical header in the unprotected bucket.
    let crit = HeaderBuilder::new()
        .algorithm(iana::Algorithm::ES256)
        .add_critical_label(coset::RegisteredLabelWithPrivate::PrivateUse(-65537))
        .value(-65537, Value::Bool(true))
        .build();
    assert_eq!(kind(v.verify(&d.sign1(crit, kid_header("es"), payload()))), ErrorKind::UnsupportedCritical);
    let crit = HeaderBuilder::new()
        .algorithm(iana::Algorithm::ES256)
        .add_critical(iana::HeaderParameter::CounterSignature)
        .build();
    assert_eq!(kind(v.verify(&d.sign1(crit, kid_header("es"), payload()))), ErrorKind::UnsupportedCritical);
    let unprotected_crit = HeaderBuilder::new().key_id(b"es".to_vec()).add_critical(iana::HeaderParameter::Alg).build();
    assert_eq!(kind(v.verify(&d.sign1(es(), unprotected_crit, payload()))), ErrorKind::UnsupportedCritical);
    // crit naming only what we understand is fine.
    let crit_ok =
        HeaderBuilder::new().algorithm(iana::Algorithm::ES256).add_critical(iana::HeaderParameter::Alg).build();
    assert!(v.verify(&d.sign1(crit_ok, kid_header("es"), payload())).is_ok());
    // kid in the protected header works; in both is refused.
    let kid_protected = HeaderBuilder::new().algorithm(iana::Algorithm::ES256).key_id(b"es".to_vec()).build();
    assert!(v.verify(&d.sign1(kid_protected.clone(), HeaderBuilder::new().build(), payload())).is_ok());
    assert_eq!(kind(v.verify(&d.sign1(kid_protected, kid_header("es"), payload()))), ErrorKind::Malformed);
    // A nil (detached) payload.
    assert_eq!(kind(v.verify(&d.sign1(es(), kid_header("es"), None))), ErrorKind::Malformed);
    // Key material in a header never picks the key: an x5chain-like member is ignored and
    // the kid's key still decides (a signature by another key fails).
    let other = Device::new();
    let with_x5 = HeaderBuilder::new().key_id(b"es".to_vec()).value(33, Value::Bytes(vec![0x30, 0x82])).build();
    assert_eq!(kind(v.verify(&other.sign1(es(), with_x5, payload()))), ErrorKind::InvalidSignature);
}

#[test]
fn keys_are_found_by_utf8_kid_and_pinned() {
    let d = Device::new();
    let v = d.verifier();
    let payload = || Some(claims().build().to_vec().unwrap());
    assert_eq!(kind(v.verify(&d.signed(iana::Algorithm::ES256, "nope"))), ErrorKind::UnknownKey);
    let bad_kid = HeaderBuilder::new().key_id(vec![0xff, 0xfe]).build();
    assert_eq!(kind(v.verify(&d.sign1(protected(iana::Algorithm::ES256), bad_kid, payload()))), ErrorKind::UnknownKey);
    // ES256 under the Ed25519 key's kid: the key is pinned to EdDSA.
    assert_eq!(kind(v.verify(&d.signed(iana::Algorithm::ES256, "ed"))), ErrorKind::AlgorithmMismatch);
    // An HMAC tag under a public key's kid.
    let t = d.mac0(iana::Algorithm::HMAC_256_256, "es", claims().build().to_vec().unwrap());
    assert_eq!(kind(v.verify(&t)), ErrorKind::AlgorithmMismatch);
    // Signed by another device's key under our kid.
    let other = Device::new();
    assert_eq!(kind(v.verify(&other.signed(iana::Algorithm::ES256, "es"))), ErrorKind::InvalidSignature);
    assert_eq!(kind(v.verify(&other.signed(iana::Algorithm::EdDSA, "ed"))), ErrorKind::InvalidSignature);
    let t = other.mac0(iana::Algorithm::HMAC_256_64, "mac", claims().build().to_vec().unwrap());
    assert_eq!(kind(v.verify(&t)), ErrorKind::InvalidSignature);
    // A key bound to an issuer refuses another iss, even with any_issuer.
    let bound = KeySet::new([d.keys().get("es").unwrap().clone().bind_issuer("https://other.example")]).unwrap();
    let v = CwtVerifier::builder(bound)
        .any_issuer()
        .audience(AUD)
        .algorithms([CoseAlgorithm::ES256])
        .clock(FixedClock::new(NOW))
        .build()
        .unwrap();
    assert_eq!(kind(v.verify(&d.signed(iana::Algorithm::ES256, "es"))), ErrorKind::InvalidIssuer);
}

#[test]
fn tags_sizes_and_encodings() {
    let d = Device::new();
    let v = d.verifier();
    let token = d.signed(iana::Algorithm::ES256, "es");
    // Trailing bytes after the one CBOR item.
    assert_eq!(kind(v.verify(&[&token[..], &[0x00]].concat())), ErrorKind::Malformed);
    // Not CBOR at all, and a COSE_Sign (98) tag.
    assert_eq!(kind(v.verify(b"{\"alg\":\"none\"}")), ErrorKind::Malformed);
    assert_eq!(kind(v.verify(&[&[0xd8, 0x62][..], &token[1..]].concat())), ErrorKind::Malformed);
    // A wrongly sized truncated tag (the full 32 bytes under HMAC 256/64).
    let full = d.mac0(iana::Algorithm::HMAC_256_256, "mac", claims().build().to_vec().unwrap());
    let retyped = coset::CoseMac0::from_tagged_slice(&full).map(|mut m| {
        m.protected = coset::ProtectedHeader { original_data: None, header: protected(iana::Algorithm::HMAC_256_64) };
        coset::TaggedCborSerializable::to_tagged_vec(m).unwrap()
    });
    use coset::TaggedCborSerializable;
    assert_eq!(kind(v.verify(&retyped.unwrap())), ErrorKind::InvalidSignature);
    // Size: over the limit, in bytes and in base64url.
    let small = CwtVerifier::builder(d.keys())
        .issuer(ISS)
        .audience(AUD)
        .algorithms([CoseAlgorithm::ES256])
        .max_token_size(64)
        .clock(FixedClock::new(NOW))
        .build()
        .unwrap();
    assert_eq!(kind(small.verify(&token)), ErrorKind::TokenTooLarge);
    assert_eq!(kind(small.verify_base64url(&URL_SAFE_NO_PAD.encode(&token))), ErrorKind::TokenTooLarge);
    // base64url: unpadded only.
    assert!(v.verify_base64url(&URL_SAFE_NO_PAD.encode(&token)).is_ok());
    let padded = URL_SAFE.encode(&token);
    if padded.ends_with('=') {
        assert_eq!(kind(v.verify_base64url(&padded)), ErrorKind::InvalidEncoding);
    }
    assert_eq!(kind(v.verify_base64url("a.b.c")), ErrorKind::InvalidEncoding);
}

#[test]
fn an_hmac_secret_verifies_both_mac_lengths_only_when_allowed() {
    let d = Device::new();
    let full_only = CwtVerifier::builder(d.keys())
        .issuer(ISS)
        .audience(AUD)
        .algorithms([CoseAlgorithm::Hmac256_256])
        .clock(FixedClock::new(NOW))
        .build()
        .unwrap();
    let payload = claims().build().to_vec().unwrap();
    assert!(full_only.verify(&d.mac0(iana::Algorithm::HMAC_256_256, "mac", payload.clone())).is_ok());
    assert_eq!(
        kind(full_only.verify(&d.mac0(iana::Algorithm::HMAC_256_64, "mac", payload))),
        ErrorKind::AlgorithmNotAllowed
    );
    // An HS384 key cannot stand behind a COSE HMAC 256 alg.
    let hs384 = KeySet::new([Key::hmac(Algorithm::HS384, &[1; 48]).unwrap().with_kid("mac")]).unwrap();
    let v = CwtVerifier::builder(hs384)
        .issuer(ISS)
        .audience(AUD)
        .algorithms_of_keys()
        .clock(FixedClock::new(NOW))
        .build()
        .unwrap();
    assert_eq!(
        kind(v.verify(&d.mac0(iana::Algorithm::HMAC_256_256, "mac", claims().build().to_vec().unwrap()))),
        ErrorKind::AlgorithmMismatch
    );
}

#[tokio::test]
async fn as_a_remote_verifier_it_takes_base64url() {
    let d = Device::new();
    let v: Arc<dyn RemoteVerifier> = Arc::new(d.verifier());
    let token = URL_SAFE_NO_PAD.encode(d.signed(iana::Algorithm::EdDSA, "ed"));
    assert_eq!(v.verify_remote(&token).await.unwrap().subject(), Some("device-7"));
    assert_eq!(v.verify_remote("not base64!").await.unwrap_err().kind(), ErrorKind::InvalidEncoding);
    let other = URL_SAFE_NO_PAD.encode(Device::new().signed(iana::Algorithm::EdDSA, "ed"));
    assert_eq!(v.verify_remote(&other).await.unwrap_err().kind(), ErrorKind::InvalidSignature);
}

#[test]
fn builder_refuses_empty_choices() {
    let d = Device::new();
    assert!(CwtVerifier::builder(d.keys()).issuer(ISS).audience(AUD).algorithms([]).build().is_err());
    assert!(
        CwtVerifier::builder(d.keys())
            .issuers(Vec::<String>::new())
            .audience(AUD)
            .algorithms_of_keys()
            .build()
            .is_err()
    );
    assert!(CwtVerifier::builder(d.keys()).issuer(ISS).audience("").algorithms_of_keys().build().is_err());
}
