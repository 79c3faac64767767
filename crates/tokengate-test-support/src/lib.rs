//! Key fixtures and a token builder for tokengate's own tests. Not published.
//!
//! Every fixture is generated once per process, at first use, with aws-lc-rs: RSA-2048
//! (shared by the RS* and PS* fixtures), EC P-256 and P-384, Ed25519 and random HMAC
//! secrets of the hash size. Each exposes its public key as a JWK, PEM and DER, a
//! [`tokengate_core::Key`] pinned to its algorithm, and a signer over arbitrary bytes, so
//! tests can craft headers and claims that no well-behaved library would produce
//! (duplicate members, `crit`, `b64: false`, bad types, deep nesting).
//!
//! ```
//! use tokengate_test_support::{TokenBuilder, verifier};
//! use tokengate_core::Algorithm;
//!
//! let token = TokenBuilder::new(Algorithm::ES256).claim("scope", "read").sign();
//! let verified = verifier(Algorithm::ES256).build().unwrap().verify(&token).unwrap();
//! assert_eq!(verified.subject(), Some(tokengate_test_support::SUBJECT));
//! ```

// Test support panics on its own failures (key generation), never on test input.
#![allow(clippy::expect_used)]

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair};
use aws_lc_rs::{hmac, rsa};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Map, Value, json};
use tokengate_core::{Algorithm, Key, KeySet, Verifier, VerifierBuilder, algorithm_name};

pub mod redis_server;
pub use redis_server::RedisServer;

/// The issuer every builder token carries by default.
pub const ISSUER: &str = "https://issuer.tokengate.test";
/// The audience every builder token carries by default.
pub const AUDIENCE: &str = "orders-api";
/// The subject every builder token carries by default.
pub const SUBJECT: &str = "user-1234";

/// Every algorithm tokengate verifies, in a fixed order.
pub use tokengate_core::ALL_ALGORITHMS;

/// Encodes bytes as unpadded base64url.
pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The current time in seconds since the epoch.
pub fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Wraps DER in PEM armour with the given label.
pub fn pem(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    let mut rest = body.as_str();
    while !rest.is_empty() {
        let (line, tail) = rest.split_at(rest.len().min(64));
        out.push_str(line);
        out.push('\n');
        rest = tail;
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

// Fixtures live in statics; variant sizes do not matter.
#[allow(clippy::large_enum_variant)]
enum Signer {
    Hmac { key: hmac::Key, secret: Vec<u8> },
    Rsa(&'static RsaKeyPair),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

/// One key: its private half for signing, its public half in every format.
pub struct KeyFixture {
    alg: Algorithm,
    kid: String,
    signer: Signer,
    /// Public JWK members, without `kid`, `alg` and `use`.
    jwk_params: Map<String, Value>,
    /// SubjectPublicKeyInfo DER (empty for HMAC).
    spki: Vec<u8>,
    key: Key,
}

impl std::fmt::Debug for KeyFixture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyFixture").field("alg", &self.alg).field("kid", &self.kid).finish_non_exhaustive()
    }
}

fn rsa_pair(set: usize) -> &'static RsaKeyPair {
    static PAIRS: [OnceLock<RsaKeyPair>; 2] = [OnceLock::new(), OnceLock::new()];
    let slot = PAIRS.get(set).expect("two RSA key sets");
    slot.get_or_init(|| RsaKeyPair::generate(rsa::KeySize::Rsa2048).expect("RSA-2048 generation"))
}

/// Reads one DER TLV: (tag, content, rest). Enough for a PKCS#1 RSAPublicKey.
fn der_tlv(input: &[u8]) -> (u8, &[u8], &[u8]) {
    let (&tag, rest) = input.split_first().expect("DER tag");
    let (&first, rest) = rest.split_first().expect("DER length");
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        let (len_bytes, rest) = rest.split_at(n);
        (len_bytes.iter().fold(0usize, |acc, &b| (acc << 8) | usize::from(b)), rest)
    };
    let (content, rest) = rest.split_at(len);
    (tag, content, rest)
}

fn strip_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    bytes.get(start..).unwrap_or_default()
}

/// The modulus and exponent of an RSA public key given as PKCS#1 DER.
fn rsa_n_e(pkcs1: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let (_, seq, _) = der_tlv(pkcs1);
    let (_, n, rest) = der_tlv(seq);
    let (_, e, _) = der_tlv(rest);
    (strip_zeros(n).to_vec(), strip_zeros(e).to_vec())
}

