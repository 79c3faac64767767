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

use tokengate_core::{AuthError, ErrorKind};

mod client_key;
mod clock;
mod future;
mod layer;
mod limiter;
mod service;

pub use crate::response::AfterAuthentication;
#[allow(deprecated)]
pub use crate::response::RaisedByExtractor;
pub(crate) use client_key::{Client, normalize};
pub use client_key::{ClientAddr, ClientKey, ForwardedFor, PeerAddr};
pub use clock::ManualClock;
pub use future::ResponseFuture;
pub use layer::FailureRateLimitLayer;
pub(crate) use limiter::Limiter;
pub use limiter::MAX_BLOCKED_CLIENTS;
pub use service::FailureRateLimit;

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

#[cfg(test)]
mod tests {
    use super::*;

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
