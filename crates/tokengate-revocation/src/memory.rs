//! [`MemoryStore`]: the embedded default, one process, no network.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use tokengate_core::{AuthError, RevocationCheck, Verified};

use crate::rule::{Rule, RuleKey};
use crate::store::{Health, RevocationStore, Settings, StoreFuture, settings_methods};
use crate::table::RuleTable;

/// Expired rules are swept on a write at most this often (seconds).
const SWEEP_EVERY: i64 = 10;

/// Rules in this process's memory: an O(1) check that takes no lock, rules forgotten once
/// every token they could match has expired. Cheap to clone (clones share the rules).
///
/// ```
/// use tokengate_core::{Algorithm, ErrorKind, RevocationCheck};
/// use tokengate_revocation::{MemoryStore, RevocationStore, RuleKey};
/// use tokengate_test_support::{ISSUER, SUBJECT, TokenBuilder, verifier};
///
/// let store = MemoryStore::new();
/// let token = verifier(Algorithm::ES256).build()?.verify(&TokenBuilder::new(Algorithm::ES256).sign())?;
/// assert!(store.check(&token).is_ok());
///
/// // Every token of the subject issued until now is revoked.
/// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
/// store.revoke(RuleKey::subject(ISSUER, SUBJECT)?, None).await?;
/// # Ok::<(), Box<dyn std::error::Error>>(()) })?;
/// assert_eq!(store.check(&token).unwrap_err().kind(), ErrorKind::Revoked);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct MemoryStore {
    inner: Arc<Inner>,
}

struct Inner {
    table: RuleTable,
    settings: Settings,
    last_sweep: AtomicI64,
}

impl MemoryStore {
    /// A store with the default settings.
    pub fn new() -> MemoryStore {
        MemoryStore::builder().build()
    }

    /// A builder, to set the token lifetime, basis time, tenant claim or clock.
    pub fn builder() -> MemoryStoreBuilder {
        MemoryStoreBuilder { settings: Settings::default() }
    }

    /// Stores a rule now (the synchronous form of [`RevocationStore::revoke`], which never
    /// fails for memory).
    pub fn insert(&self, key: RuleKey, not_before: Option<i64>) -> Rule {
        let rule = self.inner.settings.rule(key, not_before);
        self.merge(&rule)
    }

    /// Merges a complete rule (an earlier rule for the same key keeps the later cut-off and
    /// expiry).
    pub fn merge(&self, rule: &Rule) -> Rule {
        let now = self.inner.settings.clock.now();
        let last = self.inner.last_sweep.load(Ordering::Relaxed);
        if now.saturating_sub(last) >= SWEEP_EVERY
            && self.inner.last_sweep.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_ok()
        {
            self.inner.table.sweep(now);
        }
        self.inner.table.merge(rule)
    }

    /// Forgets the rules that expired; returns how many. Writes also sweep, at most every
    /// ten seconds.
    pub fn sweep(&self) -> usize {
        let now = self.inner.settings.clock.now();
        self.inner.last_sweep.store(now, Ordering::Relaxed);
        self.inner.table.sweep(now)
    }

    /// The number of rules held (expired ones not yet swept included).
    pub fn len(&self) -> usize {
        self.inner.table.len()
    }

    /// Whether no rule is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore::new()
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore").field("rules", &self.len()).finish_non_exhaustive()
    }
}

impl RevocationCheck for MemoryStore {
    fn check(&self, token: &Verified) -> Result<(), AuthError> {
        self.inner.table.check(token)
    }
}

impl RevocationStore for MemoryStore {
    fn revoke(&self, key: RuleKey, not_before: Option<i64>) -> StoreFuture<'_, Rule> {
        let rule = self.insert(key, not_before);
        Box::pin(std::future::ready(Ok(rule)))
    }

    fn rules(&self) -> Vec<Rule> {
        self.inner.table.rules(self.inner.settings.clock.now())
    }

    fn health(&self) -> Health {
        Health::memory(self.len())
    }
}

/// Configures a [`MemoryStore`].
#[derive(Debug, Clone)]
pub struct MemoryStoreBuilder {
    settings: Settings,
}

impl MemoryStoreBuilder {
    settings_methods!();

    /// The store.
    pub fn build(self) -> MemoryStore {
        let now = self.settings.clock.now();
        MemoryStore {
            inner: Arc::new(Inner {
                table: RuleTable::new(self.settings.matching.clone()),
                settings: self.settings,
                last_sweep: AtomicI64::new(now),
            }),
        }
    }
}
