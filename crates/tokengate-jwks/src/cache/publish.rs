//! Fetched keys into the set served: issuer binding, denied kids, audit log of changes.

use std::collections::HashSet;
use std::sync::Arc;

use tokengate_core::{KeySet, algorithm_name};
use tokio::time::Instant;

use super::{Current, Shared};
use crate::JwksError;
use crate::source::Fetched;
use crate::sync::lock;

/// Turns fetched keys into the set to serve: skipped keys logged, issuer bound, denied
/// kids removed, and an empty result refused.
pub(crate) fn prepare(
    name: &str,
    issuer: Option<&str>,
    denied: &HashSet<String>,
    keys: KeySet,
    fetched: &Fetched,
) -> Result<KeySet, JwksError> {
    for skipped in &fetched.skipped {
        tracing::warn!(source = %name, kid = ?skipped.kid, reason = %skipped.reason, "skipping unusable key");
    }
    let mut keys = keys;
    if let Some(issuer) = issuer
        && !keys.keys().all(|k| k.issuer() == Some(issuer))
    {
        let mut bound = Vec::with_capacity(keys.len());
        for key in keys.keys() {
            match key.issuer() {
                None => bound.push(key.clone().bind_issuer(issuer)),
                Some(own) if own == issuer => bound.push(key.clone()),
                Some(own) => {
                    tracing::warn!(source = %name, kid = ?key.kid(), bound_to = own, issuer,
                        "skipping a key bound to another issuer");
                }
            }
        }
        keys = KeySet::new(bound).map_err(JwksError::InvalidKey)?;
    }
    for kid in denied {
        if keys.get(kid).is_some() {
            keys = keys.without(kid);
        }
    }
    if keys.is_empty() {
        return Err(JwksError::NoUsableKeys { skipped: fetched.skipped.len() });
    }
    Ok(keys)
}

pub(crate) fn log_changes(name: &str, old: &KeySet, new: &KeySet) {
    for key in new.keys() {
        let alg = algorithm_name(key.algorithm());
        match key.kid().map(|kid| (kid, old.get(kid))) {
            Some((kid, None)) => tracing::info!(source = %name, kid, alg, "key added"),
            Some((kid, Some(before))) if before.algorithm() != key.algorithm() => {
                let before = algorithm_name(before.algorithm());
                tracing::warn!(source = %name, kid, alg, before, "algorithm changed for an existing kid");
            }
            Some(_) => {}
            None if old.is_empty() => tracing::info!(source = %name, alg, "key without kid added"),
            None => {}
        }
    }
    for kid in old.kids() {
        if new.get(kid).is_none() {
            tracing::info!(source = %name, kid, "key removed");
        }
    }
}

impl Shared {
    /// Publishes a fetched set (called by the refresh task); on success the keys serve
    /// until `stale_at` ([`super::stale::stale_deadline`]; `None`: never) unless a later fetch succeeds.
    pub(crate) fn apply(&self, fetched: Fetched, stale_at: Option<Instant>) -> Result<(), JwksError> {
        let mut control = lock(&self.control);
        let generation = fetched.keys.generation();
        let old = self.current.load();
        if generation == control.source_generation && !old.unavailable {
            self.confirmed(stale_at);
            return Ok(());
        }
        let keys = prepare(&self.name, self.issuer.as_deref(), &control.denied, fetched.keys.clone(), &fetched)?;
        log_changes(&self.name, &old.keys, &keys);
        control.source_generation = generation;
        // The new deadline before the new keys: a lookup never sees fresh keys as stale.
        self.confirmed(stale_at);
        self.current.store(Arc::new(Current { keys, unavailable: false }));
        Ok(())
    }
}
