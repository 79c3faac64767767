//! # saas: one API, two tenants with their own issuers, policies per route
//!
//! ```sh
//! cargo run --example saas
//! ```
//!
//! Starts on `127.0.0.1:3001` (`TOKENGATE_BIND` overrides). Two tenants, `acme` and
//! `globex`, each with its own issuer: by default two embedded **dev issuers**
//! (development only: they mint a token for whoever asks) on this same server, at
//! `http://127.0.0.1:3001/issuers/acme` and `…/issuers/globex`, each with OIDC discovery,
//! a JWKS and `POST {issuer}/dev/token` (JSON body `{sub, scope, tenant_id, region,
//! ttl_secs, auth_time, acr, roles, act}`). The API finds each issuer's keys by discovery
//! through its own JWKS cache, exactly as with a real identity provider.
//!
//! Every route needs a valid token from one of the tenants' issuers with the audience,
//! the **tenant policy** for `{tenant}` (`tenant_id` equal to it and `iss` that tenant's
//! issuer) and the **region policy**; then:
//!
//! | route | also needs | refused with |
//! | --- | --- | --- |
//! | `GET /t/{tenant}/orders` | scope `orders:read` | 403 `insufficient_scope`, `scope="orders:read"` |
//! | `POST /t/{tenant}/orders` | scope `orders:write`, `auth_time` within `MAX_AUTH_AGE` | 403 scope; 401 `insufficient_user_authentication`, `max_age="300"` |
//! | `GET /t/{tenant}/admin` | (`scope` has `admin` or `roles` has `admin`) and `acr` = `TOKENGATE_ACR` | 403; 401 `insufficient_user_authentication`, `acr_values="mfa"` |
//! | `GET /t/{tenant}/reports` | scope `reports:read`; an `act` chain, if present, at most 2 deep with every actor's `sub` in `ALLOWED_ACTORS` | 403 |
//!
//! Tenant or region mismatch and a token from the other tenant's issuer: 403 with an RFC
//! 9457 problem body whose `detail` says which check failed. No token or a bad one: 401
//! from the authentication layer (`WWW-Authenticate: Bearer realm="saas", …`). 200 bodies
//! are JSON naming the tenant and the subject (and, on `/reports`, the actor chain).
//!
//! | variable | meaning | default |
//! | --- | --- | --- |
//! | `TOKENGATE_BIND` | the listen address | `127.0.0.1:3001` |
//! | `TOKENGATE_TENANT_ISSUERS` | `acme=URL,globex=URL`: external issuers (found by discovery) instead of the embedded ones | embedded dev issuers |
//! | `TOKENGATE_AUDIENCE` | the audience the API accepts | `saas-api` |
//! | `TOKENGATE_REGION` | the service's region | `eu-west-1` |
//! | `TOKENGATE_FAILOVER_REGIONS` | regions also accepted, comma-separated | none |
//! | `TOKENGATE_MAX_AUTH_AGE_SECS` | the longest time since `auth_time` for `POST /orders` | `300` |
//! | `TOKENGATE_ACR` | the `acr` `/admin` requires | `mfa` |
//! | `TOKENGATE_ALLOWED_ACTORS` | actors (`act.sub`) allowed on `/reports`, comma-separated | `reporting-service` |
//! | `TOKENGATE_ALGORITHMS` | allowed algorithms, comma-separated | `ES256` embedded, every asymmetric algorithm otherwise |
//!
//! The router is built by [`start`], which the integration tests in `tests/saas.rs` serve
//! on `127.0.0.1:0`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, clippy::print_stdout)]

use std::convert::Infallible;
use std::error::Error;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Request};
use axum::handler::Handler;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use serde_json::{Value, json};
use tokengate::axum::VerifiedToken;
use tokengate::core::{ASYMMETRIC_ALGORITHMS, parse_algorithm};
use tokengate::jwks::{Issuers, JwksCache};
use tokengate::tower::JwtAuthLayer;
use tokengate::{Algorithm, Verifier};
use tokengate_issuer::DevIssuer;
use tokengate_policy::{
    ClaimContains, Delegation, PolicyExt, PolicyLayer, Region, Scope, Tenant, ZeroTrust, actor_chain,
};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tower::ServiceExt;

