//! RFC 8693 token exchange: scopes only narrow, `act` names the actor (nesting prior
//! actors), other audiences are refused, and every error has its exact code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::time::Duration;

use axum::response::IntoResponse;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tokengate_core::{Algorithm, KeySet, Verifier};
use tokengate_issuer::{
    ExchangeRequest, LocalSigner, OAuthError, SignerSet, TOKEN_EXCHANGE_GRANT, TokenExchange, TokenMinter,
};

const ISS: &str = "https://auth.example";

struct Fixture {
    minter: TokenMinter,
    exchange: TokenExchange,
    payments: Verifier,
}

fn verifier(signers: &SignerSet, audience: &str) -> Verifier {
    let jwks = serde_json::to_vec(&signers.jwks()).unwrap();
    let (keys, _) = KeySet::from_jwks_json(&jwks).unwrap();
    Verifier::builder(keys).issuer(ISS).audience(audience).algorithms([Algorithm::ES256]).build().unwrap()
}

fn fixture() -> Fixture {
    let signers = SignerSet::new(LocalSigner::generate(Algorithm::ES256).unwrap());
    let minter = TokenMinter::builder(signers.clone(), ISS).audience("gateway").build().unwrap();
    let exchange =
        TokenExchange::new(minter.clone(), verifier(&signers, "gateway")).audience("payments").carry_claim("tenant");
    Fixture { minter, exchange, payments: verifier(&signers, "payments") }
}

async fn subject(f: &Fixture, act: Option<Value>) -> String {
    let mut token = f
        .minter
        .token()
        .subject("alice")
        .claim("scope", "orders:read orders:write")
        .unwrap()
        .claim("tenant", "acme")
        .unwrap();
    if let Some(act) = act {
        token = token.claim("act", act).unwrap();
    }
    token.sign().await.unwrap()
}

async fn actor(f: &Fixture) -> String {
    f.minter.token().subject("orders-service").sign().await.unwrap()
}

fn claims(f: &Fixture, token: &str) -> serde_json::Map<String, Value> {
    f.payments.verify(token).unwrap().claims_as().unwrap()
}

#[tokio::test]
async fn scopes_only_narrow() {
    let f = fixture();
    let subject = subject(&f, None).await;
    let narrowed = f.exchange.exchange(&ExchangeRequest::new(&subject, "payments").scope("orders:read")).await.unwrap();
    assert_eq!(narrowed.scope, "orders:read");
    assert_eq!(claims(&f, &narrowed.access_token)["scope"], "orders:read");

    let same = f.exchange.exchange(&ExchangeRequest::new(&subject, "payments")).await.unwrap();
    assert_eq!(same.scope, "orders:read orders:write");
    assert_eq!(same.token_type, "Bearer");
    assert_eq!(same.issued_token_type, "urn:ietf:params:oauth:token-type:access_token");

    let wider = ExchangeRequest::new(&subject, "payments").scope("orders:read payments:charge");
    let err = f.exchange.exchange(&wider).await.unwrap_err();
    assert_eq!(err, OAuthError::new(400, "invalid_scope", "the scope exceeds the subject token's"));
}

#[tokio::test]
async fn act_names_the_actor_and_nests_prior_actors() {
    let f = fixture();
    let actor = actor(&f).await;
    let plain = subject(&f, None).await;
    let response = f.exchange.exchange(&ExchangeRequest::new(&plain, "payments").actor(&actor)).await.unwrap();
    let c = claims(&f, &response.access_token);
    assert_eq!(c["sub"], "alice");
    assert_eq!(c["aud"], "payments");
    assert_eq!(c["tenant"], "acme");
    assert_eq!(c["act"], json!({"sub": "orders-service"}));

    let delegated = subject(&f, Some(json!({"sub": "gateway"}))).await;
    let response = f.exchange.exchange(&ExchangeRequest::new(&delegated, "payments").actor(&actor)).await.unwrap();
    assert_eq!(claims(&f, &response.access_token)["act"], json!({"sub": "orders-service", "act": {"sub": "gateway"}}));

    // Without an actor token the existing chain is kept as it is.
    let response = f.exchange.exchange(&ExchangeRequest::new(&delegated, "payments")).await.unwrap();
    assert_eq!(claims(&f, &response.access_token)["act"], json!({"sub": "gateway"}));
}

