//! [`Authenticator`]: the transport-neutral authentication step, `token -> Arc<Verified> |
//! AuthError`, shared by the HTTP layer ([`JwtAuthLayer`](crate::JwtAuthLayer)) and any
//! other transport (a gRPC layer, a handler's own call).
//!
//! One call does, in order:
//!
//! 1. **Opaque tokens** (not three dot-separated segments) go to the
//!    [`remote`](AuthenticatorBuilder::remote) verifier (e.g. RFC 7662 introspection), when
//!    one is set; otherwise they are verified locally (and refused as malformed).
//! 2. **The verified-token cache** (feature `cache`): a hit skips the signature check.
//! 3. **The verifiers, in order**: the first that accepts the token wins. When every one
//!    refuses, those that did not know the key ask their resolver for a refresh (coalesced
//!    and rate limited by the resolver) and **resume** from the token they already parsed
//!    ([`Verifier::verify_resumable`]); a token is parsed once per verifier, whatever
//!    happens. The client sees the most telling error (an issuer, key or algorithm
//!    mismatch counts least: "not my token").
//! 4. **Revocation** ([`AuthenticatorBuilder::revocation`]): on every accepted token, cached
//!    or not, remote or local. A revoked token is refused with
//!    [`ErrorKind::Revoked`]; an unknown answer with [`ErrorKind::RevocationUnavailable`].
//! 5. **Zero trust** ([`AuthenticatorBuilder::remote_after_local`]): a JWT that verified
//!    locally is also checked remotely; its locally verified claims are what is returned.
//!
//! Each call runs in a `tokengate.verify` tracing span (`source`, `alg`, `kid`, `iss`,
//! `outcome`, `error`; `sub` only with [`AuthenticatorBuilder::record_subject`]) and writes
//! one log line per refusal, saying why each verifier refused. The token never appears in
//! either.
//!
//! ```
//! use tokengate_core::{Algorithm, ErrorKind, Key, KeySet, Verifier};
//! use tokengate_tower::{Authentication, Authenticator};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let key = Key::hmac(Algorithm::HS256, &[7; 32]).unwrap();
//! let verifier = Verifier::builder(KeySet::new([key]).unwrap())
//!     .issuer("https://issuer.example")
//!     .audience("orders")
//!     .algorithms([Algorithm::HS256])
//!     .build()
//!     .unwrap();
//! let auth = Authenticator::builder(verifier).build();
//!
//! // The synchronous fast path answers at once...
//! match auth.authenticate("a.b.c") {
//!     Authentication::Done(result) => assert_eq!(result.unwrap_err().kind(), ErrorKind::InvalidEncoding),
//!     Authentication::Pending(future) => drop(future.await),
//! }
//! // ...and `verify` awaits the slow path when there is one.
//! assert_eq!(auth.verify("not-a-jwt").await.unwrap_err().kind(), ErrorKind::Malformed);
//! # });
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokengate_core::{
    AuthError, ErrorKind, Header, RemoteVerifier, RevocationCheck, Verified, Verifier, algorithm_name, peek_header,
};
use tracing::field::{Empty, debug};
use tracing::{Instrument as _, Span};

/// The transport-neutral authentication step. Cheap to clone (one `Arc`); see the
/// [module docs](self).
#[derive(Clone)]
pub struct Authenticator {
    inner: Arc<Inner>,
}

#[derive(Clone)]
pub(crate) struct Inner {
    pub(crate) verifiers: Vec<Verifier>,
    #[cfg(feature = "cache")]
    pub(crate) cache: Option<crate::cache::VerifiedTokenCache>,
    pub(crate) revocation: Option<Arc<dyn RevocationCheck>>,
    pub(crate) remote: Option<Arc<dyn RemoteVerifier>>,
    pub(crate) remote_after_local: Option<Arc<dyn RemoteVerifier>>,
    pub(crate) record_subject: bool,
    pub(crate) metrics: Arc<crate::metrics::Handles>,
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        let mut d = f.debug_struct("Authenticator");
        d.field("verifiers", &i.verifiers.len());
        #[cfg(feature = "cache")]
        d.field("cache", &i.cache.is_some());
        d.field("revocation", &i.revocation.is_some())
            .field("remote", &i.remote.is_some())
            .field("remote_after_local", &i.remote_after_local.is_some())
            .field("record_subject", &i.record_subject)
            .finish()
    }
}

/// Builds an [`Authenticator`]: methods take and return `self`.
#[must_use]
pub struct AuthenticatorBuilder {
    inner: Inner,
}

impl fmt::Debug for AuthenticatorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthenticatorBuilder").finish_non_exhaustive()
    }
}

