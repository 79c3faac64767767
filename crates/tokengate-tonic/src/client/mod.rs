//! Calling other services with a token: a [`TokenProvider`] ([`StaticToken`],
//! [`ForwardIncoming`] for the caller's own token, [`ClientCredentials`] for the service's
//! own, feature `client-credentials`), one [`AuthorizeLayer`] for tonic channels and HTTP
//! clients alike, and [`BearerInterceptor`] for the static case.

#[cfg(feature = "client-credentials")]
mod credentials;
mod interceptor;
mod layer;
mod provider;

#[cfg(feature = "client-credentials")]
pub use credentials::{ClientCredentials, ClientCredentialsBuilder, DEFAULT_REFRESH_BEFORE};
pub use interceptor::BearerInterceptor;
pub use layer::{Authorize, AuthorizeLayer, BoxError};
pub use provider::{AccessToken, ForwardIncoming, ProviderError, StaticToken, TokenFuture, TokenProvider};
