//! Over a real socket: an axum app served on 127.0.0.1:0 and a real HTTP client (reqwest):
//! every status and `WWW-Authenticate` value, optional mode, each token source and their
//! precedence, a forgotten layer, 404 staying 404, RFC 9728 metadata, and failure rate
//! limiting turning into 429 and back.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

#[path = "../../tokengate-tower/tests/common/mod.rs"]
mod common;

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use common::{AUD, ISS, claims, es256, rsa};
use http::HeaderName;
use reqwest::StatusCode;
use serde::Deserialize;
use tokengate_axum::{AuthRejection, Claims, ConnectInfoKey, JwtAuthLayer, VerifiedToken};
use tokengate_core::{Algorithm, AuthError, ErrorKind, Key, KeyQuery, KeyResolver, Verifier};
use tokengate_tower::TokenSources;
use tokengate_tower::metadata::{ProtectedResourceMetadata, WELL_KNOWN_PATH};
use tokengate_tower::rate_limit::{FailureRateLimitLayer, ManualClock};

/// Three failures per window; one attempt back every third of it.
/// Three failures per minute: one attempt back every 20 s of the limiter's (manual) clock.
const LIMIT_WINDOW: Duration = Duration::from_secs(60);
const META: &str = "http://127.0.0.1/.well-known/oauth-protected-resource";

#[derive(Deserialize)]
struct MyClaims {
    sub: String,
}

async fn me(Claims(c): Claims<MyClaims>) -> String {
    c.sub.clone()
}

async fn maybe(c: Option<Claims<MyClaims>>) -> String {
    c.map_or_else(|| "anonymous".to_owned(), |c| c.sub.clone())
}

async fn admin(token: VerifiedToken) -> Result<&'static str, AuthRejection> {
    token.require_scope("admin")?;
    Ok("admin ok")
}

struct Unavailable;

impl KeyResolver for Unavailable {
    fn resolve(&self, _: &KeyQuery<'_>) -> Result<Key, AuthError> {
        Err(AuthError::new(ErrorKind::KeysUnavailable))
    }
}

fn app(limiter_clock: ManualClock) -> Router {
    let layer = JwtAuthLayer::new(rsa().verifier()).realm("orders").resource_metadata(META);
    let x_token = HeaderName::from_static("x-access-token");
    let unavailable =
        Verifier::builder(Unavailable).issuer(ISS).audience(AUD).algorithms([Algorithm::RS256]).build().unwrap();
    let metadata = ProtectedResourceMetadata::new("http://127.0.0.1").authorization_server(ISS);
    let limiter = FailureRateLimitLayer::new(NonZeroU32::new(3).unwrap(), LIMIT_WINDOW)
        .unwrap()
        .clock(limiter_clock)
        .client_key(ConnectInfoKey);

    let protected = Router::new().route("/me", get(me)).route("/admin", get(admin)).route_layer(layer.clone());
    let optional = Router::new().route("/maybe", get(maybe)).route_layer(layer.clone().optional());
    let cookie_first = Router::new()
        .route("/cookie-first", get(me))
        .route_layer(layer.clone().token_sources(TokenSources::cookie("session").then_bearer()));
    let header =
        Router::new().route("/header", get(me)).route_layer(layer.clone().token_sources(TokenSources::header(x_token)));
    let query =
        Router::new().route("/query", get(me)).route_layer(layer.clone().token_sources(TokenSources::query("token")));
    let down = Router::new().route("/down", get(me)).route_layer(JwtAuthLayer::new(unavailable));
    let limited =
        Router::new().route("/limited", get(me)).route_layer(JwtAuthLayer::new(rsa().verifier())).route_layer(limiter);
    Router::new()
        .merge(protected)
        .merge(optional)
        .merge(cookie_first)
        .merge(header)
        .merge(query)
        .merge(down)
        .merge(limited)
        .route("/public", get(|| async { "public" }))
        .route("/forgot", get(me)) // no layer: a 500
        .route_service(WELL_KNOWN_PATH, metadata.into_service())
}

async fn serve() -> String {
    serve_with(ManualClock::new()).await
}

/// Serves the app, its failure limiter on `limiter_clock`.
async fn serve_with(limiter_clock: ManualClock) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app(limiter_clock).into_make_service_with_connect_info::<SocketAddr>()).await.unwrap();
    });
    format!("http://{addr}")
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

fn www(response: &reqwest::Response) -> Option<String> {
    response.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_owned())
}