/// The realm of the authentication layer's challenges.
pub(crate) const REALM: &str = "saas";
/// The listen address unless `TOKENGATE_BIND` says otherwise.
pub(crate) const DEFAULT_BIND: &str = "127.0.0.1:3001";
/// The tenants of the embedded setup.
pub(crate) const TENANTS: [&str; 2] = ["acme", "globex"];
/// `TOKENGATE_AUDIENCE` by default.
pub(crate) const DEFAULT_AUDIENCE: &str = "saas-api";
/// `TOKENGATE_REGION` by default.
pub(crate) const DEFAULT_REGION: &str = "eu-west-1";
/// `TOKENGATE_MAX_AUTH_AGE_SECS` by default.
pub(crate) const DEFAULT_MAX_AUTH_AGE_SECS: u64 = 300;
/// `TOKENGATE_ACR` by default.
pub(crate) const DEFAULT_ACR: &str = "mfa";
/// `TOKENGATE_ALLOWED_ACTORS` by default.
pub(crate) const DEFAULT_ALLOWED_ACTORS: &str = "reporting-service";
/// The deepest `act` chain `/reports` accepts.
pub(crate) const MAX_ACT_DEPTH: usize = 2;

pub(crate) type BoxError = Box<dyn Error + Send + Sync>;

/// What the environment configures.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    /// `TOKENGATE_TENANT_ISSUERS`: `(tenant, issuer)`; `None` runs the embedded dev issuers.
    pub(crate) tenant_issuers: Option<Vec<(String, String)>>,
    /// `TOKENGATE_AUDIENCE`.
    pub(crate) audience: String,
    /// `TOKENGATE_REGION`.
    pub(crate) region: String,
    /// `TOKENGATE_FAILOVER_REGIONS`.
    pub(crate) failover_regions: Vec<String>,
    /// `TOKENGATE_MAX_AUTH_AGE_SECS`.
    pub(crate) max_auth_age_secs: u64,
    /// `TOKENGATE_ACR`.
    pub(crate) acr: String,
    /// `TOKENGATE_ALLOWED_ACTORS`.
    pub(crate) allowed_actors: Vec<String>,
    /// `TOKENGATE_ALGORITHMS`.
    pub(crate) algorithms: Vec<Algorithm>,
}

fn list(value: &str) -> Vec<String> {
    value.split(',').map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned).collect()
}

impl Config {
    /// The embedded dev issuers and every default.
    pub(crate) fn embedded() -> Config {
        Config {
            tenant_issuers: None,
            audience: DEFAULT_AUDIENCE.to_owned(),
            region: DEFAULT_REGION.to_owned(),
            failover_regions: Vec::new(),
            max_auth_age_secs: DEFAULT_MAX_AUTH_AGE_SECS,
            acr: DEFAULT_ACR.to_owned(),
            allowed_actors: list(DEFAULT_ALLOWED_ACTORS),
            algorithms: vec![Algorithm::ES256],
        }
    }

    /// Reads the `TOKENGATE_*` variables.
    pub(crate) fn from_env() -> Result<Config, String> {
        Config::from_vars(|name| std::env::var(name).ok())
    }

