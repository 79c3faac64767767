//! [`IntrospectionError`]: what can go wrong while configuring an [`Introspector`](crate::Introspector).
//!
//! Errors on the request path are [`tokengate_core::AuthError`]s.

/// A configuration or discovery error (never raised on the request path).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IntrospectionError {
    /// A builder setting is invalid or missing.
    #[error("invalid introspection configuration: {0}")]
    Config(String),
    /// A URL is not https (plain http is allowed to loopback hosts only) or does not parse.
    #[error("insecure or invalid URL: {0}")]
    InsecureUrl(String),
    /// The discovery document could not be fetched or read.
    #[error("discovery failed: {0}")]
    Discovery(String),
    /// The discovery document names another issuer than the configured one.
    #[error("discovery names issuer {found:?}, expected {expected:?}")]
    IssuerMismatch {
        /// The configured issuer.
        expected: String,
        /// The issuer the document names.
        found: String,
    },
    /// The discovery document has no `introspection_endpoint`.
    #[error("the authorization server publishes no introspection_endpoint")]
    NoEndpoint,
    /// The HTTP client could not be built, or no randomness was available for the cache key.
    #[error("cannot set up the introspection client: {0}")]
    Setup(String),
}
