//! Key fixtures and a token builder for tokengate's own tests. Not published.
//!
//! Fixture keys are fixed test keys (in `keys/`, PEM): RSA-2048 (shared by the RS* and
//! PS* fixtures), EC P-256 and P-384, Ed25519, and fixed HMAC secrets of the hash size;
//! two of each (see [`other_fixture`]). They are parsed once per process, at first use.
//! Signing goes through jsonwebtoken's provider for the crypto backend this crate is
//! built with (feature `aws-lc-rs`, the default, or `rust-crypto`), so the suites that
//! use these fixtures run on either backend. Each exposes its public key as a JWK, PEM and DER, a
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

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::EncodingKey;
use jsonwebtoken::crypto::CryptoProvider;
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

/// The fixture keys: PKCS#8 private key and SubjectPublicKeyInfo, one file per key,
/// generated once for these tests (never use them anywhere else). Index: key set.
const RSA_KEYS: [&str; 2] = [include_str!("../keys/rsa-1.pem"), include_str!("../keys/rsa-2.pem")];
const P256_KEYS: [&str; 2] = [include_str!("../keys/p256-1.pem"), include_str!("../keys/p256-2.pem")];
const P384_KEYS: [&str; 2] = [include_str!("../keys/p384-1.pem"), include_str!("../keys/p384-2.pem")];
const ED25519_KEYS: [&str; 2] = [include_str!("../keys/ed25519-1.pem"), include_str!("../keys/ed25519-2.pem")];

/// The jsonwebtoken crypto provider of the backend tokengate-core is built with
/// (aws-lc-rs when both are on, as in core), named explicitly: with both jsonwebtoken
/// features enabled its process default is ambiguous.
#[cfg(feature = "aws-lc-rs")]
fn provider() -> &'static CryptoProvider {
    &jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER
}

#[cfg(all(feature = "rust-crypto", not(feature = "aws-lc-rs")))]
fn provider() -> &'static CryptoProvider {
    &jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER
}

#[cfg(not(any(feature = "aws-lc-rs", feature = "rust-crypto")))]
compile_error!("tokengate-test-support needs a backend: enable `aws-lc-rs` (default) or `rust-crypto`");

/// One key: its private half for signing, its public half in every format.
pub struct KeyFixture {
    alg: Algorithm,
    kid: String,
    /// The private key (or HMAC secret) as jsonwebtoken's signing providers take it.
    signing: EncodingKey,
    /// The HMAC secret, for HS* fixtures.
    secret: Option<Vec<u8>>,
    /// PKCS#8 private key DER (empty for HMAC).
    pkcs8: Vec<u8>,
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

/// Reads one DER TLV: (tag, content, rest). Enough for PKCS#8, SPKI and PKCS#1.
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

/// The key inside a SubjectPublicKeyInfo: the BIT STRING's bytes (a PKCS#1 public key,
/// an uncompressed EC point or the 32 Ed25519 bytes).
fn spki_key(spki: &[u8]) -> &[u8] {
    let (_, seq, _) = der_tlv(spki);
    let (_, _alg_id, rest) = der_tlv(seq);
    let (_, bits, _) = der_tlv(rest);
    bits.get(1..).expect("BIT STRING")
}

/// The key inside a PKCS#8 PrivateKeyInfo: for RSA, the PKCS#1 `RSAPrivateKey` DER.
fn pkcs8_key(pkcs8: &[u8]) -> &[u8] {
    let (_, seq, _) = der_tlv(pkcs8);
    let (_, _version, rest) = der_tlv(seq);
    let (_, _alg_id, rest) = der_tlv(rest);
    let (_, key, _) = der_tlv(rest);
    key
}

/// The DER of the PEM block labelled `label` in `text`.
fn pem_block(text: &str, label: &str) -> Vec<u8> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let body = text.split_once(&begin).and_then(|(_, rest)| rest.split_once(&end)).expect("PEM block").0;
    let body: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    STANDARD.decode(body).expect("PEM base64")
}

fn index(alg: Algorithm) -> usize {
    ALL_ALGORITHMS.iter().position(|a| *a == alg).expect("a supported algorithm")
}

/// A fixed HMAC secret of the hash size, different for each algorithm and key set.
fn hmac_secret(alg: Algorithm, set: usize) -> Vec<u8> {
    let len = tokengate_core::min_hmac_len(alg);
    let seed = (index(alg) * 2 + set) as u8;
    (0..len).map(|i| (i as u8).wrapping_mul(167).wrapping_add(seed.wrapping_mul(59)) ^ 0x5c).collect()
}

