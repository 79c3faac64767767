//! The static mode of [`super::Issuers`]: a fixed map from issuer to cache.

use std::collections::HashMap;

use tokengate_core::{AuthError, Key, KeyQuery, KeyResolver, RefreshFuture};

use super::untrusted;
use crate::{JwksCache, JwksError};

/// Caches by their own issuer.
pub(crate) struct StaticIssuers(HashMap<String, JwksCache>);

impl StaticIssuers {
    /// The map from the caches' issuers; each must be bound to one, and no issuer twice.
    pub(crate) fn new(caches: impl IntoIterator<Item = JwksCache>) -> Result<StaticIssuers, JwksError> {
        let mut map = HashMap::new();
        for cache in caches {
            let Some(issuer) = cache.issuer().map(str::to_owned) else {
                return Err(JwksError::Config("every cache of Issuers must be bound to an issuer".into()));
            };
            if map.insert(issuer.clone(), cache).is_some() {
                return Err(JwksError::Config(format!("issuer {issuer:?} given twice")));
            }
        }
        Ok(StaticIssuers(map))
    }

    pub(crate) fn get(&self, issuer: &str) -> Option<JwksCache> {
        self.0.get(issuer).cloned()
    }

    pub(crate) fn loaded(&self) -> Vec<String> {
        self.0.keys().cloned().collect()
    }

    pub(crate) fn resolve(&self, issuer: &str, query: &KeyQuery<'_>) -> Result<Key, AuthError> {
        self.0.get(issuer).ok_or_else(untrusted)?.resolve(query)
    }

    pub(crate) fn refresh_unknown(&self, issuer: &str, query: &KeyQuery<'_>) -> Option<RefreshFuture> {
        self.0.get(issuer)?.refresh_unknown(query)
    }
}
