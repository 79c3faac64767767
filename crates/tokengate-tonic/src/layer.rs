//! The server layer: [`GrpcAuthLayer`] / [`GrpcAuth`] / [`ResponseFuture`], for
//! `tonic::transport::Server::builder().layer(...)` (or any tower stack over
//! `http::Request`).
//!
//! Per call, in order:
//!
//! 1. An **exempt** service (`grpc.health.v1.Health`, server reflection; see
//!    [`Exemptions`]) is passed on untouched.
//! 2. The token is read from the `authorization` metadata (`Bearer …`), or from the
//!    [`TokenSources`] configured; none is `UNAUTHENTICATED`, two are `UNAUTHENTICATED`
//!    (`invalid_request` in the challenge).
//! 3. It is verified (verifiers in order; an unknown `kid` refreshes the keys once) and
//!    checked against the revocation store, if any.
//! 4. With a [`MethodMap`], the method's policy runs (`PERMISSION_DENIED` when it refuses,
//!    and for every unlisted method).
//! 5. The `Arc<Verified>` and the [`IncomingToken`] go into the request extensions (see
//!    [`RequestExt`](crate::RequestExt)), and the response body is wrapped so that a stream
//!    ends when its token does ([`crate::stream`]).
//!
//! Every refusal is a gRPC status in the response headers (a trailers-only response), made
//! by [`crate::status`]: no token text in it, nor in any log line.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::{HeaderName, Request, Response};
use tokengate_core::{AuthError, Clock, DEFAULT_LEEWAY, ErrorKind, RevocationCheck, SystemClock, Verified, Verifier};
use tokengate_tower::{Authenticator, BearerChallenge, RequestHead, TokenSources};
use tonic::Status;
use tower_layer::Layer;
use tower_service::Service;

use crate::authn::{Authn, Outcome};
use crate::ext::IncomingToken;
use crate::methods::{CallView, Denial, Exemptions, MethodMap};
use crate::status::{denial_to_status, to_status};
use crate::stream::{AuthBody, DEFAULT_RECHECK_INTERVAL, Watch, WatchConfig};

/// Configures and applies authentication to a tonic server. `Clone` is cheap.
///
/// Authentication itself is tokengate-tower's transport-neutral
/// [`Authenticator`] ([`GrpcAuthLayer::from_authenticator`]): the same verifiers, cache and
/// slow path as the HTTP layer.
///
/// ```
/// use tokengate_core::{Algorithm, Key, KeySet, Verifier};
/// use tokengate_tonic::GrpcAuthLayer;
/// use tokengate_tonic::methods::{MethodMap, require_scope};
///
/// let verifier = Verifier::builder(KeySet::new([Key::hmac(Algorithm::HS256, &[7u8; 32])?])?)
///     .issuer("https://issuer.example")
///     .audience("orders")
///     .algorithms([Algorithm::HS256])
///     .build()?;
/// let layer = GrpcAuthLayer::new(verifier)
///     .realm("orders")
///     .methods(MethodMap::new().method("/tokengate.example.v1.Orders/*", require_scope("orders:read"))?);
/// // tonic::transport::Server::builder().layer(layer).add_service(...)
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct GrpcAuthLayer {
    config: Arc<Config>,
}

#[derive(Clone)]
struct Config {
    authn: Authn,
    sources: TokenSources,
    methods: Option<MethodMap>,
    exemptions: Exemptions,
    watch: WatchConfig,
}

impl fmt::Debug for GrpcAuthLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GrpcAuthLayer")
            .field("authn", &self.config.authn)
            .field("sources", &self.config.sources)
            .field("methods", &self.config.methods)
            .field("exemptions", &self.config.exemptions)
            .field("streams", &self.config.watch)
            .finish()
    }
}

impl GrpcAuthLayer {
    /// Requires a token that `verifier` accepts on every method but the exempt ones.
    pub fn new(verifier: Verifier) -> Self {
        GrpcAuthLayer::from_authenticator(Authenticator::new(verifier))
    }

    /// Authenticates with `authenticator` (several verifiers, the verified-token cache,
    /// introspection of opaque tokens: see tokengate-tower's `Authenticator`). Give the
    /// revocation store to [`GrpcAuthLayer::revocation`], which also re-checks running
    /// streams.
    pub fn from_authenticator(authenticator: Authenticator) -> Self {
        GrpcAuthLayer {
            config: Arc::new(Config {
                authn: Authn::new(authenticator),
                sources: TokenSources::bearer(),
                methods: None,
                exemptions: Exemptions::default(),
                watch: WatchConfig {
                    leeway: DEFAULT_LEEWAY,
                    interval: DEFAULT_RECHECK_INTERVAL,
                    clock: Arc::new(SystemClock),
                    revocation: None,
                    challenge: BearerChallenge::default(),
                },
            }),
        }
    }

