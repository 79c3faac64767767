//! The quickstart's revocation: the store (in memory, or Redis shared by every instance),
//! the admin API on its own address, and the event intake routes on the API address.
//!
//! | variable | meaning | default |
//! | --- | --- | --- |
//! | `TOKENGATE_REDIS_URL` | revocations through Redis (`redis://127.0.0.1:6379`), shared by every instance on it | in memory |
//! | `TOKENGATE_REVOCATION_MAX_STALENESS_SECS` | past this without confirming its Redis mirror is current, an instance answers 503 | `30` |
//! | `TOKENGATE_ADMIN_BIND` | the admin API's address | `127.0.0.1:3010` |
//!
//! Admin API (a token of the API's issuer and audience with scope `tokengate:admin`):
//! `POST /revocations`, `GET /revocations`, `GET /health`. On the API address, without a
//! token: `POST /ssf/events` (Security Event Tokens, RFC 8935 push) and
//! `POST /oidc/backchannel-logout` (logout tokens), both signed by the API's issuer for the
//! API's audience.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use tokengate::axum::{AuthRejection, VerifiedToken};
use tokengate::core::{AuthError, ErrorKind, KeyResolver, RevocationCheck, Verified};
use tokengate::tower::{Authenticator, JwtAuthLayer};
use tokengate::{Algorithm, Verifier};
use tokengate_revocation::intake::{LogoutReceiver, SetReceiver};
use tokengate_revocation::{MemoryStore, RedisStore, RevocationStore, admin};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::{BoxError, REALM};

/// The admin API's address unless `TOKENGATE_ADMIN_BIND` says otherwise.
pub(crate) const DEFAULT_ADMIN_BIND: &str = "127.0.0.1:3010";
/// The scope the admin API requires.
pub(crate) const ADMIN_SCOPE: &str = "tokengate:admin";
/// The staleness bound unless `TOKENGATE_REVOCATION_MAX_STALENESS_SECS` says otherwise.
pub(crate) const DEFAULT_MAX_STALENESS: Duration = Duration::from_secs(30);

/// The store every part shares.
pub(crate) type Store = Arc<dyn RevocationStore>;

/// What the environment configures.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    /// `TOKENGATE_REDIS_URL`: `None` keeps revocations in memory.
    pub(crate) redis_url: Option<String>,
    /// `TOKENGATE_REVOCATION_MAX_STALENESS_SECS`.
    pub(crate) max_staleness: Duration,
    /// `TOKENGATE_ADMIN_BIND`; `None` serves no admin API. Unset, the binary serves it on
    /// [`DEFAULT_ADMIN_BIND`] ([`Settings::or_default_admin_bind`], called by `main`), and
    /// in-process tests serve none unless they ask, so they never race for the port.
    pub(crate) admin_bind: Option<String>,
}

impl Settings {
    /// In memory, no admin API.
    pub(crate) fn embedded() -> Settings {
        Settings { redis_url: None, max_staleness: DEFAULT_MAX_STALENESS, admin_bind: None }
    }

    /// Reads the variables through `var` (already trimmed, empty values unset).
    pub(crate) fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Settings, String> {
        let max_staleness = match var("TOKENGATE_REVOCATION_MAX_STALENESS_SECS") {
            None => DEFAULT_MAX_STALENESS,
            Some(secs) => match secs.parse::<u64>() {
                Ok(secs) if secs > 0 => Duration::from_secs(secs),
                _ => {
                    return Err(format!(
                        "TOKENGATE_REVOCATION_MAX_STALENESS_SECS must be a positive integer, not {secs:?}"
                    ));
                }
            },
        };
        Ok(Settings { redis_url: var("TOKENGATE_REDIS_URL"), max_staleness, admin_bind: var("TOKENGATE_ADMIN_BIND") })
    }

    /// The admin API on [`DEFAULT_ADMIN_BIND`] when `TOKENGATE_ADMIN_BIND` is unset.
    pub(crate) fn or_default_admin_bind(mut self) -> Settings {
        self.admin_bind.get_or_insert_with(|| DEFAULT_ADMIN_BIND.to_owned());
        self
    }
}

