//! [`CoseAlgorithm`]: the COSE algorithms a CWT may be protected with, and the core
//! [`Algorithm`] each one's key is pinned to.

use coset::iana;
use tokengate_core::Algorithm;

/// A COSE algorithm accepted for CWTs (RFC 9053).
///
/// Each maps to the core [`Algorithm`] that the verifying [`Key`](tokengate_core::Key) must
/// be pinned to: an ES256 key (P-256) for [`CoseAlgorithm::ES256`], an Ed25519 key for
/// [`CoseAlgorithm::EdDSA`], an HS256 secret (at least 32 bytes) for both HMAC variants.
///
/// ```
/// use tokengate_cwt::CoseAlgorithm;
/// use tokengate_core::Algorithm;
/// assert_eq!(CoseAlgorithm::Hmac256_64.key_algorithm(), Algorithm::HS256);
/// assert_eq!(CoseAlgorithm::from_label(-7), Some(CoseAlgorithm::ES256));
/// assert_eq!(CoseAlgorithm::from_label(0), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CoseAlgorithm {
    /// ECDSA with P-256 and SHA-256 (`-7`), in a `COSE_Sign1`.
    ES256,
    /// EdDSA with Ed25519 (`-8`), in a `COSE_Sign1`.
    EdDSA,
    /// HMAC with SHA-256 truncated to 64 bits (`4`), in a `COSE_Mac0`.
    Hmac256_64,
    /// HMAC with SHA-256 (`5`), in a `COSE_Mac0`.
    Hmac256_256,
}

/// Every COSE algorithm tokengate verifies.
pub const ALL_COSE_ALGORITHMS: [CoseAlgorithm; 4] =
    [CoseAlgorithm::ES256, CoseAlgorithm::EdDSA, CoseAlgorithm::Hmac256_64, CoseAlgorithm::Hmac256_256];

impl CoseAlgorithm {
    /// The algorithm for a COSE `alg` label, if it is one of ours.
    pub fn from_label(label: i64) -> Option<CoseAlgorithm> {
        ALL_COSE_ALGORITHMS.into_iter().find(|a| a.label() == label)
    }

    /// The COSE `alg` label (IANA "COSE Algorithms").
    pub fn label(self) -> i64 {
        self.iana() as i64
    }

    /// The IANA value, for building COSE headers with `coset`.
    pub fn iana(self) -> iana::Algorithm {
        match self {
            CoseAlgorithm::ES256 => iana::Algorithm::ES256,
            CoseAlgorithm::EdDSA => iana::Algorithm::EdDSA,
            CoseAlgorithm::Hmac256_64 => iana::Algorithm::HMAC_256_64,
            CoseAlgorithm::Hmac256_256 => iana::Algorithm::HMAC_256_256,
        }
    }

    /// The core algorithm the verifying key must be pinned to.
    pub fn key_algorithm(self) -> Algorithm {
        match self {
            CoseAlgorithm::ES256 => Algorithm::ES256,
            CoseAlgorithm::EdDSA => Algorithm::EdDSA,
            CoseAlgorithm::Hmac256_64 | CoseAlgorithm::Hmac256_256 => Algorithm::HS256,
        }
    }

    /// Whether this is a MAC algorithm (`COSE_Mac0`) rather than a signature (`COSE_Sign1`).
    pub fn is_mac(self) -> bool {
        matches!(self, CoseAlgorithm::Hmac256_64 | CoseAlgorithm::Hmac256_256)
    }

    /// The COSE algorithm that signs with keys of this core algorithm, when there is one
    /// (HS256 maps to the untruncated `HMAC 256/256`).
    pub fn for_key_algorithm(alg: Algorithm) -> Option<CoseAlgorithm> {
        match alg {
            Algorithm::ES256 => Some(CoseAlgorithm::ES256),
            Algorithm::EdDSA => Some(CoseAlgorithm::EdDSA),
            Algorithm::HS256 => Some(CoseAlgorithm::Hmac256_256),
            _ => None,
        }
    }

    pub(crate) fn bit(self) -> u8 {
        match self {
            CoseAlgorithm::ES256 => 1,
            CoseAlgorithm::EdDSA => 2,
            CoseAlgorithm::Hmac256_64 => 4,
            CoseAlgorithm::Hmac256_256 => 8,
        }
    }
}