impl AuthenticatorBuilder {
    /// Another verifier (e.g. for another issuer), tried after the ones before it.
    pub fn verifier(mut self, verifier: Verifier) -> Self {
        self.inner.verifiers.push(verifier);
        self
    }

    /// Caches verified tokens (at most `max_entries`), so that a repeated token skips the
    /// signature check. See [`crate::cache`] for what keeps an entry valid.
    #[cfg(feature = "cache")]
    pub fn cache_verified_tokens(self, max_entries: u64) -> Self {
        self.verified_token_cache(crate::cache::VerifiedTokenCache::new(max_entries))
    }

    /// Uses this verified-token cache (e.g. one shared by several authenticators).
    #[cfg(feature = "cache")]
    pub fn verified_token_cache(mut self, cache: crate::cache::VerifiedTokenCache) -> Self {
        self.inner.cache = Some(cache);
        self
    }

    /// Checks every accepted token (cached or not) against `check` (e.g. a revocation
    /// store's local mirror).
    pub fn revocation(mut self, check: impl RevocationCheck) -> Self {
        self.inner.revocation = Some(Arc::new(check));
        self
    }

    /// Verifies opaque tokens (not a JWT: not three dot-separated segments) with `remote`,
    /// e.g. RFC 7662 introspection, instead of the local verifiers.
    pub fn remote(mut self, remote: impl RemoteVerifier) -> Self {
        self.inner.remote = Some(Arc::new(remote));
        self
    }

    /// Zero trust: a JWT that verified locally (or came from the cache) is also verified by
    /// `remote` on every call; a refusal there refuses the token.
    pub fn remote_after_local(mut self, remote: impl RemoteVerifier) -> Self {
        self.inner.remote_after_local = Some(Arc::new(remote));
        self
    }

    /// Also record the verified `sub` in the verification span. Off by default: a subject
    /// is personal data in many deployments.
    pub fn record_subject(mut self) -> Self {
        self.inner.record_subject = true;
        self
    }

    /// The authenticator.
    pub fn build(self) -> Authenticator {
        Authenticator { inner: Arc::new(self.inner) }
    }
}

/// What [`Authenticator::authenticate`] decided.
#[must_use]
pub enum Authentication {
    /// Decided without waiting (the common case).
    Done(Result<Arc<Verified>, AuthError>),
    /// A key refresh or a remote verifier must be awaited.
    Pending(PendingAuthentication),
}

impl fmt::Debug for Authentication {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Authentication::Done(result) => f.debug_tuple("Done").field(result).finish(),
            Authentication::Pending(_) => f.write_str("Pending"),
        }
    }
}

type BoxFuture = Pin<Box<dyn Future<Output = Result<Arc<Verified>, AuthError>> + Send + 'static>>;

/// The slow path of an authentication: owns what it needs (`Send + 'static`).
#[must_use = "futures do nothing unless polled"]
pub struct PendingAuthentication {
    future: BoxFuture,
}

impl PendingAuthentication {
    fn new(future: impl Future<Output = Result<Arc<Verified>, AuthError>> + Send + 'static) -> Self {
        PendingAuthentication { future: Box::pin(future) }
    }
}

impl fmt::Debug for PendingAuthentication {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingAuthentication").finish_non_exhaustive()
    }
}

impl Future for PendingAuthentication {
    type Output = Result<Arc<Verified>, AuthError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.future.as_mut().poll(cx)
    }
}

impl Authentication {
    /// Awaits the result.
    pub async fn into_result(self) -> Result<Arc<Verified>, AuthError> {
        match self {
            Authentication::Done(result) => result,
            Authentication::Pending(future) => future.await,
        }
    }
}

/// How telling an error is: an issuer, key or algorithm mismatch means "not my token" and
/// counts least when several verifiers refused.
fn rank(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::UnknownKey
        | ErrorKind::InvalidIssuer
        | ErrorKind::AlgorithmNotAllowed
        | ErrorKind::AlgorithmMismatch => 0,
        ErrorKind::KeysUnavailable => 1,
        _ => 2,
    }
}

/// The error the client sees when every verifier refused: the most telling one, the first
/// of equals.
fn most_telling(errors: &[(usize, AuthError)]) -> AuthError {
    errors
        .iter()
        .map(|(_, e)| e)
        .rev() // max_by_key keeps the last maximum; reversed, that is the first
        .max_by_key(|e| rank(e.kind()))
        .cloned()
        .unwrap_or_else(|| AuthError::new(ErrorKind::Internal))
}

