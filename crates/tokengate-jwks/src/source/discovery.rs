//! [`DiscoverySource`]: OpenID Connect discovery, `issuer` -> `jwks_uri` -> keys.

use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use reqwest::Url;
use tokio::time::Instant;

use super::url::fetch_jwks;
use super::{FetchFuture, Fetched, KeySource};
use crate::fetch::{redact, redact_str, same_origin};
use crate::sync::lock;
use crate::{HttpClient, JwksError};

/// How long a discovered `jwks_uri` is used before the discovery document is read again.
pub const DISCOVERY_TTL: Duration = Duration::from_secs(3600);

/// Keys found through OpenID Connect discovery: `{issuer}/.well-known/openid-configuration`
/// names the `jwks_uri`, whose keys are fetched and bound to the issuer.
///
/// The document's `issuer` must equal the configured issuer exactly (OpenID Connect
/// Discovery 1.0, section 4.3), or the fetch fails with [`JwksError::IssuerMismatch`].
/// The discovered `jwks_uri` must be `https`, or plain `http` on the issuer's own origin
/// when the issuer itself is plain `http` (loopback, or with
/// [`HttpClient::allow_insecure_http`]); otherwise the fetch fails with
/// [`JwksError::InsecureUrl`]. The `jwks_uri` is kept for an hour and re-discovered sooner when fetching it fails.
/// Every returned key is bound to the issuer ([`tokengate_core::Key::bind_issuer`]).
/// Symmetric keys (`kty: "oct"`) in the key set are skipped, as by [`crate::UrlSource`].
pub struct DiscoverySource {
    issuer: String,
    /// The issuer, parsed: the origin a plain-http `jwks_uri` must share.
    issuer_url: Url,
    config_url: Url,
    client: HttpClient,
    jwks_uri: Mutex<Option<(Url, Instant)>>,
}

#[derive(serde::Deserialize)]
struct Metadata {
    issuer: String,
    jwks_uri: String,
}

impl DiscoverySource {
    /// A source for `issuer` (e.g. `https://login.example/tenant-1`).
    pub fn new(issuer: &str, client: HttpClient) -> Result<DiscoverySource, JwksError> {
        let parsed = client.check_url(issuer)?;
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(JwksError::Config(format!("issuer {:?} has a query or fragment", redact_str(issuer))));
        }
        let config = format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'));
        let config_url = client.check_url(&config)?;
        Ok(DiscoverySource {
            issuer: issuer.to_owned(),
            issuer_url: parsed,
            config_url,
            client,
            jwks_uri: Mutex::new(None),
        })
    }

    /// The configured issuer.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    fn cached(&self) -> Option<Url> {
        let guard = lock(&self.jwks_uri);
        guard.as_ref().filter(|(_, at)| at.elapsed() < DISCOVERY_TTL).map(|(url, _)| url.clone())
    }

    fn remember(&self, url: Option<Url>) {
        let mut guard = lock(&self.jwks_uri);
        *guard = url.map(|u| (u, Instant::now()));
    }

    async fn discover(&self) -> Result<Url, JwksError> {
        let doc = self.client.get(&self.config_url).await?;
        crate::source::strict_json(&doc.body).map_err(JwksError::InvalidDiscovery)?;
        let meta: Metadata =
            serde_json::from_slice(&doc.body).map_err(|e| JwksError::InvalidDiscovery(e.to_string()))?;
        if meta.issuer != self.issuer {
            return Err(JwksError::IssuerMismatch { expected: self.issuer.clone(), found: meta.issuer });
        }
        let url = self.client.check_url(&meta.jwks_uri)?;
        self.check_discovered(&url)?;
        self.remember(Some(url.clone()));
        Ok(url)
    }

    /// A `jwks_uri` learned from the (remote) discovery document must be `https`: the
    /// exceptions for plain http that hold for URLs the operator configured (loopback,
    /// [`HttpClient::allow_insecure_http`]) would otherwise let whoever serves the
    /// document point the fetch at any local service over plain http. Plain http is
    /// accepted only on the very origin of an issuer that is itself plain http (a local
    /// or sidecar identity provider the operator configured).
    fn check_discovered(&self, url: &Url) -> Result<(), JwksError> {
        if url.scheme() == "https" || (self.issuer_url.scheme() == "http" && same_origin(&self.issuer_url, url)) {
            return Ok(());
        }
        Err(JwksError::InsecureUrl(format!(
            "discovered jwks_uri {}: must be https (plain http only on the origin of a plain-http issuer)",
            redact(url)
        )))
    }

    async fn load(&self) -> Result<Fetched, JwksError> {
        let fetched = match self.cached() {
            Some(url) => match fetch_jwks(&self.client, &url).await {
                Ok(fetched) => fetched,
                Err(_) => {
                    self.remember(None);
                    fetch_jwks(&self.client, &self.discover().await?).await?
                }
            },
            None => fetch_jwks(&self.client, &self.discover().await?).await?,
        };
        let bound = fetched.keys.bind_issuer(&self.issuer);
        Ok(Fetched { keys: bound, ..fetched })
    }
}

impl fmt::Debug for DiscoverySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let jwks_uri = self.cached().map(|url| redact(&url));
        f.debug_struct("DiscoverySource")
            .field("issuer", &redact_str(&self.issuer))
            .field("config_url", &redact(&self.config_url))
            .field("jwks_uri", &jwks_uri)
            .field("client", &self.client)
            .finish()
    }
}

impl KeySource for DiscoverySource {
    fn fetch(&self) -> FetchFuture<'_> {
        Box::pin(self.load())
    }

    fn describe(&self) -> String {
        format!("OIDC discovery {}", redact_str(&self.issuer))
    }
}
