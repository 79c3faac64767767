//! The one error a verification returns: [`AuthError`], with a [`ErrorKind`].

use std::borrow::Cow;
use std::fmt;

/// What went wrong, as a stable, matchable kind.
///
/// Core knows no transport: the HTTP status, RFC 6750 code and problem body of each kind
/// live in `tokengate_tower::response`; the gRPC code in tokengate-tonic. The statuses
/// noted below are that mapping, for orientation.
///
/// New kinds may be added in minor releases; match with a wildcard arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// No token was presented (HTTP: 401 without an error code).
    MissingToken,
    /// The request carrying the token is malformed, e.g. two `Authorization` headers
    /// (HTTP: 400 `invalid_request`).
    InvalidRequest,
    /// The token is larger than the configured maximum size.
    TokenTooLarge,
    /// The token is not three dot-separated segments, or its header or payload segment
    /// is empty (an empty signature is [`ErrorKind::InvalidSignature`]).
    Malformed,
    /// A segment is not canonical unpadded base64url, or decodes to text that is not UTF-8.
    InvalidEncoding,
    /// The header or claims are not a JSON object, or a member has the wrong type.
    InvalidJson,
    /// The header or claims JSON repeats a member name.
    DuplicateMember,
    /// The header or claims JSON nests deeper than the allowed bound.
    NestingTooDeep,
    /// The header says `alg: none` (in any letter case).
    AlgNone,
    /// The header's `alg` is not in the verifier's allowlist, or is unknown.
    AlgorithmNotAllowed,
    /// The header's `alg` is not the algorithm the selected key is pinned to.
    AlgorithmMismatch,
    /// The header lists a `crit` extension that is not understood.
    UnsupportedCritical,
    /// The header has `b64: false` (RFC 7797 unencoded payload), which is refused.
    UnencodedPayload,
    /// The header has a `zip` member (compressed payload), which is refused.
    CompressedPayload,
    /// The header carries key material (`jwk`, `jku`, `x5u`, `x5c`); it is never used.
    HeaderKeyMaterial,
    /// No key is known for the token's `kid` (or the token has no `kid` and the key
    /// set is ambiguous).
    UnknownKey,
    /// Keys for the issuer cannot be had right now (HTTP 503, gRPC UNAVAILABLE).
    KeysUnavailable,
    /// The signature does not verify with the selected key.
    InvalidSignature,
    /// A required claim is absent.
    MissingClaim,
    /// A registered claim has an invalid value (e.g. a non-numeric or absurd `exp`).
    InvalidClaim,
    /// The token has expired (`exp` is in the past beyond the leeway).
    Expired,
    /// The token is not valid yet (`nbf` is in the future beyond the leeway).
    NotYetValid,
    /// The token claims to be issued in the future (`iat` beyond the leeway).
    IssuedInFuture,
    /// The token is older than the configured maximum age (from `iat`).
    TooOld,
    /// The token's lifetime (`exp - iat`) exceeds the configured maximum.
    LifetimeTooLong,
    /// The `iss` claim does not match (exact comparison).
    InvalidIssuer,
    /// The `aud` claim does not contain an accepted audience.
    InvalidAudience,
    /// The header's `typ` is not the required one.
    InvalidType,
    /// The token names an issuer that is trusted by pattern but whose keys have never been
    /// loaded and cannot be loaded now (HTTP 503, gRPC UNAVAILABLE). Unlike
    /// [`ErrorKind::KeysUnavailable`] it counts as a failed attempt for the failure rate
    /// limiter: a client flooding tokens that name random issuers is throttled.
    IssuerUnavailable,
    /// The token has been revoked.
    Revoked,
    /// Whether the token is revoked cannot be known right now: the revocation mirror is
    /// stale past its bound (HTTP 503, gRPC UNAVAILABLE; never 401/403).
    RevocationUnavailable,
    /// The authorization server says the token is not active (RFC 7662 `active: false`).
    Inactive,
    /// The authorization server cannot be asked right now (HTTP 503, gRPC UNAVAILABLE).
    IntrospectionUnavailable,
    /// The token is valid but lacks a required scope (HTTP 403 `insufficient_scope`).
    InsufficientScope,
    /// The token is valid but a policy forbids this request (HTTP 403).
    Forbidden,
    /// Too many failed attempts from this client (HTTP 429).
    RateLimited,
    /// The server is misconfigured (e.g. the auth layer is missing); HTTP 500.
    Internal,
}