fn index(alg: Algorithm) -> usize {
    ALL_ALGORITHMS.iter().position(|a| *a == alg).expect("a supported algorithm")
}

fn generate(alg: Algorithm, set: usize) -> KeyFixture {
    let kid = format!("{}-{}", algorithm_name(alg).to_ascii_lowercase(), set + 1);
    let mut jwk_params = Map::new();
    let (signer, spki) = match alg {
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
            let (hmac_alg, len) = match alg {
                Algorithm::HS384 => (hmac::HMAC_SHA384, 48),
                Algorithm::HS512 => (hmac::HMAC_SHA512, 64),
                _ => (hmac::HMAC_SHA256, 32),
            };
            let mut secret = vec![0u8; len];
            aws_lc_rs::rand::fill(&mut secret).expect("random secret");
            jwk_params.insert("kty".into(), "oct".into());
            jwk_params.insert("k".into(), b64(&secret).into());
            (Signer::Hmac { key: hmac::Key::new(hmac_alg, &secret), secret }, Vec::new())
        }
        Algorithm::ES256 | Algorithm::ES384 => {
            let (signing, crv) = if alg == Algorithm::ES256 {
                (&signature::ECDSA_P256_SHA256_FIXED_SIGNING, "P-256")
            } else {
                (&signature::ECDSA_P384_SHA384_FIXED_SIGNING, "P-384")
            };
            let pair = EcdsaKeyPair::generate(signing).expect("EC key generation");
            let point = pair.public_key().as_ref().to_vec();
            let coords = point.get(1..).expect("uncompressed point");
            let (x, y) = coords.split_at(coords.len() / 2);
            jwk_params.insert("kty".into(), "EC".into());
            jwk_params.insert("crv".into(), crv.into());
            jwk_params.insert("x".into(), b64(x).into());
            jwk_params.insert("y".into(), b64(y).into());
            let spki = pair.public_key().as_der().expect("EC SPKI").as_ref().to_vec();
            (Signer::Ec(pair), spki)
        }
        Algorithm::EdDSA => {
            let pair = Ed25519KeyPair::generate().expect("Ed25519 key generation");
            jwk_params.insert("kty".into(), "OKP".into());
            jwk_params.insert("crv".into(), "Ed25519".into());
            jwk_params.insert("x".into(), b64(pair.public_key().as_ref()).into());
            let spki = pair.public_key().as_der().expect("Ed25519 SPKI").as_ref().to_vec();
            (Signer::Ed(pair), spki)
        }
        _ => {
            let pair = rsa_pair(set);
            let (n, e) = rsa_n_e(pair.public_key().as_ref());
            jwk_params.insert("kty".into(), "RSA".into());
            jwk_params.insert("n".into(), b64(n).into());
            jwk_params.insert("e".into(), b64(e).into());
            let spki = pair.public_key().as_der().expect("RSA SPKI").as_ref().to_vec();
            (Signer::Rsa(pair), spki)
        }
    };
    let key = match &signer {
        Signer::Hmac { secret, .. } => Key::hmac(alg, secret),
        _ => Key::from_der(alg, &spki),
    }
    .expect("tokengate accepts the fixture key")
    .with_kid(kid.clone());
    KeyFixture { alg, kid, signer, jwk_params, spki, key }
}

/// The fixture for `alg` (generated on first use). RS* and PS* fixtures share one
/// RSA-2048 key pair; each fixture's kid is the lower-case algorithm name and `-1`.
pub fn fixture(alg: Algorithm) -> &'static KeyFixture {
    static SET: [OnceLock<KeyFixture>; 12] = [const { OnceLock::new() }; 12];
    let slot = SET.get(index(alg)).expect("fixture slot");
    slot.get_or_init(|| generate(alg, 0))
}

/// A second, different key of the same type and algorithm (kid ends in `-2`): for
/// "signed by another key" tests.
pub fn other_fixture(alg: Algorithm) -> &'static KeyFixture {
    static SET: [OnceLock<KeyFixture>; 12] = [const { OnceLock::new() }; 12];
    let slot = SET.get(index(alg)).expect("fixture slot");
    slot.get_or_init(|| generate(alg, 1))
}

