//! [`FailureRateLimit`].

use std::fmt;
use std::task::{Context, Poll};

use http::{Request, Response};
use tokengate_core::{AuthError, ErrorKind};
use tower_service::Service;

use super::{Client, ClientKey, FailureRateLimitLayer, ResponseFuture, normalize};
use crate::response::{OnRejection, Rejection};
use crate::source::RequestHead;

/// The middleware built by [`FailureRateLimitLayer`]. See the [module docs](super).
pub struct FailureRateLimit<S, K, R> {
    inner: S,
    config: FailureRateLimitLayer<K, R>,
}

impl<S: Clone, K: Clone, R: Clone> Clone for FailureRateLimit<S, K, R> {
    fn clone(&self) -> Self {
        FailureRateLimit { inner: self.inner.clone(), config: self.config.clone() }
    }
}

impl<S: fmt::Debug, K: fmt::Debug, R> fmt::Debug for FailureRateLimit<S, K, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FailureRateLimit").field("inner", &self.inner).field("key", &self.config.key).finish()
    }
}

impl<S, K, R> FailureRateLimit<S, K, R> {
    pub(crate) fn from_parts(inner: S, config: FailureRateLimitLayer<K, R>) -> Self {
        FailureRateLimit { inner, config }
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

impl<S, K, R, ReqBody, ResBody> Service<Request<ReqBody>> for FailureRateLimit<S, K, R>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    K: ClientKey,
    R: OnRejection<ResBody>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let client = match self.config.key.client_ip(&RequestHead::from_request(&request)) {
            Some(ip) => Some(Client::Ip(normalize(ip))),
            None => {
                self.config.limiter.warn_unidentified(self.config.limit_unidentified);
                self.config.limit_unidentified.then_some(Client::Unidentified)
            }
        };
        if let Some(client) = client
            && let Some(wait) = self.config.limiter.blocked_for(&client)
        {
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            tracing::debug!(client = %client, retry_after = secs, "tokengate: request refused: too many failures");
            crate::metrics::failure_limit_refusal();
            let error = AuthError::new(ErrorKind::RateLimited).retry_after(secs.max(1));
            let rejection = Rejection::new(error, self.config.challenge.clone());
            let mut response = self.config.on_rejection.on_rejection(&rejection);
            if response.extensions().get::<AuthError>().is_none() {
                response.extensions_mut().insert(rejection.error().clone());
            }
            return ResponseFuture::limited(response);
        }
        let limiter = client.map(|client| (client, std::sync::Arc::clone(&self.config.limiter)));
        ResponseFuture::inner(self.inner.call(request), limiter)
    }
}
