//! [`IssuerRegistry`]: which issuers a dynamic [`crate::Issuers`] trusts, and where their
//! keys come from; [`DiscoveryRegistry`], the one over OpenID Connect discovery.

#[cfg(feature = "http")]
use std::fmt;

use super::canonical::IssuerUrl;
#[cfg(feature = "http")]
use crate::JwksCache;
use crate::{JwksCacheBuilder, JwksError};

/// Decides which issuers are trusted in dynamic mode, and where their keys come from.
///
/// The issuer it is asked about comes from an unverified token, but only ever in
/// canonical form ([`IssuerUrl`]): dot segments (plain or percent-encoded), user names,
/// queries, fragments, backslashes and other forms a URL parser would rewrite are refused
/// before the registry is asked. A prefix test is then safe when the prefix ends with a
/// `/` (without it, `https://login.example/tenants-evil` passes a test for
/// `https://login.example/tenants`).
///
/// ```
/// use tokengate_core::KeySet;
/// use tokengate_jwks::{IssuerRegistry, IssuerUrl, JwksCache, JwksCacheBuilder, JwksError};
///
/// struct Tenants;
/// impl IssuerRegistry for Tenants {
///     fn is_trusted(&self, issuer: &IssuerUrl<'_>) -> bool {
///         // The prefix ends with a slash; the issuer has no `..` to climb out of it.
///         issuer.as_str().starts_with("https://login.example/tenants/")
///     }
///     fn builder(&self, issuer: &IssuerUrl<'_>) -> Result<JwksCacheBuilder, JwksError> {
///         // e.g. JwksCache::builder(DiscoverySource::new(issuer.as_str(), client.clone())?)
///         Ok(JwksCache::builder(KeySet::empty()))
///     }
/// }
/// # let tenants = Tenants;
/// # assert!(tenants.is_trusted(&IssuerUrl::parse("https://login.example/tenants/acme").unwrap()));
/// # assert!(!tenants.is_trusted(&IssuerUrl::parse("https://login.example/tenants-evil").unwrap()));
/// # assert!(IssuerUrl::parse("https://login.example/tenants/../admin").is_err());
/// ```
pub trait IssuerRegistry: Send + Sync + 'static {
    /// Whether tokens that name `issuer` may be verified at all. Called on the request
    /// path for issuers whose keys are not loaded: keep it cheap, with no I/O.
    fn is_trusted(&self, issuer: &IssuerUrl<'_>) -> bool;

    /// The cache for a trusted issuer; its keys are bound to `issuer` by [`crate::Issuers`].
    fn builder(&self, issuer: &IssuerUrl<'_>) -> Result<JwksCacheBuilder, JwksError>;
}

/// A registry that trusts the issuers a predicate accepts and finds their keys through
/// OpenID Connect discovery, sharing one [`crate::HttpClient`].
#[cfg(feature = "http")]
pub struct DiscoveryRegistry<P> {
    client: crate::HttpClient,
    trusted: P,
}

#[cfg(feature = "http")]
impl<P: Fn(&IssuerUrl<'_>) -> bool + Send + Sync + 'static> DiscoveryRegistry<P> {
    /// Trusts the issuers `trusted` accepts (e.g. an exact-match allowlist or a tenant
    /// URL pattern, its prefix ending with `/`); never accept every issuer. `trusted`
    /// sees canonical issuers only (see [`IssuerRegistry`]).
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
impl<P: Fn(&IssuerUrl<'_>) -> bool + Send + Sync + 'static> IssuerRegistry for DiscoveryRegistry<P> {
    fn is_trusted(&self, issuer: &IssuerUrl<'_>) -> bool {
        (self.trusted)(issuer)
    }

    fn builder(&self, issuer: &IssuerUrl<'_>) -> Result<JwksCacheBuilder, JwksError> {
        Ok(JwksCache::builder(crate::DiscoverySource::new(issuer.as_str(), self.client.clone())?))
    }
}
