//! [`DevIssuer`]: a development-only identity provider in one axum router.
//!
//! **Never deploy it.** `POST /dev/token` mints a valid token for whoever asks, with
//! whatever subject, scope and tenant they ask for. It exists so that the quickstart
//! and tests have an issuer that behaves like a real one on the wire: OIDC discovery,
//! a JWKS with `Cache-Control`, ES256 tokens with `kid`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokengate_core::Algorithm;

use crate::error::IssuerError;
use crate::jwks_endpoint::{DEFAULT_MAX_AGE, JWKS_PATH, JwksEndpoint};
use crate::mint::TokenMinter;
use crate::signer::{LocalSigner, Signer, SignerSet};

/// The audience of dev tokens unless [`DevIssuerBuilder::audience`] says otherwise.
pub const DEV_AUDIENCE: &str = "tokengate-dev";
/// The path of the OIDC discovery document.
pub const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";
/// The path of the token endpoint.
pub const TOKEN_PATH: &str = "/dev/token";
/// The lifetime of a dev token when the request gives no `ttl_secs`: 1 hour.
pub const DEFAULT_DEV_TTL_SECS: u64 = 3600;
/// The longest lifetime a dev token may ask for: 1 day.
pub const MAX_DEV_TTL_SECS: u64 = 86_400;
/// The largest request body `POST /dev/token` reads.
pub const MAX_REQUEST_BYTES: usize = 16 * 1024;
const MAX_FIELD_LEN: usize = 1024;
/// The most roles a dev token request may ask for.
pub const MAX_ROLES: usize = 32;
/// The deepest `act` chain a dev token request may ask for.
pub const MAX_ACT_DEPTH: usize = 8;

/// The JSON body of `POST /dev/token`. Unknown fields are refused.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevTokenRequest {
    /// The subject (`sub`); required, non-empty.
    pub sub: String,
    /// Space-separated scopes (`scope`), e.g. `"orders:read admin"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The tenant (`tenant_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// The region (`region`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The lifetime in seconds, `1..=86400` (default 3600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_secs: Option<u64>,
    /// When the user authenticated (`auth_time`, seconds since the epoch); not in the
    /// future (one minute of skew allowed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    /// The authentication context class (`acr`), e.g. `"mfa"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    /// Roles (`roles`, an array of strings; at most [`MAX_ROLES`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    /// The actor chain (`act`, RFC 8693): who acts for the subject, nested at most
    /// [`MAX_ACT_DEPTH`] deep.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act: Option<DevActor>,
}

/// One link of a dev token's `act` chain. Unknown fields are refused.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevActor {
    /// The actor (`sub`); required, non-empty.
    pub sub: String,
    /// The actor's issuer (`iss`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// The actor before this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act: Option<Box<DevActor>>,
}

impl DevActor {
    /// An actor `sub` acting directly (no prior actor).
    pub fn new(sub: impl Into<String>) -> DevActor {
        DevActor { sub: sub.into(), ..DevActor::default() }
    }

    /// This actor, acting for `prior` (which becomes the nested `act`).
    pub fn for_actor(mut self, prior: DevActor) -> DevActor {
        self.act = Some(Box::new(prior));
        self
    }

    fn check(&self, depth: usize) -> Result<(), IssuerError> {
        if depth > MAX_ACT_DEPTH {
            return Err(IssuerError::InvalidRequest(format!("act is nested deeper than {MAX_ACT_DEPTH}")));
        }
        if self.sub.is_empty() {
            return Err(IssuerError::InvalidRequest("act.sub is required".into()));
        }
        check_field("act.sub", Some(&self.sub))?;
        check_field("act.iss", self.iss.as_ref())?;
        match &self.act {
            Some(prior) => prior.check(depth + 1),
            None => Ok(()),
        }
    }
}

impl DevTokenRequest {
    /// A request for `sub` with no other claims.
    pub fn new(sub: impl Into<String>) -> DevTokenRequest {
        DevTokenRequest { sub: sub.into(), ..DevTokenRequest::default() }
    }
}

/// The JSON answer of `POST /dev/token` (the shape of an OAuth 2.0 token response).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevTokenResponse {
    /// The signed token.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// The lifetime in seconds.
    pub expires_in: u64,
}