    /// Reads the `TOKENGATE_*` variables through `var` (empty values count as unset).
    pub(crate) fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Config, String> {
        let var = |name: &str| var(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let mut config = Config::embedded();
        if let Some(map) = var("TOKENGATE_TENANT_ISSUERS") {
            let mut issuers: Vec<(String, String)> = Vec::new();
            for entry in list(&map) {
                let Some((tenant, url)) = entry.split_once('=') else {
                    return Err(format!("TOKENGATE_TENANT_ISSUERS: expected tenant=URL, not {entry:?}"));
                };
                let (tenant, url) = (tenant.trim(), url.trim().trim_end_matches('/'));
                if tenant.is_empty() || !(url.starts_with("https://") || url.starts_with("http://")) {
                    return Err(format!("TOKENGATE_TENANT_ISSUERS: expected tenant=URL, not {entry:?}"));
                }
                if issuers.iter().any(|(t, u)| t == tenant || u == url) {
                    return Err(format!("TOKENGATE_TENANT_ISSUERS: {tenant:?} or its issuer is given twice"));
                }
                issuers.push((tenant.to_owned(), url.to_owned()));
            }
            config.tenant_issuers = Some(issuers);
            // Every asymmetric algorithm: each key is pinned to its own anyway.
            config.algorithms = ASYMMETRIC_ALGORITHMS.to_vec();
        }
        if let Some(audience) = var("TOKENGATE_AUDIENCE") {
            config.audience = audience;
        }
        if let Some(region) = var("TOKENGATE_REGION") {
            config.region = region;
        }
        if let Some(regions) = var("TOKENGATE_FAILOVER_REGIONS") {
            config.failover_regions = list(&regions);
        }
        if let Some(secs) = var("TOKENGATE_MAX_AUTH_AGE_SECS") {
            config.max_auth_age_secs =
                secs.parse().map_err(|_| format!("TOKENGATE_MAX_AUTH_AGE_SECS: not a number of seconds: {secs:?}"))?;
        }
        if let Some(acr) = var("TOKENGATE_ACR") {
            config.acr = acr;
        }
        if let Some(actors) = var("TOKENGATE_ALLOWED_ACTORS") {
            config.allowed_actors = list(&actors);
        }
        if let Some(names) = var("TOKENGATE_ALGORITHMS") {
            config.algorithms = list(&names)
                .iter()
                .map(|name| parse_algorithm(name).ok_or_else(|| format!("TOKENGATE_ALGORITHMS: unknown {name:?}")))
                .collect::<Result<Vec<_>, _>>()?;
            if config.algorithms.is_empty() {
                return Err("TOKENGATE_ALGORITHMS is empty".into());
            }
        }
        Ok(config)
    }
}

/// A started saas server.
pub(crate) struct Running {
    /// `http://127.0.0.1:PORT`.
    pub(crate) base_url: String,
    /// `(tenant, issuer)` for every tenant.
    pub(crate) tenant_issuers: Vec<(String, String)>,
    /// The embedded dev issuers, `(tenant, issuer)`, when running.
    pub(crate) devs: Vec<(String, DevIssuer)>,
    /// The server; it runs until aborted.
    pub(crate) server: JoinHandle<std::io::Result<()>>,
}

/// Serves the saas example on `listener` and returns once the API has every tenant's keys.
pub(crate) async fn start(listener: TcpListener, config: Config) -> Result<Running, BoxError> {
    let local = listener.local_addr()?;
    if config.tenant_issuers.is_none() && !local.ip().is_loopback() {
        return Err(format!(
            "refusing to serve the dev issuers on {local}: they mint tokens for anyone who asks. \
             Bind to 127.0.0.1 or set TOKENGATE_TENANT_ISSUERS"
        )
        .into());
    }
    let base_url = format!("http://{local}");
    let mut devs = Vec::new();
    let tenant_issuers = match &config.tenant_issuers {
        Some(map) => map.clone(),
        None => {
            for tenant in TENANTS {
                let dev = DevIssuer::builder(format!("{base_url}/issuers/{tenant}")).audience(config.audience.clone());
                devs.push((tenant.to_owned(), dev.build()?));
            }
            devs.iter().map(|(tenant, dev)| (tenant.clone(), dev.issuer().to_owned())).collect()
        }
    };

    let api: Arc<OnceLock<Router>> = Arc::default();
    let mut app = Router::new();
    for (_, dev) in &devs {
        app = app.merge(dev.mounted_router());
    }
    let app = app.fallback_service(late_bound(Arc::clone(&api)));
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    match load_api(&config, &tenant_issuers).await {
        Ok(router) => {
            let _ = api.set(router);
        }
        Err(e) => {
            server.abort();
            return Err(e);
        }
    }
    Ok(Running { base_url, tenant_issuers, devs, server })
}

/// Every tenant issuer's keys by discovery (one JWKS cache each, bound to its issuer),
/// one verifier over them, and the router.
async fn load_api(config: &Config, tenant_issuers: &[(String, String)]) -> Result<Router, BoxError> {
    let mut caches = Vec::new();
    for (_, issuer) in tenant_issuers {
        caches.push(JwksCache::discover(issuer).await?);
    }
    let verifier = Verifier::builder(Issuers::from_caches(caches)?)
        .issuers(tenant_issuers.iter().map(|(_, issuer)| issuer.clone()))
        .audience(config.audience.clone())
        .algorithms(config.algorithms.iter().copied())
        .build()?;
    Ok(api_router(verifier, config, tenant_issuers))
}

/// The API. Authentication is a `route_layer` (an unknown path stays a 404); each
/// handler carries its own policy stack.
pub(crate) fn api_router(verifier: Verifier, config: &Config, tenant_issuers: &[(String, String)]) -> Router {
    let tenant = tenant_issuers
        .iter()
        .fold(Tenant::from_path_param("tenant"), |policy, (tenant, issuer)| policy.issuer(tenant, issuer));
    let region = Region::new(config.region.clone()).failover(config.failover_regions.iter().cloned());
    let base = tenant.and(region);

    let read = PolicyLayer::new(base.clone().and(Scope::all_of(["orders:read"])));
    let write = PolicyLayer::new(
        base.clone()
            .and(Scope::all_of(["orders:write"]))
            .and(ZeroTrust::new().max_auth_age(Duration::from_secs(config.max_auth_age_secs))),
    );
    let admin = PolicyLayer::new(
        base.clone()
            .and(Scope::all_of(["admin"]).or(ClaimContains::any_of("roles", ["admin"])))
            .and(ZeroTrust::new().acr([config.acr.clone()])),
    );
    let reports = PolicyLayer::new(
        base.and(Scope::all_of(["reports:read"]))
            .and(Delegation::new().max_depth(MAX_ACT_DEPTH).allowed_actors(config.allowed_actors.iter().cloned())),
    );

    Router::new()
        .route("/t/{tenant}/orders", get(list_orders.layer(read)).post(create_order.layer(write)))
        .route("/t/{tenant}/admin", get(admin_page.layer(admin)))
        .route("/t/{tenant}/reports", get(report.layer(reports)))
        .route_layer(JwtAuthLayer::new(verifier).realm(REALM))
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

async fn list_orders(Path(tenant): Path<String>, token: VerifiedToken) -> Json<Value> {
    Json(json!({ "tenant": tenant, "sub": token.subject(), "orders": [{ "id": 1, "item": "widgets" }] }))
}

async fn create_order(Path(tenant): Path<String>, token: VerifiedToken) -> Json<Value> {
    Json(json!({ "tenant": tenant, "sub": token.subject(), "created": { "id": 2, "item": "gadgets" } }))
}

async fn admin_page(Path(tenant): Path<String>, token: VerifiedToken) -> Json<Value> {
    Json(json!({ "tenant": tenant, "sub": token.subject(), "admin": true }))
}

/// The actor chain, current actor first (the policy already checked it is well formed).
async fn report(Path(tenant): Path<String>, token: VerifiedToken) -> Json<Value> {
    let actors: Vec<String> = actor_chain(&token).unwrap_or_default().into_iter().map(|a| a.sub).collect();
    Json(json!({ "tenant": tenant, "sub": token.subject(), "actors": actors, "report": { "orders": 1 } }))
}

/// The curl commands printed at start: one success and each rejection.
pub(crate) fn curl_commands(base: &str, config: &Config) -> String {
    let auth = r#"-H "Authorization: Bearer $TOKEN""#;
    let region = &config.region;
    let mint = |var: &str, tenant: &str, body: &str| {
        format!(
            "{var}=$(curl -s -X POST {base}/issuers/{tenant}/dev/token -d '{body}' \\\n  \
             | sed -E 's/.*\"access_token\":\"([^\"]+)\".*/\\1/')\n"
        )
    };
    let mut out = String::new();
    if config.tenant_issuers.is_none() {
        out.push_str("# Mint tokens from the embedded dev issuers (development only):\n");
        out.push_str(&mint(
            "TOKEN",
            "acme",
            &format!(r#"{{"sub":"alice","tenant_id":"acme","region":"{region}","scope":"orders:read orders:write reports:read"}}"#),
        ));
        out.push_str(&format!(
            "\n# Success: acme's orders (200)\ncurl -i {auth} {base}/t/acme/orders\n\n\
             # No token: 401, WWW-Authenticate: Bearer realm=\"{REALM}\"\ncurl -i {base}/t/acme/orders\n\n\
             # Another tenant's route: 403, problem body \"the token's tenant_id does not match the requested tenant\"\n\
             curl -i {auth} {base}/t/globex/orders\n\n\
             # Missing scope admin: 403 (WWW-Authenticate: Bearer error=\"insufficient_scope\", scope=\"admin\")\n\
             curl -i {auth} {base}/t/acme/admin\n\n\
             # Authenticated too long ago for POST: 401, Bearer error=\"insufficient_user_authentication\", max_age=\"{}\"\n",
            config.max_auth_age_secs
        ));
        out.push_str(&mint(
            "OLD",
            "acme",
            &format!(
                r#"{{"sub":"alice","tenant_id":"acme","region":"{region}","scope":"orders:write","auth_time":'$(($(date +%s)-3600))'}}"#
            ),
        ));
        out.push_str(&format!("curl -i -X POST -H \"Authorization: Bearer $OLD\" {base}/t/acme/orders\n\n"));
        out.push_str(&format!(
            "# Admin role without acr={}: 401, Bearer error=\"insufficient_user_authentication\", acr_values=\"{}\"\n",
            config.acr, config.acr
        ));
        out.push_str(&mint(
            "ADMIN",
            "acme",
            &format!(r#"{{"sub":"root","tenant_id":"acme","region":"{region}","roles":["admin"]}}"#),
        ));
        out.push_str(&format!("curl -i -H \"Authorization: Bearer $ADMIN\" {base}/t/acme/admin\n\n"));
        out.push_str("# tenant_id globex, signed by acme's issuer: 403, \"the token was not issued by the requested tenant's issuer\"\n");
        out.push_str(&mint(
            "FORGED",
            "acme",
            &format!(r#"{{"sub":"mallory","tenant_id":"globex","region":"{region}","scope":"orders:read"}}"#),
        ));
        out.push_str(&format!("curl -i -H \"Authorization: Bearer $FORGED\" {base}/t/globex/orders\n\n"));
        out.push_str("# Another region: 403, \"the token's region is not served here\"\n");
        out.push_str(&mint(
            "US",
            "acme",
            r#"{"sub":"alice","tenant_id":"acme","region":"us-east-1","scope":"orders:read"}"#,
        ));
        out.push_str(&format!("curl -i -H \"Authorization: Bearer $US\" {base}/t/acme/orders\n\n"));
        out.push_str("# An actor that is not allowed: 403, \"an actor in the delegation chain is not allowed\"\n");
        out.push_str(&mint(
            "ACT",
            "acme",
            &format!(r#"{{"sub":"alice","tenant_id":"acme","region":"{region}","scope":"reports:read","act":{{"sub":"intruder"}}}}"#),
        ));
        out.push_str(&format!("curl -i -H \"Authorization: Bearer $ACT\" {base}/t/acme/reports\n"));
    } else {
        out.push_str(&format!(
            "# Get an access token for audience {:?} from a tenant's issuer, with tenant_id, region, scope, then:\n\
             TOKEN=...\ncurl -i {auth} {base}/t/acme/orders\n\n\
             # No token: 401\ncurl -i {base}/t/acme/orders\n\n\
             # Another tenant's route: 403\ncurl -i {auth} {base}/t/globex/orders\n",
            config.audience
        ));
    }
    out
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let config = Config::from_env()?;
    let bind = std::env::var("TOKENGATE_BIND").unwrap_or_else(|_| DEFAULT_BIND.to_owned());
    let listener = TcpListener::bind(&bind).await.map_err(|e| format!("cannot listen on {bind}: {e}"))?;
    let running = start(listener, config.clone()).await?;
    match running.devs.len() {
        0 => println!("tokengate saas on {} (tenant issuers found by discovery)", running.base_url),
        n => println!("tokengate saas on {} (API and {n} embedded dev issuers: development only)", running.base_url),
    }
    for (tenant, issuer) in &running.tenant_issuers {
        println!("  tenant {tenant}: issuer {issuer}");
    }
    println!("\n{}", curl_commands(&running.base_url, &config));
    tokio::select! {
        served = running.server => served??,
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(())
}
