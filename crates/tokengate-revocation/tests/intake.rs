//! SET (RFC 8417 / RFC 8935) and back-channel logout intake over HTTP: each accepted event
//! becomes the rule it should, and each refusal is the exact status and JSON error and
//! changes nothing. Tokens are signed by the test-support fixtures and verified for real.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tokengate_core::{Algorithm, ErrorKind, RevocationCheck, Verified};
use tokengate_revocation::intake::{LogoutReceiver, SetReceiver, event_types};
use tokengate_revocation::{Health, MemoryStore, RevocationStore, Rule, RuleKey, RuleKind, StoreError, StoreFuture};
use tokengate_test_support::{ISSUER, TokenBuilder, now, other_fixture, verifier};
use tower::ServiceExt;

const ALG: Algorithm = Algorithm::ES256;

fn set_receiver(store: impl RevocationStore) -> Router {
    let verifier = verifier(ALG).typ("secevent+jwt").allow_missing_exp().build().unwrap();
    SetReceiver::new(verifier, store).router("/ssf/events")
}

fn logout_receiver(store: impl RevocationStore) -> Router {
    let verifier = verifier(ALG).typ("logout+jwt").require(["iat", "exp"]).build().unwrap();
    LogoutReceiver::new(verifier, store).router("/oidc/backchannel-logout")
}

/// A SET: typ secevent+jwt, no sub, no exp.
fn set(events: Value) -> TokenBuilder {
    TokenBuilder::at(ALG, now()).header("typ", "secevent+jwt").without("sub").without("exp").claim("events", events)
}

fn session_revoked(sid: &str, at: i64) -> Value {
    json!({ event_types::SESSION_REVOKED: {
        "subject": {"format": "complex", "session": {"format": "opaque", "id": sid}, "user": {"format": "iss_sub", "iss": ISSUER, "sub": "alice"}},
        "event_timestamp": at,
    }})
}

async fn send(app: &Router, request: Request<Body>) -> (StatusCode, Option<String>, Value) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let cache = response.headers().get("cache-control").map(|v| v.to_str().unwrap().to_owned());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let json = if body.is_empty() { Value::Null } else { serde_json::from_slice(&body).unwrap() };
    (status, cache, json)
}

async fn push(app: &Router, token: &str) -> (StatusCode, Value) {
    let request = Request::post("/ssf/events")
        .header("content-type", "application/secevent+jwt")
        .body(Body::from(token.to_owned()))
        .unwrap();
    let (status, _, body) = send(app, request).await;
    (status, body)
}

async fn logout(app: &Router, token: &str) -> (StatusCode, Option<String>, Value) {
    let request = Request::post("/oidc/backchannel-logout")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(format!("logout_token={token}")))
        .unwrap();
    send(app, request).await
}

fn access_token(iat: i64, claims: &[(&str, Value)]) -> Verified {
    let mut token = TokenBuilder::at(ALG, iat).claim("sub", "alice");
    for (name, value) in claims {
        token = token.claim(name, value.clone());
    }
    verifier(ALG).build().unwrap().verify(&token.sign()).unwrap()
}

fn revoked(store: &MemoryStore, token: &Verified) -> bool {
    match store.check(token) {
        Ok(()) => false,
        Err(e) if e.kind() == ErrorKind::Revoked => true,
        Err(e) => panic!("unexpected {e:?}"),
    }
}

#[tokio::test]
async fn a_session_revoked_set_revokes_that_session_up_to_its_event_time() {
    let store = MemoryStore::new();
    let app = set_receiver(store.clone());
    let t = now();
    let (status, body) = push(&app, &set(session_revoked("s-1", t)).sign()).await;
    assert_eq!((status, body), (StatusCode::ACCEPTED, Value::Null));
    let rules = store.rules();
    assert_eq!(rules.len(), 1);
    assert_eq!((rules[0].key.kind(), rules[0].key.value(), rules[0].not_before), (RuleKind::Sid, "s-1", t));
    assert!(revoked(&store, &access_token(t - 60, &[("sid", json!("s-1"))])));
    assert!(!revoked(&store, &access_token(t - 60, &[("sid", json!("s-2"))])));
}

#[tokio::test]
async fn each_subject_format_becomes_its_rule() {
    let t = now() - 5;
    let cases = [
        (
            event_types::CREDENTIAL_CHANGE,
            json!({"format": "iss_sub", "iss": "https://idp.example", "sub": "bob"}),
            (RuleKind::Sub, Some("https://idp.example"), "bob"),
        ),
        (
            event_types::ACCOUNT_DISABLED,
            json!({"format": "email", "email": "c@example.com"}),
            (RuleKind::Sub, Some(ISSUER), "c@example.com"),
        ),
        (event_types::ACCOUNT_PURGED, json!({"format": "opaque", "id": "u-9"}), (RuleKind::Sub, Some(ISSUER), "u-9")),
        (
            event_types::TOKEN_CLAIMS_CHANGE,
            json!({"format": "complex", "tenant": {"format": "opaque", "id": "acme"}}),
            (RuleKind::Tenant, Some(ISSUER), "acme"),
        ),
    ];
    for (event, subject, (kind, iss, value)) in cases {
        let store = MemoryStore::new();
        let app = set_receiver(store.clone());
        let token = set(json!({ event: {"subject": subject, "event_timestamp": t} })).sign();
        assert_eq!(push(&app, &token).await.0, StatusCode::ACCEPTED, "{event}");
        let rules = store.rules();
        assert_eq!(rules.len(), 1, "{event}");
        assert_eq!((rules[0].key.kind(), rules[0].key.issuer(), rules[0].key.value()), (kind, iss, value), "{event}");
        assert_eq!(rules[0].not_before, t);
    }
}

