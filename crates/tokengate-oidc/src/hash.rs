//! `at_hash` and `c_hash` (OIDC Core 3.1.3.6, 3.3.2.11): the base64url of the left half
//! of the hash of the token or code's ASCII text, with the SHA-2 of the ID token's `alg`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256, Sha384, Sha512};
use tokengate_core::Algorithm;

use crate::error::OidcError;

/// The `at_hash` / `c_hash` value of `value` for an ID token signed with `alg`.
///
/// `*256` algorithms use SHA-256, `*384` SHA-384, `*512` and `EdDSA` (Ed25519) SHA-512.
///
/// ```
/// use tokengate_core::Algorithm;
/// // The example of OIDC Core appendix A.3 (at_hash of its access token, RS256).
/// let h = tokengate_oidc::token_hash(Algorithm::RS256, "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y")?;
/// assert_eq!(h, "77QmUPtjPfzWtF2AnpK9RQ");
/// # Ok::<(), tokengate_oidc::OidcError>(())
/// ```
pub fn token_hash(alg: Algorithm, value: &str) -> Result<String, OidcError> {
    let digest: Vec<u8> = match alg {
        Algorithm::HS256 | Algorithm::RS256 | Algorithm::PS256 | Algorithm::ES256 => {
            Sha256::digest(value.as_bytes()).to_vec()
        }
        Algorithm::HS384 | Algorithm::RS384 | Algorithm::PS384 | Algorithm::ES384 => {
            Sha384::digest(value.as_bytes()).to_vec()
        }
        Algorithm::HS512 | Algorithm::RS512 | Algorithm::PS512 | Algorithm::EdDSA => {
            Sha512::digest(value.as_bytes()).to_vec()
        }
        #[allow(unreachable_patterns)]
        _ => return Err(OidcError::UnsupportedHashAlgorithm),
    };
    let half = digest.get(..digest.len() / 2).unwrap_or_default();
    Ok(URL_SAFE_NO_PAD.encode(half))
}

/// Compares without an early exit (the expected values are not secret, but cheap to do).
pub(crate) fn ct_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
