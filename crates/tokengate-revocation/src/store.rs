//! [`RevocationStore`]: what the admin router and the event intake write through, on top of
//! the request path's synchronous [`RevocationCheck`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokengate_core::{Clock, RevocationCheck, SystemClock};

use crate::rule::{Cutoff, Rule, RuleKey};
use crate::table::Matching;

/// The future [`RevocationStore::revoke`] returns.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// Why a revocation could not be stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The shared store cannot be reached: nothing was stored (HTTP 503; retry later).
    #[error("the revocation store is unavailable: {0}")]
    Unavailable(String),
}

/// A place rules are written to and tokens are checked against.
///
/// [`RevocationCheck::check`] is the request path: synchronous, from a local table.
/// [`RevocationStore::revoke`] is the write path: it answers once the rule is stored where
/// every instance will see it (for Redis: once the script ran), and the local table enforces
/// it before the future completes.
pub trait RevocationStore: RevocationCheck {
    /// Stores a rule for `key` with cut-off `not_before` (seconds since the epoch; `None`:
    /// now) and returns the rule as stored (merged with an earlier one for the same key).
    fn revoke(&self, key: RuleKey, not_before: Option<i64>) -> StoreFuture<'_, Rule>;

    /// The active (not expired) rules, sorted by kind, issuer and value.
    fn rules(&self) -> Vec<Rule>;

    /// The state of the store, for a health endpoint.
    fn health(&self) -> Health;
}

impl<S: RevocationStore + ?Sized> RevocationStore for Arc<S> {
    fn revoke(&self, key: RuleKey, not_before: Option<i64>) -> StoreFuture<'_, Rule> {
        (**self).revoke(key, not_before)
    }

    fn rules(&self) -> Vec<Rule> {
        (**self).rules()
    }

    fn health(&self) -> Health {
        (**self).health()
    }
}

/// The state of a store, serialized as the admin router's `GET /health` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Health {
    /// `"memory"` or `"redis"`.
    pub backend: &'static str,
    /// Whether the local table is known to be current: always for memory; for Redis, the
    /// mirror confirmed it within `max_staleness`.
    pub fresh: bool,
    /// Rules in the local table.
    pub rules: usize,
    /// Milliseconds since the mirror last confirmed it is current (Redis only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub staleness_ms: Option<u64>,
    /// The bound past which checks fail closed (Redis only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_staleness_ms: Option<u64>,
    /// Full resyncs of the mirror since start (Redis only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resyncs: Option<u64>,
    /// Rules this instance wrote back after Redis lost them (Redis only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub written_back: Option<u64>,
}

impl Health {
    pub(crate) fn memory(rules: usize) -> Health {
        Health {
            backend: "memory",
            fresh: true,
            rules,
            staleness_ms: None,
            max_staleness_ms: None,
            resyncs: None,
            written_back: None,
        }
    }
}

/// The default longest lifetime of a token a rule must outlive: 24 hours.
pub const DEFAULT_MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// The default clock skew added to a rule's lifetime: 60 seconds.
pub const DEFAULT_SKEW: Duration = Duration::from_secs(60);

/// What every store is configured with: how tokens match rules, and how long rules live.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) matching: Matching,
    pub(crate) max_token_lifetime: Duration,
    pub(crate) skew: Duration,
    pub(crate) clock: Arc<dyn Clock>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            matching: Matching::default(),
            max_token_lifetime: DEFAULT_MAX_TOKEN_LIFETIME,
            skew: DEFAULT_SKEW,
            clock: Arc::new(SystemClock),
        }
    }
}

impl Settings {
    /// The rule for `key` with cut-off `not_before` (default now): kept until every token
    /// issued by the cut-off (or by now, if later) has expired.
    pub(crate) fn rule(&self, key: RuleKey, not_before: Option<i64>) -> Rule {
        let now = self.clock.now();
        let not_before = not_before.unwrap_or(now);
        let keep = secs(self.max_token_lifetime).saturating_add(secs(self.skew));
        let expires_at = not_before.max(now).saturating_add(keep);
        Rule::from_parts(key, Cutoff { not_before, expires_at })
    }
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// The builder methods every store shares.
macro_rules! settings_methods {
    () => {
        /// The longest lifetime of a token (`exp - iat`) a rule must outlive (default 24 h):
        /// a rule is forgotten this long (plus the skew) after its cut-off. Set it to the
        /// verifier's `max_lifetime`.
        pub fn max_token_lifetime(mut self, lifetime: std::time::Duration) -> Self {
            self.settings.max_token_lifetime = lifetime;
            self
        }

        /// The clock skew added to a rule's lifetime (default 60 s).
        pub fn skew(mut self, skew: std::time::Duration) -> Self {
            self.settings.skew = skew;
            self
        }

        /// Which time of a token is compared with a cut-off (default [`Basis::IssuedAt`](crate::Basis::IssuedAt)).
        pub fn basis(mut self, basis: $crate::Basis) -> Self {
            self.settings.matching.basis = basis;
            self
        }

        /// The claim naming a token's tenant, for `tenant` rules (default `tenant_id`).
        pub fn tenant_claim(mut self, claim: impl Into<String>) -> Self {
            self.settings.matching.tenant_claim = claim.into().into_boxed_str();
            self
        }

        /// The clock for cut-offs and expiry (default the system clock).
        pub fn clock(mut self, clock: impl tokengate_core::Clock + 'static) -> Self {
            self.settings.clock = std::sync::Arc::new(clock);
            self
        }
    };
}
pub(crate) use settings_methods;
