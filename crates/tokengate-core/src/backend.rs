//! The crypto backend: keys parsed once into the backend's own verifying keys.

#[cfg(not(any(feature = "aws-lc-rs", feature = "rust-crypto")))]
compile_error!("tokengate-core needs a crypto backend: enable `aws-lc-rs` (default) or `rust-crypto`");

/// The name of the crypto backend this build verifies signatures with: `"aws-lc-rs"`
/// (the default, preferred when both features are on) or `"rust-crypto"`.
#[cfg(feature = "aws-lc-rs")]
pub const CRYPTO_BACKEND: &str = "aws-lc-rs";
/// The name of the crypto backend this build verifies signatures with: `"aws-lc-rs"`
/// (the default, preferred when both features are on) or `"rust-crypto"`.
#[cfg(all(feature = "rust-crypto", not(feature = "aws-lc-rs")))]
pub const CRYPTO_BACKEND: &str = "rust-crypto";

#[cfg(feature = "aws-lc-rs")]
mod imp {
    use aws_lc_rs::{hmac, signature};

    use crate::Algorithm;
    use crate::der::{self, Curve};
    use crate::error::ConfigError;

    /// Parsed verification material (aws-lc-rs).
    ///
    /// `hmac::Key` holds the precomputed inner and outer hash states (about 1.2 KB); the
    /// enum always lives behind an `Arc`, so its size costs nothing and boxing the
    /// variant would only add a pointer chase to every verification.
    #[allow(clippy::large_enum_variant)]
    pub(crate) enum Material {
        Hmac(hmac::Key),
        Public(signature::ParsedPublicKey),
    }

    fn rejected(what: &str, e: impl std::fmt::Display) -> ConfigError {
        ConfigError::InvalidKey(format!("{what}: {e}"))
    }

    impl Material {
        pub(crate) fn hmac(alg: Algorithm, secret: &[u8]) -> Result<Material, ConfigError> {
            let algorithm = match alg {
                Algorithm::HS384 => hmac::HMAC_SHA384,
                Algorithm::HS512 => hmac::HMAC_SHA512,
                _ => hmac::HMAC_SHA256,
            };
            Ok(Material::Hmac(hmac::Key::new(algorithm, secret)))
        }

        pub(crate) fn rsa(alg: Algorithm, n: &[u8], e: &[u8]) -> Result<Material, ConfigError> {
            let params: &'static signature::RsaParameters = match alg {
                Algorithm::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
                Algorithm::RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
                Algorithm::RS512 => &signature::RSA_PKCS1_2048_8192_SHA512,
                Algorithm::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
                Algorithm::PS384 => &signature::RSA_PSS_2048_8192_SHA384,
                _ => &signature::RSA_PSS_2048_8192_SHA512,
            };
            signature::ParsedPublicKey::new(params, der::encode_pkcs1(n, e))
                .map(Material::Public)
                .map_err(|e| rejected("RSA public key", e))
        }

        pub(crate) fn ec(_alg: Algorithm, curve: Curve, point: &[u8]) -> Result<Material, ConfigError> {
            let algorithm: &'static signature::EcdsaVerificationAlgorithm = match curve {
                Curve::P256 => &signature::ECDSA_P256_SHA256_FIXED,
                Curve::P384 => &signature::ECDSA_P384_SHA384_FIXED,
            };
            signature::ParsedPublicKey::new(algorithm, point)
                .map(Material::Public)
                .map_err(|e| rejected("EC public key", e))
        }

        pub(crate) fn ed25519(x: &[u8]) -> Result<Material, ConfigError> {
            signature::ParsedPublicKey::new(&signature::ED25519, x)
                .map(Material::Public)
                .map_err(|e| rejected("Ed25519 public key", e))
        }

        pub(crate) fn verify(&self, message: &[u8], sig: &[u8]) -> bool {
            match self {
                Material::Hmac(key) => hmac::verify(key, message, sig).is_ok(),
                Material::Public(key) => key.verify_sig(message, sig).is_ok(),
            }
        }

        /// Compares `tag` with the leading bytes of the HMAC of `message`, in constant
        /// time. `false` for a public key.
        pub(crate) fn verify_mac_prefix(&self, message: &[u8], tag: &[u8]) -> bool {
            match self {
                Material::Hmac(key) => {
                    let full = hmac::sign(key, message);
                    full.as_ref()
                        .get(..tag.len())
                        .is_some_and(|prefix| aws_lc_rs::constant_time::verify_slices_are_equal(prefix, tag).is_ok())
                }
                Material::Public(_) => false,
            }
        }
    }
}

#[cfg(all(feature = "rust-crypto", not(feature = "aws-lc-rs")))]
mod imp {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use jsonwebtoken::DecodingKey;

