//! The saas example over real sockets: its router served on `127.0.0.1:0`, a real HTTP
//! client, two tenants' dev issuers on the same server, each issuer's keys arriving
//! through its own JWKS cache by discovery. Every row of the example's route table, each
//! rejection with its exact status, `WWW-Authenticate` and body.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

#[allow(dead_code)]
#[path = "../examples/saas.rs"]
mod saas;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::{Method, StatusCode};
use saas::{Config, Running};
use serde_json::{Value, json};
use tokio::net::TcpListener;

const MISSING: &str = r#"Bearer realm="saas""#;
const PROBLEM: &str = "application/problem+json";

async fn serve(config: Config) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    saas::start(listener, config).await.unwrap()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(10)).build().unwrap()
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

#[derive(Debug)]
struct Reply {
    status: StatusCode,
    www_authenticate: Option<String>,
    content_type: Option<String>,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {:?}", self.body))
    }

    /// Asserts a 403/401 problem body: exact members.
    fn assert_problem(&self, status: StatusCode, detail: &str, policy: &str) {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(self.content_type.as_deref(), Some(PROBLEM), "{self:?}");
        assert_eq!(
            self.json(),
            json!({
                "type": "about:blank",
                "title": status.canonical_reason().unwrap(),
                "status": status.as_u16(),
                "detail": detail,
                "policy": policy,
            }),
            "{self:?}"
        );
    }
}

async fn call(method: Method, base: &str, path: &str, token: Option<&str>) -> Reply {
    let mut request = client().request(method, format!("{base}{path}"));
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = request.send().await.unwrap();
    let header = |name: &str| response.headers().get(name).map(|v| v.to_str().unwrap().to_owned());
    let (status, www_authenticate, content_type) =
        (response.status(), header("www-authenticate"), header("content-type"));
    Reply { status, www_authenticate, content_type, body: response.text().await.unwrap() }
}

async fn get(base: &str, path: &str, token: &str) -> Reply {
    call(Method::GET, base, path, Some(token)).await
}

