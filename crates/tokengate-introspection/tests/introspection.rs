//! Every rule of the introspection client against a local HTTP endpoint: client
//! authentication as received, the judgement of answers, failures that must be 503, the
//! cache, single-flight and the concurrency cap, and RFC 9701 signed answers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::{Answer, Server, serve, serve_with_metadata};
use serde_json::json;
use tokengate_core::{Algorithm, ErrorKind, FixedClock, Key, KeySet, RemoteVerifier, Verifier};
use tokengate_introspection::{ClientAuth, IntrospectionError, Introspector, IntrospectorBuilder};
use tokengate_issuer::{LocalSigner, Signer};

const NOW: i64 = 1_800_000_000;
const AUDIENCE: &str = "orders-api";
const TOKEN: &str = "opaque-token-3f9a7c";

fn builder(server: &Server, clock: &FixedClock) -> IntrospectorBuilder {
    Introspector::builder(server.base.clone(), AUDIENCE)
        .client_auth(ClientAuth::secret_basic("orders-api", "s3cr:t+x"))
        .endpoint(server.endpoint.clone())
        .clock(clock.clone())
}

async fn introspector(server: &Server, clock: &FixedClock) -> Introspector {
    builder(server, clock).build().await.unwrap()
}

/// A server answering `body` with `{iss}` replaced by its own issuer.
async fn answering(body: serde_json::Value) -> Server {
    answering_gated(body, false).await
}

/// As [`answering`]; with `gated`, each request waits for a permit of `Server::gate`.
async fn answering_gated(body: serde_json::Value, gated: bool) -> Server {
    let iss_slot = Arc::new(Mutex::new(String::new()));
    let slot = iss_slot.clone();
    let template = body.to_string();
    let server = serve(gated, move |_| Answer::Json(template.replace("{iss}", &slot.lock().unwrap()))).await;
    *iss_slot.lock().unwrap() = server.base.clone();
    server
}

fn good() -> serde_json::Value {
    json!({
        "active": true, "scope": "orders:read orders:write", "client_id": "web", "sub": "alice",
        "aud": [AUDIENCE, "other"], "iss": "{iss}", "exp": NOW + 600, "nbf": NOW - 10, "iat": NOW - 10,
        "token_type": "Bearer", "tenant_id": "acme"
    })
}

async fn kind_of(body: serde_json::Value) -> ErrorKind {
    let server = answering(body).await;
    let clock = FixedClock::new(NOW);
    introspector(&server, &clock).await.introspect(TOKEN).await.unwrap_err().kind()
}

#[tokio::test]
async fn an_active_answer_becomes_a_verified_token() {
    let server = answering(good()).await;
    let clock = FixedClock::new(NOW);
    let introspector = introspector(&server, &clock).await;
    let verified = introspector.verify_remote(TOKEN).await.unwrap();
    assert!(verified.header().is_none());
    assert_eq!(verified.subject(), Some("alice"));
    assert_eq!(verified.issuer(), Some(server.base.as_str()));
    assert_eq!(verified.registered().aud, [AUDIENCE, "other"]);
    assert_eq!(verified.expires_at(), Some(NOW + 600));
    assert_eq!(verified.scopes(), ["orders:read", "orders:write"]);
    assert_eq!(verified.claims().unwrap()["tenant_id"], "acme");
    assert_eq!(verified.claims().unwrap()["client_id"], "web");
    let seen = server.last();
    assert_eq!(seen.param("token"), Some(TOKEN));
    assert_eq!(seen.param("token_type_hint"), Some("access_token"));
    assert_eq!(seen.content_type.as_deref(), Some("application/x-www-form-urlencoded"));
    assert_eq!(seen.accept.as_deref(), Some("application/json"));
}

