//! Key construction: refusals, the JWK algorithm-inference table, formats, key sets.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use serde_json::{Value, json};
use tokengate_core::jwk::Jwk;
use tokengate_core::{Algorithm, ConfigError, FixedClock, Key, KeySet, Verifier, default_algorithm};
use tokengate_test_support::{ALL_ALGORITHMS, AUDIENCE, ISSUER, TokenBuilder, b64, fixture, pem};

const NOW: i64 = 1_800_000_000;

fn jwk_with(alg: Algorithm, edit: impl FnOnce(&mut serde_json::Map<String, Value>)) -> String {
    let mut jwk = fixture(alg).jwk();
    edit(jwk.as_object_mut().unwrap());
    jwk.to_string()
}

fn verifies(key: Key, alg: Algorithm) {
    let token = TokenBuilder::at(alg, NOW).without_header("kid").sign();
    let v = Verifier::builder(KeySet::new([key]).unwrap())
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .algorithms([alg])
        .clock(FixedClock::new(NOW))
        .build()
        .unwrap();
    v.verify(&token).unwrap();
}

// ---- HMAC ---------------------------------------------------------------------------

#[test]
fn short_hmac_secrets_are_refused() {
    for (alg, min) in [(Algorithm::HS256, 32), (Algorithm::HS384, 48), (Algorithm::HS512, 64)] {
        assert_eq!(
            Key::hmac(alg, &vec![7u8; min - 1]).unwrap_err(),
            ConfigError::WeakSecret { alg: tokengate_core::algorithm_name(alg), min, got: min - 1 }
        );
        assert!(Key::hmac(alg, &vec![7u8; min]).is_ok());
        assert_eq!(tokengate_core::min_hmac_len(alg), min);
    }
    assert!(matches!(Key::hmac(Algorithm::HS256, b""), Err(ConfigError::WeakSecret { got: 0, .. })));
    // A 32-byte secret is not enough for HS384.
    assert!(matches!(Key::hmac(Algorithm::HS384, &[1; 32]), Err(ConfigError::WeakSecret { min: 48, .. })));
    // From a JWK as well.
    let short = json!({"kty": "oct", "k": b64([1u8; 31])}).to_string();
    assert!(matches!(Key::from_jwk_json(&short), Err(ConfigError::WeakSecret { .. })));
    let short384 = json!({"kty": "oct", "alg": "HS384", "k": b64([1u8; 40])}).to_string();
    assert!(matches!(Key::from_jwk_json(&short384), Err(ConfigError::WeakSecret { min: 48, got: 40, .. })));
}

#[test]
fn hmac_secret_for_an_asymmetric_algorithm_is_refused() {
    for alg in [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA, Algorithm::PS256] {
        assert!(matches!(Key::hmac(alg, &[1; 64]), Err(ConfigError::KeyAlgorithmMismatch { .. })));
    }
}

// ---- RSA ----------------------------------------------------------------------------

fn rsa_jwk_with_bits(bits: usize) -> String {
    let bytes = bits.div_ceil(8);
    let mut n = vec![0xa5u8; bytes];
    let top_bits = bits - (bytes - 1) * 8;
    n[0] = (0xff >> (8 - top_bits)) | (1 << (top_bits - 1));
    json!({"kty": "RSA", "n": b64(&n), "e": "AQAB"}).to_string()
}

#[test]
fn rsa_moduli_under_2048_bits_are_refused() {
    for bits in [512, 1024, 2040, 2047] {
        assert_eq!(Key::from_jwk_json(&rsa_jwk_with_bits(bits)).unwrap_err(), ConfigError::WeakRsaKey { bits });
    }
    // Leading zero bytes do not count as modulus bits.
    let mut n = vec![0u8; 4];
    n.extend(vec![0xc3u8; 128]);
    let padded = json!({"kty": "RSA", "n": b64(&n), "e": "AQAB"}).to_string();
    assert_eq!(Key::from_jwk_json(&padded).unwrap_err(), ConfigError::WeakRsaKey { bits: 1024 });
    // Components directly.
    assert_eq!(
        Key::rsa_components(Algorithm::RS256, &[0xc3; 128], &[1, 0, 1]).unwrap_err(),
        ConfigError::WeakRsaKey { bits: 1024 }
    );
}