    fn edit(mut self, f: impl FnOnce(&mut Config)) -> Self {
        f(Arc::make_mut(&mut self.config));
        self
    }

    /// Checks every token against `store` when the call starts, and every
    /// [`recheck_interval`](Self::recheck_interval) while a stream runs.
    pub fn revocation(self, store: impl RevocationCheck) -> Self {
        let store: Arc<dyn RevocationCheck> = Arc::new(store);
        self.edit(|c| {
            c.authn = c.authn.clone().with_revocation(Arc::clone(&store));
            c.watch.revocation = c.authn.revocation().cloned();
        })
    }

    /// Per-method requirements; unlisted methods are then denied.
    pub fn methods(self, methods: MethodMap) -> Self {
        self.edit(|c| c.methods = Some(methods))
    }

    /// The services served without a token (default: health and reflection).
    pub fn exemptions(self, exemptions: Exemptions) -> Self {
        self.edit(|c| c.exemptions = exemptions)
    }

    /// Reads the token from this metadata key (its whole value is the token) instead of
    /// `authorization: Bearer …`.
    pub fn metadata_key(self, key: HeaderName) -> Self {
        self.edit(|c| c.sources = TokenSources::header(key))
    }

    /// Where tokens are looked for (several: at most one may carry a token).
    pub fn sources(self, sources: TokenSources) -> Self {
        self.edit(|c| c.sources = sources)
    }

    /// The realm of the `www-authenticate` challenge.
    pub fn realm(self, realm: impl AsRef<str>) -> Self {
        let challenge = self.config.watch.challenge.clone().with_realm(realm);
        self.challenge(challenge)
    }

    /// The whole challenge (realm, RFC 9728 `resource_metadata`).
    pub fn challenge(self, challenge: BearerChallenge) -> Self {
        self.edit(|c| c.watch.challenge = challenge)
    }

    /// How long after its `exp` a stream's token still counts (default
    /// [`DEFAULT_LEEWAY`], the verifier's default): use the verifier's own leeway.
    pub fn stream_leeway(self, leeway: Duration) -> Self {
        self.edit(|c| c.watch.leeway = leeway)
    }

    /// How often a running stream's token is checked against the revocation store
    /// (default 1 s).
    pub fn recheck_interval(self, interval: Duration) -> Self {
        self.edit(|c| c.watch.interval = interval.max(Duration::from_millis(1)))
    }

    /// The clock that decides when a stream's token has ended (default: the system clock;
    /// use the verifier's).
    pub fn clock(self, clock: impl Clock + 'static) -> Self {
        self.edit(|c| c.watch.clock = Arc::new(clock))
    }
}

impl<S> Layer<S> for GrpcAuthLayer {
    type Service = GrpcAuth<S>;

    fn layer(&self, inner: S) -> GrpcAuth<S> {
        GrpcAuth { inner, config: Arc::clone(&self.config) }
    }
}

/// The service made by [`GrpcAuthLayer`].
#[derive(Clone)]
pub struct GrpcAuth<S> {
    inner: S,
    config: Arc<Config>,
}

impl<S> fmt::Debug for GrpcAuth<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GrpcAuth").finish_non_exhaustive()
    }
}

impl Config {
    fn challenge(&self) -> &BearerChallenge {
        &self.watch.challenge
    }

    fn reject(&self, error: &AuthError) -> Status {
        tracing::debug!(kind = ?error.kind(), detail = error.detail(), "tokengate: gRPC call refused");
        to_status(error, self.challenge())
    }

    /// The method's policy, after authentication.
    fn authorize<B>(&self, token: &Verified, request: &Request<B>) -> Result<(), Status> {
        let Some(methods) = &self.methods else { return Ok(()) };
        let path = request.uri().path();
        let denial = match methods.policy_for(path) {
            Some(policy) => match policy.check(token, &CallView { path, headers: request.headers() }) {
                Ok(()) => return Ok(()),
                Err(denial) => denial,
            },
            None => Denial::forbidden(ErrorKind::Forbidden.public_message()),
        };
        tracing::debug!(reason = denial.public_reason(), "tokengate: gRPC call denied by policy");
        Err(denial_to_status(&denial, self.challenge()))
    }

