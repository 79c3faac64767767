//! Event intake (continuous access evaluation): what identity providers push becomes rules.
//!
//! - [`SetReceiver`]: Security Event Tokens (RFC 8417) delivered by push (RFC 8935):
//!   `POST` with `Content-Type: application/secevent+jwt`; 202 once stored; 400 with the
//!   RFC 8935 JSON error `{"err": ..., "description": ...}`; 503 when the rule cannot be
//!   stored, so the transmitter retries.
//! - [`LogoutReceiver`]: OpenID Connect Back-Channel Logout 1.0 logout tokens: `POST` with
//!   the form field `logout_token`; 200 with `Cache-Control: no-store`; 400
//!   `{"error": ..., "error_description": ...}` when invalid.
//!
//! Each verifies its tokens with a [`Verifier`](tokengate_core::Verifier) of its own,
//! built for the transmitter's issuer, keys and audience, and refuses what is not its kind
//! of token (a SET without `typ: secevent+jwt`, with `sub` or `exp` at top level; a logout
//! token with a `nonce`). Mount them behind the transport security your deployment needs.

mod logout;
mod set;

pub use logout::{LOGOUT_EVENT, LogoutError, LogoutReceiver};
pub use set::{SetError, SetErrorCode, SetReceiver, event_types};

/// Why an event could not be taken in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IntakeError<E> {
    /// The token is invalid (HTTP 400): nothing changed.
    #[error(transparent)]
    Rejected(E),
    /// The token is valid but the rule could not be stored (HTTP 503): send it again later.
    #[error(transparent)]
    Unavailable(crate::StoreError),
}
