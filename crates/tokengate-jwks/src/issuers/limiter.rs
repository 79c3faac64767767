//! The budget of new issuer loads: a [`governor`] GCRA bucket on tokio's clock.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::Clock;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use tokio::time::Instant;

/// tokio's clock for governor: follows tokio's paused time in tests.
#[derive(Debug, Clone, Copy, Default)]
struct TokioClock;

impl Clock for TokioClock {
    type Instant = std::time::Instant;

    fn now(&self) -> Self::Instant {
        Instant::now().into_std()
    }
}

/// A burst of `loads`, refilled at `loads` per `per`. A refusal is remembered, so that a
/// lookup (which must not take from the bucket) can tell how long a load must wait.
pub(crate) struct Limiter {
    bucket: RateLimiter<NotKeyed, InMemoryState, TokioClock>,
    /// When the bucket last refused: the earliest time it allows a load again.
    refused_until: Option<Instant>,
}

impl Limiter {
    /// `None` when `loads` or `per` is zero.
    pub(crate) fn new(loads: u32, per: Duration) -> Option<Limiter> {
        let burst = NonZeroU32::new(loads)?;
        let quota = Quota::with_period(per / loads)?.allow_burst(burst);
        Some(Limiter { bucket: RateLimiter::direct_with_clock(quota, TokioClock), refused_until: None })
    }

    /// How long a load is known to wait at `now`: zero if it may be tried.
    pub(crate) fn wait(&self, now: Instant) -> Duration {
        self.refused_until.map_or(Duration::ZERO, |until| until.saturating_duration_since(now))
    }

    /// Takes one load; on refusal, how long until one is allowed.
    pub(crate) fn take(&mut self, now: Instant) -> Result<(), Duration> {
        match self.bucket.check() {
            Ok(()) => Ok(()),
            Err(not_until) => {
                let wait = not_until.wait_time_from(now.into_std());
                self.refused_until = Some(now + wait);
                Err(wait)
            }
        }
    }
}
