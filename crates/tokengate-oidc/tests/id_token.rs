//! The ID token rules (OIDC Core 3.1.3.7 / 3.1.3.8), each with a token minted by an
//! independent library (jsonwebtoken's encoder, jwt-simple), never by our own minter.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{EncodingKey, Header, encode};
use serde_json::{Value, json};
use sha2::Digest;
use tokengate_core::{Algorithm, ErrorKind, FixedClock, Key, KeySet};
use tokengate_oidc::{Expected, IdTokenValidator, OidcError};

const ISSUER: &str = "https://idp.example";
const CLIENT: &str = "notes";
const SECRET: &[u8] = b"an hmac client secret of 32+ bytes!";
const NOW: i64 = 1_800_000_000;
const NONCE: &str = "n-0S6_WzA2Mj";
const ACCESS_TOKEN: &str = "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y";
const CODE: &str = "Qcb0Orv1zh30vL1MPRsbm-diHiMwcLyZvn1arpZv-Jxf_11jnpEX3Tgfvk";

fn validator() -> IdTokenValidator {
    let key = Key::hmac(Algorithm::HS256, SECRET).unwrap();
    IdTokenValidator::builder(KeySet::new([key]).unwrap())
        .issuer(ISSUER)
        .client_id(CLIENT)
        .algorithms([Algorithm::HS256])
        .clock(FixedClock::new(NOW))
        .build()
        .unwrap()
}

/// SHA-256, left half, base64url: computed here with sha2 directly.
fn half_sha256(value: &str) -> String {
    let digest = sha2::Sha256::digest(value.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..16])
}

fn claims() -> Value {
    json!({
        "iss": ISSUER,
        "sub": "alice",
        "aud": CLIENT,
        "iat": NOW - 10,
        "exp": NOW + 300,
        "nonce": NONCE,
        "auth_time": NOW - 60,
        "sid": "s-1",
        "at_hash": half_sha256(ACCESS_TOKEN),
        "c_hash": half_sha256(CODE),
    })
}

fn mint_with(header: &Header, claims: &Value) -> String {
    encode(header, claims, &EncodingKey::from_secret(SECRET).unwrap()).unwrap()
}

fn mint(claims: &Value) -> String {
    mint_with(&Header::new(jsonwebtoken::Algorithm::HS256), claims)
}

fn with(mut claims: Value, name: &str, value: Value) -> Value {
    claims[name] = value;
    claims
}

fn without(mut claims: Value, name: &str) -> Value {
    claims.as_object_mut().unwrap().remove(name);
    claims
}

fn expected() -> Expected<'static> {
    Expected::nonce(NONCE).max_age(Duration::from_secs(600)).access_token(ACCESS_TOKEN).code(CODE)
}

fn refused(claims: &Value, expected: &Expected<'_>) -> OidcError {
    validator().validate_loaded(&mint(claims), expected).unwrap_err()
}

fn core_kind(err: &OidcError) -> ErrorKind {
    err.auth_error().map(|e| e.kind()).unwrap_or_else(|| panic!("not a core error: {err:?}"))
}

#[test]
fn a_valid_id_token_passes_every_rule() {
    let token = validator().validate_loaded(&mint(&claims()), &expected()).unwrap();
    assert_eq!(token.subject(), "alice");
    assert_eq!(token.issuer(), ISSUER);
    assert_eq!(token.session_id(), Some("s-1"));
    assert_eq!(token.auth_time(), Some(NOW - 60));
    assert_eq!(token.claims().nonce.as_deref(), Some(NONCE));
}

#[tokio::test]
async fn the_async_path_applies_the_same_rules() {
    let v = validator();
    assert!(v.validate(&mint(&claims()), &expected()).await.is_ok());
    let bad = with(claims(), "nonce", json!("other"));
    assert!(matches!(v.validate(&mint(&bad), &expected()).await, Err(OidcError::NonceMismatch)));
}

#[test]
fn iss_is_compared_exactly() {
    let err = refused(&with(claims(), "iss", json!("https://idp.example/")), &expected());
    assert_eq!(core_kind(&err), ErrorKind::InvalidIssuer);
}

#[test]
fn aud_must_contain_the_client_id() {
    let err = refused(&with(claims(), "aud", json!(["calendar"])), &expected());
    assert_eq!(core_kind(&err), ErrorKind::InvalidAudience);
}

