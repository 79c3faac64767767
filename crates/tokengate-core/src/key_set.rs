//! [`KeySet`]: an immutable set of keys indexed by `kid`, and the [`KeyResolver`] trait.

use std::collections::HashMap;
use std::future::Future;
use std::hash::{BuildHasherDefault, Hasher};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::Algorithm;
use crate::error::{AuthError, ConfigError, ErrorKind};
use crate::key::Key;

/// What a resolver is asked: the header's `kid` and `alg`, and the token's unverified
/// `iss` (only ever used to pick keys; it is matched exactly after the signature).
#[derive(Debug, Clone, Copy)]
pub struct KeyQuery<'a> {
    /// The header's `kid`.
    pub kid: Option<&'a str>,
    /// The header's `alg` (already checked against the allowlist).
    pub alg: Algorithm,
    /// The claims' `iss`, not yet verified.
    pub issuer: Option<&'a str>,
}

/// A future that completes when a key refresh attempt has finished.
pub type RefreshFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// Finds the key for a token. Implemented by [`KeySet`] (static keys) and by the JWKS
/// cache (keys that rotate).
///
/// `resolve` runs on the request path: it must not block or do I/O.
pub trait KeyResolver: Send + Sync + 'static {
    /// The key for this header, or [`ErrorKind::UnknownKey`],
    /// [`ErrorKind::KeysUnavailable`] or [`ErrorKind::InvalidIssuer`].
    fn resolve(&self, query: &KeyQuery<'_>) -> Result<Key, AuthError>;

    /// Called after `resolve` said [`ErrorKind::UnknownKey`]: a resolver that can fetch
    /// new keys returns a future that refreshes them (coalesced, rate limited), after
    /// which the verification is retried once. The default refreshes nothing.
    fn refresh_unknown(&self, query: &KeyQuery<'_>) -> Option<RefreshFuture> {
        let _ = query;
        None
    }
}

impl<R: KeyResolver + ?Sized> KeyResolver for Arc<R> {
    fn resolve(&self, query: &KeyQuery<'_>) -> Result<Key, AuthError> {
        (**self).resolve(query)
    }
    fn refresh_unknown(&self, query: &KeyQuery<'_>) -> Option<RefreshFuture> {
        (**self).refresh_unknown(query)
    }
}

static GENERATION: AtomicU64 = AtomicU64::new(1);

/// FNV-1a, for the `kid` index. A `kid` is short, and SipHash's flooding resistance buys
/// nothing here: the index is built from the issuer's keys, and a token's `kid` is only
/// ever looked up, never inserted.
#[derive(Clone, Copy)]
struct KidHasher(u64);

impl Default for KidHasher {
    fn default() -> Self {
        KidHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for KidHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

type KidMap = HashMap<String, Key, BuildHasherDefault<KidHasher>>;

/// An immutable set of keys, indexed by `kid`, with a process-unique generation number.
///
/// ```
/// use tokengate_core::{Algorithm, Key, KeySet};
/// let a = Key::hmac(Algorithm::HS256, &[1; 32]).unwrap().with_kid("a");
/// let b = Key::hmac(Algorithm::HS256, &[2; 32]).unwrap().with_kid("a");
/// assert!(KeySet::new([a.clone()]).is_ok());
/// assert!(KeySet::new([a, b]).is_err()); // duplicate kid
/// ```
#[derive(Clone, Debug)]
pub struct KeySet {
    by_kid: KidMap,
    without_kid: Vec<Key>,
    generation: u64,
}

/// A key that was left out of a JWKS, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedKey {
    /// Its `kid`, when it had a readable one.
    pub kid: Option<String>,
    /// Why it was left out.
    pub reason: ConfigError,
}

impl KeySet {
    /// A set of these keys. Two keys with the same `kid` are an error.
    pub fn new(keys: impl IntoIterator<Item = Key>) -> Result<KeySet, ConfigError> {
        let generation = GENERATION.fetch_add(1, Ordering::Relaxed);
        let mut by_kid = KidMap::default();
        let mut without_kid = Vec::new();
        for key in keys {
            let key = key.with_generation(generation);
            match key.kid() {
                Some(kid) => {
                    let kid = kid.to_owned();
                    if by_kid.contains_key(&kid) {
                        return Err(ConfigError::DuplicateKid(kid));
                    }
                    by_kid.insert(kid, key);
                }
                None => without_kid.push(key),
            }
        }
        Ok(KeySet { by_kid, without_kid, generation })
    }

