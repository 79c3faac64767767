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
    use std::sync::Arc;

    use tokengate_core::{AuthError, Verified, algorithm_name};

    use super::*;

    /// One finished authentication.
    pub(crate) fn verification(result: &Result<Arc<Verified>, AuthError>, start: Start) {
        let elapsed = start.at.elapsed().as_secs_f64();
        match result {
            Ok(verified) => {
                let alg = verified.header().map_or(UNKNOWN, |h| algorithm_name(h.alg()));
                let issuer = verified.issuer().map_or_else(|| UNKNOWN.to_owned(), str::to_owned);
                ::metrics::counter!(VERIFICATIONS, "outcome" => "ok", "alg" => alg, "issuer" => issuer).increment(1);
                ::metrics::histogram!(VERIFICATION_DURATION, "outcome" => "ok").record(elapsed);
            }
            Err(error) => {
                let outcome = kind_name(error.kind());
                ::metrics::counter!(VERIFICATIONS, "outcome" => outcome, "alg" => UNKNOWN, "issuer" => UNKNOWN)
                    .increment(1);
                ::metrics::histogram!(VERIFICATION_DURATION, "outcome" => "refused").record(elapsed);
            }
        }
    }

    /// One lookup in the verified-token cache.
    #[cfg(feature = "cache")]
    pub(crate) fn cache(hit: bool) {
        ::metrics::counter!(VERIFIED_TOKEN_CACHE, "result" => if hit { "hit" } else { "miss" }).increment(1);
    }

    /// One revocation check.
    pub(crate) fn revocation(result: &Result<(), AuthError>) {
        let outcome = result.as_ref().map_or_else(|e| kind_name(e.kind()), |()| "ok");
        ::metrics::counter!(REVOCATION_CHECKS, "outcome" => outcome).increment(1);
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

    #[inline(always)]
    pub(crate) fn verification(_: &Result<Arc<Verified>, AuthError>, _: super::Start) {}
    #[cfg(feature = "cache")]
    #[inline(always)]
    pub(crate) fn cache(_: bool) {}
    #[inline(always)]
    pub(crate) fn revocation(_: &Result<(), AuthError>) {}
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
