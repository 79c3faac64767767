//! In-process tests of the extractors (axum Router + tower `oneshot`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

#[path = "../../tokengate-tower/tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::Mutex;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use common::{claims, rsa};
use http::header::WWW_AUTHENTICATE;
use http::{Request, StatusCode};
use serde::Deserialize;
use tokengate_axum::{AuthRejection, Claims, MISSING_LAYER_MESSAGE, VerifiedToken};
use tokengate_core::{AuthError, ErrorKind};
use tokengate_tower::{JwtAuthLayer, TokenSources};
use tower::ServiceExt;

/// Deserializations of [`Counted`] per subject: each test counts under its own subject,
/// so tests running in parallel do not disturb each other's counts.
static DESERIALIZED: Mutex<BTreeMap<String, usize>> = Mutex::new(BTreeMap::new());

fn deserializations(sub: &str) -> usize {
    DESERIALIZED.lock().unwrap().get(sub).copied().unwrap_or(0)
}

/// Counts its deserializations, per subject.
#[derive(Debug)]
struct Counted {
    sub: String,
}

impl<'de> Deserialize<'de> for Counted {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Raw {
            sub: String,
        }
        let raw = Raw::deserialize(d)?;
        *DESERIALIZED.lock().unwrap().entry(raw.sub.clone()).or_default() += 1;
        Ok(Counted { sub: raw.sub })
    }
}

#[derive(Debug, Deserialize)]
struct NeedsTenant {
    #[allow(dead_code)]
    tenant_id: String,
}

async fn body(response: axum::response::Response) -> String {
    let bytes = http_body_util_collect(response.into_body()).await;
    String::from_utf8(bytes).unwrap()
}

async fn http_body_util_collect(body: Body) -> Vec<u8> {
    axum::body::to_bytes(body, 1 << 20).await.unwrap().to_vec()
}

async fn get_with(app: &Router, uri: &str, token: Option<&str>) -> axum::response::Response {
    let mut b = Request::get(uri);
    if let Some(token) = token {
        b = b.header("authorization", format!("Bearer {token}"));
    }
    app.clone().oneshot(b.body(Body::empty()).unwrap()).await.unwrap()
}

#[tokio::test]
async fn claims_are_deserialized_once_per_request() {
    async fn twice(a: Claims<Counted>, b: Claims<Counted>) -> String {
        format!("{} {}", a.sub, b.sub)
    }
    let app = Router::new().route("/", get(twice)).route_layer(JwtAuthLayer::new(rsa().verifier()));
    // A subject no other test uses.
    let sub = "deserialized-once-per-request";
    assert_eq!(deserializations(sub), 0);
    let response = get_with(&app, "/", Some(&rsa().token(&claims(sub)))).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body(response).await, format!("{sub} {sub}"));
    assert_eq!(deserializations(sub), 1);
    // A second request deserializes its own claims once more.
    let response = get_with(&app, "/", Some(&rsa().token(&claims(sub)))).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(deserializations(sub), 2);
}

#[tokio::test]
async fn claims_that_do_not_fit_are_401_invalid_token() {
    async fn tenant(_: Claims<NeedsTenant>) {}
    let app = Router::new().route("/", get(tenant)).route_layer(JwtAuthLayer::new(rsa().verifier()));
    let response = get_with(&app, "/", Some(&rsa().token(&claims("alice")))).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.extensions().get::<AuthError>().map(AuthError::kind), Some(ErrorKind::InvalidClaim));
    assert!(response.headers()[WWW_AUTHENTICATE].to_str().unwrap().contains(r#"error="invalid_token""#));
}

#[tokio::test]
async fn a_forgotten_layer_is_a_500_that_says_so() {
    async fn required(_: Claims) {}
    async fn optional(_: Option<Claims>) {}
    async fn token(_: VerifiedToken) {}
    async fn optional_token(_: Option<VerifiedToken>) {}
    let app = Router::new()
        .route("/required", get(required))
        .route("/optional", get(optional))
        .route("/token", get(token))
        .route("/optional-token", get(optional_token));
    for uri in ["/required", "/optional", "/token", "/optional-token"] {
        let response = get_with(&app, uri, Some(&rsa().token(&claims("alice")))).await;
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR, "{uri}");
        assert!(response.headers().get(WWW_AUTHENTICATE).is_none());
        let text = body(response).await;
        assert_eq!(text, MISSING_LAYER_MESSAGE);
        assert!(text.contains("JwtAuthLayer was forgotten"));
    }
}