    /// Authorizes and prepares the request; the watch for the response.
    fn admit<B>(
        &self,
        verified: Arc<Verified>,
        incoming: IncomingToken,
        request: &mut Request<B>,
    ) -> Result<Watch, Status> {
        self.authorize(&verified, request)?;
        let extensions = request.extensions_mut();
        extensions.insert(Arc::clone(&verified));
        extensions.insert(incoming);
        Ok(Watch::new(self.watch.clone(), verified))
    }
}

type SlowFuture<B, E> = Pin<Box<dyn Future<Output = Result<Response<AuthBody<B>>, E>> + Send + 'static>>;

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for GrpcAuth<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: 'static,
{
    type Response = Response<AuthBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let config = &self.config;
        if config.exemptions.is_exempt(request.uri().path()) {
            return ResponseFuture::plain(self.inner.call(request));
        }
        let head = RequestHead::from_request(&request);
        let token = match config.sources.find(&head) {
            Ok(Some((token, _source))) => token,
            Ok(None) => return ResponseFuture::rejected(config.reject(&AuthError::new(ErrorKind::MissingToken))),
            Err(error) => return ResponseFuture::rejected(config.reject(&error)),
        };
        let incoming = IncomingToken::new(token, config.challenge().clone());
        match config.authn.authenticate(token) {
            Outcome::Done(Ok(verified)) => match config.admit(verified, incoming, &mut request) {
                Ok(watch) => ResponseFuture::watched(self.inner.call(request), watch),
                Err(status) => ResponseFuture::rejected(status),
            },
            Outcome::Done(Err(error)) => ResponseFuture::rejected(config.reject(&error)),
            Outcome::Pending(verifying) => {
                // The ready service goes into the future; a fresh clone stays behind.
                let clone = self.inner.clone();
                let mut inner = std::mem::replace(&mut self.inner, clone);
                let config = Arc::clone(config);
                ResponseFuture::slow(Box::pin(async move {
                    let verified = match verifying.await {
                        Ok(verified) => verified,
                        Err(error) => return Ok(config.reject(&error).into_http()),
                    };
                    match config.admit(verified, incoming, &mut request) {
                        Ok(watch) => {
                            let response = inner.call(request).await?;
                            Ok(response.map(|body| AuthBody::watched(body, watch)))
                        }
                        Err(status) => Ok(status.into_http()),
                    }
                }))
            }
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`GrpcAuth`].
    pub struct ResponseFuture<F, B, E> {
        #[pin]
        kind: Kind<F, B, E>,
    }
}

pin_project_lite::pin_project! {
    #[project = KindProj]
    enum Kind<F, B, E> {
        Rejected { status: Option<Status> },
        Plain { #[pin] future: F },
        Watched { #[pin] future: F, watch: Option<Watch> },
        Slow { future: SlowFuture<B, E> },
    }
}

impl<F, B, E> fmt::Debug for ResponseFuture<F, B, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<F, B, E> ResponseFuture<F, B, E> {
    fn rejected(status: Status) -> Self {
        ResponseFuture { kind: Kind::Rejected { status: Some(status) } }
    }

    fn plain(future: F) -> Self {
        ResponseFuture { kind: Kind::Plain { future } }
    }

    fn watched(future: F, watch: Watch) -> Self {
        ResponseFuture { kind: Kind::Watched { future, watch: Some(watch) } }
    }

    fn slow(future: SlowFuture<B, E>) -> Self {
        ResponseFuture { kind: Kind::Slow { future } }
    }
}

impl<F, B, E> Future for ResponseFuture<F, B, E>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<AuthBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Rejected { status } => {
                let status = status.take().unwrap_or_else(|| Status::internal("polled after completion"));
                Poll::Ready(Ok(status.into_http()))
            }
            KindProj::Plain { future } => future.poll(cx).map_ok(|r| r.map(AuthBody::plain)),
            KindProj::Watched { future, watch } => {
                let response = std::task::ready!(future.poll(cx))?;
                Poll::Ready(Ok(match watch.take() {
                    Some(watch) => response.map(|body| AuthBody::watched(body, watch)),
                    None => response.map(AuthBody::plain),
                }))
            }
            KindProj::Slow { future } => future.as_mut().poll(cx),
        }
    }
}