#[tokio::test]
async fn client_secret_basic_sends_form_encoded_credentials_in_the_header() {
    let server = answering(good()).await;
    let clock = FixedClock::new(NOW);
    introspector(&server, &clock).await.introspect(TOKEN).await.unwrap();
    let seen = server.last();
    // RFC 6749 section 2.3.1: id and secret form-encoded before base64.
    let expected = format!("Basic {}", STANDARD.encode("orders-api:s3cr%3At%2Bx"));
    assert_eq!(seen.authorization.as_deref(), Some(expected.as_str()));
    assert_eq!(seen.param("client_secret"), None);
    assert_eq!(seen.param("client_id"), None);
}

#[tokio::test]
async fn client_secret_post_sends_credentials_in_the_body() {
    let server = answering(good()).await;
    let clock = FixedClock::new(NOW);
    let introspector =
        builder(&server, &clock).client_auth(ClientAuth::secret_post("orders-api", "s3cr:t+x")).build().await.unwrap();
    introspector.introspect(TOKEN).await.unwrap();
    let seen = server.last();
    assert_eq!(seen.authorization, None);
    assert_eq!(seen.param("client_id"), Some("orders-api"));
    assert_eq!(seen.param("client_secret"), Some("s3cr:t+x"));
    assert_eq!(seen.param("token"), Some(TOKEN));
}