    use crate::Algorithm;
    use crate::der::Curve;
    use crate::error::ConfigError;

    /// Verification material (RustCrypto, through jsonwebtoken).
    pub(crate) struct Material {
        alg: Algorithm,
        key: DecodingKey,
    }

    fn rejected(what: &str, e: impl std::fmt::Display) -> ConfigError {
        ConfigError::InvalidKey(format!("{what}: {e}"))
    }

    impl Material {
        pub(crate) fn hmac(alg: Algorithm, secret: &[u8]) -> Result<Material, ConfigError> {
            DecodingKey::from_secret(secret).map(|key| Material { alg, key }).map_err(|e| rejected("HMAC secret", e))
        }

        /// Refuses what aws-lc-rs refuses when it parses the key (an even modulus; an
        /// exponent that is even, under 3 or of more than 33 bits): RustCrypto would only
        /// fail each verification with such a key.
        pub(crate) fn rsa(alg: Algorithm, n: &[u8], e: &[u8]) -> Result<Material, ConfigError> {
            let odd = |v: &[u8]| v.last().is_some_and(|b| b & 1 == 1);
            if !odd(n) {
                return Err(rejected("RSA public key", "even modulus"));
            }
            let e_trimmed = e.get(e.iter().position(|&b| b != 0).unwrap_or(e.len())..).unwrap_or_default();
            let e_value = if e_trimmed.len() <= 5 {
                e_trimmed.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
            } else {
                u64::MAX
            };
            if !odd(e_trimmed) || e_value < 3 || e_value >= 1 << 33 {
                return Err(rejected("RSA public key", "exponent not odd, at least 3 and under 2^33"));
            }
            Ok(Material { alg, key: DecodingKey::from_rsa_raw_components(n, e) })
        }

        /// Validates the point as aws-lc-rs does (on the curve, not the identity; SEC 1
        /// compressed or uncompressed), then hands jsonwebtoken its coordinates: its
        /// `from_ec_components` checks nothing, and an off-curve point would only fail
        /// later, at every verification (or, for a crafted point, worse).
        pub(crate) fn ec(alg: Algorithm, curve: Curve, point: &[u8]) -> Result<Material, ConfigError> {
            use p256::elliptic_curve::sec1::ToSec1Point;
            let invalid = |_| rejected("EC public key", "not a point on the curve");
            let uncompressed = match curve {
                Curve::P256 => {
                    p256::PublicKey::from_sec1_bytes(point).map_err(invalid)?.to_sec1_point(false).as_bytes().to_vec()
                }
                Curve::P384 => {
                    p384::PublicKey::from_sec1_bytes(point).map_err(invalid)?.to_sec1_point(false).as_bytes().to_vec()
                }
            };
            let coords = uncompressed.get(1..).unwrap_or_default();
            let (x, y) = coords.split_at(coords.len() / 2);
            DecodingKey::from_ec_components(&URL_SAFE_NO_PAD.encode(x), &URL_SAFE_NO_PAD.encode(y))
                .map(|key| Material { alg, key })
                .map_err(|e| rejected("EC public key", e))
        }

        pub(crate) fn ed25519(x: &[u8]) -> Result<Material, ConfigError> {
            DecodingKey::from_ed_components(&URL_SAFE_NO_PAD.encode(x))
                .map(|key| Material { alg: Algorithm::EdDSA, key })
                .map_err(|e| rejected("Ed25519 public key", e))
        }

        pub(crate) fn verify(&self, message: &[u8], sig: &[u8]) -> bool {
            // Use the RustCrypto provider directly: jsonwebtoken's process default is
            // ambiguous when another crate also enables its aws-lc-rs backend.
            let provider = &jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER;
            match (provider.verifier_factory)(&self.alg, &self.key) {
                Ok(verifier) => verifier.verify(message, &sig.to_vec()).is_ok(),
                Err(_) => false,
            }
        }

        /// Compares `tag` with the leading bytes of the HMAC of `message`, in constant
        /// time. `false` for a public key.
        pub(crate) fn verify_mac_prefix(&self, message: &[u8], tag: &[u8]) -> bool {
            let Ok(secret) = self.key.try_get_as_bytes() else { return false };
            if !matches!(self.alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512) {
                return false;
            }
            let provider = &jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER;
            let Ok(key) = jsonwebtoken::EncodingKey::from_secret(secret) else { return false };
            let Ok(signer) = (provider.signer_factory)(&self.alg, &key) else { return false };
            let Ok(full) = signer.try_sign(message) else { return false };
            full.get(..tag.len())
                .is_some_and(|prefix| prefix.iter().zip(tag).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0)
        }
    }
}

pub(crate) use imp::Material;