#[tokio::test]
async fn the_subject_may_be_sub_id_and_the_time_toe_then_iat() {
    let store = MemoryStore::new();
    let app = set_receiver(store.clone());
    let iat = now() - 3;
    let token = TokenBuilder::at(ALG, iat)
        .header("typ", "secevent+jwt")
        .without("sub")
        .without("exp")
        .claim("sub_id", json!({"format": "opaque", "id": "u-1"}))
        .claim("events", json!({ event_types::ACCOUNT_DISABLED: {} }));
    assert_eq!(push(&app, &token.clone().claim("toe", iat - 100).sign()).await.0, StatusCode::ACCEPTED);
    assert_eq!(store.rules()[0].not_before, iat - 100);
    let store = MemoryStore::new();
    let app = set_receiver(store.clone());
    assert_eq!(push(&app, &token.sign()).await.0, StatusCode::ACCEPTED);
    assert_eq!(store.rules()[0].not_before, iat);
}

#[tokio::test]
async fn unknown_event_types_are_acknowledged_and_ignored() {
    let store = MemoryStore::new();
    let app = set_receiver(store.clone());
    let token = set(json!({"https://example.com/event/unknown": {"subject": {"format": "opaque", "id": "x"}}})).sign();
    assert_eq!(push(&app, &token).await.0, StatusCode::ACCEPTED);
    assert!(store.is_empty());
}

#[tokio::test]
async fn refused_sets_are_400_with_the_rfc_8935_error_and_change_nothing() {
    let good = || set(session_revoked("s-1", now()));
    let mut tampered = good().sign();
    tampered.push('A');
    let cases: Vec<(&str, String, &str)> = vec![
        ("bad signature", good().signed_by(other_fixture(ALG)).sign(), "invalid_key"),
        ("tampered signature", tampered, "invalid_key"),
        ("wrong typ", good().header("typ", "JWT").sign(), "invalid_request"),
        ("no typ", good().without_header("typ").sign(), "invalid_request"),
        ("sub at top level", good().claim("sub", "alice").sign(), "invalid_request"),
        ("exp at top level", good().claim("exp", now() + 60).sign(), "invalid_request"),
        ("wrong issuer", good().claim("iss", "https://evil.example").sign(), "invalid_issuer"),
        ("wrong audience", good().claim("aud", "someone-else").sign(), "invalid_audience"),
        ("no events", good().without("events").sign(), "invalid_request"),
        ("empty events", good().claim("events", json!({})).sign(), "invalid_request"),
        (
            "event without a subject",
            good().claim("events", json!({ event_types::SESSION_REVOKED: {"event_timestamp": 1} })).sign(),
            "invalid_request",
        ),
        ("not a JWT", "not-a-token".to_owned(), "invalid_request"),
    ];
    for (what, token, err) in cases {
        let store = MemoryStore::new();
        let app = set_receiver(store.clone());
        let (status, body) = push(&app, &token).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}");
        assert_eq!(body["err"], err, "{what}: {body}");
        assert!(body["description"].as_str().is_some_and(|d| !d.is_empty()), "{what}");
        assert!(!body.to_string().contains(&token), "{what}: the token is echoed");
        assert!(store.is_empty(), "{what}: a rule was stored");
    }
}

