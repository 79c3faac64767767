//! [`Issuers`]: picks the key set by the token's (unverified) issuer.
//!
//! - [`static_map`]: a fixed map of caches;
//! - [`dynamic`]: caches created on first use for trusted issuers ([`registry`]), bounded
//!   by [`builder`], the budget of new loads ([`limiter`]), and dropped when idle
//!   ([`sweep`]).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokengate_core::{AuthError, ErrorKind, Key, KeyQuery, KeyResolver, RefreshFuture};

use crate::retry::retry_after_secs;
use crate::{JwksCache, JwksError};

mod builder;
mod canonical;
mod dynamic;
mod limiter;
mod registry;
mod static_map;
mod sweep;

pub use builder::{
    DEFAULT_FAILURE_COOLDOWN, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_ISSUERS, DEFAULT_MAX_PENDING_LOADS,
    DEFAULT_NEW_ISSUER_INTERVAL, DEFAULT_NEW_ISSUER_LOADS, DynamicIssuersBuilder,
};
pub use canonical::{IssuerUrl, IssuerUrlError};
use dynamic::Dynamic;
#[cfg(feature = "http")]
pub use registry::DiscoveryRegistry;
pub use registry::IssuerRegistry;
use static_map::StaticIssuers;

/// A [`KeyResolver`] over many issuers: the token's unverified `iss` picks the issuer's
/// [`JwksCache`], whose keys are bound to that issuer, so after the signature the
/// verifier matches `iss` exactly and one tenant's keys never verify another's tokens,
/// even when `kid`s collide.
///
/// Two modes: a static map ([`Issuers::from_caches`]) and a dynamic one
/// ([`Issuers::dynamic`]) for multi-tenant services, where caches are created on first
/// use for trusted issuers, bounded in number and dropped when idle.
///
/// In dynamic mode the `iss` that starts a load is unverified: anyone can send tokens
/// naming many trusted issuers. Loads are therefore bounded: at most
/// [`DynamicIssuersBuilder::max_pending_loads`] at once, at most
/// [`DynamicIssuersBuilder::new_issuer_rate`] new ones over time, and an issuer whose
/// load failed is not tried again within the failure cooldown. An issuer that has loaded
/// successfully before loads again (after an idle sweep or an eviction) outside the
/// budget of new ones, so a flood of random issuers cannot keep known tenants out.
///
/// A token whose issuer's keys cannot be had for these reasons fails with
/// [`ErrorKind::KeysUnavailable`] (503, with a `retry_after`) when the issuer has loaded
/// before (its provider is down), and with [`ErrorKind::IssuerUnavailable`] (also 503,
/// but counted by the failure rate limiter) when it never has. A token naming an
/// untrusted issuer, an issuer that is not a canonical URL ([`IssuerUrl`]), or none,
/// fails with [`ErrorKind::InvalidIssuer`].
#[derive(Clone)]
pub struct Issuers {
    inner: Arc<Inner>,
}

// One `Inner` per `Issuers`, behind an `Arc`: its size does not matter, and boxing the
// dynamic state would add a pointer chase to every lookup.
#[allow(clippy::large_enum_variant)]
enum Inner {
    Static(StaticIssuers),
    Dynamic(Dynamic),
}

impl fmt::Debug for Issuers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.inner {
            Inner::Static(map) => f.debug_struct("Issuers").field("issuers", &map.loaded()).finish(),
            Inner::Dynamic(d) => f.debug_struct("Issuers").field("loaded", &d.loaded().len()).finish(),
        }
    }
}

pub(crate) fn no_iss() -> AuthError {
    AuthError::with_detail(ErrorKind::InvalidIssuer, "token has no iss to pick keys by")
}

pub(crate) fn untrusted() -> AuthError {
    AuthError::with_detail(ErrorKind::InvalidIssuer, "issuer is not trusted")
}

/// A trusted issuer whose keys have loaded before but cannot be had now (its provider
/// is down): 503, retry after `wait`.
pub(crate) fn unavailable(detail: &'static str, wait: Duration) -> AuthError {
    AuthError::with_detail(ErrorKind::KeysUnavailable, detail).retry_after(retry_after_secs(wait))
}

/// A trusted issuer that has never loaded and cannot be loaded now: 503, retry after
/// `wait`, counted by the failure rate limiter.
pub(crate) fn issuer_unavailable(detail: &'static str, wait: Duration) -> AuthError {
    AuthError::with_detail(ErrorKind::IssuerUnavailable, detail).retry_after(retry_after_secs(wait))
}

impl Issuers {
    /// A static map from the caches' own issuers (each must be built with
    /// [`crate::JwksCacheBuilder::bind_issuer`] or [`JwksCache::discover`]).
    pub fn from_caches(caches: impl IntoIterator<Item = JwksCache>) -> Result<Issuers, JwksError> {
        Ok(Issuers { inner: Arc::new(Inner::Static(StaticIssuers::new(caches)?)) })
    }

    /// A dynamic resolver: caches are created on first use for issuers `registry`
    /// trusts, bound to them.
    pub fn dynamic(registry: impl IssuerRegistry) -> DynamicIssuersBuilder {
        DynamicIssuersBuilder::new(Box::new(registry))
    }

    /// The cache of `issuer`, if loaded.
    pub fn get(&self, issuer: &str) -> Option<JwksCache> {
        match &*self.inner {
            Inner::Static(map) => map.get(issuer),
            Inner::Dynamic(d) => d.get(issuer),
        }
    }

    /// The issuers whose caches are loaded.
    pub fn loaded(&self) -> Vec<String> {
        match &*self.inner {
            Inner::Static(map) => map.loaded(),
            Inner::Dynamic(d) => d.loaded(),
        }
    }

    /// Removes `kid` of `issuer` at once and keeps it out of that issuer's keys (a
    /// compromised key), even while its source still lists it. In dynamic mode the
    /// denial is kept here and applied to every cache created for `issuer`, so it holds
    /// when the issuer is dropped (idle, evicted) and loaded again, and it may be given
    /// before the issuer is first loaded. Returns whether the issuer's loaded cache was
    /// serving `kid`.
    pub fn deny_kid(&self, issuer: &str, kid: &str) -> bool {
        match &*self.inner {
            Inner::Static(map) => map.get(issuer).is_some_and(|cache| cache.deny_kid(kid)),
            Inner::Dynamic(d) => d.deny_kid(issuer, kid),
        }
    }

    /// Lifts [`Issuers::deny_kid`]: `kid` may be served again from the next key set the
    /// issuer's source yields. Returns whether `kid` was denied for `issuer`.
    pub fn allow_kid(&self, issuer: &str, kid: &str) -> bool {
        match &*self.inner {
            Inner::Static(map) => map.get(issuer).is_some_and(|cache| cache.allow_kid(kid)),
            Inner::Dynamic(d) => d.allow_kid(issuer, kid),
        }
    }
}

impl KeyResolver for Issuers {
    fn resolve(&self, query: &KeyQuery<'_>) -> Result<Key, AuthError> {
        let issuer = query.issuer.ok_or_else(no_iss)?;
        match &*self.inner {
            Inner::Static(map) => map.resolve(issuer, query),
            Inner::Dynamic(d) => d.resolve(issuer, query),
        }
    }

    fn refresh_unknown(&self, query: &KeyQuery<'_>) -> Option<RefreshFuture> {
        let issuer = query.issuer?;
        match &*self.inner {
            Inner::Static(map) => map.refresh_unknown(issuer, query),
            Inner::Dynamic(_) => Dynamic::refresh_unknown(&self.inner, issuer, query),
        }
    }
}
