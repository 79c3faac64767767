//! The shared state of the failure limiter: a governor bucket per client, and the
//! clients blocked until some instant.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{PoisonError, RwLock};
use std::time::Duration;

use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter};

use super::client_key::Client;
use super::clock::LimiterClock;

type Governor = RateLimiter<Client, DashMapStateStore<Client>, LimiterClock, StateInformationMiddleware>;

/// Prune the governor's store every this many failures, and the blocked list first when
/// it holds this many (then each time it has doubled since).
const PRUNE_AT: usize = 1024;

/// The most clients tracked as blocked at once. When a distributed attack fills the
/// list, the blocks that end soonest are dropped first, down to half of it.
pub const MAX_BLOCKED_CLIENTS: usize = 1 << 16;

/// The clients blocked until some instant, pruned on a doubling threshold.
struct Blocked {
    until: HashMap<Client, Duration>,
    prune_at: usize,
}

impl Blocked {
    fn new(cap: usize) -> Self {
        Blocked { until: HashMap::new(), prune_at: PRUNE_AT.min(cap) }
    }

    /// Makes room for one more entry: drops the expired ones and, at the cap, the half
    /// that ends soonest; then sets the next threshold (amortized O(1) per block).
    fn make_room(&mut self, cap: usize, now: Duration) {
        let full = self.until.len() >= cap;
        self.until.retain(|_, until| *until > now);
        let target = cap / 2;
        if full && self.until.len() > target {
            let mut ends: Vec<Duration> = self.until.values().copied().collect();
            let drop = ends.len() - target;
            if let Some(index) = drop.checked_sub(1) {
                let (_, threshold, _) = ends.select_nth_unstable(index);
                let threshold = *threshold;
                self.until.retain(|_, until| *until > threshold);
            }
            tracing::warn!(
                cap,
                "tokengate: too many clients blocked at once; the blocks that end soonest were dropped"
            );
        }
        self.prune_at = self.until.len().saturating_mul(2).max(PRUNE_AT).min(cap);
    }
}

/// The shared state: a governor bucket per client for failures, and the clients that
/// are blocked until some instant (read on every request, without crypto).
pub(crate) struct Limiter {
    governor: Governor,
    clock: LimiterClock,
    quota: Quota,
    blocked: RwLock<Blocked>,
    blocked_len: AtomicUsize,
    max_blocked: usize,
    failures: AtomicU64,
    warned_unidentified: AtomicBool,
}

impl Limiter {
    pub(crate) fn new(quota: Quota) -> Self {
        Limiter::with_clock(quota, MAX_BLOCKED_CLIENTS, LimiterClock::monotonic())
    }

    pub(crate) fn with_clock(quota: Quota, max_blocked: usize, clock: LimiterClock) -> Self {
        let max_blocked = max_blocked.max(2);
        Limiter {
            governor: RateLimiter::dashmap_with_clock(quota, clock.clone()).with_middleware(),
            clock,
            quota,
            blocked: RwLock::new(Blocked::new(max_blocked)),
            blocked_len: AtomicUsize::new(0),
            max_blocked,
            failures: AtomicU64::new(0),
            warned_unidentified: AtomicBool::new(false),
        }
    }

    /// A fresh limiter with the same quota and bound, on `clock`.
    pub(crate) fn on_clock(&self, clock: LimiterClock) -> Self {
        Limiter::with_clock(self.quota, self.max_blocked, clock)
    }

    /// Says once per limiter that some client could not be identified: an error when
    /// such requests are not limited (the default), a warning when they share a bucket.
    pub(crate) fn warn_unidentified(&self, limited: bool) {
        if !self.warned_unidentified.swap(true, Ordering::Relaxed) {
            if limited {
                tracing::warn!(
                    "tokengate: no client key: requests whose client cannot be identified share one failure \
                     bucket (limit_unidentified); use tokengate_axum::ConnectInfoKey / ForwardedFor"
                );
            } else {
                tracing::error!(
                    "tokengate: no client key: rate limiting is off for these requests; use \
                     tokengate_axum::ConnectInfoKey / ForwardedFor (or insert the ClientAddr extension)"
                );
            }
        }
    }

