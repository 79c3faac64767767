//! [`OidcError`]: why an ID token was refused.

use tokengate_core::{AuthError, ConfigError};

/// Why an ID token (or a self-issued ID token) was refused.
///
/// Failures of the JWT itself (signature, `iss`, `aud`, `exp`, algorithm allowlist, ...)
/// come from the core verifier as [`OidcError::Token`], with their [`tokengate_core::ErrorKind`];
/// the OpenID Connect rules on top have variants of their own. No variant carries token
/// text or claim values, so an error can be logged as is.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OidcError {
    /// The JWT failed the core verifier (see [`AuthError::kind`]).
    #[error("id token: {0}")]
    Token(#[from] AuthError),
    /// The header's `typ` says an access token (`at+jwt`, RFC 9068): an access token was
    /// presented where an ID token belongs.
    #[error("an access token (typ at+jwt) was presented as an ID token")]
    AccessTokenType,
    /// The header's `typ` names another kind of JWT (a logout token, a security event, ...).
    #[error("the token's typ is not that of an ID token")]
    UnexpectedType,
    /// The token has several audiences but no `azp` (OIDC Core 3.1.3.7, step 4).
    #[error("several audiences and no azp")]
    MissingAzp,
    /// `azp` is present and is not this client's id (OIDC Core 3.1.3.7, step 5).
    #[error("azp is not this client")]
    AzpMismatch,
    /// A nonce was sent in the authentication request and the token has none.
    #[error("the nonce is missing")]
    MissingNonce,
    /// The token's `nonce` is not the one sent in the authentication request.
    #[error("the nonce does not match")]
    NonceMismatch,
    /// `auth_time` is required (a `max_age` was requested, or the validator requires it)
    /// and is absent.
    #[error("auth_time is missing")]
    MissingAuthTime,
    /// The end-user authenticated longer ago than the requested `max_age` (plus leeway).
    #[error("the authentication is older than max_age")]
    AuthTooOld,
    /// `auth_time` is in the future beyond the leeway.
    #[error("auth_time is in the future")]
    AuthTimeInFuture,
    /// `at_hash` is required and absent.
    #[error("at_hash is missing")]
    MissingAtHash,
    /// `at_hash` does not match the access token that came with the ID token.
    #[error("at_hash does not match the access token")]
    AtHashMismatch,
    /// `c_hash` is required and absent.
    #[error("c_hash is missing")]
    MissingCHash,
    /// `c_hash` does not match the authorization code that came with the ID token.
    #[error("c_hash does not match the authorization code")]
    CHashMismatch,
    /// The token's algorithm has no hash defined for `at_hash`/`c_hash`.
    #[error("no hash is defined for the token's algorithm")]
    UnsupportedHashAlgorithm,
    /// A self-issued ID token's `iss` is not its `sub` (SIOPv2).
    #[error("self-issued: iss is not sub")]
    IssuerNotSubject,
    /// A self-issued ID token's `sub` is a decentralized identifier; only JWK thumbprint
    /// subjects are supported.
    #[error("self-issued: DID subjects are not supported (only JWK thumbprint subjects)")]
    DidNotSupported,
    /// A self-issued ID token has no `sub_jwk` object.
    #[error("self-issued: sub_jwk is missing")]
    MissingSubJwk,
    /// `sub_jwk` carries a private key member (it would have leaked).
    #[error("self-issued: sub_jwk holds private key member {0}")]
    PrivateSubJwk(&'static str),
    /// `sub_jwk` is not a usable public key (unknown `kty`, missing members, weak, ...).
    #[error("self-issued: sub_jwk is not a usable public key: {0}")]
    InvalidSubJwk(String),
    /// A self-issued ID token's `sub` is not the RFC 7638 thumbprint of its `sub_jwk`.
    #[error("self-issued: sub is not the thumbprint of sub_jwk")]
    SubjectNotThumbprint,
}

impl OidcError {
    /// The core error, when the JWT itself was refused.
    pub fn auth_error(&self) -> Option<&AuthError> {
        match self {
            OidcError::Token(e) => Some(e),
            _ => None,
        }
    }
}

pub(crate) fn sub_jwk_error(e: ConfigError) -> OidcError {
    match e {
        ConfigError::PrivateKeyMaterial(member) => OidcError::PrivateSubJwk(member),
        other => OidcError::InvalidSubJwk(other.to_string()),
    }
}
