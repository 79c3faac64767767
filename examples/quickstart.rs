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
//! | `TOKENGATE_VERIFIED_CACHE` | entries of the verified-token cache (a repeated token skips the signature check); `0` turns it off | `10000` |
//! | `TOKENGATE_BIND` | the listen address | `127.0.0.1:3000` |
//! | `TOKENGATE_EXPOSE_DEV_ISSUER` | `1` serves the dev issuer on a non-loopback address | `0` (refused) |
//! | `TOKENGATE_CLIENT_ID`, `TOKENGATE_CLIENT_SECRET` | the API's client credentials (with `TOKENGATE_ISSUER`): tokens that are not JWTs are introspected (RFC 7662, `client_secret_basic`) | off |
//! | `TOKENGATE_INTROSPECTION_URL` | the introspection endpoint, instead of the discovered `introspection_endpoint` | from discovery |
//! | `TOKENGATE_INTROSPECTION_CACHE_SECS` | how long an introspection answer is cached at most | `60` |
//! | `TOKENGATE_INTROSPECT_JWTS` | `1`: zero trust, JWTs verified locally are introspected too | `0` |
//! | `TOKENGATE_TLS_CERT`, `TOKENGATE_TLS_KEY`, `TOKENGATE_TLS_CLIENT_CA` | PEM files: serve HTTPS, asking for (not requiring) client certificates; a token with `cnf.x5t#S256` (RFC 8705) is then accepted only over a connection with that certificate | plain HTTP |
//!
//! Protected routes accept DPoP (RFC 9449): a token with `cnf.jkt` needs `Authorization:
//! DPoP <token>` and a valid `DPoP` proof for this server's URL; tokens without `cnf` work
//! as bearer tokens.
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
use tokengate::core::KeyResolver;
use tokengate::core::{ASYMMETRIC_ALGORITHMS, parse_algorithm};
use tokengate::jwks::JwksCache;
use tokengate::tower::cache::VerifiedTokenCache;
use tokengate::tower::metadata::{ProtectedResourceMetadata, WELL_KNOWN_PATH};
use tokengate::tower::{Authenticator, JwtAuthLayer, TokenSources};
use tokengate::{Algorithm, KeySet, Verifier};
use tokengate_introspection::{ClientAuth, Introspector};
use tokengate_issuer::DevIssuer;
use tokengate_pop::CertificateBindingLayer;
use tokengate_pop::dpop::{DpopLayer, DpopScheme, DpopVerifier};
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
/// The verified-token cache's size unless `TOKENGATE_VERIFIED_CACHE` says otherwise.
pub(crate) const DEFAULT_VERIFIED_CACHE: u64 = 10_000;

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
    /// `TOKENGATE_VERIFIED_CACHE`: entries of the verified-token cache; 0 turns it off.
    pub(crate) verified_cache: u64,
    /// `TOKENGATE_EXPOSE_DEV_ISSUER=1`: serve the embedded dev issuer (which mints a token
    /// for anyone who asks) on a non-loopback address. Off by default.
    pub(crate) expose_dev_issuer: bool,
    /// `TOKENGATE_CLIENT_ID` + `TOKENGATE_CLIENT_SECRET`: opaque tokens introspected.
    pub(crate) introspection: Option<Introspection>,
    /// `TOKENGATE_TLS_CERT`, `TOKENGATE_TLS_KEY`, `TOKENGATE_TLS_CLIENT_CA`: HTTPS with
    /// client certificates requested (all three or none).
    pub(crate) tls: Option<[String; 3]>,
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
            verified_cache: DEFAULT_VERIFIED_CACHE,
            expose_dev_issuer: false,
            introspection: None,
            tls: None,
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
        let verified_cache = match var("TOKENGATE_VERIFIED_CACHE") {
            None => DEFAULT_VERIFIED_CACHE,
            Some(n) => n
                .trim()
                .parse()
                .map_err(|_| format!("TOKENGATE_VERIFIED_CACHE must be a number of entries (0: off), not {n:?}"))?,
        };
        let introspection = Introspection::from_vars(&var, issuer.is_some())?;
        let tls = match ["TOKENGATE_TLS_CERT", "TOKENGATE_TLS_KEY", "TOKENGATE_TLS_CLIENT_CA"].map(var) {
            [Some(cert), Some(key), Some(ca)] => Some([cert, key, ca]),
            [None, None, None] => None,
            _ => return Err("TOKENGATE_TLS_CERT, TOKENGATE_TLS_KEY and TOKENGATE_TLS_CLIENT_CA go together".into()),
        };
        Ok(Config {
            issuer,
            jwks_url,
            audience,
            algorithms,
            typ: var("TOKENGATE_TYP"),
            verified_cache,
            expose_dev_issuer,
            introspection,
            tls,
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
    /// The verified-token cache of the API, unless `TOKENGATE_VERIFIED_CACHE=0`.
    pub(crate) verified_cache: Option<VerifiedTokenCache>,
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
    let tls = match &config.tls {
        Some([cert, key, ca]) => Some(Arc::new(tokengate_pop::server_config_from_pem_files(cert, key, ca)?)),
        None => None,
    };
    let base_url = format!("{}://{local}", if tls.is_some() { "https" } else { "http" });
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
    let server = match tls {
        Some(tls) => tokio::spawn(tokengate_pop::serve_tls(listener, tls, app)),
        None => tokio::spawn(async move { axum::serve(listener, app).await }),
    };

    let verified_cache = (config.verified_cache > 0).then(|| VerifiedTokenCache::new(config.verified_cache));
    match load_api(&config, &issuer, dev.as_ref(), &base_url, verified_cache.clone()).await {
        Ok(router) => {
            // The RFC 9728 document: this resource and its authorization server.
            let metadata = ProtectedResourceMetadata::new(base_url.clone()).authorization_server(issuer.clone());
            let _ = api.set(router.route_service(WELL_KNOWN_PATH, metadata.into_service()));
        }
        Err(e) => {
            server.abort();
            return Err(e);
        }
    }
    Ok(Running { base_url, issuer, audience: config.audience, dev, verified_cache, server })
}

/// The API's keys through the JWKS cache (OIDC discovery, or `TOKENGATE_JWKS_URL`), its
/// verifier, and its router (with the verified-token cache, when on).
async fn load_api(
    config: &Config,
    issuer: &str,
    dev: Option<&DevIssuer>,
    base: &str,
    cache: Option<VerifiedTokenCache>,
) -> Result<Router, BoxError> {
    let keys: Arc<dyn KeyResolver> = match (&config.jwks_url, dev.filter(|_| config.tls.is_some())) {
        // Over HTTPS the embedded issuer's keys are taken as they are: the JWKS client
        // would not trust the server's own (test) certificate.
        (_, Some(dev)) => Arc::new(KeySet::from_jwks_json(&serde_json::to_vec(&dev.minter().signers().jwks())?)?.0),
        (Some(url), None) => Arc::new(JwksCache::from_url(url).await?),
        (None, None) => Arc::new(JwksCache::discover(issuer).await?),
    };
    let mut verifier = Verifier::builder(keys)
        .issuer(issuer)
        .audience(config.audience.clone())
        .algorithms(config.algorithms.iter().copied());
    if let Some(typ) = &config.typ {
        verifier = verifier.typ(typ.clone());
    }
    let mut auth = Authenticator::builder(verifier.build()?);
    if let Some(cache) = cache {
        auth = auth.verified_token_cache(cache);
    }
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
    Ok(api_router(auth.build(), DpopVerifier::new(base)))
}

/// The protected API. Authentication is a `route_layer`, so an unknown path stays a 404
/// instead of turning into a 401, and `/public` is merged in without it.
pub(crate) fn api_router(auth: Authenticator, dpop: DpopVerifier) -> Router {
    let protected = Router::new()
        .route("/me", get(me))
        .route("/admin", get(admin))
        .route("/tenants/{tenant}/orders", get(tenant_orders))
        // A token bound to a client certificate (`cnf.x5t#S256`) needs that certificate.
        .route_layer(CertificateBindingLayer::new())
        // A DPoP-bound token (`cnf.jkt`) needs `Authorization: DPoP` and a valid proof.
        .route_layer(DpopLayer::new(dpop))
        .route_layer(
            JwtAuthLayer::from_authenticator(auth).realm(REALM).token_sources(TokenSources::bearer().then(DpopScheme)),
        );
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
         # The resource's metadata (RFC 9728): its authorization server\n\
         curl -i {base}/.well-known/oauth-protected-resource\n\n\
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
    match &running.verified_cache {
        Some(_) => println!("verified-token cache: on (TOKENGATE_VERIFIED_CACHE=0 turns it off)\n"),
        None => println!("verified-token cache: off\n"),
    }
    let external = running.dev.is_none().then_some((running.issuer.as_str(), running.audience.as_str()));
    println!("{}", curl_commands(&running.base_url, external));
    tokio::select! {
        served = running.server => served??,
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(())
}