/// A development-only issuer: a fresh key, a JWKS, OIDC discovery and a token endpoint
/// that signs whatever it is asked to. See the [module docs](self) for why it must
/// never be deployed.
///
/// ```
/// use tokengate_issuer::{DevIssuer, DevTokenRequest};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let dev = DevIssuer::new("http://127.0.0.1:3000")?;
/// let token = dev.mint(&DevTokenRequest::new("alice")).await?;
/// assert_eq!(token.token_type, "Bearer");
/// assert_eq!(dev.jwks_uri(), "http://127.0.0.1:3000/.well-known/jwks.json");
/// let app: axum::Router = dev.router(); // serve it next to your API
/// # Ok::<(), tokengate_issuer::IssuerError>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct DevIssuer {
    inner: Arc<Inner>,
}

struct Inner {
    issuer: String,
    audience: String,
    minter: TokenMinter,
    jwks: JwksEndpoint,
    default_ttl: u64,
}

impl fmt::Debug for DevIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DevIssuer")
            .field("issuer", &self.inner.issuer)
            .field("audience", &self.inner.audience)
            .field("signers", self.inner.minter.signers())
            .finish_non_exhaustive()
    }
}

/// Configures a [`DevIssuer`]; see [`DevIssuer::builder`].
#[must_use]
pub struct DevIssuerBuilder {
    issuer: String,
    audience: String,
    signer: Option<Arc<dyn Signer>>,
    typ: Option<String>,
    default_ttl: u64,
    jwks_max_age: Duration,
}

impl fmt::Debug for DevIssuerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DevIssuerBuilder")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("signer", &self.signer.as_ref().map(|s| s.kid().to_owned()))
            .field("typ", &self.typ)
            .finish_non_exhaustive()
    }
}

impl DevIssuerBuilder {
    /// The audience (`aud`) of every dev token (default [`DEV_AUDIENCE`]).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = audience.into();
        self
    }

    /// Signs with this signer instead of a fresh ES256 key.
    pub fn signer(mut self, signer: impl Signer) -> Self {
        self.signer = Some(Arc::new(signer));
        self
    }

    /// The header `typ` of every dev token, e.g. `at+jwt`.
    pub fn typ(mut self, typ: impl Into<String>) -> Self {
        self.typ = Some(typ.into());
        self
    }

    /// The lifetime of tokens whose request gives no `ttl_secs` (default 3600).
    pub fn default_ttl_secs(mut self, secs: u64) -> Self {
        self.default_ttl = secs;
        self
    }

    /// The `Cache-Control: max-age` of the JWKS (default 5 minutes).
    pub fn jwks_max_age(mut self, max_age: Duration) -> Self {
        self.jwks_max_age = max_age;
        self
    }

    /// Finishes the issuer, generating an ES256 key unless a signer was given.
    pub fn build(self) -> Result<DevIssuer, IssuerError> {
        let issuer = self.issuer.trim_end_matches('/').to_owned();
        if !(issuer.starts_with("http://") || issuer.starts_with("https://")) {
            return Err(IssuerError::Config("the issuer must be an http(s) URL".into()));
        }
        if self.audience.is_empty() {
            return Err(IssuerError::Config("the audience is empty".into()));
        }
        if !(1..=MAX_DEV_TTL_SECS).contains(&self.default_ttl) {
            return Err(IssuerError::Config(format!("the default ttl must be within 1..={MAX_DEV_TTL_SECS}")));
        }
        let signer = match self.signer {
            Some(signer) => signer,
            None => Arc::new(LocalSigner::generate(Algorithm::ES256)?),
        };
        let signers = SignerSet::from_shared(signer);
        let mut minter = TokenMinter::builder(signers.clone(), issuer.clone()).audience(self.audience.clone());
        if let Some(typ) = self.typ {
            minter = minter.typ(typ);
        }
        Ok(DevIssuer {
            inner: Arc::new(Inner {
                issuer,
                audience: self.audience,
                minter: minter.build()?,
                jwks: JwksEndpoint::new(signers).max_age(self.jwks_max_age),
                default_ttl: self.default_ttl,
            }),
        })
    }
}

fn check_field(name: &str, value: Option<&String>) -> Result<(), IssuerError> {
    match value {
        Some(v) if v.is_empty() => Err(IssuerError::InvalidRequest(format!("{name} is empty"))),
        Some(v) if v.len() > MAX_FIELD_LEN => Err(IssuerError::InvalidRequest(format!("{name} is too long"))),
        _ => Ok(()),
    }
}

