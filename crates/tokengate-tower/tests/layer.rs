//! In-process tests of `JwtAuthLayer` (tower `oneshot`): statuses, challenges, sources,
//! optional mode, several verifiers, key refresh, custom responses, and no token in logs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

#[path = "common/capture.rs"]
mod capture;
mod common;

use std::convert::Infallible;
use std::sync::{Arc, Mutex, RwLock};

use common::{AUD, ISS, claims, es256, hs256, rsa};
use http::header::{RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderName, Request, Response, StatusCode};
use tokengate_core::{
    Algorithm, AuthError, ErrorKind, Key, KeyQuery, KeyResolver, KeySet, RefreshFuture, Verified, Verifier,
};
use tokengate_tower::metadata::{ProtectedResourceMetadata, WELL_KNOWN_PATH};
use tokengate_tower::{BearerChallenge, JwtAuthLayer, Rejection, TokenSources};
use tower::{Layer, Service, ServiceExt, service_fn};

/// What the inner service saw.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    subject: Option<String>,
    verified_count: usize,
    has_challenge: bool,
}

fn echo() -> impl Service<Request<()>, Response = Response<String>, Error = Infallible, Future: Send> + Clone + Send {
    service_fn(|req: Request<()>| async move {
        let verified = req.extensions().get::<Arc<Verified>>();
        let seen = Seen {
            subject: verified.and_then(|v| v.subject().map(str::to_owned)),
            verified_count: usize::from(verified.is_some()),
            has_challenge: req.extensions().get::<BearerChallenge>().is_some(),
        };
        Ok::<_, Infallible>(Response::new(format!("{seen:?}")))
    })
}

async fn call(layer: JwtAuthLayer, req: Request<()>) -> Response<String> {
    layer.layer(echo()).oneshot(req).await.unwrap()
}

fn bearer(token: &str) -> Request<()> {
    Request::builder().header("authorization", format!("Bearer {token}")).body(()).unwrap()
}

fn www(response: &Response<String>) -> Option<&str> {
    response.headers().get(WWW_AUTHENTICATE).map(|v| v.to_str().unwrap())
}

fn kind(response: &Response<String>) -> Option<ErrorKind> {
    response.extensions().get::<AuthError>().map(AuthError::kind)
}

