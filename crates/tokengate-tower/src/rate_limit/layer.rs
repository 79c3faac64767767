//! [`FailureRateLimitLayer`].

use std::fmt;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::Quota;
use tokengate_core::ConfigError;
use tower_layer::Layer;

use super::clock::LimiterClock;
use super::{ClientKey, FailureRateLimit, Limiter, ManualClock, PeerAddr};
use crate::response::{BearerChallenge, Problem};

/// A [`Layer`] that answers 429 to clients with too many failed verifications. See the
/// [module docs](super).
#[must_use]
pub struct FailureRateLimitLayer<K = PeerAddr, R = Problem> {
    pub(crate) limiter: Arc<Limiter>,
    pub(crate) key: K,
    pub(crate) on_rejection: R,
    pub(crate) challenge: BearerChallenge,
    pub(crate) limit_unidentified: bool,
}

impl<K: Clone, R: Clone> Clone for FailureRateLimitLayer<K, R> {
    fn clone(&self) -> Self {
        FailureRateLimitLayer {
            limiter: Arc::clone(&self.limiter),
            key: self.key.clone(),
            on_rejection: self.on_rejection.clone(),
            challenge: self.challenge.clone(),
            limit_unidentified: self.limit_unidentified,
        }
    }
}

impl<K: fmt::Debug, R> fmt::Debug for FailureRateLimitLayer<K, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FailureRateLimitLayer")
            .field("key", &self.key)
            .field("limit_unidentified", &self.limit_unidentified)
            .finish_non_exhaustive()
    }
}

impl FailureRateLimitLayer {
    /// Allows each client `max_failures` failed verifications in a burst, regaining one
    /// every `window / max_failures`. Errors when `window` is zero.
    pub fn new(max_failures: NonZeroU32, window: Duration) -> Result<Self, ConfigError> {
        let quota = Quota::with_period(window / max_failures.get())
            .ok_or_else(|| ConfigError::Invalid("the failure window must be longer than zero".into()))?
            .allow_burst(max_failures);
        Ok(FailureRateLimitLayer {
            limiter: Arc::new(Limiter::new(quota)),
            key: PeerAddr,
            on_rejection: Problem,
            challenge: BearerChallenge::default(),
            limit_unidentified: false,
        })
    }
}

impl<K, R> FailureRateLimitLayer<K, R> {
    /// How clients are told apart (default: [`PeerAddr`]; with axum,
    /// `tokengate_axum::ConnectInfoKey`).
    pub fn client_key<K2: ClientKey>(self, key: K2) -> FailureRateLimitLayer<K2, R> {
        FailureRateLimitLayer {
            limiter: self.limiter,
            key,
            on_rejection: self.on_rejection,
            challenge: self.challenge,
            limit_unidentified: self.limit_unidentified,
        }
    }

    /// The 429 response (default: [`Problem`], with `Retry-After` and a problem body).
    pub fn on_rejection<R2>(self, on_rejection: R2) -> FailureRateLimitLayer<K, R2> {
        FailureRateLimitLayer {
            limiter: self.limiter,
            key: self.key,
            on_rejection,
            challenge: self.challenge,
            limit_unidentified: self.limit_unidentified,
        }
    }

    /// Opt-in: requests whose client the [`ClientKey`] cannot identify share one bucket,
    /// so they are limited together. By default they are not limited at all (and an
    /// error is logged the first time one is seen): with a shared bucket, any anonymous
    /// client could spend it and get every other unidentified client a 429. Use this only
    /// where unidentified requests are rare and a lockout of all of them is acceptable;
    /// prefer a client key that identifies every client (`tokengate_axum::ConnectInfoKey`,
    /// [`ForwardedFor`](super::ForwardedFor), a closure).
    pub fn limit_unidentified(mut self) -> Self {
        self.limit_unidentified = true;
        self
    }

    /// Runs the limiter on `clock` instead of the monotonic system clock, so that a test
    /// lets a window pass with [`ManualClock::advance`] instead of sleeping. Starts a fresh
    /// limiter (failures counted so far by this layer are forgotten): call it while building.
    pub fn clock(mut self, clock: ManualClock) -> Self {
        self.limiter = Arc::new(self.limiter.on_clock(LimiterClock::Manual(clock)));
        self
    }
}

impl<S, K: Clone, R: Clone> Layer<S> for FailureRateLimitLayer<K, R> {
    type Service = FailureRateLimit<S, K, R>;

    fn layer(&self, inner: S) -> Self::Service {
        FailureRateLimit::from_parts(inner, self.clone())
    }
}
