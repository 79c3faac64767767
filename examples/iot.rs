//! # IoT: devices send telemetry with CBOR Web Tokens
//!
//! ```sh
//! cargo run --example iot
//! ```
//!
//! Starts on `127.0.0.1:3400` (`TOKENGATE_BIND` overrides):
//!
//! - a **dev issuer** (development only: it mints a token for whoever asks) with a fresh
//!   ES256 key: `GET /.well-known/jwks.json`, `GET /.well-known/openid-configuration`,
//!   `POST /dev/token` (JWTs) and `POST /dev/cwt` for a JSON body `{sub, scope?,
//!   ttl_secs?}`, answering `{access_token, token_type, expires_in}` where the token is the
//!   base64url of a CWT (RFC 8392): `61(18(COSE_Sign1))`, ES256, `kid` = the JWK's `kid`;
//! - `POST /telemetry` with `Authorization: Bearer <base64url CBOR>` and a JSON body:
//!   `202 {"sub": "<device>", "accepted": <body>}`. The CWT is verified with the same
//!   keys (through the JWKS cache, found by OIDC discovery) and the same checks as a
//!   JWT; a JWT (it has dots, a CWT has none) is accepted too. Rejections are RFC 6750
//!   `401`s with `WWW-Authenticate: Bearer realm="iot", error="invalid_token", ...`.
//!
//! | variable | meaning | default |
//! | --- | --- | --- |
//! | `TOKENGATE_ISSUER` | an external issuer; turns the embedded one off, keys by OIDC discovery | embedded dev issuer |
//! | `TOKENGATE_JWKS_URL` | the JWKS URL instead of the discovered one | from discovery |
//! | `TOKENGATE_AUDIENCE` | the audience devices' tokens must carry (required with `TOKENGATE_ISSUER`) | `iot-telemetry` |
//! | `TOKENGATE_BIND` | the listen address | `127.0.0.1:3400` |
//!
//! [`start`] builds it; `tests/iot.rs` serves it on `127.0.0.1:0`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, clippy::print_stdout)]

use std::convert::Infallible;
use std::error::Error;
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Json};
use axum::routing::post;
use serde_json::{Value, json};
use tokengate::Verifier;
use tokengate::axum::VerifiedToken;
use tokengate::core::ASYMMETRIC_ALGORITHMS;
use tokengate::jwks::JwksCache;
use tokengate::tower::{Authenticator, JwtAuthLayer};
use tokengate_cwt::{ALL_COSE_ALGORITHMS, CwtVerifier};
use tokengate_issuer::{DevIssuer, dev_cwt_router};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tower::ServiceExt;

/// The realm of every `WWW-Authenticate` challenge.
pub(crate) const REALM: &str = "iot";
/// The listen address unless `TOKENGATE_BIND` says otherwise.
pub(crate) const DEFAULT_BIND: &str = "127.0.0.1:3400";
/// The audience unless `TOKENGATE_AUDIENCE` says otherwise.
pub(crate) const DEFAULT_AUDIENCE: &str = "iot-telemetry";

pub(crate) type BoxError = Box<dyn Error + Send + Sync>;

/// What the environment configures.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    /// `TOKENGATE_ISSUER`; `None` runs the embedded dev issuer.
    pub(crate) issuer: Option<String>,
    /// `TOKENGATE_JWKS_URL`.
    pub(crate) jwks_url: Option<String>,
    /// `TOKENGATE_AUDIENCE`.
    pub(crate) audience: String,
}

impl Config {
    /// The embedded dev issuer, audience [`DEFAULT_AUDIENCE`].
    pub(crate) fn embedded() -> Config {
        Config { issuer: None, jwks_url: None, audience: DEFAULT_AUDIENCE.to_owned() }
    }