    /// How long `client` stays blocked, if it is.
    pub(crate) fn blocked_for(&self, client: &Client) -> Option<Duration> {
        if self.blocked_len.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let until = *self.blocked.read().unwrap_or_else(PoisonError::into_inner).until.get(client)?;
        until.checked_sub(governor::clock::Clock::now(&self.clock)).filter(|d| !d.is_zero())
    }

    /// Counts a failure of `client`; blocks it when its budget is spent.
    pub(crate) fn record_failure(&self, client: Client) {
        let until = match self.governor.check_key(&client) {
            Ok(state) if state.remaining_burst_capacity() > 0 => None,
            // The budget is now spent: a second check fails without consuming and says
            // when the next attempt conforms.
            Ok(_) => self.governor.check_key(&client).err().map(|not_until| not_until.earliest_possible()),
            Err(not_until) => Some(not_until.earliest_possible()),
        };
        if let Some(until) = until {
            let mut blocked = self.blocked.write().unwrap_or_else(PoisonError::into_inner);
            if blocked.until.len() >= blocked.prune_at && !blocked.until.contains_key(&client) {
                blocked.make_room(self.max_blocked, governor::clock::Clock::now(&self.clock));
            }
            blocked.until.insert(client, until);
            self.blocked_len.store(blocked.until.len(), Ordering::Relaxed);
            drop(blocked);
            tracing::debug!(client = %client, "tokengate: too many failed verifications; client blocked");
        }
        if self.failures.fetch_add(1, Ordering::Relaxed) % (PRUNE_AT as u64) == PRUNE_AT as u64 - 1 {
            self.governor.retain_recent();
            self.governor.shrink_to_fit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv6Addr};
    use std::num::NonZeroU32;

    #[test]
    fn blocks_after_the_budget_is_spent() {
        let quota =
            Quota::with_period(Duration::from_secs(10)).map(|q| q.allow_burst(NonZeroU32::MIN.saturating_add(2)));
        let Some(quota) = quota else { return };
        let limiter = Limiter::new(quota);
        let ip: IpAddr = [10, 0, 0, 1].into();
        let ip = Client::Ip(ip);
        limiter.record_failure(ip);
        limiter.record_failure(ip);
        assert_eq!(limiter.blocked_for(&ip), None);
        limiter.record_failure(ip);
        assert!(limiter.blocked_for(&ip).is_some());
        assert_eq!(limiter.blocked_for(&Client::Ip([10, 0, 0, 2].into())), None);
        assert_eq!(limiter.blocked_for(&Client::Unidentified), None);
    }

    #[test]
    fn the_blocked_list_is_capped() {
        // A burst of one: every failure of a new client blocks it.
        let Some(quota) = Quota::with_period(Duration::from_secs(60)) else { return };
        let cap = 64;
        let limiter = Limiter::with_clock(quota.allow_burst(NonZeroU32::MIN), cap, LimiterClock::monotonic());
        let client = |i: u32| Client::Ip(IpAddr::V6(Ipv6Addr::from(u128::from(i) << 64)));
        for i in 0..5_000 {
            limiter.record_failure(client(i));
            let len = limiter.blocked_len.load(Ordering::Relaxed);
            assert!(len <= cap, "{len} blocked after {i}");
        }
        // The latest attacker is blocked; dropped ones are blocked again on their next failure.
        assert!(limiter.blocked_for(&client(4_999)).is_some());
        assert_eq!(limiter.blocked_for(&client(0)), None);
        limiter.record_failure(client(0));
        assert!(limiter.blocked_for(&client(0)).is_some());
    }

    #[test]
    fn the_blocked_list_is_pruned_on_a_doubling_threshold() {
        let mut blocked = Blocked::new(MAX_BLOCKED_CLIENTS);
        let later = Duration::from_secs(60);
        for i in 0..3_000u32 {
            blocked.until.insert(Client::Ip(IpAddr::V4(i.into())), later);
        }
        blocked.make_room(MAX_BLOCKED_CLIENTS, Duration::ZERO);
        assert_eq!(blocked.until.len(), 3_000, "nothing expired, nothing dropped below the cap");
        assert_eq!(blocked.prune_at, 6_000);
    }
}