#[test]
fn rsa_2048_with_leading_zero_in_n_is_accepted() {
    let jwk = fixture(Algorithm::RS256).bare_jwk();
    let n = tokengate_test_support::b64([&[0u8][..], &base64_decode(jwk["n"].as_str().unwrap())].concat());
    let text = json!({"kty": "RSA", "n": n, "e": jwk["e"]}).to_string();
    verifies(Key::from_jwk_json(&text).unwrap(), Algorithm::RS256);
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s).unwrap()
}

// ---- JWK use, key_ops, alg ----------------------------------------------------------

#[test]
fn encryption_keys_are_refused() {
    let enc = jwk_with(Algorithm::RS256, |m| {
        m.insert("use".into(), "enc".into());
    });
    assert_eq!(Key::from_jwk_json(&enc).unwrap_err(), ConfigError::EncryptionKey);
    for alg in ["RSA-OAEP", "RSA-OAEP-256", "RSA1_5"] {
        let jwk = jwk_with(Algorithm::RS256, |m| {
            m.insert("alg".into(), alg.into());
        });
        assert_eq!(Key::from_jwk_json(&jwk).unwrap_err(), ConfigError::EncryptionKey, "{alg}");
    }
    let other_use = jwk_with(Algorithm::ES256, |m| {
        m.insert("use".into(), "tls".into());
    });
    assert!(matches!(Key::from_jwk_json(&other_use), Err(ConfigError::UnsupportedKey(_))));
}

#[test]
fn key_ops_without_verify_are_refused() {
    for ops in [json!(["encrypt"]), json!(["sign"]), json!(["wrapKey", "decrypt"]), json!([])] {
        let jwk = jwk_with(Algorithm::ES256, |m| {
            m.insert("key_ops".into(), ops.clone());
        });
        assert_eq!(Key::from_jwk_json(&jwk).unwrap_err(), ConfigError::NotForVerification, "{ops}");
    }
    for ops in [json!(["verify"]), json!(["sign", "verify"])] {
        let jwk = jwk_with(Algorithm::ES256, |m| {
            m.insert("key_ops".into(), ops.clone());
        });
        verifies(Key::from_jwk_json(&jwk).unwrap(), Algorithm::ES256);
    }
}