#[tokio::test]
async fn missing_token_is_401_with_a_bare_challenge() {
    let response = call(JwtAuthLayer::new(rsa().verifier()).realm("orders"), Request::new(())).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(www(&response), Some(r#"Bearer realm="orders""#));
    assert_eq!(kind(&response), Some(ErrorKind::MissingToken));
    assert_eq!(response.headers()["cache-control"], "no-store");
}

#[tokio::test]
async fn valid_tokens_pass_with_one_arc_verified() {
    for fixture in [rsa(), es256(), hs256()] {
        let token = fixture.token(&claims("alice"));
        let response = call(JwtAuthLayer::new(fixture.verifier()), bearer(&token)).await;
        assert_eq!(response.status(), StatusCode::OK, "{:?}", fixture.alg);
        let expected = Seen { subject: Some("alice".into()), verified_count: 1, has_challenge: true };
        assert_eq!(response.body(), &format!("{expected:?}"));
    }
}

#[tokio::test]
async fn bad_tokens_are_401_invalid_token_with_a_safe_description() {
    let f = rsa();
    let mut expired = claims("alice");
    expired["exp"] = (common::now() - 3600).into();
    let mut wrong_aud = claims("alice");
    wrong_aud["aud"] = "another-api".into();
    let good = f.token(&claims("alice"));
    let mut tampered = good.clone();
    tampered.truncate(good.len() - 4);
    tampered.push_str("AAAA");
    let cases = [
        (f.token(&expired), ErrorKind::Expired, "the access token expired"),
        (f.token(&wrong_aud), ErrorKind::InvalidAudience, "the token's audience is not accepted"),
        (tampered.clone(), ErrorKind::InvalidSignature, "the token's signature is invalid"),
        ("a.b.c".to_owned(), ErrorKind::InvalidEncoding, "the access token is malformed"),
        (f.token_with_kid(&claims("alice"), "nope"), ErrorKind::UnknownKey, "the token's signing key is not known"),
        (es256().token(&claims("alice")), ErrorKind::AlgorithmNotAllowed, "the token's algorithm is not accepted"),
    ];
    for (token, expected, description) in cases {
        let response = call(JwtAuthLayer::new(f.verifier()), bearer(&token)).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{expected:?}");
        assert_eq!(kind(&response), Some(expected));
        let challenge = www(&response).unwrap();
        assert_eq!(
            challenge,
            format!(r#"Bearer realm="api", error="invalid_token", error_description="{description}""#)
        );
        for segment in token.split('.').filter(|s| s.len() > 8) {
            assert!(!challenge.contains(segment), "a token segment leaked into the challenge");
        }
    }
}

#[tokio::test]
async fn malformed_requests_are_400_invalid_request() {
    let token = rsa().token(&claims("alice"));
    let two = Request::builder()
        .header("authorization", format!("Bearer {token}"))
        .header("authorization", format!("Bearer {token}"))
        .body(())
        .unwrap();
    let empty = Request::builder().header("authorization", "Bearer ").body(()).unwrap();
    let spaced = Request::builder().header("authorization", "Bearer a b").body(()).unwrap();
    for request in [two, empty, spaced] {
        let response = call(JwtAuthLayer::new(rsa().verifier()), request).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            www(&response),
            Some(
                r#"Bearer realm="api", error="invalid_request", error_description="the request carrying the token is malformed""#
            )
        );
    }
    // The scheme is case-insensitive.
    let lower = Request::builder().header("authorization", format!("bearer {token}")).body(()).unwrap();
    assert_eq!(call(JwtAuthLayer::new(rsa().verifier()), lower).await.status(), StatusCode::OK);
}

struct Unavailable;

impl KeyResolver for Unavailable {
    fn resolve(&self, _query: &KeyQuery<'_>) -> Result<Key, AuthError> {
        Err(AuthError::with_detail(ErrorKind::KeysUnavailable, "JWKS fetch failed").retry_after(7))
    }
}

#[tokio::test]
async fn keys_unavailable_is_503_with_retry_after() {
    let verifier =
        Verifier::builder(Unavailable).issuer(ISS).audience(AUD).algorithms([Algorithm::RS256]).build().unwrap();
    let response = call(JwtAuthLayer::new(verifier), bearer(&rsa().token(&claims("alice")))).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()[RETRY_AFTER], "7");
    assert_eq!(www(&response), None);
    assert_eq!(kind(&response), Some(ErrorKind::KeysUnavailable));
}

#[tokio::test]
async fn optional_mode_lets_anonymous_through_but_not_bad_tokens() {
    let layer = JwtAuthLayer::new(rsa().verifier()).optional();
    let response = call(layer.clone(), Request::new(())).await;
    assert_eq!(response.status(), StatusCode::OK);
    let anonymous = Seen { subject: None, verified_count: 0, has_challenge: true };
    assert_eq!(response.body(), &format!("{anonymous:?}"));

    let response = call(layer.clone(), bearer("a.b.c")).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    let response = call(layer, bearer(&rsa().token(&claims("bob")))).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.body().contains("bob"));
}

