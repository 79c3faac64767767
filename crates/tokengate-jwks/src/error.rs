//! [`JwksError`]: why keys could not be fetched or a cache could not be built.

use std::time::Duration;

use tokengate_core::ConfigError;

/// Why a key source could not deliver a key set, or a cache could not be configured.
///
/// These errors live on the refresh side only; a verification never returns one (it
/// returns [`tokengate_core::AuthError`] with [`tokengate_core::ErrorKind::KeysUnavailable`]
/// once the last good keys were not refreshed within `max_stale` after a refresh was
/// due). Messages never contain key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwksError {
    /// The URL is not acceptable: not `https`, plain `http` to a host that is not
    /// loopback without the explicit opt-in, or not parseable.
    #[error("URL refused: {0}")]
    InsecureUrl(String),
    /// The server redirected to another host, or downgraded the scheme.
    #[error("redirect refused: {0}")]
    Redirect(String),
    /// The request did not complete within the timeout.
    #[error("fetch timed out after {0:?}")]
    Timeout(Duration),
    /// The server answered with a status other than 200.
    #[error("unexpected HTTP status {0}")]
    Status(u16),
    /// The response body is larger than the configured cap.
    #[error("response body exceeds the {limit}-byte cap")]
    TooLarge {
        /// The cap in bytes.
        limit: usize,
    },
    /// A transport error (connection refused, TLS failure, reset...).
    #[error("transport error: {0}")]
    Transport(String),
    /// The document is not a usable JWKS (not JSON, not `{"keys": [...]}`, duplicate kids).
    #[error("invalid JWKS: {0}")]
    InvalidJwks(ConfigError),
    /// The document is not a usable OpenID Connect discovery document.
    #[error("invalid discovery document: {0}")]
    InvalidDiscovery(String),
    /// The key set has no usable key (every key was skipped, or it was empty).
    #[error("the key set has no usable key ({skipped} skipped)")]
    NoUsableKeys {
        /// How many keys were skipped as unusable.
        skipped: usize,
    },
    /// The discovery document names another issuer than the configured one
    /// (OpenID Connect Discovery 1.0, section 4.3: they must be identical).
    #[error("discovered issuer {found:?} is not the configured issuer {expected:?}")]
    IssuerMismatch {
        /// The configured issuer.
        expected: String,
        /// The issuer the document names.
        found: String,
    },
    /// A key file or folder could not be read.
    #[error("cannot read keys from {path}: {reason}")]
    Io {
        /// The path.
        path: String,
        /// Why.
        reason: String,
    },
    /// An environment variable is missing or not valid keys.
    #[error("environment variable {name}: {reason}")]
    Env {
        /// The variable's name.
        name: String,
        /// Why.
        reason: String,
    },
    /// A key could not be parsed.
    #[error("invalid key: {0}")]
    InvalidKey(ConfigError),
    /// A builder setting is invalid.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// No tokio runtime is running, so the background refresh cannot be spawned.
    #[error("no tokio runtime: build the cache from within a tokio runtime")]
    NoRuntime,
    /// The background refresh task has stopped (its runtime shut down).
    #[error("the background refresh task has stopped")]
    Stopped,
    /// A custom key source failed.
    #[error("key source failed: {0}")]
    Source(String),
}
