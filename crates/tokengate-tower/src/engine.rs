//! The verification steps of the layer, independent of the service plumbing: find the
//! token, try each verifier, pick the error, log and trace.

use std::fmt;
use std::sync::Arc;

use tokengate_core::{AuthError, ErrorKind, Verified, Verifier, algorithm_name, peek_header};
use tracing::field::{Empty, debug};
use tracing::{Instrument as _, Span};

use crate::response::BearerChallenge;
use crate::source::{RequestHead, TokenSources};

/// Everything the layer knows; shared by all clones of a layer and its services.
#[derive(Clone)]
pub(crate) struct Engine {
    pub(crate) verifiers: Vec<Verifier>,
    pub(crate) sources: TokenSources,
    pub(crate) optional: bool,
    pub(crate) challenge: BearerChallenge,
    pub(crate) record_subject: bool,
    #[cfg(feature = "cache")]
    pub(crate) cache: Option<crate::cache::VerifiedTokenCache>,
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Engine");
        d.field("verifiers", &self.verifiers.len())
            .field("sources", &self.sources)
            .field("optional", &self.optional)
            .field("challenge", &self.challenge)
            .field("record_subject", &self.record_subject);
        #[cfg(feature = "cache")]
        d.field("cache", &self.cache.is_some());
        d.finish()
    }
}

/// What the synchronous step decided.
pub(crate) enum Step<'a> {
    /// Verified: insert and go on.
    Accepted(Arc<Verified>),
    /// No token, optional mode: go on without a `Verified`.
    Anonymous,
    /// Refused.
    Rejected(AuthError),
    /// Some verifier did not know the key: the slow path refreshes and retries those.
    Refresh(Pending<'a>),
}

/// The state carried into the slow path.
pub(crate) struct Pending<'a> {
    pub(crate) token: &'a str,
    source: &'a str,
    span: Span,
    errors: Vec<(usize, AuthError)>,
}

impl Pending<'_> {
    /// Detaches from the request so the slow path can own it.
    pub(crate) fn into_owned(self) -> OwnedPending {
        OwnedPending {
            token: self.token.to_owned(),
            source: self.source.to_owned(),
            span: self.span,
            errors: self.errors,
        }
    }
}

