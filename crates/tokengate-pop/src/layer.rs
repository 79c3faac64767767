//! [`CertificateBindingLayer`]: the RFC 8705 binding check as a per-route tower layer,
//! stacked after the authentication layer.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use pin_project_lite::pin_project;
use tokengate_core::{AuthError, ErrorKind, Verified};
use tokengate_tower::{BearerChallenge, Rejection};
use tower_layer::Layer;
use tower_service::Service;

use crate::binding::check_certificate_binding;
use crate::peer::PeerCertificate;

/// Refuses a certificate-bound token (`cnf.x5t#S256`) unless the request came over a TLS
/// connection whose client certificate has that thumbprint: 401 `invalid_token`. With
/// [`CertificateBindingLayer::require_binding`], unbound tokens are refused as well.
///
/// Put it on the route after tokengate's authentication layer (which leaves the
/// `Arc<Verified>` and its `BearerChallenge` in the request extensions), with
/// [`serve_tls`](crate::serve_tls) (or another TLS front) leaving the [`PeerCertificate`].
/// A request without a verified token is a 500: the authentication layer is missing.
///
/// ```
/// use axum::{Router, routing::get};
/// use tokengate_pop::CertificateBindingLayer;
/// let app: Router = Router::new()
///     .route("/payments", get(|| async { "ok" }))
///     .route_layer(CertificateBindingLayer::new().require_binding());
///     // .route_layer(JwtAuthLayer::new(verifier)) outermost, added last
/// ```
#[derive(Clone, Debug, Default)]
pub struct CertificateBindingLayer {
    require: bool,
}

impl CertificateBindingLayer {
    /// Bound tokens must match the client certificate; unbound tokens pass.
    pub fn new() -> Self {
        CertificateBindingLayer { require: false }
    }

    /// Also refuse tokens that are not certificate-bound.
    pub fn require_binding(mut self) -> Self {
        self.require = true;
        self
    }
}

impl<S> Layer<S> for CertificateBindingLayer {
    type Service = CertificateBinding<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CertificateBinding { inner, require: self.require }
    }
}

/// The service of [`CertificateBindingLayer`].
#[derive(Clone, Debug)]
pub struct CertificateBinding<S> {
    inner: S,
    require: bool,
}

fn check<B>(request: &Request<B>, require: bool) -> Result<(), AuthError> {
    let Some(token) = request.extensions().get::<Arc<Verified>>() else {
        return Err(AuthError::with_detail(
            ErrorKind::Internal,
            "CertificateBindingLayer found no verified token: the authentication layer is missing",
        ));
    };
    check_certificate_binding(token, request.extensions().get::<PeerCertificate>(), require)
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for CertificateBinding<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: Default,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        match check(&request, self.require) {
            Ok(()) => ResponseFuture { kind: Kind::Inner { future: self.inner.call(request) } },
            Err(error) => {
                let challenge =
                    request.extensions().get::<BearerChallenge>().cloned().unwrap_or_else(|| BearerChallenge::new(""));
                let response = Rejection::new(error, challenge).response_with(ResBody::default());
                ResponseFuture { kind: Kind::Refused { response: Some(response) } }
            }
        }
    }
}

pin_project! {
    /// The future of [`CertificateBinding`]: the inner service's, or a ready refusal.
    pub struct ResponseFuture<F, B> {
        #[pin]
        kind: Kind<F, B>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F, B> {
        Inner { #[pin] future: F },
        Refused { response: Option<Response<B>> },
    }
}

impl<F, B, E> Future for ResponseFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Inner { future } => future.poll(cx),
            KindProj::Refused { response } => match response.take() {
                Some(response) => Poll::Ready(Ok(response)),
                None => Poll::Pending,
            },
        }
    }
}
