//! Failure rate limiting (feature `rate-limit`): a brute-force defence in front of
//! [`JwtAuthLayer`](crate::JwtAuthLayer).
//!
//! [`FailureRateLimitLayer`] goes *outside* the auth layer. It counts, per client address,
//! the requests that the auth layer refused because the presented token (or the request
//! carrying it) was bad — it reads the [`AuthError`] that every tokengate rejection carries
//! in its response extensions and judges its [`ErrorKind`] (see [`counts_as_failure`]),
//! never a status code. After `max_failures` failures within `window` (a [governor] GCRA bucket),
//! the client's next requests are answered `429 Too Many Requests` with `Retry-After`,
//! **without running the inner service, so without any crypto**. The client regains one
//! attempt every `window / max_failures`, and all of them after `window`. Requests without
//! a token, successful requests, and refusals after the token verified (a policy denial,
//! claims that do not fit an extractor's type: marked [`AfterAuthentication`], or of a
//! policy kind) never count.
//!
//! **A 503 because the signing keys could not be had (`KeysUnavailable`) does not count**
//! either: during an outage of the identity provider every client gets it, legitimate ones
//! included, and counting it would lock them all out once the provider is back. A flood of
//! forged tokens during an outage is bounded by the key cache instead: tokengate-jwks's
//! `JwksCache` fetches at most once per cooldown for all callers together (an unknown
//! `kid` included) and serves its last good keys meanwhile, and its `Issuers` loads issuers
//! in bounded number and rate, each failed issuer at most once per failure cooldown. A
//! custom `KeyResolver` must bound its own fetches likewise.
//!
//! The client is identified by [`ClientKey`]: by default [`PeerAddr`], the address in the
//! [`ClientAddr`] request extension. **With axum**, use `tokengate_axum::ConnectInfoKey`
//! (feature `rate-limit` of tokengate-axum), which reads axum's `ConnectInfo<SocketAddr>`,
//! or a closure; behind a reverse proxy, trust its forwarded header with [`ForwardedFor`]
//! (only then: the header is otherwise set by the client). IPv6 clients are grouped by
//! their /64 prefix.
//!
//! **Requests whose client cannot be identified are not limited**, and an error is logged
//! once per layer ("no client key: rate limiting is off for these requests"), so that a
//! missing client key does not go unnoticed: with the default [`PeerAddr`] under axum,
//! hyper or tonic (none of which inserts [`ClientAddr`]), that is every request. They are
//! not put into one shared bucket by default, because any anonymous client could spend
//! it and get everyone a 429; [`FailureRateLimitLayer::limit_unidentified`] opts into that
//! shared bucket. At most [`MAX_BLOCKED_CLIENTS`] clients are tracked as blocked at a time;
//! when a distributed attack reaches that bound, the blocks that end soonest are dropped
//! first (those clients are blocked again on their next failure).
//!
//! ```
//! use std::net::SocketAddr;
//! use std::num::NonZeroU32;
//! use std::time::Duration;
//! use axum::extract::ConnectInfo;
//! use tokengate_tower::rate_limit::{FailureRateLimitLayer, ForwardedFor};
//! use tokengate_tower::RequestHead;
//!
//! // 10 failures per minute per client. The default key reads the `ClientAddr`
//! // extension; with axum, read `ConnectInfo` (what `tokengate_axum::ConnectInfoKey`
//! // does; serve with `into_make_service_with_connect_info::<SocketAddr>()`).
//! let layer = FailureRateLimitLayer::new(NonZeroU32::new(10).unwrap(), Duration::from_secs(60))
//!     .unwrap()
//!     .client_key(|req: &RequestHead<'_>| req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()));
//!
//! // Behind one trusted reverse proxy that appends to X-Forwarded-For:
//! let behind_proxy = FailureRateLimitLayer::new(NonZeroU32::new(10).unwrap(), Duration::from_secs(60))
//!     .unwrap()
//!     .client_key(ForwardedFor::new(http::HeaderName::from_static("x-forwarded-for"), 1));
//! ```
//!
//! [governor]: https://docs.rs/governor

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
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

