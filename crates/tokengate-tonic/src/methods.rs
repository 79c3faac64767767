//! Per-method requirements: a [`MethodMap`] from `/package.Service/Method` and
//! `/package.Service/*` to a [`MethodPolicy`], with a default for unlisted methods that
//! **denies**; and the services exempted by name ([`Exemptions`]: `grpc.health.v1.Health`
//! and server reflection).
//!
//! A policy runs after the token verified, on every call; a refusal is a [`Denial`], which
//! the layer answers with `PERMISSION_DENIED` (see [`crate::status`]).
//!
//! ```
//! use tokengate_tonic::methods::{MethodMap, require_scope, allow_authenticated};
//!
//! let map = MethodMap::new()
//!     .method("/tokengate.example.v1.Orders/ListOrders", require_scope("orders:read"))?
//!     .method("/tokengate.example.v1.Orders/*", require_scope("orders:admin"))?
//!     .method("/acme.Status/*", allow_authenticated())?;
//! assert!(map.policy_for("/tokengate.example.v1.Orders/WatchOrders").is_some());
//! assert!(map.policy_for("/acme.Other/Call").is_none()); // unlisted: denied
//! # Ok::<(), tokengate_tonic::methods::MethodMapError>(())
//! ```

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use tokengate_core::{ErrorKind, Verified};

/// Why a policy refused an authenticated caller. Answered with `PERMISSION_DENIED`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Denial {
    reason: Cow<'static, str>,
    scope: Option<String>,
}

impl Denial {
    /// A denial whose `reason` is sent to the client: it must be safe to show (name the
    /// check that failed, never a claim value the caller did not send).
    pub fn forbidden(reason: impl Into<Cow<'static, str>>) -> Self {
        Denial { reason: reason.into(), scope: None }
    }

    /// A missing scope: `error="insufficient_scope", scope="…"` in the challenge.
    pub fn insufficient_scope(scope: impl Into<String>) -> Self {
        Denial { reason: Cow::Borrowed(ErrorKind::InsufficientScope.public_message()), scope: Some(scope.into()) }
    }

    /// The reason sent to the client.
    pub fn public_reason(&self) -> &str {
        &self.reason
    }

    /// The scope that was required, when the denial is about a scope.
    pub fn required_scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for Denial {}

/// What a per-method policy sees of the call besides the token.
#[derive(Clone, Copy, Debug)]
pub struct CallView<'a> {
    /// The gRPC path, `/package.Service/Method`.
    pub path: &'a str,
    /// The request metadata (as HTTP/2 headers).
    pub headers: &'a http::HeaderMap,
}

/// A requirement on a verified token for a gRPC method.
///
/// Implemented by closures `Fn(&Verified, &CallView) -> Result<(), Denial>`.
pub trait MethodPolicy: Send + Sync + 'static {
    /// `Ok(())` when `token` may make this call.
    fn check(&self, token: &Verified, call: &CallView<'_>) -> Result<(), Denial>;
}