#[tokio::test]
async fn every_status_and_challenge_over_http() {
    let base = serve().await;
    let c = client();
    let good = rsa().token(&claims("alice"));
    let get = |path: &str| c.get(format!("{base}{path}"));

    let r = get("/public").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    let r = get("/me").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(www(&r).unwrap(), format!(r#"Bearer realm="orders", resource_metadata="{META}""#));

    let r = get("/me").bearer_auth(&good).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.text().await.unwrap(), "alice");

    let mut expired = claims("alice");
    expired["exp"] = (common::now() - 600).into();
    let r = get("/me").bearer_auth(rsa().token(&expired)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        www(&r).unwrap(),
        format!(
            r#"Bearer realm="orders", error="invalid_token", error_description="the access token expired", resource_metadata="{META}""#
        )
    );

    let r = get("/me").bearer_auth(es256().token(&claims("alice"))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(www(&r).unwrap().contains(r#"error="invalid_token""#));

    let r = get("/me")
        .header("authorization", format!("Bearer {good}"))
        .header("authorization", format!("Bearer {good}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        www(&r).unwrap(),
        format!(
            r#"Bearer realm="orders", error="invalid_request", error_description="the request carrying the token is malformed", resource_metadata="{META}""#
        )
    );

    let r = get("/admin").bearer_auth(&good).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        www(&r).unwrap(),
        format!(
            r#"Bearer realm="orders", error="insufficient_scope", error_description="the access token lacks the required scope", scope="admin", resource_metadata="{META}""#
        )
    );
    let mut admin_claims = claims("root");
    admin_claims["scope"] = "admin".into();
    let r = get("/admin").bearer_auth(rsa().token(&admin_claims)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    let r = get("/down").bearer_auth(&good).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.headers()["retry-after"], "5");
    assert_eq!(www(&r), None);

    let r = get("/nowhere").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND, "route_layer keeps a 404 a 404");

    let r = get("/forgot").bearer_auth(&good).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(r.text().await.unwrap().contains("JwtAuthLayer was forgotten"));

    let r = get(WELL_KNOWN_PATH).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let json: serde_json::Value = r.json_text().await;
    assert_eq!(json["authorization_servers"][0], ISS);
}

trait JsonText {
    async fn json_text(self) -> serde_json::Value;
}

impl JsonText for reqwest::Response {
    async fn json_text(self) -> serde_json::Value {
        serde_json::from_str(&self.text().await.unwrap()).unwrap()
    }
}

#[tokio::test]
async fn optional_mode_over_http() {
    let base = serve().await;
    let c = client();
    let r = c.get(format!("{base}/maybe")).send().await.unwrap();
    assert_eq!((r.status(), r.text().await.unwrap()), (StatusCode::OK, "anonymous".to_owned()));
    let r = c.get(format!("{base}/maybe")).bearer_auth(rsa().token(&claims("bob"))).send().await.unwrap();
    assert_eq!((r.status(), r.text().await.unwrap()), (StatusCode::OK, "bob".to_owned()));
    let r = c.get(format!("{base}/maybe")).bearer_auth("a.b.c").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn each_token_source_and_cookie_header_precedence_over_http() {
    let base = serve().await;
    let c = client();
    let alice = rsa().token(&claims("alice"));
    let bob = rsa().token(&claims("bob"));
    let text = |r: reqwest::Response| async move { (r.status(), r.text().await.unwrap()) };
    let ok = |who: &str| (StatusCode::OK, who.to_owned());

    let r = c.get(format!("{base}/cookie-first")).header("cookie", format!("session={alice}")).send().await;
    assert_eq!(text(r.unwrap()).await, ok("alice"));
    let r = c.get(format!("{base}/cookie-first")).bearer_auth(&bob).send().await;
    assert_eq!(text(r.unwrap()).await, ok("bob"));
    let r = c
        .get(format!("{base}/cookie-first"))
        .header("cookie", format!("lang=en; session={alice}"))
        .bearer_auth(&bob)
        .send()
        .await;
    // Both: more than one method is invalid_request (RFC 6750 section 2), not "first wins".
    let r = r.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(www(&r).unwrap().contains(r#"error="invalid_request""#));
    // /me reads only the Authorization header: the cookie is ignored.
    let r = c.get(format!("{base}/me")).header("cookie", format!("session={alice}")).bearer_auth(&bob).send().await;
    assert_eq!(text(r.unwrap()).await, ok("bob"));

    let r = c.get(format!("{base}/header")).header("x-access-token", &alice).send().await;
    assert_eq!(text(r.unwrap()).await, ok("alice"));
    let r = c.get(format!("{base}/header")).bearer_auth(&alice).send().await;
    assert_eq!(r.unwrap().status(), StatusCode::UNAUTHORIZED);

    let r = c.get(format!("{base}/query?token={alice}")).send().await;
    assert_eq!(text(r.unwrap()).await, ok("alice"));
    let r = c.get(format!("{base}/me?access_token={alice}")).send().await;
    assert_eq!(r.unwrap().status(), StatusCode::UNAUTHORIZED, "the query is off by default");
}

#[tokio::test]
async fn rate_limiting_turns_into_429_and_back_over_http() {
    let clock = ManualClock::new();
    let base = serve_with(clock.clone()).await;
    let c = client();
    let good = rsa().token(&claims("alice"));
    let mut bad = good.clone();
    bad.truncate(good.len() - 4);
    bad.push_str("AAAA");
    let url = format!("{base}/limited");
    for _ in 0..3 {
        let r = c.get(&url).bearer_auth(&bad).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let r = c.get(&url).bearer_auth(&good).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers()["retry-after"], "20");
    // Other routes are not limited (the limiter is on /limited only).
    assert_eq!(c.get(format!("{base}/me")).bearer_auth(&good).send().await.unwrap().status(), StatusCode::OK);

    clock.advance(LIMIT_WINDOW / 3 - Duration::from_secs(1));
    let r = c.get(&url).bearer_auth(&good).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers()["retry-after"], "1");
    clock.advance(Duration::from_secs(1));
    let r = c.get(&url).bearer_auth(&good).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.text().await.unwrap(), "alice");
}