#[test]
fn several_audiences_without_azp_are_refused() {
    let err = refused(&with(claims(), "aud", json!([CLIENT, "calendar"])), &expected());
    assert!(matches!(err, OidcError::MissingAzp), "{err:?}");
}

#[test]
fn several_audiences_with_azp_of_this_client_pass() {
    let c = with(with(claims(), "aud", json!([CLIENT, "calendar"])), "azp", json!(CLIENT));
    assert!(validator().validate_loaded(&mint(&c), &expected()).is_ok());
}

#[test]
fn azp_of_another_client_is_refused() {
    let c = with(with(claims(), "aud", json!([CLIENT, "calendar"])), "azp", json!("calendar"));
    assert!(matches!(refused(&c, &expected()), OidcError::AzpMismatch));
    // Even with a single audience, a present azp must be this client.
    let c = with(claims(), "azp", json!("calendar"));
    assert!(matches!(refused(&c, &expected()), OidcError::AzpMismatch));
}

#[test]
fn a_wrong_nonce_is_refused() {
    let err = refused(&with(claims(), "nonce", json!("n-replayed")), &expected());
    assert!(matches!(err, OidcError::NonceMismatch), "{err:?}");
}

#[test]
fn a_missing_nonce_is_refused_when_one_was_sent() {
    let err = refused(&without(claims(), "nonce"), &expected());
    assert!(matches!(err, OidcError::MissingNonce), "{err:?}");
    // Without a nonce sent, none is needed.
    let ok = validator().validate_loaded(&mint(&without(claims(), "nonce")), &Expected::without_nonce());
    assert!(ok.is_ok());
}

#[test]
fn auth_time_older_than_max_age_is_refused() {
    // 600 s max_age + 30 s leeway: 631 s ago is too old, 629 s ago is not.
    let err = refused(&with(claims(), "auth_time", json!(NOW - 631)), &expected());
    assert!(matches!(err, OidcError::AuthTooOld), "{err:?}");
    let ok = validator().validate_loaded(&mint(&with(claims(), "auth_time", json!(NOW - 629))), &expected());
    assert!(ok.is_ok());
}

#[test]
fn auth_time_is_required_with_max_age() {
    let err = refused(&without(claims(), "auth_time"), &expected());
    assert!(matches!(err, OidcError::MissingAuthTime), "{err:?}");
    let ok = validator().validate_loaded(&mint(&without(claims(), "auth_time")), &Expected::nonce(NONCE));
    assert!(ok.is_ok());
}

#[test]
fn require_auth_time_requires_it_without_max_age() {
    let key = Key::hmac(Algorithm::HS256, SECRET).unwrap();
    let v = IdTokenValidator::builder(key)
        .issuer(ISSUER)
        .client_id(CLIENT)
        .algorithms([Algorithm::HS256])
        .clock(FixedClock::new(NOW))
        .require_auth_time()
        .build()
        .unwrap();
    let err = v.validate_loaded(&mint(&without(claims(), "auth_time")), &Expected::nonce(NONCE)).unwrap_err();
    assert!(matches!(err, OidcError::MissingAuthTime), "{err:?}");
}

#[test]
fn auth_time_in_the_future_is_refused() {
    let err = refused(&with(claims(), "auth_time", json!(NOW + 31)), &expected());
    assert!(matches!(err, OidcError::AuthTimeInFuture), "{err:?}");
}

#[test]
fn at_hash_of_another_access_token_is_refused() {
    let err = refused(&with(claims(), "at_hash", json!(half_sha256("another-access-token"))), &expected());
    assert!(matches!(err, OidcError::AtHashMismatch), "{err:?}");
}

#[test]
fn at_hash_required_by_the_flow_must_be_present() {
    let exp = Expected::nonce(NONCE).access_token_hashed(ACCESS_TOKEN);
    let err = refused(&without(claims(), "at_hash"), &exp);
    assert!(matches!(err, OidcError::MissingAtHash), "{err:?}");
    // In the code flow at_hash is optional: absent is fine.
    let ok = validator().validate_loaded(&mint(&without(claims(), "at_hash")), &expected());
    assert!(ok.is_ok());
}

