//! The [`Signer`] trait, the local-key [`LocalSigner`] and the [`SignerSet`] that a
//! minter signs with and a JWKS endpoint publishes.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::digest;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tokengate_core::Algorithm;
use tokengate_core::alg::{Family, Hash};
use tokengate_core::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, EllipticCurveKeyParameters, EllipticCurveKeyType, Jwk,
    JwkSet, KeyAlgorithm, OctetKeyPairParameters, OctetKeyPairType, PublicKeyUse, RSAKeyParameters, RSAKeyType,
};

use crate::error::IssuerError;
use crate::rotation::KeyRing;

/// The future a [`Signer`] returns: boxed so the trait stays object-safe.
pub type SignFuture<'a> = Pin<Box<dyn Future<Output = Result<Vec<u8>, IssuerError>> + Send + 'a>>;

/// Produces JWS signatures with one private key.
///
/// Asynchronous so that a KMS or an HSM can implement it: `sign` receives the JWS
/// signing input (`base64url(header) "." base64url(claims)`) and returns the raw
/// signature bytes as JWS expects them (for ECDSA the fixed-width `r || s`, not DER).
///
/// ```
/// use tokengate_issuer::{LocalSigner, Signer};
/// use tokengate_core::Algorithm;
/// # tokio_test_block_on(async {
/// let signer = LocalSigner::generate(Algorithm::ES256)?;
/// let signature = signer.sign(b"header.claims").await?;
/// assert_eq!(signature.len(), 64);
/// assert_eq!(signer.public_jwk().common.key_id.as_deref(), Some(signer.kid()));
/// # Ok::<(), tokengate_issuer::IssuerError>(())
/// # }).unwrap();
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
pub trait Signer: Send + Sync + 'static {
    /// The one algorithm this signer signs with.
    fn alg(&self) -> Algorithm;

    /// The key id written into the header of every token this signer signs.
    fn kid(&self) -> &str;

    /// The public key as a JWK, with `kid`, `alg` and `use: "sig"`, for the JWKS.
    fn public_jwk(&self) -> Jwk;

    /// Signs `message` (the JWS signing input).
    fn sign<'a>(&'a self, message: &'a [u8]) -> SignFuture<'a>;
}

impl<S: Signer + ?Sized> Signer for Arc<S> {
    fn alg(&self) -> Algorithm {
        (**self).alg()
    }

    fn kid(&self) -> &str {
        (**self).kid()
    }

    fn public_jwk(&self) -> Jwk {
        (**self).public_jwk()
    }

    fn sign<'a>(&'a self, message: &'a [u8]) -> SignFuture<'a> {
        (**self).sign(message)
    }
}

enum Pair {
    Ecdsa(EcdsaKeyPair),
    Rsa(RsaKeyPair, &'static dyn signature::RsaEncoding),
    Ed25519(Ed25519KeyPair),
}

/// A [`Signer`] over a private key held in this process (aws-lc-rs).
///
/// Supported: ES256 (the default for fresh keys), ES384, RS256/384/512, PS256/384/512
/// and EdDSA (Ed25519). The `kid` defaults to the key's RFC 7638 thumbprint.
pub struct LocalSigner {
    alg: Algorithm,
    kid: String,
    pair: Pair,
    jwk: Jwk,
}

impl fmt::Debug for LocalSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalSigner").field("alg", &self.alg).field("kid", &self.kid).finish_non_exhaustive()
    }
}

fn alg_name(alg: Algorithm) -> &'static str {
    tokengate_core::algorithm_name(alg)
}

fn rsa_encoding(alg: Algorithm) -> Option<&'static dyn signature::RsaEncoding> {
    let info = tokengate_core::alg::info(alg)?;
    Some(match (info.family, info.hash) {
        (Family::Rsa, Hash::Sha256) => &signature::RSA_PKCS1_SHA256,
        (Family::Rsa, Hash::Sha384) => &signature::RSA_PKCS1_SHA384,
        (Family::Rsa, Hash::Sha512) => &signature::RSA_PKCS1_SHA512,
        (Family::RsaPss, Hash::Sha256) => &signature::RSA_PSS_SHA256,
        (Family::RsaPss, Hash::Sha384) => &signature::RSA_PSS_SHA384,
        (Family::RsaPss, Hash::Sha512) => &signature::RSA_PSS_SHA512,
        _ => return None,
    })
}

