//! [`JwtAuthLayer`]: the configuration, cheap to clone.

use std::fmt;
use std::sync::Arc;

use tokengate_core::Verifier;
use tower_layer::Layer;

use super::service::JwtAuth;
use crate::authenticator::Authenticator;
use crate::response::{BearerChallenge, Problem, Rfc6750};
use crate::source::TokenSources;

/// A [`Layer`] that verifies a JWT on every request. See the [module docs](crate::auth).
///
/// Built with [`JwtAuthLayer::new`] and builder methods that take and return `self`:
///
/// ```
/// use http::HeaderName;
/// use tokengate_core::{Algorithm, Key, KeySet, Verifier};
/// use tokengate_tower::{JwtAuthLayer, TokenSources};
///
/// # let verifier = |iss: &str| Verifier::builder(KeySet::new([Key::hmac(Algorithm::HS256, &[7; 32]).unwrap()]).unwrap())
/// #     .issuer(iss).audience("orders").algorithms([Algorithm::HS256]).build().unwrap();
/// let layer = JwtAuthLayer::new(verifier("https://eu.issuer.example"))
///     .add_verifier(verifier("https://us.issuer.example")) // tried in order
///     .realm("orders")
///     .resource_metadata("https://orders.example/.well-known/oauth-protected-resource")
///     .token_sources(TokenSources::bearer().then_cookie("session"))
///     .optional(); // no token: the request goes on anonymous (a bad token is still refused)
/// ```
#[must_use]
pub struct JwtAuthLayer<R = Problem> {
    pub(crate) engine: Arc<Engine>,
    pub(crate) on_rejection: R,
}

/// What the HTTP adapter adds to the [`Authenticator`]: where the token is, optional mode,
/// the challenge. Shared by all clones of a layer and its services.
#[derive(Clone, Debug)]
pub(crate) struct Engine {
    pub(crate) auth: Authenticator,
    pub(crate) sources: TokenSources,
    pub(crate) optional: bool,
    pub(crate) challenge: BearerChallenge,
}

impl<R: Clone> Clone for JwtAuthLayer<R> {
    fn clone(&self) -> Self {
        JwtAuthLayer { engine: Arc::clone(&self.engine), on_rejection: self.on_rejection.clone() }
    }
}

impl<R> fmt::Debug for JwtAuthLayer<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtAuthLayer").field("engine", &self.engine).finish_non_exhaustive()
    }
}

impl JwtAuthLayer {
    /// A layer that requires a token verified by `verifier`, read from
    /// `Authorization: Bearer`, with RFC 6750 challenges in realm `"api"` and RFC 9457
    /// problem bodies ([`Problem`]).
    ///
    /// The same as `JwtAuthLayer::from_authenticator(Authenticator::new(verifier))`.
    pub fn new(verifier: Verifier) -> Self {
        JwtAuthLayer::from_authenticator(Authenticator::new(verifier))
    }

    /// A layer over an [`Authenticator`] built elsewhere (with its verifiers, cache,
    /// revocation and remote hooks), e.g. one shared with a gRPC layer.
    pub fn from_authenticator(auth: Authenticator) -> Self {
        let engine =
            Engine { auth, sources: TokenSources::default(), optional: false, challenge: BearerChallenge::default() };
        JwtAuthLayer { engine: Arc::new(engine), on_rejection: Problem }
    }
}

impl<R> JwtAuthLayer<R> {
    fn engine(&mut self) -> &mut Engine {
        Arc::make_mut(&mut self.engine)
    }

    /// Another verifier (e.g. for another issuer), tried after the ones before it. The
    /// first that accepts the token wins. When all refuse, the log line lists why each
    /// refused, and the client sees one error: the most specific one (an issuer or key
    /// mismatch counts least).
    pub fn add_verifier(mut self, verifier: Verifier) -> Self {
        self.engine().auth.inner_mut().verifiers.push(verifier);
        self
    }

    /// Optional mode: a request without a token goes on anonymous (no `Verified` in its
    /// extensions); a request with a bad token is still refused.
    pub fn optional(mut self) -> Self {
        self.engine().optional = true;
        self
    }

    /// The realm of the `WWW-Authenticate` challenge (default `"api"`).
    pub fn realm(mut self, realm: impl AsRef<str>) -> Self {
        let engine = self.engine();
        engine.challenge = engine.challenge.clone().with_realm(realm);
        self
    }

    /// Adds `resource_metadata="<url>"` (RFC 9728) to every challenge: the URL where this
    /// resource serves its [`ProtectedResourceMetadata`](crate::metadata::ProtectedResourceMetadata).
    pub fn resource_metadata(mut self, url: impl AsRef<str>) -> Self {
        let engine = self.engine();
        engine.challenge = engine.challenge.clone().resource_metadata(url);
        self
    }

    /// Where to look for the token, in order (default: `Authorization: Bearer` only).
    pub fn token_sources(mut self, sources: TokenSources) -> Self {
        self.engine().sources = sources;
        self
    }

    /// Also record the verified `sub` in the verification span. Off by default: a
    /// subject is personal data in many deployments.
    pub fn record_subject(mut self) -> Self {
        self.engine().auth.inner_mut().record_subject = true;
        self
    }

    /// Caches verified tokens (at most `max_entries`), so that a repeated token skips the
    /// signature check. See [`crate::cache`] for what keeps an entry valid.
    #[cfg(feature = "cache")]
    pub fn cache_verified_tokens(self, max_entries: u64) -> Self {
        self.verified_token_cache(crate::cache::VerifiedTokenCache::new(max_entries))
    }

    /// Uses this verified-token cache (e.g. one with a shorter
    /// [`max_ttl`](crate::cache::VerifiedTokenCache::with_max_ttl), or one shared by
    /// several layers with the same verifiers).
    #[cfg(feature = "cache")]
    pub fn verified_token_cache(mut self, cache: crate::cache::VerifiedTokenCache) -> Self {
        self.engine().auth.inner_mut().cache = Some(cache);
        self
    }

    /// Rejections with the RFC 6750 headers and an empty body ([`Rfc6750`]) instead of the
    /// default problem body (e.g. for a response body type that cannot hold text).
    pub fn empty_body(self) -> JwtAuthLayer<Rfc6750> {
        self.on_rejection(Rfc6750)
    }

    /// Replaces the rejection response (see [`crate::response::OnRejection`]); closures
    /// `Fn(&Rejection) -> Response<B>` work.
    pub fn on_rejection<R2>(self, on_rejection: R2) -> JwtAuthLayer<R2> {
        JwtAuthLayer { engine: self.engine, on_rejection }
    }

    /// The authenticator this layer adapts to HTTP.
    pub fn authenticator(&self) -> &Authenticator {
        &self.engine.auth
    }

    /// The challenge parameters (realm, resource metadata).
    pub fn challenge(&self) -> &BearerChallenge {
        &self.engine.challenge
    }
}

impl<S, R: Clone> Layer<S> for JwtAuthLayer<R> {
    type Service = JwtAuth<S, R>;

    fn layer(&self, inner: S) -> Self::Service {
        JwtAuth::from_parts(inner, Arc::clone(&self.engine), self.on_rejection.clone())
    }
}
