//! [`Key`]: verification key material pinned to exactly one algorithm.

use std::fmt;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, KeyOperations, PublicKeyUse};

use crate::Algorithm;
use crate::alg::{self, AlgorithmInfo, Family, MIN_RSA_BITS};
use crate::backend::Material;
use crate::der::{self, Curve, PublicKeyDer};
use crate::error::{AuthError, ConfigError, ErrorKind};

/// A verification key, pinned to one [`Algorithm`], with an optional `kid`.
///
/// Keys are parsed once, when built, into the crypto backend's own verifying keys; a
/// clone is one reference-count increment.
///
/// ```
/// use tokengate_core::{Algorithm, Key};
/// let key = Key::hmac(Algorithm::HS256, b"a secret of at least thirty-two bytes!").unwrap().with_kid("k1");
/// assert_eq!(key.algorithm(), Algorithm::HS256);
/// assert_eq!(key.kid(), Some("k1"));
/// // Short secrets are refused at configuration time.
/// assert!(Key::hmac(Algorithm::HS256, b"short").is_err());
/// ```
#[derive(Clone)]
pub struct Key {
    inner: Arc<KeyInner>,
}

struct KeyInner {
    kid: Option<String>,
    alg: Algorithm,
    issuer: Option<Arc<str>>,
    generation: u64,
    identity: u64,
    material: Arc<Material>,
}

/// The source of [`Key::identity`] values: process-unique, never 0.
static IDENTITY: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

fn next_identity() -> u64 {
    IDENTITY.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("kid", &self.inner.kid)
            .field("alg", &self.inner.alg)
            .field("issuer", &self.inner.issuer)
            .field("generation", &self.inner.generation)
            .field("identity", &self.inner.identity)
            .finish_non_exhaustive()
    }
}

/// The minimum HMAC secret length for an algorithm: the hash output size (RFC 7518 3.2).
pub fn min_hmac_len(alg: Algorithm) -> usize {
    alg::info(alg).filter(|i| i.is_symmetric()).map_or(32, |i| i.min_key_bits / 8)
}

fn alg_name(alg: Algorithm) -> &'static str {
    alg::info(alg).map_or("unsupported", |i| i.name)
}

/// The name of an algorithm as it appears in a JOSE header.
pub fn algorithm_name(alg: Algorithm) -> &'static str {
    alg_name(alg)
}

fn mismatch(alg: Algorithm, reason: &'static str) -> ConfigError {
    ConfigError::KeyAlgorithmMismatch { alg: alg_name(alg).to_owned(), reason }
}

fn is_rsa(alg: Algorithm) -> bool {
    alg::info(alg).is_some_and(AlgorithmInfo::is_rsa)
}

fn family(alg: Algorithm) -> Option<Family> {
    alg::info(alg).map(|i| i.family)
}

/// The algorithm of an EC key on `curve`.
fn ec_algorithm(curve: Curve) -> Option<Algorithm> {
    let crv = match curve {
        Curve::P256 => "P-256",
        Curve::P384 => "P-384",
    };
    alg::for_key_type("EC", Some(crv)).map(|i| i.alg)
}

fn b64(field: &str, what: &str) -> Result<Vec<u8>, ConfigError> {
    URL_SAFE_NO_PAD
        .decode(field.trim_end_matches('='))
        .map_err(|_| ConfigError::InvalidKey(format!("{what} is not base64url")))
}

impl Key {
    fn build(alg: Algorithm, material: Material) -> Key {
        Key {
            inner: Arc::new(KeyInner {
                kid: None,
                alg,
                issuer: None,
                generation: 0,
                identity: next_identity(),
                material: Arc::new(material),
            }),
        }
    }

    fn rebuild(&self, f: impl FnOnce(&mut KeyInner)) -> Key {
        let mut inner = KeyInner {
            kid: self.inner.kid.clone(),
            alg: self.inner.alg,
            issuer: self.inner.issuer.clone(),
            generation: self.inner.generation,
            identity: next_identity(),
            material: Arc::clone(&self.inner.material),
        };
        f(&mut inner);
        Key { inner: Arc::new(inner) }
    }