    /// An empty set.
    pub fn empty() -> KeySet {
        KeySet {
            by_kid: KidMap::default(),
            without_kid: Vec::new(),
            generation: GENERATION.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// Reads a JWKS document (`{"keys": [...]}`). Keys that cannot be used (encryption
    /// keys, weak keys, unsupported types, malformed members) are skipped and reported;
    /// a document that is not a JWKS, or repeats a `kid`, is an error.
    pub fn from_jwks_json(json: &[u8]) -> Result<(KeySet, Vec<SkippedKey>), ConfigError> {
        #[derive(serde::Deserialize)]
        struct Doc {
            keys: Vec<serde_json::Value>,
        }
        crate::json::check_strict(json)
            .map_err(|e| ConfigError::InvalidKey(format!("JWKS: {}", crate::json::strict_problem(&e))))?;
        let doc: Doc = serde_json::from_slice(json)
            .map_err(|e| ConfigError::InvalidKey(format!("JWKS: {}", crate::json::describe_error(&e))))?;
        let mut keys = Vec::with_capacity(doc.keys.len());
        let mut skipped = Vec::new();
        for value in doc.keys {
            let kid = value.get("kid").and_then(|k| k.as_str()).map(str::to_owned);
            let parsed = Key::from_jwk_value(value);
            match parsed {
                Ok(key) => keys.push(key),
                Err(reason) => skipped.push(SkippedKey { kid, reason }),
            }
        }
        Ok((KeySet::new(keys)?, skipped))
    }

    /// The same keys, each bound to `issuer` (see [`Key::bind_issuer`]), under a new
    /// generation.
    pub fn bind_issuer(&self, issuer: &str) -> KeySet {
        let issuer: Arc<str> = Arc::from(issuer);
        let keys = self.keys().map(|k| k.clone().bind_issuer(Arc::clone(&issuer)));
        // Keys came from a set, so kids are unique: this cannot fail.
        KeySet::new(keys.collect::<Vec<_>>()).unwrap_or_else(|_| KeySet::empty())
    }

    /// The same keys without `kid`, under a new generation.
    pub fn without(&self, kid: &str) -> KeySet {
        let keys: Vec<Key> = self.keys().filter(|k| k.kid() != Some(kid)).cloned().collect();
        KeySet::new(keys).unwrap_or_else(|_| KeySet::empty())
    }

    /// The generation number: unique per set in this process.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The key with this `kid`.
    pub fn get(&self, kid: &str) -> Option<&Key> {
        self.by_kid.get(kid)
    }

    /// All keys.
    pub fn keys(&self) -> impl Iterator<Item = &Key> {
        self.by_kid.values().chain(self.without_kid.iter())
    }

    /// All key ids.
    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.by_kid.keys().map(String::as_str)
    }

    /// The number of keys.
    pub fn len(&self) -> usize {
        self.by_kid.len() + self.without_kid.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Finds the key for a header: by `kid` when there is one; without a `kid`, the only
    /// key of the header's algorithm, if there is exactly one.
    pub fn find(&self, kid: Option<&str>, alg: Algorithm) -> Result<&Key, AuthError> {
        match kid {
            Some(kid) => self.by_kid.get(kid).ok_or_else(|| AuthError::new(ErrorKind::UnknownKey)),
            None => {
                let mut candidates = self.keys().filter(|k| k.algorithm() == alg);
                match (candidates.next(), candidates.next()) {
                    (Some(key), None) => Ok(key),
                    (None, _) => Err(AuthError::with_detail(ErrorKind::UnknownKey, "no key for the token's alg")),
                    (Some(_), Some(_)) => {
                        Err(AuthError::with_detail(ErrorKind::UnknownKey, "token has no kid and several keys fit"))
                    }
                }
            }
        }
    }
}

impl KeyResolver for KeySet {
    fn resolve(&self, query: &KeyQuery<'_>) -> Result<Key, AuthError> {
        self.find(query.kid, query.alg).cloned()
    }
}

impl KeyResolver for Key {
    fn resolve(&self, query: &KeyQuery<'_>) -> Result<Key, AuthError> {
        match (query.kid, self.kid()) {
            (Some(a), Some(b)) if a != b => Err(AuthError::new(ErrorKind::UnknownKey)),
            _ => Ok(self.clone()),
        }
    }
}
