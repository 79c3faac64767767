//! Failure rate limiting (feature `rate-limit`): a brute-force defence in front of
//! [`JwtAuthLayer`](crate::JwtAuthLayer).
//!
//! [`FailureRateLimitLayer`] goes *outside* the auth layer. It counts, per client address,
//! the requests that the auth layer (or an extractor further in) refused as
//! `invalid_token` or `invalid_request` — it reads the [`AuthError`] that every tokengate
//! rejection carries in its response extensions. After `max_failures` failures within
//! `window` (a [governor] GCRA bucket), the client's next requests are answered `429 Too
//! Many Requests` with `Retry-After`, **without running the inner service, so without any
//! crypto**. The client regains one attempt every `window / max_failures`, and all of them
//! after `window`. Requests without a token and successful requests never count.
//!
//! The client is identified by [`ClientKey`]: by default [`PeerAddr`], the address in the
//! [`ClientAddr`] request extension. With axum, read `ConnectInfo` with a closure; behind
//! a reverse proxy, trust its forwarded header with [`ForwardedFor`] (only then: the
//! header is otherwise set by the client). IPv6 clients are grouped by their /64 prefix.
//! Requests whose client cannot be identified are not limited.
//!
//! ```
//! use std::net::{IpAddr, SocketAddr};
//! use std::num::NonZeroU32;
//! use std::time::Duration;
//! use tokengate_tower::rate_limit::{FailureRateLimitLayer, ForwardedFor};
//! use tokengate_tower::RequestHead;
//!
//! // 10 failures per minute per client, client address from a closure (axum:
//! // `req.extensions().get::<axum::extract::ConnectInfo<SocketAddr>>().map(|c| c.0.ip())`).
//! let layer = FailureRateLimitLayer::new(NonZeroU32::new(10).unwrap(), Duration::from_secs(60))
//!     .unwrap()
//!     .client_key(|req: &RequestHead<'_>| req.extensions().get::<SocketAddr>().map(|a| a.ip()));
//!
//! // Behind one trusted reverse proxy that appends to X-Forwarded-For:
//! let behind_proxy = FailureRateLimitLayer::new(NonZeroU32::new(10).unwrap(), Duration::from_secs(60))
//!     .unwrap()
//!     .client_key(ForwardedFor::new(http::HeaderName::from_static("x-forwarded-for"), 1));
//! ```
//!
//! [governor]: https://docs.rs/governor

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{PoisonError, RwLock};
use std::time::{Duration, Instant};

use governor::clock::MonotonicClock;
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter};
use http::HeaderName;
use tokengate_core::{AuthError, ErrorKind};

use crate::source::RequestHead;

mod future;
mod layer;
mod service;

pub use future::ResponseFuture;
pub use layer::FailureRateLimitLayer;
pub use service::FailureRateLimit;

/// The client's socket address, as a request extension. Insert it where you accept
/// connections (hyper, a custom server) for [`PeerAddr`] to find it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientAddr(pub SocketAddr);

/// Identifies the client of a request. Implemented by [`PeerAddr`], [`ForwardedFor`] and
/// every `Fn(&RequestHead<'_>) -> Option<IpAddr> + Clone + Send + Sync + 'static`.
pub trait ClientKey: Clone + Send + Sync + 'static {
    /// The client's address, or `None` when unknown (the request is then not limited).
    fn client_ip(&self, request: &RequestHead<'_>) -> Option<IpAddr>;
}

impl<F> ClientKey for F
where
    F: Fn(&RequestHead<'_>) -> Option<IpAddr> + Clone + Send + Sync + 'static,
{
    fn client_ip(&self, request: &RequestHead<'_>) -> Option<IpAddr> {
        self(request)
    }
}

/// The address in the [`ClientAddr`] extension.
#[derive(Debug, Clone, Copy, Default)]
pub struct PeerAddr;

impl ClientKey for PeerAddr {
    fn client_ip(&self, request: &RequestHead<'_>) -> Option<IpAddr> {
        request.extensions().get::<ClientAddr>().map(|a| a.0.ip())
    }
}

/// The address that a trusted reverse proxy wrote into a forwarded header such as
/// `X-Forwarded-For` (comma-separated, each proxy appending the address it saw).
///
/// With `trusted_proxies` proxies in front of the service, the client is the
/// `trusted_proxies`-th address from the right; the addresses to its left were written by
/// the client and are ignored. When the header is absent or too short, the
/// [`ClientAddr`] extension is used. Use this only behind proxies that always set the
/// header: otherwise a client picks its own key.
#[derive(Debug, Clone)]
pub struct ForwardedFor {
    header: HeaderName,
    trusted_proxies: usize,
}

impl ForwardedFor {
    /// Reads `header`, behind `trusted_proxies` proxies (at least 1).
    pub fn new(header: HeaderName, trusted_proxies: usize) -> Self {
        ForwardedFor { header, trusted_proxies: trusted_proxies.max(1) }
    }
}

fn parse_ip(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    text.parse::<IpAddr>()
        .ok()
        .or_else(|| text.parse::<SocketAddr>().ok().map(|a| a.ip()))
        .or_else(|| text.trim_start_matches('[').trim_end_matches(']').parse().ok())
}

impl ClientKey for ForwardedFor {
    fn client_ip(&self, request: &RequestHead<'_>) -> Option<IpAddr> {
        let entries: Vec<&str> = request
            .headers()
            .get_all(&self.header)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .collect();
        let from_header =
            entries.len().checked_sub(self.trusted_proxies).and_then(|i| entries.get(i)).and_then(|e| parse_ip(e));
        from_header.or_else(|| PeerAddr.client_ip(request))
    }
}

/// Groups IPv6 clients by /64 (one subscriber usually holds a whole /64) and reads
/// IPv4-mapped IPv6 addresses as IPv4.
fn normalize(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !u128::from(u64::MAX))),
        },
    }
}

