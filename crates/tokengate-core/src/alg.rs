//! The one algorithm table: every fact tokengate relies on about a JWS algorithm (its
//! name, family, hash, minimum key size, JWK `kty`/`crv`) lives in [`ALGORITHMS`]; the
//! rest of the workspace looks them up with [`info`], [`by_name`] and [`for_key_type`].
//!
//! ```
//! use tokengate_core::Algorithm;
//! use tokengate_core::alg::{self, Family};
//!
//! let es256 = alg::info(Algorithm::ES256).unwrap();
//! assert_eq!((es256.name, es256.family, es256.crv), ("ES256", Family::Ecdsa, Some("P-256")));
//! assert!(!es256.is_symmetric());
//! assert_eq!(alg::by_name("HS384").map(|i| i.min_key_bits), Some(384));
//! assert_eq!(alg::by_name("none"), None);
//! assert_eq!(alg::for_key_type("RSA", None).map(|i| i.alg), Some(Algorithm::RS256));
//! ```

use jsonwebtoken::Algorithm;

/// The kind of signature an algorithm makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Family {
    /// HMAC with a shared secret (`HS*`): symmetric.
    Hmac,
    /// RSASSA-PKCS1-v1_5 (`RS*`).
    Rsa,
    /// RSASSA-PSS (`PS*`).
    RsaPss,
    /// ECDSA (`ES*`).
    Ecdsa,
    /// EdDSA over Ed25519.
    EdDsa,
}

/// The hash an algorithm signs (for EdDSA, the one Ed25519 uses internally).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Hash {
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

/// What tokengate knows about one algorithm. See the [module docs](self).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct AlgorithmInfo {
    /// The algorithm.
    pub alg: Algorithm,
    /// Its name in a JOSE header (`alg`), exact case.
    pub name: &'static str,
    /// Its family.
    pub family: Family,
    /// The hash it signs.
    pub hash: Hash,
    /// The smallest key accepted, in bits: the hash size for an HMAC secret (RFC 7518
    /// 3.2), 2048 for RSA, the curve size for ECDSA and Ed25519.
    pub min_key_bits: usize,
    /// The JWK key type (`kty`) of its keys.
    pub kty: &'static str,
    /// The JWK curve (`crv`) of its keys, for elliptic-curve families.
    pub crv: Option<&'static str>,
}

impl AlgorithmInfo {
    /// Whether the key that verifies is the key that signs (HMAC): such keys are never
    /// taken from a published key set.
    pub const fn is_symmetric(&self) -> bool {
        matches!(self.family, Family::Hmac)
    }

    /// Whether the family is RSA (PKCS#1 v1.5 or PSS).
    pub const fn is_rsa(&self) -> bool {
        matches!(self.family, Family::Rsa | Family::RsaPss)
    }
}

const fn row(
    alg: Algorithm,
    name: &'static str,
    family: Family,
    hash: Hash,
    min_key_bits: usize,
    kty: &'static str,
    crv: Option<&'static str>,
) -> AlgorithmInfo {
    AlgorithmInfo { alg, name, family, hash, min_key_bits, kty, crv }
}

/// The minimum RSA modulus size, in bits.
pub const MIN_RSA_BITS: usize = 2048;

/// Every algorithm tokengate verifies, in a fixed order (for a `kty`/`crv`, the first row
/// is the default algorithm of a JWK without `alg`).
pub const ALGORITHMS: [AlgorithmInfo; 12] = [
    row(Algorithm::HS256, "HS256", Family::Hmac, Hash::Sha256, 256, "oct", None),
    row(Algorithm::HS384, "HS384", Family::Hmac, Hash::Sha384, 384, "oct", None),
    row(Algorithm::HS512, "HS512", Family::Hmac, Hash::Sha512, 512, "oct", None),
    row(Algorithm::RS256, "RS256", Family::Rsa, Hash::Sha256, MIN_RSA_BITS, "RSA", None),
    row(Algorithm::RS384, "RS384", Family::Rsa, Hash::Sha384, MIN_RSA_BITS, "RSA", None),
    row(Algorithm::RS512, "RS512", Family::Rsa, Hash::Sha512, MIN_RSA_BITS, "RSA", None),
    row(Algorithm::PS256, "PS256", Family::RsaPss, Hash::Sha256, MIN_RSA_BITS, "RSA", None),
    row(Algorithm::PS384, "PS384", Family::RsaPss, Hash::Sha384, MIN_RSA_BITS, "RSA", None),
    row(Algorithm::PS512, "PS512", Family::RsaPss, Hash::Sha512, MIN_RSA_BITS, "RSA", None),
    row(Algorithm::ES256, "ES256", Family::Ecdsa, Hash::Sha256, 256, "EC", Some("P-256")),
    row(Algorithm::ES384, "ES384", Family::Ecdsa, Hash::Sha384, 384, "EC", Some("P-384")),
    row(Algorithm::EdDSA, "EdDSA", Family::EdDsa, Hash::Sha512, 256, "OKP", Some("Ed25519")),
];

