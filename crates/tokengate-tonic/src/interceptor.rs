//! [`AuthInterceptor`]: a synchronous [`tonic::service::Interceptor`] over keys that are
//! already loaded, for services built with `FooServer::with_interceptor`.
//!
//! A convenience, not the real path: it cannot fetch keys (an unknown `kid` is
//! `UNAUTHENTICATED`), it does not know the method (no per-method requirements) and it
//! cannot watch a stream's token. Use [`GrpcAuthLayer`](crate::GrpcAuthLayer) for those.
//!
//! ```
//! use tokengate_core::{Algorithm, Key, KeySet, Verifier};
//! use tokengate_tonic::AuthInterceptor;
//! use tonic::service::Interceptor;
//!
//! let verifier = Verifier::builder(KeySet::new([Key::hmac(Algorithm::HS256, &[7u8; 32])?])?)
//!     .issuer("https://issuer.example")
//!     .audience("orders")
//!     .algorithms([Algorithm::HS256])
//!     .build()?;
//! let mut interceptor = AuthInterceptor::new(verifier);
//! let refused = interceptor.call(tonic::Request::new(())).unwrap_err();
//! assert_eq!(refused.code(), tonic::Code::Unauthenticated);
//! assert_eq!(refused.message(), "no access token was presented");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::sync::Arc;

use http::{Extensions, Method, Uri};
use tokengate_core::{AuthError, ErrorKind, RevocationCheck, Verifier};
use tokengate_tower::{Authenticator, BearerChallenge, RequestHead, TokenSources};
use tonic::service::Interceptor;
use tonic::{Request, Status};

use crate::authn::Authn;
use crate::ext::IncomingToken;
use crate::status::to_status;

/// Verifies the `authorization: Bearer` token of each request with already-loaded keys and
/// puts the `Arc<Verified>` and the [`IncomingToken`] in the request extensions.
#[derive(Clone)]
pub struct AuthInterceptor {
    authn: Authn,
    sources: TokenSources,
    challenge: BearerChallenge,
}

impl fmt::Debug for AuthInterceptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthInterceptor").field("authn", &self.authn).field("challenge", &self.challenge).finish()
    }
}

impl AuthInterceptor {
    /// Requires a token that `verifier` accepts.
    pub fn new(verifier: Verifier) -> Self {
        AuthInterceptor::from_authenticator(Authenticator::new(verifier))
    }

    /// Authenticates with `authenticator`; a token it could only accept after waiting (a
    /// key refresh, a remote verifier) is refused.
    pub fn from_authenticator(authenticator: Authenticator) -> Self {
        AuthInterceptor {
            authn: Authn::new(authenticator),
            sources: TokenSources::bearer(),
            challenge: BearerChallenge::default(),
        }
    }

    /// Checks every token against `store`.
    pub fn revocation(mut self, store: impl RevocationCheck) -> Self {
        self.authn = self.authn.with_revocation(Arc::new(store));
        self
    }

    /// The realm of the `www-authenticate` challenge.
    pub fn realm(mut self, realm: impl AsRef<str>) -> Self {
        self.challenge = self.challenge.with_realm(realm);
        self
    }
}

impl Interceptor for AuthInterceptor {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let headers = request.metadata().clone().into_headers();
        let (method, uri, extensions) = (Method::POST, Uri::default(), Extensions::new());
        let head = RequestHead::new(&method, &uri, &headers, &extensions);
        let reject = |error: AuthError| {
            tracing::debug!(kind = ?error.kind(), "tokengate: gRPC call refused");
            to_status(&error, &self.challenge)
        };
        let token = match self.sources.find(&head) {
            Ok(Some((token, _))) => token,
            Ok(None) => return Err(reject(AuthError::new(ErrorKind::MissingToken))),
            Err(error) => return Err(reject(error)),
        };
        let verified = self.authn.authenticate_now(token).map_err(reject)?;
        let incoming = IncomingToken::new(token, self.challenge.clone());
        request.extensions_mut().insert(verified);
        request.extensions_mut().insert(incoming);
        Ok(request)
    }
}
