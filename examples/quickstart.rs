//! # Quickstart: a protected API, with a dev issuer on the same server
//!
//! ```sh
//! cargo run --example quickstart
//! ```
//!
//! Starts on `127.0.0.1:3000` (`TOKENGATE_BIND` overrides):
//!
//! - a **dev issuer** (development only: it mints a token for whoever asks) with a fresh
//!   ES256 key: `GET /.well-known/jwks.json`, `GET /.well-known/openid-configuration`
//!   and `POST /dev/token` for a JSON body `{sub, scope, tenant_id, region, ttl_secs}`;
//! - a **protected API** whose keys come through tokengate's JWKS cache over HTTP, by
//!   OpenID Connect discovery, exactly as they would from a real identity provider:
//!   `GET /public` (no token), `GET /me` (any valid token: the verified claims as JSON),
//!   `GET /admin` (scope `admin`, else 403 `insufficient_scope`) and
//!   `GET /tenants/{tenant}/orders` (the token's `tenant_id` must be `{tenant}`, else 403).
//!
//! It prints curl commands to try each route.
//!
//! ## Pointing it at a real identity provider
//!
//! | variable | meaning | default |
//! | --- | --- | --- |
//! | `TOKENGATE_ISSUER` | the issuer URL; turns the embedded issuer off and finds the keys by OIDC discovery | embedded dev issuer |
//! | `TOKENGATE_JWKS_URL` | the JWKS URL, instead of the one discovery names | from discovery |
//! | `TOKENGATE_AUDIENCE` | the audience the API accepts (required with `TOKENGATE_ISSUER`) | `quickstart-api` |
//! | `TOKENGATE_ALGORITHMS` | allowed algorithms, comma-separated | `ES256` embedded, every asymmetric algorithm otherwise |
//! | `TOKENGATE_TYP` | the required header `typ`, e.g. `at+jwt` | none |
//! | `TOKENGATE_BIND` | the listen address | `127.0.0.1:3000` |
//! | `TOKENGATE_EXPOSE_DEV_ISSUER` | `1` serves the dev issuer on a non-loopback address | `0` (refused) |
//! | `TOKENGATE_CLIENT_ID`, `TOKENGATE_CLIENT_SECRET` | the API's client credentials (with `TOKENGATE_ISSUER`): tokens that are not JWTs are introspected (RFC 7662, `client_secret_basic`) | off |
//! | `TOKENGATE_INTROSPECTION_URL` | the introspection endpoint, instead of the discovered `introspection_endpoint` | from discovery |
//! | `TOKENGATE_INTROSPECTION_CACHE_SECS` | how long an introspection answer is cached at most | `60` |
//! | `TOKENGATE_INTROSPECT_JWTS` | `1`: zero trust, JWTs verified locally are introspected too | `0` |
//!
//! The router is built by [`start`], which the integration tests in `tests/quickstart.rs`
//! serve on `127.0.0.1:0`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, clippy::print_stdout)]

use std::convert::Infallible;
use std::error::Error;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Request};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};
use tokengate::axum::{AuthRejection, Claims, VerifiedToken};
use tokengate::core::{ASYMMETRIC_ALGORITHMS, parse_algorithm};
use tokengate::jwks::JwksCache;
use tokengate::tower::{Authenticator, JwtAuthLayer};
use tokengate::{Algorithm, Verifier};
use tokengate_introspection::{ClientAuth, Introspector};
use tokengate_issuer::DevIssuer;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tower::ServiceExt;

/// The realm of every `WWW-Authenticate` challenge.
pub(crate) const REALM: &str = "quickstart";
/// The listen address unless `TOKENGATE_BIND` says otherwise.
pub(crate) const DEFAULT_BIND: &str = "127.0.0.1:3000";
/// The audience of the API (and of the dev issuer's tokens) unless `TOKENGATE_AUDIENCE`
/// says otherwise.
pub(crate) const DEFAULT_AUDIENCE: &str = "quickstart-api";