    /// An HMAC key. The secret must be at least as long as the hash output (32, 48 or 64
    /// bytes for HS256, HS384, HS512).
    pub fn hmac(alg: Algorithm, secret: &[u8]) -> Result<Key, ConfigError> {
        if family(alg) != Some(Family::Hmac) {
            return Err(mismatch(alg, "an HMAC secret can only be used with HS256, HS384 or HS512"));
        }
        let min = min_hmac_len(alg);
        if secret.len() < min {
            return Err(ConfigError::WeakSecret { alg: alg_name(alg), min, got: secret.len() });
        }
        Ok(Key::build(alg, Material::hmac(alg, secret)?))
    }

    /// An RSA public key from its modulus and exponent (big-endian bytes).
    pub fn rsa_components(alg: Algorithm, n: &[u8], e: &[u8]) -> Result<Key, ConfigError> {
        if !is_rsa(alg) {
            return Err(mismatch(alg, "an RSA key can only be used with RS* or PS*"));
        }
        let n = n.get(n.iter().position(|&b| b != 0).unwrap_or(n.len())..).unwrap_or_default();
        let bits = n.first().map_or(0, |&top| (n.len() - 1) * 8 + (8 - top.leading_zeros() as usize));
        if bits < MIN_RSA_BITS {
            return Err(ConfigError::WeakRsaKey { bits });
        }
        if bits > 8192 {
            return Err(ConfigError::UnsupportedKey("RSA modulus over 8192 bits".into()));
        }
        Ok(Key::build(alg, Material::rsa(alg, n, e)?))
    }

    /// An ECDSA public key from its uncompressed point coordinates.
    pub fn ec_components(alg: Algorithm, x: &[u8], y: &[u8]) -> Result<Key, ConfigError> {
        let curve = match alg::info(alg).filter(|i| i.family == Family::Ecdsa).and_then(|i| i.crv) {
            Some("P-256") => Curve::P256,
            Some("P-384") => Curve::P384,
            _ => return Err(mismatch(alg, "an EC key can only be used with ES256 or ES384")),
        };
        let len = alg::info(alg).map_or(0, |i| i.min_key_bits / 8);
        if x.len() != len || y.len() != len {
            return Err(mismatch(alg, "EC coordinates do not match the curve size"));
        }
        let mut point = Vec::with_capacity(1 + 2 * len);
        point.push(4);
        point.extend_from_slice(x);
        point.extend_from_slice(y);
        Ok(Key::build(alg, Material::ec(alg, curve, &point)?))
    }

    /// An Ed25519 public key from its 32 bytes.
    pub fn ed25519(x: &[u8]) -> Result<Key, ConfigError> {
        if x.len() != 32 {
            return Err(ConfigError::InvalidKey("an Ed25519 public key is 32 bytes".into()));
        }
        Ok(Key::build(Algorithm::EdDSA, Material::ed25519(x)?))
    }

    /// A public key from DER: an X.509 `SubjectPublicKeyInfo` (RSA, EC P-256/P-384,
    /// Ed25519) or a PKCS#1 `RSAPublicKey`.
    pub fn from_der(alg: Algorithm, der: &[u8]) -> Result<Key, ConfigError> {
        match der::parse_public_key(der)? {
            PublicKeyDer::Rsa { n, e } => Key::rsa_components(alg, &n, &e),
            PublicKeyDer::Ec { curve, point } => {
                if ec_algorithm(curve) != Some(alg) {
                    return Err(mismatch(alg, "the key's curve does not fit the algorithm"));
                }
                Ok(Key::build(alg, Material::ec(alg, curve, &point)?))
            }
            PublicKeyDer::Ed25519 { x } => {
                if alg != Algorithm::EdDSA {
                    return Err(mismatch(alg, "an Ed25519 key can only be used with EdDSA"));
                }
                Key::ed25519(&x)
            }
        }
    }

