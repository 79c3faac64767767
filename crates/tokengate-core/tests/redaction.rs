//! Debug and Display of every type that sees a token never show the token, its
//! signature or an HMAC secret.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use serde_json::json;
use tokengate_core::{Algorithm, FixedClock, Key, RedactedToken, peek_header};
use tokengate_test_support::{SUBJECT, TokenBuilder, b64, fixture, verifier};

const NOW: i64 = 1_800_000_000;

/// Every rendering of a secret we might leak: base64url, standard base64, hex, and the
/// `Debug` form of the byte slice.
fn secret_forms(secret: &[u8]) -> Vec<String> {
    use base64::Engine;
    let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    vec![
        b64(secret),
        base64::engine::general_purpose::STANDARD.encode(secret),
        hex,
        format!("{secret:?}"),
        format!("{:?}", &secret[..8]).trim_end_matches(']').to_owned(),
    ]
}

#[track_caller]
fn assert_clean(shown: &str, token: &str, secret: &[u8]) {
    let (input, signature) = token.rsplit_once('.').unwrap();
    let (header_b64, payload_b64) = input.split_once('.').unwrap();
    assert!(!shown.contains(token), "token in {shown}");
    assert!(!shown.contains(signature), "signature in {shown}");
    if signature.len() >= 16 {
        assert!(!shown.contains(&signature[..16]), "signature prefix in {shown}");
    }
    assert!(!shown.contains(payload_b64), "payload segment in {shown}");
    assert!(!shown.contains(header_b64), "header segment in {shown}");
    for form in secret_forms(secret) {
        assert!(!shown.contains(&form), "secret ({form}) in {shown}");
    }
}

#[test]
fn verified_key_header_and_errors_never_show_the_token_or_secret() {
    let f = fixture(Algorithm::HS256);
    let secret = f.secret().unwrap();
    let token = TokenBuilder::at(Algorithm::HS256, NOW).claim("email", "alice@example.com").sign();
    let v = verifier(Algorithm::HS256).clock(FixedClock::new(NOW)).build().unwrap();

    let verified = v.verify(&token).unwrap();
    let key = f.key();
    let header = verified.header().unwrap().clone();
    for shown in [
        format!("{verified:?}"),
        format!("{verified:#?}"),
        format!("{key:?}"),
        format!("{header:?}"),
        format!("{v:?}"),
        format!("{:?}", peek_header(&token).unwrap()),
        format!("{:?}", verified.registered()),
    ] {
        assert_clean(&shown, &token, secret);
        // The subject is personal data: masked.
        assert!(!shown.contains(SUBJECT), "subject in {shown}");
    }

    // Every rejection, in both renderings.
    let mut tampered = token.clone();
    tampered.push('A');
    let rejected = [
        tampered,
        TokenBuilder::at(Algorithm::HS256, NOW).claim("exp", NOW - 100).sign(),
        TokenBuilder::at(Algorithm::HS256, NOW).claim("aud", "elsewhere").sign(),
        TokenBuilder::at(Algorithm::HS256, NOW).header("kid", "unknown").sign(),
        TokenBuilder::at(Algorithm::HS256, NOW).header("jwk", json!({"kty": "oct"})).sign(),
        format!("{token}.extra"),
        token.replace('.', ".="),
    ];
    for bad in &rejected {
        let err = v.verify(bad).unwrap_err();
        assert_clean(&format!("{err:?}"), bad, secret);
        assert_clean(&format!("{err}"), bad, secret);
        assert_clean(err.public_message(), bad, secret);
    }
}

#[test]
fn keys_from_every_source_hide_their_material() {
    for alg in [Algorithm::HS256, Algorithm::HS512] {
        let f = fixture(alg);
        let secret = f.secret().unwrap();
        for key in [f.key(), Key::from_jwk_json(&f.jwk_json()).unwrap(), Key::hmac(alg, secret).unwrap()] {
            let shown = format!("{key:?}");
            for form in secret_forms(secret) {
                assert!(!shown.contains(&form), "{shown}");
            }
        }
    }
    // Public keys are not secret, but Debug stays terse all the same.
    let shown = format!("{:?}", fixture(Algorithm::RS256).key());
    let n = fixture(Algorithm::RS256).bare_jwk()["n"].as_str().unwrap().to_owned();
    assert!(!shown.contains(&n[..20]));
}

#[test]
fn redacted_token_shows_claims_masked_and_never_the_signature() {
    let token = TokenBuilder::at(Algorithm::ES256, NOW)
        .claim("email", "alice@example.com")
        .claim("scope", "orders:read")
        .claim("nonce", "n-0S6_WzA2Mj")
        .claim("act", serde_json::json!({"sub": "delegate-bob", "client_id": "svc"}))
        .claim("users", serde_json::json!([{"email": "carol@example.com"}]))
        .sign();
    let secret = b"not-a-secret-here-but-keep-types";
    for shown in [RedactedToken::new(&token).to_string(), format!("{:?}", RedactedToken::new(&token))] {
        assert_clean(&shown, &token, secret);
        assert!(shown.contains("orders:read"), "{shown}");
        assert!(shown.contains("ES256"), "{shown}");
        assert!(shown.contains("\"client_id\":\"svc\""), "{shown}");
        for personal in ["alice@example.com", SUBJECT, "n-0S6_WzA2Mj", "delegate-bob", "carol@example.com"] {
            assert!(!shown.contains(personal), "{personal} in {shown}");
        }
    }
    // Garbage is shown as a placeholder, never echoed.
    for junk in ["secret-looking-junk", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.c2ln"] {
        let shown = RedactedToken::new(junk).to_string();
        assert!(!shown.contains(junk), "{shown}");
        assert!(!shown.contains("c2ln"), "{shown}");
    }
}
