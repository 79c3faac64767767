//! The metrics this crate records through the [`metrics`](https://docs.rs/metrics) facade
//! (feature `metrics`): names and labels. No exporter is pulled in: the application
//! installs one (Prometheus, OpenTelemetry, StatsD, ...); without one, recording costs
//! next to nothing. Without the feature, nothing is recorded and `metrics` is not a
//! dependency; the names below stay, for dashboards and tests.
//!
//! Every label value is bounded: an [`ErrorKind`] name, an algorithm from the one
//! algorithm table, the verified issuer of an accepted token (an issuer the verifier was
//! configured to trust) or [`UNKNOWN`] — never a subject, a token, or the `iss` of a token
//! that did not verify.
//!
//! | name | type | labels |
//! | --- | --- | --- |
//! | [`VERIFICATIONS`] | counter | `outcome` (`ok` or an [`ErrorKind`] name, snake case), `alg`, `issuer` |
//! | [`VERIFICATION_DURATION`] | histogram (seconds) | `outcome` (`ok` / `refused`) |
//! | [`VERIFIED_TOKEN_CACHE`] | counter | `result` (`hit` / `miss`) |
//! | [`REVOCATION_CHECKS`] | counter | `outcome` (`ok`, `revoked`, `revocation_unavailable`, ...) |
//! | [`FAILURE_LIMIT_REFUSALS`] | counter | none |
//!
//! ```
//! # #[cfg(feature = "metrics")] {
//! use metrics_util::debugging::DebuggingRecorder;
//! use tokengate_core::{Algorithm, Key, KeySet, Verifier};
//! use tokengate_tower::Authenticator;
//!
//! let key = Key::hmac(Algorithm::HS256, &[7; 32]).unwrap();
//! let verifier = Verifier::builder(KeySet::new([key]).unwrap())
//!     .issuer("https://issuer.example")
//!     .audience("orders")
//!     .algorithms([Algorithm::HS256])
//!     .build()
//!     .unwrap();
//! let auth = Authenticator::new(verifier);
//! let recorder = DebuggingRecorder::new();
//! let snapshotter = recorder.snapshotter();
//! metrics::with_local_recorder(&recorder, || drop(auth.authenticate("not-a-jwt")));
//! let counted = snapshotter.snapshot().into_vec().into_iter().any(|(key, ..)| {
//!     key.key().name() == tokengate_tower::metrics::VERIFICATIONS
//!         && key.key().labels().any(|l| l.key() == "outcome" && l.value() == "malformed")
//! });
//! assert!(counted);
//! # }
//! ```

use tokengate_core::ErrorKind;

/// Verifications, one per [`Authenticator`](crate::Authenticator) call (a cache hit
/// included), by `outcome`, `alg` and `issuer`. `alg` and `issuer` are [`UNKNOWN`] for a
/// refused token: nothing in it is trusted.
pub const VERIFICATIONS: &str = "tokengate_verifications_total";
/// How long one [`Authenticator`](crate::Authenticator) call took (a key refresh or a
/// remote verifier included), in seconds, by `outcome` (`ok` / `refused`).
pub const VERIFICATION_DURATION: &str = "tokengate_verification_duration_seconds";
/// Lookups in the verified-token cache, by `result` (`hit` / `miss`).
pub const VERIFIED_TOKEN_CACHE: &str = "tokengate_verified_token_cache_total";
/// Revocation checks of accepted tokens, by `outcome` (`ok`, or the [`ErrorKind`] name
/// the check returned: `revoked`, `revocation_unavailable`).
pub const REVOCATION_CHECKS: &str = "tokengate_revocation_checks_total";
/// Requests the failure rate limiter answered 429 without running the service.
pub const FAILURE_LIMIT_REFUSALS: &str = "tokengate_failure_limit_refusals_total";
/// The label value of what is not known or not trusted (the issuer or algorithm of a
/// refused token).
pub const UNKNOWN: &str = "unknown";