/// [`Pending`] without borrows.
pub(crate) struct OwnedPending {
    token: String,
    source: String,
    span: Span,
    errors: Vec<(usize, AuthError)>,
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

/// Whether a refused token's header is read for the span: not when it was refused before
/// its header was parsed (too large, not three segments), nor when it is over every
/// verifier's size limit.
fn worth_peeking(kind: ErrorKind, token_len: usize, max_token_size: usize) -> bool {
    !matches!(kind, ErrorKind::TokenTooLarge | ErrorKind::Malformed) && token_len <= max_token_size
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

/// A `kid` as it may appear in logs: attacker-controlled, so bounded.
fn loggable_kid(kid: &str) -> &str {
    let end = kid.char_indices().nth(64).map_or(kid.len(), |(i, _)| i);
    kid.get(..end).unwrap_or_default()
}

impl Engine {
    pub(crate) fn new(verifier: Verifier) -> Self {
        Engine {
            verifiers: vec![verifier],
            sources: TokenSources::default(),
            optional: false,
            challenge: BearerChallenge::default(),
            record_subject: false,
            #[cfg(feature = "cache")]
            cache: None,
        }
    }

    /// The largest token any verifier accepts.
    fn max_token_size(&self) -> usize {
        self.verifiers.iter().map(Verifier::max_token_size).max().unwrap_or(0)
    }

    /// The synchronous step: source, cache, every verifier.
    pub(crate) fn check<'a>(&'a self, head: &RequestHead<'a>) -> Step<'a> {
        let (token, source) = match self.sources.find(head) {
            Ok(Some(found)) => found,
            Ok(None) if self.optional => {
                tracing::trace!("tokengate: no token; going on anonymous");
                return Step::Anonymous;
            }
            Ok(None) => {
                tracing::trace!("tokengate: no token");
                return Step::Rejected(AuthError::new(ErrorKind::MissingToken));
            }
            Err(error) => {
                tracing::debug!(error = ?error, "tokengate: malformed credentials");
                return Step::Rejected(error);
            }
        };
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
        let _entered = span.enter();

        #[cfg(feature = "cache")]
        if let Some(cache) = &self.cache
            && let Some(verified) = cache.get(token, &self.verifiers)
        {
            self.record_accepted(&span, &verified, "cached");
            return Step::Accepted(verified);
        }

        let mut errors = Vec::new();
        let mut refresh = false;
        for (index, verifier) in self.verifiers.iter().enumerate() {
            match verifier.verify(token) {
                Ok(verified) => return Step::Accepted(self.accept(&span, token, index, verified)),
                Err(error) => {
                    refresh |= error.kind() == ErrorKind::UnknownKey;
                    errors.push((index, error));
                }
            }
        }
        drop(_entered);
        if refresh {
            return Step::Refresh(Pending { token, source, span, errors });
        }
        let _entered = span.enter();
        Step::Rejected(self.reject(&span, token, source, &errors))
    }

    /// The slow path: verifiers that did not know the key refresh (coalesced and rate
    /// limited by their resolvers) and try again, in order.
    pub(crate) async fn refresh(self: Arc<Self>, pending: OwnedPending) -> Result<Arc<Verified>, AuthError> {
        let OwnedPending { token, source, span, mut errors } = pending;
        let work = async {
            for (index, error) in errors.iter_mut() {
                if error.kind() != ErrorKind::UnknownKey {
                    continue;
                }
                let Some(verifier) = self.verifiers.get(*index) else { continue };
                match verifier.verify_async(&token).await {
                    Ok(verified) => return Ok(self.accept(&Span::current(), &token, *index, verified)),
                    Err(e) => *error = e,
                }
            }
            Err(self.reject(&Span::current(), &token, &source, &errors))
        };
        work.instrument(span).await
    }

    #[cfg_attr(not(feature = "cache"), allow(unused_variables))]
    fn accept(&self, span: &Span, token: &str, index: usize, verified: Verified) -> Arc<Verified> {
        let verified = Arc::new(verified);
        #[cfg(feature = "cache")]
        if let Some(cache) = &self.cache
            && let Some(verifier) = self.verifiers.get(index)
        {
            cache.insert(token, &verified, verifier);
        }
        self.record_accepted(span, &verified, "accepted");
        verified
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
        if self.record_subject
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
        let chosen = errors
            .iter()
            .map(|(_, e)| e)
            .rev() // max_by_key keeps the last maximum; reversed, that is the first
            .max_by_key(|e| rank(e.kind()))
            .cloned()
            .unwrap_or_else(|| AuthError::new(ErrorKind::Internal));
        if !span.is_disabled() {
            // A token refused before its header was read (too large, not three segments)
            // is not parsed again just for the span.
            if worth_peeking(chosen.kind(), token.len(), self.max_token_size())
                && let Ok(header) = peek_header(token)
            {
                span.record("alg", algorithm_name(header.alg()));
                if let Some(kid) = header.kid() {
                    span.record("kid", debug(loggable_kid(kid)));
                }
            }
            span.record("outcome", "rejected");
            span.record("error", debug(chosen.kind()));
        }
        if chosen.kind() == ErrorKind::KeysUnavailable {
            tracing::warn!(source, reasons = %Reasons(errors), "tokengate: token refused: signing keys unavailable");
        } else {
            tracing::debug!(source, reasons = %Reasons(errors), "tokengate: token refused");
        }
        chosen
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
        let pick =
            |e: &[(usize, AuthError)]| e.iter().map(|(_, e)| e).rev().max_by_key(|e| rank(e.kind())).map(|e| e.kind());
        assert_eq!(pick(&errors), Some(ErrorKind::Expired));
        assert_eq!(pick(errors.get(..2).unwrap_or_default()), Some(ErrorKind::KeysUnavailable));
        assert_eq!(pick(errors.get(..1).unwrap_or_default()), Some(ErrorKind::InvalidIssuer));
        assert_eq!(loggable_kid(&"k".repeat(100)).len(), 64);
    }

    #[test]
    fn tokens_refused_before_their_header_are_not_parsed_for_the_span() {
        assert!(!worth_peeking(ErrorKind::TokenTooLarge, 9000, 8192));
        assert!(!worth_peeking(ErrorKind::Malformed, 10, 8192));
        assert!(!worth_peeking(ErrorKind::InvalidSignature, 9000, 8192));
        assert!(worth_peeking(ErrorKind::InvalidSignature, 800, 8192));
    }
}
