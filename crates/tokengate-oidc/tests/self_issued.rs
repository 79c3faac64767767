//! Self-issued ID tokens (SIOPv2), minted with jwt-simple (its own JWK export and
//! RFC 7638 thumbprint), never with our own code.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use jwt_simple::prelude::*;
use serde_json::{Value, json};
use tokengate_core::{Algorithm, ErrorKind, FixedClock};
use tokengate_oidc::{OidcError, SelfIssuedValidator, jwk_thumbprint};

const RP: &str = "https://rp.example/cb";
const NONCE: &str = "n-siop-1";

fn validator() -> SelfIssuedValidator {
    SelfIssuedValidator::builder(RP).algorithms([Algorithm::ES256, Algorithm::EdDSA]).build().unwrap()
}

fn public_jwk(pair: &ES256KeyPair) -> Value {
    serde_json::from_str(&pair.public_key().to_jwk()).unwrap()
}

/// A token signed by `signer`, carrying `sub_jwk`, with `iss`/`sub` as given.
fn mint(signer: &ES256KeyPair, sub_jwk: Value, iss: &str, sub: &str, aud: &str, nonce: &str) -> String {
    let claims = Claims::with_custom_claims(json!({ "sub_jwk": sub_jwk }), Duration::from_secs(300))
        .with_issuer(iss)
        .with_subject(sub)
        .with_audience(aud)
        .with_nonce(nonce);
    signer.sign(claims).unwrap()
}

fn valid(pair: &ES256KeyPair) -> String {
    let tp = pair.jwk_thumbprint();
    mint(pair, public_jwk(pair), &tp, &tp, RP, NONCE)
}

#[test]
fn our_thumbprint_matches_jwt_simple() {
    let pair = ES256KeyPair::generate();
    assert_eq!(jwk_thumbprint(&public_jwk(&pair)).unwrap(), pair.jwk_thumbprint());
}

#[test]
fn a_valid_self_issued_token_passes() {
    let pair = ES256KeyPair::generate();
    let ok = validator().validate(&valid(&pair), NONCE).unwrap();
    assert_eq!(ok.subject(), pair.jwk_thumbprint());
    assert_eq!(ok.id_token().claims().nonce.as_deref(), Some(NONCE));
}

#[test]
fn the_thumbprint_uri_form_of_sub_is_accepted() {
    let pair = ES256KeyPair::generate();
    let sub = format!("urn:ietf:params:oauth:jwk-thumbprint:sha-256:{}", pair.jwk_thumbprint());
    let token = mint(&pair, public_jwk(&pair), &sub, &sub, RP, NONCE);
    assert!(validator().validate(&token, NONCE).is_ok());
}

#[test]
fn sub_that_is_not_the_thumbprint_of_sub_jwk_is_refused() {
    let pair = ES256KeyPair::generate();
    let other = ES256KeyPair::generate();
    let tp = other.jwk_thumbprint();
    let token = mint(&pair, public_jwk(&pair), &tp, &tp, RP, NONCE);
    let err = validator().validate(&token, NONCE).unwrap_err();
    assert!(matches!(err, OidcError::SubjectNotThumbprint), "{err:?}");
}

#[test]
fn a_signature_by_another_key_is_refused() {
    // sub and sub_jwk agree, but the token is signed by someone else's key.
    let victim = ES256KeyPair::generate();
    let attacker = ES256KeyPair::generate();
    let tp = victim.jwk_thumbprint();
    let token = mint(&attacker, public_jwk(&victim), &tp, &tp, RP, NONCE);
    let err = validator().validate(&token, NONCE).unwrap_err();
    assert_eq!(err.auth_error().map(|e| e.kind()), Some(ErrorKind::InvalidSignature), "{err:?}");
}

#[test]
fn iss_other_than_sub_is_refused() {
    let pair = ES256KeyPair::generate();
    let tp = pair.jwk_thumbprint();
    let token = mint(&pair, public_jwk(&pair), "https://idp.example", &tp, RP, NONCE);
    let err = validator().validate(&token, NONCE).unwrap_err();
    assert!(matches!(err, OidcError::IssuerNotSubject), "{err:?}");
}

#[test]
fn a_did_subject_is_refused_with_a_clear_error() {
    let pair = ES256KeyPair::generate();
    let did = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK";
    let token = mint(&pair, public_jwk(&pair), did, did, RP, NONCE);
    let err = validator().validate(&token, NONCE).unwrap_err();
    assert!(matches!(err, OidcError::DidNotSupported), "{err:?}");
    assert!(err.to_string().contains("DID subjects are not supported"));
}

#[test]
fn a_private_sub_jwk_is_refused() {
    let pair = ES256KeyPair::generate();
    let private: Value = serde_json::from_str(&pair.to_jwk()).unwrap();
    assert!(private.get("d").is_some());
    let tp = pair.jwk_thumbprint();
    let token = mint(&pair, private, &tp, &tp, RP, NONCE);
    let err = validator().validate(&token, NONCE).unwrap_err();
    assert!(matches!(err, OidcError::PrivateSubJwk("d")), "{err:?}");
}

#[test]
fn a_missing_sub_jwk_is_refused() {
    let pair = ES256KeyPair::generate();
    let tp = pair.jwk_thumbprint();
    let claims =
        Claims::create(Duration::from_secs(300)).with_issuer(&tp).with_subject(&tp).with_audience(RP).with_nonce(NONCE);
    let token = pair.sign(claims).unwrap();
    assert!(matches!(validator().validate(&token, NONCE), Err(OidcError::MissingSubJwk)));
}

#[test]
fn the_audience_must_be_this_relying_party() {
    let pair = ES256KeyPair::generate();
    let tp = pair.jwk_thumbprint();
    let token = mint(&pair, public_jwk(&pair), &tp, &tp, "https://other-rp.example/cb", NONCE);
    let err = validator().validate(&token, NONCE).unwrap_err();
    assert_eq!(err.auth_error().map(|e| e.kind()), Some(ErrorKind::InvalidAudience), "{err:?}");
}

#[test]
fn the_nonce_must_be_the_one_sent() {
    let pair = ES256KeyPair::generate();
    let err = validator().validate(&valid(&pair), "another-nonce").unwrap_err();
    assert!(matches!(err, OidcError::NonceMismatch), "{err:?}");
}

#[test]
fn the_algorithm_allowlist_still_applies() {
    let pair = ES256KeyPair::generate();
    let only_eddsa = SelfIssuedValidator::builder(RP).algorithms([Algorithm::EdDSA]).build().unwrap();
    let err = only_eddsa.validate(&valid(&pair), NONCE).unwrap_err();
    assert_eq!(err.auth_error().map(|e| e.kind()), Some(ErrorKind::AlgorithmNotAllowed), "{err:?}");
    // HMAC cannot be configured: a self-issued key is public.
    assert!(SelfIssuedValidator::builder(RP).algorithms([Algorithm::HS256]).build().is_err());
}

#[test]
fn an_expired_self_issued_token_is_refused() {
    let pair = ES256KeyPair::generate();
    let later = SelfIssuedValidator::builder(RP)
        .algorithms([Algorithm::ES256])
        .clock(FixedClock::new(i64::try_from(jwt_simple::prelude::Clock::now_since_epoch().as_secs()).unwrap() + 3600))
        .build()
        .unwrap();
    let err = later.validate(&valid(&pair), NONCE).unwrap_err();
    assert_eq!(err.auth_error().map(|e| e.kind()), Some(ErrorKind::Expired), "{err:?}");
}