    /// Reads the `TOKENGATE_*` variables through `var` (empty values count as unset).
    pub(crate) fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Config, String> {
        let var = |name: &str| var(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let (issuer, jwks_url) = (var("TOKENGATE_ISSUER"), var("TOKENGATE_JWKS_URL"));
        if jwks_url.is_some() && issuer.is_none() {
            return Err("TOKENGATE_JWKS_URL needs TOKENGATE_ISSUER".into());
        }
        let audience = match (var("TOKENGATE_AUDIENCE"), &issuer) {
            (Some(audience), _) => audience,
            (None, None) => Config::embedded().audience,
            (None, Some(_)) => return Err("TOKENGATE_AUDIENCE is required with TOKENGATE_ISSUER".into()),
        };
        Ok(Config { issuer, jwks_url, audience })
    }
}

/// A started server.
pub(crate) struct Running {
    /// `http://127.0.0.1:PORT`.
    pub(crate) base_url: String,
    /// The embedded dev issuer, when running.
    pub(crate) dev: Option<DevIssuer>,
    /// The server; it runs until aborted.
    pub(crate) server: JoinHandle<std::io::Result<()>>,
}

/// Serves the example on `listener` and returns once the API has its keys (fetched over
/// HTTP, from the embedded dev issuer on this same server or from `TOKENGATE_ISSUER`).
pub(crate) async fn start(listener: TcpListener, config: Config) -> Result<Running, BoxError> {
    let local = listener.local_addr()?;
    if config.issuer.is_none() && !local.ip().is_loopback() {
        return Err(format!("refusing to serve the dev issuer on {local}: bind to 127.0.0.1").into());
    }
    let base_url = format!("http://{local}");
    let dev = match &config.issuer {
        Some(_) => None,
        None => Some(DevIssuer::builder(base_url.clone()).audience(config.audience.clone()).build()?),
    };
    let issuer = config.issuer.clone().unwrap_or_else(|| base_url.clone());
    let api: Arc<OnceLock<Router>> = Arc::default();
    let mut app = Router::new();
    if let Some(dev) = &dev {
        app = app.merge(dev.router()).merge(dev_cwt_router(dev));
    }
    let late = Arc::clone(&api);
    let app = app.fallback_service(tower::service_fn(move |request: Request| {
        let api = late.get().cloned();
        async move {
            match api {
                Some(router) => router.oneshot(request).await,
                None => {
                    Ok::<_, Infallible>((StatusCode::SERVICE_UNAVAILABLE, [(header::RETRY_AFTER, "1")]).into_response())
                }
            }
        }
    }));
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let keys = match &config.jwks_url {
        Some(url) => JwksCache::from_url(url).await,
        None => JwksCache::discover(&issuer).await,
    };
    let keys = match keys {
        Ok(keys) => keys,
        Err(e) => {
            server.abort();
            return Err(e.into());
        }
    };
    let jwt = Verifier::builder(keys.clone())
        .issuer(issuer.clone())
        .audience(config.audience.clone())
        .algorithms(ASYMMETRIC_ALGORITHMS)
        .build()?;
    let cwt =
        CwtVerifier::builder(keys).issuer(issuer).audience(config.audience).algorithms(ALL_COSE_ALGORITHMS).build()?;
    let _ = api.set(api_router(Tokens { jwt, cwt }));
    Ok(Running { base_url, dev, server })
}

/// The verifiers: a JWT (three dot-separated segments) goes to `jwt`; anything else
/// is not a JWT and goes to the authenticator's `remote` verifier, here the CWT verifier
/// (nothing remote about it: it verifies the base64url CBOR locally, with the same keys).
pub(crate) struct Tokens {
    pub(crate) jwt: Verifier,
    pub(crate) cwt: CwtVerifier,
}

/// `POST /telemetry`, behind tokengate's HTTP layer (a `route_layer`: unknown paths stay
/// 404); rejections are RFC 6750 challenges with RFC 9457 problem bodies.
pub(crate) fn api_router(tokens: Tokens) -> Router {
    let auth = Authenticator::builder(tokens.jwt).remote(tokens.cwt).build();
    Router::new().route("/telemetry", post(telemetry)).route_layer(JwtAuthLayer::from_authenticator(auth).realm(REALM))
}

/// 202 with the device's `sub` and what it sent.
async fn telemetry(token: VerifiedToken, Json(readings): Json<Value>) -> impl IntoResponse {
    (StatusCode::ACCEPTED, Json(json!({ "sub": token.subject(), "accepted": readings })))
}

/// The curl commands printed at start.
pub(crate) fn curl_commands(base: &str, embedded: bool) -> String {
    let mut out = String::new();
    if embedded {
        out.push_str(&format!(
            "# Mint a device CWT from the dev issuer (development only):\n\
             CWT=$(curl -s -X POST {base}/dev/cwt -H 'content-type: application/json' \\\n  \
             -d '{{\"sub\":\"sensor-17\",\"scope\":\"telemetry:write\"}}' \\\n  \
             | sed -E 's/.*\"access_token\":\"([^\"]+)\".*/\\1/')\n\n"
        ));
    } else {
        out.push_str("# Get a CWT (base64url of its CBOR) from your issuer and:\nCWT=...\n\n");
    }
    out.push_str(&format!(
        "# Send telemetry: 202 with the device's sub\n\
         curl -i -X POST {base}/telemetry -H \"Authorization: Bearer $CWT\" \\\n  \
         -H 'content-type: application/json' -d '{{\"temperature\":21.5}}'\n\n\
         # Without a token: 401; with a tampered one: 401 invalid_token\n\
         curl -i -X POST {base}/telemetry -H 'content-type: application/json' -d '{{}}'\n\
         curl -i -X POST {base}/telemetry -H \"Authorization: Bearer ${{CWT}}A\" -H 'content-type: application/json' -d '{{}}'\n"
    ));
    out
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let config = Config::from_vars(|name| std::env::var(name).ok())?;
    let bind = std::env::var("TOKENGATE_BIND").unwrap_or_else(|_| DEFAULT_BIND.to_owned());
    let listener = TcpListener::bind(&bind).await.map_err(|e| format!("cannot listen on {bind}: {e}"))?;
    let running = start(listener, config).await?;
    println!("tokengate iot on {}\n", running.base_url);
    println!("{}", curl_commands(&running.base_url, running.dev.is_some()));
    tokio::select! {
        served = running.server => served??,
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(())
}