/// Mints a token the way the printed curl commands do: `POST {issuer}/dev/token`.
async fn mint(base: &str, tenant: &str, body: Value) -> String {
    let url = format!("{base}/issuers/{tenant}/dev/token");
    let response = client().post(url).body(body.to_string()).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

/// An acme user in eu-west-1 with `extra` claims.
fn acme(extra: Value) -> Value {
    let mut body = json!({"sub": "alice", "tenant_id": "acme", "region": "eu-west-1"});
    body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    body
}

const INSUFFICIENT_SCOPE: &str = "the access token lacks the required scope";

fn scope_challenge(scope: &str) -> String {
    format!(r#"Bearer error="insufficient_scope", scope="{scope}""#)
}

#[tokio::test]
async fn get_orders_needs_orders_read() {
    let running = serve(Config::embedded()).await;
    let base = running.base_url.as_str();

    let alice = mint(base, "acme", acme(json!({"scope": "orders:read"}))).await;
    let reply = get(base, "/t/acme/orders", &alice).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(reply.www_authenticate, None);
    let body = reply.json();
    assert_eq!((body["tenant"].as_str(), body["sub"].as_str()), (Some("acme"), Some("alice")));

    let no_scope = mint(base, "acme", acme(json!({"scope": "orders:write"}))).await;
    let reply = get(base, "/t/acme/orders", &no_scope).await;
    reply.assert_problem(StatusCode::FORBIDDEN, INSUFFICIENT_SCOPE, "scope");
    assert_eq!(reply.www_authenticate, Some(scope_challenge("orders:read")));

    // No token, a bad token: the authentication layer's 401s.
    let reply = call(Method::GET, base, "/t/acme/orders", None).await;
    assert_eq!((reply.status, reply.www_authenticate.as_deref()), (StatusCode::UNAUTHORIZED, Some(MISSING)));
    let reply = get(base, "/t/acme/orders", &format!("{alice}x")).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(reply.www_authenticate.unwrap().starts_with(r#"Bearer realm="saas", error="invalid_token""#));
    // route_layer: an unknown path stays a 404.
    assert_eq!(get(base, "/t/acme/nope", &alice).await.status, StatusCode::NOT_FOUND);
    running.server.abort();
}

#[tokio::test]
async fn post_orders_needs_orders_write_and_a_recent_authentication() {
    let running = serve(Config::embedded()).await;
    let base = running.base_url.as_str();
    let post = |token: String| async move { call(Method::POST, base, "/t/acme/orders", Some(&token)).await };

    let fresh = mint(base, "acme", acme(json!({"scope": "orders:write", "auth_time": now() - 10}))).await;
    let reply = post(fresh).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(reply.json()["tenant"], "acme");

    // Scope first: a read-only token with a fresh authentication is 403.
    let read_only = mint(base, "acme", acme(json!({"scope": "orders:read", "auth_time": now() - 10}))).await;
    let reply = post(read_only).await;
    reply.assert_problem(StatusCode::FORBIDDEN, INSUFFICIENT_SCOPE, "scope");
    assert_eq!(reply.www_authenticate, Some(scope_challenge("orders:write")));

    // Authenticated an hour ago: RFC 9470 step-up, 401 with max_age.
    let old = mint(base, "acme", acme(json!({"scope": "orders:write", "auth_time": now() - 3600}))).await;
    let reply = post(old).await;
    reply.assert_problem(StatusCode::UNAUTHORIZED, "the user authentication is too old", "zero_trust");
    assert_eq!(
        reply.www_authenticate.as_deref(),
        Some(r#"Bearer error="insufficient_user_authentication", max_age="300""#)
    );

    // No auth_time: the age is taken from iat (just now): allowed.
    let no_auth_time = mint(base, "acme", acme(json!({"scope": "orders:write"}))).await;
    assert_eq!(post(no_auth_time).await.status, StatusCode::OK);
    running.server.abort();
}

#[tokio::test]
async fn admin_needs_the_admin_scope_or_role_and_the_acr() {
    let running = serve(Config::embedded()).await;
    let base = running.base_url.as_str();

    for extra in [json!({"scope": "admin", "acr": "mfa"}), json!({"roles": ["admin"], "acr": "mfa"})] {
        let token = mint(base, "acme", acme(extra.clone())).await;
        let reply = get(base, "/t/acme/admin", &token).await;
        assert_eq!(reply.status, StatusCode::OK, "{extra}: {reply:?}");
        assert_eq!(reply.json()["sub"], "alice");
    }

    // Neither the scope nor the role: 403 (the scope alternative is named).
    let user = mint(base, "acme", acme(json!({"scope": "orders:read", "roles": ["viewer"], "acr": "mfa"}))).await;
    let reply = get(base, "/t/acme/admin", &user).await;
    reply.assert_problem(StatusCode::FORBIDDEN, INSUFFICIENT_SCOPE, "scope");
    assert_eq!(reply.www_authenticate, Some(scope_challenge("admin")));

    // The role but no acr, or another acr: step-up, 401 with acr_values.
    for extra in [json!({"roles": ["admin"]}), json!({"roles": ["admin"], "acr": "pwd"})] {
        let token = mint(base, "acme", acme(extra.clone())).await;
        let reply = get(base, "/t/acme/admin", &token).await;
        reply.assert_problem(StatusCode::UNAUTHORIZED, "a stronger user authentication is required", "zero_trust");
        assert_eq!(
            reply.www_authenticate.as_deref(),
            Some(r#"Bearer error="insufficient_user_authentication", acr_values="mfa""#),
            "{extra}"
        );
    }
    running.server.abort();
}

#[tokio::test]
async fn reports_limit_the_delegation_chain() {
    let running = serve(Config::embedded()).await;
    let base = running.base_url.as_str();
    let reports = |extra: Value| {
        let mut body = acme(json!({"scope": "reports:read"}));
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        body
    };

    // Not delegated: allowed, no actors.
    let direct = mint(base, "acme", reports(json!({}))).await;
    let reply = get(base, "/t/acme/reports", &direct).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(reply.json()["actors"], json!([]));

    // Two deep, both allowed: the chain in the body, current actor first.
    let two = json!({"sub": "reporting-service", "act": {"sub": "reporting-service"}});
    let token = mint(base, "acme", reports(json!({"act": two}))).await;
    let reply = get(base, "/t/acme/reports", &token).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(reply.json()["actors"], json!(["reporting-service", "reporting-service"]));
    assert_eq!(reply.json()["sub"], "alice");

    // Three deep: 403.
    let three =
        json!({"sub": "reporting-service", "act": {"sub": "reporting-service", "act": {"sub": "reporting-service"}}});
    let token = mint(base, "acme", reports(json!({"act": three}))).await;
    let reply = get(base, "/t/acme/reports", &token).await;
    reply.assert_problem(StatusCode::FORBIDDEN, "the delegation chain is too deep", "delegation");
    assert_eq!(reply.www_authenticate, None);

    // An actor not allowed, current or earlier: 403.
    for act in [json!({"sub": "intruder"}), json!({"sub": "reporting-service", "act": {"sub": "intruder"}})] {
        let token = mint(base, "acme", reports(json!({"act": act}))).await;
        let reply = get(base, "/t/acme/reports", &token).await;
        reply.assert_problem(StatusCode::FORBIDDEN, "an actor in the delegation chain is not allowed", "delegation");
    }

    // Without reports:read: 403 insufficient_scope.
    let token = mint(base, "acme", acme(json!({"scope": "orders:read"}))).await;
    let reply = get(base, "/t/acme/reports", &token).await;
    reply.assert_problem(StatusCode::FORBIDDEN, INSUFFICIENT_SCOPE, "scope");
    assert_eq!(reply.www_authenticate, Some(scope_challenge("reports:read")));
    running.server.abort();
}

#[tokio::test]
async fn tenants_do_not_mix() {
    let running = serve(Config::embedded()).await;
    let base = running.base_url.as_str();
    let everything = "orders:read orders:write admin reports:read";

    // A token of tenant acme on globex's routes, every route: 403 saying tenant_id.
    let alice = mint(base, "acme", acme(json!({"scope": everything, "acr": "mfa", "auth_time": now()}))).await;
    for (method, path) in [
        (Method::GET, "/t/globex/orders"),
        (Method::POST, "/t/globex/orders"),
        (Method::GET, "/t/globex/admin"),
        (Method::GET, "/t/globex/reports"),
    ] {
        let reply = call(method, base, path, Some(&alice)).await;
        reply.assert_problem(
            StatusCode::FORBIDDEN,
            "the token's tenant_id does not match the requested tenant",
            "tenant",
        );
        assert_eq!(reply.www_authenticate, None, "{path}");
    }
    // A tenant that does not exist, even with a matching tenant_id.
    let initech =
        mint(base, "acme", json!({"sub": "i", "tenant_id": "initech", "region": "eu-west-1", "scope": everything}))
            .await;
    let reply = get(base, "/t/initech/orders", &initech).await;
    reply.assert_problem(StatusCode::FORBIDDEN, "the requested tenant is unknown", "tenant");

    // `tenant_id: globex` signed by acme's issuer: 403 saying the issuer.
    let forged = mint(
        base,
        "acme",
        json!({"sub": "mallory", "tenant_id": "globex", "region": "eu-west-1", "scope": everything}),
    )
    .await;
    let reply = get(base, "/t/globex/orders", &forged).await;
    reply.assert_problem(StatusCode::FORBIDDEN, "the token was not issued by the requested tenant's issuer", "tenant");

    // globex's own token on globex's route: 200; on acme's: 403.
    let bob = mint(
        base,
        "globex",
        json!({"sub": "bob", "tenant_id": "globex", "region": "eu-west-1", "scope": "orders:read"}),
    )
    .await;
    let reply = get(base, "/t/globex/orders", &bob).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!((reply.json()["tenant"].as_str(), reply.json()["sub"].as_str()), (Some("globex"), Some("bob")));
    let reply = get(base, "/t/acme/orders", &bob).await;
    reply.assert_problem(StatusCode::FORBIDDEN, "the token's tenant_id does not match the requested tenant", "tenant");

    // A token claiming globex's issuer but signed with acme's key never verifies: 401.
    let dev_acme = &running.devs.iter().find(|(t, _)| t == "acme").unwrap().1;
    let globex_issuer = &running.tenant_issuers.iter().find(|(t, _)| t == "globex").unwrap().1;
    let mut claims = serde_json::Map::new();
    for (k, v) in [("tenant_id", "globex"), ("region", "eu-west-1"), ("scope", "orders:read")] {
        claims.insert(k.into(), v.into());
    }
    let acme_keys_globex_iss =
        tokengate_issuer::TokenMinter::builder(dev_acme.minter().signers().clone(), globex_issuer)
            .audience(saas::DEFAULT_AUDIENCE)
            .build()
            .unwrap();
    let spoofed = acme_keys_globex_iss.token().subject("mallory").claims(claims).unwrap().sign().await.unwrap();
    let reply = get(base, "/t/globex/orders", &spoofed).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{reply:?}");
    assert!(reply.www_authenticate.unwrap().starts_with(r#"Bearer realm="saas", error="invalid_token""#));
    running.server.abort();
}

#[tokio::test]
async fn regions_and_failover() {
    let running = serve(Config::embedded()).await;
    let base = running.base_url.as_str();
    let us =
        mint(base, "acme", json!({"sub": "alice", "tenant_id": "acme", "region": "us-east-1", "scope": "orders:read"}))
            .await;
    let reply = get(base, "/t/acme/orders", &us).await;
    reply.assert_problem(StatusCode::FORBIDDEN, "the token's region is not served here", "region");
    let nowhere = mint(base, "acme", json!({"sub": "alice", "tenant_id": "acme", "scope": "orders:read"})).await;
    let reply = get(base, "/t/acme/orders", &nowhere).await;
    reply.assert_problem(StatusCode::FORBIDDEN, "the token names no region", "region");
    running.server.abort();

    // Once us-east-1 is a failover region, the same kind of token passes.
    let config =
        Config::from_vars(|name| (name == "TOKENGATE_FAILOVER_REGIONS").then(|| " us-east-1, ap-south-1 ".into()))
            .unwrap();
    assert_eq!(config.failover_regions, ["us-east-1", "ap-south-1"]);
    let running = serve(config).await;
    let base = running.base_url.as_str();
    let us =
        mint(base, "acme", json!({"sub": "alice", "tenant_id": "acme", "region": "us-east-1", "scope": "orders:read"}))
            .await;
    assert_eq!(get(base, "/t/acme/orders", &us).await.status, StatusCode::OK);
    let eu = mint(base, "acme", acme(json!({"scope": "orders:read"}))).await;
    assert_eq!(get(base, "/t/acme/orders", &eu).await.status, StatusCode::OK);
    let other =
        mint(base, "acme", json!({"sub": "a", "tenant_id": "acme", "region": "sa-east-1", "scope": "orders:read"}))
            .await;
    assert_eq!(get(base, "/t/acme/orders", &other).await.status, StatusCode::FORBIDDEN);
    running.server.abort();
}

#[tokio::test]
async fn the_environment_configures_the_policies() {
    let vars = |name: &str| {
        match name {
            "TOKENGATE_REGION" => Some("us-east-1"),
            "TOKENGATE_MAX_AUTH_AGE_SECS" => Some("60"),
            "TOKENGATE_ACR" => Some("phr"),
            "TOKENGATE_ALLOWED_ACTORS" => Some("batch, exporter"),
            "TOKENGATE_AUDIENCE" => Some("other-api"),
            _ => None,
        }
        .map(str::to_owned)
    };
    let config = Config::from_vars(vars).unwrap();
    let running = serve(config).await;
    let base = running.base_url.as_str();
    let user = |extra: Value| {
        let mut body = json!({"sub": "u", "tenant_id": "acme", "region": "us-east-1"});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        body
    };
    // Audience other-api: the dev issuers mint for it and the API accepts it.
    let old = mint(base, "acme", user(json!({"scope": "orders:write", "auth_time": now() - 120}))).await;
    let reply = call(Method::POST, base, "/t/acme/orders", Some(&old)).await;
    assert_eq!(
        reply.www_authenticate.as_deref(),
        Some(r#"Bearer error="insufficient_user_authentication", max_age="60""#)
    );
    let admin = mint(base, "acme", user(json!({"roles": ["admin"], "acr": "mfa"}))).await;
    let reply = get(base, "/t/acme/admin", &admin).await;
    assert_eq!(
        reply.www_authenticate.as_deref(),
        Some(r#"Bearer error="insufficient_user_authentication", acr_values="phr""#)
    );
    let exporter = mint(base, "acme", user(json!({"scope": "reports:read", "act": {"sub": "exporter"}}))).await;
    assert_eq!(get(base, "/t/acme/reports", &exporter).await.status, StatusCode::OK);
    let reporting =
        mint(base, "acme", user(json!({"scope": "reports:read", "act": {"sub": "reporting-service"}}))).await;
    assert_eq!(get(base, "/t/acme/reports", &reporting).await.status, StatusCode::FORBIDDEN);
    running.server.abort();

    for (name, value) in [
        ("TOKENGATE_MAX_AUTH_AGE_SECS", "5m"),
        ("TOKENGATE_ALGORITHMS", "HS999"),
        ("TOKENGATE_TENANT_ISSUERS", "acme"),
        ("TOKENGATE_TENANT_ISSUERS", "acme=ftp://x"),
        ("TOKENGATE_TENANT_ISSUERS", "acme=http://a,acme=http://b"),
    ] {
        let result = Config::from_vars(|n| (n == name).then(|| value.to_owned()));
        assert!(result.is_err(), "{name}={value}");
    }
}

#[tokio::test]
async fn external_tenant_issuers_by_discovery() {
    // Two dev issuers on their own server play the external identity providers.
    let idp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let idp_base = format!("http://{}", idp.local_addr().unwrap());
    let issuer = |tenant: &str| {
        tokengate_issuer::DevIssuer::builder(format!("{idp_base}/{tenant}")).audience("saas-api").build().unwrap()
    };
    let (acme_idp, globex_idp) = (issuer("acme"), issuer("globex"));
    let app = acme_idp.mounted_router::<()>().merge(globex_idp.mounted_router());
    let idp_server = tokio::spawn(async move { axum::serve(idp, app).await });

    let map = format!("acme={},globex={}", acme_idp.issuer(), globex_idp.issuer());
    let config = Config::from_vars(|name| (name == "TOKENGATE_TENANT_ISSUERS").then(|| map.clone())).unwrap();
    let running = serve(config).await;
    assert!(running.devs.is_empty());
    let base = running.base_url.as_str();
    // No embedded issuers on the API server.
    let reply = client().post(format!("{base}/issuers/acme/dev/token")).body("{}").send().await.unwrap();
    assert_eq!(reply.status(), StatusCode::NOT_FOUND);

    let request = |sub: &str, tenant: &str| tokengate_issuer::DevTokenRequest {
        tenant_id: Some(tenant.into()),
        region: Some("eu-west-1".into()),
        scope: Some("orders:read".into()),
        ..tokengate_issuer::DevTokenRequest::new(sub)
    };
    let bob = globex_idp.mint(&request("bob", "globex")).await.unwrap().access_token;
    assert_eq!(get(base, "/t/globex/orders", &bob).await.status, StatusCode::OK);
    let forged = acme_idp.mint(&request("mallory", "globex")).await.unwrap().access_token;
    let reply = get(base, "/t/globex/orders", &forged).await;
    reply.assert_problem(StatusCode::FORBIDDEN, "the token was not issued by the requested tenant's issuer", "tenant");
    running.server.abort();
    idp_server.abort();
}

#[test]
fn the_printed_commands_cover_each_rejection() {
    let out = saas::curl_commands("http://127.0.0.1:3001", &Config::embedded());
    for needle in [
        "http://127.0.0.1:3001/issuers/acme/dev/token",
        "curl -i -H \"Authorization: Bearer $TOKEN\" http://127.0.0.1:3001/t/acme/orders",
        "http://127.0.0.1:3001/t/globex/orders",
        "max_age=\"300\"",
        "acr_values=\"mfa\"",
        "scope=\"admin\"",
        "us-east-1",
        "intruder",
    ] {
        assert!(out.contains(needle), "{needle} missing from:\n{out}");
    }
    assert_eq!(saas::DEFAULT_BIND, "127.0.0.1:3001");
}