fn ecdsa_algorithm(alg: Algorithm) -> Option<&'static signature::EcdsaSigningAlgorithm> {
    let info = tokengate_core::alg::info(alg)?;
    match (info.family, info.crv) {
        (Family::Ecdsa, Some("P-256")) => Some(&signature::ECDSA_P256_SHA256_FIXED_SIGNING),
        (Family::Ecdsa, Some("P-384")) => Some(&signature::ECDSA_P384_SHA384_FIXED_SIGNING),
        _ => None,
    }
}

/// The JWK `alg` of a signing algorithm (asymmetric only: an issuer publishes no secret).
fn key_algorithm(alg: Algorithm) -> Option<KeyAlgorithm> {
    let info = tokengate_core::alg::info(alg).filter(|i| !i.is_symmetric())?;
    info.name.parse().ok()
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The RFC 7638 thumbprint (SHA-256, base64url) of a public JWK: the hash of its
/// required members in canonical form. A stable `kid` for a key.
///
/// Errors for key types other than RSA, EC (P-256, P-384) and OKP (Ed25519), and for
/// members that are not base64url.
pub fn jwk_thumbprint(jwk: &Jwk) -> Result<String, IssuerError> {
    let is_b64 = |v: &str| !v.is_empty() && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    // Members in lexicographic order, no whitespace (RFC 7638 section 3.2). Values are
    // checked to be base64url, so they need no JSON escaping.
    let canonical = match &jwk.algorithm {
        AlgorithmParameters::RSA(p) if is_b64(&p.e) && is_b64(&p.n) => {
            format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, p.e, p.n)
        }
        AlgorithmParameters::EllipticCurve(p) if is_b64(&p.x) && is_b64(&p.y) => {
            let crv = match p.curve {
                EllipticCurve::P256 => "P-256",
                EllipticCurve::P384 => "P-384",
                _ => return Err(IssuerError::InvalidKey("unsupported EC curve".into())),
            };
            format!(r#"{{"crv":"{crv}","kty":"EC","x":"{}","y":"{}"}}"#, p.x, p.y)
        }
        AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 && is_b64(&p.x) => {
            format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#, p.x)
        }
        _ => return Err(IssuerError::InvalidKey("no thumbprint for this key".into())),
    };
    Ok(b64(digest::digest(&digest::SHA256, canonical.as_bytes()).as_ref()))
}

impl LocalSigner {
    /// Generates a fresh key for `alg`: a P-256 or P-384 key for ES256/ES384, a
    /// 2048-bit RSA key for RS*/PS*, an Ed25519 key for EdDSA.
    ///
    /// Errors with [`IssuerError::UnsupportedAlgorithm`] for HMAC algorithms: a shared
    /// secret cannot be published in a JWKS.
    pub fn generate(alg: Algorithm) -> Result<LocalSigner, IssuerError> {
        let pair = if let Some(ec) = ecdsa_algorithm(alg) {
            Pair::Ecdsa(EcdsaKeyPair::generate(ec).map_err(|_| IssuerError::KeyGeneration)?)
        } else if let Some(encoding) = rsa_encoding(alg) {
            Pair::Rsa(RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| IssuerError::KeyGeneration)?, encoding)
        } else if alg == Algorithm::EdDSA {
            Pair::Ed25519(Ed25519KeyPair::generate().map_err(|_| IssuerError::KeyGeneration)?)
        } else {
            return Err(IssuerError::UnsupportedAlgorithm(alg_name(alg)));
        };
        LocalSigner::from_pair(alg, pair)
    }

    /// Loads an unencrypted PKCS#8 (DER) private key for `alg`.
    ///
    /// The key type must fit the algorithm (an EC P-256 key for ES256, an RSA key of at
    /// least 2048 bits for RS256, ...).
    pub fn from_pkcs8(alg: Algorithm, der: &[u8]) -> Result<LocalSigner, IssuerError> {
        let rejected = |e: aws_lc_rs::error::KeyRejected| IssuerError::InvalidKey(e.to_string());
        let pair = if let Some(ec) = ecdsa_algorithm(alg) {
            Pair::Ecdsa(EcdsaKeyPair::from_pkcs8(ec, der).map_err(rejected)?)
        } else if let Some(encoding) = rsa_encoding(alg) {
            let pair = RsaKeyPair::from_pkcs8(der).map_err(rejected)?;
            if pair.public_modulus_len() * 8 < tokengate_core::MIN_RSA_BITS {
                return Err(IssuerError::InvalidKey("RSA keys must have at least 2048 bits".into()));
            }
            Pair::Rsa(pair, encoding)
        } else if alg == Algorithm::EdDSA {
            Pair::Ed25519(Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map_err(rejected)?)
        } else {
            return Err(IssuerError::UnsupportedAlgorithm(alg_name(alg)));
        };
        LocalSigner::from_pair(alg, pair)
    }

    /// Loads an unencrypted PKCS#8 private key from PEM (`-----BEGIN PRIVATE KEY-----`).
    pub fn from_pkcs8_pem(alg: Algorithm, pem: &[u8]) -> Result<LocalSigner, IssuerError> {
        let parsed = pem::parse(pem).map_err(|e| IssuerError::InvalidKey(format!("PEM: {e}")))?;
        if parsed.tag() != "PRIVATE KEY" {
            return Err(IssuerError::InvalidKey(format!("expected a PKCS#8 PRIVATE KEY, got {:?}", parsed.tag())));
        }
        LocalSigner::from_pkcs8(alg, parsed.contents())
    }

    fn from_pair(alg: Algorithm, pair: Pair) -> Result<LocalSigner, IssuerError> {
        let params = match &pair {
            Pair::Ecdsa(p) => {
                let point = p.public_key().as_ref();
                let len = if alg == Algorithm::ES384 { 48 } else { 32 };
                let (x, y) = match point.split_first() {
                    Some((4, rest)) if rest.len() == 2 * len => rest.split_at(len),
                    _ => return Err(IssuerError::InvalidKey("unexpected EC public key encoding".into())),
                };
                AlgorithmParameters::EllipticCurve(EllipticCurveKeyParameters {
                    key_type: EllipticCurveKeyType::EC,
                    curve: if alg == Algorithm::ES384 { EllipticCurve::P384 } else { EllipticCurve::P256 },
                    x: b64(x),
                    y: b64(y),
                })
            }
            Pair::Rsa(p, _) => {
                let public = p.public_key();
                AlgorithmParameters::RSA(RSAKeyParameters {
                    key_type: RSAKeyType::RSA,
                    n: b64(public.modulus().big_endian_without_leading_zero()),
                    e: b64(public.exponent().big_endian_without_leading_zero()),
                })
            }
            Pair::Ed25519(p) => AlgorithmParameters::OctetKeyPair(OctetKeyPairParameters {
                key_type: OctetKeyPairType::OctetKeyPair,
                curve: EllipticCurve::Ed25519,
                x: b64(p.public_key().as_ref()),
            }),
        };
        let mut jwk = Jwk {
            common: CommonParameters {
                public_key_use: Some(PublicKeyUse::Signature),
                key_algorithm: key_algorithm(alg),
                ..CommonParameters::default()
            },
            algorithm: params,
        };
        let kid = jwk_thumbprint(&jwk)?;
        jwk.common.key_id = Some(kid.clone());
        Ok(LocalSigner { alg, kid, pair, jwk })
    }

    /// Replaces the key id (by default the RFC 7638 thumbprint of the public key).
    #[must_use]
    pub fn with_kid(mut self, kid: impl Into<String>) -> LocalSigner {
        self.kid = kid.into();
        self.jwk.common.key_id = Some(self.kid.clone());
        self
    }

    /// The private key as unencrypted PKCS#8 DER, to persist a generated key.
    ///
    /// Handle with care: this is secret key material.
    pub fn to_pkcs8_der(&self) -> Result<Vec<u8>, IssuerError> {
        let der = match &self.pair {
            Pair::Ecdsa(p) => p.to_pkcs8v1().map(|d| d.as_ref().to_vec()),
            Pair::Rsa(p, _) => AsDer::<aws_lc_rs::encoding::Pkcs8V1Der<'_>>::as_der(p).map(|d| d.as_ref().to_vec()),
            Pair::Ed25519(p) => p.to_pkcs8v1().map(|d| d.as_ref().to_vec()),
        };
        der.map_err(|_| IssuerError::InvalidKey("the key cannot be encoded as PKCS#8".into()))
    }

    /// The public key as X.509 `SubjectPublicKeyInfo` DER, for verifiers configured
    /// from PEM or DER rather than a JWKS.
    pub fn public_key_der(&self) -> Result<Vec<u8>, IssuerError> {
        let der = match &self.pair {
            Pair::Ecdsa(p) => p.public_key().as_der().map(|d| d.as_ref().to_vec()),
            Pair::Rsa(p, _) => p.public_key().as_der().map(|d| d.as_ref().to_vec()),
            Pair::Ed25519(p) => p.public_key().as_der().map(|d| d.as_ref().to_vec()),
        };
        der.map_err(|_| IssuerError::InvalidKey("the public key cannot be encoded".into()))
    }

    /// The public key as PEM (`-----BEGIN PUBLIC KEY-----`).
    pub fn public_key_pem(&self) -> Result<String, IssuerError> {
        Ok(pem::encode(&pem::Pem::new("PUBLIC KEY", self.public_key_der()?)))
    }

    /// Signs synchronously (a local key needs no I/O).
    pub fn sign_now(&self, message: &[u8]) -> Result<Vec<u8>, IssuerError> {
        let failed = |_| IssuerError::Signing("the local key could not sign".into());
        match &self.pair {
            Pair::Ecdsa(p) => Ok(p.sign(&SystemRandom::new(), message).map_err(failed)?.as_ref().to_vec()),
            Pair::Rsa(p, encoding) => {
                let mut out = vec![0; p.public_modulus_len()];
                p.sign(*encoding, &SystemRandom::new(), message, &mut out).map_err(failed)?;
                Ok(out)
            }
            Pair::Ed25519(p) => Ok(p.sign(message).as_ref().to_vec()),
        }
    }
}

