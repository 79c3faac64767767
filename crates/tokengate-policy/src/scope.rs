//! Scopes and roles: [`Scope`] (the `scope` / `scp` claims, answered as
//! `insufficient_scope`) and [`ClaimContains`] (`roles`, `groups`, or any claim path).

use std::sync::Arc;

use serde_json::Value;
use tokengate_core::{Denial, Verified};

use crate::policy::{Policy, PolicyRequest, claim, claims};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    AllOf,
    AnyOf,
}

fn matches(mode: Mode, required: &[String], has: impl Fn(&str) -> bool) -> bool {
    match mode {
        Mode::AllOf => required.iter().all(|r| has(r)),
        Mode::AnyOf => required.iter().any(|r| has(r)),
    }
}

/// Whether `value` (a space-separated string or an array of strings) contains `wanted`.
fn contains_word(value: &Value, wanted: &str, split: bool) -> bool {
    match value {
        Value::String(s) if split => s.split_ascii_whitespace().any(|w| w == wanted),
        Value::String(s) => s == wanted,
        Value::Array(items) => items.iter().any(|i| i.as_str() == Some(wanted)),
        _ => false,
    }
}

/// Requires scopes: the space-separated `scope` claim (RFC 9068 / RFC 8693) or `scp`
/// (a string or an array of strings). Refused with
/// [`DenialKind::InsufficientScope`](tokengate_core::DenialKind::InsufficientScope) naming
/// the required scopes (HTTP: 403 `WWW-Authenticate: Bearer error="insufficient_scope",
/// scope="…"`).
#[derive(Clone, Debug)]
pub struct Scope {
    required: Arc<[String]>,
    mode: Mode,
}

impl Scope {
    /// Every scope of `scopes` is required. An empty list allows every token.
    pub fn all_of<I, S>(scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Scope { required: scopes.into_iter().map(Into::into).collect(), mode: Mode::AllOf }
    }

    /// One scope of `scopes` is enough. An empty list refuses every token.
    pub fn any_of<I, S>(scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Scope { required: scopes.into_iter().map(Into::into).collect(), mode: Mode::AnyOf }
    }

    /// Whether `token` grants `scope` (in `scope` or `scp`).
    pub fn granted(token: &Verified, scope: &str) -> bool {
        let Some(claims) = claims(token) else { return false };
        ["scope", "scp"].iter().filter_map(|name| claims.get(*name)).any(|v| contains_word(v, scope, true))
    }
}

impl Policy for Scope {
    fn check(&self, token: &Verified, _request: &PolicyRequest<'_>) -> Result<(), Denial> {
        if matches(self.mode, &self.required, |s| Scope::granted(token, s)) {
            Ok(())
        } else {
            Err(Denial::insufficient_scope("scope", self.required.iter().cloned()))
        }
    }
}

/// Requires values in a claim holding a string or an array of strings: `roles`,
/// `groups`, or any claim path (`realm_access.roles`). Refused with
/// [`DenialKind::Forbidden`](tokengate_core::DenialKind::Forbidden) (policy `"claim"`).
///
/// ```
/// use tokengate_policy::ClaimContains;
/// let admins = ClaimContains::any_of("roles", ["admin", "owner"]);
/// let keycloak = ClaimContains::all_of("realm_access.roles", ["orders"]);
/// # let _ = (admins, keycloak);
/// ```
#[derive(Clone, Debug)]
pub struct ClaimContains {
    path: Arc<str>,
    required: Arc<[String]>,
    mode: Mode,
    reason: Arc<str>,
}

impl ClaimContains {
    fn new<I, S>(path: &str, values: I, mode: Mode) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let reason = format!("the token's {path} claim lacks a required value");
        ClaimContains {
            path: path.into(),
            required: values.into_iter().map(Into::into).collect(),
            mode,
            reason: reason.into(),
        }
    }

    /// Every value of `values` must be in the claim at `path`.
    pub fn all_of<I, S>(path: &str, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        ClaimContains::new(path, values, Mode::AllOf)
    }

    /// One value of `values` in the claim at `path` is enough.
    pub fn any_of<I, S>(path: &str, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        ClaimContains::new(path, values, Mode::AnyOf)
    }
}

impl Policy for ClaimContains {
    fn check(&self, token: &Verified, _request: &PolicyRequest<'_>) -> Result<(), Denial> {
        let value = claim(token, &self.path);
        let has = |wanted: &str| value.is_some_and(|v| contains_word(v, wanted, false));
        if matches(self.mode, &self.required, has) {
            Ok(())
        } else {
            Err(Denial::forbidden("claim", self.reason.to_string()))
        }
    }
}