#[tokio::test]
async fn the_new_token_never_outlives_the_subject_token() {
    let f = fixture();
    let now = tokengate_core::Clock::now(&tokengate_core::SystemClock);
    let short =
        f.minter.token().subject("alice").issued_at(now - 200).ttl(Duration::from_secs(260)).sign().await.unwrap();
    let response = f.exchange.exchange(&ExchangeRequest::new(&short, "payments")).await.unwrap();
    assert!(response.expires_in <= 60, "{}", response.expires_in);
    let exp = claims(&f, &response.access_token)["exp"].as_i64().unwrap();
    assert!(exp <= now + 60);
}

#[tokio::test]
async fn every_refusal_has_its_exact_error() {
    let f = fixture();
    let subject = subject(&f, None).await;
    let actor = actor(&f).await;
    let base = || ExchangeRequest::new(&subject, "payments");
    let invalid = OAuthError::invalid_request;
    let mut tampered = subject.clone();
    tampered.pop();
    tampered.push(if subject.ends_with('A') { 'B' } else { 'A' });
    let expired = f.minter.token().subject("alice").issued_at(1_000).ttl(Duration::from_secs(60)).sign().await.unwrap();
    let other_issuer = {
        let signers = SignerSet::new(LocalSigner::generate(Algorithm::ES256).unwrap());
        TokenMinter::builder(signers, ISS)
            .audience("gateway")
            .build()
            .unwrap()
            .token()
            .subject("mallory")
            .sign()
            .await
            .unwrap()
    };

    let cases: Vec<(&str, ExchangeRequest, OAuthError)> = vec![
        (
            "wrong audience",
            ExchangeRequest::new(&subject, "billing"),
            OAuthError::new(400, "invalid_target", "the audience is not offered"),
        ),
        (
            "grant type",
            ExchangeRequest { grant_type: Some("password".into()), ..base() },
            OAuthError::new(400, "unsupported_grant_type", "the grant type is not supported"),
        ),
        (
            "no grant type",
            ExchangeRequest { grant_type: None, ..base() },
            OAuthError::new(400, "unsupported_grant_type", "the grant type is not supported"),
        ),
        ("no subject", ExchangeRequest { subject_token: None, ..base() }, invalid("subject_token is required")),
        (
            "empty subject",
            ExchangeRequest { subject_token: Some(String::new()), ..base() },
            invalid("subject_token is required"),
        ),
        (
            "no subject type",
            ExchangeRequest { subject_token_type: None, ..base() },
            invalid("subject_token_type is missing or not supported"),
        ),
        (
            "saml subject",
            ExchangeRequest { subject_token_type: Some("urn:ietf:params:oauth:token-type:saml2".into()), ..base() },
            invalid("subject_token_type is missing or not supported"),
        ),
        (
            "actor without type",
            ExchangeRequest { actor_token: Some(actor.clone()), ..base() },
            invalid("actor_token_type is missing or not supported"),
        ),
        (
            "actor type alone",
            ExchangeRequest { actor_token_type: Some(TOKEN_EXCHANGE_GRANT.into()), ..base() },
            invalid("actor_token_type without actor_token"),
        ),
        (
            "requested type",
            ExchangeRequest {
                requested_token_type: Some("urn:ietf:params:oauth:token-type:id_token".into()),
                ..base()
            },
            invalid("requested_token_type is not supported"),
        ),
        ("no audience", ExchangeRequest { audience: None, ..base() }, invalid("audience is required")),
        (
            "tampered subject",
            ExchangeRequest::new(&tampered, "payments"),
            invalid("the subject_token is not acceptable"),
        ),
        ("expired subject", ExchangeRequest::new(&expired, "payments"), invalid("the subject_token is not acceptable")),
        (
            "foreign subject",
            ExchangeRequest::new(&other_issuer, "payments"),
            invalid("the subject_token is not acceptable"),
        ),
        ("tampered actor", base().actor(&tampered), invalid("the actor_token is not acceptable")),
        (
            "subject as payments token",
            ExchangeRequest::new("a.b.c", "payments"),
            invalid("the subject_token is not acceptable"),
        ),
    ];
    for (name, request, expected) in cases {
        assert_eq!(f.exchange.exchange(&request).await.unwrap_err(), expected, "{name}");
    }
}

#[tokio::test]
async fn an_oauth_error_is_a_json_response_that_is_not_cached() {
    let response = OAuthError::new(400, "invalid_target", "the audience is not offered").into_response();
    assert_eq!(response.status(), 400);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap(),
        json!({"error": "invalid_target", "error_description": "the audience is not offered"})
    );
}

#[test]
fn a_request_debug_never_shows_tokens() {
    let request = ExchangeRequest::new("secret.subject.token", "payments").actor("secret.actor.token");
    let debug = format!("{request:?}");
    assert!(!debug.contains("secret"), "{debug}");
}