impl ErrorKind {
    /// Every kind, in declaration order (the list grows when kinds are added). Lets a
    /// transport's mapping be tested for each kind.
    pub const ALL: &'static [ErrorKind] = &[
        ErrorKind::MissingToken,
        ErrorKind::InvalidRequest,
        ErrorKind::TokenTooLarge,
        ErrorKind::Malformed,
        ErrorKind::InvalidEncoding,
        ErrorKind::InvalidJson,
        ErrorKind::DuplicateMember,
        ErrorKind::NestingTooDeep,
        ErrorKind::AlgNone,
        ErrorKind::AlgorithmNotAllowed,
        ErrorKind::AlgorithmMismatch,
        ErrorKind::UnsupportedCritical,
        ErrorKind::UnencodedPayload,
        ErrorKind::CompressedPayload,
        ErrorKind::HeaderKeyMaterial,
        ErrorKind::UnknownKey,
        ErrorKind::KeysUnavailable,
        ErrorKind::InvalidSignature,
        ErrorKind::MissingClaim,
        ErrorKind::InvalidClaim,
        ErrorKind::Expired,
        ErrorKind::NotYetValid,
        ErrorKind::IssuedInFuture,
        ErrorKind::TooOld,
        ErrorKind::LifetimeTooLong,
        ErrorKind::InvalidIssuer,
        ErrorKind::InvalidAudience,
        ErrorKind::InvalidType,
        ErrorKind::IssuerUnavailable,
        ErrorKind::Revoked,
        ErrorKind::RevocationUnavailable,
        ErrorKind::Inactive,
        ErrorKind::IntrospectionUnavailable,
        ErrorKind::InsufficientScope,
        ErrorKind::Forbidden,
        ErrorKind::RateLimited,
        ErrorKind::Internal,
    ];

    /// A short description that is safe to show to clients: it never contains the token,
    /// key material or internal detail.
    pub fn public_message(self) -> &'static str {
        match self {
            ErrorKind::MissingToken => "no access token was presented",
            ErrorKind::InvalidRequest => "the request carrying the token is malformed",
            ErrorKind::TokenTooLarge => "the access token is too large",
            ErrorKind::Malformed
            | ErrorKind::InvalidEncoding
            | ErrorKind::InvalidJson
            | ErrorKind::DuplicateMember
            | ErrorKind::NestingTooDeep => "the access token is malformed",
            ErrorKind::AlgNone | ErrorKind::AlgorithmNotAllowed | ErrorKind::AlgorithmMismatch => {
                "the token's algorithm is not accepted"
            }
            ErrorKind::UnsupportedCritical
            | ErrorKind::UnencodedPayload
            | ErrorKind::CompressedPayload
            | ErrorKind::HeaderKeyMaterial => "the token's header is not accepted",
            ErrorKind::UnknownKey => "the token's signing key is not known",
            ErrorKind::KeysUnavailable | ErrorKind::IssuerUnavailable => "signing keys are temporarily unavailable",
            ErrorKind::InvalidSignature => "the token's signature is invalid",
            ErrorKind::MissingClaim => "the token lacks a required claim",
            ErrorKind::InvalidClaim => "the token has an invalid claim",
            ErrorKind::Expired => "the access token expired",
            ErrorKind::NotYetValid => "the access token is not valid yet",
            ErrorKind::IssuedInFuture => "the access token was issued in the future",
            ErrorKind::TooOld => "the access token is too old",
            ErrorKind::LifetimeTooLong => "the access token's lifetime is too long",
            ErrorKind::InvalidIssuer => "the token's issuer is not accepted",
            ErrorKind::InvalidAudience => "the token's audience is not accepted",
            ErrorKind::InvalidType => "the token's type is not accepted",
            ErrorKind::Revoked => "the access token has been revoked",
            ErrorKind::RevocationUnavailable => "revocation status is temporarily unavailable",
            ErrorKind::Inactive => "the access token is not active",
            ErrorKind::IntrospectionUnavailable => "the authorization server is temporarily unavailable",
            ErrorKind::InsufficientScope => "the access token lacks the required scope",
            ErrorKind::Forbidden => "the access token does not permit this request",
            ErrorKind::RateLimited => "too many failed attempts; retry later",
            ErrorKind::Internal => "internal server error",
        }
    }
}

/// The error every verification step returns.
///
/// Opaque by design: match on [`AuthError::kind`]. The optional detail is meant for
/// logs and is written by tokengate itself; it never contains the token or a signature.
///
/// ```
/// use tokengate_core::{AuthError, ErrorKind};
/// let err = AuthError::new(ErrorKind::Expired);
/// assert_eq!(err.kind(), ErrorKind::Expired);
/// assert_eq!(err.public_message(), "the access token expired");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct AuthError {
    kind: ErrorKind,
    detail: Option<Cow<'static, str>>,
    retry_after: Option<u64>,
}

impl AuthError {
    /// An error of this kind, without detail.
    pub fn new(kind: ErrorKind) -> Self {
        AuthError { kind, detail: None, retry_after: None }
    }

    /// An error of this kind with a detail for logs. The detail must never contain the
    /// token or key material.
    pub fn with_detail(kind: ErrorKind, detail: impl Into<Cow<'static, str>>) -> Self {
        AuthError { kind, detail: Some(detail.into()), retry_after: None }
    }

    /// Sets the number of seconds after which the client may retry (429, 503).
    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The detail for logs, if any.
    pub fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }

    /// Seconds after which a retry may succeed, when known.
    pub fn retry_after_secs(&self) -> Option<u64> {
        self.retry_after
    }

    /// A description that is safe to send to the client.
    pub fn public_message(&self) -> &'static str {
        self.kind.public_message()
    }
}