#[tokio::test]
async fn optional_claims_with_an_optional_layer() {
    async fn maybe(claims: Option<Claims<Counted>>) -> String {
        claims.map_or_else(|| "anonymous".to_owned(), |c| c.sub.clone())
    }
    async fn required(claims: Claims<Counted>) -> String {
        claims.sub.clone()
    }
    let app = Router::new()
        .route("/maybe", get(maybe))
        .route("/required", get(required))
        .route_layer(JwtAuthLayer::new(rsa().verifier()).optional().realm("shop"));
    let response = get_with(&app, "/maybe", None).await;
    assert_eq!(body(response).await, "anonymous");
    let response = get_with(&app, "/maybe", Some(&rsa().token(&claims("bob")))).await;
    assert_eq!(body(response).await, "bob");
    let response = get_with(&app, "/maybe", Some("a.b.c")).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    // An optional layer, but this handler needs a token: 401 with the layer's realm.
    let response = get_with(&app, "/required", None).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()[WWW_AUTHENTICATE], r#"Bearer realm="shop""#);
}

#[tokio::test]
async fn require_scope_is_a_403_insufficient_scope() {
    async fn admin(token: VerifiedToken) -> Result<String, AuthRejection> {
        token.require_scope("admin")?;
        Ok(format!("{:?}", token.expires_at().is_some()))
    }
    let app = Router::new().route("/admin", get(admin)).route_layer(JwtAuthLayer::new(rsa().verifier()).realm("r"));
    let response = get_with(&app, "/admin", Some(&rsa().token(&claims("alice")))).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        response.headers()[WWW_AUTHENTICATE],
        r#"Bearer realm="r", error="insufficient_scope", error_description="the access token lacks the required scope", scope="admin""#
    );
    let mut admin_claims = claims("root");
    admin_claims["scope"] = "read admin".into();
    let response = get_with(&app, "/admin", Some(&rsa().token(&admin_claims))).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body(response).await, "true");
}