pub(crate) type BoxError = Box<dyn Error + Send + Sync>;

/// What the environment configures.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    /// `TOKENGATE_ISSUER`: an external issuer; `None` runs the embedded dev issuer.
    pub(crate) issuer: Option<String>,
    /// `TOKENGATE_JWKS_URL`: the JWKS location instead of the discovered one.
    pub(crate) jwks_url: Option<String>,
    /// `TOKENGATE_AUDIENCE`.
    pub(crate) audience: String,
    /// `TOKENGATE_ALGORITHMS`.
    pub(crate) algorithms: Vec<Algorithm>,
    /// `TOKENGATE_TYP`.
    pub(crate) typ: Option<String>,
    /// `TOKENGATE_EXPOSE_DEV_ISSUER=1`: serve the embedded dev issuer (which mints a token
    /// for anyone who asks) on a non-loopback address. Off by default.
    pub(crate) expose_dev_issuer: bool,
    /// `TOKENGATE_CLIENT_ID` + `TOKENGATE_CLIENT_SECRET`: opaque tokens introspected.
    pub(crate) introspection: Option<Introspection>,
}

/// Introspection of tokens that are not JWTs (RFC 7662), at the issuer's endpoint.
#[derive(Clone, Debug)]
pub(crate) struct Introspection {
    /// `TOKENGATE_CLIENT_ID`.
    pub(crate) client_id: String,
    /// `TOKENGATE_CLIENT_SECRET` (sent with `client_secret_basic`).
    pub(crate) client_secret: String,
    /// `TOKENGATE_INTROSPECTION_URL`: instead of the discovered `introspection_endpoint`.
    pub(crate) url: Option<String>,
    /// `TOKENGATE_INTROSPECTION_CACHE_SECS` (default 60).
    pub(crate) cache: Duration,
    /// `TOKENGATE_INTROSPECT_JWTS=1`: zero trust, JWTs are introspected too.
    pub(crate) jwts: bool,
}

impl Introspection {
    fn from_vars(var: &impl Fn(&str) -> Option<String>, issuer: bool) -> Result<Option<Introspection>, String> {
        let (client_id, client_secret) = match (var("TOKENGATE_CLIENT_ID"), var("TOKENGATE_CLIENT_SECRET")) {
            (Some(id), Some(secret)) if issuer => (id, secret),
            (Some(_), Some(_)) => return Err("TOKENGATE_CLIENT_ID needs TOKENGATE_ISSUER".into()),
            (None, None) => {
                return match ["TOKENGATE_INTROSPECTION_URL", "TOKENGATE_INTROSPECT_JWTS"]
                    .into_iter()
                    .find(|n| var(n).is_some())
                {
                    Some(name) => Err(format!("{name} needs TOKENGATE_CLIENT_ID and TOKENGATE_CLIENT_SECRET")),
                    None => Ok(None),
                };
            }
            _ => return Err("TOKENGATE_CLIENT_ID and TOKENGATE_CLIENT_SECRET go together".into()),
        };
        let secs = var("TOKENGATE_INTROSPECTION_CACHE_SECS").map_or(Ok(60), |v| v.parse::<u64>());
        let secs = secs.map_err(|_| "TOKENGATE_INTROSPECTION_CACHE_SECS must be a number of seconds".to_owned())?;
        let jwts = match var("TOKENGATE_INTROSPECT_JWTS").as_deref() {
            None | Some("0") => false,
            Some("1") => true,
            Some(other) => return Err(format!("TOKENGATE_INTROSPECT_JWTS must be 0 or 1, not {other:?}")),
        };
        let url = var("TOKENGATE_INTROSPECTION_URL");
        Ok(Some(Introspection { client_id, client_secret, url, cache: Duration::from_secs(secs), jwts }))
    }
}