#[test]
fn c_hash_of_another_code_is_refused() {
    let err = refused(&with(claims(), "c_hash", json!(half_sha256("another-code"))), &expected());
    assert!(matches!(err, OidcError::CHashMismatch), "{err:?}");
    let exp = Expected::nonce(NONCE).code_hashed(CODE);
    assert!(matches!(refused(&without(claims(), "c_hash"), &exp), OidcError::MissingCHash));
}

#[test]
fn an_access_token_presented_as_an_id_token_is_refused() {
    for typ in ["at+jwt", "application/at+jwt", "AT+JWT"] {
        let mut header = Header::new(jsonwebtoken::Algorithm::HS256);
        header.typ = Some(typ.into());
        let err = validator().validate_loaded(&mint_with(&header, &claims()), &expected()).unwrap_err();
        assert!(matches!(err, OidcError::AccessTokenType), "{typ}: {err:?}");
    }
}

#[test]
fn other_jwt_types_are_refused() {
    for typ in ["logout+jwt", "secevent+jwt", "dpop+jwt"] {
        let mut header = Header::new(jsonwebtoken::Algorithm::HS256);
        header.typ = Some(typ.into());
        let err = validator().validate_loaded(&mint_with(&header, &claims()), &expected()).unwrap_err();
        // The core verifier refuses every `*+jwt` type but `at+jwt` before the ID token
        // rules run (issue 7 item 14): the exact error is its InvalidType.
        assert!(matches!(&err, OidcError::Token(e) if e.kind() == ErrorKind::InvalidType), "{typ}: {err:?}");
    }
}

#[test]
fn the_core_rules_still_apply() {
    assert_eq!(core_kind(&refused(&with(claims(), "exp", json!(NOW - 31)), &expected())), ErrorKind::Expired);
    assert_eq!(core_kind(&refused(&without(claims(), "sub"), &expected())), ErrorKind::MissingClaim);
    assert_eq!(core_kind(&refused(&without(claims(), "iat"), &expected())), ErrorKind::MissingClaim);
    // Signed with another secret.
    let forged = encode(
        &Header::new(jsonwebtoken::Algorithm::HS256),
        &claims(),
        &EncodingKey::from_secret(b"another secret that is 32 bytes long").unwrap(),
    )
    .unwrap();
    let err = validator().validate_loaded(&forged, &expected()).unwrap_err();
    assert_eq!(core_kind(&err), ErrorKind::InvalidSignature);
    // An algorithm outside the allowlist.
    let hs384 =
        encode(&Header::new(jsonwebtoken::Algorithm::HS384), &claims(), &EncodingKey::from_secret(SECRET).unwrap())
            .unwrap();
    let err = validator().validate_loaded(&hs384, &expected()).unwrap_err();
    assert_eq!(core_kind(&err), ErrorKind::AlgorithmNotAllowed);
}

#[test]
fn es384_tokens_hash_with_sha384() {
    use jwt_simple::prelude::*;
    let pair = ES384KeyPair::generate();
    let point = pair.public_key().public_key().to_bytes_uncompressed();
    let key = Key::ec_components(Algorithm::ES384, &point[1..49], &point[49..]).unwrap();
    let v =
        IdTokenValidator::builder(key).issuer(ISSUER).client_id(CLIENT).algorithms([Algorithm::ES384]).build().unwrap();
    let half384 = |s: &str| URL_SAFE_NO_PAD.encode(&sha2::Sha384::digest(s.as_bytes())[..24]);
    let custom = json!({ "at_hash": half384(ACCESS_TOKEN), "c_hash": half_sha256(CODE) });
    let mint = |custom: Value| {
        let claims = Claims::with_custom_claims(custom, jwt_simple::prelude::Duration::from_secs(300))
            .with_issuer(ISSUER)
            .with_subject("alice")
            .with_audience(CLIENT)
            .with_nonce(NONCE);
        pair.sign(claims).unwrap()
    };
    // at_hash with SHA-384 passes; c_hash computed with SHA-256 does not.
    let err = v.validate_loaded(&mint(custom.clone()), &Expected::nonce(NONCE).access_token(ACCESS_TOKEN).code(CODE));
    assert!(matches!(err, Err(OidcError::CHashMismatch)), "{err:?}");
    let ok = v.validate_loaded(&mint(custom), &Expected::nonce(NONCE).access_token(ACCESS_TOKEN));
    assert!(ok.is_ok(), "{ok:?}");
}