/// The started revocation parts.
pub(crate) struct Running {
    /// The store (memory or Redis).
    #[allow(dead_code)] // read by tests/quickstart_revocation.rs
    pub(crate) store: Store,
    /// `http://ADDR` of the admin API, when served.
    pub(crate) admin_url: Option<String>,
    /// The admin server, when served; it runs until aborted.
    pub(crate) admin_server: Option<JoinHandle<std::io::Result<()>>>,
}

/// The store: Redis when configured (the start fails when it cannot be reached), else memory.
pub(crate) async fn store(settings: &Settings) -> Result<Store, BoxError> {
    Ok(match &settings.redis_url {
        Some(url) => Arc::new(
            RedisStore::builder(url.clone())
                .max_staleness(settings.max_staleness)
                .connect()
                .await
                .map_err(|e| format!("TOKENGATE_REDIS_URL: {e}"))?,
        ),
        None => Arc::new(MemoryStore::new()),
    })
}

/// `POST /ssf/events` and `POST /oidc/backchannel-logout`: tokens signed by `issuer`'s keys
/// for `audience`. Logout tokens must be typed `logout+jwt`, SETs `secevent+jwt`.
pub(crate) fn intake_routes(
    keys: impl KeyResolver + Clone,
    issuer: &str,
    audience: &str,
    algorithms: &[Algorithm],
    store: &Store,
) -> Result<Router, BoxError> {
    let set_verifier = Verifier::builder(keys.clone())
        .issuer(issuer)
        .audience(audience)
        .algorithms(algorithms.iter().copied())
        .typ("secevent+jwt")
        .allow_missing_exp()
        .build()?;
    let logout_verifier = Verifier::builder(keys)
        .issuer(issuer)
        .audience(audience)
        .algorithms(algorithms.iter().copied())
        .typ("logout+jwt")
        .require(["iat", "exp"])
        .build()?;
    Ok(SetReceiver::new(set_verifier, Arc::clone(store))
        .router("/ssf/events")
        .merge(LogoutReceiver::new(logout_verifier, Arc::clone(store)).router("/oidc/backchannel-logout")))
}

/// Serves the admin API when configured: `auth` verifies the caller's token (revocation
/// included, except that a stale mirror does not lock operators out of `/health`), which
/// must carry scope `tokengate:admin`.
pub(crate) async fn serve_admin(
    settings: &Settings,
    verifier: Verifier,
    store: Store,
) -> Result<(Option<String>, Option<JoinHandle<std::io::Result<()>>>), BoxError> {
    let Some(bind) = &settings.admin_bind else { return Ok((None, None)) };
    let listener = TcpListener::bind(bind).await.map_err(|e| format!("cannot listen on {bind} (admin): {e}"))?;
    let url = format!("http://{}", listener.local_addr()?);
    let auth = Authenticator::builder(verifier).revocation(RevokedOnly(Arc::clone(&store))).build();
    let app: Router = admin::router(store)
        .route_layer(middleware::from_fn(require_admin))
        .route_layer(JwtAuthLayer::from_authenticator(auth).realm(REALM));
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((Some(url), Some(server)))
}

/// 403 `insufficient_scope` without scope `tokengate:admin`.
async fn require_admin(token: VerifiedToken, request: Request, next: Next) -> Result<Response, AuthRejection> {
    token.require_scope(ADMIN_SCOPE)?;
    Ok(next.run(request).await)
}

/// A revocation check that refuses revoked tokens but lets a stale mirror pass: operators
/// must reach the admin API's `/health` while Redis is away (writes answer 503 anyway).
struct RevokedOnly(Store);

impl RevocationCheck for RevokedOnly {
    fn check(&self, token: &Verified) -> Result<(), AuthError> {
        match self.0.check(token) {
            Err(e) if e.kind() == ErrorKind::RevocationUnavailable => Ok(()),
            other => other,
        }
    }
}