/// The snake-case name of `kind`: the `outcome` label of a refusal.
pub fn kind_name(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::MissingToken => "missing_token",
        ErrorKind::InvalidRequest => "invalid_request",
        ErrorKind::TokenTooLarge => "token_too_large",
        ErrorKind::Malformed => "malformed",
        ErrorKind::InvalidEncoding => "invalid_encoding",
        ErrorKind::InvalidJson => "invalid_json",
        ErrorKind::DuplicateMember => "duplicate_member",
        ErrorKind::NestingTooDeep => "nesting_too_deep",
        ErrorKind::AlgNone => "alg_none",
        ErrorKind::AlgorithmNotAllowed => "algorithm_not_allowed",
        ErrorKind::AlgorithmMismatch => "algorithm_mismatch",
        ErrorKind::UnsupportedCritical => "unsupported_critical",
        ErrorKind::UnencodedPayload => "unencoded_payload",
        ErrorKind::CompressedPayload => "compressed_payload",
        ErrorKind::HeaderKeyMaterial => "header_key_material",
        ErrorKind::UnknownKey => "unknown_key",
        ErrorKind::KeysUnavailable => "keys_unavailable",
        ErrorKind::InvalidSignature => "invalid_signature",
        ErrorKind::MissingClaim => "missing_claim",
        ErrorKind::InvalidClaim => "invalid_claim",
        ErrorKind::Expired => "expired",
        ErrorKind::NotYetValid => "not_yet_valid",
        ErrorKind::IssuedInFuture => "issued_in_future",
        ErrorKind::TooOld => "too_old",
        ErrorKind::LifetimeTooLong => "lifetime_too_long",
        ErrorKind::InvalidIssuer => "invalid_issuer",
        ErrorKind::InvalidAudience => "invalid_audience",
        ErrorKind::InvalidType => "invalid_type",
        ErrorKind::IssuerUnavailable => "issuer_unavailable",
        ErrorKind::Revoked => "revoked",
        ErrorKind::RevocationUnavailable => "revocation_unavailable",
        ErrorKind::Inactive => "inactive",
        ErrorKind::IntrospectionUnavailable => "introspection_unavailable",
        ErrorKind::InsufficientScope => "insufficient_scope",
        ErrorKind::Forbidden => "forbidden",
        ErrorKind::RateLimited => "rate_limited",
        ErrorKind::Internal => "internal",
        _ => "other",
    }
}

#[cfg(feature = "metrics")]
mod record {
    use std::sync::{Arc, OnceLock, PoisonError, RwLock};

    use ::metrics::{Counter, Histogram};
    use tokengate_core::{AuthError, Verified, algorithm_name};

    use super::*;

    /// At most this many (alg, issuer) counters are kept per authenticator; past it, the
    /// counter is looked up in the recorder on every call (correct, a little slower).
    const MAX_CACHED: usize = 64;

    /// The handles of the hot metrics, taken from the recorder on first use and kept
    /// (a registry lookup per request would cost more than the 1% budget): install the
    /// recorder before the first request.
    #[derive(Default)]
    pub(crate) struct Handles {
        ok_duration: OnceLock<Histogram>,
        refused_duration: OnceLock<Histogram>,
        #[cfg(feature = "cache")]
        cache_hit: OnceLock<Counter>,
        #[cfg(feature = "cache")]
        cache_miss: OnceLock<Counter>,
        revocation_ok: OnceLock<Counter>,
        accepted: RwLock<Vec<(&'static str, Box<str>, Counter)>>,
    }

