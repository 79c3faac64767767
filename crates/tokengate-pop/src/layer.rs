//! [`CertificateBindingLayer`]: the RFC 8705 binding check as a per-route tower layer,
//! stacked after the authentication layer.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use pin_project_lite::pin_project;
use tokengate_core::{AuthError, ErrorKind, Verified};
use tokengate_tower::{BearerChallenge, OnRejection, Problem, Rejection};
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
pub struct CertificateBindingLayer<R = Problem> {
    require: bool,
    on_rejection: R,
}

impl CertificateBindingLayer {
    /// Bound tokens must match the client certificate; unbound tokens pass. Refusals
    /// are answered like tokengate's HTTP layer does by default (RFC 6750 challenge,
    /// RFC 9457 problem body).
    pub fn new() -> Self {
        CertificateBindingLayer { require: false, on_rejection: Problem }
    }
}

impl<R> CertificateBindingLayer<R> {
    /// Also refuse tokens that are not certificate-bound.
    pub fn require_binding(mut self) -> Self {
        self.require = true;
        self
    }

    /// Another response builder for refusals (e.g. [`tokengate_tower::Rfc6750`] for
    /// an empty body).
    pub fn on_rejection<R2>(self, on_rejection: R2) -> CertificateBindingLayer<R2> {
        CertificateBindingLayer { require: self.require, on_rejection }
    }
}

impl<S, R: Clone> Layer<S> for CertificateBindingLayer<R> {
    type Service = CertificateBinding<S, R>;

    fn layer(&self, inner: S) -> Self::Service {
        CertificateBinding { inner, require: self.require, on_rejection: self.on_rejection.clone() }
    }
}

/// The service of [`CertificateBindingLayer`].
#[derive(Clone, Debug)]
pub struct CertificateBinding<S, R = Problem> {
    inner: S,
    require: bool,
    on_rejection: R,
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

impl<S, R, ReqBody, ResBody> Service<Request<ReqBody>> for CertificateBinding<S, R>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    R: OnRejection<ResBody>,
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
                let response = self.on_rejection.on_rejection(&Rejection::new(error, challenge));
                ResponseFuture { kind: Kind::Refused { response: Some(response) } }
            }
        }
    }
}

pin_project! {
    /// The future of [`CertificateBinding`]: the inner service's, or a ready refusal.
    pub struct ResponseFuture<F, B> {
        #[pin]
        pub(crate) kind: Kind<F, B>,
    }
}

pin_project! {
    #[project = KindProj]
    pub(crate) enum Kind<F, B> {
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