#[tokio::test]
async fn each_token_source_and_their_precedence() {
    let alice = rsa().token(&claims("alice"));
    let bob = rsa().token(&claims("bob"));
    let x_token = HeaderName::from_static("x-access-token");
    let layer = |sources: TokenSources| JwtAuthLayer::new(rsa().verifier()).token_sources(sources);

    let cookie = Request::builder().header("cookie", format!("theme=dark; session={alice}")).body(()).unwrap();
    let response = call(layer(TokenSources::cookie("session")), cookie).await;
    assert!(response.body().contains("alice"));

    let header = Request::builder().header(&x_token, &alice).body(()).unwrap();
    let response = call(layer(TokenSources::header(x_token.clone())), header).await;
    assert!(response.body().contains("alice"));

    let query = Request::builder().uri(format!("/ws?access_token={alice}")).body(()).unwrap();
    let response = call(layer(TokenSources::query("access_token")), query).await;
    assert!(response.body().contains("alice"));

    // The query parameter is off by default.
    let query = Request::builder().uri(format!("/ws?access_token={alice}")).body(()).unwrap();
    assert_eq!(call(JwtAuthLayer::new(rsa().verifier()), query).await.status(), StatusCode::UNAUTHORIZED);

    // Both present: more than one method is invalid_request (RFC 6750 section 2), whatever
    // the order: a planted cookie cannot stand in for the Authorization header.
    let both = || {
        Request::builder()
            .header("cookie", format!("session={alice}"))
            .header("authorization", format!("Bearer {bob}"))
            .body(())
            .unwrap()
    };
    for sources in [TokenSources::cookie("session").then_bearer(), TokenSources::bearer().then_cookie("session")] {
        let response = call(layer(sources.clone()), both()).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{sources:?}");
        assert_eq!(kind(&response), Some(ErrorKind::InvalidRequest));
        // Also in optional mode.
        let response = call(layer(sources).optional(), both()).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    }

    // A later source is consulted when the earlier one has nothing.
    let only_header = Request::builder().header("authorization", format!("Bearer {bob}")).body(()).unwrap();
    let response = call(layer(TokenSources::cookie("session").then_bearer()), only_header).await;
    assert!(response.body().contains("bob"));
}

#[tokio::test]
async fn several_verifiers_are_tried_in_order_and_the_log_says_why_each_refused() {
    let captured = capture::start();
    let es_issuer = "https://es.issuer.test";
    let es_verifier = Verifier::builder(es256().key_set())
        .issuer(es_issuer)
        .audience(AUD)
        .algorithms([Algorithm::ES256])
        .build()
        .unwrap();
    let layer = JwtAuthLayer::new(rsa().verifier()).add_verifier(es_verifier);

    let rs = rsa().token(&claims("alice"));
    assert!(call(layer.clone(), bearer(&rs)).await.body().contains("alice"));
    let mut es_claims = claims("bob");
    es_claims["iss"] = es_issuer.into();
    let es = es256().token(&es_claims);
    assert!(call(layer.clone(), bearer(&es)).await.body().contains("bob"));

    // Signed by the ES key but claiming the RS issuer: both refuse, for different reasons.
    let mixed = es256().token(&claims("mallory"));
    let response = call(layer, bearer(&mixed)).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    // Both are "not my token" kinds: the first verifier's reason is shown.
    assert_eq!(kind(&response), Some(ErrorKind::AlgorithmNotAllowed));
    let logs = captured.text();
    assert!(logs.contains("verifier 0: AlgorithmNotAllowed"), "{logs}");
    assert!(logs.contains("verifier 1: InvalidIssuer"), "{logs}");
}

/// A resolver whose key set can be swapped, and that learns a new key on refresh.
#[derive(Clone)]
struct Swappable {
    keys: Arc<RwLock<KeySet>>,
    on_refresh: Arc<Mutex<Option<KeySet>>>,
    refreshes: Arc<Mutex<usize>>,
}

impl Swappable {
    fn new(keys: KeySet) -> Self {
        Swappable { keys: Arc::new(RwLock::new(keys)), on_refresh: Arc::default(), refreshes: Arc::default() }
    }
}

impl KeyResolver for Swappable {
    fn resolve(&self, query: &KeyQuery<'_>) -> Result<Key, AuthError> {
        self.keys.read().unwrap().resolve(query)
    }