    impl Handles {
        fn accepted(&self, alg: &'static str, issuer: &str) -> Counter {
            let cached = self.accepted.read().unwrap_or_else(PoisonError::into_inner);
            if let Some((.., counter)) = cached.iter().find(|(a, i, _)| *a == alg && &**i == issuer) {
                return counter.clone();
            }
            drop(cached);
            let counter =
                ::metrics::counter!(VERIFICATIONS, "outcome" => "ok", "alg" => alg, "issuer" => issuer.to_owned());
            let mut cached = self.accepted.write().unwrap_or_else(PoisonError::into_inner);
            if cached.len() < MAX_CACHED {
                cached.push((alg, issuer.into(), counter.clone()));
            }
            counter
        }

        /// One finished authentication.
        pub(crate) fn verification(&self, result: &Result<Arc<Verified>, AuthError>, start: Start) {
            let elapsed = start.at.elapsed().as_secs_f64();
            match result {
                Ok(verified) => {
                    let alg = verified.header().map_or(UNKNOWN, |h| algorithm_name(h.alg()));
                    self.accepted(alg, verified.issuer().unwrap_or(UNKNOWN)).increment(1);
                    self.ok_duration
                        .get_or_init(|| ::metrics::histogram!(VERIFICATION_DURATION, "outcome" => "ok"))
                        .record(elapsed);
                }
                Err(error) => {
                    let outcome = kind_name(error.kind());
                    ::metrics::counter!(VERIFICATIONS, "outcome" => outcome, "alg" => UNKNOWN, "issuer" => UNKNOWN)
                        .increment(1);
                    self.refused_duration
                        .get_or_init(|| ::metrics::histogram!(VERIFICATION_DURATION, "outcome" => "refused"))
                        .record(elapsed);
                }
            }
        }

        /// One lookup in the verified-token cache.
        #[cfg(feature = "cache")]
        pub(crate) fn cache(&self, hit: bool) {
            let counter = if hit {
                self.cache_hit.get_or_init(|| ::metrics::counter!(VERIFIED_TOKEN_CACHE, "result" => "hit"))
            } else {
                self.cache_miss.get_or_init(|| ::metrics::counter!(VERIFIED_TOKEN_CACHE, "result" => "miss"))
            };
            counter.increment(1);
        }

        /// One revocation check.
        pub(crate) fn revocation(&self, result: &Result<(), AuthError>) {
            match result {
                Ok(()) => self
                    .revocation_ok
                    .get_or_init(|| ::metrics::counter!(REVOCATION_CHECKS, "outcome" => "ok"))
                    .increment(1),
                Err(e) => ::metrics::counter!(REVOCATION_CHECKS, "outcome" => kind_name(e.kind())).increment(1),
            }
        }
    }

    /// One 429 from the failure rate limiter.
    #[cfg(feature = "rate-limit")]
    pub(crate) fn failure_limit_refusal() {
        ::metrics::counter!(FAILURE_LIMIT_REFUSALS).increment(1);
    }
}

#[cfg(not(feature = "metrics"))]
mod record {
    use std::sync::Arc;

    use tokengate_core::{AuthError, Verified};

    /// Nothing to keep without the feature.
    #[derive(Default)]
    pub(crate) struct Handles;

    impl Handles {
        #[inline(always)]
        pub(crate) fn verification(&self, _: &Result<Arc<Verified>, AuthError>, _: super::Start) {}
        #[cfg(feature = "cache")]
        #[inline(always)]
        pub(crate) fn cache(&self, _: bool) {}
        #[inline(always)]
        pub(crate) fn revocation(&self, _: &Result<(), AuthError>) {}
    }

    #[cfg(feature = "rate-limit")]
    #[inline(always)]
    pub(crate) fn failure_limit_refusal() {}
}

pub(crate) use record::*;

/// When a measured call started (zero-sized without the feature).
#[derive(Clone, Copy)]
pub(crate) struct Start {
    #[cfg(feature = "metrics")]
    at: std::time::Instant,
}

/// Starts measuring a call.
#[inline(always)]
pub(crate) fn start() -> Start {
    Start {
        #[cfg(feature = "metrics")]
        at: std::time::Instant::now(),
    }
}