#[allow(clippy::indexing_slicing)] // const evaluation: out of bounds fails the build
const fn count_asymmetric() -> usize {
    let mut n = 0;
    let mut i = 0;
    while i < ALGORITHMS.len() {
        if !ALGORITHMS[i].is_symmetric() {
            n += 1;
        }
        i += 1;
    }
    n
}

/// Every algorithm of the table, in its order.
#[allow(clippy::indexing_slicing)] // const evaluation: out of bounds fails the build
pub const ALL_ALGORITHMS: [Algorithm; ALGORITHMS.len()] = {
    let mut out = [Algorithm::HS256; ALGORITHMS.len()];
    let mut i = 0;
    while i < ALGORITHMS.len() {
        out[i] = ALGORITHMS[i].alg;
        i += 1;
    }
    out
};

/// The asymmetric algorithms of the table: what an identity provider's published keys
/// can verify.
#[allow(clippy::indexing_slicing)] // const evaluation: out of bounds fails the build
pub const ASYMMETRIC_ALGORITHMS: [Algorithm; count_asymmetric()] = {
    let mut out = [Algorithm::RS256; count_asymmetric()];
    let mut i = 0;
    let mut n = 0;
    while i < ALGORITHMS.len() {
        if !ALGORITHMS[i].is_symmetric() {
            out[n] = ALGORITHMS[i].alg;
            n += 1;
        }
        i += 1;
    }
    out
};

/// The table's row of `alg`; `None` for an algorithm tokengate does not verify (a variant
/// that a later jsonwebtoken may add).
pub fn info(alg: Algorithm) -> Option<&'static AlgorithmInfo> {
    ALGORITHMS.iter().find(|i| i.alg == alg)
}

/// The position of `alg` in [`ALGORITHMS`] (for bit sets).
pub(crate) fn index(alg: Algorithm) -> usize {
    ALGORITHMS.iter().position(|i| i.alg == alg).unwrap_or(ALGORITHMS.len())
}

/// The row whose header name is exactly `name` (case-sensitive; `none` has none).
pub fn by_name(name: &str) -> Option<&'static AlgorithmInfo> {
    ALGORITHMS.iter().find(|i| i.name == name)
}

/// The default algorithm for a key of this JWK `kty` (and `crv`): the first row that
/// fits (`RSA` → RS256, `EC` `P-256` → ES256, `oct` → HS256, `OKP` `Ed25519` → EdDSA).
pub fn for_key_type(kty: &str, crv: Option<&str>) -> Option<&'static AlgorithmInfo> {
    ALGORITHMS.iter().find(|i| i.kty == kty && i.crv == crv)
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn every_algorithm_has_its_own_row() {
        for (i, row) in ALGORITHMS.iter().enumerate() {
            assert_eq!(index(row.alg), i);
            assert_eq!(info(row.alg), Some(row));
            assert_eq!(by_name(row.name), Some(row));
            assert_eq!(format!("{:?}", row.alg), row.name, "jsonwebtoken's name");
        }
        assert_eq!(ASYMMETRIC_ALGORITHMS.len(), 9);
        assert!(ASYMMETRIC_ALGORITHMS.iter().all(|a| info(*a).is_some_and(|i| !i.is_symmetric())));
        assert_eq!(by_name("hs256"), None);
        assert_eq!(for_key_type("EC", Some("P-384")).map(|i| i.alg), Some(Algorithm::ES384));
        assert_eq!(for_key_type("EC", Some("P-521")), None);
    }
}