fn generate(alg: Algorithm, set: usize) -> KeyFixture {
    let kid = format!("{}-{}", algorithm_name(alg).to_ascii_lowercase(), set + 1);
    let mut jwk_params = Map::new();
    let pick = |keys: [&'static str; 2]| *keys.get(set).expect("two key sets");
    let (signing, secret, pkcs8, spki) = match alg {
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
            let secret = hmac_secret(alg, set);
            jwk_params.insert("kty".into(), "oct".into());
            jwk_params.insert("k".into(), b64(&secret).into());
            (EncodingKey::from_secret(&secret).expect("HMAC secret"), Some(secret), Vec::new(), Vec::new())
        }
        Algorithm::ES256 | Algorithm::ES384 => {
            let (text, crv) =
                if alg == Algorithm::ES256 { (pick(P256_KEYS), "P-256") } else { (pick(P384_KEYS), "P-384") };
            let (pkcs8, spki) = (pem_block(text, "PRIVATE KEY"), pem_block(text, "PUBLIC KEY"));
            let coords = spki_key(&spki).get(1..).expect("uncompressed point");
            let (x, y) = coords.split_at(coords.len() / 2);
            jwk_params.insert("kty".into(), "EC".into());
            jwk_params.insert("crv".into(), crv.into());
            jwk_params.insert("x".into(), b64(x).into());
            jwk_params.insert("y".into(), b64(y).into());
            (EncodingKey::from_ec_der(&pkcs8), None, pkcs8, spki)
        }
        Algorithm::EdDSA => {
            let text = pick(ED25519_KEYS);
            let (pkcs8, spki) = (pem_block(text, "PRIVATE KEY"), pem_block(text, "PUBLIC KEY"));
            jwk_params.insert("kty".into(), "OKP".into());
            jwk_params.insert("crv".into(), "Ed25519".into());
            jwk_params.insert("x".into(), b64(spki_key(&spki)).into());
            (EncodingKey::from_ed_der(&pkcs8), None, pkcs8, spki)
        }
        _ => {
            let text = pick(RSA_KEYS);
            let (pkcs8, spki) = (pem_block(text, "PRIVATE KEY"), pem_block(text, "PUBLIC KEY"));
            let (n, e) = rsa_n_e(spki_key(&spki));
            jwk_params.insert("kty".into(), "RSA".into());
            jwk_params.insert("n".into(), b64(n).into());
            jwk_params.insert("e".into(), b64(e).into());
            (EncodingKey::from_rsa_der(pkcs8_key(&pkcs8)), None, pkcs8, spki)
        }
    };
    let key = match &secret {
        Some(secret) => Key::hmac(alg, secret),
        None => Key::from_der(alg, &spki),
    }
    .expect("tokengate accepts the fixture key")
    .with_kid(kid.clone());
    KeyFixture { alg, kid, signing, secret, pkcs8, jwk_params, spki, key }
}

/// Signs `message` with `key` for `alg` through the backend's provider.
fn provider_sign(alg: Algorithm, key: &EncodingKey, message: &[u8]) -> Vec<u8> {
    let signer = (provider().signer_factory)(&alg, key).expect("a signer for the fixture key");
    signer.try_sign(message).expect("signing")
}

/// HMAC of `message` under any `secret`, even an empty one (which jsonwebtoken refuses as
/// a key): an attacker's forgery. A key shorter than the hash block is zero-padded to the
/// block (RFC 2104), so an empty secret is a block of zeros.
pub fn sign_hmac(alg: Algorithm, secret: &[u8], message: &[u8]) -> Vec<u8> {
    let block = if alg == Algorithm::HS256 { 64 } else { 128 };
    let secret = if secret.is_empty() { vec![0u8; block] } else { secret.to_vec() };
    provider_sign(alg, &EncodingKey::from_secret(&secret).expect("a non-empty secret"), message)
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
        self.secret.as_deref()
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
        let rsa = !self.spki.is_empty() && self.jwk_params.get("kty").and_then(Value::as_str) == Some("RSA");
        rsa.then(|| spki_key(&self.spki).to_vec())
    }

    /// The private key as PKCS#8 `PRIVATE KEY` PEM (None for HMAC): for refusal tests.
    pub fn private_pem(&self) -> Option<String> {
        (!self.pkcs8.is_empty()).then(|| pem("PRIVATE KEY", &self.pkcs8))
    }

    /// Signs `message` with this fixture's algorithm; returns the raw signature.
    pub fn sign_bytes(&self, message: &[u8]) -> Vec<u8> {
        provider_sign(self.alg, &self.signing, message)
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
