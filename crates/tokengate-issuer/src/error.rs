//! [`IssuerError`]: the one error type of the issuer crate.

/// Why a key could not be made or loaded, or a token could not be minted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IssuerError {
    /// The algorithm cannot be used to sign here (HMAC and `none` are never offered).
    #[error("unsupported signing algorithm {0}")]
    UnsupportedAlgorithm(&'static str),
    /// The key material was rejected (wrong type, wrong size, malformed encoding).
    #[error("invalid signing key: {0}")]
    InvalidKey(String),
    /// Generating a fresh key failed.
    #[error("key generation failed")]
    KeyGeneration,
    /// The signer failed to produce a signature (for a remote signer: the KMS/HSM call).
    #[error("signing failed: {0}")]
    Signing(String),
    /// The claims or the settings of a token are not acceptable.
    #[error("invalid token request: {0}")]
    InvalidRequest(String),
    /// An extra claim tried to set a claim the minter owns (`iss`, `aud`, `exp`, ...).
    #[error("the claim {0:?} is set by the minter and cannot be given as an extra claim")]
    ReservedClaim(String),
    /// A store (revocation, refresh tokens) could not be written.
    #[error("store unavailable: {0}")]
    Store(String),
    /// The issuer configuration is not acceptable.
    #[error("invalid issuer configuration: {0}")]
    Config(String),
}
