//! Who a client is: [`ClientKey`] and its implementations, and the bucket key.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use http::HeaderName;

use crate::source::RequestHead;

/// The client's socket address, as a request extension. Insert it where you accept
/// connections (hyper, a custom server) for [`PeerAddr`] to find it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientAddr(pub SocketAddr);

/// Identifies the client of a request. Implemented by [`PeerAddr`], [`ForwardedFor`] and
/// every `Fn(&RequestHead<'_>) -> Option<IpAddr> + Clone + Send + Sync + 'static`.
pub trait ClientKey: Clone + Send + Sync + 'static {
    /// The client's address, or `None` when unknown (the request is then not limited,
    /// unless the layer was told to [`limit_unidentified`](super::FailureRateLimitLayer::limit_unidentified);
    /// see the [module docs](super)).
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
pub(crate) fn normalize(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !u128::from(u64::MAX))),
        },
    }
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
