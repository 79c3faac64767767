//! [`PolicyLayer`]: a policy in front of a service, for axum's `route_layer` (or any
//! `http::Request` service, a tonic server's included).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use pin_project_lite::pin_project;
use tokengate_core::Verified;
use tokengate_tower::DenialResponse;
use tower_layer::Layer;
use tower_service::Service;

use crate::policy::{Policy, PolicyRequest};

/// Applies a [`Policy`] to every request, after the authentication layer: it reads the
/// `Arc<Verified>` that layer put in the request extensions (a cached token is checked
/// like a fresh one), builds a [`PolicyRequest`] from the request and asks the policy.
/// Allowed requests go on; denials are answered by [`DenialResponse`] (403, or 401 for
/// a step-up, with a problem body). A request without a verified token is a 500: the
/// authentication layer is missing, which is a server bug, not the client's fault.
///
/// Put it *inside* the authentication layer. With axum, `route_layer`s wrap in reverse
/// order (the last one added runs first), so add the policy first:
///
/// ```
/// use axum::{Router, routing::get};
/// use tokengate_policy::{PolicyExt, PolicyLayer, Region, Scope, Tenant};
/// # fn auth() -> tower::layer::util::Identity { tower::layer::util::Identity::new() }
///
/// let orders = Tenant::from_path_param("tenant").and(Region::new("eu-west-1")).and(Scope::all_of(["orders:read"]));
/// let app: Router = Router::new()
///     .route("/t/{tenant}/orders", get(|| async { "orders" }))
///     .route_layer(PolicyLayer::new(orders))
///     .route_layer(auth()); // JwtAuthLayer::new(verifier): runs first
/// ```
#[derive(Debug)]
pub struct PolicyLayer<P> {
    policy: Arc<P>,
    response: DenialResponse,
}

impl<P> Clone for PolicyLayer<P> {
    fn clone(&self) -> Self {
        PolicyLayer { policy: Arc::clone(&self.policy), response: self.response.clone() }
    }
}

impl<P: Policy> PolicyLayer<P> {
    /// A layer enforcing `policy`.
    pub fn new(policy: P) -> Self {
        PolicyLayer { policy: Arc::new(policy), response: DenialResponse::new() }
    }

    /// How denials are answered (e.g. [`DenialResponse::realm`] with the authentication
    /// layer's realm).
    pub fn response(mut self, response: DenialResponse) -> Self {
        self.response = response;
        self
    }

    /// The policy.
    pub fn policy(&self) -> &P {
        &self.policy
    }
}

impl<S, P> Layer<S> for PolicyLayer<P> {
    type Service = PolicyService<S, P>;

    fn layer(&self, inner: S) -> Self::Service {
        PolicyService { inner, policy: Arc::clone(&self.policy), response: self.response.clone() }
    }
}

/// The service of a [`PolicyLayer`].
#[derive(Debug)]
pub struct PolicyService<S, P> {
    inner: S,
    policy: Arc<P>,
    response: DenialResponse,
}

impl<S: Clone, P> Clone for PolicyService<S, P> {
    fn clone(&self) -> Self {
        PolicyService { inner: self.inner.clone(), policy: Arc::clone(&self.policy), response: self.response.clone() }
    }
}

impl<S, P, ReqBody, ResBody> Service<Request<ReqBody>> for PolicyService<S, P>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    P: Policy,
    ResBody: From<String>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let Some(token) = request.extensions().get::<Arc<Verified>>() else {
            tracing::error!("tokengate policy: no verified token in the request; is the authentication layer missing?");
            return ResponseFuture::ready(DenialResponse::missing_authentication());
        };
        match self.policy.check(token, &PolicyRequest::from_request(&request)) {
            Ok(()) => ResponseFuture { kind: Kind::Inner { future: self.inner.call(request) } },
            Err(denial) => {
                tracing::debug!(policy = denial.policy(), kind = %denial.kind(), "tokengate policy: denied");
                #[cfg(feature = "metrics")]
                ::metrics::counter!(crate::POLICY_DENIALS, "policy" => denial.policy()).increment(1);
                ResponseFuture::ready(self.response.respond(&denial))
            }
        }
    }
}

pin_project! {
    /// The future of a [`PolicyService`].
    pub struct ResponseFuture<F, B> {
        #[pin]
        kind: Kind<F, B>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F, B> {
        Inner { #[pin] future: F },
        Ready { response: Option<Response<B>> },
    }
}

impl<F, B> ResponseFuture<F, B> {
    fn ready(response: Response<B>) -> Self {
        ResponseFuture { kind: Kind::Ready { response: Some(response) } }
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
            KindProj::Ready { response } => match response.take() {
                Some(response) => Poll::Ready(Ok(response)),
                // Polled after completion: never resolves again (a caller bug).
                None => Poll::Pending,
            },
        }
    }
}