    /// A public key from PEM (`PUBLIC KEY` or `RSA PUBLIC KEY`).
    ///
    /// ```
    /// use tokengate_core::{Algorithm, Key};
    /// let pem = "-----BEGIN PUBLIC KEY-----\n\
    ///            MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n\
    ///            -----END PUBLIC KEY-----\n";
    /// let key = Key::from_pem(Algorithm::EdDSA, pem.as_bytes()).unwrap();
    /// assert_eq!(key.algorithm(), Algorithm::EdDSA);
    /// ```
    pub fn from_pem(alg: Algorithm, pem: &[u8]) -> Result<Key, ConfigError> {
        let parsed = pem::parse(pem).map_err(|e| ConfigError::InvalidKey(format!("PEM: {e}")))?;
        match parsed.tag() {
            "PUBLIC KEY" | "RSA PUBLIC KEY" => Key::from_der(alg, parsed.contents()),
            "CERTIFICATE" => Err(ConfigError::UnsupportedKey("certificates; give the public key".into())),
            tag if tag.contains("PRIVATE") => {
                Err(ConfigError::InvalidKey("a private key was given where a public key belongs".into()))
            }
            tag => Err(ConfigError::InvalidKey(format!("unexpected PEM label {tag:?}"))),
        }
    }

    /// A key from a JWK, using its `alg` or, when absent, the algorithm its `kty`/`crv`
    /// imply (see [`default_algorithm`]). Keys with `use: "enc"` or `key_ops` without
    /// `verify` are refused, as are RSA moduli under 2048 bits.
    pub fn from_jwk(jwk: &Jwk) -> Result<Key, ConfigError> {
        let common = &jwk.common;
        match &common.public_key_use {
            Some(PublicKeyUse::Encryption) => return Err(ConfigError::EncryptionKey),
            Some(PublicKeyUse::Other(other)) => {
                return Err(ConfigError::UnsupportedKey(format!("use {other:?}")));
            }
            _ => {}
        }
        if let Some(ops) = &common.key_operations
            && !ops.iter().any(|op| matches!(op, KeyOperations::Verify))
        {
            return Err(ConfigError::NotForVerification);
        }
        let alg = match common.key_algorithm {
            None => default_algorithm(jwk)?,
            Some(KeyAlgorithm::RSA1_5 | KeyAlgorithm::RSA_OAEP | KeyAlgorithm::RSA_OAEP_256) => {
                return Err(ConfigError::EncryptionKey);
            }
            Some(ka) => Algorithm::try_from(ka).map_err(|_| ConfigError::UnsupportedKey(format!("alg {ka}")))?,
        };
        let key = match &jwk.algorithm {
            AlgorithmParameters::RSA(p) => Key::rsa_components(alg, &b64(&p.n, "n")?, &b64(&p.e, "e")?)?,
            AlgorithmParameters::EllipticCurve(p) => {
                let Some(want) = alg::for_key_type("EC", curve_name(&p.curve)) else {
                    return Err(ConfigError::UnsupportedKey(format!("EC curve {:?}", p.curve)));
                };
                if alg != want.alg {
                    return Err(mismatch(alg, "the key's curve does not fit the algorithm"));
                }
                Key::ec_components(alg, &b64(&p.x, "x")?, &b64(&p.y, "y")?)?
            }
            AlgorithmParameters::OctetKey(p) => Key::hmac(alg, &b64(&p.value, "k")?)?,
            AlgorithmParameters::OctetKeyPair(p) => {
                if p.curve != EllipticCurve::Ed25519 {
                    return Err(ConfigError::UnsupportedKey(format!("OKP curve {:?}", p.curve)));
                }
                if alg != Algorithm::EdDSA {
                    return Err(mismatch(alg, "an Ed25519 key can only be used with EdDSA"));
                }
                Key::ed25519(&b64(&p.x, "x")?)?
            }
            _ => return Err(ConfigError::UnsupportedKey("unknown kty".into())),
        };
        Ok(match &common.key_id {
            Some(kid) => key.with_kid(kid.clone()),
            None => key,
        })
    }

