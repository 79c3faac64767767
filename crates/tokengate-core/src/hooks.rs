//! Extension points of the authentication step that live outside core: revocation lookups
//! and remote (introspection) verification. Core only names them; the revocation and
//! introspection crates implement them, and the authenticator calls them.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::error::AuthError;
use crate::verified::Verified;

/// A synchronous revocation lookup, run on every request after the token verified (a
/// token served from the verified-token cache is checked too).
///
/// `check` runs on the request path: it must not block or do I/O (a local mirror answers).
/// It returns [`ErrorKind::Revoked`](crate::ErrorKind::Revoked) for a revoked token and
/// [`ErrorKind::RevocationUnavailable`](crate::ErrorKind::RevocationUnavailable) when the
/// answer cannot be known (a stale mirror failing closed).
pub trait RevocationCheck: Send + Sync + 'static {
    /// `Ok(())` when the token is not revoked.
    fn check(&self, token: &Verified) -> Result<(), AuthError>;
}

impl<R: RevocationCheck + ?Sized> RevocationCheck for Arc<R> {
    fn check(&self, token: &Verified) -> Result<(), AuthError> {
        (**self).check(token)
    }
}

/// The future a [`RemoteVerifier`] returns.
pub type VerifyFuture = Pin<Box<dyn Future<Output = Result<Verified, AuthError>> + Send + 'static>>;

/// Verifies a token by asking someone else, e.g. an RFC 7662 introspection endpoint.
///
/// Used for opaque tokens (in place of local verification) and, in zero-trust mode, after a
/// JWT verified locally. An unreachable server must give
/// [`ErrorKind::IntrospectionUnavailable`](crate::ErrorKind::IntrospectionUnavailable),
/// never a 401 kind.
pub trait RemoteVerifier: Send + Sync + 'static {
    /// Verifies `token`; the future owns what it needs.
    fn verify_remote(&self, token: &str) -> VerifyFuture;
}

impl<R: RemoteVerifier + ?Sized> RemoteVerifier for Arc<R> {
    fn verify_remote(&self, token: &str) -> VerifyFuture {
        (**self).verify_remote(token)
    }
}