#[allow(deprecated)]
pub use crate::response::{AfterAuthentication, RaisedByExtractor};
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
    /// The client's address, or `None` when unknown (the request is then not limited,
    /// unless the layer was told to [`limit_unidentified`](FailureRateLimitLayer::limit_unidentified);
    /// see the [module docs](self)).
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

/// The address in the [`ClientAddr`] extension. axum does not insert that extension:
/// with axum use `tokengate_axum::ConnectInfoKey` (or a closure reading
/// `ConnectInfo<SocketAddr>`), else every request is unidentified (and not limited).
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
/// the client and are ignored (they may hold any bytes: the header is split on `,` as
/// bytes, and only the chosen entry is decoded). When the header is absent or too short,
/// the [`ClientAddr`] extension is used. Use this only behind proxies that always set the
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
        // Split as bytes: a line that is not ASCII must not vanish (that would shift
        // which entry counts as the trusted hop).
        let entries: Vec<&[u8]> =
            request.headers().get_all(&self.header).iter().flat_map(|v| v.as_bytes().split(|&b| b == b',')).collect();
        match entries.len().checked_sub(self.trusted_proxies).and_then(|i| entries.get(i)) {
            // The trusted hop is there: its address, or none if it is not one.
            Some(hop) => std::str::from_utf8(hop).ok().and_then(parse_ip),
            None => PeerAddr.client_ip(request),
        }
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

/// Whether a refusal counts as a failed attempt, judged by its kind:
///
/// - **counted**: a presented token (or request) that is bad: malformed, forged, expired,
///   revoked, inactive, of an unknown key, ... and [`ErrorKind::IssuerUnavailable`] (a
///   token naming an issuer that cannot be loaded: a client flooding random issuers is
///   throttled);
/// - **not counted**: no token ([`ErrorKind::MissingToken`]); our own outages
///   ([`ErrorKind::KeysUnavailable`], [`ErrorKind::RevocationUnavailable`],
///   [`ErrorKind::IntrospectionUnavailable`]: an outage must not lock clients out, see the
///   [module docs](self)); policy denials after the token verified
///   ([`ErrorKind::InsufficientScope`], [`ErrorKind::Forbidden`]; any refusal marked
///   [`AfterAuthentication`] is not counted either); [`ErrorKind::RateLimited`] and
///   [`ErrorKind::Internal`].
///
/// ```
/// use tokengate_core::{AuthError, ErrorKind};
/// use tokengate_tower::rate_limit::counts_as_failure;
/// assert!(counts_as_failure(&AuthError::new(ErrorKind::InvalidSignature)));
/// assert!(counts_as_failure(&AuthError::new(ErrorKind::IssuerUnavailable)));
/// assert!(!counts_as_failure(&AuthError::new(ErrorKind::RevocationUnavailable)));
/// assert!(!counts_as_failure(&AuthError::new(ErrorKind::Forbidden)));
/// ```
pub fn counts_as_failure(error: &AuthError) -> bool {
    !matches!(
        error.kind(),
        ErrorKind::MissingToken
            | ErrorKind::KeysUnavailable
            | ErrorKind::RevocationUnavailable
            | ErrorKind::IntrospectionUnavailable
            | ErrorKind::InsufficientScope
            | ErrorKind::Forbidden
            | ErrorKind::RateLimited
            | ErrorKind::Internal
    )
}

/// Who a bucket is for: a (normalized) address, or every client that could not be
/// identified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Client {
    Ip(IpAddr),
    Unidentified,
}

impl fmt::Display for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Client::Ip(ip) => ip.fmt(f),
            Client::Unidentified => f.write_str("unidentified"),
        }
    }
}

type Governor = RateLimiter<Client, DashMapStateStore<Client>, MonotonicClock, StateInformationMiddleware>;

/// Prune the governor's store every this many failures, and the blocked list first when
/// it holds this many (then each time it has doubled since).
const PRUNE_AT: usize = 1024;

/// The most clients tracked as blocked at once. When a distributed attack fills the
/// list, the blocks that end soonest are dropped first, down to half of it.
pub const MAX_BLOCKED_CLIENTS: usize = 1 << 16;

/// The clients blocked until some instant, pruned on a doubling threshold.
struct Blocked {
    until: HashMap<Client, Instant>,
    prune_at: usize,
}