    fn refresh_unknown(&self, _query: &KeyQuery<'_>) -> Option<RefreshFuture> {
        let this = self.clone();
        Some(Box::pin(async move {
            *this.refreshes.lock().unwrap() += 1;
            if let Some(next) = this.on_refresh.lock().unwrap().take() {
                *this.keys.write().unwrap() = next;
            }
        }))
    }
}

#[tokio::test]
async fn an_unknown_kid_refreshes_the_keys_once() {
    let resolver = Swappable::new(KeySet::empty());
    *resolver.on_refresh.lock().unwrap() = Some(rsa().key_set());
    let verifier =
        Verifier::builder(resolver.clone()).issuer(ISS).audience(AUD).algorithms([Algorithm::RS256]).build().unwrap();
    let layer = JwtAuthLayer::new(verifier);
    let response = call(layer.clone(), bearer(&rsa().token(&claims("alice")))).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.body().contains("alice"));
    assert_eq!(*resolver.refreshes.lock().unwrap(), 1);

    // Still unknown after the refresh: refused.
    let response = call(layer, bearer(&rsa().token_with_kid(&claims("alice"), "gone")).clone()).await;
    assert_eq!(kind(&response), Some(ErrorKind::UnknownKey));
    assert_eq!(*resolver.refreshes.lock().unwrap(), 2);
}