#[tokio::test]
async fn optional_claims_that_do_not_fit_are_401_invalid_claim() {
    async fn maybe(claims: Option<Claims<NeedsTenant>>) -> &'static str {
        if claims.is_some() { "tenant" } else { "anonymous" }
    }
    let app = Router::new().route("/", get(maybe)).route_layer(JwtAuthLayer::new(rsa().verifier()).optional());
    let response = get_with(&app, "/", None).await;
    assert_eq!(body(response).await, "anonymous");
    // A valid token whose claims do not fit is not taken for no token.
    let response = get_with(&app, "/", Some(&rsa().token(&claims("alice")))).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.extensions().get::<AuthError>().map(AuthError::kind), Some(ErrorKind::InvalidClaim));
    assert!(response.headers()[WWW_AUTHENTICATE].to_str().unwrap().contains(r#"error="invalid_token""#));
}

#[tokio::test]
async fn the_failure_limiter_does_not_count_claims_that_do_not_fit() {
    use std::num::NonZeroU32;
    use std::time::Duration;
    use tokengate_tower::rate_limit::{AfterAuthentication, ClientAddr, FailureRateLimitLayer};

    async fn tenant(_: Claims<NeedsTenant>) {}
    let limiter = FailureRateLimitLayer::new(NonZeroU32::new(2).unwrap(), Duration::from_secs(60)).unwrap();
    let app =
        Router::new().route("/", get(tenant)).route_layer(JwtAuthLayer::new(rsa().verifier())).route_layer(limiter);
    let send = |token: String| {
        let app = app.clone();
        async move {
            let mut request =
                Request::get("/").header("authorization", format!("Bearer {token}")).body(Body::empty()).unwrap();
            request.extensions_mut().insert(ClientAddr("192.0.2.20:1234".parse().unwrap()));
            app.oneshot(request).await.unwrap()
        }
    };
    let good = rsa().token(&claims("alice"));
    for _ in 0..5 {
        let response = send(good.clone()).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(response.extensions().get::<AuthError>().map(AuthError::kind), Some(ErrorKind::InvalidClaim));
        assert!(response.extensions().get::<AfterAuthentication>().is_some());
    }
    // Bad tokens still count: two failures, then 429.
    for _ in 0..2 {
        assert_eq!(send("a.b.c".to_owned()).await.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(send(good).await.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[derive(Debug, Deserialize)]
struct Sub {
    sub: String,
}

/// An axum `from_fn` middleware that extracts the claims (filling the per-request cache)
/// before the inner layers run, and reports whose they were in `x-outer-sub`.
async fn peek(
    Claims(claims): Claims<Sub>,
    request: Request<Body>,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let mut response = next.run(request).await;
    response.headers_mut().insert("x-outer-sub", claims.sub.parse().unwrap());
    response
}

/// Outer layer (Bearer) -> `peek` -> inner layer (the `session` cookie) -> handler.
fn nested(inner: JwtAuthLayer, handler: axum::routing::MethodRouter) -> Router {
    Router::new()
        .route("/", handler)
        .route_layer(inner.token_sources(TokenSources::cookie("session")))
        .route_layer(axum::middleware::from_fn(peek))
        .route_layer(JwtAuthLayer::new(rsa().verifier()))
}

fn bearer_and_cookie(bearer: &str, cookie: Option<&str>) -> Request<Body> {
    let mut b = Request::get("/").header("authorization", format!("Bearer {bearer}"));
    if let Some(cookie) = cookie {
        b = b.header("cookie", format!("session={cookie}"));
    }
    b.body(Body::empty()).unwrap()
}

#[tokio::test]
async fn cached_claims_do_not_outlive_a_token_an_inner_optional_layer_dropped() {
    async fn maybe(claims: Option<Claims<Sub>>, token: Option<VerifiedToken>) -> String {
        format!("{:?} {:?}", claims.map(|c| c.sub.clone()), token.map(|t| t.subject().map(str::to_owned)))
    }
    let app = nested(JwtAuthLayer::new(rsa().verifier()).optional(), get(maybe));
    // Alice's Bearer token verifies outside and is extracted by the middleware; the inner
    // optional layer finds no cookie: the handler sees no token, not Alice's claims.
    let alice = rsa().token(&claims("alice"));
    let response = app.clone().oneshot(bearer_and_cookie(&alice, None)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["x-outer-sub"], "alice");
    assert_eq!(body(response).await, "None None");
    // With a cookie, the inner layer's token.
    let bob = rsa().token(&claims("bob"));
    let response = app.oneshot(bearer_and_cookie(&alice, Some(&bob))).await.unwrap();
    assert_eq!(response.headers()["x-outer-sub"], "alice");
    assert_eq!(body(response).await, r#"Some("bob") Some(Some("bob"))"#);
}

#[tokio::test]
async fn cached_claims_follow_the_token_an_inner_layer_verified() {
    async fn both(a: Claims<Sub>, b: Claims<Sub>, token: VerifiedToken) -> String {
        // The second extraction in the handler is served from the (re-bound) cache.
        assert!(Arc::ptr_eq(&a.0, &b.0));
        format!("{} {} {}", a.sub, b.sub, token.subject().unwrap_or("?"))
    }
    let app = nested(JwtAuthLayer::new(rsa().verifier()), get(both));
    let alice = rsa().token(&claims("alice"));
    let bob = rsa().token(&claims("bob"));
    let response = app.clone().oneshot(bearer_and_cookie(&alice, Some(&bob))).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["x-outer-sub"], "alice");
    assert_eq!(body(response).await, "bob bob bob");
    // The inner layer requires its cookie: without it, 401 (never Alice's claims).
    let response = app.oneshot(bearer_and_cookie(&alice, None)).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[cfg(feature = "rate-limit")]
#[test]
fn connect_info_key_reads_axums_connect_info() {
    use axum::extract::ConnectInfo;
    use std::net::SocketAddr;
    use tokengate_axum::ConnectInfoKey;
    use tokengate_tower::RequestHead;
    use tokengate_tower::rate_limit::{ClientAddr, ClientKey};

    let addr: SocketAddr = "198.51.100.7:5555".parse().unwrap();
    let mut request = Request::new(());
    request.extensions_mut().insert(ConnectInfo(addr));
    assert_eq!(ConnectInfoKey.client_ip(&RequestHead::from_request(&request)), Some(addr.ip()));
    // Without ConnectInfo: the ClientAddr extension, else unknown.
    let mut request = Request::new(());
    assert_eq!(ConnectInfoKey.client_ip(&RequestHead::from_request(&request)), None);
    request.extensions_mut().insert(ClientAddr(addr));
    assert_eq!(ConnectInfoKey.client_ip(&RequestHead::from_request(&request)), Some(addr.ip()));
}
