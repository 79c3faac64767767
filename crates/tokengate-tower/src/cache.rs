//! The verified-token cache (feature `cache`): a repeated token skips the signature check.
//!
//! Enable it with one builder call,
//! [`AuthenticatorBuilder::cache_verified_tokens`](crate::AuthenticatorBuilder::cache_verified_tokens)
//! (or [`JwtAuthLayer::cache_verified_tokens`](crate::JwtAuthLayer::cache_verified_tokens)).
//!
//! - **Key**: HMAC-SHA256 of the whole token under a random key made when the cache is
//!   created (aws-lc-rs). The token itself is never stored, and the key cannot be
//!   computed without that secret, so a forged token cannot be made to collide with a
//!   cached one.
//! - **Bound**: at most `max_entries` entries (least recently used go first).
//! - **Bound to its verifier**: an entry is keyed by the token's HMAC *and* the very
//!   [`Verifier`] that accepted it (compared with [`Verifier::ptr_eq`]), and is a hit
//!   only for a layer that has that same verifier. A cache shared by several layers
//!   (say one for `aud=web` and a stricter one for `aud=admin-api`) never lets a token
//!   accepted by one layer into another whose verifiers did not accept it.
//! - **Lifetime**: an entry lives until the token's `exp` (tokens without `exp` are never
//!   cached), never past `iat` + the verifier's [`max_age`](Verifier::max_age) when it has
//!   one, and at most [`DEFAULT_MAX_TTL`] (see [`VerifiedTokenCache::with_max_ttl`]).
//! - **Validity on every hit**: the cached token's key is resolved again (same `kid`,
//!   `alg` and `iss`) and must still be the very key that verified it (same
//!   [`Key::identity`](tokengate_core::Key::identity), not merely the same key-set
//!   generation, which is 0 for lone keys and custom resolvers). When the key set rotates,
//!   a key is removed or replaced behind its `kid` (a leaked secret rotated), or its `kid`
//!   is denied, the entry dies on its next hit. `exp` and the `max_age` bound are checked with the
//!   verifier's clock.
//! - Only the signature and registered-claim checks are skipped: everything after the
//!   layer (revocation, policies, scopes) still runs on every request.
//!
//! Only accepted tokens are cached, never refusals.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lc_rs::hmac;
use tokengate_core::{KeyQuery, Verified, Verifier};

/// The longest an entry lives, whatever the token's `exp`: 5 minutes.
pub const DEFAULT_MAX_TTL: Duration = Duration::from_secs(300);

type Mac = [u8; 32];

/// An entry is the verification of one token (by its MAC) by one verifier (by identity,
/// [`Verifier::ptr_eq`]): the same token accepted by two verifiers is two entries, and a
/// layer only ever finds the entries of its own verifiers.
#[derive(Clone)]
struct CacheKey {
    mac: Mac,
    verifier: Verifier,
}

impl PartialEq for CacheKey {
    fn eq(&self, other: &Self) -> bool {
        self.mac == other.mac && self.verifier.ptr_eq(&other.verifier)
    }
}

impl Eq for CacheKey {}

impl Hash for CacheKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Consistent with `eq`: equal keys have equal MACs.
        self.mac.hash(state);
    }
}

#[derive(Clone)]
struct Entry {
    verified: Arc<Verified>,
    /// The entry is dead from this instant on (verifier clock, seconds): the earliest of
    /// `exp` and `iat + max_age`.
    not_after: i64,
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

    fn mac(&self, token: &str) -> Option<Mac> {
        let key = self.inner.key.as_ref()?;
        Mac::try_from(hmac::sign(key, token.as_bytes()).as_ref()).ok()
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

    /// The cached verification of `token` by one of `verifiers` (tried in order), if
    /// still valid. Entries of other verifiers are never seen.
    pub(crate) fn get(&self, token: &str, verifiers: &[Verifier]) -> Option<Arc<Verified>> {
        let mac = self.mac(token)?;
        for verifier in verifiers {
            let key = CacheKey { mac, verifier: verifier.clone() };
            let Some(entry) = self.inner.entries.get(&key) else { continue };
            if still_valid(&entry, verifier) {
                return Some(entry.verified);
            }
            self.inner.entries.invalidate(&key);
        }
        None
    }

    /// Remembers that `verifier` accepted `token`.
    pub(crate) fn insert(&self, token: &str, verified: &Arc<Verified>, verifier: &Verifier) {
        let Some(not_after) = not_after(verified, verifier) else { return };
        let left = not_after.saturating_sub(verifier.now());
        let Ok(left) = u64::try_from(left) else { return };
        if left == 0 || verified.header().is_none() {
            return;
        }
        let Some(mac) = self.mac(token) else { return };
        let ttl = Duration::from_secs(left).min(self.inner.max_ttl);
        let entry = Entry { verified: Arc::clone(verified), not_after, ttl };
        self.inner.entries.insert(CacheKey { mac, verifier: verifier.clone() }, entry);
    }
}

/// Whether the verification that `verifier` made still holds: before `exp` and the
/// `max_age` bound, and the key still the very key (by identity) that verified the token.
fn still_valid(entry: &Entry, verifier: &Verifier) -> bool {
    if verifier.now() >= entry.not_after {
        return false;
    }
    let verified = &entry.verified;
    let Some(header) = verified.header() else { return false };
    let query = KeyQuery { kid: verified.key_id(), alg: header.alg(), issuer: verified.issuer() };
    match verifier.resolve_key(&query) {
        Ok(key) => key.identity() == verified.key_identity(),
        Err(_) => false,
    }
}

/// When a cached verification of `verified` dies: at `exp`, and no later than `iat +
/// max_age` when the verifier bounds the age (`None`: not cacheable).
fn not_after(verified: &Verified, verifier: &Verifier) -> Option<i64> {
    let exp = verified.expires_at()?;
    match verifier.max_age() {
        None => Some(exp),
        Some(max_age) => {
            let iat = verified.registered().iat?;
            let max_age = i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX);
            Some(exp.min(iat.saturating_add(max_age)))
        }
    }
}
