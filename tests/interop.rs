//! Interop with an identity provider we did not write: `oidc-provider` (Node.js), started
//! from `tests/interop/provider.mjs` on a random loopback port and stopped by its PID.
//!
//! Needs Node.js (20 or later) and the provider's packages: `./scripts/test` installs both
//! (`apt-get install nodejs npm`, then `npm ci` in `tests/interop`). Without them the suite
//! fails and says so.
//!
//! Checked: discovery and JWKS through our cache; the provider's RFC 9068 JWT access token
//! accepted by the quickstart's router, and refused for another audience; its opaque
//! token accepted through introspection, then refused once revoked at the provider and
//! the cache TTL passed; with the provider stopped, JWTs still verify on cached keys while
//! opaque tokens get 503; zero-trust mode (JWTs introspected too) against this provider.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, clippy::print_stderr)]

#[allow(dead_code)]
#[path = "../examples/quickstart.rs"]
mod quickstart;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use quickstart::{Config, Running};
use reqwest::StatusCode;
use serde_json::Value;
use tokengate::Verifier;
use tokengate::core::{ASYMMETRIC_ALGORITHMS, ErrorKind, RemoteVerifier};
use tokengate::jwks::JwksCache;
use tokengate_introspection::{ClientAuth, Introspector};
use tokio::net::TcpListener;

const JWT_RESOURCE: &str = "https://api.tokengate.test/jwt";
const OPAQUE_RESOURCE: &str = "https://api.tokengate.test/opaque";
const CLIENT: (&str, &str) = ("interop-client", "interop-client-secret");
const RESOURCE_SERVER: (&str, &str) = ("resource-server", "resource-server-secret");
const HOW_TO_INSTALL: &str = "the interop suite needs Node.js 20+ with npm and the provider's packages: \
     run ./scripts/test, or `apt-get install -y nodejs npm && (cd tests/interop && npm ci)`";

/// The provider process; killed (by its PID) when dropped.
struct Provider {
    child: Child,
    issuer: String,
}

impl Provider {
    fn start() -> Provider {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop");
        let version = match Command::new("node").arg("--version").output() {
            Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).trim().to_owned(),
            _ => panic!("node was not found: {HOW_TO_INSTALL}"),
        };
        let major = version.trim_start_matches('v').split('.').next().and_then(|m| m.parse::<u32>().ok());
        assert!(major.is_some_and(|m| m >= 20), "node {version} is too old: {HOW_TO_INSTALL}");
        assert!(dir.join("node_modules/oidc-provider").is_dir(), "oidc-provider is not installed: {HOW_TO_INSTALL}");
        let mut child = Command::new("node")
            .arg("provider.mjs")
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start node ({e}): {HOW_TO_INSTALL}"));
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        // The first line says the provider is ready; the rest is drained until it exits
        // (a closed pipe would kill the provider at its next log line).
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let _ = tx.send(lines.next().and_then(Result::ok).unwrap_or_default());
            for line in lines.map_while(Result::ok) {
                eprintln!("provider: {line}");
            }
        });
        let line = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(line) if !line.trim().is_empty() => line,
            _ => {
                let _ = child.kill();
                panic!("the provider did not start: {HOW_TO_INSTALL}");
            }
        };
        let ready: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(ready["jwt_resource"], JWT_RESOURCE);
        assert_eq!(ready["opaque_resource"], OPAQUE_RESOURCE);
        Provider { child, issuer: ready["issuer"].as_str().unwrap().to_owned() }
    }

    /// Stops the provider (SIGKILL to its PID) and waits for it.
    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    async fn metadata(&self) -> Value {
        let url = format!("{}/.well-known/openid-configuration", self.issuer);
        serde_json::from_str(&client().get(url).send().await.unwrap().text().await.unwrap()).unwrap()
    }

    /// An access token for `resource` by the client credentials grant.
    async fn token(&self, resource: &str) -> String {
        let endpoint = self.metadata().await["token_endpoint"].as_str().unwrap().to_owned();
        let body = format!("grant_type=client_credentials&scope=orders%3Aread&resource={}", encode(resource));
        let reply: Value = form_post(&endpoint, CLIENT, body).await;
        assert_eq!(reply["token_type"], "Bearer", "{reply}");
        reply["access_token"].as_str().unwrap().to_owned()
    }

    /// Revokes `token` at the provider (RFC 7009).
    async fn revoke(&self, token: &str) {
        let endpoint = self.metadata().await["revocation_endpoint"].as_str().unwrap().to_owned();
        let response = client()
            .post(endpoint)
            .basic_auth(CLIENT.0, Some(CLIENT.1))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("token={}&token_type_hint=access_token", encode(token)))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        self.stop();
    }
}

fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(10)).build().unwrap()
}

async fn form_post(url: &str, (id, secret): (&str, &str), body: String) -> Value {
    let response = client()
        .post(url)
        .basic_auth(id, Some(secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    serde_json::from_str(&response.text().await.unwrap()).unwrap()
}

fn invalid_token(description: &str) -> String {
    format!(r#"Bearer realm="quickstart", error="invalid_token", error_description="{description}""#)
}

fn config(vars: &[(&str, &str)]) -> Config {
    Config::from_vars(|name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())).unwrap()
}

async fn serve(config: Config) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    quickstart::start(listener, config).await.unwrap()
}

async fn get_me(base: &str, token: &str) -> (StatusCode, Option<String>, String) {
    let response = client().get(format!("{base}/me")).bearer_auth(token).send().await.unwrap();
    let status = response.status();
    let challenge = response.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_owned());
    (status, challenge, response.text().await.unwrap())
}

/// Polls `check` until it returns true, for at most 30 s.
async fn eventually<F: Future<Output = bool>>(what: &str, mut check: impl FnMut() -> F) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_provider_from_discovery_to_shutdown() {
    let mut provider = Provider::start();
    let issuer = provider.issuer.clone();

    // Discovery and JWKS through our cache; the provider's JWT verifies on it.
    let keys = JwksCache::discover(&issuer).await.unwrap();
    assert!(keys.health().is_ready());
    let jwt = provider.token(JWT_RESOURCE).await;
    let verifier = Verifier::builder(keys)
        .issuer(issuer.clone())
        .audience(JWT_RESOURCE)
        .algorithms(ASYMMETRIC_ALGORITHMS.iter().copied())
        .typ("at+jwt")
        .build()
        .unwrap();
    let verified = verifier.verify(&jwt).unwrap();
    assert_eq!(verified.subject(), Some(CLIENT.0));
    assert_eq!(verified.header().unwrap().kid(), Some("interop-rs256"));

    // The quickstart's router accepts it (keys found by discovery, RFC 9068 typ required).
    let jwt_api = serve(config(&[
        ("TOKENGATE_ISSUER", &issuer),
        ("TOKENGATE_AUDIENCE", JWT_RESOURCE),
        ("TOKENGATE_TYP", "at+jwt"),
    ]))
    .await;
    let (status, _, body) = get_me(&jwt_api.base_url, &jwt).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let claims: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(claims["client_id"], CLIENT.0);
    assert_eq!(claims["aud"], JWT_RESOURCE);
    assert_eq!(claims["scope"], "orders:read");

    // The same token at an API of another audience: 401 invalid_token.
    let other_api = serve(config(&[("TOKENGATE_ISSUER", &issuer), ("TOKENGATE_AUDIENCE", OPAQUE_RESOURCE)])).await;
    let (status, challenge, _) = get_me(&other_api.base_url, &jwt).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        challenge.as_deref(),
        Some(
            r#"Bearer realm="quickstart", error="invalid_token", error_description="the token's audience is not accepted""#
        )
    );

    // The opaque token through the quickstart: introspected at the discovered endpoint with
    // client_secret_basic (TOKENGATE_CLIENT_ID / _SECRET), answers cached 1 s.
    let opaque_api = serve(config(&[
        ("TOKENGATE_ISSUER", &issuer),
        ("TOKENGATE_AUDIENCE", OPAQUE_RESOURCE),
        ("TOKENGATE_CLIENT_ID", RESOURCE_SERVER.0),
        ("TOKENGATE_CLIENT_SECRET", RESOURCE_SERVER.1),
        ("TOKENGATE_INTROSPECTION_CACHE_SECS", "1"),
    ]))
    .await;
    let opaque = provider.token(OPAQUE_RESOURCE).await;
    assert!(!opaque.contains('.'), "an opaque token, not a JWT");
    let (status, _, body) = get_me(&opaque_api.base_url, &opaque).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let claims: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(claims["active"], true);
    assert_eq!(claims["client_id"], CLIENT.0);
    assert_eq!(claims["aud"], OPAQUE_RESOURCE);
    assert_eq!(claims["iss"], issuer);
    // The JWT API has no client credentials: an opaque token is just malformed there.
    let (status, challenge, _) = get_me(&jwt_api.base_url, &opaque).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(challenge.as_deref(), Some(invalid_token("the access token is malformed").as_str()));

    // The same through the client alone: discovered endpoint, claims, audience rule.
    let introspector = Introspector::builder(issuer.clone(), OPAQUE_RESOURCE)
        .client_auth(ClientAuth::secret_basic(RESOURCE_SERVER.0, RESOURCE_SERVER.1))
        .cache_ttl(Duration::from_secs(1))
        .negative_ttl(Duration::from_secs(1))
        .build()
        .await
        .unwrap();
    assert_eq!(introspector.endpoint(), format!("{issuer}/token/introspection"));
    let verified = introspector.verify_remote(&opaque).await.unwrap();
    assert_eq!(verified.registered().aud, [OPAQUE_RESOURCE]);
    assert!(verified.has_scope("orders:read"));
    let jwt_side = Introspector::builder(issuer.clone(), JWT_RESOURCE)
        .client_auth(ClientAuth::secret_basic(RESOURCE_SERVER.0, RESOURCE_SERVER.1))
        .build()
        .await
        .unwrap();
    assert_eq!(jwt_side.verify_remote(&opaque).await.unwrap_err().kind(), ErrorKind::InvalidAudience);
    // Bad client credentials at the provider are 503 (our misconfiguration), never 401.
    let misconfigured = serve(config(&[
        ("TOKENGATE_ISSUER", &issuer),
        ("TOKENGATE_AUDIENCE", OPAQUE_RESOURCE),
        ("TOKENGATE_CLIENT_ID", RESOURCE_SERVER.0),
        ("TOKENGATE_CLIENT_SECRET", "wrong"),
    ]))
    .await;
    assert_eq!(get_me(&misconfigured.base_url, &opaque).await.0, StatusCode::SERVICE_UNAVAILABLE);

    // Revoked at the provider: refused (401 invalid_token) once the cache TTL (1 s) passed.
    provider.revoke(&opaque).await;
    eventually("the revoked token is refused", || async {
        let (status, challenge, _) = get_me(&opaque_api.base_url, &opaque).await;
        status == StatusCode::UNAUTHORIZED
            && challenge.as_deref() == Some(invalid_token("the access token is not active").as_str())
    })
    .await;
    assert_eq!(introspector.verify_remote(&opaque).await.unwrap_err().kind(), ErrorKind::Inactive);

    // Zero trust (TOKENGATE_INTROSPECT_JWTS=1): the JWT is also introspected. This provider
    // introspects no JWTs (400 unsupported_token_type; it cannot revoke them either), so the
    // local verification stands while it answers.
    let zero_trust_api = serve(config(&[
        ("TOKENGATE_ISSUER", &issuer),
        ("TOKENGATE_AUDIENCE", JWT_RESOURCE),
        ("TOKENGATE_TYP", "at+jwt"),
        ("TOKENGATE_CLIENT_ID", RESOURCE_SERVER.0),
        ("TOKENGATE_CLIENT_SECRET", RESOURCE_SERVER.1),
        ("TOKENGATE_INTROSPECTION_CACHE_SECS", "1"),
        ("TOKENGATE_INTROSPECT_JWTS", "1"),
    ]))
    .await;
    let (status, _, body) = get_me(&zero_trust_api.base_url, &jwt).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // The provider stopped: JWTs still verify on the cached keys; opaque tokens get 503,
    // and so do JWTs in zero-trust mode (the re-check cannot be made).
    let second = provider.token(OPAQUE_RESOURCE).await;
    assert_eq!(get_me(&opaque_api.base_url, &second).await.0, StatusCode::OK);
    provider.stop();
    let (status, _, body) = get_me(&jwt_api.base_url, &jwt).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(verifier.verify(&jwt).is_ok());
    eventually("the opaque token gets 503", || async {
        get_me(&opaque_api.base_url, &second).await.0 == StatusCode::SERVICE_UNAVAILABLE
    })
    .await;
    assert_eq!(introspector.verify_remote(&second).await.unwrap_err().kind(), ErrorKind::IntrospectionUnavailable);
    eventually("a JWT in zero-trust mode gets 503", || async {
        get_me(&zero_trust_api.base_url, &jwt).await.0 == StatusCode::SERVICE_UNAVAILABLE
    })
    .await;
    zero_trust_api.server.abort();

    opaque_api.server.abort();
    misconfigured.server.abort();
    jwt_api.server.abort();
    other_api.server.abort();
}

