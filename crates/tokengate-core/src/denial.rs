//! [`Denial`]: a policy's "no" for a token that verified.
//!
//! Authentication says who ([`crate::AuthError`] when it cannot); a policy says whether
//! this token may do this here. A denial says what failed ([`DenialKind`]), carries a
//! safe reason text (never token text) and the name of the policy that refused, for
//! metrics and logs. Like the rest of core it knows no status codes: tokengate-tower maps
//! a denial to HTTP (403, or 401 for a step-up), tokengate-tonic to a `tonic::Status`.
//!
//! ```
//! use tokengate_core::{Denial, DenialKind};
//!
//! let denial = Denial::insufficient_scope("scope", ["orders:read"]);
//! assert_eq!(denial.kind(), DenialKind::InsufficientScope);
//! assert_eq!(denial.scopes(), ["orders:read"]);
//! assert_eq!(denial.policy(), "scope");
//!
//! let step_up = Denial::step_up("zero_trust", "the authentication is too old").max_age(300);
//! assert_eq!(step_up.kind(), DenialKind::StepUp);
//! assert_eq!(step_up.required_max_age(), Some(300));
//! ```

use std::borrow::Cow;
use std::fmt;

/// What a [`Denial`] is about. New kinds may be added; match with a wildcard arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DenialKind {
    /// The token may not make this request (tenant, region, role, delegation, binding...).
    /// HTTP 403; gRPC `PERMISSION_DENIED`.
    Forbidden,
    /// The token lacks scopes ([`Denial::scopes`] names them). HTTP 403
    /// `insufficient_scope`; gRPC `PERMISSION_DENIED`.
    InsufficientScope,
    /// The user must authenticate again, more recently ([`Denial::required_max_age`]) or
    /// more strongly ([`Denial::acr_values`]): RFC 9470 step-up. HTTP 401
    /// `insufficient_user_authentication`; gRPC `UNAUTHENTICATED`.
    StepUp,
}

impl DenialKind {
    /// A short stable name: `forbidden`, `insufficient_scope`, `step_up`.
    pub fn as_str(self) -> &'static str {
        match self {
            DenialKind::Forbidden => "forbidden",
            DenialKind::InsufficientScope => "insufficient_scope",
            DenialKind::StepUp => "step_up",
        }
    }
}

impl fmt::Display for DenialKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A policy's refusal of a verified token. Cheap to build; clone it freely.
///
/// The reason is shown to the client (problem body `detail`, gRPC message): write it
/// from fixed text, never from the token or other untrusted input.
#[derive(Clone, PartialEq, Eq)]
pub struct Denial {
    kind: DenialKind,
    policy: &'static str,
    reason: Cow<'static, str>,
    scopes: Vec<String>,
    max_age: Option<u64>,
    acr_values: Vec<String>,
}

impl Denial {
    fn new(kind: DenialKind, policy: &'static str, reason: impl Into<Cow<'static, str>>) -> Denial {
        Denial { kind, policy, reason: reason.into(), scopes: Vec::new(), max_age: None, acr_values: Vec::new() }
    }

    /// A [`DenialKind::Forbidden`] from `policy` (its name, e.g. `"tenant"`) for `reason`.
    pub fn forbidden(policy: &'static str, reason: impl Into<Cow<'static, str>>) -> Denial {
        Denial::new(DenialKind::Forbidden, policy, reason)
    }

    /// A [`DenialKind::InsufficientScope`] naming the scopes that would have been enough.
    pub fn insufficient_scope<I, S>(policy: &'static str, scopes: I) -> Denial
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut denial =
            Denial::new(DenialKind::InsufficientScope, policy, "the access token lacks the required scope");
        denial.scopes = scopes.into_iter().map(Into::into).collect();
        denial
    }

    /// A [`DenialKind::StepUp`]; add what would satisfy it with [`Denial::max_age`] and
    /// [`Denial::acr`].
    pub fn step_up(policy: &'static str, reason: impl Into<Cow<'static, str>>) -> Denial {
        Denial::new(DenialKind::StepUp, policy, reason)
    }

    /// Requires an authentication at most `secs` old (RFC 9470 `max_age`).
    pub fn max_age(mut self, secs: u64) -> Self {
        self.max_age = Some(secs);
        self
    }

    /// Requires one of these authentication context classes (RFC 9470 `acr_values`).
    pub fn acr<I, S>(mut self, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.acr_values = values.into_iter().map(Into::into).collect();
        self
    }

    /// Replaces the reason text.
    pub fn with_reason(mut self, reason: impl Into<Cow<'static, str>>) -> Self {
        self.reason = reason.into();
        self
    }

    /// Replaces the name of the policy that refused.
    pub fn with_policy(mut self, policy: &'static str) -> Self {
        self.policy = policy;
        self
    }

    /// What failed.
    pub fn kind(&self) -> DenialKind {
        self.kind
    }

    /// The name of the policy that refused (a bounded label for metrics and logs).
    pub fn policy(&self) -> &'static str {
        self.policy
    }

    /// The reason, safe to show to the client.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// The scopes that would have been enough ([`DenialKind::InsufficientScope`]).
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// The required maximum authentication age in seconds ([`DenialKind::StepUp`]).
    pub fn required_max_age(&self) -> Option<u64> {
        self.max_age
    }

    /// The acceptable authentication context classes ([`DenialKind::StepUp`]).
    pub fn acr_values(&self) -> &[String] {
        &self.acr_values
    }
}

impl fmt::Debug for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Denial")
            .field("kind", &self.kind)
            .field("policy", &self.policy)
            .field("reason", &self.reason)
            .field("scopes", &self.scopes)
            .field("max_age", &self.max_age)
            .field("acr_values", &self.acr_values)
            .finish()
    }
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({} policy)", self.reason, self.policy)
    }
}

impl std::error::Error for Denial {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builders_and_accessors() {
        let d = Denial::forbidden("tenant", "wrong tenant");
        assert_eq!((d.kind(), d.policy(), d.reason()), (DenialKind::Forbidden, "tenant", "wrong tenant"));
        assert!(d.scopes().is_empty() && d.acr_values().is_empty() && d.required_max_age().is_none());
        assert_eq!(d.to_string(), "wrong tenant (tenant policy)");

        let d = Denial::insufficient_scope("scope", ["a", "b"]);
        assert_eq!(d.kind(), DenialKind::InsufficientScope);
        assert_eq!(d.scopes(), ["a", "b"]);
        assert_eq!(d.reason(), "the access token lacks the required scope");

        let d = Denial::step_up("zero_trust", "stronger").acr(["mfa"]).max_age(60).with_policy("x").with_reason("r");
        assert_eq!(d.kind(), DenialKind::StepUp);
        assert_eq!(d.acr_values(), ["mfa"]);
        assert_eq!(d.required_max_age(), Some(60));
        assert_eq!((d.policy(), d.reason()), ("x", "r"));
        assert_eq!(DenialKind::StepUp.to_string(), "step_up");
    }
}
