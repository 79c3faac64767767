//! [`Health`]: the state of one cache, readable as a struct and usable as a readiness check.

use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use crate::JwksError;
use crate::cache::Shared;
use crate::sync::lock;

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

/// What the refresh task records for [`Health`].
#[derive(Debug)]
pub(crate) struct HealthState {
    pub(crate) last_success: Option<SystemTime>,
    pub(crate) last_success_at: Instant,
    pub(crate) last_failure: Option<SystemTime>,
    pub(crate) last_error: Option<JwksError>,
    pub(crate) consecutive_failures: u32,
    /// When the unknown-kid rate was last measured, the total then, and the rate.
    rate_sample: (Instant, u64, f64),
}

impl HealthState {
    /// The state after the first, successful fetch at `now`.
    pub(crate) fn new(now: Instant) -> HealthState {
        HealthState {
            last_success: Some(SystemTime::now()),
            last_success_at: now,
            last_failure: None,
            last_error: None,
            consecutive_failures: 0,
            rate_sample: (now, 0, 0.0),
        }
    }
}

impl Shared {
    /// The cache's health (see [`crate::JwksCache::health`]).
    pub(crate) fn health(&self) -> Health {
        let shared = self;
        let current = shared.current.load();
        let total = shared.unknown_kids.load(Ordering::Relaxed);
        let now = Instant::now();
        let unavailable = current.unavailable || shared.past_max_stale(now);
        let mut state = lock(&shared.health);
        let (at, count, rate) = state.rate_sample;
        let elapsed = now.saturating_duration_since(at);
        let rate = if elapsed >= Duration::from_secs(1) {
            #[allow(clippy::cast_precision_loss)]
            let fresh = total.saturating_sub(count) as f64 / elapsed.as_secs_f64();
            state.rate_sample = (now, total, fresh);
            fresh
        } else {
            rate
        };
        let key_set_age = now.saturating_duration_since(state.last_success_at);
        let serving_stale = state.consecutive_failures > 0 && !unavailable;
        crate::metrics::state(&shared.name, key_set_age, serving_stale);
        Health {
            source: shared.name.clone(),
            issuer: shared.issuer.as_deref().map(str::to_owned),
            key_count: current.keys.len(),
            generation: current.keys.generation(),
            key_set_age,
            last_success: state.last_success,
            last_failure: state.last_failure,
            last_error: state.last_error.clone(),
            consecutive_failures: state.consecutive_failures,
            serving_stale,
            unavailable,
            unknown_kid_total: total,
            unknown_kid_rate: rate,
        }
    }
}
