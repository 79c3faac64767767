//! The settings of a [`crate::JwksCache`], their defaults, and their checks.

use std::time::Duration;

use tokio::time::Instant;

use crate::JwksError;

/// Default interval between refreshes when the source gives no hint: 5 minutes.
pub const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(300);
/// Default lower bound of the refresh interval (also for `Cache-Control: max-age`): 30 s.
pub const DEFAULT_MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(30);
/// Default upper bound of the refresh interval: 1 hour.
pub const DEFAULT_MAX_REFRESH_INTERVAL: Duration = Duration::from_secs(3600);
/// Default least time between two refreshes caused by unknown `kid`s: 30 s.
pub const DEFAULT_COOLDOWN: Duration = Duration::from_secs(30);
/// Default time the last good keys keep serving while the source fails: 24 hours.
pub const DEFAULT_MAX_STALE: Duration = Duration::from_secs(24 * 3600);
/// Default first retry delay after a failed fetch (doubled up to the maximum): 1 s.
pub const DEFAULT_RETRY_INITIAL: Duration = Duration::from_secs(1);
/// Default longest retry delay after failed fetches: 60 s.
pub const DEFAULT_RETRY_MAX: Duration = Duration::from_secs(60);
/// Default number of `kid`s remembered as missing until the next fetch: 1024.
pub const DEFAULT_NEGATIVE_CACHE_SIZE: usize = 1024;
/// Default time limit of one whole fetch from the source: 15 s.
pub const DEFAULT_FETCH_TIMEOUT: Duration = Duration::from_secs(15);
/// The longest duration a setting takes: longer ones (up to `Duration::MAX`, "never")
/// are shortened to this, 30 years, so that no deadline overflows.
pub const MAX_DURATION: Duration = Duration::from_secs(30 * 365 * 24 * 3600);

/// `now + d`, or [`MAX_DURATION`] from now when that would overflow.
pub(crate) fn after(now: Instant, d: Duration) -> Instant {
    now.checked_add(d).or_else(|| now.checked_add(MAX_DURATION)).unwrap_or(now)
}

/// The checked settings of one cache.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) refresh_interval: Duration,
    pub(crate) min_refresh: Duration,
    pub(crate) max_refresh: Duration,
    pub(crate) cooldown: Duration,
    pub(crate) max_stale: Duration,
    pub(crate) retry_initial: Duration,
    pub(crate) retry_max: Duration,
    pub(crate) negative_cache_size: usize,
    pub(crate) fetch_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            refresh_interval: DEFAULT_REFRESH_INTERVAL,
            min_refresh: DEFAULT_MIN_REFRESH_INTERVAL,
            max_refresh: DEFAULT_MAX_REFRESH_INTERVAL,
            cooldown: DEFAULT_COOLDOWN,
            max_stale: DEFAULT_MAX_STALE,
            retry_initial: DEFAULT_RETRY_INITIAL,
            retry_max: DEFAULT_RETRY_MAX,
            negative_cache_size: DEFAULT_NEGATIVE_CACHE_SIZE,
            fetch_timeout: DEFAULT_FETCH_TIMEOUT,
        }
    }
}

impl Config {
    /// Checks the settings, and shortens durations above [`MAX_DURATION`].
    pub(crate) fn validate(&mut self) -> Result<(), JwksError> {
        for d in [
            &mut self.refresh_interval,
            &mut self.min_refresh,
            &mut self.max_refresh,
            &mut self.cooldown,
            &mut self.max_stale,
            &mut self.retry_initial,
            &mut self.retry_max,
            &mut self.fetch_timeout,
        ] {
            *d = (*d).min(MAX_DURATION);
        }
        let bad = |what: &str| Err(JwksError::Config(what.to_owned()));
        if self.min_refresh.is_zero() || self.refresh_interval.is_zero() {
            return bad("refresh intervals must be above zero");
        }
        if self.min_refresh > self.max_refresh {
            return bad("min_refresh_interval is above max_refresh_interval");
        }
        if self.retry_initial.is_zero() || self.retry_initial > self.retry_max {
            return bad("retry backoff must start above zero and not above its maximum");
        }
        if self.max_stale.is_zero() || self.fetch_timeout.is_zero() {
            return bad("max_stale and fetch_timeout must be above zero");
        }
        Ok(())
    }

    /// The interval until the next regular fetch, from the source's hint.
    pub(crate) fn interval(&self, hint: Option<Duration>) -> Duration {
        hint.unwrap_or(self.refresh_interval).clamp(self.min_refresh, self.max_refresh)
    }
}
