//! The answer cache: introspection results by HMAC of the token, with single-flight.
//!
//! - **Key**: HMAC-SHA256 of the token under a random key made when the cache is created
//!   (aws-lc-rs), as in tokengate-tower's verified-token cache. The token itself is never
//!   stored, and the key cannot be computed without that secret.
//! - **Positive answers** live until the token's `exp` or the configured TTL, whichever
//!   comes first; **definitive refusals** (inactive, wrong audience or issuer, expired)
//!   for the short negative TTL; **unavailability** is never cached (the next request asks
//!   again).
//! - **Single-flight**: concurrent misses for one token wait for one call (moka's
//!   `try_get_with`); a flood of one unknown token makes one request to the server.
//! - Expiry is judged twice: by moka in wall time, and on every hit by the introspector's
//!   [`Clock`](tokengate_core::Clock), so tests move time without sleeping.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lc_rs::hmac;
use tokengate_core::{AuthError, ErrorKind};

use crate::response::Answer;

/// The MAC of a token: the cache key.
pub(crate) type Mac = [u8; 32];

/// One cached outcome.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub(crate) outcome: Result<Arc<Answer>, AuthError>,
    /// Dead from this instant on (the introspector's clock, seconds).
    pub(crate) not_after: i64,
    ttl: Duration,
}

impl Entry {
    /// The entry for `outcome` judged at `now`: `None` when it must not be cached (the
    /// server could not be asked).
    pub(crate) fn new(
        outcome: Result<Answer, AuthError>,
        now: i64,
        ttl: Duration,
        negative_ttl: Duration,
    ) -> Result<Entry, AuthError> {
        match outcome {
            Ok(answer) => {
                let ttl_secs = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
                let mut not_after = now.saturating_add(ttl_secs);
                if let Some(exp) = answer.registered.exp {
                    not_after = not_after.min(exp);
                }
                let left = u64::try_from(not_after.saturating_sub(now)).unwrap_or(0);
                let ttl = ttl.min(Duration::from_secs(left));
                Ok(Entry { outcome: Ok(Arc::new(answer)), not_after, ttl })
            }
            Err(e) if cacheable_refusal(e.kind()) => {
                let secs = i64::try_from(negative_ttl.as_secs()).unwrap_or(i64::MAX);
                Ok(Entry { outcome: Err(e), not_after: now.saturating_add(secs), ttl: negative_ttl })
            }
            Err(e) => Err(e),
        }
    }
}

/// Refusals that are the authorization server's definitive word on the token.
fn cacheable_refusal(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::Inactive
            | ErrorKind::InvalidAudience
            | ErrorKind::InvalidIssuer
            | ErrorKind::Expired
            | ErrorKind::NotYetValid
            | ErrorKind::IssuedInFuture
            | ErrorKind::InvalidType
    )
}

struct EntryTtl;

impl moka::Expiry<Mac, Entry> for EntryTtl {
    fn expire_after_create(&self, _key: &Mac, value: &Entry, _created_at: Instant) -> Option<Duration> {
        Some(value.ttl)
    }
}

/// The cache. Cheap to clone (clones share the entries).
#[derive(Clone)]
pub(crate) struct AnswerCache {
    key: Arc<hmac::Key>,
    pub(crate) entries: moka::future::Cache<Mac, Entry>,
}

impl AnswerCache {
    /// A cache of at most `max_entries` answers; `None` without randomness for the key.
    pub(crate) fn new(max_entries: u64) -> Option<AnswerCache> {
        let key = hmac::Key::generate(hmac::HMAC_SHA256, &aws_lc_rs::rand::SystemRandom::new()).ok()?;
        let entries = moka::future::Cache::builder().max_capacity(max_entries).expire_after(EntryTtl).build();
        Some(AnswerCache { key: Arc::new(key), entries })
    }

    pub(crate) fn mac(&self, token: &str) -> Mac {
        let tag = hmac::sign(&self.key, token.as_bytes());
        let mut mac = [0u8; 32];
        mac.copy_from_slice(tag.as_ref());
        mac
    }
}