impl KeyFixture {
    /// The algorithm this fixture signs with.
    pub fn alg(&self) -> Algorithm {
        self.alg
    }

    /// Its key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The tokengate key (public half, or the secret for HMAC), pinned and with the kid.
    pub fn key(&self) -> Key {
        self.key.clone()
    }

    /// A key set holding only this fixture's key.
    pub fn key_set(&self) -> KeySet {
        KeySet::new([self.key()]).expect("one key is a valid set")
    }

    /// The HMAC secret, for HS* fixtures.
    pub fn secret(&self) -> Option<&[u8]> {
        match &self.signer {
            Signer::Hmac { secret, .. } => Some(secret),
            _ => None,
        }
    }

    /// The public JWK with `kid`, `alg` and `use: sig` (for HMAC it holds the secret).
    pub fn jwk(&self) -> Value {
        let mut map = self.jwk_params.clone();
        map.insert("kid".into(), self.kid.clone().into());
        map.insert("alg".into(), algorithm_name(self.alg).into());
        map.insert("use".into(), "sig".into());
        Value::Object(map)
    }

    /// The public JWK members only: no `kid`, `alg` or `use`.
    pub fn bare_jwk(&self) -> Value {
        Value::Object(self.jwk_params.clone())
    }

    /// [`KeyFixture::jwk`] as JSON text.
    pub fn jwk_json(&self) -> String {
        self.jwk().to_string()
    }

    /// The public key as X.509 SubjectPublicKeyInfo DER (empty for HMAC).
    pub fn public_der(&self) -> &[u8] {
        &self.spki
    }

    /// The public key as `PUBLIC KEY` PEM (empty for HMAC).
    pub fn public_pem(&self) -> String {
        if self.spki.is_empty() { String::new() } else { pem("PUBLIC KEY", &self.spki) }
    }

    /// For RSA fixtures, the public key as PKCS#1 `RSA PUBLIC KEY` DER.
    pub fn rsa_pkcs1_der(&self) -> Option<Vec<u8>> {
        match &self.signer {
            Signer::Rsa(pair) => Some(pair.public_key().as_ref().to_vec()),
            _ => None,
        }
    }

    /// The private key as PKCS#8 `PRIVATE KEY` PEM (None for HMAC): for refusal tests.
    pub fn private_pem(&self) -> Option<String> {
        let der = match &self.signer {
            Signer::Hmac { .. } => return None,
            Signer::Rsa(pair) => {
                AsDer::<aws_lc_rs::encoding::Pkcs8V1Der<'static>>::as_der(*pair).expect("RSA PKCS#8").as_ref().to_vec()
            }
            Signer::Ec(pair) => pair.to_pkcs8v1().expect("EC PKCS#8").as_ref().to_vec(),
            Signer::Ed(pair) => pair.to_pkcs8v1().expect("Ed25519 PKCS#8").as_ref().to_vec(),
        };
        Some(pem("PRIVATE KEY", &der))
    }

    /// Signs `message` with this fixture's algorithm; returns the raw signature.
    pub fn sign_bytes(&self, message: &[u8]) -> Vec<u8> {
        match &self.signer {
            Signer::Hmac { key, .. } => hmac::sign(key, message).as_ref().to_vec(),
            Signer::Ec(pair) => pair.sign(&SystemRandom::new(), message).expect("ECDSA sign").as_ref().to_vec(),
            Signer::Ed(pair) => pair.sign(message).as_ref().to_vec(),
            Signer::Rsa(pair) => {
                let encoding: &'static dyn signature::RsaEncoding = match self.alg {
                    Algorithm::RS384 => &signature::RSA_PKCS1_SHA384,
                    Algorithm::RS512 => &signature::RSA_PKCS1_SHA512,
                    Algorithm::PS256 => &signature::RSA_PSS_SHA256,
                    Algorithm::PS384 => &signature::RSA_PSS_SHA384,
                    Algorithm::PS512 => &signature::RSA_PSS_SHA512,
                    _ => &signature::RSA_PKCS1_SHA256,
                };
                let mut sig = vec![0u8; pair.public_modulus_len()];
                pair.sign(encoding, &SystemRandom::new(), message, &mut sig).expect("RSA sign");
                sig
            }
        }
    }

    /// Signs an already-encoded signing input (`header.payload`, taken verbatim) and
    /// returns the whole compact token.
    pub fn sign_compact(&self, header_b64: &str, payload_b64: &str) -> String {
        let input = format!("{header_b64}.{payload_b64}");
        let sig = b64(self.sign_bytes(input.as_bytes()));
        format!("{input}.{sig}")
    }

    /// Encodes `header_json` and `claims_json` byte for byte and signs them.
    pub fn sign_raw(&self, header_json: &[u8], claims_json: &[u8]) -> String {
        self.sign_compact(&b64(header_json), &b64(claims_json))
    }

    /// A token builder signing with this fixture.
    pub fn token(&'static self) -> TokenBuilder {
        TokenBuilder::with_fixture(self, now())
    }
}

