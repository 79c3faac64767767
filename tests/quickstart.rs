//! The quickstart over real sockets: its router served on `127.0.0.1:0`, a real HTTP
//! client, the API's keys arriving through the JWKS cache over HTTP from the dev issuer
//! (or from an "external" issuer on another port). Every route, every status and every
//! `WWW-Authenticate` value the quickstart prints.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

#[allow(dead_code)]
#[path = "../examples/quickstart.rs"]
mod quickstart;

use std::time::Duration;

use quickstart::{Config, Running};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokengate::Algorithm;
use tokengate_issuer::{DevIssuer, LocalSigner};
use tokio::net::TcpListener;

const MISSING: &str = r#"Bearer realm="quickstart""#;

async fn serve(config: Config) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    quickstart::start(listener, config).await.unwrap()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(10)).build().unwrap()
}

struct Reply {
    status: StatusCode,
    www_authenticate: Option<String>,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

async fn get(base: &str, path: &str, token: Option<&str>) -> Reply {
    let mut request = client().get(format!("{base}{path}"));
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let www_authenticate = response.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_owned());
    Reply { status, www_authenticate, body: response.text().await.unwrap() }
}

/// Mints a token the way the printed curl command does: `POST /dev/token`.
async fn mint(base: &str, body: Value) -> String {
    let response = client().post(format!("{base}/dev/token")).body(body.to_string()).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(body["token_type"], "Bearer");
    body["access_token"].as_str().unwrap().to_owned()
}

fn invalid_token(description: &str) -> String {
    format!(r#"Bearer realm="quickstart", error="invalid_token", error_description="{description}""#)
}

#[tokio::test]
async fn every_route_answers_as_printed() {
    let running = serve(Config::embedded()).await;
    let base = running.base_url.as_str();
    let alice = mint(base, json!({"sub": "alice", "scope": "orders:read", "tenant_id": "acme", "region": "eu"})).await;

    // GET /public: no token needed.
    let reply = get(base, "/public", None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.www_authenticate, None);

    // No token: 401 with a bare challenge (RFC 6750 section 3.1: no error code).
    for path in ["/me", "/admin", "/tenants/acme/orders"] {
        let reply = get(base, path, None).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(reply.www_authenticate.as_deref(), Some(MISSING), "{path}");
        assert_eq!(
            reply.json(),
            json!({"type": "about:blank", "title": "Unauthorized", "status": 401, "detail": "no access token was presented"}),
            "{path}"
        );
    }

    // GET /me: the verified claims.
    let reply = get(base, "/me", Some(&alice)).await;
    assert_eq!(reply.status, StatusCode::OK);
    let claims = reply.json();
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["iss"], running.issuer);
    assert_eq!(claims["aud"], quickstart::DEFAULT_AUDIENCE);
    assert_eq!(claims["tenant_id"], "acme");
    assert_eq!(claims["region"], "eu");
    assert_eq!(claims["scope"], "orders:read");

    // GET /admin without scope admin: 403 insufficient_scope, naming the scope.
    let reply = get(base, "/admin", Some(&alice)).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(
        reply.www_authenticate.as_deref(),
        Some(
            r#"Bearer realm="quickstart", error="insufficient_scope", error_description="the access token lacks the required scope", scope="admin""#
        )
    );
    let root = mint(base, json!({"sub": "root", "scope": "orders:read admin"})).await;
    let reply = get(base, "/admin", Some(&root)).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["sub"], "root");

    // GET /tenants/{tenant}/orders: only the token's own tenant.
    let reply = get(base, "/tenants/acme/orders", Some(&alice)).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["tenant"], "acme");
    let reply = get(base, "/tenants/globex/orders", Some(&alice)).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.www_authenticate.as_deref(), Some(MISSING));
    // The 403 says why, as an RFC 9457 problem.
    assert_eq!(
        reply.json(),
        json!({"type": "about:blank", "title": "Forbidden", "status": 403, "detail": quickstart::TENANT_MISMATCH})
    );
    let reply = get(base, "/tenants/acme/orders", Some(&root)).await; // no tenant_id at all
    assert_eq!(reply.status, StatusCode::FORBIDDEN);

    // route_layer: an unknown path is a 404, not a 401.
    assert_eq!(get(base, "/nope", None).await.status, StatusCode::NOT_FOUND);
    assert_eq!(get(base, "/tenants/acme", Some(&alice)).await.status, StatusCode::NOT_FOUND);

    running.server.abort();
}

