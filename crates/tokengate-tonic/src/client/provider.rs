//! Where a client's token comes from: the [`TokenProvider`] trait and its implementations,
//! [`StaticToken`], [`ForwardIncoming`] and (feature `client-credentials`)
//! [`ClientCredentials`](super::ClientCredentials).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Extensions, HeaderValue};

use crate::ext::IncomingToken;

/// An access token to send. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken(Arc<str>);

impl AccessToken {
    /// A token; it must be a non-empty RFC 6750 `b64token`
    /// (`A-Z a-z 0-9 - . _ ~ + /`, then `=` padding).
    pub fn new(token: impl Into<Arc<str>>) -> Result<Self, ProviderError> {
        let token = token.into();
        let body = token.trim_end_matches('=');
        let valid = !body.is_empty()
            && body.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/'));
        if valid { Ok(AccessToken(token)) } else { Err(ProviderError::InvalidToken) }
    }

    /// The token text.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `Bearer <token>`, marked sensitive (HPACK never indexes it).
    pub fn bearer_header(&self) -> Result<HeaderValue, ProviderError> {
        let mut value =
            HeaderValue::from_str(&format!("Bearer {}", self.0)).map_err(|_| ProviderError::InvalidToken)?;
        value.set_sensitive(true);
        Ok(value)
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken([redacted])")
    }
}

/// Why no token could be had for a call. Never contains a token or a secret.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProviderError {
    /// [`ForwardIncoming`] found no incoming token on the request: the call was not made
    /// with [`RequestExt::forward`](crate::RequestExt::forward) from an authenticated handler.
    #[error("no incoming token to forward (make the call with `request.forward(message)`)")]
    NoIncomingToken,
    /// The token is not a valid bearer token.
    #[error("the token is not a valid bearer token")]
    InvalidToken,
    /// The token endpoint refused the client (an OAuth error code, if it sent one).
    #[error("the token endpoint refused the request (HTTP {status}{})", .error.as_deref().map(|e| format!(", {e}")).unwrap_or_default())]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The OAuth `error` code.
        error: Option<String>,
    },
    /// The token endpoint could not be reached or answered something unusable.
    #[error("the token endpoint is unavailable: {0}")]
    Unavailable(String),
    /// The provider is misconfigured.
    #[error("invalid token provider configuration: {0}")]
    Config(String),
}

type Boxed = Pin<Box<dyn Future<Output = Result<AccessToken, ProviderError>> + Send + 'static>>;

/// The future of [`TokenProvider::token`]: ready at once for cached and static tokens,
/// boxed when a fetch is needed.
pub struct TokenFuture(Inner);

enum Inner {
    Ready(Option<Result<AccessToken, ProviderError>>),
    Boxed(Boxed),
}

impl fmt::Debug for TokenFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenFuture").finish_non_exhaustive()
    }
}

impl TokenFuture {
    /// An answer known now.
    pub fn ready(result: Result<AccessToken, ProviderError>) -> Self {
        TokenFuture(Inner::Ready(Some(result)))
    }

    /// An answer to wait for.
    pub fn new(future: impl Future<Output = Result<AccessToken, ProviderError>> + Send + 'static) -> Self {
        TokenFuture(Inner::Boxed(Box::pin(future)))
    }
}

impl Future for TokenFuture {
    type Output = Result<AccessToken, ProviderError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.0 {
            Inner::Ready(result) => Poll::Ready(
                result.take().unwrap_or(Err(ProviderError::Config("token future polled after completion".into()))),
            ),
            Inner::Boxed(future) => future.as_mut().poll(cx),
        }
    }
}

/// Gives the token for an outgoing call. One provider can serve gRPC and HTTP clients
/// through [`AuthorizeLayer`](super::AuthorizeLayer).
pub trait TokenProvider: Send + Sync + 'static {
    /// The token for the call whose request extensions are `extensions`.
    fn token(&self, extensions: &Extensions) -> TokenFuture;
}

impl<P: TokenProvider + ?Sized> TokenProvider for Arc<P> {
    fn token(&self, extensions: &Extensions) -> TokenFuture {
        (**self).token(extensions)
    }
}

/// Always the same token (a long-lived service credential, a token handed over by a test).
#[derive(Clone, Debug)]
pub struct StaticToken(AccessToken);

impl StaticToken {
    /// This token, checked to be a valid bearer token.
    pub fn new(token: impl Into<Arc<str>>) -> Result<Self, ProviderError> {
        AccessToken::new(token).map(StaticToken)
    }
}

impl TokenProvider for StaticToken {
    fn token(&self, _extensions: &Extensions) -> TokenFuture {
        TokenFuture::ready(Ok(self.0.clone()))
    }
}

/// Forwards the token of the incoming call that this outgoing call serves: the handler makes
/// the downstream request with [`RequestExt::forward`](crate::RequestExt::forward), which
/// carries the [`IncomingToken`]. Without one the call fails
/// ([`ProviderError::NoIncomingToken`]) rather than going out unauthenticated.
///
/// Forward only to services that accept the same audience; otherwise exchange the token
/// (RFC 8693) instead.
#[derive(Clone, Copy, Debug, Default)]
pub struct ForwardIncoming;

impl TokenProvider for ForwardIncoming {
    fn token(&self, extensions: &Extensions) -> TokenFuture {
        TokenFuture::ready(match extensions.get::<IncomingToken>() {
            Some(incoming) => AccessToken::new(incoming.expose()),
            None => Err(ProviderError::NoIncomingToken),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_checked_and_redacted() {
        assert!(AccessToken::new("eyJh.eyJz.c2ln").is_ok());
        assert!(AccessToken::new("abc==").is_ok());
        for bad in ["", "a b", "a\nb", "é", "=="] {
            assert_eq!(AccessToken::new(bad), Err(ProviderError::InvalidToken), "{bad:?}");
        }
        let token = AccessToken::new("secret-token").unwrap_or_else(|_| unreachable!());
        assert!(!format!("{token:?}").contains("secret"));
        assert!(!format!("{:?}", StaticToken(token.clone())).contains("secret"));
        assert!(token.bearer_header().is_ok_and(|v| v.is_sensitive()));
    }
}
