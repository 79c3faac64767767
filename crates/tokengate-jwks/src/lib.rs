//! # tokengate-jwks
//!
//! Key sources and the hot-swappable JWKS cache of tokengate.
//!
//! - [`KeySource`]: where keys come from: a static [`tokengate_core::KeySet`], a PEM
//!   file or folder ([`PemSource`]), an environment variable ([`EnvSource`]), a JWKS
//!   URL ([`UrlSource`]) or OpenID Connect discovery ([`DiscoverySource`]), or your own
//!   (a KMS, Parameter Store, Vault).
//! - [`JwksCache`]: a [`tokengate_core::KeyResolver`] whose lookup is two atomic loads, a
//!   clock read (the `max_stale` deadline) and a hash lookup. A background task refreshes the keys (honouring
//!   `Cache-Control: max-age` within bounds, retrying with jittered backoff); an unknown
//!   `kid` causes at most one refresh per cooldown for all callers together; on failure
//!   the last good keys keep serving up to `max_stale` past the refresh that was due,
//!   then verifications fail with `KeysUnavailable`. [`JwksCache::deny_kid`] drops a
//!   compromised key at once; [`JwksCache::health`] feeds a readiness probe.
//! - [`Issuers`]: many issuers, each with its own cache and keys bound to it, in a static
//!   map or created on demand for trusted issuers (an [`IssuerRegistry`] sees only
//!   canonical issuer URLs, [`IssuerUrl`]; loads of new issuers bounded in number and
//!   rate, issuers that loaded before exempt; [`Issuers::deny_kid`] survives reloads).
//! - [`HttpClient`]: the one HTTP client of the URL and discovery sources: 5 s timeout,
//!   512 KiB body cap, no redirect to another host, `https` only except to loopback.
//!   A `jwks_uri` learned by discovery must be `https` (plain http only on the origin of
//!   a plain-http issuer). URLs from token headers (`jku`, `x5u`) are never fetched;
//!   URLs are shown in logs, errors and health without credentials or query. Symmetric
//!   (`oct`) keys of a key set fetched over HTTP are skipped.
//!
//! ```
//! use tokengate_core::{Algorithm, Key, KeySet, Verifier};
//! use tokengate_jwks::JwksCache;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let key = Key::hmac(Algorithm::HS256, &[7; 32])?.with_kid("k1");
//! let cache = JwksCache::builder(KeySet::new([key])?).bind_issuer("https://issuer.example").build().await?;
//! assert!(cache.health().is_ready());
//! let verifier = Verifier::builder(cache.clone())
//!     .issuer("https://issuer.example")
//!     .audience("orders-api")
//!     .algorithms([Algorithm::HS256])
//!     .build()?;
//! # let _ = verifier;
//! # Ok(()) }
//! ```
//!
//! Cargo features: `aws-lc-rs` (default) or `rust-crypto`, the signature backend of
//! tokengate-core; `http` (default) for [`UrlSource`], [`DiscoverySource`],
//! [`DiscoveryRegistry`] and [`HttpClient`]; `rustls` (default) for HTTPS with rustls and
//! the aws-lc-rs provider (without it, only plain `http` to loopback can be fetched, or
//! bring a `reqwest::Client` of your own through `HttpClient::with_client`).

mod cache;
mod error;
#[cfg(feature = "http")]
mod fetch;
mod health;
mod issuers;
mod log;
pub mod metrics;
mod readiness;
mod refresh;
mod retry;
mod source;
mod sync;

pub use cache::{
    DEFAULT_COOLDOWN, DEFAULT_FETCH_TIMEOUT, DEFAULT_MAX_REFRESH_INTERVAL, DEFAULT_MAX_STALE,
    DEFAULT_MIN_REFRESH_INTERVAL, DEFAULT_NEGATIVE_CACHE_SIZE, DEFAULT_REFRESH_INTERVAL, DEFAULT_RETRY_INITIAL,
    DEFAULT_RETRY_MAX, JwksCache, JwksCacheBuilder, MAX_DURATION,
};
pub use error::JwksError;
#[cfg(feature = "http")]
pub use fetch::{DEFAULT_MAX_BODY, DEFAULT_TIMEOUT, HttpClient};
pub use health::Health;
#[cfg(feature = "http")]
pub use issuers::DiscoveryRegistry;
pub use issuers::{
    DEFAULT_FAILURE_COOLDOWN, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_ISSUERS, DEFAULT_MAX_PENDING_LOADS,
    DEFAULT_NEW_ISSUER_INTERVAL, DEFAULT_NEW_ISSUER_LOADS, DynamicIssuersBuilder, IssuerRegistry, IssuerUrl,
    IssuerUrlError, Issuers,
};
pub use source::{DEFAULT_PEM_POLL_INTERVAL, EnvSource, FetchFuture, Fetched, KeySource, PemSource};
#[cfg(feature = "http")]
pub use source::{DISCOVERY_TTL, DiscoverySource, UrlSource};