impl Signer for LocalSigner {
    fn alg(&self) -> Algorithm {
        self.alg
    }

    fn kid(&self) -> &str {
        &self.kid
    }

    fn public_jwk(&self) -> Jwk {
        self.jwk.clone()
    }

    fn sign<'a>(&'a self, message: &'a [u8]) -> SignFuture<'a> {
        Box::pin(std::future::ready(self.sign_now(message)))
    }
}

/// The signers of one issuer: one active signer that signs new tokens, and any number
/// of published-only signers whose public keys stay in the JWKS (a key being
/// pre-published before it becomes active, or a retired key whose tokens have not yet
/// expired). Or, with [`SignerSet::scheduled`], a [`KeyRing`] whose schedule decides
/// which key signs and which are published. Cheap to clone.
///
/// ```
/// use tokengate_issuer::{LocalSigner, Signer, SignerSet};
/// use tokengate_core::Algorithm;
/// let active = LocalSigner::generate(Algorithm::ES256)?;
/// let next = LocalSigner::generate(Algorithm::EdDSA)?;
/// let set = SignerSet::new(active).publish(next)?;
/// assert_eq!(set.jwks().keys.len(), 2);
/// assert_eq!(set.active().map(|s| s.alg()), Some(Algorithm::ES256));
/// # Ok::<(), tokengate_issuer::IssuerError>(())
/// ```
#[derive(Clone)]
pub struct SignerSet {
    keys: Keys,
}