impl Config {
    /// The embedded dev issuer, ES256, audience [`DEFAULT_AUDIENCE`].
    pub(crate) fn embedded() -> Config {
        Config {
            issuer: None,
            jwks_url: None,
            audience: DEFAULT_AUDIENCE.to_owned(),
            algorithms: vec![Algorithm::ES256],
            typ: None,
            expose_dev_issuer: false,
            introspection: None,
        }
    }

    /// Reads the `TOKENGATE_*` variables.
    pub(crate) fn from_env() -> Result<Config, String> {
        Config::from_vars(|name| std::env::var(name).ok())
    }

    /// Reads the `TOKENGATE_*` variables through `var` (empty values count as unset).
    pub(crate) fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Config, String> {
        let var = |name: &str| var(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let issuer = var("TOKENGATE_ISSUER");
        let jwks_url = var("TOKENGATE_JWKS_URL");
        if jwks_url.is_some() && issuer.is_none() {
            return Err("TOKENGATE_JWKS_URL needs TOKENGATE_ISSUER (the issuer tokens must carry)".into());
        }
        let embedded = Config::embedded();
        let audience = match (var("TOKENGATE_AUDIENCE"), &issuer) {
            (Some(audience), _) => audience,
            (None, None) => embedded.audience,
            (None, Some(_)) => return Err("TOKENGATE_AUDIENCE is required with TOKENGATE_ISSUER".into()),
        };
        let algorithms = match var("TOKENGATE_ALGORITHMS") {
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|name| !name.is_empty())
                .map(|name| parse_algorithm(name).ok_or_else(|| format!("TOKENGATE_ALGORITHMS: unknown {name:?}")))
                .collect::<Result<Vec<_>, _>>()?,
            None if issuer.is_none() => embedded.algorithms,
            // Every asymmetric algorithm: each key is pinned to its own anyway, and an
            // identity provider publishes public keys, never HMAC secrets.
            None => ASYMMETRIC_ALGORITHMS.to_vec(),
        };
        if algorithms.is_empty() {
            return Err("TOKENGATE_ALGORITHMS is empty".into());
        }
        let expose_dev_issuer = match var("TOKENGATE_EXPOSE_DEV_ISSUER").as_deref() {
            None | Some("0") => false,
            Some("1") => true,
            Some(other) => return Err(format!("TOKENGATE_EXPOSE_DEV_ISSUER must be 0 or 1, not {other:?}")),
        };
        let introspection = Introspection::from_vars(&var, issuer.is_some())?;
        Ok(Config {
            issuer,
            jwks_url,
            audience,
            algorithms,
            typ: var("TOKENGATE_TYP"),
            expose_dev_issuer,
            introspection,
        })
    }
}

/// A started quickstart: the server task and what a client needs to talk to it.
pub(crate) struct Running {
    /// `http://127.0.0.1:PORT`.
    pub(crate) base_url: String,
    /// The issuer tokens must carry.
    pub(crate) issuer: String,
    /// The audience tokens must carry.
    pub(crate) audience: String,
    /// The embedded dev issuer, when running.
    pub(crate) dev: Option<DevIssuer>,
    /// The server; it runs until aborted.
    pub(crate) server: JoinHandle<std::io::Result<()>>,
}

