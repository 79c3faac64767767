//! [`Health`]: the state of one cache, readable as a struct and usable as a readiness check.

use std::time::{Duration, SystemTime};

use crate::JwksError;

/// A snapshot of a [`crate::JwksCache`]'s state.
///
/// ```no_run
/// # async fn run(cache: tokengate_jwks::JwksCache) {
/// let health = cache.health();
/// if !health.is_ready() {
///     // answer the readiness probe with 503
/// }
/// # }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Health {
    /// The key source, as described for logs (a URL, an issuer, a path).
    pub source: String,
    /// The issuer the keys are bound to, if any.
    pub issuer: Option<String>,
    /// The number of keys being served.
    pub key_count: usize,
    /// The generation of the key set being served.
    pub generation: u64,
    /// Time since the keys were last fetched successfully.
    pub key_set_age: Duration,
    /// When the last successful fetch finished.
    pub last_success: Option<SystemTime>,
    /// When the last failed fetch finished.
    pub last_failure: Option<SystemTime>,
    /// Why the last failed fetch failed.
    pub last_error: Option<JwksError>,
    /// Failed fetches since the last success.
    pub consecutive_failures: u32,
    /// Whether the keys served are no longer confirmed by the source (the last fetch
    /// failed), while still within `max_stale`.
    pub serving_stale: bool,
    /// Whether the keys were not refreshed within `max_stale` after a refresh was due
    /// (and had `fetch_timeout` to finish): every verification then fails with
    /// `KeysUnavailable`.
    pub unavailable: bool,
    /// Lookups of an unknown `kid` since the cache was built.
    pub unknown_kid_total: u64,
    /// Lookups of an unknown `kid` per second, measured between the two latest reads of
    /// the health (at least one second apart).
    pub unknown_kid_rate: f64,
}

impl Health {
    /// Whether the cache can verify tokens: it has keys and they are not past `max_stale`.
    pub fn is_ready(&self) -> bool {
        !self.unavailable && self.key_count > 0
    }
}