/// Signs arbitrary header and claims bytes with the fixture key of `alg`, whatever
/// they contain: the header's own `alg` is not consulted.
pub fn sign_raw(alg: Algorithm, header_json: &[u8], claims_json: &[u8]) -> String {
    fixture(alg).sign_raw(header_json, claims_json)
}

/// A verifier builder for the fixture of `alg`: its key set, [`ISSUER`], [`AUDIENCE`] and
/// an allowlist of `alg` alone. Add a clock or options, then `build()`.
pub fn verifier(alg: Algorithm) -> VerifierBuilder {
    Verifier::builder(fixture(alg).key_set()).issuer(ISSUER).audience(AUDIENCE).algorithms([alg])
}

static JTI: AtomicU64 = AtomicU64::new(1);

/// Builds a signed token with sane defaults that each test overrides.
///
/// Header: `alg`, `typ: "JWT"` and the fixture's `kid`. Claims: `iss` = [`ISSUER`],
/// `sub` = [`SUBJECT`], `aud` = [`AUDIENCE`], `iat` = `nbf` = now, `exp` = now + 300 and
/// a unique `jti`.
#[derive(Debug, Clone)]
pub struct TokenBuilder {
    fixture: &'static KeyFixture,
    header: Map<String, Value>,
    claims: Map<String, Value>,
}

impl TokenBuilder {
    /// A token for the fixture of `alg`, issued now.
    pub fn new(alg: Algorithm) -> Self {
        TokenBuilder::with_fixture(fixture(alg), now())
    }

    /// A token for the fixture of `alg`, issued at `now` (for a [`tokengate_core::FixedClock`]).
    pub fn at(alg: Algorithm, now: i64) -> Self {
        TokenBuilder::with_fixture(fixture(alg), now)
    }

    /// A token signed by `fixture`, issued at `now`.
    pub fn with_fixture(fixture: &'static KeyFixture, now: i64) -> Self {
        let header = json!({"alg": algorithm_name(fixture.alg()), "typ": "JWT", "kid": fixture.kid()});
        let claims = json!({
            "iss": ISSUER,
            "sub": SUBJECT,
            "aud": AUDIENCE,
            "iat": now,
            "nbf": now,
            "exp": now + 300,
            "jti": format!("jti-{}", JTI.fetch_add(1, Ordering::Relaxed)),
        });
        let (Value::Object(header), Value::Object(claims)) = (header, claims) else {
            unreachable!("json! objects are objects")
        };
        TokenBuilder { fixture, header, claims }
    }

    /// Sign with another fixture (the header keeps its `alg` and `kid`).
    pub fn signed_by(mut self, fixture: &'static KeyFixture) -> Self {
        self.fixture = fixture;
        self
    }

    /// Sets a header member.
    pub fn header(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.header.insert(name.to_owned(), value.into());
        self
    }

    /// Removes a header member.
    pub fn without_header(mut self, name: &str) -> Self {
        self.header.remove(name);
        self
    }

    /// Sets a claim.
    pub fn claim(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.claims.insert(name.to_owned(), value.into());
        self
    }

    /// Removes a claim.
    pub fn without(mut self, name: &str) -> Self {
        self.claims.remove(name);
        self
    }

    /// The header as JSON text.
    pub fn header_json(&self) -> String {
        Value::Object(self.header.clone()).to_string()
    }

    /// The claims as JSON text.
    pub fn claims_json(&self) -> String {
        Value::Object(self.claims.clone()).to_string()
    }

    /// Encodes and signs the token.
    pub fn sign(&self) -> String {
        self.fixture.sign_raw(self.header_json().as_bytes(), self.claims_json().as_bytes())
    }
}
