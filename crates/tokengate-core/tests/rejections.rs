//! One test per rejection of issue 2, each asserting the exact `ErrorKind`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use serde_json::json;
use tokengate_core::{
    Algorithm, DEFAULT_MAX_TOKEN_SIZE, ErrorKind, FixedClock, Key, KeySet, MAX_DEPTH, MAX_NUMERIC_DATE, Verifier,
    VerifierBuilder,
};
use tokengate_test_support::{AUDIENCE, ISSUER, TokenBuilder, b64, fixture, other_fixture, sign_raw, verifier};

/// The fixed "now" of every test here.
const NOW: i64 = 1_800_000_000;
const HS: Algorithm = Algorithm::HS256;

fn builder(alg: Algorithm) -> VerifierBuilder {
    verifier(alg).clock(FixedClock::new(NOW))
}

fn v(alg: Algorithm) -> Verifier {
    builder(alg).build().unwrap()
}

fn tok(alg: Algorithm) -> TokenBuilder {
    TokenBuilder::at(alg, NOW)
}

#[track_caller]
fn rejects(verifier: &Verifier, token: &str, kind: ErrorKind) {
    match verifier.verify(token) {
        Ok(v) => panic!("accepted, expected {kind:?}: {v:?}"),
        Err(e) => assert_eq!(e.kind(), kind, "{e:?}"),
    }
}

#[track_caller]
fn accepts(verifier: &Verifier, token: &str) {
    if let Err(e) = verifier.verify(token) {
        panic!("rejected with {e:?}");
    }
}

fn valid_claims() -> String {
    tok(HS).claims_json()
}

#[test]
fn baseline_token_is_accepted() {
    for alg in tokengate_test_support::ALL_ALGORITHMS {
        accepts(&v(alg), &tok(alg).sign());
    }
}

// ---- alg ----------------------------------------------------------------------------

