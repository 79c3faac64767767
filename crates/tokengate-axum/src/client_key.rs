//! [`ConnectInfoKey`]: the failure rate limiter's client key for axum.

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use tokengate_tower::RequestHead;
use tokengate_tower::rate_limit::{ClientKey, PeerAddr};

/// Identifies the client of a request by axum's `ConnectInfo<SocketAddr>` (serve the app
/// with `into_make_service_with_connect_info::<SocketAddr>()`), or else by the
/// [`ClientAddr`](tokengate_tower::rate_limit::ClientAddr) extension. Use it as the
/// client key of [`FailureRateLimitLayer`](tokengate_tower::rate_limit::FailureRateLimitLayer):
/// the default key ([`PeerAddr`]) reads only `ClientAddr`, which axum does not insert.
///
/// ```
/// use std::net::SocketAddr;
/// use std::num::NonZeroU32;
/// use std::time::Duration;
/// use axum::{Router, routing::get};
/// use tokengate_axum::ConnectInfoKey;
/// use tokengate_tower::rate_limit::FailureRateLimitLayer;
///
/// let limiter = FailureRateLimitLayer::new(NonZeroU32::new(10).unwrap(), Duration::from_secs(60))
///     .unwrap()
///     .client_key(ConnectInfoKey);
/// let app: Router = Router::new().route("/", get(|| async { "hi" })).route_layer(limiter);
/// let service = app.into_make_service_with_connect_info::<SocketAddr>();
/// # let _ = service;
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ConnectInfoKey;

impl ClientKey for ConnectInfoKey {
    fn client_ip(&self, request: &RequestHead<'_>) -> Option<IpAddr> {
        match request.extensions().get::<ConnectInfo<SocketAddr>>() {
            Some(ConnectInfo(addr)) => Some(addr.ip()),
            None => PeerAddr.client_ip(request),
        }
    }
}