    /// A key from the JSON text of one JWK.
    pub fn from_jwk_json(json: &str) -> Result<Key, ConfigError> {
        crate::json::check_strict(json.as_bytes()).map_err(|e| ConfigError::InvalidKey(e.to_string()))?;
        let value: serde_json::Value = serde_json::from_str(json)
            .map_err(|e| ConfigError::InvalidKey(format!("JWK: {}", crate::json::describe_error(&e))))?;
        Key::from_jwk_value(value)
    }

    /// A key from one JWK as a JSON value; private members are refused (see
    /// [`ConfigError::PrivateKeyMaterial`]).
    pub fn from_jwk_value(value: serde_json::Value) -> Result<Key, ConfigError> {
        refuse_private_members(&value)?;
        let jwk: Jwk = serde_json::from_value(value)
            .map_err(|e| ConfigError::InvalidKey(format!("JWK: {}", crate::json::describe_error(&e))))?;
        Key::from_jwk(&jwk)
    }

    /// Sets the key id.
    pub fn with_kid(self, kid: impl Into<String>) -> Key {
        let kid = kid.into();
        self.rebuild(|k| k.kid = Some(kid))
    }

    /// Binds the key to an issuer: a token verified with it must carry exactly this
    /// `iss`, whatever else the verifier accepts.
    pub fn bind_issuer(self, issuer: impl Into<Arc<str>>) -> Key {
        let issuer = issuer.into();
        self.rebuild(|k| k.issuer = Some(issuer))
    }

    pub(crate) fn with_generation(&self, generation: u64) -> Key {
        self.rebuild(|k| k.generation = generation)
    }

    /// The key id, if any.
    pub fn kid(&self) -> Option<&str> {
        self.inner.kid.as_deref()
    }

    /// The one algorithm this key verifies.
    pub fn algorithm(&self) -> Algorithm {
        self.inner.alg
    }

    /// The issuer this key is bound to, if any.
    pub fn issuer(&self) -> Option<&str> {
        self.inner.issuer.as_deref()
    }

    /// The generation of the [`crate::KeySet`] this key came from (0 for a lone key).
    pub fn generation(&self) -> u64 {
        self.inner.generation
    }

    /// A process-unique number naming this very key: clones share it; a key built or
    /// changed in any way (another secret, `kid`, issuer binding or key set) gets a new one,
    /// even when its `kid` and generation are the same. Never 0.
    ///
    /// A verification remembered for later (the verified-token cache) is bound to it, so
    /// that replacing the key behind a `kid` (rotating a leaked secret) takes effect at once.
    ///
    /// ```
    /// use tokengate_core::{Algorithm, Key};
    /// let a = Key::hmac(Algorithm::HS256, &[1; 32]).unwrap().with_kid("k");
    /// let b = Key::hmac(Algorithm::HS256, &[1; 32]).unwrap().with_kid("k");
    /// assert_eq!(a.identity(), a.clone().identity());
    /// assert_ne!(a.identity(), b.identity());
    /// assert_eq!(a.generation(), b.generation()); // both 0: generation alone cannot tell
    /// ```
    pub fn identity(&self) -> u64 {
        self.inner.identity
    }

    /// Verifies `signature` over `message` with this key's algorithm.
    ///
    /// Errors with [`ErrorKind::InvalidSignature`] on any failure, including an empty or
    /// wrongly sized signature.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), AuthError> {
        if signature.is_empty() {
            return Err(AuthError::with_detail(ErrorKind::InvalidSignature, "empty signature"));
        }
        if self.inner.material.verify(message, signature) {
            Ok(())
        } else {
            Err(AuthError::new(ErrorKind::InvalidSignature))
        }
    }
}

