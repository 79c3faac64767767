//! [`AuthorizeLayer`] / [`Authorize`]: attaches the provider's token to every outgoing
//! request, on a tonic `Channel` or on an HTTP client (anything that is a
//! `Service<http::Request<B>>`), so one provider serves gRPC and HTTP calls.
//!
//! The `authorization` header is set to `Bearer <token>` (marked sensitive, replacing any
//! already there). When the provider fails, the call is not made: the error is the
//! [`ProviderError`](super::ProviderError), which tonic reports to the caller as a
//! `Status` with code `UNKNOWN`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::Request;
use http::header::AUTHORIZATION;
use tower_layer::Layer;
use tower_service::Service;

use super::provider::TokenProvider;

/// The error of an [`Authorize`] service: the provider's or the inner service's.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Adds the token of `P` to each request. `Clone` is cheap.
///
/// ```no_run
/// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
/// use tokengate_tonic::client::{AuthorizeLayer, StaticToken};
/// use tower::ServiceBuilder;
///
/// let channel = tonic::transport::Endpoint::from_static("http://127.0.0.1:50051").connect().await?;
/// let channel = ServiceBuilder::new()
///     .layer(AuthorizeLayer::new(StaticToken::new("eyJ...")?))
///     .service(channel);
/// // let client = OrdersClient::new(channel);
/// # Ok(()) }
/// ```
pub struct AuthorizeLayer<P> {
    provider: Arc<P>,
}

impl<P> Clone for AuthorizeLayer<P> {
    fn clone(&self) -> Self {
        AuthorizeLayer { provider: Arc::clone(&self.provider) }
    }
}

impl<P> fmt::Debug for AuthorizeLayer<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizeLayer").finish_non_exhaustive()
    }
}

impl<P: TokenProvider> AuthorizeLayer<P> {
    /// Attaches the tokens of `provider`.
    pub fn new(provider: P) -> Self {
        AuthorizeLayer { provider: Arc::new(provider) }
    }

    /// Attaches the tokens of a provider shared with other clients.
    pub fn shared(provider: Arc<P>) -> Self {
        AuthorizeLayer { provider }
    }
}

impl<S, P> Layer<S> for AuthorizeLayer<P> {
    type Service = Authorize<S, P>;

    fn layer(&self, inner: S) -> Authorize<S, P> {
        Authorize { inner, provider: Arc::clone(&self.provider) }
    }
}

/// The service made by [`AuthorizeLayer`].
pub struct Authorize<S, P> {
    inner: S,
    provider: Arc<P>,
}

impl<S: Clone, P> Clone for Authorize<S, P> {
    fn clone(&self) -> Self {
        Authorize { inner: self.inner.clone(), provider: Arc::clone(&self.provider) }
    }
}

impl<S, P> fmt::Debug for Authorize<S, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authorize").finish_non_exhaustive()
    }
}

impl<S, P, B> Service<Request<B>> for Authorize<S, P>
where
    S: Service<Request<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    P: TokenProvider,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, BoxError>> + Send + 'static>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let token = self.provider.token(request.extensions());
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let token = token.await?;
            request.headers_mut().insert(AUTHORIZATION, token.bearer_header()?);
            inner.call(request).await.map_err(Into::into)
        })
    }
}
