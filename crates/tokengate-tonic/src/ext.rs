//! What handlers read: [`RequestExt`] on [`tonic::Request`] (`request.token()`,
//! `request.claims::<T>()`, a policy on a message field), and the caller's token kept for
//! forwarding to downstream calls ([`IncomingToken`]).
//!
//! A handler behind a service the layer does not cover (a forgotten layer) gets
//! `INTERNAL` ("the authentication layer is missing"), never `UNAUTHENTICATED`: the
//! server is misconfigured, the caller did nothing wrong.

use std::fmt;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use tokengate_core::Verified;
use tokengate_tower::BearerChallenge;
use tonic::{Request, Status};

use crate::methods::ValuePolicy;
use crate::status::{denial_to_status, to_status};

/// The caller's token as it came in, for forwarding to downstream services (see
/// [`client::ForwardIncoming`](crate::client::ForwardIncoming)). Put in the request
/// extensions by the layer next to the `Arc<Verified>`. Its `Debug` never shows the token.
#[derive(Clone)]
pub struct IncomingToken {
    token: Arc<str>,
    challenge: BearerChallenge,
}

impl IncomingToken {
    pub(crate) fn new(token: &str, challenge: BearerChallenge) -> Self {
        IncomingToken { token: token.into(), challenge }
    }

    /// The token text. Send it on only to services that trust the same issuer and
    /// audience, over TLS; never log it.
    pub fn expose(&self) -> &str {
        &self.token
    }

    pub(crate) fn challenge(&self) -> &BearerChallenge {
        &self.challenge
    }
}

impl fmt::Debug for IncomingToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IncomingToken").field("token", &"[redacted]").finish()
    }
}

fn missing_layer() -> Status {
    Status::internal("the authentication layer is missing")
}

/// Reads the verified token in a tonic handler.
///
/// ```
/// use tokengate_tonic::RequestExt;
/// use tokengate_tonic::methods::ClaimEquals;
///
/// #[derive(serde::Deserialize)]
/// struct Claims { sub: String, tenant_id: String }
///
/// fn handler(request: tonic::Request<String>) -> Result<String, tonic::Status> {
///     let claims: Claims = request.claims()?;
///     // The tenant in the message must be the token's (else PERMISSION_DENIED).
///     request.authorize(&ClaimEquals::new("tenant_id"), request.get_ref().as_str())?;
///     Ok(format!("{} of {}", claims.sub, claims.tenant_id))
/// }
/// // Without the layer in front, a handler gets INTERNAL.
/// assert_eq!(handler(tonic::Request::new("acme".into())).unwrap_err().code(), tonic::Code::Internal);
/// ```
pub trait RequestExt {
    /// The verified token (`INTERNAL` when the layer is missing).
    fn token(&self) -> Result<&Arc<Verified>, Status>;

    /// The claims as `T` (`UNAUTHENTICATED`, "the token has an invalid claim", when they
    /// do not fit `T`).
    fn claims<T: DeserializeOwned>(&self) -> Result<T, Status>;

    /// The caller's token, for forwarding.
    fn incoming_token(&self) -> Option<&IncomingToken>;

    /// Runs `policy` on the token and a value the handler read (a message field):
    /// `PERMISSION_DENIED` with the policy's reason when it refuses.
    fn authorize<V: ?Sized>(&self, policy: &impl ValuePolicy<V>, value: &V) -> Result<(), Status>;

    /// A request for a downstream call that carries this caller's token (for a client
    /// whose provider is [`ForwardIncoming`](crate::client::ForwardIncoming)).
    fn forward<M>(&self, message: M) -> Request<M>;
}

impl<T> RequestExt for Request<T> {
    fn token(&self) -> Result<&Arc<Verified>, Status> {
        self.extensions().get::<Arc<Verified>>().ok_or_else(missing_layer)
    }

    fn claims<C: DeserializeOwned>(&self) -> Result<C, Status> {
        let token = self.token()?;
        token.claims_as::<C>().map_err(|e| to_status(&e, &self.challenge()))
    }

    fn incoming_token(&self) -> Option<&IncomingToken> {
        self.extensions().get::<IncomingToken>()
    }

    fn authorize<V: ?Sized>(&self, policy: &impl ValuePolicy<V>, value: &V) -> Result<(), Status> {
        let token = self.token()?;
        policy.check_value(token, value).map_err(|denial| denial_to_status(&denial, &self.challenge()))
    }

    fn forward<M>(&self, message: M) -> Request<M> {
        let mut request = Request::new(message);
        if let Some(token) = self.incoming_token() {
            request.extensions_mut().insert(token.clone());
        }
        request
    }
}

trait ChallengeOf {
    fn challenge(&self) -> BearerChallenge;
}

impl<T> ChallengeOf for Request<T> {
    fn challenge(&self) -> BearerChallenge {
        self.incoming_token().map(|t| t.challenge().clone()).unwrap_or_default()
    }
}
