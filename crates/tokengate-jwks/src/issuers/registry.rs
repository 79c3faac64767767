//! [`IssuerRegistry`]: which issuers a dynamic [`crate::Issuers`] trusts, and where their
//! keys come from; [`DiscoveryRegistry`], the one over OpenID Connect discovery.

#[cfg(feature = "http")]
use std::fmt;

#[cfg(feature = "http")]
use crate::JwksCache;
use crate::{JwksCacheBuilder, JwksError};

/// Decides which issuers are trusted in dynamic mode, and where their keys come from.
///
/// ```
/// use tokengate_core::KeySet;
/// use tokengate_jwks::{IssuerRegistry, JwksCache, JwksCacheBuilder, JwksError};
///
/// struct Tenants;
/// impl IssuerRegistry for Tenants {
///     fn is_trusted(&self, issuer: &str) -> bool {
///         issuer.starts_with("https://login.example/tenants/")
///     }
///     fn builder(&self, issuer: &str) -> Result<JwksCacheBuilder, JwksError> {
///         // e.g. JwksCache::builder(DiscoverySource::new(issuer, client.clone())?)
///         Ok(JwksCache::builder(KeySet::empty()))
///     }
/// }
/// ```
pub trait IssuerRegistry: Send + Sync + 'static {
    /// Whether tokens that name `issuer` may be verified at all. Called on the request
    /// path for issuers whose keys are not loaded: keep it cheap, with no I/O.
    fn is_trusted(&self, issuer: &str) -> bool;

    /// The cache for a trusted issuer; its keys are bound to `issuer` by [`crate::Issuers`].
    fn builder(&self, issuer: &str) -> Result<JwksCacheBuilder, JwksError>;
}

/// A registry that trusts the issuers a predicate accepts and finds their keys through
/// OpenID Connect discovery, sharing one [`crate::HttpClient`].
#[cfg(feature = "http")]
pub struct DiscoveryRegistry<P> {
    client: crate::HttpClient,
    trusted: P,
}

#[cfg(feature = "http")]
impl<P: Fn(&str) -> bool + Send + Sync + 'static> DiscoveryRegistry<P> {
    /// Trusts the issuers `trusted` accepts (e.g. an exact-match allowlist or a tenant
    /// URL pattern); never accept every issuer.
    pub fn new(client: crate::HttpClient, trusted: P) -> Self {
        DiscoveryRegistry { client, trusted }
    }
}

#[cfg(feature = "http")]
impl<P> fmt::Debug for DiscoveryRegistry<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DiscoveryRegistry").finish_non_exhaustive()
    }
}

#[cfg(feature = "http")]
impl<P: Fn(&str) -> bool + Send + Sync + 'static> IssuerRegistry for DiscoveryRegistry<P> {
    fn is_trusted(&self, issuer: &str) -> bool {
        (self.trusted)(issuer)
    }

    fn builder(&self, issuer: &str) -> Result<JwksCacheBuilder, JwksError> {
        Ok(JwksCache::builder(crate::DiscoverySource::new(issuer, self.client.clone())?))
    }
}
