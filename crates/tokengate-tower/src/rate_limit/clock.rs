//! The limiter's time: monotonic by default, or a [`ManualClock`] that tests move.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A clock that stands still until [`advance`](ManualClock::advance)d: lets a test of the
/// failure limiter let a window pass without sleeping. Clones share one time.
///
/// ```
/// use std::num::NonZeroU32;
/// use std::time::Duration;
/// use tokengate_tower::rate_limit::{FailureRateLimitLayer, ManualClock};
///
/// let clock = ManualClock::new();
/// let layer = FailureRateLimitLayer::new(NonZeroU32::new(3).unwrap(), Duration::from_secs(60))
///     .unwrap()
///     .clock(clock.clone());
/// // ... three failures block the client; then, without sleeping:
/// clock.advance(Duration::from_secs(60));
/// assert_eq!(clock.elapsed(), Duration::from_secs(60));
/// ```
#[derive(Debug, Clone, Default)]
pub struct ManualClock {
    nanos: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock at its origin (zero elapsed).
    pub fn new() -> Self {
        ManualClock::default()
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let by = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        let _ = self.nanos.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| Some(n.saturating_add(by)));
    }

    /// The time elapsed since the origin.
    pub fn elapsed(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::Acquire))
    }
}

/// The limiter's clock: time elapsed since an origin, for governor and the blocked list.
#[derive(Debug, Clone)]
pub(crate) enum LimiterClock {
    Monotonic(Instant),
    Manual(ManualClock),
}

impl LimiterClock {
    pub(crate) fn monotonic() -> Self {
        LimiterClock::Monotonic(Instant::now())
    }
}

impl governor::clock::Clock for LimiterClock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        match self {
            LimiterClock::Monotonic(origin) => origin.elapsed(),
            LimiterClock::Manual(clock) => clock.elapsed(),
        }
    }
}