#[derive(Clone)]
enum Keys {
    Fixed { active: Arc<dyn Signer>, published: Arc<[Arc<dyn Signer>]> },
    Scheduled(KeyRing),
}

impl fmt::Debug for SignerSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.keys {
            Keys::Fixed { active, published } => f
                .debug_struct("SignerSet")
                .field("active", &active.kid())
                .field("published", &published.iter().map(|s| s.kid()).collect::<Vec<_>>())
                .finish(),
            Keys::Scheduled(ring) => f.debug_tuple("SignerSet").field(ring).finish(),
        }
    }
}

impl From<KeyRing> for SignerSet {
    fn from(ring: KeyRing) -> SignerSet {
        SignerSet::scheduled(ring)
    }
}

impl SignerSet {
    /// A set whose only (and active) signer is `active`.
    pub fn new(active: impl Signer) -> SignerSet {
        SignerSet::from_shared(Arc::new(active))
    }

    /// Like [`SignerSet::new`] over a shared signer.
    ///
    /// A signer whose `public_jwk()` is a symmetric (`oct`) key is never published: the
    /// JWKS would hand out the secret. [`SignerSet::jwks`] leaves such keys out.
    pub fn from_shared(active: Arc<dyn Signer>) -> SignerSet {
        SignerSet { keys: Keys::Fixed { active, published: Arc::from(Vec::new()) } }
    }

    /// A set driven by a rotation schedule: the signing key and the JWKS follow the
    /// ring's clock (see [`KeyRing`]).
    pub fn scheduled(ring: KeyRing) -> SignerSet {
        SignerSet { keys: Keys::Scheduled(ring) }
    }

    /// The key ring behind a scheduled set.
    pub fn key_ring(&self) -> Option<&KeyRing> {
        match &self.keys {
            Keys::Scheduled(ring) => Some(ring),
            Keys::Fixed { .. } => None,
        }
    }