#[tokio::test]
async fn bad_tokens_are_401_invalid_token() {
    let running = serve(Config::embedded()).await;
    let base = running.base_url.as_str();
    let dev = running.dev.clone().unwrap();
    let token = mint(base, json!({"sub": "alice"})).await;

    // Tampered signature (as the printed curl command does).
    let reply = get(base, "/me", Some(&format!("{token}x"))).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(reply.www_authenticate.unwrap().starts_with(r#"Bearer realm="quickstart", error="invalid_token""#));

    // Not a JWT at all.
    let reply = get(base, "/me", Some("not-a-jwt")).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.www_authenticate.as_deref(), Some(invalid_token("the access token is malformed").as_str()));

    // Expired.
    let old = dev.minter().token().subject("alice").issued_at(1_700_000_000).sign().await.unwrap();
    let reply = get(base, "/me", Some(&old)).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.www_authenticate.as_deref(), Some(invalid_token("the access token expired").as_str()));
    assert_eq!(
        reply.json(),
        json!({"type": "about:blank", "title": "Unauthorized", "status": 401, "detail": "the access token expired"})
    );

    // Another audience.
    let other = dev.minter().token().subject("alice").audiences(["billing"]).sign().await.unwrap();
    let reply = get(base, "/me", Some(&other)).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.www_authenticate.as_deref(), Some(invalid_token("the token's audience is not accepted").as_str()));

    // Same issuer name, a key the JWKS does not publish.
    let impostor = DevIssuer::builder(running.issuer.clone())
        .audience(quickstart::DEFAULT_AUDIENCE)
        .signer(LocalSigner::generate(Algorithm::ES256).unwrap())
        .build()
        .unwrap();
    let forged = impostor.minter().token().subject("alice").sign().await.unwrap();
    let reply = get(base, "/me", Some(&forged)).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(reply.www_authenticate.unwrap().contains(r#"error="invalid_token""#));

    // An algorithm outside the allowlist (EdDSA), even with a published key of its own.
    let eddsa = DevIssuer::builder(running.issuer.clone())
        .audience(quickstart::DEFAULT_AUDIENCE)
        .signer(LocalSigner::generate(Algorithm::EdDSA).unwrap())
        .build()
        .unwrap();
    let token = eddsa.minter().token().subject("alice").sign().await.unwrap();
    let reply = get(base, "/me", Some(&token)).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        reply.www_authenticate.as_deref(),
        Some(invalid_token("the token's algorithm is not accepted").as_str())
    );

    running.server.abort();
}

#[tokio::test]
async fn the_dev_issuer_is_served_next_to_the_api() {
    let running = serve(Config::embedded()).await;
    let base = running.base_url.as_str();

    let discovery = get(base, "/.well-known/openid-configuration", None).await;
    assert_eq!(discovery.status, StatusCode::OK);
    let discovery = discovery.json();
    assert_eq!(discovery["issuer"], base);
    assert_eq!(discovery["jwks_uri"], format!("{base}/.well-known/jwks.json"));

    let response = client().get(format!("{base}/.well-known/jwks.json")).send().await.unwrap();
    assert_eq!(response.headers()["cache-control"], "public, max-age=300");
    let jwks: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(jwks["keys"][0]["alg"], "ES256");

    let response = client().post(format!("{base}/dev/token")).body(r#"{"sub":""}"#).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let response = client().post(format!("{base}/dev/token")).body(r#"{"sub":"a","ttl_secs":0}"#).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    running.server.abort();
}

#[tokio::test]
async fn a_required_typ_is_enforced() {
    let config = Config { typ: Some("at+jwt".into()), ..Config::embedded() };
    let running = serve(config).await;
    let base = running.base_url.as_str();
    let dev = running.dev.clone().unwrap();

    let token = mint(base, json!({"sub": "alice"})).await; // the dev issuer writes typ at+jwt
    assert_eq!(get(base, "/me", Some(&token)).await.status, StatusCode::OK);
    let plain = dev.minter().token().subject("alice").typ("JWT").sign().await.unwrap();
    let reply = get(base, "/me", Some(&plain)).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.www_authenticate.as_deref(), Some(invalid_token("the token's type is not accepted").as_str()));

    running.server.abort();
}

