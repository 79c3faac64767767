//! Per-method requirements: a [`MethodMap`] from `/package.Service/Method` and
//! `/package.Service/*` to a [`Policy`] of tokengate-policy, with a default for unlisted
//! methods that **denies**; and the services exempted by name ([`Exemptions`]:
//! `grpc.health.v1.Health` and server reflection).
//!
//! A policy runs after the token verified, on every call, over the [`PolicyRequest`] made
//! by [`policy_request`] (the gRPC path, the `:authority`, the metadata as headers); a
//! refusal is a [`Denial`], answered by [`crate::status`]
//! (`PERMISSION_DENIED`, or `UNAUTHENTICATED` for an RFC 9470 step-up).
//!
//! ```
//! use tokengate_policy::{PolicyExt, Region, Scope};
//! use tokengate_tonic::methods::{MethodMap, allow_authenticated};
//!
//! let map = MethodMap::new()
//!     .method("/tokengate.example.v1.Orders/ListOrders", Scope::all_of(["orders:read"]).and(Region::new("eu-west-1")))?
//!     .method("/tokengate.example.v1.Orders/*", Scope::all_of(["orders:admin"]))?
//!     .method("/acme.Status/*", allow_authenticated())?;
//! assert!(map.policy_for("/tokengate.example.v1.Orders/WatchOrders").is_some());
//! assert!(map.policy_for("/acme.Other/Call").is_none()); // unlisted: denied
//! # Ok::<(), tokengate_tonic::methods::MethodMapError>(())
//! ```

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use tokengate_core::{Denial, Verified};
use tokengate_policy::{Policy, PolicyRequest};

/// The [`PolicyRequest`] of a gRPC call, as the per-method policies see it: the path
/// (`/package.Service/Method`), the method set to the gRPC method name (`ListOrders`),
/// the host from `:authority` (or a `host` entry), the metadata as headers, and the
/// request extensions.
pub fn policy_request<B>(request: &http::Request<B>) -> PolicyRequest<'_> {
    let view = PolicyRequest::from_request(request);
    match split_path(request.uri().path()) {
        Some((_, method)) => view.method(method),
        None => view,
    }
}

/// Any verified token may call (a [`Policy`] that always allows).
pub fn allow_authenticated() -> AllowAuthenticated {
    AllowAuthenticated
}

/// See [`allow_authenticated`].
#[derive(Clone, Copy, Debug, Default)]
pub struct AllowAuthenticated;

impl Policy for AllowAuthenticated {
    fn check(&self, _token: &Verified, _request: &PolicyRequest<'_>) -> Result<(), Denial> {
        Ok(())
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
    methods: HashMap<String, Arc<dyn Policy>>,
    services: HashMap<String, Arc<dyn Policy>>,
    default: Option<Arc<dyn Policy>>,
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
    pub fn method(mut self, pattern: &str, policy: impl Policy + 'static) -> Result<Self, MethodMapError> {
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
    pub fn default_policy(mut self, policy: impl Policy + 'static) -> Self {
        self.default = Some(Arc::new(policy));
        self
    }

    /// The policy that applies to `path`, or `None` when the call is denied.
    pub fn policy_for(&self, path: &str) -> Option<&dyn Policy> {
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
        let deny =
            tokengate_policy::policy_fn(|_: &Verified, _: &PolicyRequest<'_>| Err(Denial::forbidden("t", "exact")));
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
    fn grpc_calls_as_policy_requests() {
        let mut request = http::Request::new(());
        *request.uri_mut() = http::Uri::from_static("http://orders.example:50051/p.S/List");
        request.headers_mut().insert("x-tenant", http::HeaderValue::from_static("acme"));
        let view = policy_request(&request);
        assert_eq!(view.get_path(), Some("/p.S/List"));
        assert_eq!(view.get_method(), Some("List"));
        assert_eq!(view.get_host(), Some("orders.example"));
        assert_eq!(view.header("x-tenant"), Some("acme"));
        *request.uri_mut() = http::Uri::from_static("/not-grpc");
        assert_eq!(policy_request(&request).get_method(), Some("GET"));
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