#[test]
fn the_introspection_variables_are_read_strictly() {
    let from = |vars: &[(&str, &str)]| {
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Config::from_vars(move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    };
    let base = [("TOKENGATE_ISSUER", "https://idp.example"), ("TOKENGATE_AUDIENCE", "orders")];
    assert!(from(&base).unwrap().introspection.is_none());
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut vars = base.to_vec();
        vars.extend_from_slice(&[("TOKENGATE_CLIENT_ID", "api"), ("TOKENGATE_CLIENT_SECRET", "s")]);
        vars.extend_from_slice(extra);
        from(&vars)
    };
    let defaults = with(&[]).unwrap().introspection.unwrap();
    assert_eq!((defaults.client_id.as_str(), defaults.client_secret.as_str()), ("api", "s"));
    assert_eq!((defaults.url, defaults.cache, defaults.jwts), (None, Duration::from_secs(60), false));
    let set = with(&[
        ("TOKENGATE_INTROSPECTION_URL", "https://idp.example/introspect"),
        ("TOKENGATE_INTROSPECTION_CACHE_SECS", "5"),
        ("TOKENGATE_INTROSPECT_JWTS", "1"),
    ])
    .unwrap()
    .introspection
    .unwrap();
    assert_eq!(set.url.as_deref(), Some("https://idp.example/introspect"));
    assert_eq!((set.cache, set.jwts), (Duration::from_secs(5), true));

    assert!(with(&[("TOKENGATE_INTROSPECTION_CACHE_SECS", "soon")]).is_err());
    assert!(with(&[("TOKENGATE_INTROSPECT_JWTS", "yes")]).is_err());
    assert!(from(&[("TOKENGATE_CLIENT_ID", "api"), ("TOKENGATE_CLIENT_SECRET", "s")]).is_err(), "issuer required");
    assert!(from(&[base[0], base[1], ("TOKENGATE_CLIENT_ID", "api")]).is_err(), "secret required");
    assert!(from(&[base[0], base[1], ("TOKENGATE_INTROSPECT_JWTS", "1")]).is_err(), "credentials required");
    assert!(from(&[base[0], base[1], ("TOKENGATE_INTROSPECTION_URL", "https://x")]).is_err());
}

#[test]
fn the_readme_introspection_example_is_the_quickstart_code() {
    let readme = include_str!("../README.md");
    let example: Vec<&str> = include_str!("../examples/quickstart.rs").lines().map(str::trim).collect();
    let section = readme.split("### Opaque tokens and zero trust").nth(1).expect("README has the section");
    let block = section.split("```rust,ignore").nth(1).and_then(|b| b.split("```").next()).expect("a rust block");
    let mut checked = 0;
    for line in block.lines().map(|l| l.split(" // ").next().unwrap().trim()).filter(|l| !l.is_empty()) {
        assert!(example.contains(&line), "README line not in examples/quickstart.rs: {line}");
        checked += 1;
    }
    assert!(checked >= 12, "the README block is too short: {checked} lines");
}