impl Blocked {
    fn new(cap: usize) -> Self {
        Blocked { until: HashMap::new(), prune_at: PRUNE_AT.min(cap) }
    }

    /// Makes room for one more entry: drops the expired ones and, at the cap, the half
    /// that ends soonest; then sets the next threshold (amortized O(1) per block).
    fn make_room(&mut self, cap: usize) {
        let full = self.until.len() >= cap;
        let now = Instant::now();
        self.until.retain(|_, until| *until > now);
        let target = cap / 2;
        if full && self.until.len() > target {
            let mut ends: Vec<Instant> = self.until.values().copied().collect();
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
    blocked: RwLock<Blocked>,
    blocked_len: AtomicUsize,
    max_blocked: usize,
    failures: AtomicU64,
    warned_unidentified: AtomicBool,
}

impl Limiter {
    pub(crate) fn new(quota: Quota) -> Self {
        Limiter::with_max_blocked(quota, MAX_BLOCKED_CLIENTS)
    }

    pub(crate) fn with_max_blocked(quota: Quota, max_blocked: usize) -> Self {
        let max_blocked = max_blocked.max(2);
        Limiter {
            governor: RateLimiter::dashmap_with_clock(quota, MonotonicClock).with_middleware(),
            blocked: RwLock::new(Blocked::new(max_blocked)),
            blocked_len: AtomicUsize::new(0),
            max_blocked,
            failures: AtomicU64::new(0),
            warned_unidentified: AtomicBool::new(false),
        }
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
        until.checked_duration_since(Instant::now()).filter(|d| !d.is_zero())
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
                blocked.make_room(self.max_blocked);
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
        let limiter = Limiter::with_max_blocked(quota.allow_burst(NonZeroU32::MIN), cap);
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
        let later = Instant::now() + Duration::from_secs(60);
        for i in 0..3_000u32 {
            blocked.until.insert(Client::Ip(IpAddr::V4(i.into())), later);
        }
        blocked.make_room(MAX_BLOCKED_CLIENTS);
        assert_eq!(blocked.until.len(), 3_000, "nothing expired, nothing dropped below the cap");
        assert_eq!(blocked.prune_at, 6_000);
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

    #[test]
    fn a_non_ascii_forwarded_line_is_split_not_dropped() {
        let mut req = http::Request::new(());
        let name = HeaderName::from_static("x-forwarded-for");
        // The client wrote a non-ASCII first entry; the proxy appended the real address.
        req.headers_mut().append(
            &name,
            http::HeaderValue::from_bytes(b"\xff\xfe, 203.0.113.9")
                .unwrap_or_else(|_| http::HeaderValue::from_static("")),
        );
        req.headers_mut().append(&name, http::HeaderValue::from_static("10.0.0.9"));
        req.extensions_mut().insert(ClientAddr(SocketAddr::from(([192, 0, 2, 1], 4000))));
        let head = RequestHead::from_request(&req);
        assert_eq!(ForwardedFor::new(name.clone(), 1).client_ip(&head), Some([10, 0, 0, 9].into()));
        assert_eq!(ForwardedFor::new(name.clone(), 2).client_ip(&head), Some([203, 0, 113, 9].into()));
        // The trusted hop is the garbage itself: no address (not the peer's, not a shifted one).
        assert_eq!(ForwardedFor::new(name.clone(), 3).client_ip(&head), None);
        // Too short: the peer address.
        assert_eq!(ForwardedFor::new(name, 4).client_ip(&head), Some([192, 0, 2, 1].into()));
    }

    #[test]
    fn what_counts_as_a_failure() {
        assert!(counts_as_failure(&AuthError::new(ErrorKind::InvalidSignature)));
        assert!(counts_as_failure(&AuthError::new(ErrorKind::InvalidRequest)));
        assert!(!counts_as_failure(&AuthError::new(ErrorKind::KeysUnavailable)));
        assert!(!counts_as_failure(&AuthError::new(ErrorKind::MissingToken)));
        assert!(!counts_as_failure(&AuthError::new(ErrorKind::InsufficientScope)));
        assert!(!counts_as_failure(&AuthError::new(ErrorKind::RateLimited)));
    }
}