#[tokio::test]
async fn a_custom_rejection_gets_the_typed_error_too() {
    let problem = |r: &Rejection| -> Response<String> {
        let body = serde_json::json!({"status": r.status().as_u16(), "detail": r.error().public_message()});
        let mut response = Response::new(body.to_string());
        *response.status_mut() = r.status();
        response.headers_mut().insert("content-type", "application/problem+json".parse().unwrap());
        response
    };
    let service = JwtAuthLayer::new(rsa().verifier()).on_rejection(problem).layer(echo());
    let response = service.oneshot(bearer("a.b.c")).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    assert_eq!(response.body(), r#"{"detail":"the access token is malformed","status":401}"#);
    assert_eq!(kind(&response), Some(ErrorKind::InvalidEncoding));
}

#[tokio::test]
async fn resource_metadata_is_advertised_and_served() {
    let metadata = ProtectedResourceMetadata::new("https://orders.test").authorization_server(ISS);
    let layer = JwtAuthLayer::new(rsa().verifier()).resource_metadata(metadata.well_known_url());
    let response = call(layer, Request::new(())).await;
    assert_eq!(
        www(&response),
        Some(r#"Bearer realm="api", resource_metadata="https://orders.test/.well-known/oauth-protected-resource""#)
    );
    let response = metadata.into_service().oneshot(Request::get(WELL_KNOWN_PATH).body(()).unwrap()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = http_body_util::BodyExt::collect(response.into_body()).await.unwrap().to_bytes();
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["authorization_servers"][0], ISS);
    assert_eq!(json["resource"], "https://orders.test");
}

#[tokio::test]
async fn no_token_or_signature_ever_appears_in_trace_output() {
    let captured = capture::start();
    let f = rsa();
    let good = f.token(&claims("alice"));
    let mut expired_claims = claims("alice");
    expired_claims["exp"] = (common::now() - 3600).into();
    let expired = f.token(&expired_claims);
    let mut tampered = good.clone();
    tampered.truncate(good.len() - 4);
    tampered.push_str("AAAA");
    let foreign = es256().token(&claims("alice"));
    let tokens = [good.clone(), expired, tampered, foreign, f.token_with_kid(&claims("x"), "unknown")];

    let layer = JwtAuthLayer::new(f.verifier()).add_verifier(es256().verifier()).record_subject();
    for token in &tokens {
        let _ = call(layer.clone(), bearer(token)).await;
        let cookie = Request::builder().header("cookie", format!("sid={token}")).body(()).unwrap();
        let _ = call(layer.clone().token_sources(TokenSources::cookie("sid")), cookie).await;
    }
    let logs = captured.text();
    assert!(logs.contains("tokengate.verify"), "the span was not captured: {logs}");
    assert!(logs.contains("outcome=\"accepted\"") || logs.contains("outcome=accepted"), "{logs}");
    assert!(logs.contains("outcome=\"rejected\"") || logs.contains("outcome=rejected"), "{logs}");
    for token in &tokens {
        assert!(!logs.contains(token.as_str()), "a token appeared in the logs");
        let signature = token.rsplit('.').next().unwrap();
        assert!(!logs.contains(signature), "a signature appeared in the logs");
        // Header and payload segments are not logged either.
        for segment in token.split('.') {
            assert!(!logs.contains(segment), "a token segment appeared in the logs");
        }
    }
    // `sub` is recorded only because record_subject() was set.
    assert!(logs.contains("sub=\"alice\"") || logs.contains("sub=alice"), "{logs}");
}

#[tokio::test]
async fn sub_is_not_recorded_by_default() {
    let captured = capture::start();
    let _ = call(JwtAuthLayer::new(rsa().verifier()), bearer(&rsa().token(&claims("carol")))).await;
    let logs = captured.text();
    assert!(logs.contains("tokengate.verify"));
    assert!(!logs.contains("carol"), "{logs}");
}

const INVALID_REQUEST: &str =
    r#"Bearer realm="api", error="invalid_request", error_description="the request carrying the token is malformed""#;

#[tokio::test]
async fn malformed_sources_are_400_even_in_optional_mode() {
    let alice = rsa().token(&claims("alice"));
    let sources = TokenSources::bearer().then_cookie("sid").then_query("access_token");
    let layer = || JwtAuthLayer::new(rsa().verifier()).token_sources(sources.clone());
    let with_bytes = |name: &str, value: &[u8]| {
        let mut request = Request::new(());
        request.headers_mut().insert(HeaderName::from_bytes(name.as_bytes()).unwrap(), value.try_into().unwrap());
        request
    };
    let cases = [
        (
            "token cookie twice with different values, no other token",
            Request::builder().header("cookie", format!("sid={alice}; sid=x.y.z")).body(()).unwrap(),
        ),
        ("non-ASCII Authorization", with_bytes("authorization", b"Bearer a.b\xffc")),
        ("non-ASCII token cookie", with_bytes("cookie", b"theme=dark; sid=a.b\xffc")),
        (
            "encoded duplicate query name",
            Request::builder().uri(format!("/p?access_token={alice}&access%5Ftoken=x.y.z")).body(()).unwrap(),
        ),
        (
            "cookie and query",
            Request::builder()
                .uri(format!("/p?access_token={alice}"))
                .header("cookie", format!("sid={alice}"))
                .body(())
                .unwrap(),
        ),
    ];
    for (what, request) in cases {
        let parts = request.into_parts().0;
        for layer in [layer(), layer().optional()] {
            let request = Request::from_parts(parts.clone(), ());
            let response = call(layer, request).await;
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{what}");
            assert_eq!(kind(&response), Some(ErrorKind::InvalidRequest), "{what}");
            assert_eq!(www(&response), Some(INVALID_REQUEST), "{what}");
        }
    }
    // A Cookie header that is not all ASCII still yields the token cookie.
    let request = with_bytes("cookie", format!("name=Jos\u{e9}; sid={alice}").as_bytes());
    let response = call(layer(), request).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.body().contains("alice"));
}

#[tokio::test]
async fn bearer_followed_by_a_tab_is_a_bearer_token() {
    let alice = rsa().token(&claims("alice"));
    let layer = JwtAuthLayer::new(rsa().verifier()).optional();
    let request = Request::builder().header("authorization", format!("Bearer\t{alice}")).body(()).unwrap();
    let response = call(layer.clone(), request).await;
    assert_eq!(response.status(), StatusCode::OK);
    let seen = Seen { subject: Some("alice".into()), verified_count: 1, has_challenge: true };
    assert_eq!(response.body(), &format!("{seen:?}"));
    // A bad token after a tab is refused, not taken for another scheme (anonymous).
    let request = Request::builder().header("authorization", "Bearer\ta.b.c").body(()).unwrap();
    assert_eq!(call(layer, request).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_oversized_token_is_401_too_large() {
    let response = call(JwtAuthLayer::new(rsa().verifier()), bearer(&"a".repeat(9000))).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(kind(&response), Some(ErrorKind::TokenTooLarge));
    assert_eq!(
        www(&response),
        Some(r#"Bearer realm="api", error="invalid_token", error_description="the access token is too large""#)
    );
}

#[tokio::test]
async fn optional_mode_drops_an_outer_layers_token_when_anonymous() {
    // The outer layer reads a cookie; the inner, optional one reads only the header.
    let outer = JwtAuthLayer::new(rsa().verifier()).token_sources(TokenSources::cookie("sid"));
    let inner = JwtAuthLayer::new(es256().verifier()).optional();
    let service = outer.layer(inner.layer(echo()));
    let request =
        Request::builder().header("cookie", format!("sid={}", rsa().token(&claims("alice")))).body(()).unwrap();
    let response = service.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let anonymous = Seen { subject: None, verified_count: 0, has_challenge: true };
    assert_eq!(response.body(), &format!("{anonymous:?}"));
}

#[tokio::test]
async fn leftovers_in_a_source_the_client_does_not_use_do_not_break_its_token() {
    let alice = rsa().token(&claims("alice"));
    let bob = rsa().token(&claims("bob"));
    let sources = TokenSources::cookie("sid").then_bearer().then_query("access_token");
    let layer = || JwtAuthLayer::new(rsa().verifier()).token_sources(sources.clone());
    let with_bytes = |authorization: &[u8], cookie: &str| {
        let mut request = Request::new(());
        request.headers_mut().insert("authorization", authorization.try_into().unwrap());
        request.headers_mut().insert("cookie", cookie.try_into().unwrap());
        request
    };
    let alice_seen = Seen { subject: Some("alice".into()), verified_count: 1, has_challenge: true };
    let cases = [
        // The empty cookie a logout leaves, next to the Bearer token.
        (
            "empty cookie",
            Request::builder().header("cookie", "sid=").header("authorization", format!("Bearer {alice}")),
        ),
        (
            "empty query value",
            Request::builder().uri("/p?access_token=").header("authorization", format!("Bearer {alice}")),
        ),
        // Path/domain variants of the session cookie, the client using the Bearer header.
        (
            "different duplicate cookies",
            Request::builder()
                .header("cookie", format!("sid={bob}; sid=x.y.z"))
                .header("authorization", format!("Bearer {alice}")),
        ),
        // The same cookie twice with the same value is one token.
        (
            "identical duplicate cookies",
            Request::builder().header("cookie", format!("sid={alice}")).header("cookie", format!("sid={alice}")),
        ),
    ];
    for (what, request) in cases {
        let response = call(layer(), request.body(()).unwrap()).await;
        assert_eq!(response.status(), StatusCode::OK, "{what}");
        assert_eq!(response.body(), &format!("{alice_seen:?}"), "{what}");
    }
    // A non-ASCII Basic credential next to the session cookie.
    let response = call(layer(), with_bytes(b"Basic J\xf6rg:p\xe4ss", &format!("sid={alice}"))).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.body(), &format!("{alice_seen:?}"));
    // Nothing but leftovers: no token (401 without an error, anonymous when optional).
    let leftovers = || Request::builder().uri("/p?access_token=").header("cookie", "sid=").body(()).unwrap();
    let response = call(layer(), leftovers()).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(kind(&response), Some(ErrorKind::MissingToken));
    let response = call(layer().optional(), leftovers()).await;
    assert_eq!(response.status(), StatusCode::OK);
    // A token in two sources is still a 400.
    let request =
        Request::builder().header("cookie", format!("sid={bob}")).header("authorization", format!("Bearer {alice}"));
    let response = call(layer(), request.body(()).unwrap()).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(kind(&response), Some(ErrorKind::InvalidRequest));
}