#[test]
fn jwks_with_private_members_are_refused() {
    for (alg, member) in
        [(Algorithm::RS256, "d"), (Algorithm::RS256, "p"), (Algorithm::ES256, "d"), (Algorithm::EdDSA, "d")]
    {
        let jwk = jwk_with(alg, |m| {
            m.insert(member.into(), "AQAB".into());
        });
        assert_eq!(Key::from_jwk_json(&jwk).unwrap_err(), ConfigError::PrivateKeyMaterial(member), "{alg:?} {member}");
        let doc = format!(r#"{{"keys":[{jwk}]}}"#);
        let (set, skipped) = KeySet::from_jwks_json(doc.as_bytes()).unwrap();
        assert!(set.is_empty());
        assert_eq!(skipped[0].reason, ConfigError::PrivateKeyMaterial(member));
    }
}

#[test]
fn alg_and_key_type_or_curve_mismatch_is_refused() {
    let cases = [
        (Algorithm::ES256, "ES384"),
        (Algorithm::ES384, "ES256"),
        (Algorithm::ES256, "RS256"),
        (Algorithm::RS256, "ES256"),
        (Algorithm::RS256, "HS256"),
        (Algorithm::RS256, "EdDSA"),
        (Algorithm::EdDSA, "ES256"),
        (Algorithm::EdDSA, "HS256"),
        (Algorithm::HS256, "RS256"),
        (Algorithm::HS256, "EdDSA"),
    ];
    for (fixture_alg, alg) in cases {
        let jwk = jwk_with(fixture_alg, |m| {
            m.insert("alg".into(), alg.into());
        });
        assert!(
            matches!(Key::from_jwk_json(&jwk), Err(ConfigError::KeyAlgorithmMismatch { .. })),
            "{fixture_alg:?} key with alg {alg}: {:?}",
            Key::from_jwk_json(&jwk)
        );
    }
    // DER and PEM paths check the curve too.
    let p384 = fixture(Algorithm::ES384);
    assert!(matches!(
        Key::from_der(Algorithm::ES256, p384.public_der()),
        Err(ConfigError::KeyAlgorithmMismatch { .. })
    ));
    let ed = fixture(Algorithm::EdDSA);
    assert!(matches!(
        Key::from_pem(Algorithm::ES256, ed.public_pem().as_bytes()),
        Err(ConfigError::KeyAlgorithmMismatch { .. })
    ));
    let rsa = fixture(Algorithm::RS256);
    assert!(matches!(Key::from_der(Algorithm::ES256, rsa.public_der()), Err(ConfigError::KeyAlgorithmMismatch { .. })));
    assert!(matches!(Key::from_der(Algorithm::HS256, rsa.public_der()), Err(ConfigError::KeyAlgorithmMismatch { .. })));
    // EC coordinates of the wrong size for the curve.
    assert!(Key::ec_components(Algorithm::ES384, &[1; 32], &[1; 32]).is_err());
}

#[test]
fn unknown_jwk_alg_is_unsupported() {
    let jwk = jwk_with(Algorithm::ES256, |m| {
        m.insert("alg".into(), "ES256K".into());
    });
    assert!(matches!(Key::from_jwk_json(&jwk), Err(ConfigError::UnsupportedKey(_))));
}

#[test]
fn private_keys_are_refused() {
    for alg in [Algorithm::RS256, Algorithm::ES256, Algorithm::ES384, Algorithm::EdDSA] {
        let private = fixture(alg).private_pem().unwrap();
        assert!(matches!(Key::from_pem(alg, private.as_bytes()), Err(ConfigError::InvalidKey(_))), "{alg:?}");
        // Other private labels, too.
        for label in ["RSA PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY"] {
            let relabelled = private.replace("PRIVATE KEY", label);
            assert!(Key::from_pem(alg, relabelled.as_bytes()).is_err(), "{label}");
        }
    }
    // A JWK carrying a private member still yields only a public verifying key; but a
    // private-key PEM given as DER "public key" is not a SubjectPublicKeyInfo.
    let der = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        fixture(Algorithm::ES256)
            .private_pem()
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<String>(),
    )
    .unwrap();
    assert!(Key::from_der(Algorithm::ES256, &der).is_err());
}

