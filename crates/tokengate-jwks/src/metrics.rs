//! The metrics this crate records through the [`metrics`](https://docs.rs/metrics) facade
//! (feature `metrics`; no exporter is pulled in). The `source` label is the key source
//! as configured ([`KeySource::describe`](crate::KeySource::describe): a URL, an issuer,
//! a path), never anything read from a token.
//!
//! | name | type | labels |
//! | --- | --- | --- |
//! | [`FETCHES`] | counter | `source`, `result` (`ok` / `error`) |
//! | [`KEY_SET_AGE`] | gauge (seconds) | `source` |
//! | [`SERVING_STALE`] | gauge (0 / 1) | `source` |
//! | [`UNKNOWN_KID_REFRESHES`] | counter | `source` |
//!
//! The gauges are set after every fetch and on every [`JwksCache::health`](crate::JwksCache::health)
//! call (a readiness probe keeps the age current).

/// Key-set fetches (the first one included), by `source` and `result`.
pub const FETCHES: &str = "tokengate_jwks_fetches_total";
/// Time since the keys were last fetched successfully, in seconds, by `source`.
pub const KEY_SET_AGE: &str = "tokengate_jwks_key_set_age_seconds";
/// 1 while the last fetch failed and the last good keys are served (within `max_stale`).
pub const SERVING_STALE: &str = "tokengate_jwks_serving_stale";
/// Refreshes started because a token named a `kid` the key set does not hold (coalesced
/// and rate limited: at most one per cooldown).
pub const UNKNOWN_KID_REFRESHES: &str = "tokengate_jwks_unknown_kid_refreshes_total";

#[cfg(feature = "metrics")]
mod record {
    use std::time::Duration;

    use super::*;

    pub(crate) fn fetch(source: &str, ok: bool) {
        let result = if ok { "ok" } else { "error" };
        ::metrics::counter!(FETCHES, "source" => source.to_owned(), "result" => result).increment(1);
    }

    pub(crate) fn state(source: &str, age: Duration, stale: bool) {
        ::metrics::gauge!(KEY_SET_AGE, "source" => source.to_owned()).set(age.as_secs_f64());
        ::metrics::gauge!(SERVING_STALE, "source" => source.to_owned()).set(if stale { 1.0 } else { 0.0 });
    }

    pub(crate) fn unknown_kid_refresh(source: &str) {
        ::metrics::counter!(UNKNOWN_KID_REFRESHES, "source" => source.to_owned()).increment(1);
    }
}

#[cfg(not(feature = "metrics"))]
mod record {
    use std::time::Duration;

    #[inline(always)]
    pub(crate) fn fetch(_: &str, _: bool) {}
    #[inline(always)]
    pub(crate) fn state(_: &str, _: Duration, _: bool) {}
    #[inline(always)]
    pub(crate) fn unknown_kid_refresh(_: &str) {}
}

pub(crate) use record::*;
