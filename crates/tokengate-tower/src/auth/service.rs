//! [`JwtAuth`]: the service.

use std::fmt;
use std::mem;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tokengate_core::{AuthError, ErrorKind, Verified};
use tower_service::Service;

use super::future::ResponseFuture;
use super::layer::Engine;
use crate::authenticator::Authentication;
use crate::response::{OnRejection, Rejection};
use crate::source::RequestHead;

/// The middleware built by [`JwtAuthLayer`](super::JwtAuthLayer). See the
/// [module docs](crate::auth).
pub struct JwtAuth<S, R = crate::response::Problem> {
    inner: S,
    engine: Arc<Engine>,
    on_rejection: R,
}

impl<S: Clone, R: Clone> Clone for JwtAuth<S, R> {
    fn clone(&self) -> Self {
        JwtAuth { inner: self.inner.clone(), engine: Arc::clone(&self.engine), on_rejection: self.on_rejection.clone() }
    }
}

impl<S: fmt::Debug, R> fmt::Debug for JwtAuth<S, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtAuth").field("inner", &self.inner).field("engine", &self.engine).finish_non_exhaustive()
    }
}

impl<S, R> JwtAuth<S, R> {
    pub(crate) fn from_parts(inner: S, engine: Arc<Engine>, on_rejection: R) -> Self {
        JwtAuth { inner, engine, on_rejection }
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

fn respond<R: OnRejection<B>, B>(engine: &Engine, on_rejection: &R, error: AuthError) -> Response<B> {
    let rejection = Rejection::new(error, engine.challenge.clone());
    let mut response = on_rejection.on_rejection(&rejection);
    if response.extensions().get::<AuthError>().is_none() {
        response.extensions_mut().insert(rejection.error().clone());
    }
    response
}

impl<S, R, ReqBody, ResBody> Service<Request<ReqBody>> for JwtAuth<S, R>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    R: OnRejection<ResBody> + Clone + Send + Sync + 'static,
    ReqBody: Send + 'static,
    ResBody: Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let engine = Arc::clone(&self.engine);
        let step = match find_token(&engine, &RequestHead::from_request(&request)) {
            Ok(Some((token, source))) => Some(engine.auth.authenticate_from(token, source)),
            Ok(None) => None,
            Err(error) => Some(Authentication::Done(Err(error))),
        };
        let verified = match step {
            None => None,
            Some(Authentication::Done(Ok(verified))) => Some(verified),
            Some(Authentication::Done(Err(error))) => {
                return ResponseFuture::rejected(respond(&engine, &self.on_rejection, error));
            }
            Some(Authentication::Pending(pending)) => {
                // The ready service goes with the request; this one gets a fresh clone.
                let clone = self.inner.clone();
                let mut inner = mem::replace(&mut self.inner, clone);
                let on_rejection = self.on_rejection.clone();
                return ResponseFuture::verifying(Box::pin(async move {
                    match pending.await {
                        Ok(verified) => {
                            let extensions = request.extensions_mut();
                            extensions.insert(verified);
                            extensions.insert(engine.challenge.clone());
                            Ok(inner.call(request))
                        }
                        Err(error) => Err(respond(&engine, &on_rejection, error)),
                    }
                }));
            }
        };
        let extensions = request.extensions_mut();
        match verified {
            Some(verified) => {
                extensions.insert(verified);
            }
            // Anonymous here: a token verified by an outer layer must not pass for this
            // layer's.
            None => {
                extensions.remove::<Arc<Verified>>();
            }
        }
        extensions.insert(engine.challenge.clone());
        ResponseFuture::inner(self.inner.call(request))
    }
}

/// The token and where it was found; `Ok(None)` in optional mode without a token.
fn find_token<'a, 'e>(engine: &'e Engine, head: &RequestHead<'a>) -> Result<Option<(&'a str, &'e str)>, AuthError> {
    match engine.sources.find(head) {
        Ok(Some(found)) => Ok(Some(found)),
        Ok(None) if engine.optional => {
            tracing::trace!("tokengate: no token; going on anonymous");
            Ok(None)
        }
        Ok(None) => {
            tracing::trace!("tokengate: no token");
            Err(AuthError::new(ErrorKind::MissingToken))
        }
        Err(error) => {
            tracing::debug!(error = ?error, "tokengate: malformed credentials");
            Err(error)
        }
    }
}
