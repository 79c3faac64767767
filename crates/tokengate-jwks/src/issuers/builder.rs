//! [`DynamicIssuersBuilder`]: the bounds of a dynamic [`Issuers`].

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;

use super::dynamic::{Dynamic, Loads};
use super::limiter::Limiter;
use super::registry::IssuerRegistry;
use super::{Inner, Issuers};
use crate::JwksError;
use crate::cache::MAX_DURATION;

/// Default most issuers a dynamic [`Issuers`] holds caches for: 1000.
pub const DEFAULT_MAX_ISSUERS: usize = 1000;
/// Default time after which an unused issuer's cache is dropped: 1 hour.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(3600);
/// Least time between two attempts to load the keys of an issuer that failed: 30 s.
pub const DEFAULT_FAILURE_COOLDOWN: Duration = Duration::from_secs(30);
/// Default most issuers being loaded at once: 8.
pub const DEFAULT_MAX_PENDING_LOADS: usize = 8;
/// Default burst of issuer loads, refilled over [`DEFAULT_NEW_ISSUER_INTERVAL`]: 10.
pub const DEFAULT_NEW_ISSUER_LOADS: u32 = 10;
/// Default time over which [`DEFAULT_NEW_ISSUER_LOADS`] loads are refilled: 10 s.
pub const DEFAULT_NEW_ISSUER_INTERVAL: Duration = Duration::from_secs(10);

/// Configures a dynamic [`Issuers`].
#[must_use = "a builder does nothing until built"]
pub struct DynamicIssuersBuilder {
    registry: Box<dyn IssuerRegistry>,
    max_issuers: usize,
    max_pending: usize,
    rate: (u32, Duration),
    idle: Duration,
    failure_cooldown: Duration,
}

impl fmt::Debug for DynamicIssuersBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DynamicIssuersBuilder")
            .field("max_issuers", &self.max_issuers)
            .field("max_pending_loads", &self.max_pending)
            .field("new_issuer_rate", &self.rate)
            .field("idle", &self.idle)
            .field("failure_cooldown", &self.failure_cooldown)
            .finish_non_exhaustive()
    }
}

impl DynamicIssuersBuilder {
    pub(crate) fn new(registry: Box<dyn IssuerRegistry>) -> DynamicIssuersBuilder {
        DynamicIssuersBuilder {
            registry,
            max_issuers: DEFAULT_MAX_ISSUERS,
            max_pending: DEFAULT_MAX_PENDING_LOADS,
            rate: (DEFAULT_NEW_ISSUER_LOADS, DEFAULT_NEW_ISSUER_INTERVAL),
            idle: DEFAULT_IDLE_TIMEOUT,
            failure_cooldown: DEFAULT_FAILURE_COOLDOWN,
        }
    }

    /// The most issuers held at once (default 1000). When full, the least recently used
    /// idle issuer makes room; if none is idle, the new issuer is refused (and logged).
    pub fn max_issuers(mut self, max: usize) -> Self {
        self.max_issuers = max;
        self
    }

    /// How long an issuer's cache stays without use before it is dropped (default 1 h).
    pub fn idle_timeout(mut self, idle: Duration) -> Self {
        self.idle = idle;
        self
    }

    /// The least time between two attempts to load an issuer that failed (default 30 s).
    /// Tokens of that issuer fail meanwhile, with `KeysUnavailable` if it has loaded
    /// before (its provider is down), with `IssuerUnavailable` if it never has.
    pub fn failure_cooldown(mut self, cooldown: Duration) -> Self {
        self.failure_cooldown = cooldown;
        self
    }

    /// The most new issuers being loaded at once (default 8): each load is at least one
    /// outbound request, started by an unverified token. A token of another issuer that
    /// never loaded fails with `IssuerUnavailable` meanwhile; issuers that loaded before
    /// load again outside this bound.
    pub fn max_pending_loads(mut self, max: usize) -> Self {
        self.max_pending = max;
        self
    }

    /// How many issuer loads may start: a burst of `loads`, refilled at `loads` per `per`
    /// (default 10 per 10 s), across all issuers that never loaded before. Beyond it, a
    /// token of such an issuer fails with `IssuerUnavailable` and a `retry_after`;
    /// issuers loaded now, or loaded successfully before, are not affected.
    pub fn new_issuer_rate(mut self, loads: u32, per: Duration) -> Self {
        self.rate = (loads, per);
        self
    }

    /// Finishes the resolver. Caches are created later, on first use.
    pub fn build(self) -> Result<Issuers, JwksError> {
        if self.max_issuers == 0 || self.idle.is_zero() {
            return Err(JwksError::Config("max_issuers and idle_timeout must be above zero".into()));
        }
        let (loads, per) = self.rate;
        if self.max_pending == 0 || loads == 0 || per.is_zero() {
            return Err(JwksError::Config("max_pending_loads and new_issuer_rate must be above zero".into()));
        }
        let limiter = Limiter::new(loads, per.min(MAX_DURATION))
            .ok_or_else(|| JwksError::Config("new_issuer_rate is too fast to measure".into()))?;
        Ok(Issuers {
            inner: Arc::new(Inner::Dynamic(Dynamic {
                registry: self.registry,
                caches: ArcSwap::from_pointee(HashMap::new()),
                loads: Mutex::new(Loads::new(limiter)),
                denied: Mutex::new(HashMap::new()),
                max_issuers: self.max_issuers,
                max_pending: self.max_pending,
                idle: self.idle.min(MAX_DURATION),
                failure_cooldown: self.failure_cooldown.min(MAX_DURATION),
                tick: AtomicU64::new(0),
                sweeper: AtomicBool::new(false),
            })),
        })
    }
}
