//! Key sources: where a [`crate::JwksCache`] gets its keys from.
//!
//! A [`KeySource`] fetches a whole [`KeySet`] plus caching hints. The sources shipped
//! here are a static [`KeySet`], a PEM file or folder ([`PemSource`]), an environment
//! variable ([`EnvSource`]), a JWKS URL ([`UrlSource`]) and OpenID Connect discovery
//! ([`DiscoverySource`]). Implement the trait for a KMS, Parameter Store or Vault.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokengate_core::{KeySet, SkippedKey};

use crate::JwksError;

#[cfg(feature = "http")]
mod discovery;
mod env;
mod pem;
#[cfg(feature = "http")]
mod url;

#[cfg(feature = "http")]
pub use discovery::{DISCOVERY_TTL, DiscoverySource};
pub use env::EnvSource;
pub use pem::{DEFAULT_PEM_POLL_INTERVAL, PemSource};
#[cfg(feature = "http")]
pub use url::UrlSource;

/// The future a [`KeySource`] returns.
pub type FetchFuture<'a> = Pin<Box<dyn Future<Output = Result<Fetched, JwksError>> + Send + 'a>>;

/// What a fetch delivers: the keys, the keys that were skipped as unusable, and when
/// the source would like to be asked again.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Fetched {
    /// The keys.
    pub keys: KeySet,
    /// Keys left out of the set, and why (logged by the cache with their `kid`).
    pub skipped: Vec<SkippedKey>,
    /// When to fetch again (e.g. from `Cache-Control: max-age`); the cache clamps it to
    /// its configured bounds. `None`: the cache's default interval.
    pub refresh_in: Option<Duration>,
}

impl Fetched {
    /// Keys without hints.
    pub fn new(keys: KeySet) -> Fetched {
        Fetched { keys, skipped: Vec::new(), refresh_in: None }
    }

    /// Sets the keys that were skipped.
    pub fn skipped(mut self, skipped: Vec<SkippedKey>) -> Fetched {
        self.skipped = skipped;
        self
    }

    /// Sets when to fetch again.
    pub fn refresh_in(mut self, after: Option<Duration>) -> Fetched {
        self.refresh_in = after;
        self
    }
}

/// Somewhere keys come from. Object safe: the cache holds a `Box<dyn KeySource>`.
///
/// A source returns the whole current set on every fetch. Returning a clone of the same
/// [`KeySet`] (same generation) when nothing changed lets the cache skip the swap.
///
/// ```
/// use tokengate_core::{Algorithm, Key, KeySet};
/// use tokengate_jwks::{FetchFuture, Fetched, JwksError, KeySource};
///
/// /// Keys from a secrets manager (here: a constant).
/// struct Vault;
///
/// impl KeySource for Vault {
///     fn fetch(&self) -> FetchFuture<'_> {
///         Box::pin(async {
///             let key = Key::hmac(Algorithm::HS256, &[7; 32]).map_err(JwksError::InvalidKey)?;
///             let set = KeySet::new([key.with_kid("v1")]).map_err(JwksError::InvalidKey)?;
///             Ok(Fetched::new(set))
///         })
///     }
/// }
/// ```
pub trait KeySource: Send + Sync + 'static {
    /// Fetches the current key set.
    fn fetch(&self) -> FetchFuture<'_>;

    /// A short description for logs (e.g. the URL). Never key material.
    fn describe(&self) -> String {
        "custom key source".to_owned()
    }
}

/// A fixed key set: never changes.
impl KeySource for KeySet {
    fn fetch(&self) -> FetchFuture<'_> {
        let fetched = Fetched::new(self.clone());
        Box::pin(async move { Ok(fetched) })
    }

    fn describe(&self) -> String {
        "static keys".to_owned()
    }
}

impl<S: KeySource + ?Sized> KeySource for Box<S> {
    fn fetch(&self) -> FetchFuture<'_> {
        (**self).fetch()
    }

    fn describe(&self) -> String {
        (**self).describe()
    }
}

impl<S: KeySource + ?Sized> KeySource for Arc<S> {
    fn fetch(&self) -> FetchFuture<'_> {
        (**self).fetch()
    }

    fn describe(&self) -> String {
        (**self).describe()
    }
}

/// Parses a JWKS document into a [`Fetched`], refusing one without any usable key.
pub(crate) fn parse_jwks(body: &[u8]) -> Result<Fetched, JwksError> {
    let (keys, skipped) = KeySet::from_jwks_json(body).map_err(JwksError::InvalidJwks)?;
    if keys.is_empty() {
        return Err(JwksError::NoUsableKeys { skipped: skipped.len() });
    }
    Ok(Fetched::new(keys).skipped(skipped))
}

/// Why a symmetric key of a published key set is skipped.
#[cfg(feature = "http")]
const PUBLISHED_SYMMETRIC_KEY: &str = "symmetric key (kty oct, HS256/384/512) in a key set fetched over HTTP: \
     whoever can read the key set could sign tokens; configure HMAC secrets with EnvSource or a static KeySet";

/// [`parse_jwks`] for a published key set (URL, discovery): symmetric keys are skipped.
#[cfg(feature = "http")]
pub(crate) fn parse_public_jwks(body: &[u8]) -> Result<Fetched, JwksError> {
    use tokengate_core::{Algorithm, ConfigError};
    let (keys, mut skipped) = KeySet::from_jwks_json(body).map_err(JwksError::InvalidJwks)?;
    let is_symmetric = |alg: Algorithm| matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512);
    let keys = if keys.keys().any(|k| is_symmetric(k.algorithm())) {
        let mut public = Vec::with_capacity(keys.len());
        for key in keys.keys() {
            if is_symmetric(key.algorithm()) {
                let reason = ConfigError::UnsupportedKey(PUBLISHED_SYMMETRIC_KEY.to_owned());
                skipped.push(SkippedKey { kid: key.kid().map(str::to_owned), reason });
            } else {
                public.push(key.clone());
            }
        }
        KeySet::new(public).map_err(JwksError::InvalidJwks)?
    } else {
        keys
    };
    if keys.is_empty() {
        return Err(JwksError::NoUsableKeys { skipped: skipped.len() });
    }
    Ok(Fetched::new(keys).skipped(skipped))
}

/// Checks a JSON document with core's strict rules (no duplicate members, bounded depth).
/// The reason is worded for operators: the error's own message is the client-facing one
/// of a malformed access token.
#[cfg(feature = "http")]
pub(crate) fn strict_json(body: &[u8]) -> Result<(), String> {
    use tokengate_core::ErrorKind;
    tokengate_core::check_strict(body).map_err(|e| {
        match e.kind() {
            ErrorKind::DuplicateMember => "duplicate member name",
            ErrorKind::NestingTooDeep => "nesting too deep",
            _ => "not valid JSON",
        }
        .to_owned()
    })
}