impl<F> MethodPolicy for F
where
    F: Fn(&Verified, &CallView<'_>) -> Result<(), Denial> + Send + Sync + 'static,
{
    fn check(&self, token: &Verified, call: &CallView<'_>) -> Result<(), Denial> {
        self(token, call)
    }
}

/// A requirement on a verified token and a value the handler read itself (a field of
/// the message, say): run with [`RequestExt::authorize`](crate::ext::RequestExt::authorize).
pub trait ValuePolicy<V: ?Sized>: Send + Sync {
    /// `Ok(())` when `token` may act on `value`.
    fn check_value(&self, token: &Verified, value: &V) -> Result<(), Denial>;
}

/// The token's `scope` (or `scp`) must contain `scope`.
pub fn require_scope(scope: impl Into<String>) -> RequireScope {
    RequireScope { scope: scope.into() }
}

/// See [`require_scope`].
#[derive(Clone, Debug)]
pub struct RequireScope {
    scope: String,
}

impl MethodPolicy for RequireScope {
    fn check(&self, token: &Verified, _call: &CallView<'_>) -> Result<(), Denial> {
        if token.has_scope(&self.scope) { Ok(()) } else { Err(Denial::insufficient_scope(self.scope.clone())) }
    }
}

/// Any verified token may call.
pub fn allow_authenticated() -> AllowAuthenticated {
    AllowAuthenticated
}

/// See [`allow_authenticated`].
#[derive(Clone, Copy, Debug, Default)]
pub struct AllowAuthenticated;

impl MethodPolicy for AllowAuthenticated {
    fn check(&self, _token: &Verified, _call: &CallView<'_>) -> Result<(), Denial> {
        Ok(())
    }
}

/// A string claim of the token (e.g. `tenant_id`) must equal a value from the request:
/// a [`ValuePolicy<str>`] for [`RequestExt::authorize`](crate::ext::RequestExt::authorize).
/// A missing or non-string claim is a denial too.
#[derive(Clone, Debug)]
pub struct ClaimEquals {
    claim: String,
    reason: String,
}

impl ClaimEquals {
    /// Compares the claim named `claim`.
    pub fn new(claim: impl Into<String>) -> Self {
        let claim = claim.into();
        let reason = format!("the token's {claim} does not match the request");
        ClaimEquals { claim, reason }
    }
}

impl ValuePolicy<str> for ClaimEquals {
    fn check_value(&self, token: &Verified, value: &str) -> Result<(), Denial> {
        let matches = match token.claims() {
            Ok(claims) => claims.get(&self.claim).and_then(|v| v.as_str()) == Some(value),
            Err(_) => false,
        };
        if matches { Ok(()) } else { Err(Denial::forbidden(self.reason.clone())) }
    }
}

impl ValuePolicy<String> for ClaimEquals {
    fn check_value(&self, token: &Verified, value: &String) -> Result<(), Denial> {
        <Self as ValuePolicy<str>>::check_value(self, token, value)
    }
}

/// A method pattern that is not `/package.Service/Method` or `/package.Service/*`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid gRPC method pattern {0:?}: expected /package.Service/Method or /package.Service/*")]
pub struct MethodMapError(String);

/// The requirements per gRPC method. Unlisted methods are denied (`PERMISSION_DENIED` for a
/// verified caller) unless [`MethodMap::default_policy`] says otherwise; an exact method
/// entry wins over its service's `/*` entry.
#[derive(Clone, Default)]
pub struct MethodMap {
    methods: HashMap<String, Arc<dyn MethodPolicy>>,
    services: HashMap<String, Arc<dyn MethodPolicy>>,
    default: Option<Arc<dyn MethodPolicy>>,
}

impl fmt::Debug for MethodMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut methods: Vec<&str> = self.methods.keys().map(String::as_str).collect();
        methods.sort_unstable();
        let mut services: Vec<&str> = self.services.keys().map(String::as_str).collect();
        services.sort_unstable();
        f.debug_struct("MethodMap")
            .field("methods", &methods)
            .field("services", &services)
            .field("default", &if self.default.is_some() { "custom" } else { "deny" })
            .finish()
    }
}

/// Splits `/package.Service/Method` into (`package.Service`, `Method`).
pub(crate) fn split_path(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix('/')?;
    let (service, method) = rest.split_once('/')?;
    if service.is_empty() || method.is_empty() || method.contains('/') {
        return None;
    }
    Some((service, method))
}

impl MethodMap {
    /// An empty map: every method is denied.
    pub fn new() -> Self {
        MethodMap::default()
    }

    /// Requires `policy` for `pattern`: `/package.Service/Method`, or
    /// `/package.Service/*` for every method of a service.
    pub fn method(mut self, pattern: &str, policy: impl MethodPolicy) -> Result<Self, MethodMapError> {
        let (service, method) = split_path(pattern).ok_or_else(|| MethodMapError(pattern.to_owned()))?;
        if method == "*" {
            self.services.insert(service.to_owned(), Arc::new(policy));
        } else if method.contains('*') {
            return Err(MethodMapError(pattern.to_owned()));
        } else {
            self.methods.insert(pattern.to_owned(), Arc::new(policy));
        }
        Ok(self)
    }

