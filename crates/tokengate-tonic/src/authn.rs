//! The one place this crate authenticates a token: tokengate-tower's transport-neutral
//! [`Authenticator`] (verifiers in order, verified-token cache, unknown-kid slow path,
//! remote verification, its own revocation hook), then the layer's revocation store, the
//! same one a running stream is re-checked against.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tokengate_core::{AuthError, ErrorKind, RevocationCheck, Verified};
use tokengate_tower::{Authentication, Authenticator};

/// The future of the slow path.
pub(crate) type AuthFuture = Pin<Box<dyn Future<Output = Result<Arc<Verified>, AuthError>> + Send + 'static>>;

/// What one synchronous attempt decided.
pub(crate) enum Outcome {
    /// Decided now.
    Done(Result<Arc<Verified>, AuthError>),
    /// A key refresh or a remote verifier must be awaited.
    Pending(AuthFuture),
}

/// The authenticator and the optional revocation store of the gRPC layer.
#[derive(Clone)]
pub(crate) struct Authn {
    authenticator: Authenticator,
    revocation: Option<Arc<dyn RevocationCheck>>,
}

impl fmt::Debug for Authn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authn")
            .field("authenticator", &self.authenticator)
            .field("revocation", &self.revocation.is_some())
            .finish()
    }
}

/// The label of the token's place in spans and log lines.
const SOURCE: &str = "grpc-metadata";

impl Authn {
    pub(crate) fn new(authenticator: Authenticator) -> Self {
        Authn { authenticator, revocation: None }
    }

    pub(crate) fn with_revocation(mut self, store: Arc<dyn RevocationCheck>) -> Self {
        self.revocation = Some(store);
        self
    }

    /// The revocation store, for streams that re-check while they run.
    pub(crate) fn revocation(&self) -> Option<&Arc<dyn RevocationCheck>> {
        self.revocation.as_ref()
    }

    /// Authenticates `token`: synchronously when possible, else a future.
    pub(crate) fn authenticate(&self, token: &str) -> Outcome {
        match self.authenticator.authenticate_from(token, SOURCE) {
            Authentication::Done(result) => Outcome::Done(result.and_then(|v| self.check(v))),
            Authentication::Pending(future) => {
                let this = self.clone();
                Outcome::Pending(Box::pin(async move { this.check(future.await?) }))
            }
        }
    }

    /// Authenticates with what is at hand: a token that would need a key refresh or a
    /// remote verifier is refused ([`ErrorKind::UnknownKey`]), nothing is fetched.
    pub(crate) fn authenticate_now(&self, token: &str) -> Result<Arc<Verified>, AuthError> {
        match self.authenticator.authenticate_from(token, SOURCE) {
            Authentication::Done(result) => result.and_then(|v| self.check(v)),
            Authentication::Pending(_) => Err(AuthError::with_detail(
                ErrorKind::UnknownKey,
                "the synchronous interceptor cannot wait for a key refresh or a remote verifier",
            )),
        }
    }

    fn check(&self, verified: Arc<Verified>) -> Result<Arc<Verified>, AuthError> {
        if let Some(store) = &self.revocation {
            store.check(&verified)?;
        }
        Ok(verified)
    }
}