#[tokio::test]
async fn a_set_with_another_content_type_is_400() {
    let store = MemoryStore::new();
    let app = set_receiver(store.clone());
    let request = Request::post("/ssf/events")
        .header("content-type", "application/jwt")
        .body(Body::from(set(session_revoked("s-1", now())).sign()))
        .unwrap();
    let (status, _, body) = send(&app, request).await;
    assert_eq!((status, body["err"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")));
    assert!(store.is_empty());
}

/// A store that cannot store (Redis down).
#[derive(Clone)]
struct Down;

impl RevocationCheck for Down {
    fn check(&self, _: &Verified) -> Result<(), tokengate_core::AuthError> {
        Ok(())
    }
}

impl RevocationStore for Down {
    fn revoke(&self, _: RuleKey, _: Option<i64>) -> StoreFuture<'_, Rule> {
        Box::pin(async { Err(StoreError::Unavailable("down".into())) })
    }
    fn rules(&self) -> Vec<Rule> {
        Vec::new()
    }
    fn health(&self) -> Health {
        MemoryStore::new().health()
    }
}

#[tokio::test]
async fn a_store_that_cannot_store_answers_503_so_the_transmitter_retries() {
    let (status, _) = push(&set_receiver(Down), &set(session_revoked("s-1", now())).sign()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let token = logout_token().sign();
    let (status, cache, _) = logout(&logout_receiver(Down), &token).await;
    assert_eq!((status, cache.as_deref()), (StatusCode::SERVICE_UNAVAILABLE, Some("no-store")));
}

fn logout_token() -> TokenBuilder {
    TokenBuilder::at(ALG, now())
        .header("typ", "logout+jwt")
        .claim("sid", "s-5")
        .claim("events", json!({"http://schemas.openid.net/event/backchannel-logout": {}}))
}

#[tokio::test]
async fn a_logout_token_with_sid_revokes_the_session() {
    let store = MemoryStore::new();
    let app = logout_receiver(store.clone());
    let iat = now();
    let (status, cache, body) = logout(&app, &logout_token().sign()).await;
    assert_eq!((status, cache.as_deref(), body), (StatusCode::OK, Some("no-store"), Value::Null));
    let rules = store.rules();
    assert_eq!((rules[0].key.kind(), rules[0].key.value()), (RuleKind::Sid, "s-5"));
    assert!(rules[0].not_before >= iat);
    assert!(revoked(&store, &access_token(iat - 1, &[("sid", json!("s-5"))])));
    assert!(!revoked(&store, &access_token(iat - 1, &[("sid", json!("s-6"))])));
}

#[tokio::test]
async fn a_logout_token_with_only_sub_revokes_the_subject() {
    let store = MemoryStore::new();
    let app = logout_receiver(store.clone());
    let (status, _, _) = logout(&app, &logout_token().without("sid").sign()).await;
    assert_eq!(status, StatusCode::OK);
    let rules = store.rules();
    assert_eq!((rules[0].key.kind(), rules[0].key.value()), (RuleKind::Sub, tokengate_test_support::SUBJECT));
}

#[tokio::test]
async fn refused_logout_tokens_are_400_invalid_request_and_change_nothing() {
    let cases: Vec<(&str, String)> = vec![
        ("nonce", logout_token().claim("nonce", "n-1").sign()),
        ("no events", logout_token().without("events").sign()),
        ("wrong event", logout_token().claim("events", json!({"http://example.com/other": {}})).sign()),
        (
            "event not an object",
            logout_token().claim("events", json!({"http://schemas.openid.net/event/backchannel-logout": "x"})).sign(),
        ),
        ("neither sub nor sid", logout_token().without("sid").without("sub").sign()),
        ("bad signature", logout_token().signed_by(other_fixture(ALG)).sign()),
        ("wrong audience", logout_token().claim("aud", "other").sign()),
        ("no exp", logout_token().without("exp").sign()),
        ("no iat", logout_token().without("iat").sign()),
    ];
    for (what, token) in cases {
        let store = MemoryStore::new();
        let app = logout_receiver(store.clone());
        let (status, cache, body) = logout(&app, &token).await;
        assert_eq!((status, cache.as_deref()), (StatusCode::BAD_REQUEST, Some("no-store")), "{what}");
        assert_eq!(body["error"], "invalid_request", "{what}: {body}");
        assert!(body["error_description"].as_str().is_some_and(|d| !d.is_empty()), "{what}");
        assert!(store.is_empty(), "{what}: a rule was stored");
    }
    // No form field at all.
    let store = MemoryStore::new();
    let request = Request::post("/oidc/backchannel-logout").body(Body::from("other=1")).unwrap();
    let (status, _, body) = send(&logout_receiver(store.clone()), request).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")));
}

/// Collects what the intake logs.
#[derive(Clone, Default)]
struct Logs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
    type Writer = Logs;
    fn make_writer(&'a self) -> Logs {
        self.clone()
    }
}

#[tokio::test]
async fn refusals_and_receipts_are_logged_without_the_token() {
    let logs = Logs::default();
    let subscriber = tracing_subscriber::fmt().with_writer(logs.clone()).with_max_level(tracing::Level::DEBUG).finish();
    // Global, not per-thread: a per-thread subscriber races with tracing's callsite interest
    // cache when another test thread registers the intake's call sites first. This is the
    // only test of this binary that installs a subscriber.
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber of this test binary");
    let store = MemoryStore::new();
    let sets = set_receiver(store.clone());
    let logouts = logout_receiver(store.clone());
    let good = set(session_revoked("s-1", now())).sign();
    let bad = set(session_revoked("s-1", now())).claim("sub", "alice").sign();
    let forged = set(session_revoked("s-1", now())).signed_by(other_fixture(ALG)).sign();
    let nonce = logout_token().claim("nonce", "n").sign();
    assert_eq!(push(&sets, &good).await.0, StatusCode::ACCEPTED);
    assert_eq!(push(&sets, &bad).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(push(&sets, &forged).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(logout(&logouts, &nonce).await.0, StatusCode::BAD_REQUEST);
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("security event refused") && text.contains("logout token refused"), "{text}");
    for token in [&good, &bad, &forged, &nonce] {
        let signature = token.rsplit('.').next().unwrap();
        assert!(!text.contains(signature) && !text.contains(token.split('.').nth(1).unwrap()), "a token was logged");
    }
}