    /// The policy for methods that are not listed (by default they are all denied).
    pub fn default_policy(mut self, policy: impl MethodPolicy) -> Self {
        self.default = Some(Arc::new(policy));
        self
    }

    /// The policy that applies to `path`, or `None` when the call is denied.
    pub fn policy_for(&self, path: &str) -> Option<&dyn MethodPolicy> {
        if let Some(policy) = self.methods.get(path) {
            return Some(policy.as_ref());
        }
        if let Some((service, _)) = split_path(path)
            && let Some(policy) = self.services.get(service)
        {
            return Some(policy.as_ref());
        }
        self.default.as_deref()
    }
}

/// The services served without a token, by full name (`package.Service`).
///
/// By default: `grpc.health.v1.Health`, `grpc.reflection.v1.ServerReflection` and
/// `grpc.reflection.v1alpha.ServerReflection`. An exempt call is passed on untouched: no
/// token is looked for, none is verified, none is put in the extensions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exemptions {
    services: Vec<String>,
}

/// The services exempted unless configured otherwise.
pub const DEFAULT_EXEMPT_SERVICES: [&str; 3] =
    ["grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"];

impl Default for Exemptions {
    fn default() -> Self {
        Exemptions { services: DEFAULT_EXEMPT_SERVICES.iter().map(|s| (*s).to_owned()).collect() }
    }
}

impl Exemptions {
    /// No service is exempt.
    pub fn none() -> Self {
        Exemptions { services: Vec::new() }
    }

    /// Also exempts `service` (`package.Service`).
    pub fn service(mut self, service: impl Into<String>) -> Self {
        self.services.push(service.into());
        self
    }

    /// Whether the call to `path` is exempt. Only a well-formed path of an exempt service
    /// is (`/grpc.health.v1.Health/Check`, not `/grpc.health.v1.Health/../x`).
    pub fn is_exempt(&self, path: &str) -> bool {
        match split_path(path) {
            Some((service, _)) => self.services.iter().any(|s| s == service),
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_are_checked() {
        for bad in ["", "/", "Svc/M", "/Svc", "/Svc/", "//M", "/Svc/M/x", "/Svc/Get*"] {
            assert!(MethodMap::new().method(bad, allow_authenticated()).is_err(), "{bad}");
        }
    }

    #[test]
    fn exact_wins_and_unlisted_is_none() {
        let deny = |_: &Verified, _: &CallView<'_>| Err(Denial::forbidden("exact"));
        let map = MethodMap::new().method("/p.S/*", allow_authenticated()).and_then(|m| m.method("/p.S/Secret", deny));
        let map = map.unwrap_or_default();
        assert!(map.policy_for("/p.S/Open").is_some());
        assert!(map.policy_for("/p.S/Secret").is_some());
        assert!(map.policy_for("/p.T/Open").is_none());
        assert!(map.policy_for("/p.S").is_none());
        let with_default = map.default_policy(allow_authenticated());
        assert!(with_default.policy_for("/p.T/Open").is_some());
    }

    #[test]
    fn exemptions_by_exact_service_name() {
        let e = Exemptions::default();
        assert!(e.is_exempt("/grpc.health.v1.Health/Check"));
        assert!(e.is_exempt("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"));
        assert!(e.is_exempt("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"));
        assert!(!e.is_exempt("/grpc.health.v1.HealthX/Check"));
        assert!(!e.is_exempt("/grpc.health.v1.Health/Check/x"));
        assert!(!e.is_exempt("/x.grpc.health.v1.Health/Check"));
        assert!(!Exemptions::none().is_exempt("/grpc.health.v1.Health/Check"));
        assert!(Exemptions::none().service("a.B").is_exempt("/a.B/C"));
    }
}