impl Key {
    /// The shortest truncated MAC accepted by [`Key::verify_truncated_mac`], in bytes
    /// (64 bits, as COSE's HMAC 256/64).
    pub const MIN_TRUNCATED_MAC_LEN: usize = 8;

    /// Verifies a truncated HMAC `tag` over `message`: the tag must equal the leading
    /// bytes of the full HMAC (compared in constant time), as COSE's `HMAC 256/64` uses.
    ///
    /// Errors with [`ErrorKind::InvalidSignature`] for a public key, a tag shorter than
    /// [`Key::MIN_TRUNCATED_MAC_LEN`] or longer than the hash output, or a mismatch.
    ///
    /// ```
    /// use tokengate_core::{Algorithm, Key};
    /// let key = Key::hmac(Algorithm::HS256, &[7; 32]).unwrap();
    /// assert!(key.verify_truncated_mac(b"message", &[0; 8]).is_err());
    /// assert!(key.verify_truncated_mac(b"message", &[0; 4]).is_err()); // too short
    /// ```
    pub fn verify_truncated_mac(&self, message: &[u8], tag: &[u8]) -> Result<(), AuthError> {
        if tag.len() < Key::MIN_TRUNCATED_MAC_LEN {
            return Err(AuthError::with_detail(ErrorKind::InvalidSignature, "truncated MAC too short"));
        }
        if self.inner.material.verify_mac_prefix(message, tag) {
            Ok(())
        } else {
            Err(AuthError::new(ErrorKind::InvalidSignature))
        }
    }
}

/// JWK members that only a private key has (RFC 7518 section 6).
const PRIVATE_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth"];

/// Refuses a JWK that carries private members: a published key with them has leaked.
fn refuse_private_members(value: &serde_json::Value) -> Result<(), ConfigError> {
    match PRIVATE_MEMBERS.iter().find(|m| value.get(**m).is_some()) {
        Some(member) => Err(ConfigError::PrivateKeyMaterial(member)),
        None => Ok(()),
    }
}

/// The algorithm a JWK without `alg` is used with, from its `kty` and `crv`:
///
/// | kty | crv | algorithm |
/// | --- | --- | --- |
/// | `RSA` | | RS256 |
/// | `EC` | `P-256` | ES256 |
/// | `EC` | `P-384` | ES384 |
/// | `OKP` | `Ed25519` | EdDSA |
/// | `oct` | | HS256 |
///
/// Anything else (P-521, X25519, Ed448) is unsupported.
pub fn default_algorithm(jwk: &Jwk) -> Result<Algorithm, ConfigError> {
    let (kty, crv) = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => ("RSA", None),
        AlgorithmParameters::EllipticCurve(p) => ("EC", Some(&p.curve)),
        AlgorithmParameters::OctetKeyPair(p) => ("OKP", Some(&p.curve)),
        AlgorithmParameters::OctetKey(_) => ("oct", None),
        _ => return Err(ConfigError::UnsupportedKey("unknown kty".into())),
    };
    let found = match crv {
        Some(curve) => curve_name(curve).and_then(|name| alg::for_key_type(kty, Some(name))),
        None => alg::for_key_type(kty, None),
    };
    match (found, crv) {
        (Some(info), _) => Ok(info.alg),
        (None, Some(curve)) => Err(ConfigError::UnsupportedKey(format!("{kty} curve {curve:?}"))),
        (None, None) => Err(ConfigError::UnsupportedKey("unknown kty".into())),
    }
}

/// A JWK curve's `crv` name, for the curves jsonwebtoken models.
fn curve_name(curve: &EllipticCurve) -> Option<&'static str> {
    Some(match curve {
        EllipticCurve::P256 => "P-256",
        EllipticCurve::P384 => "P-384",
        EllipticCurve::P521 => "P-521",
        EllipticCurve::Ed25519 => "Ed25519",
        _ => return None,
    })
}