/// Serves the quickstart on `listener` and returns once the API has its keys.
///
/// The API's keys come over HTTP, like in any real deployment: from the embedded dev
/// issuer on this same server (so the server must already be answering when the JWKS
/// cache makes its first fetch: the API routes answer 503 for those few milliseconds),
/// or from `TOKENGATE_ISSUER`.
pub(crate) async fn start(listener: TcpListener, config: Config) -> Result<Running, BoxError> {
    let local = listener.local_addr()?;
    if config.issuer.is_none() && !local.ip().is_loopback() && !config.expose_dev_issuer {
        return Err(format!(
            "refusing to serve the dev issuer on {local}: it mints tokens for anyone who asks. \
             Bind to 127.0.0.1, set TOKENGATE_ISSUER, or set TOKENGATE_EXPOSE_DEV_ISSUER=1"
        )
        .into());
    }
    let base_url = format!("http://{local}");
    let dev = match &config.issuer {
        Some(_) => None,
        None => {
            let mut dev = DevIssuer::builder(base_url.clone()).audience(config.audience.clone());
            if let Some(typ) = &config.typ {
                dev = dev.typ(typ.clone());
            }
            Some(dev.build()?)
        }
    };
    let issuer = config.issuer.clone().unwrap_or_else(|| base_url.clone());

    let api: Arc<OnceLock<Router>> = Arc::default();
    let mut app = Router::new();
    if let Some(dev) = &dev {
        app = app.merge(dev.router());
    }
    let app = app.fallback_service(late_bound(Arc::clone(&api)));
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    match load_api(&config, &issuer).await {
        Ok(router) => {
            let _ = api.set(router);
        }
        Err(e) => {
            server.abort();
            return Err(e);
        }
    }
    Ok(Running { base_url, issuer, audience: config.audience, dev, server })
}

/// The API's keys through the JWKS cache (OIDC discovery, or `TOKENGATE_JWKS_URL`), its
/// verifier, and its router.
async fn load_api(config: &Config, issuer: &str) -> Result<Router, BoxError> {
    let keys = match &config.jwks_url {
        Some(url) => JwksCache::from_url(url).await?,
        None => JwksCache::discover(issuer).await?,
    };
    let mut verifier = Verifier::builder(keys)
        .issuer(issuer)
        .audience(config.audience.clone())
        .algorithms(config.algorithms.iter().copied());
    if let Some(typ) = &config.typ {
        verifier = verifier.typ(typ.clone());
    }
    let mut auth = Authenticator::builder(verifier.build()?);
    if let Some(remote) = &config.introspection {
        let mut introspector = Introspector::builder(issuer, config.audience.clone())
            .client_auth(ClientAuth::secret_basic(remote.client_id.clone(), remote.client_secret.clone()))
            .cache_ttl(remote.cache);
        if let Some(url) = &remote.url {
            introspector = introspector.endpoint(url.clone());
        }
        let introspector = introspector.build().await?;
        if remote.jwts {
            auth = auth.remote_after_local(introspector.zero_trust());
        }
        auth = auth.remote(introspector);
    }
    Ok(api_router(auth.build()))
}

/// The protected API. Authentication is a `route_layer`, so an unknown path stays a 404
/// instead of turning into a 401, and `/public` is merged in without it.
pub(crate) fn api_router(auth: Authenticator) -> Router {
    let protected = Router::new()
        .route("/me", get(me))
        .route("/admin", get(admin))
        .route("/tenants/{tenant}/orders", get(tenant_orders))
        .route_layer(JwtAuthLayer::from_authenticator(auth).realm(REALM));
    Router::new().route("/public", get(public)).merge(protected)
}

/// A service that forwards to the API router once it is set, and answers 503 before.
fn late_bound(
    api: Arc<OnceLock<Router>>,
) -> impl tower::Service<Request, Response = Response, Error = Infallible, Future: Send + 'static> + Clone + Send + Sync
{
    tower::service_fn(move |request: Request| {
        let api = api.get().cloned();
        async move {
            match api {
                Some(router) => router.oneshot(request).await,
                None => Ok((StatusCode::SERVICE_UNAVAILABLE, [(header::RETRY_AFTER, "1")]).into_response()),
            }
        }
    })
}

async fn public() -> Json<Value> {
    Json(json!({ "message": "public: no token needed" }))
}

/// Any valid token: the verified claims.
async fn me(Claims(claims): Claims<Value>) -> Json<Value> {
    Json(Value::clone(&claims))
}

/// Scope `admin` required, else 403 `insufficient_scope` with `scope="admin"`.
async fn admin(token: VerifiedToken) -> Result<Json<Value>, AuthRejection> {
    token.require_scope("admin")?;
    Ok(Json(json!({ "message": "welcome, admin", "sub": token.subject() })))
}

