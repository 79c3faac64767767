//! The verified-token cache (feature `cache`): a repeated token skips the signature check.
//!
//! Enable it with one builder call,
//! [`JwtAuthLayer::cache_verified_tokens`](crate::JwtAuthLayer::cache_verified_tokens).
//!
//! - **Key**: HMAC-SHA256 of the whole token under a random key made when the cache is
//!   created (aws-lc-rs). The token itself is never stored, and the key cannot be
//!   computed without that secret, so a forged token cannot be made to collide with a
//!   cached one.
//! - **Bound**: at most `max_entries` entries (least recently used go first).
//! - **Lifetime**: an entry lives until the token's `exp` (tokens without `exp` are never
//!   cached), and at most [`DEFAULT_MAX_TTL`] (see [`VerifiedTokenCache::with_max_ttl`];
//!   keep it below a verifier's `max_age` when you use one).
//! - **Validity on every hit**: the cached token's key is resolved again (same `kid`,
//!   `alg` and `iss`) and must still be the very key that verified it (same key-set
//!   generation). When the key set rotates, a key is removed or its `kid` is denied, the
//!   entry dies on its next hit. `exp` is checked with the verifier's clock.
//! - Only the signature and registered-claim checks are skipped: everything after the
//!   layer (revocation, policies, scopes) still runs on every request.
//!
//! Only accepted tokens are cached, never refusals.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lc_rs::hmac;
use tokengate_core::{KeyQuery, Verified, Verifier};

/// The longest an entry lives, whatever the token's `exp`: 5 minutes.
pub const DEFAULT_MAX_TTL: Duration = Duration::from_secs(300);

type CacheKey = [u8; 32];

#[derive(Clone)]
struct Entry {
    verified: Arc<Verified>,
    verifier: usize,
    expires_at: i64,
    ttl: Duration,
}

struct UntilExp;

impl moka::Expiry<CacheKey, Entry> for UntilExp {
    fn expire_after_create(&self, _key: &CacheKey, value: &Entry, _created_at: Instant) -> Option<Duration> {
        Some(value.ttl)
    }
}

/// A bounded cache of verified tokens. Cheap to clone (clones share the entries).
#[derive(Clone)]
pub struct VerifiedTokenCache {
    inner: Arc<Inner>,
}

struct Inner {
    key: Option<hmac::Key>,
    entries: moka::sync::Cache<CacheKey, Entry>,
    max_ttl: Duration,
}

impl fmt::Debug for VerifiedTokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedTokenCache")
            .field("entries", &self.inner.entries.entry_count())
            .field("max_entries", &self.inner.entries.policy().max_capacity())
            .field("max_ttl", &self.inner.max_ttl)
            .finish()
    }
}

impl VerifiedTokenCache {
    /// A cache of at most `max_entries` tokens, each kept at most [`DEFAULT_MAX_TTL`].
    pub fn new(max_entries: u64) -> Self {
        VerifiedTokenCache::with_max_ttl(max_entries, DEFAULT_MAX_TTL)
    }

    /// A cache of at most `max_entries` tokens, each kept at most `max_ttl` (and never
    /// past its `exp`).
    pub fn with_max_ttl(max_entries: u64, max_ttl: Duration) -> Self {
        let key = hmac::Key::generate(hmac::HMAC_SHA256, &aws_lc_rs::rand::SystemRandom::new()).ok();
        if key.is_none() {
            tracing::error!("tokengate: no randomness for the verified-token cache key; the cache is off");
        }
        let entries = moka::sync::Cache::builder().max_capacity(max_entries).expire_after(UntilExp).build();
        VerifiedTokenCache { inner: Arc::new(Inner { key, entries, max_ttl }) }
    }

    fn key(&self, token: &str) -> Option<CacheKey> {
        let key = self.inner.key.as_ref()?;
        CacheKey::try_from(hmac::sign(key, token.as_bytes()).as_ref()).ok()
    }

    /// The number of entries (approximate: eviction runs in the background of calls).
    pub fn entry_count(&self) -> u64 {
        self.inner.entries.run_pending_tasks();
        self.inner.entries.entry_count()
    }

    /// Drops every entry.
    pub fn invalidate_all(&self) {
        self.inner.entries.invalidate_all();
    }

    /// The cached verification of `token`, if still valid for `verifiers`.
    pub(crate) fn get(&self, token: &str, verifiers: &[Verifier]) -> Option<Arc<Verified>> {
        let key = self.key(token)?;
        let entry = self.inner.entries.get(&key)?;
        if self.still_valid(&entry, verifiers) {
            Some(entry.verified)
        } else {
            self.inner.entries.invalidate(&key);
            None
        }
    }

    fn still_valid(&self, entry: &Entry, verifiers: &[Verifier]) -> bool {
        let Some(verifier) = verifiers.get(entry.verifier) else { return false };
        if verifier.clock().now() >= entry.expires_at {
            return false;
        }
        let verified = &entry.verified;
        let Some(header) = verified.header() else { return false };
        let query = KeyQuery { kid: verified.key_id(), alg: header.alg(), issuer: verified.issuer() };
        match verifier.resolver().resolve(&query) {
            Ok(key) => key.generation() == verified.key_generation(),
            Err(_) => false,
        }
    }

    /// Remembers that `verifiers[index]` accepted `token`.
    pub(crate) fn insert(&self, token: &str, index: usize, verified: &Arc<Verified>, verifier: Option<&Verifier>) {
        let (Some(exp), Some(verifier)) = (verified.expires_at(), verifier) else { return };
        let left = exp.saturating_sub(verifier.clock().now());
        let Ok(left) = u64::try_from(left) else { return };
        if left == 0 || verified.header().is_none() {
            return;
        }
        let Some(key) = self.key(token) else { return };
        let ttl = Duration::from_secs(left).min(self.inner.max_ttl);
        let entry = Entry { verified: Arc::clone(verified), verifier: index, expires_at: exp, ttl };
        self.inner.entries.insert(key, entry);
    }
}