#[test]
fn alg_none_in_any_letter_case() {
    let v = v(HS);
    for name in ["none", "None", "NONE", "nOnE", "NoNe"] {
        let header = format!(r#"{{"alg":"{name}","kid":"hs256-1"}}"#);
        let unsigned = format!("{}.{}.", b64(&header), b64(valid_claims()));
        rejects(&v, &unsigned, ErrorKind::AlgNone);
        // Also with a (valid HMAC) signature attached.
        rejects(&v, &sign_raw(HS, header.as_bytes(), valid_claims().as_bytes()), ErrorKind::AlgNone);
    }
}

#[test]
fn alg_none_is_refused_even_when_every_algorithm_is_allowed() {
    let v = Verifier::builder(fixture(HS).key_set())
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .algorithms_of_keys()
        .clock(FixedClock::new(NOW))
        .build()
        .unwrap();
    let token = format!("{}.{}.", b64(r#"{"alg":"none"}"#), b64(valid_claims()));
    rejects(&v, &token, ErrorKind::AlgNone);
}

#[test]
fn algorithm_not_in_allowlist() {
    // An ES256 key in the set, but the allowlist says HS256 only.
    let keys = KeySet::new([fixture(HS).key(), fixture(Algorithm::ES256).key()]).unwrap();
    let v = Verifier::builder(keys)
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .algorithms([HS])
        .clock(FixedClock::new(NOW))
        .build()
        .unwrap();
    rejects(&v, &tok(Algorithm::ES256).sign(), ErrorKind::AlgorithmNotAllowed);
    accepts(&v, &tok(HS).sign());
}

#[test]
fn unknown_or_misspelt_alg_is_not_allowed() {
    let v = v(HS);
    for name in ["hs256", "HS1024", "ES512", "RSA-OAEP", "", " HS256"] {
        let header = format!(r#"{{"alg":"{name}","kid":"hs256-1"}}"#);
        rejects(&v, &sign_raw(HS, header.as_bytes(), valid_claims().as_bytes()), ErrorKind::AlgorithmNotAllowed);
    }
}

#[test]
fn alg_missing_or_not_a_string_is_invalid_json() {
    let v = v(HS);
    for header in [r#"{"kid":"hs256-1"}"#, r#"{"alg":256,"kid":"hs256-1"}"#, r#"{"alg":["HS256"]}"#, r#"{"alg":null}"#]
    {
        rejects(&v, &sign_raw(HS, header.as_bytes(), valid_claims().as_bytes()), ErrorKind::InvalidJson);
    }
}

/// The classic confusion: an HS256 token whose HMAC secret is the RSA public key (the
/// PEM text an attacker can download), presented to a verifier that holds that RSA key.
#[test]
fn hs256_signed_with_the_rsa_public_key_is_refused() {
    let rsa = fixture(Algorithm::RS256);
    let claims = tok(HS).claims_json();
    let mut forged = Vec::new();
    let header = serde_json::to_vec(&json!({"typ": "JWT", "alg": "HS256", "kid": rsa.kid()})).unwrap();
    for secret in [rsa.public_pem().into_bytes(), rsa.public_der().to_vec()] {
        forged.push(sign_hs256_with(&header, claims.as_bytes(), &secret));
    }
    let base = || Verifier::builder(rsa.key_set()).issuer(ISSUER).audience(AUDIENCE);
    // Allowlist of the key's own algorithm: refused before any key is looked at.
    let strict = base().algorithms([Algorithm::RS256]).clock(FixedClock::new(NOW)).build().unwrap();
    // An allowlist that (wrongly) admits HS256 too, or the key-driven allowlist:
    // refused because the key is pinned to RS256.
    let loose = base().algorithms([Algorithm::RS256, HS]).clock(FixedClock::new(NOW)).build().unwrap();
    let of_keys = base().algorithms_of_keys().clock(FixedClock::new(NOW)).build().unwrap();
    for token in &forged {
        rejects(&strict, token, ErrorKind::AlgorithmNotAllowed);
        rejects(&loose, token, ErrorKind::AlgorithmMismatch);
        rejects(&of_keys, token, ErrorKind::AlgorithmMismatch);
    }
}

#[test]
fn rs256_token_against_an_es256_key_is_a_mismatch() {
    let es = fixture(Algorithm::ES256);
    let token = tok(Algorithm::RS256).header("kid", es.kid()).sign();
    let v = Verifier::builder(es.key_set())
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .algorithms_of_keys()
        .clock(FixedClock::new(NOW))
        .build()
        .unwrap();
    rejects(&v, &token, ErrorKind::AlgorithmMismatch);
    // PS256 and RS256 share an RSA key pair but a key is pinned to one of them.
    let rs = fixture(Algorithm::RS256);
    let ps_token = tok(Algorithm::PS256).header("kid", rs.kid()).sign();
    let v = Verifier::builder(rs.key_set())
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .algorithms_of_keys()
        .clock(FixedClock::new(NOW))
        .build()
        .unwrap();
    rejects(&v, &ps_token, ErrorKind::AlgorithmMismatch);
}

// ---- header parameters --------------------------------------------------------------

#[test]
fn unknown_crit_is_refused() {
    let v = v(HS);
    let token = tok(HS).header("crit", json!(["exp"])).header("exp", 1).sign();
    rejects(&v, &token, ErrorKind::UnsupportedCritical);
    let token = tok(HS).header("crit", json!(["urn:example:ext"])).header("urn:example:ext", true).sign();
    rejects(&v, &token, ErrorKind::UnsupportedCritical);
    // Listing a registered header name is not allowed either.
    rejects(&v, &tok(HS).header("crit", json!(["alg"])).sign(), ErrorKind::UnsupportedCritical);
}

#[test]
fn crit_that_is_not_a_non_empty_array_of_names_is_refused() {
    let v = v(HS);
    for crit in [json!("exp"), json!([]), json!([1]), json!({"exp": true}), json!(null), json!(true)] {
        rejects(&v, &tok(HS).header("crit", crit.clone()).sign(), ErrorKind::UnsupportedCritical);
    }
}

#[test]
fn unencoded_payload_b64_false_is_refused() {
    let v = v(HS);
    rejects(&v, &tok(HS).header("b64", false).header("crit", json!(["b64"])).sign(), ErrorKind::UnencodedPayload);
    rejects(&v, &tok(HS).header("b64", false).sign(), ErrorKind::UnencodedPayload);
    rejects(&v, &tok(HS).header("b64", "false").sign(), ErrorKind::UnencodedPayload);
    // b64: true is the default and changes nothing.
    accepts(&v, &tok(HS).header("b64", true).sign());
}

#[test]
fn zip_header_is_refused() {
    let v = v(HS);
    rejects(&v, &tok(HS).header("zip", "DEF").sign(), ErrorKind::CompressedPayload);
    rejects(&v, &tok(HS).header("zip", json!(null)).sign(), ErrorKind::CompressedPayload);
}

#[test]
fn key_material_in_header_is_refused() {
    let v = v(Algorithm::ES256);
    let attacker = other_fixture(Algorithm::ES256);
    let cases = [
        ("jwk", attacker.jwk()),
        ("jku", json!("https://attacker.example/jwks.json")),
        ("x5u", json!("https://attacker.example/cert.pem")),
        ("x5c", json!(["MIIBszCCAVmgAwIBAgIU"])),
    ];
    for (name, value) in cases {
        // Signed by the attacker's key that the header points to, and by the real key:
        // both refused, the header member alone decides.
        let by_attacker = tok(Algorithm::ES256).header(name, value.clone()).signed_by(attacker).sign();
        rejects(&v, &by_attacker, ErrorKind::HeaderKeyMaterial);
        let by_real_key = tok(Algorithm::ES256).header(name, value).sign();
        rejects(&v, &by_real_key, ErrorKind::HeaderKeyMaterial);
    }
}

#[test]
fn header_members_of_the_wrong_type_are_invalid_json() {
    let v = v(HS);
    rejects(&v, &tok(HS).header("kid", 1).sign(), ErrorKind::InvalidJson);
    rejects(&v, &tok(HS).header("typ", json!(["JWT"])).sign(), ErrorKind::InvalidJson);
    rejects(&v, &tok(HS).header("cty", json!({})).sign(), ErrorKind::InvalidJson);
}

#[test]
fn header_or_claims_that_are_not_one_json_object_are_invalid_json() {
    let v = v(HS);
    let header = tok(HS).header_json();
    let claims = valid_claims();
    for bad in ["[]", "\"x\"", "null", "1", "{", "{}{}", "{} x", "{\"alg\":\"HS256\",}"] {
        rejects(&v, &sign_raw(HS, bad.as_bytes(), claims.as_bytes()), ErrorKind::InvalidJson);
    }
    for bad in ["[]", "\"x\"", "null", "1", "{", "{}{}", "{} x", "{\"a\":1,}", "{'a':1}"] {
        rejects(&v, &sign_raw(HS, header.as_bytes(), bad.as_bytes()), ErrorKind::InvalidJson);
    }
}

// ---- signature ----------------------------------------------------------------------

fn with_signature(token: &str, sig_b64: &str) -> String {
    let (input, _) = token.rsplit_once('.').unwrap();
    format!("{input}.{sig_b64}")
}

#[test]
fn empty_signature_is_refused() {
    for alg in tokengate_test_support::ALL_ALGORITHMS {
        let token = with_signature(&tok(alg).sign(), "");
        rejects(&v(alg), &token, ErrorKind::InvalidSignature);
    }
}

#[test]
fn truncated_signature_is_refused() {
    for alg in tokengate_test_support::ALL_ALGORITHMS {
        let token = tok(alg).sign();
        let sig = token.rsplit_once('.').unwrap().1;
        let mut raw = URL_SAFE_NO_PAD.decode(sig).unwrap();
        // Whole bytes dropped, re-encoded canonically: the last byte, or half.
        for keep in [raw.len() - 1, raw.len() / 2, 1] {
            let short = with_signature(&token, &b64(&raw[..keep]));
            rejects(&v(alg), &short, ErrorKind::InvalidSignature);
        }
        // One byte too many.
        raw.push(0);
        rejects(&v(alg), &with_signature(&token, &b64(&raw)), ErrorKind::InvalidSignature);
    }
}

#[test]
fn all_zero_signatures_are_refused() {
    // ECDSA r = s = 0 (the "psychic signature", CVE-2022-21449), and zeros elsewhere.
    for (alg, len) in [(Algorithm::ES256, 64), (Algorithm::ES384, 96), (Algorithm::EdDSA, 64), (HS, 32)] {
        let token = with_signature(&tok(alg).sign(), &b64(vec![0u8; len]));
        rejects(&v(alg), &token, ErrorKind::InvalidSignature);
    }
    let token = with_signature(&tok(Algorithm::RS256).sign(), &b64(vec![0u8; 256]));
    rejects(&v(Algorithm::RS256), &token, ErrorKind::InvalidSignature);
}

#[test]
fn ecdsa_signature_with_r_or_s_equal_to_curve_order_or_zero_is_refused() {
    // r = 0, s = valid half; and r valid, s = 0.
    let token = tok(Algorithm::ES256).sign();
    let raw = URL_SAFE_NO_PAD.decode(token.rsplit_once('.').unwrap().1).unwrap();
    let mut r_zero = raw.clone();
    r_zero[..32].fill(0);
    rejects(&v(Algorithm::ES256), &with_signature(&token, &b64(&r_zero)), ErrorKind::InvalidSignature);
    let mut s_zero = raw;
    s_zero[32..].fill(0);
    rejects(&v(Algorithm::ES256), &with_signature(&token, &b64(&s_zero)), ErrorKind::InvalidSignature);
}

#[test]
fn signature_by_another_key_of_the_same_type_is_refused() {
    for alg in tokengate_test_support::ALL_ALGORITHMS {
        // Same header (the real key's kid), signed with a different key.
        let token = tok(alg).signed_by(other_fixture(alg)).sign();
        rejects(&v(alg), &token, ErrorKind::InvalidSignature);
    }
}

#[test]
fn tampered_payload_is_refused() {
    let token = tok(Algorithm::EdDSA).sign();
    let parts: Vec<&str> = token.split('.').collect();
    let tampered_claims = tok(Algorithm::EdDSA).claim("scope", "admin").claims_json();
    let tampered = format!("{}.{}.{}", parts[0], b64(tampered_claims), parts[2]);
    rejects(&v(Algorithm::EdDSA), &tampered, ErrorKind::InvalidSignature);
}

// ---- shape and encoding -------------------------------------------------------------

#[test]
fn two_segments_or_four_and_more_are_malformed() {
    let v = v(HS);
    let token = tok(HS).sign();
    let (input, _) = token.rsplit_once('.').unwrap();
    for bad in [
        input.to_owned(),
        format!("{token}.x"),
        format!("{token}."),
        format!("{token}.x.y"),
        "a.b.c.d.e".to_owned(),
        ".".to_owned(),
        "..".to_owned(),
        "...".to_owned(),
        "x".to_owned(),
        String::new(),
    ] {
        rejects(&v, &bad, ErrorKind::Malformed);
    }
    // Empty header or payload segment.
    let parts: Vec<&str> = token.split('.').collect();
    rejects(&v, &format!(".{}.{}", parts[1], parts[2]), ErrorKind::Malformed);
    rejects(&v, &format!("{}..{}", parts[0], parts[2]), ErrorKind::Malformed);
}

/// Finds claims whose base64url encoding contains `c` (`-` or `_`), so the standard
/// alphabet would put `+` or `/` there.
fn claims_encoding_with(c: char) -> String {
    for i in 0..200 {
        let claims = tok(HS).claim("pad", "~?>".repeat(i % 7 + 1)).claim("n", i).claims_json();
        if b64(&claims).contains(c) {
            return claims;
        }
    }
    panic!("no claims encode with {c}");
}

#[test]
fn padded_base64_is_refused() {
    let v = v(HS);
    let f = fixture(HS);
    let header = tok(HS).header_json();
    let mut claims = valid_claims();
    // Make the payload length not a multiple of 3, so standard encoding would pad.
    while claims.len().is_multiple_of(3) {
        claims.insert(1, ' ');
    }
    let h = b64(&header);
    let p = b64(&claims);
    let token = f.sign_compact(&format!("{h}="), &p);
    rejects(&v, &token, ErrorKind::InvalidEncoding);
    let token = f.sign_compact(&h, &format!("{p}=="));
    rejects(&v, &token, ErrorKind::InvalidEncoding);
    let good = f.sign_compact(&h, &p);
    accepts(&v, &good);
    // Padding on the signature (a 32-byte HMAC is 43 characters unpadded).
    rejects(&v, &format!("{good}="), ErrorKind::InvalidEncoding);
}

#[test]
fn non_url_safe_base64_is_refused() {
    let v = v(HS);
    let f = fixture(HS);
    let header = b64(tok(HS).header_json());
    for c in ['-', '_'] {
        let claims = claims_encoding_with(c);
        let url_safe = b64(&claims);
        let standard = STANDARD_NO_PAD.encode(&claims);
        assert_ne!(url_safe, standard);
        accepts(&v, &f.sign_compact(&header, &url_safe));
        // The same bytes in the standard alphabet, correctly signed over that text.
        rejects(&v, &f.sign_compact(&header, &standard), ErrorKind::InvalidEncoding);
    }
    // A standard-alphabet signature.
    let token = tok(HS).sign();
    let sig = token.rsplit_once('.').unwrap().1;
    let raw = URL_SAFE_NO_PAD.decode(sig).unwrap();
    let std_sig = STANDARD_NO_PAD.encode(&raw);
    if std_sig != sig {
        rejects(&v, &with_signature(&token, &std_sig), ErrorKind::InvalidEncoding);
    }
    // Characters outside any base64 alphabet, and whitespace.
    rejects(&v, &with_signature(&token, &format!("{sig}!")), ErrorKind::InvalidEncoding);
    rejects(&v, &f.sign_compact(&format!("{header} "), &b64(valid_claims())), ErrorKind::InvalidEncoding);
    rejects(&v, &f.sign_compact(&header, &format!("{}\n", b64(valid_claims()))), ErrorKind::InvalidEncoding);
}

#[test]
fn non_canonical_trailing_bits_are_refused() {
    let v = v(HS);
    let f = fixture(HS);
    let mut claims = valid_claims();
    while claims.len() % 3 != 1 {
        claims.insert(1, ' ');
    }
    // One leftover byte encodes as two characters; the second carries 4 unused bits.
    let p = b64(&claims);
    let last = p.chars().last().unwrap();
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let idx = alphabet.find(last).unwrap();
    let bumped = alphabet.chars().nth(idx + 1).unwrap();
    let non_canonical = format!("{}{}", &p[..p.len() - 1], bumped);
    rejects(&v, &f.sign_compact(&b64(tok(HS).header_json()), &non_canonical), ErrorKind::InvalidEncoding);
}

#[test]
fn non_utf8_header_or_payload_is_refused() {
    let v = v(HS);
    let header = tok(HS).header_json();
    let claims = valid_claims();
    let bad_header = b"{\"alg\":\"HS256\",\"kid\":\"hs256-1\",\"x\":\"\xff\xfe\"}";
    rejects(&v, &sign_raw(HS, bad_header, claims.as_bytes()), ErrorKind::InvalidEncoding);
    let mut bad_claims = claims.clone().into_bytes();
    let at = bad_claims.len() - 1;
    bad_claims.splice(at..at, b",\"name\":\"caf\xe9\"".iter().copied());
    rejects(&v, &sign_raw(HS, header.as_bytes(), &bad_claims), ErrorKind::InvalidEncoding);
    // An encoded lone surrogate (CESU-8 style) is not UTF-8 either.
    let mut overlong = claims.into_bytes();
    let at = overlong.len() - 1;
    overlong.splice(at..at, b",\"x\":\"\xed\xa0\x80\"".iter().copied());
    rejects(&v, &sign_raw(HS, header.as_bytes(), &overlong), ErrorKind::InvalidEncoding);
}

// ---- strict JSON --------------------------------------------------------------------

#[test]
fn duplicate_members_in_header_are_refused() {
    let v = v(HS);
    let claims = valid_claims();
    for header in [
        r#"{"alg":"HS256","alg":"HS256","kid":"hs256-1"}"#,
        r#"{"alg":"HS256","kid":"hs256-1","alg":"none"}"#,
        r#"{"alg":"HS256","kid":"hs256-1","kid":"hs256-1"}"#,
        r#"{"alg":"HS256","kid":"hs256-1","typ":"JWT","typ":"at+jwt"}"#,
        r#"{"alg":"HS256","kid":"hs256-1","x":1,"x":1}"#,
        r#"{"alg":"HS256","kid":"hs256-1","\u0061lg":"HS256"}"#,
        r#"{"alg":"HS256","kid":"hs256-1","ext":{"a":1,"a":2}}"#,
        r#"{"alg":"HS256","kid":"hs256-1","ext":[{"a":1},{"b":1,"b":2}]}"#,
    ] {
        rejects(&v, &sign_raw(HS, header.as_bytes(), claims.as_bytes()), ErrorKind::DuplicateMember);
    }
}

#[test]
fn duplicate_members_in_claims_are_refused() {
    let v = v(HS);
    let header = tok(HS).header_json();
    let base = valid_claims();
    let body = &base[1..base.len() - 1];
    for extra in [
        r#""exp":1800000100"#,
        r#""iss":"https://attacker.example""#,
        r#""aud":"orders-api""#,
        r#""sub":"admin""#,
        r#""\u0073ub":"admin""#,
        r#""scope":"a","scope":"b""#,
        r#""ext":{"role":"user","role":"admin"}"#,
        r#""ext":{"deep":{"x":[1,{"y":1,"y":2}]}}"#,
    ] {
        let claims = format!("{{{body},{extra}}}");
        rejects(&v, &sign_raw(HS, header.as_bytes(), claims.as_bytes()), ErrorKind::DuplicateMember);
    }
    // The same names at different levels are fine.
    let claims = format!(r#"{{{body},"ext":{{"sub":"x","ext":{{"sub":"y"}}}}}}"#);
    accepts(&v, &sign_raw(HS, header.as_bytes(), claims.as_bytes()));
}

fn nested(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

#[test]
fn nesting_deeper_than_max_depth_is_refused() {
    let v = v(HS);
    let header = tok(HS).header_json();
    let base = valid_claims();
    let body = &base[1..base.len() - 1];
    // The claims object is level 1, so a member may hold MAX_DEPTH - 1 nested arrays.
    let ok = format!("{{{body},\"x\":{}}}", nested(MAX_DEPTH - 1));
    accepts(&v, &sign_raw(HS, header.as_bytes(), ok.as_bytes()));
    let deep = format!("{{{body},\"x\":{}}}", nested(MAX_DEPTH));
    rejects(&v, &sign_raw(HS, header.as_bytes(), deep.as_bytes()), ErrorKind::NestingTooDeep);
    let deep_objects = format!("{{{body},\"x\":{}{}}}", "{\"a\":".repeat(MAX_DEPTH), "}".repeat(MAX_DEPTH));
    rejects(&v, &sign_raw(HS, header.as_bytes(), deep_objects.as_bytes()), ErrorKind::NestingTooDeep);
    // Inside registered claims too.
    let deep_aud = format!("{{{body},\"azp\":1,\"roles\":[{}]}}", nested(MAX_DEPTH));
    rejects(&v, &sign_raw(HS, header.as_bytes(), deep_aud.as_bytes()), ErrorKind::NestingTooDeep);
    let claims_without_aud = tok(HS).without("aud").claims_json();
    let body2 = &claims_without_aud[1..claims_without_aud.len() - 1];
    let deep_in_aud = format!("{{{body2},\"aud\":{}}}", nested(MAX_DEPTH + 3));
    rejects(&v, &sign_raw(HS, header.as_bytes(), deep_in_aud.as_bytes()), ErrorKind::NestingTooDeep);
    // In the header.
    let deep_header = format!(r#"{{"alg":"HS256","kid":"hs256-1","x":{}}}"#, nested(MAX_DEPTH));
    rejects(&v, &sign_raw(HS, deep_header.as_bytes(), base.as_bytes()), ErrorKind::NestingTooDeep);
    // Very deep input, within a raised size limit: refused, no stack overflow.
    let big = builder(HS).max_token_size(1 << 20).build().unwrap();
    let very_deep = format!("{{{body},\"x\":{}}}", nested(50_000));
    rejects(&big, &sign_raw(HS, header.as_bytes(), very_deep.as_bytes()), ErrorKind::NestingTooDeep);
}

// ---- size ---------------------------------------------------------------------------

/// The shortest padded token at least `target` bytes long (lengths grow by 1 or 2).
fn token_of_len(target: usize) -> String {
    let base = tok(HS).claim("pad", "").sign().len();
    let mut pad = (target.saturating_sub(base) * 3 / 4).saturating_sub(8);
    loop {
        let token = tok(HS).claim("pad", "x".repeat(pad)).sign();
        if token.len() >= target {
            return token;
        }
        pad += 1;
    }
}

#[test]
fn oversized_tokens_are_refused() {
    let v = v(HS);
    let big = token_of_len(DEFAULT_MAX_TOKEN_SIZE + 1);
    assert!(big.len() > DEFAULT_MAX_TOKEN_SIZE);
    rejects(&v, &big, ErrorKind::TokenTooLarge);
    // At or just under the limit is fine.
    let under = token_of_len(DEFAULT_MAX_TOKEN_SIZE - 1);
    assert!(under.len() <= DEFAULT_MAX_TOKEN_SIZE);
    accepts(&v, &under);
    // The size check comes first: 100 KiB of garbage is "too large", not "malformed".
    rejects(&v, &"x".repeat(100 * 1024), ErrorKind::TokenTooLarge);
    // A custom maximum.
    let small = builder(HS).max_token_size(1024).build().unwrap();
    rejects(&small, &token_of_len(1025), ErrorKind::TokenTooLarge);
    let fits = tok(HS).sign();
    assert!(fits.len() <= 1024);
    accepts(&small, &fits);
    assert!(builder(HS).max_token_size(8).build().is_err());
}

// ---- exp ----------------------------------------------------------------------------

#[test]
fn exp_missing_is_refused_unless_waived() {
    let token = tok(HS).without("exp").sign();
    rejects(&v(HS), &token, ErrorKind::MissingClaim);
    let waived = builder(HS).allow_missing_exp().build().unwrap();
    accepts(&waived, &token);
    // A waiver does not excuse an expired or invalid exp.
    rejects(&waived, &tok(HS).claim("exp", NOW - 3600).sign(), ErrorKind::Expired);
    rejects(&waived, &tok(HS).claim("exp", "soon").sign(), ErrorKind::InvalidClaim);
}

#[test]
fn exp_of_the_wrong_type_or_range_is_invalid() {
    let v = v(HS);
    for exp in [
        json!("1800000300"),
        json!(null),
        json!(true),
        json!([1_800_000_300]),
        json!({"t": 1}),
        json!(-1),
        json!(-0.5),
        json!(i64::MIN),
        json!(MAX_NUMERIC_DATE + 1),
        json!(u64::MAX),
        json!(1e19),
        json!(1e300),
    ] {
        rejects(&v, &tok(HS).claim("exp", exp.clone()).sign(), ErrorKind::InvalidClaim);
    }
    // Absurd literals that do not even fit an f64 are refused as malformed JSON.
    let header = tok(HS).header_json();
    let claims = tok(HS).without("exp").claims_json();
    let claims = format!("{},\"exp\":1e400}}", &claims[..claims.len() - 1]);
    rejects(&v, &sign_raw(HS, header.as_bytes(), claims.as_bytes()), ErrorKind::InvalidJson);
}

#[test]
fn exp_as_a_float_or_at_the_maximum_date_is_accepted() {
    let v = v(HS);
    accepts(&v, &tok(HS).claim("exp", NOW as f64 + 300.75).sign());
    accepts(&v, &tok(HS).claim("exp", MAX_NUMERIC_DATE).sign());
    accepts(&v, &tok(HS).claim("exp", MAX_NUMERIC_DATE as f64).sign());
}

#[test]
fn expired_with_leeway_boundary() {
    let clock = FixedClock::new(NOW);
    let v = verifier(HS).clock(clock.clone()).build().unwrap();
    let exp = NOW + 300;
    let token = tok(HS).claim("exp", exp).sign();
    accepts(&v, &token);
    // The default leeway is 30 s: valid while now < exp + 30.
    clock.set(exp + 29);
    accepts(&v, &token);
    clock.set(exp + 30);
    rejects(&v, &token, ErrorKind::Expired);
    clock.set(exp + 100_000);
    rejects(&v, &token, ErrorKind::Expired);
    // Without leeway, a token expires at exp exactly (RFC 7519 4.1.4: "on or after").
    let strict = verifier(HS).clock(clock.clone()).leeway(Duration::ZERO).build().unwrap();
    clock.set(exp - 1);
    accepts(&strict, &token);
    clock.set(exp);
    rejects(&strict, &token, ErrorKind::Expired);
}

// ---- nbf, iat, age, lifetime --------------------------------------------------------

#[test]
fn nbf_in_the_future_beyond_leeway_is_refused() {
    let v = v(HS);
    rejects(&v, &tok(HS).claim("nbf", NOW + 31).sign(), ErrorKind::NotYetValid);
    rejects(&v, &tok(HS).claim("nbf", NOW + 3600).sign(), ErrorKind::NotYetValid);
    // Within the leeway it is accepted.
    accepts(&v, &tok(HS).claim("nbf", NOW + 30).sign());
    accepts(&v, &tok(HS).claim("nbf", NOW + 1).sign());
    rejects(&v, &tok(HS).claim("nbf", "now").sign(), ErrorKind::InvalidClaim);
    let strict = builder(HS).leeway(Duration::ZERO).build().unwrap();
    rejects(&strict, &tok(HS).claim("nbf", NOW + 1).sign(), ErrorKind::NotYetValid);
    accepts(&strict, &tok(HS).claim("nbf", NOW).sign());
}

#[test]
fn iat_in_the_future_beyond_leeway_is_refused() {
    let v = v(HS);
    rejects(&v, &tok(HS).claim("iat", NOW + 31).sign(), ErrorKind::IssuedInFuture);
    accepts(&v, &tok(HS).claim("iat", NOW + 30).sign());
    rejects(&v, &tok(HS).claim("iat", -5).sign(), ErrorKind::InvalidClaim);
}

#[test]
fn max_age_from_iat() {
    let v = builder(HS).max_age(Duration::from_secs(60)).build().unwrap();
    // Age limit plus the 30 s leeway.
    accepts(&v, &tok(HS).claim("iat", NOW - 90).sign());
    rejects(&v, &tok(HS).claim("iat", NOW - 91).sign(), ErrorKind::TooOld);
    // max_age makes iat required.
    rejects(&v, &tok(HS).without("iat").sign(), ErrorKind::MissingClaim);
}

#[test]
fn max_lifetime_exp_minus_iat() {
    let v = builder(HS).max_lifetime(Duration::from_secs(600)).build().unwrap();
    accepts(&v, &tok(HS).claim("iat", NOW).claim("exp", NOW + 600).sign());
    rejects(&v, &tok(HS).claim("iat", NOW).claim("exp", NOW + 601).sign(), ErrorKind::LifetimeTooLong);
    rejects(&v, &tok(HS).claim("iat", NOW - 10).claim("exp", NOW + 86_400 * 365).sign(), ErrorKind::LifetimeTooLong);
    rejects(&v, &tok(HS).without("iat").sign(), ErrorKind::MissingClaim);
    // Without exp the lifetime is unbounded: refused even when missing exp is allowed.
    let lenient = builder(HS).allow_missing_exp().max_lifetime(Duration::from_secs(600)).build().unwrap();
    rejects(&lenient, &tok(HS).claim("iat", NOW).without("exp").sign(), ErrorKind::MissingClaim);
    accepts(&lenient, &tok(HS).claim("iat", NOW).claim("exp", NOW + 60).sign());
}

#[test]
fn crit_naming_b64_without_b64_false_is_refused() {
    let v = v(HS);
    rejects(&v, &tok(HS).header("crit", json!(["b64"])).sign(), ErrorKind::UnsupportedCritical);
    rejects(&v, &tok(HS).header("crit", json!(["b64"])).header("b64", true).sign(), ErrorKind::UnsupportedCritical);
}

#[test]
fn sub_and_jti_of_the_wrong_type_are_invalid_claims() {
    let v = v(HS);
    for (name, value) in [("sub", json!(42)), ("sub", json!(["a"])), ("jti", json!({"a": 1})), ("jti", json!(true))] {
        rejects(&v, &tok(HS).claim(name, value.clone()).sign(), ErrorKind::InvalidClaim);
    }
}

// ---- iss, aud, typ, required --------------------------------------------------------

#[test]
fn wrong_issuer_is_refused() {
    let v = v(HS);
    for iss in [
        format!("{ISSUER}/"),
        ISSUER.to_uppercase(),
        ISSUER.replace("https", "http"),
        format!(" {ISSUER}"),
        format!("{ISSUER}.attacker.example"),
        "https://attacker.example".to_owned(),
        String::new(),
    ] {
        rejects(&v, &tok(HS).claim("iss", iss.as_str()).sign(), ErrorKind::InvalidIssuer);
    }
    rejects(&v, &tok(HS).without("iss").sign(), ErrorKind::MissingClaim);
    rejects(&v, &tok(HS).claim("iss", json!([ISSUER])).sign(), ErrorKind::InvalidClaim);
}

#[test]
fn trailing_slash_issuer_is_not_tolerated_either_way() {
    let v = Verifier::builder(fixture(HS).key_set())
        .issuer(format!("{ISSUER}/"))
        .audience(AUDIENCE)
        .algorithms([HS])
        .clock(FixedClock::new(NOW))
        .build()
        .unwrap();
    rejects(&v, &tok(HS).sign(), ErrorKind::InvalidIssuer);
    accepts(&v, &tok(HS).claim("iss", format!("{ISSUER}/")).sign());
}

#[test]
fn one_of_several_issuers_and_key_bound_issuer() {
    let v = Verifier::builder(fixture(HS).key_set())
        .issuers(["https://a.example", ISSUER])
        .audience(AUDIENCE)
        .algorithms([HS])
        .clock(FixedClock::new(NOW))
        .build()
        .unwrap();
    accepts(&v, &tok(HS).sign());
    accepts(&v, &tok(HS).claim("iss", "https://a.example").sign());
    // A key bound to one issuer refuses tokens naming another, even with any_issuer().
    let bound = KeySet::new([fixture(HS).key().bind_issuer(ISSUER)]).unwrap();
    let v = Verifier::builder(bound)
        .any_issuer()
        .audience(AUDIENCE)
        .algorithms([HS])
        .clock(FixedClock::new(NOW))
        .build()
        .unwrap();
    accepts(&v, &tok(HS).sign());
    rejects(&v, &tok(HS).claim("iss", "https://a.example").sign(), ErrorKind::InvalidIssuer);
    rejects(&v, &tok(HS).without("iss").sign(), ErrorKind::InvalidIssuer);
}

#[test]
fn audience_mismatch_as_string_and_array() {
    let v = v(HS);
    rejects(&v, &tok(HS).claim("aud", "billing-api").sign(), ErrorKind::InvalidAudience);
    rejects(&v, &tok(HS).claim("aud", format!("{AUDIENCE}/")).sign(), ErrorKind::InvalidAudience);
    rejects(&v, &tok(HS).claim("aud", json!(["billing-api", "profile-api"])).sign(), ErrorKind::InvalidAudience);
    rejects(&v, &tok(HS).claim("aud", json!([])).sign(), ErrorKind::InvalidAudience);
    accepts(&v, &tok(HS).claim("aud", json!(["billing-api", AUDIENCE])).sign());
    rejects(&v, &tok(HS).claim("aud", json!([1])).sign(), ErrorKind::InvalidClaim);
    rejects(&v, &tok(HS).claim("aud", json!({"a": AUDIENCE})).sign(), ErrorKind::InvalidClaim);
}

#[test]
fn audience_missing_is_refused_unless_any_audience() {
    rejects(&v(HS), &tok(HS).without("aud").sign(), ErrorKind::MissingClaim);
    let any = Verifier::builder(fixture(HS).key_set())
        .issuer(ISSUER)
        .any_audience()
        .algorithms([HS])
        .clock(FixedClock::new(NOW))
        .build()
        .unwrap();
    accepts(&any, &tok(HS).without("aud").sign());
    accepts(&any, &tok(HS).claim("aud", "anything").sign());
}

#[test]
fn wrong_typ_is_refused() {
    let v = builder(HS).typ("at+jwt").build().unwrap();
    rejects(&v, &tok(HS).sign(), ErrorKind::InvalidType); // typ: JWT
    rejects(&v, &tok(HS).without_header("typ").sign(), ErrorKind::InvalidType);
    rejects(&v, &tok(HS).header("typ", "at+jwt+x").sign(), ErrorKind::InvalidType);
    rejects(&v, &tok(HS).header("typ", "application/jwt").sign(), ErrorKind::InvalidType);
    rejects(&v, &tok(HS).header("typ", "text/at+jwt").sign(), ErrorKind::InvalidType);
    // RFC 7515 4.1.9: the application/ prefix may be omitted; media types are
    // case-insensitive.
    for typ in ["at+jwt", "AT+JWT", "application/at+jwt", "Application/At+JWT"] {
        accepts(&v, &tok(HS).header("typ", typ).sign());
    }
    let configured_with_prefix = builder(HS).typ("application/at+jwt").build().unwrap();
    accepts(&configured_with_prefix, &tok(HS).header("typ", "at+jwt").sign());
}

#[test]
fn other_kinds_of_jwt_are_refused_by_default() {
    // Without `typ(..)`, a token that says it is another kind of JWT (a Security Event
    // Token, a logout token, a DPoP proof, any `*+jwt` but `at+jwt`) is never an access token.
    let v = v(HS);
    for typ in [
        "secevent+jwt",
        "logout+jwt",
        "dpop+jwt",
        "SecEvent+JWT",
        "application/logout+jwt",
        "Application/DPoP+JWT",
        "id_token+jwt",
        "+jwt",
    ] {
        rejects(&v, &tok(HS).header("typ", typ).sign(), ErrorKind::InvalidType);
    }
    // Plain JWTs, access tokens and tokens without `typ` still pass.
    for typ in ["JWT", "jwt", "application/jwt", "at+jwt", "application/AT+JWT"] {
        accepts(&v, &tok(HS).header("typ", typ).sign());
    }
    accepts(&v, &tok(HS).without_header("typ").sign());
    // `typ("at+jwt")` still makes `at+jwt` required, and refuses the others too.
    let at = builder(HS).typ("at+jwt").build().unwrap();
    rejects(&at, &tok(HS).header("typ", "logout+jwt").sign(), ErrorKind::InvalidType);
    accepts(&at, &tok(HS).header("typ", "at+jwt").sign());
}

#[test]
fn required_custom_claim_missing_is_refused() {
    let v = builder(HS).require(["tenant", "jti"]).build().unwrap();
    rejects(&v, &tok(HS).sign(), ErrorKind::MissingClaim);
    rejects(&v, &tok(HS).claim("tenant", "t1").without("jti").sign(), ErrorKind::MissingClaim);
    accepts(&v, &tok(HS).claim("tenant", "t1").sign());
    // A member of the same name nested deeper does not count.
    rejects(&v, &tok(HS).claim("ext", json!({"tenant": "t1"})).sign(), ErrorKind::MissingClaim);
}

// ---- key selection ------------------------------------------------------------------

#[test]
fn unknown_kid_is_refused() {
    let v = v(HS);
    rejects(&v, &tok(HS).header("kid", "nope").sign(), ErrorKind::UnknownKey);
    rejects(&v, &tok(HS).header("kid", "").sign(), ErrorKind::UnknownKey);
}

/// The kid injections of public JWT attack catalogues: a kid is only ever a map key.
/// Tokens are HMAC-signed with what such attacks hope the key becomes (an empty secret,
/// /dev/null's empty content, a SQL-injected constant).
#[test]
fn kid_injection_is_just_an_unknown_kid() {
    let v = v(HS);
    for (kid, secret) in [
        ("../../../../../../dev/null", &b""[..]),
        ("/dev/null", &b""[..]),
        ("' UNION SELECT 'attacker-secret-attacker-secret-xx' --", &b"attacker-secret-attacker-secret-xx"[..]),
        ("key1|/usr/bin/id", &b"attacker-secret-attacker-secret-xx"[..]),
        ("hs256-1\u{0}", &b""[..]),
        ("hs256-1 ", &b""[..]),
        ("HS256-1", &b""[..]),
    ] {
        let header = serde_json::to_vec(&json!({"alg": "HS256", "kid": kid})).unwrap();
        let token = sign_hs256_with(&header, valid_claims().as_bytes(), secret);
        rejects(&v, &token, ErrorKind::UnknownKey);
    }
}

/// Signs header.claims with HMAC-SHA256 under any secret, even an empty one (as an
/// attacker would; tokengate refuses such keys at configuration).
fn sign_hs256_with(header: &[u8], claims: &[u8], secret: &[u8]) -> String {
    let input = format!("{}.{}", b64(header), b64(claims));
    let tag = tokengate_test_support::sign_hmac(HS, secret, input.as_bytes());
    format!("{input}.{}", b64(tag))
}

#[test]
fn missing_kid_resolves_only_when_unambiguous() {
    let one = fixture(HS).key();
    let other = Key::hmac(HS, other_fixture(HS).secret().unwrap()).unwrap().with_kid("second");
    let token = tok(HS).without_header("kid").sign();
    // One key of the token's algorithm: found.
    accepts(&v(HS), &token);
    // Two keys of that algorithm and no kid: ambiguous.
    let v2 = Verifier::builder(KeySet::new([one, other]).unwrap())
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .algorithms([HS])
        .clock(FixedClock::new(NOW))
        .build()
        .unwrap();
    rejects(&v2, &token, ErrorKind::UnknownKey);
    // No key of the token's algorithm at all.
    let v3 = Verifier::builder(fixture(Algorithm::ES256).key_set())
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .algorithms_of_keys()
        .clock(FixedClock::new(NOW))
        .build()
        .unwrap();
    rejects(&v3, &token, ErrorKind::UnknownKey);
}

#[test]
fn a_lone_key_as_resolver_checks_the_kid() {
    let v = Verifier::builder(fixture(HS).key())
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .algorithms([HS])
        .clock(FixedClock::new(NOW))
        .build()
        .unwrap();
    accepts(&v, &tok(HS).sign());
    accepts(&v, &tok(HS).without_header("kid").sign());
    rejects(&v, &tok(HS).header("kid", "other").sign(), ErrorKind::UnknownKey);
}

#[test]
fn large_headers_and_signatures_are_judged_the_same() {
    // Segments are decoded into a 128-byte or a 1024-byte stack buffer, or onto the
    // heap when larger; the verdicts must not depend on which.
    let v = v(HS);
    let f = fixture(HS);
    for size in [40, 60, 100, 300, 900, 1000, 1200, 3000] {
        let big = "h".repeat(size);
        accepts(&v, &tok(HS).header("x-big", big.as_str()).sign());
        rejects(&v, &tok(HS).header("x-big", big.as_str()).header("zip", "DEF").sign(), ErrorKind::CompressedPayload);
        let header = b64(tok(HS).header("x-big", big.as_str()).header_json());
        rejects(&v, &f.sign_compact(&format!("{header}="), &b64(valid_claims())), ErrorKind::InvalidEncoding);
        rejects(&v, &f.sign_compact(&format!("{header}!"), &b64(valid_claims())), ErrorKind::InvalidEncoding);
    }
    let token = tok(HS).sign();
    rejects(&v, &with_signature(&token, &b64(vec![7u8; 1500])), ErrorKind::InvalidSignature);
    rejects(&v, &with_signature(&token, &format!("{}=", b64(vec![7u8; 1500]))), ErrorKind::InvalidEncoding);
    for len in [31, 33, 64, 95, 96, 97, 128, 129, 1023, 1024, 1025] {
        rejects(&v, &with_signature(&token, &b64(vec![7u8; len])), ErrorKind::InvalidSignature);
    }
}

#[test]
fn duplicates_among_many_members_are_found() {
    // Past 16 names the duplicate check switches from a list to a hash set; both halves
    // and the switch itself must catch repeats (also spelled with escapes).
    let v = v(HS);
    let header = tok(HS).header_json();
    let base = valid_claims();
    let body = &base[1..base.len() - 1];
    let names = |n: usize| (0..n).map(|i| format!("\"m{i}\":{i}")).collect::<Vec<_>>().join(",");
    for n in [10, 16, 17, 40, 300] {
        let ok = format!("{{{body},{}}}", names(n));
        accepts(&v, &sign_raw(HS, header.as_bytes(), ok.as_bytes()));
        for dup in [0, n / 2, n - 1] {
            for spelled in [format!("\"m{dup}\""), format!("\"\\u006d{dup}\"")] {
                let claims = format!("{{{body},{},{spelled}:1}}", names(n));
                rejects(&v, &sign_raw(HS, header.as_bytes(), claims.as_bytes()), ErrorKind::DuplicateMember);
                let nested = format!("{{{body},\"ext\":{{{},{spelled}:1}}}}", names(n));
                rejects(&v, &sign_raw(HS, header.as_bytes(), nested.as_bytes()), ErrorKind::DuplicateMember);
                let in_header = format!(r#"{{"alg":"HS256","kid":"hs256-1",{},{spelled}:1}}"#, names(n));
                rejects(&v, &sign_raw(HS, in_header.as_bytes(), base.as_bytes()), ErrorKind::DuplicateMember);
            }
        }
    }
    // Required claims are found among many, too.
    let required = builder(HS).require(["m0", "m39"]).build().unwrap();
    accepts(&required, &sign_raw(HS, header.as_bytes(), format!("{{{body},{}}}", names(40)).as_bytes()));
    rejects(
        &required,
        &sign_raw(HS, header.as_bytes(), format!("{{{body},{}}}", names(39)).as_bytes()),
        ErrorKind::MissingClaim,
    );
}

/// An HS256 token (with a dummy signature) whose claims hold `objects` objects and `n`
/// distinct member names of the same width in all: `k` names in each object when
/// `spread`, or all `n` in the first object (the others empty). Both tokens are
/// exactly the same length and hold the same names; only the names per object differ.
fn packed_token(n: usize, objects: usize, spread: bool) -> String {
    let per_object = n / objects;
    let mut claims = String::from("{");
    for object in 0..objects {
        if object > 0 {
            claims.push(',');
        }
        claims.push_str(&format!("\"o{object:04}\":{{"));
        let names = match (spread, object) {
            (true, _) => object * per_object..(object + 1) * per_object,
            (false, 0) => 0..n,
            (false, _) => 0..0,
        };
        let members: Vec<String> = names.map(|i| format!("\"{i:05x}\":0")).collect();
        // A space for each comma the packed object has between the spread objects' names,
        // to keep both lengths equal.
        claims.push_str(if spread && object > 0 { " " } else { "" });
        claims.push_str(&members.join(","));
        claims.push('}');
    }
    claims.push('}');
    format!("{}.{}.{}", b64(tok(HS).header_json()), b64(&claims), b64([0u8; 32]))
}

#[test]
fn a_token_packed_with_member_names_is_refused_in_linear_time() {
    // Claims are parsed before the signature is checked, so their cost is open to anyone.
    // With the former quadratic duplicate check, 8 KiB of distinct names (~900) cost
    // ~0.5 ms per token in release builds (~30x an RS256 verification).
    //
    // No absolute time bound (a busy machine would fail it). Two tokens of exactly the
    // same bytes and names: 32 000 names spread over 128 objects of 250, or all in one
    // object. A linear duplicate check does the same work for both (only the hash set's
    // size differs); a quadratic one does 128x the work for the packed token. Timed
    // interleaved, the best of 5 rounds each, the bound of 8x leaves a wide margin both
    // ways, and a slowdown that hits both tokens alike does not move the ratio.
    let v = builder(HS).max_token_size(1 << 20).build().unwrap();
    let (spread, packed) = (packed_token(32_000, 128, true), packed_token(32_000, 128, false));
    assert_eq!(spread.len(), packed.len());
    let mut best = [Duration::MAX; 2];
    for _ in 0..5 {
        for (slot, token) in best.iter_mut().zip([&spread, &packed]) {
            let start = std::time::Instant::now();
            rejects(&v, token, ErrorKind::InvalidSignature);
            *slot = (*slot).min(start.elapsed());
        }
    }
    let ratio = best[1].as_secs_f64() / best[0].as_secs_f64().max(1e-9);
    assert!(ratio < 8.0, "one object of 32 000 names cost {ratio:.1}x 128 of 250 ({:?} vs {:?})", best[1], best[0]);
}