/// An "external" identity provider: a dev issuer on its own port, standing in for a
/// real one. The quickstart is configured with `TOKENGATE_*` variables only.
async fn external_issuer() -> (DevIssuer, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let dev = DevIssuer::builder(issuer)
        .audience("orders-api")
        .signer(LocalSigner::generate(Algorithm::RS256).unwrap())
        .build()
        .unwrap();
    let app: axum::Router = dev.router();
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (dev, server)
}

#[tokio::test]
async fn an_external_issuer_is_found_by_discovery() {
    let (idp, idp_server) = external_issuer().await;
    let vars = [("TOKENGATE_ISSUER", idp.issuer().to_owned()), ("TOKENGATE_AUDIENCE", "orders-api".to_owned())];
    let config = Config::from_vars(|name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone())).unwrap();
    assert!(config.algorithms.contains(&Algorithm::RS256) && config.algorithms.contains(&Algorithm::EdDSA));
    assert!(!config.algorithms.iter().any(|a| matches!(a, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)));
    let running = serve(config).await;
    let base = running.base_url.as_str();
    assert!(running.dev.is_none());

    // The embedded issuer is off.
    assert_eq!(get(base, "/.well-known/jwks.json", None).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        client().post(format!("{base}/dev/token")).body("{}").send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );

    let token = idp.minter().token().subject("carol").claim("tenant_id", "acme").unwrap().sign().await.unwrap();
    let reply = get(base, "/me", Some(&token)).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["iss"], idp.issuer());
    assert_eq!(get(base, "/tenants/acme/orders", Some(&token)).await.status, StatusCode::OK);

    running.server.abort();
    idp_server.abort();
}

#[tokio::test]
async fn an_explicit_jwks_url_overrides_discovery() {
    let (idp, idp_server) = external_issuer().await;
    let vars = [
        ("TOKENGATE_ISSUER", idp.issuer().to_owned()),
        ("TOKENGATE_JWKS_URL", idp.jwks_uri()),
        ("TOKENGATE_AUDIENCE", "orders-api".to_owned()),
        ("TOKENGATE_ALGORITHMS", "RS256".to_owned()),
    ];
    let config = Config::from_vars(|name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone())).unwrap();
    let running = serve(config).await;
    let token = idp.minter().token().subject("carol").sign().await.unwrap();
    assert_eq!(get(&running.base_url, "/me", Some(&token)).await.status, StatusCode::OK);
    running.server.abort();
    idp_server.abort();
}

#[tokio::test]
async fn an_unreachable_issuer_fails_the_start() {
    // A port nothing listens on: bind, read the port, close.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    let config =
        Config { issuer: Some(format!("http://{closed}")), audience: "orders-api".into(), ..Config::embedded() };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    assert!(quickstart::start(listener, config).await.is_err());
}

