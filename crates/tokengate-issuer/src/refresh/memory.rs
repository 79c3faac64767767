//! [`MemoryRefreshStore`]: refresh tokens in this process (one instance, tests, demos).

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, PoisonError};

use super::RefreshError;
use super::store::{RefreshRecord, RefreshStore, StoreFuture, Taken, TokenHash};

#[derive(Default)]
struct State {
    tokens: HashMap<TokenHash, (RefreshRecord, bool)>,
    revoked: HashSet<String>,
    kids: HashMap<String, HashSet<String>>,
}

/// A [`RefreshStore`] in memory: a mutex around three maps (tokens by hash, revoked
/// families, families by signing kid). Spent records are kept for reuse detection.
#[derive(Default)]
pub struct MemoryRefreshStore {
    state: Mutex<State>,
}

impl std::fmt::Debug for MemoryRefreshStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryRefreshStore").finish_non_exhaustive()
    }
}

impl MemoryRefreshStore {
    /// An empty store.
    pub fn new() -> MemoryRefreshStore {
        MemoryRefreshStore::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

fn ready<'a, T: Send + 'a>(value: Result<T, RefreshError>) -> StoreFuture<'a, T> {
    Box::pin(std::future::ready(value))
}

impl RefreshStore for MemoryRefreshStore {
    fn insert(&self, hash: TokenHash, record: RefreshRecord) -> StoreFuture<'_, ()> {
        self.with(|s| {
            s.tokens.insert(hash, (record, false));
        });
        ready(Ok(()))
    }

    fn take(&self, hash: TokenHash, client_id: Option<String>, now: i64) -> StoreFuture<'_, Taken> {
        let taken = self.with(|s| {
            let revoked = &s.revoked;
            let Some((record, spent)) = s.tokens.get_mut(&hash) else {
                return Taken::Refused(RefreshError::Unknown);
            };
            if revoked.contains(&record.family) {
                return Taken::Refused(RefreshError::Revoked);
            }
            if *spent {
                return Taken::Spent(record.family.clone());
            }
            if now >= record.expires_at {
                return Taken::Refused(RefreshError::Expired);
            }
            if client_id.as_deref().is_some_and(|c| c != record.grant.client_id) {
                return Taken::Refused(RefreshError::WrongClient);
            }
            *spent = true;
            Taken::Fresh(record.clone())
        });
        ready(Ok(taken))
    }

    fn family_of(&self, hash: TokenHash) -> StoreFuture<'_, Option<String>> {
        let family = self.with(|s| s.tokens.get(&hash).filter(|(_, spent)| !spent).map(|(r, _)| r.family.clone()));
        ready(Ok(family))
    }

    fn revoke_family<'a>(&'a self, family: &'a str) -> StoreFuture<'a, ()> {
        self.with(|s| {
            s.revoked.insert(family.to_owned());
        });
        ready(Ok(()))
    }

    fn note_kid<'a>(&'a self, family: &'a str, kid: &'a str) -> StoreFuture<'a, ()> {
        self.with(|s| {
            s.kids.entry(kid.to_owned()).or_default().insert(family.to_owned());
        });
        ready(Ok(()))
    }

    fn revoke_families_for_kid<'a>(&'a self, kid: &'a str) -> StoreFuture<'a, usize> {
        let count = self.with(|s| {
            let families = s.kids.remove(kid).unwrap_or_default();
            families.into_iter().filter(|f| s.revoked.insert(f.clone())).count()
        });
        ready(Ok(count))
    }
}