/// The `detail` of the 403 for another tenant's orders.
pub(crate) const TENANT_MISMATCH: &str = "the token's tenant_id is not the tenant in the path";

#[derive(Deserialize)]
struct TenantClaims {
    tenant_id: Option<String>,
}

/// The token's `tenant_id` must be the tenant in the path, else 403 with a problem body
/// saying so.
async fn tenant_orders(
    Path(tenant): Path<String>,
    token: VerifiedToken,
    Claims(claims): Claims<TenantClaims>,
) -> Result<Json<Value>, AuthRejection> {
    if claims.tenant_id.as_deref() != Some(tenant.as_str()) {
        return Err(token.forbidden_because(TENANT_MISMATCH));
    }
    Ok(Json(json!({ "tenant": tenant, "orders": [{ "id": 1, "item": "widgets" }] })))
}

/// The curl commands printed at start, for the server at `base`; `external` is the
/// issuer and audience when the embedded dev issuer is off. The README shows the same.
pub(crate) fn curl_commands(base: &str, external: Option<(&str, &str)>) -> String {
    let auth = r#"-H "Authorization: Bearer $TOKEN""#;
    let mut out = format!(
        "# A public route, no token needed:\n\
         curl -i {base}/public\n\n\
         # A protected route without a token: 401, WWW-Authenticate: Bearer realm=\"{REALM}\"\n\
         curl -i {base}/me\n\n"
    );
    if external.is_none() {
        out.push_str(&format!(
            "# Mint a token from the dev issuer (development only):\n\
             TOKEN=$(curl -s -X POST {base}/dev/token -H 'content-type: application/json' \\\n  \
             -d '{{\"sub\":\"alice\",\"scope\":\"orders:read\",\"tenant_id\":\"acme\",\"region\":\"eu\",\"ttl_secs\":3600}}' \\\n  \
             | sed -E 's/.*\"access_token\":\"([^\"]+)\".*/\\1/')\n\n"
        ));
    } else if let Some((issuer, audience)) = external {
        out.push_str(&format!("# Get an access token for audience {audience:?} from {issuer} and:\nTOKEN=...\n\n"));
    }
    out.push_str(&format!(
        "# Your verified claims:\n\
         curl -i {auth} {base}/me\n\n\
         # Scope admin required: 403, error=\"insufficient_scope\", scope=\"admin\"\n\
         curl -i {auth} {base}/admin\n\n\
         # Your tenant's orders (200), another tenant's (403):\n\
         curl -i {auth} {base}/tenants/acme/orders\n\
         curl -i {auth} {base}/tenants/globex/orders\n\n\
         # A tampered token: 401, error=\"invalid_token\"\n\
         curl -i -H \"Authorization: Bearer ${{TOKEN}}x\" {base}/me\n"
    ));
    if external.is_none() {
        out.push_str(&format!(
            "\n# An admin token, then /admin again (200):\n\
             TOKEN=$(curl -s -X POST {base}/dev/token -d '{{\"sub\":\"root\",\"scope\":\"admin\"}}' \\\n  \
             | sed -E 's/.*\"access_token\":\"([^\"]+)\".*/\\1/')\n\
             curl -i {auth} {base}/admin\n"
        ));
    }
    out
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let config = Config::from_env()?;
    let bind = std::env::var("TOKENGATE_BIND").unwrap_or_else(|_| DEFAULT_BIND.to_owned());
    let listener = TcpListener::bind(&bind).await.map_err(|e| format!("cannot listen on {bind}: {e}"))?;
    let running = start(listener, config).await?;
    match &running.dev {
        Some(_) => println!("tokengate quickstart on {} (API and embedded dev issuer)\n", running.base_url),
        None => println!("tokengate quickstart on {} (keys from {})\n", running.base_url, running.issuer),
    }
    let external = running.dev.is_none().then_some((running.issuer.as_str(), running.audience.as_str()));
    println!("{}", curl_commands(&running.base_url, external));
    tokio::select! {
        served = running.server => served??,
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(())
}
