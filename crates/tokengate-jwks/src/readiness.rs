//! [`ReadinessCheck`] for the key caches: ready while the cache has keys that are not past
//! `max_stale` (see [`Health::is_ready`](crate::Health::is_ready)).

use std::borrow::Cow;

use tokengate_core::readiness::{Readiness, ReadinessCheck};

use crate::JwksCache;

impl ReadinessCheck for JwksCache {
    fn name(&self) -> Cow<'_, str> {
        match self.issuer() {
            Some(issuer) => Cow::Owned(format!("keys of {issuer}")),
            None => Cow::Borrowed("keys"),
        }
    }

    fn readiness(&self) -> Readiness {
        let health = self.health();
        if health.unavailable {
            Readiness::not_ready("keys not refreshed within max_stale")
        } else if health.key_count == 0 {
            Readiness::not_ready("no keys")
        } else {
            Readiness::Ready
        }
    }
}