#[test]
fn certificates_and_garbage_are_refused() {
    let cert = pem("CERTIFICATE", fixture(Algorithm::ES256).public_der());
    assert!(matches!(Key::from_pem(Algorithm::ES256, cert.as_bytes()), Err(ConfigError::UnsupportedKey(_))));
    assert!(Key::from_pem(Algorithm::ES256, b"not a pem").is_err());
    assert!(Key::from_der(Algorithm::ES256, &[0x30, 0x03, 0x02, 0x01, 0x00]).is_err());
    assert!(Key::from_der(Algorithm::RS256, &[]).is_err());
    // A point that is not on the curve.
    assert!(Key::ec_components(Algorithm::ES256, &[1; 32], &[2; 32]).is_err());
    assert!(Key::from_jwk_json("{\"kty\":\"EC\"}").is_err());
    assert!(Key::from_jwk_json("[]").is_err());
    assert!(Key::from_jwk_json(r#"{"kty":"oct","k":"AAAA","k":"BBBB"}"#).is_err());
}

// ---- the alg-inference table ---------------------------------------------------------

fn inferred(jwk: &Value) -> Result<Algorithm, ConfigError> {
    let parsed: Jwk = serde_json::from_value(jwk.clone()).unwrap();
    default_algorithm(&parsed)
}

#[test]
fn jwk_alg_inference_rsa_is_rs256() {
    let jwk = fixture(Algorithm::RS256).bare_jwk();
    assert_eq!(inferred(&jwk), Ok(Algorithm::RS256));
    assert_eq!(Key::from_jwk_json(&jwk.to_string()).unwrap().algorithm(), Algorithm::RS256);
}

#[test]
fn jwk_alg_inference_ec_p256_is_es256() {
    let jwk = fixture(Algorithm::ES256).bare_jwk();
    assert_eq!(inferred(&jwk), Ok(Algorithm::ES256));
    assert_eq!(Key::from_jwk_json(&jwk.to_string()).unwrap().algorithm(), Algorithm::ES256);
}

#[test]
fn jwk_alg_inference_ec_p384_is_es384() {
    let jwk = fixture(Algorithm::ES384).bare_jwk();
    assert_eq!(inferred(&jwk), Ok(Algorithm::ES384));
    assert_eq!(Key::from_jwk_json(&jwk.to_string()).unwrap().algorithm(), Algorithm::ES384);
}

#[test]
fn jwk_alg_inference_okp_ed25519_is_eddsa() {
    let jwk = fixture(Algorithm::EdDSA).bare_jwk();
    assert_eq!(inferred(&jwk), Ok(Algorithm::EdDSA));
    assert_eq!(Key::from_jwk_json(&jwk.to_string()).unwrap().algorithm(), Algorithm::EdDSA);
}

#[test]
fn jwk_alg_inference_oct_is_hs256() {
    let jwk = fixture(Algorithm::HS512).bare_jwk();
    assert_eq!(inferred(&jwk), Ok(Algorithm::HS256));
    assert_eq!(Key::from_jwk_json(&jwk.to_string()).unwrap().algorithm(), Algorithm::HS256);
}

#[test]
fn jwk_alg_inference_p521_is_unsupported() {
    let jwk = json!({"kty": "EC", "crv": "P-521", "x": b64([1u8; 66]), "y": b64([2u8; 66])});
    assert!(matches!(inferred(&jwk), Err(ConfigError::UnsupportedKey(_))));
    assert!(matches!(Key::from_jwk_json(&jwk.to_string()), Err(ConfigError::UnsupportedKey(_))));
}

#[test]
fn jwk_alg_inference_x25519_and_ed448_are_unsupported() {
    for crv in ["X25519", "Ed448", "X448"] {
        let jwk = json!({"kty": "OKP", "crv": crv, "x": b64([9u8; 32])});
        // jsonwebtoken does not model these curves: the JWK parses as an unknown key type.
        assert!(matches!(Key::from_jwk_json(&jwk.to_string()), Err(ConfigError::UnsupportedKey(_))), "{crv}");
        if let Ok(parsed) = serde_json::from_value::<Jwk>(jwk) {
            assert!(default_algorithm(&parsed).is_err(), "{crv}");
        }
    }
}

#[test]
fn jwk_explicit_alg_wins_when_it_fits() {
    // An RSA key with alg PS256 is pinned to PS256; oct with HS512 to HS512.
    let ps = jwk_with(Algorithm::RS256, |m| {
        m.insert("alg".into(), "PS256".into());
    });
    assert_eq!(Key::from_jwk_json(&ps).unwrap().algorithm(), Algorithm::PS256);
    assert_eq!(Key::from_jwk_json(&fixture(Algorithm::HS512).jwk_json()).unwrap().algorithm(), Algorithm::HS512);
}

// ---- one key, every format ----------------------------------------------------------

#[test]
fn jwk_pem_and_der_of_one_key_verify_the_same_tokens() {
    for alg in ALL_ALGORITHMS {
        let f = fixture(alg);
        let from_jwk = Key::from_jwk_json(&f.jwk_json()).unwrap();
        assert_eq!(from_jwk.kid(), Some(f.kid()));
        assert_eq!(from_jwk.algorithm(), alg);
        verifies(from_jwk, alg);
        if f.secret().is_some() {
            continue;
        }
        verifies(Key::from_der(alg, f.public_der()).unwrap(), alg);
        verifies(Key::from_pem(alg, f.public_pem().as_bytes()).unwrap(), alg);
        if let Some(pkcs1) = f.rsa_pkcs1_der() {
            verifies(Key::from_der(alg, &pkcs1).unwrap(), alg);
            verifies(Key::from_pem(alg, pem("RSA PUBLIC KEY", &pkcs1).as_bytes()).unwrap(), alg);
        }
    }
}

// ---- key sets -----------------------------------------------------------------------

#[test]
fn key_set_duplicate_kid_is_an_error() {
    let a = fixture(Algorithm::HS256).key().with_kid("same");
    let b = fixture(Algorithm::ES256).key().with_kid("same");
    assert_eq!(KeySet::new([a.clone(), b]).unwrap_err(), ConfigError::DuplicateKid("same".into()));
    // Keys without kid never collide.
    let c = Key::hmac(Algorithm::HS256, &[1; 32]).unwrap();
    let d = Key::hmac(Algorithm::HS256, &[2; 32]).unwrap();
    let set = KeySet::new([a, c, d]).unwrap();
    assert_eq!(set.len(), 3);
    assert!(set.get("same").is_some());
}

#[test]
fn key_sets_get_fresh_generations_and_keys_carry_them() {
    let s1 = KeySet::new([fixture(Algorithm::HS256).key()]).unwrap();
    let s2 = KeySet::new([fixture(Algorithm::HS256).key()]).unwrap();
    assert_ne!(s1.generation(), s2.generation());
    assert_eq!(s1.get("hs256-1").unwrap().generation(), s1.generation());
    let without = s1.without("hs256-1");
    assert!(without.is_empty());
    assert_ne!(without.generation(), s1.generation());
}

#[test]
fn jwks_skips_unusable_keys_and_reports_them() {
    let good_rs = fixture(Algorithm::RS256).jwk();
    let good_ed = fixture(Algorithm::EdDSA).jwk();
    let mut enc = fixture(Algorithm::RS384).jwk();
    enc["use"] = "enc".into();
    enc["kid"] = "enc-key".into();
    let mut weak: Value = serde_json::from_str(&rsa_jwk_with_bits(1024)).unwrap();
    weak["kid"] = "weak-rsa".into();
    let p521 = json!({"kid": "p521", "kty": "EC", "crv": "P-521", "x": b64([1u8; 66]), "y": b64([2u8; 66])});
    let x25519 = json!({"kid": "x25519", "kty": "OKP", "crv": "X25519", "x": b64([9u8; 32])});
    let short_oct = json!({"kid": "short", "kty": "oct", "k": b64([1u8; 16])});
    let garbage = json!({"kid": "garbage", "kty": "RSA", "n": 5});
    let no_kid_bad = json!({"kty": "EC", "crv": "P-256", "x": "!!", "y": "??"});
    let doc = json!({"keys": [good_rs, enc, weak, p521, x25519, short_oct, garbage, no_kid_bad, good_ed]});
    let (set, skipped) = KeySet::from_jwks_json(doc.to_string().as_bytes()).unwrap();
    assert_eq!(set.len(), 2);
    assert!(set.get("rs256-1").is_some() && set.get("eddsa-1").is_some());
    let kids: Vec<Option<&str>> = skipped.iter().map(|s| s.kid.as_deref()).collect();
    assert_eq!(
        kids,
        [Some("enc-key"), Some("weak-rsa"), Some("p521"), Some("x25519"), Some("short"), Some("garbage"), None]
    );
    assert_eq!(skipped[0].reason, ConfigError::EncryptionKey);
    assert_eq!(skipped[1].reason, ConfigError::WeakRsaKey { bits: 1024 });
    assert!(matches!(skipped[4].reason, ConfigError::WeakSecret { .. }));
}

#[test]
fn jwks_that_is_not_a_jwks_or_repeats_a_kid_is_an_error() {
    for bad in [
        "{}".to_owned(),
        "[]".to_owned(),
        r#"{"keys": {}}"#.to_owned(),
        r#"{"keys": [], "keys": []}"#.to_owned(),
        "not json".to_owned(),
    ] {
        assert!(KeySet::from_jwks_json(bad.as_bytes()).is_err(), "{bad}");
    }
    let dup = json!({"keys": [fixture(Algorithm::ES256).jwk(), fixture(Algorithm::ES256).jwk()]});
    assert!(matches!(KeySet::from_jwks_json(dup.to_string().as_bytes()), Err(ConfigError::DuplicateKid(_))));
    let (empty, skipped) = KeySet::from_jwks_json(br#"{"keys": []}"#).unwrap();
    assert!(empty.is_empty() && skipped.is_empty());
}

// ---- the same verdicts on both crypto backends ---------------------------------------
// (CI runs this file on aws-lc-rs and, in checks/rust-crypto, on RustCrypto.)

#[test]
fn rsa_exponents_and_moduli_that_aws_lc_refuses_are_refused_on_both_backends() {
    let n = base64_decode(fixture(Algorithm::RS256).bare_jwk()["n"].as_str().unwrap());
    let mut even_n = n.clone();
    *even_n.last_mut().unwrap() &= 0xfe;
    let refused: [(&str, &[u8], &[u8]); 9] = [
        ("e = 0", &n, &[0]),
        ("no e", &n, &[]),
        ("e = 1", &n, &[1]),
        ("e = 2", &n, &[2]),
        ("e = 65536", &n, &[1, 0, 0]),
        ("e = 2^33 + 1", &n, &[2, 0, 0, 0, 1]),
        ("e = 2^64 + 1", &n, &[1, 0, 0, 0, 0, 0, 0, 0, 1]),
        ("e = n", &n, &n),
        ("even n", &even_n, &[1, 0, 1]),
    ];
    for (what, n, e) in refused {
        let got = Key::rsa_components(Algorithm::RS256, n, e);
        assert!(
            matches!(got, Err(ConfigError::InvalidKey(_))),
            "{what}: {got:?} on {}",
            tokengate_core::CRYPTO_BACKEND
        );
    }
    for e in [&[3u8][..], &[1, 0, 1], &[1, 0, 0, 0, 1], &[0, 1, 0, 1]] {
        assert!(Key::rsa_components(Algorithm::RS256, &n, e).is_ok(), "e = {e:?}");
    }
}

/// A P-256 SubjectPublicKeyInfo around a SEC 1 encoded point.
fn p256_spki(point: &[u8]) -> Vec<u8> {
    let prefix = &fixture(Algorithm::ES256).public_der()[..24]; // SEQ, AlgorithmIdentifier, BIT STRING tag
    assert_eq!(prefix[0..2], [0x30, 0x59]);
    let mut spki = vec![0x30, (prefix.len() - 2 + 2 + point.len()) as u8];
    spki.extend_from_slice(&prefix[2..]);
    spki.extend_from_slice(&[point.len() as u8 + 1, 0]);
    spki.extend_from_slice(point);
    spki
}

#[test]
fn ec_points_are_judged_alike_on_both_backends() {
    let f = fixture(Algorithm::ES256);
    let der = f.public_der();
    let point = &der[der.len() - 65..];
    assert_eq!(p256_spki(point), der);
    // Off the curve, in coordinates and in DER; the identity (SEC 1: one zero byte).
    assert!(Key::ec_components(Algorithm::ES256, &[1; 32], &[2; 32]).is_err());
    assert!(Key::ec_components(Algorithm::ES256, &[0; 32], &[0; 32]).is_err());
    assert!(Key::ec_components(Algorithm::ES384, &[1; 48], &[2; 48]).is_err());
    let mut off = point.to_vec();
    off[64] ^= 1;
    assert!(Key::from_der(Algorithm::ES256, &p256_spki(&off)).is_err());
    assert!(Key::from_der(Algorithm::ES256, &p256_spki(&[0])).is_err());
    // The compressed form of a real point is accepted, and verifies its tokens.
    let mut compressed = vec![2 + (point[64] & 1)];
    compressed.extend_from_slice(&point[1..33]);
    verifies(Key::from_der(Algorithm::ES256, &p256_spki(&compressed)).unwrap(), Algorithm::ES256);
    // With the wrong parity it is another point (the negation): accepted, but it does
    // not verify the fixture's tokens.
    compressed[0] ^= 1;
    let negated = Key::from_der(Algorithm::ES256, &p256_spki(&compressed)).unwrap();
    let token = TokenBuilder::at(Algorithm::ES256, NOW).without_header("kid").sign();
    let (input, sig) = token.rsplit_once('.').unwrap();
    assert!(negated.verify(input.as_bytes(), &base64_decode(sig)).is_err());
}

#[test]
fn ed25519_encodings_are_checked_at_verification_on_both_backends() {
    // Neither backend decodes an Ed25519 point when the key is built: any 32 bytes make
    // a key, and a key that is no point (or not canonical) fails every signature.
    let token = TokenBuilder::at(Algorithm::EdDSA, NOW).without_header("kid").sign();
    let (input, sig) = token.rsplit_once('.').unwrap();
    let sig = base64_decode(sig);
    let mut non_canonical = [0xff; 32];
    non_canonical[31] = 0x7f;
    let mut y2 = [0; 32];
    y2[0] = 2;
    for x in [[0; 32], [0xff; 32], non_canonical, y2] {
        let key = Key::ed25519(&x).unwrap();
        assert_eq!(key.verify(input.as_bytes(), &sig).unwrap_err().kind(), tokengate_core::ErrorKind::InvalidSignature);
    }
    assert!(Key::ed25519(&[1; 31]).is_err());
}