#[test]
fn the_environment_is_read_strictly() {
    let from = |vars: &[(&str, &str)]| {
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Config::from_vars(move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    };
    let embedded = from(&[]).unwrap();
    assert!(embedded.issuer.is_none());
    assert_eq!(embedded.audience, quickstart::DEFAULT_AUDIENCE);
    assert_eq!(embedded.algorithms, [Algorithm::ES256]);
    assert_eq!(embedded.typ, None);

    let external = from(&[
        ("TOKENGATE_ISSUER", "https://idp.example"),
        ("TOKENGATE_AUDIENCE", "orders"),
        ("TOKENGATE_ALGORITHMS", " RS256, PS256 ,,EdDSA"),
        ("TOKENGATE_TYP", "at+jwt"),
    ])
    .unwrap();
    assert_eq!(external.algorithms, [Algorithm::RS256, Algorithm::PS256, Algorithm::EdDSA]);
    assert_eq!(external.typ.as_deref(), Some("at+jwt"));

    assert!(from(&[("TOKENGATE_ISSUER", "https://idp.example")]).is_err(), "audience required");
    assert!(from(&[("TOKENGATE_JWKS_URL", "https://idp.example/jwks")]).is_err(), "issuer required");
    assert!(from(&[("TOKENGATE_ALGORITHMS", "none")]).is_err());
    assert!(from(&[("TOKENGATE_ALGORITHMS", "RS256,HS257")]).is_err());
    assert!(from(&[("TOKENGATE_ALGORITHMS", ",")]).is_err());
    assert!(!embedded.expose_dev_issuer);
    assert!(from(&[("TOKENGATE_EXPOSE_DEV_ISSUER", "1")]).unwrap().expose_dev_issuer);
    assert!(from(&[("TOKENGATE_EXPOSE_DEV_ISSUER", "yes")]).is_err());
    assert_eq!(embedded.verified_cache, quickstart::DEFAULT_VERIFIED_CACHE);
    assert_eq!(from(&[("TOKENGATE_VERIFIED_CACHE", "0")]).unwrap().verified_cache, 0);
    assert_eq!(from(&[("TOKENGATE_VERIFIED_CACHE", " 500 ")]).unwrap().verified_cache, 500);
    assert!(from(&[("TOKENGATE_VERIFIED_CACHE", "-1")]).is_err());
    assert!(from(&[("TOKENGATE_VERIFIED_CACHE", "lots")]).is_err());
}

#[tokio::test]
async fn the_resource_metadata_document_is_served() {
    let running = serve(Config::embedded()).await;
    let base = &running.base_url;
    let reply = get(base, "/.well-known/oauth-protected-resource", None).await;
    assert_eq!(reply.status, StatusCode::OK);
    let document = reply.json();
    assert_eq!(document["resource"], json!(base));
    assert_eq!(document["authorization_servers"], json!([running.issuer]));
    running.server.abort();
}

#[tokio::test]
async fn the_verified_token_cache_is_on_by_default_and_0_turns_it_off() {
    let running = serve(Config::embedded()).await;
    let base = &running.base_url;
    let cache = running.verified_cache.clone().expect("on by default");
    assert_eq!(cache.entry_count(), 0);
    let token = mint(base, json!({"sub": "alice"})).await;
    for _ in 0..3 {
        assert_eq!(get(base, "/me", Some(&token)).await.status, StatusCode::OK);
    }
    assert_eq!(cache.entry_count(), 1, "one token verified, then served from the cache");
    // A refused token is never cached.
    assert_eq!(get(base, "/me", Some(&format!("{token}x"))).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(cache.entry_count(), 1);
    running.server.abort();

    let off = serve(Config { verified_cache: 0, ..Config::embedded() }).await;
    assert!(off.verified_cache.is_none());
    let token = mint(&off.base_url, json!({"sub": "alice"})).await;
    assert_eq!(get(&off.base_url, "/me", Some(&token)).await.status, StatusCode::OK);
    off.server.abort();
}

#[tokio::test]
async fn the_printed_commands_name_every_route() {
    let running = serve(Config::embedded()).await;
    let text = quickstart::curl_commands(&running.base_url, None);
    for needle in ["/public", "/me", "/admin", "/tenants/acme/orders", "/tenants/globex/orders", "/dev/token"] {
        assert!(text.contains(&format!("{}{needle}", running.base_url)), "{needle} missing from:\n{text}");
    }
    let external = quickstart::curl_commands(&running.base_url, Some(("https://idp.example", "orders-api")));
    assert!(external.contains("https://idp.example") && !external.contains("/dev/token"));
    running.server.abort();
}

#[test]
fn the_readme_shows_the_printed_commands() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let printed = quickstart::curl_commands("http://127.0.0.1:3000", None);
    assert!(readme.contains(printed.trim_end()), "README.md's quickstart commands differ from:\n{printed}");
    assert!(readme.contains("cargo run --example quickstart"));
}

#[tokio::test]
async fn the_dev_issuer_is_refused_on_a_non_loopback_address() {
    // Bound on every interface but never connected to: the start is refused first.
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let error = quickstart::start(listener, Config::embedded()).await.err().expect("refused");
    assert!(error.to_string().contains("TOKENGATE_EXPOSE_DEV_ISSUER"), "{error}");
}
