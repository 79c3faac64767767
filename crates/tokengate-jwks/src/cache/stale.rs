//! The `max_stale` bound: when keys no longer confirmed by the source stop serving.
//! Checked by every lookup, so it holds even when the refresh task cannot run.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::time::Instant;

use super::config::{Config, MAX_DURATION, after};
use super::single_flight::Control;
use super::{Current, Shared};
use crate::sync::lock;

/// When keys confirmed by a successful fetch stop serving unless a later fetch succeeds:
/// `max_stale` after the next regular fetch, due at `due`, has had `fetch_timeout` to
/// finish. `None` (never) when no regular fetch is ever due: `interval`, the regular
/// interval, is [`MAX_DURATION`] ("never").
pub(crate) fn stale_deadline(config: &Config, due: Instant, interval: Duration) -> Option<Instant> {
    (interval < MAX_DURATION).then(|| after(after(due, config.fetch_timeout), config.max_stale))
}

impl Shared {
    /// The source confirmed the keys: they serve until `stale_at` (`None`: for good).
    pub(crate) fn confirmed(&self, stale_at: Option<Instant>) {
        let millis = stale_at.map_or(u64::MAX, |at| {
            u64::try_from(at.saturating_duration_since(self.epoch).as_millis()).unwrap_or(u64::MAX)
        });
        self.stale_after.store(millis, Ordering::Release);
    }

    /// Whether the keys are past their stale deadline at `now`: not refreshed within
    /// `max_stale` after a refresh was due.
    pub(crate) fn past_max_stale(&self, now: Instant) -> bool {
        let elapsed = u64::try_from(now.saturating_duration_since(self.epoch).as_millis()).unwrap_or(u64::MAX);
        elapsed >= self.stale_after.load(Ordering::Acquire)
    }

    /// Marks the keys unavailable (past `max_stale`); they stay for diagnostics.
    pub(crate) fn mark_unavailable(&self) {
        let control = lock(&self.control);
        self.mark_unavailable_locked(&control);
    }

    /// Called by a lookup that found the keys past their stale deadline while the
    /// refresh task has not marked them (late, stuck in a fetch, or stopped): marks them,
    /// unless fresh keys arrived meanwhile, and asks the task for a fetch (joining the one
    /// in flight, if any), so keys come back as soon as the task can run one. Returns
    /// whether they are unavailable.
    pub(crate) fn expire(&self) -> bool {
        let mut control = lock(&self.control);
        if !self.past_max_stale(Instant::now()) {
            return false;
        }
        self.mark_unavailable_locked(&control);
        self.join(&mut control);
        true
    }

    fn mark_unavailable_locked(&self, _control: &Control) {
        let old = self.current.load_full();
        if !old.unavailable {
            tracing::error!(source = %self.name, max_stale = ?self.config.max_stale,
                "keys not refreshed within max_stale; verifications fail with KeysUnavailable");
            self.current.store(Arc::new(Current { keys: old.keys.clone(), unavailable: true }));
        }
    }
}