    /// Also publishes `signer`'s public key in the JWKS without signing with it.
    ///
    /// Errors when its `kid` is already in the set, or for a scheduled set (use
    /// [`KeyRing::schedule`] there).
    pub fn publish(self, signer: impl Signer) -> Result<SignerSet, IssuerError> {
        self.publish_shared(Arc::new(signer))
    }

    /// Like [`SignerSet::publish`] over a shared signer.
    pub fn publish_shared(self, signer: Arc<dyn Signer>) -> Result<SignerSet, IssuerError> {
        refuse_secret_jwk(signer.as_ref())?;
        if self.kids().iter().any(|kid| kid == signer.kid()) {
            return Err(IssuerError::Config(format!("duplicate kid {:?}", signer.kid())));
        }
        match self.keys {
            Keys::Fixed { active, published } => {
                let mut published = published.to_vec();
                published.push(signer);
                Ok(SignerSet { keys: Keys::Fixed { active, published: published.into() } })
            }
            Keys::Scheduled(_) => {
                Err(IssuerError::Config("a scheduled signer set publishes keys through its KeyRing".into()))
            }
        }
    }

    /// The signer new tokens are signed with now; `None` when a scheduled set has no key
    /// that may sign.
    pub fn active(&self) -> Option<Arc<dyn Signer>> {
        match &self.keys {
            Keys::Fixed { active, .. } => Some(Arc::clone(active)),
            Keys::Scheduled(ring) => ring.signer(),
        }
    }

    /// The signer for a token issued at `now` that expires at `exp`. A scheduled key
    /// never signs a token that outlives its publication.
    pub(crate) fn signer_for(&self, now: i64, exp: i64) -> Result<Arc<dyn Signer>, IssuerError> {
        match &self.keys {
            Keys::Fixed { active, .. } => Ok(Arc::clone(active)),
            Keys::Scheduled(ring) => {
                let (signer, schedule) =
                    ring.signer_entry(now).ok_or_else(|| IssuerError::Signing("no key may sign now".into()))?;
                if exp > schedule.retire_after {
                    return Err(IssuerError::InvalidRequest(format!(
                        "the token would expire at {exp}, after its key {:?} retires at {}",
                        signer.kid(),
                        schedule.retire_after
                    )));
                }
                Ok(signer)
            }
        }
    }

    /// The current time of the set: the ring's clock for a scheduled set, else the
    /// system clock.
    pub fn now(&self) -> i64 {
        match &self.keys {
            Keys::Fixed { .. } => tokengate_core::Clock::now(&tokengate_core::SystemClock),
            Keys::Scheduled(ring) => ring.clock().now(),
        }
    }

    /// The key ids of every signer (for a fixed set, the active one first).
    pub fn kids(&self) -> Vec<String> {
        match &self.keys {
            Keys::Fixed { active, published } => {
                std::iter::once(active).chain(published.iter()).map(|s| s.kid().to_owned()).collect()
            }
            Keys::Scheduled(ring) => ring.kids(),
        }
    }

    /// The public JWKS now: for a fixed set the active key first, then the
    /// published-only keys; for a scheduled set the keys its schedule publishes now.
    pub fn jwks(&self) -> JwkSet {
        match &self.keys {
            Keys::Fixed { active, published } => {
                let keys = std::iter::once(active)
                    .chain(published.iter())
                    .map(|s| s.public_jwk())
                    .filter(|jwk| !is_secret(jwk))
                    .collect();
                JwkSet { keys }
            }
            Keys::Scheduled(ring) => {
                let mut set = ring.jwks();
                set.keys.retain(|jwk| !is_secret(jwk));
                set
            }
        }
    }

    /// How long a client may cache the JWKS served now, at most `cap`: for a scheduled
    /// set, cut short at the next change of the schedule.
    pub fn cache_max_age(&self, cap: Duration) -> Duration {
        match &self.keys {
            Keys::Fixed { .. } => cap,
            Keys::Scheduled(ring) => ring.cache_max_age().min(cap),
        }
    }
}

/// Whether a JWK carries a secret: a symmetric key, or private members.
fn is_secret(jwk: &Jwk) -> bool {
    matches!(jwk.algorithm, tokengate_core::jwk::AlgorithmParameters::OctetKey(_))
}

/// Refuses to publish a signer whose public JWK would reveal a secret.
pub(crate) fn refuse_secret_jwk(signer: &dyn Signer) -> Result<(), IssuerError> {
    if is_secret(&signer.public_jwk()) {
        return Err(IssuerError::Config(format!(
            "signer {:?} has a symmetric key; it cannot be published",
            signer.kid()
        )));
    }
    Ok(())
}