#[tokio::test]
async fn private_key_jwt_sends_a_fresh_signed_assertion() {
    let server = answering(good()).await;
    let clock = FixedClock::new(NOW);
    let signer = LocalSigner::generate(Algorithm::ES256).unwrap();
    let key = Key::from_jwk(&signer.public_jwk()).unwrap();
    let auth = ClientAuth::private_key_jwt("orders-api", signer);
    assert_eq!(auth.method_name(), "private_key_jwt");
    let introspector = builder(&server, &clock).client_auth(auth).build().await.unwrap();
    introspector.introspect(TOKEN).await.unwrap();
    introspector.introspect("another-token").await.unwrap();
    let seen = server.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    let verifier = Verifier::builder(KeySet::new([key]).unwrap())
        .issuer("orders-api")
        .audience(server.base.clone())
        .algorithms([Algorithm::ES256])
        .typ("JWT")
        .clock(clock.clone())
        .build()
        .unwrap();
    let mut jtis = Vec::new();
    for seen in &seen {
        assert_eq!(seen.authorization, None);
        assert_eq!(seen.param("client_id"), Some("orders-api"));
        assert_eq!(seen.param("client_assertion_type"), Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer"));
        assert_eq!(seen.param("client_secret"), None);
        let assertion = verifier.verify(seen.param("client_assertion").unwrap()).unwrap();
        let claims = assertion.registered();
        assert_eq!(claims.sub.as_deref(), Some("orders-api"));
        assert_eq!((claims.iat, claims.exp), (Some(NOW), Some(NOW + 60)));
        jtis.push(claims.jti.clone().unwrap());
    }
    assert_ne!(jtis[0], jtis[1], "a fresh jti per assertion");
}

#[tokio::test]
async fn inactive_is_inactive() {
    assert_eq!(kind_of(json!({"active": false})).await, ErrorKind::Inactive);
}

#[tokio::test]
async fn another_audience_is_refused() {
    let mut body = good();
    body["aud"] = json!(["billing-api"]);
    assert_eq!(kind_of(body).await, ErrorKind::InvalidAudience);
    let mut body = good();
    body.as_object_mut().unwrap().remove("aud");
    assert_eq!(kind_of(body).await, ErrorKind::InvalidAudience);
}

#[tokio::test]
async fn another_issuer_is_refused() {
    let mut body = good();
    body["iss"] = json!("https://evil.example");
    assert_eq!(kind_of(body).await, ErrorKind::InvalidIssuer);
}

#[tokio::test]
async fn expired_and_not_yet_valid_are_refused() {
    let mut body = good();
    body["exp"] = json!(NOW - 31);
    assert_eq!(kind_of(body).await, ErrorKind::Expired);
    let mut body = good();
    body["nbf"] = json!(NOW + 31);
    assert_eq!(kind_of(body).await, ErrorKind::NotYetValid);
}

#[tokio::test]
async fn a_refresh_token_is_not_an_access_token() {
    let mut body = good();
    body["token_type"] = json!("refresh_token");
    assert_eq!(kind_of(body).await, ErrorKind::InvalidType);
}

async fn unavailable(server: &Server) -> tokengate_core::AuthError {
    let clock = FixedClock::new(NOW);
    let introspector =
        builder(server, &clock).timeout(Duration::from_millis(300)).max_body(4096).build().await.unwrap();
    introspector.introspect(TOKEN).await.unwrap_err()
}

#[tokio::test]
async fn server_errors_are_503_never_401() {
    for status in [500, 502, 503, 400, 401, 403, 404, 302] {
        let server = serve(false, move |_| Answer::Status(status, r#"{"active":false}"#.into())).await;
        let err = unavailable(&server).await;
        assert_eq!(err.kind(), ErrorKind::IntrospectionUnavailable, "{status}");
        assert_eq!(err.detail(), Some(format!("the introspection endpoint answered {status}").as_str()));
    }
}

#[tokio::test]
async fn a_server_that_does_not_answer_times_out_as_503() {
    let server = serve(false, |_| Answer::Hang).await;
    let started = std::time::Instant::now();
    let err = unavailable(&server).await;
    assert_eq!(err.kind(), ErrorKind::IntrospectionUnavailable);
    assert!(started.elapsed() < Duration::from_secs(5), "the timeout bounds the wait");
}

#[tokio::test]
async fn an_unreachable_server_is_503() {
    let server = serve(false, |_| Answer::Hang).await;
    let clock = FixedClock::new(NOW);
    let introspector = introspector(&server, &clock).await;
    drop(server); // the port is closed now
    let err = introspector.introspect(TOKEN).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::IntrospectionUnavailable);
}

#[tokio::test]
async fn garbage_is_503() {
    for body in ["<html>500</html>", "", "null", r#"{"active":"yes"}"#, r#"{"active":true,"active":false}"#] {
        let body = body.to_owned();
        let server = serve(false, move |_| Answer::Json(body.clone())).await;
        assert_eq!(unavailable(&server).await.kind(), ErrorKind::IntrospectionUnavailable);
    }
    // A JWT answer nobody asked for (no verifier configured) is not trusted either.
    let server = serve(false, |_| Answer::Typed("application/token-introspection+jwt", "a.b.c".into())).await;
    assert_eq!(unavailable(&server).await.kind(), ErrorKind::IntrospectionUnavailable);
}

#[tokio::test]
async fn an_oversized_body_is_503() {
    // With a Content-Length over the limit, and streamed without one.
    let big = format!(r#"{{"active":false,"pad":"{}"}}"#, "x".repeat(5000));
    let server = serve(false, move |_| Answer::Json(big.clone())).await;
    let err = unavailable(&server).await;
    assert_eq!(err.kind(), ErrorKind::IntrospectionUnavailable);
    assert_eq!(err.detail(), Some("the introspection response is larger than 4096 bytes"));
    let server = serve(false, |_| Answer::Chunked(8192)).await;
    let err = unavailable(&server).await;
    assert_eq!(err.detail(), Some("the introspection response is larger than 4096 bytes"));
}

#[tokio::test]
async fn a_too_large_token_is_not_sent() {
    let server = answering(good()).await;
    let clock = FixedClock::new(NOW);
    let introspector = builder(&server, &clock).max_token_size(64).build().await.unwrap();
    let err = introspector.introspect(&"t".repeat(65)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TokenTooLarge);
    assert_eq!(server.calls(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_concurrent_requests_for_one_token_make_one_call() {
    // Gated: no answer until the test opens the gate.
    let server = answering_gated(good(), true).await;
    let clock = FixedClock::new(NOW);
    let introspector = introspector(&server, &clock).await;
    let tasks: Vec<_> = (0..10_000)
        .map(|_| {
            let introspector = introspector.clone();
            tokio::spawn(async move { introspector.introspect(TOKEN).await.map(|v| v.subject().map(str::to_owned)) })
        })
        .collect();
    // Wait until the one request reached the server, then let it answer.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while server.calls() == 0 {
        assert!(tokio::time::Instant::now() < deadline, "no request reached the server");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::task::yield_now().await;
    server.gate.add_permits(1_000_000);
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap(), Some("alice".to_owned()));
    }
    assert_eq!(server.calls(), 1);
}

#[tokio::test]
async fn the_concurrency_cap_bounds_requests_in_flight() {
    let server = answering_gated(good(), true).await;
    let clock = FixedClock::new(NOW);
    let introspector = builder(&server, &clock).max_concurrent(2).build().await.unwrap();
    let tasks: Vec<_> = (0..6)
        .map(|i| {
            let introspector = introspector.clone();
            tokio::spawn(async move { introspector.introspect(&format!("token-{i}")).await.map(|_| ()) })
        })
        .collect();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while server.in_flight.load(Ordering::SeqCst) < 2 {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Give a third request every chance to get through if the cap did not hold.
    for _ in 0..20 {
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(server.calls(), 2);
    server.gate.add_permits(100);
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(server.calls(), 6);
    assert_eq!(server.max_in_flight.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_cache_hit_makes_no_call_until_exp_or_the_ttl() {
    let mut body = good();
    body["exp"] = json!(NOW + 20);
    let server = answering(body).await;
    let clock = FixedClock::new(NOW);
    let introspector =
        builder(&server, &clock).cache_ttl(Duration::from_secs(60)).leeway(Duration::ZERO).build().await.unwrap();
    for _ in 0..5 {
        assert_eq!(introspector.introspect(TOKEN).await.unwrap().subject(), Some("alice"));
    }
    assert_eq!(server.calls(), 1);
    assert_eq!(introspector.cached_entries().await, 1);
    // Another token is another entry.
    introspector.introspect("another").await.unwrap();
    assert_eq!(server.calls(), 2);
    // exp (20 s) comes before the TTL (60 s): then the server is asked again, and the
    // token, expired now, is refused.
    clock.advance(20);
    assert_eq!(introspector.introspect(TOKEN).await.unwrap_err().kind(), ErrorKind::Expired);
    assert_eq!(server.calls(), 3);

    // A TTL shorter than exp ends the entry first.
    let server = answering(good()).await;
    let clock = FixedClock::new(NOW);
    let introspector = builder(&server, &clock).cache_ttl(Duration::from_secs(10)).build().await.unwrap();
    introspector.introspect(TOKEN).await.unwrap();
    clock.advance(9);
    introspector.introspect(TOKEN).await.unwrap();
    assert_eq!(server.calls(), 1);
    clock.advance(1);
    introspector.introspect(TOKEN).await.unwrap();
    assert_eq!(server.calls(), 2);
}

#[tokio::test]
async fn refusals_are_cached_briefly_and_failures_not_at_all() {
    let server = serve(false, |_| Answer::Json(r#"{"active":false}"#.into())).await;
    let clock = FixedClock::new(NOW);
    let refusing = builder(&server, &clock).negative_ttl(Duration::from_secs(5)).build().await.unwrap();
    for _ in 0..3 {
        assert_eq!(refusing.introspect(TOKEN).await.unwrap_err().kind(), ErrorKind::Inactive);
    }
    assert_eq!(server.calls(), 1);
    clock.advance(5);
    assert_eq!(refusing.introspect(TOKEN).await.unwrap_err().kind(), ErrorKind::Inactive);
    assert_eq!(server.calls(), 2);

    // A 500 is not remembered: the next request asks again (and may succeed).
    let mut good_body = good();
    good_body.as_object_mut().unwrap().remove("iss");
    let good_body = good_body.to_string();
    let failing = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let flag = failing.clone();
    let server = serve(false, move |_| {
        if flag.load(Ordering::SeqCst) { Answer::Status(500, String::new()) } else { Answer::Json(good_body.clone()) }
    })
    .await;
    let retrying = introspector(&server, &clock).await;
    assert_eq!(retrying.introspect(TOKEN).await.unwrap_err().kind(), ErrorKind::IntrospectionUnavailable);
    assert_eq!(retrying.introspect(TOKEN).await.unwrap_err().kind(), ErrorKind::IntrospectionUnavailable);
    assert_eq!(server.calls(), 2);
    failing.store(false, Ordering::SeqCst);
    assert!(retrying.introspect(TOKEN).await.is_ok());
}

#[tokio::test]
async fn the_endpoint_is_discovered() {
    let server = answering(good()).await;
    let introspector = Introspector::builder(server.base.clone(), AUDIENCE)
        .client_auth(ClientAuth::secret_basic("orders-api", "s"))
        .clock(FixedClock::new(NOW))
        .build()
        .await
        .unwrap();
    assert_eq!(introspector.endpoint(), server.endpoint);
    introspector.introspect(TOKEN).await.unwrap();
    assert_eq!(server.calls(), 1);
}

#[tokio::test]
async fn discovery_refuses_another_issuer_and_insecure_endpoints() {
    let auth = || ClientAuth::secret_basic("orders-api", "s");
    let server = serve_with_metadata(
        false,
        |_| Answer::Hang,
        Some(r#"{"issuer":"https://other.example","introspection_endpoint":"{base}/introspect"}"#),
    )
    .await;
    let err = Introspector::builder(server.base.clone(), AUDIENCE).client_auth(auth()).build().await.unwrap_err();
    assert!(matches!(err, IntrospectionError::IssuerMismatch { .. }), "{err:?}");

    // A plain-http endpoint on another host, learned from the document, is refused.
    let server = serve_with_metadata(
        false,
        |_| Answer::Hang,
        Some(r#"{"issuer":"{base}","introspection_endpoint":"http://127.0.0.2:9/introspect"}"#),
    )
    .await;
    let err = Introspector::builder(server.base.clone(), AUDIENCE).client_auth(auth()).build().await.unwrap_err();
    assert!(matches!(err, IntrospectionError::InsecureUrl(_)), "{err:?}");

    let server = serve_with_metadata(false, |_| Answer::Hang, Some(r#"{"issuer":"{base}"}"#)).await;
    let err = Introspector::builder(server.base.clone(), AUDIENCE).client_auth(auth()).build().await.unwrap_err();
    assert_eq!(err, IntrospectionError::NoEndpoint);

    let err = Introspector::builder("http://as.example", AUDIENCE).client_auth(auth()).build().await.unwrap_err();
    assert!(matches!(err, IntrospectionError::InsecureUrl(_)), "{err:?}");
    let err = Introspector::builder(server.base.clone(), AUDIENCE).build().await.unwrap_err();
    assert!(matches!(err, IntrospectionError::Config(_)), "{err:?}");
}

fn jwt_verifier(server: &Server, clock: &FixedClock) -> Verifier {
    let fixture = tokengate_test_support::fixture(Algorithm::ES256);
    Verifier::builder(fixture.key_set())
        .issuer(server.base.clone())
        .audience("orders-api")
        .algorithms([Algorithm::ES256])
        .typ("token-introspection+jwt")
        .allow_missing_exp()
        .clock(clock.clone())
        .build()
        .unwrap()
}

#[tokio::test]
async fn signed_answers_are_verified_with_the_servers_keys() {
    let fixture = tokengate_test_support::fixture(Algorithm::ES256);
    let issuer = Arc::new(Mutex::new(String::new()));
    let forged = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (slot, forge) = (issuer.clone(), forged.clone());
    let server = serve(false, move |seen| {
        assert_eq!(seen.accept.as_deref(), Some("application/token-introspection+jwt"));
        let iss = slot.lock().unwrap().clone();
        let header = json!({"alg": "ES256", "kid": fixture.kid(), "typ": "token-introspection+jwt"});
        let mut inner = good();
        inner["iss"] = json!(iss);
        let claims = json!({"iss": iss, "aud": "orders-api", "iat": NOW, "token_introspection": inner});
        let signer = if forge.load(Ordering::SeqCst) {
            tokengate_test_support::other_fixture(Algorithm::ES256)
        } else {
            fixture
        };
        let jwt = signer.sign_raw(header.to_string().as_bytes(), claims.to_string().as_bytes());
        Answer::Typed("application/token-introspection+jwt; charset=utf-8", jwt)
    })
    .await;
    *issuer.lock().unwrap() = server.base.clone();
    let clock = FixedClock::new(NOW);
    let introspector = builder(&server, &clock).jwt_responses(jwt_verifier(&server, &clock)).build().await.unwrap();
    let verified = introspector.introspect(TOKEN).await.unwrap();
    assert_eq!(verified.subject(), Some("alice"));
    assert_eq!(verified.claims().unwrap()["tenant_id"], "acme");

    // Signed by another key: the server's word cannot be trusted, 503.
    forged.store(true, Ordering::SeqCst);
    let err = introspector.introspect("another-token").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::IntrospectionUnavailable);
}

#[tokio::test]
async fn plain_json_is_refused_when_signed_answers_are_required() {
    let server = answering(good()).await;
    let clock = FixedClock::new(NOW);
    let introspector = builder(&server, &clock).jwt_responses(jwt_verifier(&server, &clock)).build().await.unwrap();
    let err = introspector.introspect(TOKEN).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::IntrospectionUnavailable);
    assert_eq!(server.last().accept.as_deref(), Some("application/token-introspection+jwt"));
}

/// Everything any test of this binary logs. Global, not a per-thread `set_default`:
/// thread-local subscribers race with tracing's callsite cache when tests run in parallel.
fn captured_logs() -> &'static Arc<Mutex<Vec<u8>>> {
    static BUFFER: std::sync::OnceLock<Arc<Mutex<Vec<u8>>>> = std::sync::OnceLock::new();
    BUFFER.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || Capture(writer.clone()))
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
        buffer
    })
}

struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn logs_never_contain_the_token_or_the_secret() {
    let logs = captured_logs();
    for status in [500, 401] {
        let server = serve(false, move |_| Answer::Status(status, TOKEN.into())).await;
        let clock = FixedClock::new(NOW);
        let introspector = introspector(&server, &clock).await;
        let _ = introspector.introspect(TOKEN).await;
        assert!(!format!("{introspector:?}").contains("s3cr"));
    }
    let text = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
    assert!(text.contains("introspection unavailable"), "{text}");
    assert!(text.contains("refused our client credentials"), "{text}");
    assert!(!text.contains(TOKEN) && !text.contains("s3cr"), "{text}");
}

#[tokio::test]
async fn zero_trust_rechecks_and_tolerates_only_unsupported_token_type() {
    let unsupported =
        r#"{"error":"unsupported_token_type","error_description":"Structured JWT Tokens cannot be introspected"}"#;
    let server = serve(false, move |seen| match seen.param("token") {
        Some("revoked.jwt.token") => Answer::Json(r#"{"active":false}"#.into()),
        Some("failing.jwt.token") => Answer::Status(500, String::new()),
        _ => Answer::Status(400, unsupported.into()),
    })
    .await;
    let clock = FixedClock::new(NOW);
    let plain = introspector(&server, &clock).await;
    let zero_trust = plain.zero_trust();
    // The server introspects no JWTs: the local verification stands (zero trust only).
    assert!(zero_trust.verify_remote("self.contained.jwt").await.is_ok());
    // The same answer for a token only the server could vouch for: never accepted.
    let err = plain.introspect("self.contained.jwt").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::IntrospectionUnavailable);
    // Revoked at the server, or the server failing: refused as for opaque tokens.
    assert_eq!(zero_trust.verify_remote("revoked.jwt.token").await.unwrap_err().kind(), ErrorKind::Inactive);
    let err = zero_trust.verify_remote("failing.jwt.token").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::IntrospectionUnavailable);
    // A 400 that is another error is the server failing.
    let server = serve(false, |_| Answer::Status(400, r#"{"error":"invalid_request"}"#.into())).await;
    let zero_trust = introspector(&server, &clock).await.zero_trust();
    let err = zero_trust.verify_remote("self.contained.jwt").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::IntrospectionUnavailable);
}