impl From<ErrorKind> for AuthError {
    fn from(kind: ErrorKind) -> Self {
        AuthError::new(kind)
    }
}

impl fmt::Debug for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("AuthError");
        d.field("kind", &self.kind);
        if let Some(detail) = &self.detail {
            d.field("detail", detail);
        }
        if let Some(secs) = self.retry_after {
            d.field("retry_after", &secs);
        }
        d.finish()
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.public_message())?;
        if let Some(detail) = &self.detail {
            write!(f, " ({detail})")?;
        }
        Ok(())
    }
}

impl std::error::Error for AuthError {}

#[cfg(test)]
mod tests {
    use super::*;

    /// Exhaustive (no wildcard): a new kind does not compile until it is placed here, and
    /// the test then fails until it is in [`ErrorKind::ALL`].
    fn position(kind: ErrorKind) -> usize {
        match kind {
            ErrorKind::MissingToken => 0,
            ErrorKind::InvalidRequest => 1,
            ErrorKind::TokenTooLarge => 2,
            ErrorKind::Malformed => 3,
            ErrorKind::InvalidEncoding => 4,
            ErrorKind::InvalidJson => 5,
            ErrorKind::DuplicateMember => 6,
            ErrorKind::NestingTooDeep => 7,
            ErrorKind::AlgNone => 8,
            ErrorKind::AlgorithmNotAllowed => 9,
            ErrorKind::AlgorithmMismatch => 10,
            ErrorKind::UnsupportedCritical => 11,
            ErrorKind::UnencodedPayload => 12,
            ErrorKind::CompressedPayload => 13,
            ErrorKind::HeaderKeyMaterial => 14,
            ErrorKind::UnknownKey => 15,
            ErrorKind::KeysUnavailable => 16,
            ErrorKind::InvalidSignature => 17,
            ErrorKind::MissingClaim => 18,
            ErrorKind::InvalidClaim => 19,
            ErrorKind::Expired => 20,
            ErrorKind::NotYetValid => 21,
            ErrorKind::IssuedInFuture => 22,
            ErrorKind::TooOld => 23,
            ErrorKind::LifetimeTooLong => 24,
            ErrorKind::InvalidIssuer => 25,
            ErrorKind::InvalidAudience => 26,
            ErrorKind::InvalidType => 27,
            ErrorKind::IssuerUnavailable => 28,
            ErrorKind::Revoked => 29,
            ErrorKind::RevocationUnavailable => 30,
            ErrorKind::Inactive => 31,
            ErrorKind::IntrospectionUnavailable => 32,
            ErrorKind::InsufficientScope => 33,
            ErrorKind::Forbidden => 34,
            ErrorKind::RateLimited => 35,
            ErrorKind::Internal => 36,
        }
    }

    #[test]
    fn all_lists_every_kind_once_in_order() {
        for (i, kind) in ErrorKind::ALL.iter().enumerate() {
            assert_eq!(position(*kind), i, "{kind:?}");
        }
        assert_eq!(ErrorKind::ALL.len(), position(ErrorKind::Internal) + 1);
    }
}

/// Errors raised while configuring keys or a verifier (never on the request path).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// An HMAC secret is shorter than the algorithm's hash output (at least 32 bytes).
    #[error("HMAC secret for {alg} must be at least {min} bytes, got {got}")]
    WeakSecret {
        /// The algorithm.
        alg: &'static str,
        /// The minimum length in bytes.
        min: usize,
        /// The length given.
        got: usize,
    },
    /// An RSA modulus is shorter than 2048 bits.
    #[error("RSA modulus of {bits} bits is below the 2048-bit minimum")]
    WeakRsaKey {
        /// The modulus size in bits.
        bits: usize,
    },
    /// The key is marked for encryption (`use: "enc"`), not signatures.
    #[error("key is for encryption (use: enc), not signature verification")]
    EncryptionKey,
    /// The key's `key_ops` does not include `verify`.
    #[error("key_ops does not include verify")]
    NotForVerification,
    /// A published key carries private members (`d`, `p`, `q`, ...): the private key has
    /// leaked, so the key is not trusted.
    #[error("the JWK carries private key material ({0}); refusing a leaked key")]
    PrivateKeyMaterial(&'static str),
    /// The key type, curve and algorithm do not fit together.
    #[error("key does not fit algorithm {alg}: {reason}")]
    KeyAlgorithmMismatch {
        /// The algorithm.
        alg: String,
        /// Why.
        reason: &'static str,
    },
    /// The key type or algorithm is not supported.
    #[error("unsupported key: {0}")]
    UnsupportedKey(String),
    /// The key material could not be parsed.
    #[error("invalid key material: {0}")]
    InvalidKey(String),
    /// Two keys in one set share a `kid`.
    #[error("duplicate kid {0:?} in key set")]
    DuplicateKid(String),
    /// A builder setting is invalid.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}