/// Whether a refused token's header is read for the span: not when it was refused before
/// its header was parsed (too large, not three segments), nor when it is over every
/// verifier's size limit.
fn worth_peeking(kind: ErrorKind, token_len: usize, max_token_size: usize) -> bool {
    !matches!(kind, ErrorKind::TokenTooLarge | ErrorKind::Malformed) && token_len <= max_token_size
}

/// Whether a token is a compact JWS/JWT (three dot-separated segments) rather than opaque.
fn looks_like_jwt(token: &str) -> bool {
    token.bytes().filter(|&b| b == b'.').count() == 2
}

/// The list of per-verifier reasons, for the rejection log line.
struct Reasons<'a>(&'a [(usize, AuthError)]);

impl fmt::Display for Reasons<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, (index, error)) in self.0.iter().enumerate() {
            if n > 0 {
                f.write_str("; ")?;
            }
            write!(f, "verifier {index}: {:?}", error.kind())?;
            if let Some(detail) = error.detail() {
                write!(f, " ({detail})")?;
            }
        }
        Ok(())
    }
}

/// One refusal that is not about the signature check (revocation, remote verifier).
struct Stage<'a>(&'static str, &'a AuthError);

impl fmt::Display for Stage<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {:?}", self.0, self.1.kind())?;
        if let Some(detail) = self.1.detail() {
            write!(f, " ({detail})")?;
        }
        Ok(())
    }
}

/// A `kid` as it may appear in logs: attacker-controlled, so bounded.
fn loggable_kid(kid: &str) -> &str {
    let end = kid.char_indices().nth(64).map_or(kid.len(), |(i, _)| i);
    kid.get(..end).unwrap_or_default()
}

/// Writes the one log line of a refusal and records it in the span.
fn log_refusal(span: &Span, source: &str, error: &AuthError, reasons: &dyn fmt::Display) {
    if !span.is_disabled() {
        span.record("outcome", "rejected");
        span.record("error", debug(error.kind()));
    }
    match error.kind() {
        ErrorKind::KeysUnavailable | ErrorKind::IssuerUnavailable => {
            tracing::warn!(source, reasons = %reasons, "tokengate: token refused: signing keys unavailable");
        }
        ErrorKind::RevocationUnavailable | ErrorKind::IntrospectionUnavailable => {
            tracing::warn!(source, reasons = %reasons, "tokengate: token refused: {}", error.public_message());
        }
        _ => tracing::debug!(source, reasons = %reasons, "tokengate: token refused"),
    }
}

/// The remote verifiers, for the opaque and zero-trust paths.
#[derive(Clone, Copy)]
enum Remote {
    Opaque,
    AfterLocal,
}

impl Authenticator {
    /// An authenticator with one verifier and nothing else (no cache, no hooks).
    pub fn new(verifier: Verifier) -> Self {
        Authenticator::builder(verifier).build()
    }

    /// Starts an authenticator whose first verifier is `verifier`.
    pub fn builder(verifier: Verifier) -> AuthenticatorBuilder {
        AuthenticatorBuilder {
            inner: Inner {
                verifiers: vec![verifier],
                #[cfg(feature = "cache")]
                cache: None,
                revocation: None,
                remote: None,
                remote_after_local: None,
                record_subject: false,
                metrics: Arc::default(),
            },
        }
    }

    /// For the HTTP layer's builder methods.
    pub(crate) fn inner_mut(&mut self) -> &mut Inner {
        Arc::make_mut(&mut self.inner)
    }

    /// The verifiers, in the order they are tried.
    pub fn verifiers(&self) -> &[Verifier] {
        &self.inner.verifiers
    }

    /// Authenticates `token`. See [`Authenticator::authenticate_from`].
    pub fn authenticate(&self, token: &str) -> Authentication {
        self.authenticate_from(token, "token")
    }

    /// Authenticates `token`, found in `source` (a label for the span and the log line,
    /// e.g. `"authorization"` or a gRPC metadata key; never the token).
    ///
    /// Answers [`Authentication::Done`] when no waiting is needed, else
    /// [`Authentication::Pending`] with a `Send + 'static` future.
    pub fn authenticate_from(&self, token: &str, source: &str) -> Authentication {
        let start = crate::metrics::start();
        match self.authenticate_unmeasured(token, source) {
            Authentication::Done(result) => {
                self.inner.metrics.verification(&result, start);
                Authentication::Done(result)
            }
            #[cfg(not(feature = "metrics"))]
            pending @ Authentication::Pending(_) => pending,
            #[cfg(feature = "metrics")]
            Authentication::Pending(future) => {
                let metrics = Arc::clone(&self.inner.metrics);
                Authentication::Pending(PendingAuthentication::new(async move {
                    let result = future.await;
                    metrics.verification(&result, start);
                    result
                }))
            }
        }
    }

