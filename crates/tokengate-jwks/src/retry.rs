//! Retry delays: the jittered backoff of failed fetches, the spread of regular refreshes,
//! and the `retry_after` hint a 503 carries.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::time::Duration;

use tokio::time::Instant;

/// A random duration in `[d/2, d]`: spreads the refreshes of a fleet and the retries
/// after an outage.
pub(crate) fn jitter(d: Duration) -> Duration {
    let random = RandomState::new().hash_one(Instant::now());
    let half = d / 2;
    let nanos = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
    let extra = if nanos == 0 { 0 } else { random % nanos.saturating_add(1) };
    half + Duration::from_nanos(extra)
}

/// A random duration in `[0.9 d, d]` for the regular interval.
pub(crate) fn spread(d: Duration) -> Duration {
    let random = RandomState::new().hash_one(Instant::now());
    let tenth = u64::try_from((d / 10).as_nanos()).unwrap_or(u64::MAX);
    let less = if tenth == 0 { 0 } else { random % tenth };
    d.saturating_sub(Duration::from_nanos(less))
}

/// The next backoff after a failure: doubled, at most `max`.
pub(crate) fn backoff(current: Duration, max: Duration) -> Duration {
    current.saturating_mul(2).min(max)
}

/// A wait as whole seconds for `retry_after`: rounded up, at least 1.
pub(crate) fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs().saturating_add(u64::from(wait.subsec_nanos() > 0)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_secs(5)), 5);
        assert_eq!(retry_after_secs(Duration::from_millis(5001)), 6);
    }

    #[test]
    fn delays_stay_within_their_bounds() {
        let d = Duration::from_secs(10);
        for _ in 0..100 {
            assert!((d / 2..=d).contains(&jitter(d)));
            assert!((d * 9 / 10..=d).contains(&spread(d)));
        }
        assert_eq!(backoff(Duration::from_secs(40), Duration::from_secs(60)), Duration::from_secs(60));
    }
}