impl DevIssuer {
    /// A dev issuer for `issuer` (its own base URL, e.g. `http://127.0.0.1:3000`) with a
    /// fresh ES256 key and the audience [`DEV_AUDIENCE`].
    pub fn new(issuer: impl Into<String>) -> Result<DevIssuer, IssuerError> {
        DevIssuer::builder(issuer).build()
    }

    /// Starts configuring a dev issuer for `issuer`.
    pub fn builder(issuer: impl Into<String>) -> DevIssuerBuilder {
        DevIssuerBuilder {
            issuer: issuer.into(),
            audience: DEV_AUDIENCE.to_owned(),
            signer: None,
            typ: None,
            default_ttl: DEFAULT_DEV_TTL_SECS,
            jwks_max_age: DEFAULT_MAX_AGE,
        }
    }

    /// The issuer URL (`iss`), without a trailing slash.
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// The audience of every dev token.
    pub fn audience(&self) -> &str {
        &self.inner.audience
    }

    /// The signing algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.inner.minter.signers().active().alg()
    }

    /// The URL of the JWKS.
    pub fn jwks_uri(&self) -> String {
        format!("{}{JWKS_PATH}", self.inner.issuer)
    }

    /// The minter, for tokens the token endpoint does not offer.
    pub fn minter(&self) -> &TokenMinter {
        &self.inner.minter
    }

    /// The OIDC discovery document served at [`DISCOVERY_PATH`].
    pub fn discovery_document(&self) -> serde_json::Value {
        let alg = tokengate_core::algorithm_name(self.algorithm());
        json!({
            "issuer": self.inner.issuer,
            "jwks_uri": self.jwks_uri(),
            "token_endpoint": format!("{}{TOKEN_PATH}", self.inner.issuer),
            "response_types_supported": ["token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [alg],
            "token_endpoint_auth_methods_supported": ["none"],
        })
    }

    /// Validates `request` and mints its token.
    ///
    /// Errors with [`IssuerError::InvalidRequest`] for an empty `sub`, a `ttl_secs`
    /// outside `1..=86400`, or an empty or over-long field.
    pub async fn mint(&self, request: &DevTokenRequest) -> Result<DevTokenResponse, IssuerError> {
        if request.sub.is_empty() {
            return Err(IssuerError::InvalidRequest("sub is required".into()));
        }
        check_field("sub", Some(&request.sub))?;
        check_field("tenant_id", request.tenant_id.as_ref())?;
        check_field("region", request.region.as_ref())?;
        if request.scope.as_ref().is_some_and(|s| s.len() > MAX_FIELD_LEN) {
            return Err(IssuerError::InvalidRequest("scope is too long".into()));
        }
        check_field("acr", request.acr.as_ref())?;
        if let Some(roles) = &request.roles {
            if roles.len() > MAX_ROLES {
                return Err(IssuerError::InvalidRequest(format!("at most {MAX_ROLES} roles")));
            }
            for role in roles {
                check_field("a role", Some(role))?;
            }
        }
        if let Some(auth_time) = request.auth_time {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
            if auth_time < 0 || auth_time > now.saturating_add(60) {
                return Err(IssuerError::InvalidRequest(
                    "auth_time must be a past time in seconds since the epoch".into(),
                ));
            }
        }
        if let Some(act) = &request.act {
            act.check(1)?;
        }
        let ttl = request.ttl_secs.unwrap_or(self.inner.default_ttl);
        if !(1..=MAX_DEV_TTL_SECS).contains(&ttl) {
            return Err(IssuerError::InvalidRequest(format!("ttl_secs must be within 1..={MAX_DEV_TTL_SECS}")));
        }
        let mut token = self.inner.minter.token().subject(request.sub.clone()).ttl(Duration::from_secs(ttl));
        if let Some(scope) = request.scope.as_ref().filter(|s| !s.trim().is_empty()) {
            token = token.claim("scope", scope.clone())?;
        }
        if let Some(tenant) = &request.tenant_id {
            token = token.claim("tenant_id", tenant.clone())?;
        }
        if let Some(region) = &request.region {
            token = token.claim("region", region.clone())?;
        }
        if let Some(auth_time) = request.auth_time {
            token = token.claim("auth_time", auth_time)?;
        }
        if let Some(acr) = &request.acr {
            token = token.claim("acr", acr.clone())?;
        }
        if let Some(roles) = &request.roles {
            token = token.claim("roles", roles.clone())?;
        }
        if let Some(act) = &request.act {
            let act = serde_json::to_value(act).map_err(|_| IssuerError::InvalidRequest("act".into()))?;
            token = token.claim("act", act)?;
        }
        let access_token = token.sign().await?;
        Ok(DevTokenResponse { access_token, token_type: "Bearer".into(), expires_in: ttl })
    }

    /// The path of the issuer URL (`/issuers/acme` for `http://127.0.0.1:3001/issuers/acme`),
    /// empty when the issuer is a bare origin.
    pub fn path(&self) -> &str {
        let issuer = self.inner.issuer.as_str();
        let after_scheme = issuer.split_once("://").map_or(issuer, |(_, rest)| rest);
        after_scheme.find('/').and_then(|i| after_scheme.get(i..)).unwrap_or("")
    }

    /// [`DevIssuer::router`] nested under the issuer URL's [path](DevIssuer::path), so
    /// several dev issuers (one per tenant, say) share one server: an issuer
    /// `http://127.0.0.1:3001/issuers/acme` answers
    /// `GET /issuers/acme/.well-known/openid-configuration`, its JWKS and
    /// `POST /issuers/acme/dev/token`.
    ///
    /// ```
    /// use tokengate_issuer::DevIssuer;
    /// let acme = DevIssuer::new("http://127.0.0.1:3001/issuers/acme")?;
    /// let globex = DevIssuer::new("http://127.0.0.1:3001/issuers/globex")?;
    /// assert_eq!(acme.path(), "/issuers/acme");
    /// assert_eq!(acme.jwks_uri(), "http://127.0.0.1:3001/issuers/acme/.well-known/jwks.json");
    /// let app: axum::Router = acme.mounted_router().merge(globex.mounted_router());
    /// # Ok::<(), tokengate_issuer::IssuerError>(())
    /// ```
    pub fn mounted_router<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        match self.path() {
            "" | "/" => self.router(),
            path => Router::new().nest(path, self.router()),
        }
    }

    /// The router: `GET /.well-known/jwks.json`, `GET /.well-known/openid-configuration`
    /// and `POST /dev/token`. Merge it into the server of a development setup only.
    pub fn router<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        let discovery = json_response(StatusCode::OK, &self.discovery_document());
        let discovery = move || {
            let (status, body) = discovery.clone();
            std::future::ready(json_bytes(status, body))
        };
        let dev = self.clone();
        Router::new()
            .route(JWKS_PATH, self.inner.jwks.clone().into_route())
            .route(DISCOVERY_PATH, get(discovery))
            .route(
                TOKEN_PATH,
                // Bodies over the limit are refused (413) before they are read whole.
                post(move |body: Bytes| token_endpoint(dev.clone(), body))
                    .layer(axum::extract::DefaultBodyLimit::max(MAX_REQUEST_BYTES)),
            )
    }
}

fn json_response(status: StatusCode, value: &serde_json::Value) -> (StatusCode, Bytes) {
    (status, Bytes::from(serde_json::to_vec(value).unwrap_or_default()))
}

fn json_bytes(status: StatusCode, body: Bytes) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn bad_request(description: &str) -> Response {
    let (status, body) = json_response(
        StatusCode::BAD_REQUEST,
        &json!({ "error": "invalid_request", "error_description": description }),
    );
    json_bytes(status, body)
}

async fn token_endpoint(dev: DevIssuer, body: Bytes) -> Response {
    if body.len() > MAX_REQUEST_BYTES {
        return bad_request("the request body is too large");
    }
    let request: DevTokenRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(_) => {
            return bad_request(
                "expected a JSON object {sub, scope?, tenant_id?, region?, ttl_secs?, auth_time?, acr?, roles?, act?} \
                 with no other fields",
            );
        }
    };
    match dev.mint(&request).await {
        Ok(token) => match serde_json::to_value(&token) {
            Ok(value) => {
                let (status, body) = json_response(StatusCode::OK, &value);
                json_bytes(status, body)
            }
            Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        },
        Err(IssuerError::InvalidRequest(reason)) => bad_request(&reason),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
