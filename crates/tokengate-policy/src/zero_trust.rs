//! [`ZeroTrust`]: checked on every request, after the token itself validated: how
//! recently and how strongly the user authenticated (RFC 9470 step-up), which methods
//! they used, and a binding claim matched against a request header.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokengate_core::{Clock, Denial, SystemClock, Verified};

use crate::policy::{Policy, PolicyRequest, claim_str, claims};

/// The reason when the authentication is too old (or its time is unknown).
pub const TOO_OLD: &str = "the user authentication is too old";
/// The reason when the authentication context class is not accepted.
pub const WRONG_ACR: &str = "a stronger user authentication is required";
/// The reason when both fail.
pub const TOO_OLD_AND_WRONG_ACR: &str = "a more recent and stronger user authentication is required";
/// The reason when `amr` lacks a required method.
pub const MISSING_AMR: &str = "the user did not authenticate with the required methods";
/// The reason when the binding claim does not match the request.
pub const UNBOUND: &str = "the token is not bound to this device or session";

/// How far in the future an `auth_time` may be (clock skew) before it is refused.
pub const AUTH_TIME_LEEWAY_SECS: i64 = 60;

/// Zero-trust checks on every request:
///
/// - [`max_auth_age`](ZeroTrust::max_auth_age): the time since `auth_time` (or `iat` when
///   absent) is at most this; refused as an RFC 9470 step-up with `max_age`;
/// - [`acr`](ZeroTrust::acr): the token's `acr` is one of these; refused as a step-up with
///   `acr_values` (both parameters when both fail);
/// - [`amr`](ZeroTrust::amr): every method is in the token's `amr`; refused as forbidden;
/// - [`bind`](ZeroTrust::bind): a claim (a device or session id) equals a request header;
///   refused as forbidden.
///
/// Step-up denials (HTTP 401 `insufficient_user_authentication`) are only ever answered
/// for a token that verified: the policy runs after authentication. Policy name
/// `"zero_trust"`.
///
/// ```
/// use std::time::Duration;
/// use tokengate_policy::ZeroTrust;
/// let sensitive = ZeroTrust::new().max_auth_age(Duration::from_secs(300)).acr(["mfa"]).bind("sid", "x-session-id");
/// # let _ = sensitive;
/// ```
#[derive(Clone, Debug)]
pub struct ZeroTrust {
    max_age: Option<u64>,
    acr: Arc<[String]>,
    amr: Arc<[String]>,
    binding: Option<(Arc<str>, Arc<str>)>,
    clock: Arc<dyn Clock>,
}

impl Default for ZeroTrust {
    fn default() -> Self {
        ZeroTrust::new()
    }
}

impl ZeroTrust {
    /// No checks yet; the system clock.
    pub fn new() -> Self {
        ZeroTrust { max_age: None, acr: Arc::from([]), amr: Arc::from([]), binding: None, clock: Arc::new(SystemClock) }
    }

    /// The longest time since the user authenticated (whole seconds).
    pub fn max_auth_age(mut self, age: Duration) -> Self {
        self.max_age = Some(age.as_secs());
        self
    }

    /// The accepted authentication context classes (`acr`).
    pub fn acr<I, S>(mut self, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.acr = values.into_iter().map(Into::into).collect();
        self
    }

    /// Authentication methods that must all appear in `amr`.
    pub fn amr<I, S>(mut self, methods: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.amr = methods.into_iter().map(Into::into).collect();
        self
    }

    /// The claim `claim` (a string) must equal the request header `header`.
    pub fn bind(mut self, claim: impl AsRef<str>, header: impl AsRef<str>) -> Self {
        self.binding = Some((claim.as_ref().into(), header.as_ref().to_ascii_lowercase().into()));
        self
    }

    /// The clock for the age check (a [`tokengate_core::FixedClock`] in tests).
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    fn too_old(&self, token: &Verified, max_age: u64) -> bool {
        let auth_time = match claims(token).and_then(|c| c.get("auth_time")) {
            Some(value) => value.as_i64(),
            None => token.registered().iat,
        };
        let Some(auth_time) = auth_time else { return true };
        let now = self.clock.now();
        if auth_time > now.saturating_add(AUTH_TIME_LEEWAY_SECS) {
            return true;
        }
        u64::try_from(now.saturating_sub(auth_time)).is_ok_and(|age| age > max_age)
    }
}

impl Policy for ZeroTrust {
    fn check(&self, token: &Verified, request: &PolicyRequest<'_>) -> Result<(), Denial> {
        let old = self.max_age.filter(|max| self.too_old(token, *max));
        let weak =
            !self.acr.is_empty() && !claim_str(token, "acr").is_some_and(|acr| self.acr.iter().any(|a| a == acr));
        if old.is_some() || weak {
            let reason = match (old.is_some(), weak) {
                (true, true) => TOO_OLD_AND_WRONG_ACR,
                (true, false) => TOO_OLD,
                _ => WRONG_ACR,
            };
            let mut denial = Denial::step_up("zero_trust", reason);
            if let Some(max) = old {
                denial = denial.max_age(max);
            }
            if weak {
                denial = denial.acr(self.acr.iter().cloned());
            }
            return Err(denial);
        }
        if !self.amr.is_empty() {
            let amr = claims(token).and_then(|c| c.get("amr")).and_then(Value::as_array);
            let has = |m: &String| amr.is_some_and(|a| a.iter().any(|v| v.as_str() == Some(m)));
            if !self.amr.iter().all(has) {
                return Err(Denial::forbidden("zero_trust", MISSING_AMR));
            }
        }
        if let Some((claim, header)) = &self.binding {
            match (claim_str(token, claim), request.header(header)) {
                (Some(bound), Some(presented)) if bound == presented => {}
                _ => return Err(Denial::forbidden("zero_trust", UNBOUND)),
            }
        }
        Ok(())
    }
}