    fn authenticate_unmeasured(&self, token: &str, source: &str) -> Authentication {
        let span = tracing::debug_span!(
            "tokengate.verify",
            source,
            alg = Empty,
            kid = Empty,
            iss = Empty,
            sub = Empty,
            outcome = Empty,
            error = Empty,
        );
        let entered = span.enter();

        if let Some(remote) = &self.inner.remote
            && !looks_like_jwt(token)
        {
            let future = remote.verify_remote(token);
            drop(entered);
            return self.pending_remote(future, None, Remote::Opaque, source, span);
        }

        #[cfg(feature = "cache")]
        if let Some(cache) = &self.inner.cache {
            let hit = cache.get(token, &self.inner.verifiers);
            self.inner.metrics.cache(hit.is_some());
            if let Some(verified) = hit {
                self.record_accepted(&span, &verified, "cached");
                drop(entered);
                return self.after_local(verified, token, source, span);
            }
        }

        let mut errors = Vec::new();
        let mut resumes = Vec::new();
        for (index, verifier) in self.inner.verifiers.iter().enumerate() {
            match verifier.verify_resumable(token) {
                Ok(verified) => {
                    let verified = self.accept(&span, token, index, verified);
                    drop(entered);
                    return self.after_local(verified, token, source, span);
                }
                Err(refusal) => {
                    errors.push((index, refusal.error().clone()));
                    if refusal.is_resumable() {
                        resumes.push((errors.len().saturating_sub(1), refusal));
                    }
                }
            }
        }
        // Nobody accepted: those that did not know the key may refresh it, once.
        let mut pending = Vec::new();
        for (slot, refusal) in resumes {
            if let Ok(resume) = refusal.refresh() {
                pending.push((slot, resume));
            }
        }
        if pending.is_empty() {
            let error = self.reject(&span, token, source, &errors);
            return Authentication::Done(Err(error));
        }
        // The span shows what the token named, from the header already parsed.
        if let Some((_, resume)) = pending.first() {
            record_header(&span, resume.header());
        }
        drop(entered);
        let this = self.clone();
        let token = token.to_owned();
        let source = source.to_owned();
        let work = async move {
            let span = Span::current();
            for (slot, resume) in pending {
                match resume.finish().await {
                    Ok(verified) => {
                        let index = errors.get(slot).map_or(0, |(index, _)| *index);
                        let verified = this.accept(&span, &token, index, verified);
                        return this.after_local(verified, &token, &source, span).into_result().await;
                    }
                    Err(error) => {
                        if let Some(entry) = errors.get_mut(slot) {
                            entry.1 = error;
                        }
                    }
                }
            }
            let error = most_telling(&errors);
            log_refusal(&span, &source, &error, &Reasons(&errors));
            Err(error)
        };
        Authentication::Pending(PendingAuthentication::new(work.instrument(span)))
    }

    /// Authenticates `token` and awaits the slow path if there is one.
    pub async fn verify(&self, token: &str) -> Result<Arc<Verified>, AuthError> {
        self.authenticate(token).into_result().await
    }

    /// The largest token any verifier accepts.
    fn max_token_size(&self) -> usize {
        self.inner.verifiers.iter().map(Verifier::max_token_size).max().unwrap_or(0)
    }

    #[cfg_attr(not(feature = "cache"), allow(unused_variables))]
    fn accept(&self, span: &Span, token: &str, index: usize, verified: Verified) -> Arc<Verified> {
        let verified = Arc::new(verified);
        #[cfg(feature = "cache")]
        if let Some(cache) = &self.inner.cache
            && let Some(verifier) = self.inner.verifiers.get(index)
        {
            cache.insert(token, &verified, verifier);
        }
        self.record_accepted(span, &verified, "accepted");
        verified
    }

    /// Revocation, then the zero-trust remote check, for a locally verified token.
    fn after_local(&self, verified: Arc<Verified>, token: &str, source: &str, span: Span) -> Authentication {
        if let Err(error) = self.check_revocation(&span, source, &verified) {
            return Authentication::Done(Err(error));
        }
        match &self.inner.remote_after_local {
            None => Authentication::Done(Ok(verified)),
            Some(remote) => {
                let future = remote.verify_remote(token);
                self.pending_remote(future, Some(verified), Remote::AfterLocal, source, span)
            }
        }
    }

    fn check_revocation(&self, span: &Span, source: &str, verified: &Verified) -> Result<(), AuthError> {
        let Some(revocation) = &self.inner.revocation else { return Ok(()) };
        let result = revocation.check(verified);
        self.inner.metrics.revocation(&result);
        result.inspect_err(|error| {
            let _entered = span.enter();
            log_refusal(span, source, error, &Stage("revocation", error));
        })
    }

