//! The sweep of a dynamic [`super::Issuers`]: drops the caches of idle issuers.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use super::Inner;
use super::dynamic::Entry;

/// Sweeps run this many times per idle timeout.
pub(crate) const SWEEPS_PER_IDLE: u32 = 4;

/// Clears `Dynamic::sweeper` however [`sweep`] ends, so a sweep dropped with its runtime
/// does not keep idle issuers (and the ticks that age them) from ever being swept again.
pub(crate) struct Sweeping(pub(crate) Weak<Inner>);

impl Drop for Sweeping {
    fn drop(&mut self) {
        if let Some(strong) = self.0.upgrade()
            && let Inner::Dynamic(d) = &*strong
        {
            d.sweeper.store(false, Ordering::Relaxed);
        }
    }
}

pub(crate) async fn sweep(sweeping: Sweeping, every: Duration) {
    let inner = &sweeping.0;
    let every = every.max(Duration::from_millis(1));
    let mut interval = tokio::time::interval(every);
    interval.tick().await;
    loop {
        interval.tick().await;
        let Some(strong) = inner.upgrade() else { return };
        let Inner::Dynamic(d) = &*strong else { return };
        let tick = d.tick.fetch_add(1, Ordering::Relaxed) + 1;
        let limit = u64::from(SWEEPS_PER_IDLE);
        let is_idle = |e: &Entry| tick.saturating_sub(e.last_used.load(Ordering::Relaxed)) > limit;
        if d.caches.load().values().any(|e| is_idle(e)) {
            d.caches.rcu(|map| {
                let mut map: HashMap<Arc<str>, Arc<Entry>> = (**map).clone();
                map.retain(|_, e| !is_idle(e));
                map
            });
            tracing::debug!("dropped idle issuers");
        }
    }
}