/// Whether a refusal counts as a failed attempt: a presented credential that was bad.
pub fn counts_as_failure(error: &AuthError) -> bool {
    matches!(error.status(), 400 | 401) && error.kind() != ErrorKind::MissingToken
}

type Governor = RateLimiter<IpAddr, DashMapStateStore<IpAddr>, MonotonicClock, StateInformationMiddleware>;

/// Prune blocked entries and the governor's store once this many are tracked.
const PRUNE_AT: usize = 1024;

/// The shared state: a governor bucket per client for failures, and the clients that
/// are blocked until some instant (read on every request, without crypto).
pub(crate) struct Limiter {
    governor: Governor,
    blocked: RwLock<HashMap<IpAddr, Instant>>,
    blocked_len: AtomicUsize,
    failures: AtomicU64,
}

impl Limiter {
    pub(crate) fn new(quota: Quota) -> Self {
        Limiter {
            governor: RateLimiter::dashmap_with_clock(quota, MonotonicClock).with_middleware(),
            blocked: RwLock::new(HashMap::new()),
            blocked_len: AtomicUsize::new(0),
            failures: AtomicU64::new(0),
        }
    }

    /// How long `ip` stays blocked, if it is.
    pub(crate) fn blocked_for(&self, ip: &IpAddr) -> Option<Duration> {
        if self.blocked_len.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let until = *self.blocked.read().unwrap_or_else(PoisonError::into_inner).get(ip)?;
        until.checked_duration_since(Instant::now()).filter(|d| !d.is_zero())
    }

    /// Counts a failure of `ip`; blocks it when its budget is spent.
    pub(crate) fn record_failure(&self, ip: IpAddr) {
        let until = match self.governor.check_key(&ip) {
            Ok(state) if state.remaining_burst_capacity() > 0 => None,
            // The budget is now spent: a second check fails without consuming and says
            // when the next attempt conforms.
            Ok(_) => self.governor.check_key(&ip).err().map(|not_until| not_until.earliest_possible()),
            Err(not_until) => Some(not_until.earliest_possible()),
        };
        if let Some(until) = until {
            let mut blocked = self.blocked.write().unwrap_or_else(PoisonError::into_inner);
            if blocked.len() >= PRUNE_AT {
                let now = Instant::now();
                blocked.retain(|_, until| *until > now);
            }
            blocked.insert(ip, until);
            self.blocked_len.store(blocked.len(), Ordering::Relaxed);
            tracing::debug!(client = %ip, "tokengate: too many failed verifications; client blocked");
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
    use std::num::NonZeroU32;

    #[test]
    fn blocks_after_the_budget_is_spent() {
        let quota =
            Quota::with_period(Duration::from_secs(10)).map(|q| q.allow_burst(NonZeroU32::MIN.saturating_add(2)));
        let Some(quota) = quota else { return };
        let limiter = Limiter::new(quota);
        let ip: IpAddr = [10, 0, 0, 1].into();
        limiter.record_failure(ip);
        limiter.record_failure(ip);
        assert_eq!(limiter.blocked_for(&ip), None);
        limiter.record_failure(ip);
        assert!(limiter.blocked_for(&ip).is_some());
        assert_eq!(limiter.blocked_for(&[10, 0, 0, 2].into()), None);
    }

    #[test]
    fn ipv6_is_grouped_by_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap_or(IpAddr::V4([0, 0, 0, 0].into()));
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap_or(IpAddr::V4([0, 0, 0, 0].into()));
        assert_eq!(normalize(a), normalize(b));
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap_or(IpAddr::V4([0, 0, 0, 0].into()));
        assert_eq!(normalize(mapped), IpAddr::V4([10, 0, 0, 1].into()));
    }

    #[test]
    fn forwarded_for_takes_the_trusted_hop() {
        let req = http::Request::builder()
            .header("x-forwarded-for", "6.6.6.6, 1.2.3.4")
            .header("x-forwarded-for", "10.0.0.9")
            .body(())
            .unwrap_or_default();
        let head = RequestHead::from_request(&req);
        let name = HeaderName::from_static("x-forwarded-for");
        assert_eq!(ForwardedFor::new(name.clone(), 1).client_ip(&head), Some([10, 0, 0, 9].into()));
        assert_eq!(ForwardedFor::new(name.clone(), 2).client_ip(&head), Some([1, 2, 3, 4].into()));
        assert_eq!(ForwardedFor::new(name, 9).client_ip(&head), None);
    }
}