    /// Awaits a remote verifier: for an opaque token (`local` is `None`) its answer is the
    /// token; in zero-trust mode it only confirms the local one.
    fn pending_remote(
        &self,
        future: tokengate_core::VerifyFuture,
        local: Option<Arc<Verified>>,
        remote: Remote,
        source: &str,
        span: Span,
    ) -> Authentication {
        let this = self.clone();
        let source = source.to_owned();
        let work = async move {
            let span = Span::current();
            let answer = future.await;
            let verified = match (answer, local) {
                (Ok(_), Some(local)) => local,
                (Ok(verified), None) => {
                    let verified = Arc::new(verified);
                    this.record_accepted(&span, &verified, "remote");
                    this.check_revocation(&span, &source, &verified)?;
                    verified
                }
                (Err(error), _) => {
                    let stage = match remote {
                        Remote::Opaque => "remote",
                        Remote::AfterLocal => "remote after local",
                    };
                    log_refusal(&span, &source, &error, &Stage(stage, &error));
                    return Err(error);
                }
            };
            Ok(verified)
        };
        Authentication::Pending(PendingAuthentication::new(work.instrument(span)))
    }

    fn record_accepted(&self, span: &Span, verified: &Verified, outcome: &'static str) {
        if span.is_disabled() {
            return;
        }
        if let Some(header) = verified.header() {
            span.record("alg", algorithm_name(header.alg()));
        }
        if let Some(kid) = verified.key_id() {
            span.record("kid", debug(loggable_kid(kid)));
        }
        if let Some(iss) = verified.issuer() {
            span.record("iss", iss);
        }
        if self.inner.record_subject
            && let Some(sub) = verified.subject()
        {
            span.record("sub", sub);
        }
        span.record("outcome", outcome);
        tracing::trace!("tokengate: token {outcome}");
    }

    /// Picks the error the client sees and writes the one log line that says why each
    /// verifier refused.
    fn reject(&self, span: &Span, token: &str, source: &str, errors: &[(usize, AuthError)]) -> AuthError {
        let chosen = most_telling(errors);
        // A token refused before its header was read (too large, not three segments)
        // is not parsed again just for the span.
        if !span.is_disabled()
            && worth_peeking(chosen.kind(), token.len(), self.max_token_size())
            && let Ok(header) = peek_header(token)
        {
            record_header(span, &header);
        }
        log_refusal(span, source, &chosen, &Reasons(errors));
        chosen
    }
}

/// Records the (unverified) `alg` and `kid` of a refused token in the span.
fn record_header(span: &Span, header: &Header) {
    if span.is_disabled() {
        return;
    }
    span.record("alg", algorithm_name(header.alg()));
    if let Some(kid) = header.kid() {
        span.record("kid", debug(loggable_kid(kid)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_telling_error_wins() {
        let errors = [
            (0, AuthError::new(ErrorKind::InvalidIssuer)),
            (1, AuthError::new(ErrorKind::KeysUnavailable)),
            (2, AuthError::new(ErrorKind::Expired)),
            (3, AuthError::new(ErrorKind::InvalidSignature)),
        ];
        let pick = |e: &[(usize, AuthError)]| most_telling(e).kind();
        assert_eq!(pick(&errors), ErrorKind::Expired);
        assert_eq!(pick(errors.get(..2).unwrap_or_default()), ErrorKind::KeysUnavailable);
        assert_eq!(pick(errors.get(..1).unwrap_or_default()), ErrorKind::InvalidIssuer);
        assert_eq!(pick(&[]), ErrorKind::Internal);
        assert_eq!(loggable_kid(&"k".repeat(100)).len(), 64);
    }

    #[test]
    fn tokens_refused_before_their_header_are_not_parsed_for_the_span() {
        assert!(!worth_peeking(ErrorKind::TokenTooLarge, 9000, 8192));
        assert!(!worth_peeking(ErrorKind::Malformed, 10, 8192));
        assert!(!worth_peeking(ErrorKind::InvalidSignature, 9000, 8192));
        assert!(worth_peeking(ErrorKind::InvalidSignature, 800, 8192));
    }

    #[test]
    fn only_three_segments_look_like_a_jwt() {
        assert!(looks_like_jwt("a.b.c"));
        assert!(!looks_like_jwt("opaque-token"));
        assert!(!looks_like_jwt("a.b"));
        assert!(!looks_like_jwt("a.b.c.d.e"));
    }
}
