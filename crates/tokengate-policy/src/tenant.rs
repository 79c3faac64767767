//! [`Tenant`]: the token's tenant claim must be the request's tenant, and, with
//! tenant-specific issuers, the token must come from that tenant's issuer.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use tokengate_core::{Denial, Verified};

use crate::policy::{Policy, PolicyRequest, claim_str};

/// The claim holding the token's tenant unless [`Tenant::claim`] says otherwise.
pub const DEFAULT_TENANT_CLAIM: &str = "tenant_id";

/// Where the request names its tenant.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TenantSource {
    /// A path parameter of the matched route (`/t/{tenant}/orders`).
    PathParam(String),
    /// The first label of the host, under a base domain: `acme.api.example` with base
    /// `api.example` is `acme`. Hosts not directly under the base name no tenant.
    HostSubdomain(String),
    /// A header (or gRPC metadata entry); a repeated header names no tenant.
    Header(String),
    /// The handler-supplied value ([`PolicyRequest::for_value`]).
    Value,
}

/// Requires the token's tenant claim (default `tenant_id`) to equal the request's tenant
/// and, when tenants have their own issuers ([`Tenant::issuer`]), the token's `iss` to be
/// that tenant's issuer: a `tenant_id: globex` signed by acme's issuer is refused. Refused
/// with [`DenialKind::Forbidden`](tokengate_core::DenialKind::Forbidden) (policy
/// `"tenant"`), whose reason says which check failed.
///
/// ```
/// use tokengate_policy::Tenant;
/// let tenant = Tenant::from_path_param("tenant")
///     .issuer("acme", "https://login.example/acme")
///     .issuer("globex", "https://login.example/globex");
/// # let _ = tenant;
/// ```
#[derive(Clone, Debug)]
pub struct Tenant {
    source: TenantSource,
    claim: Arc<str>,
    issuers: Option<Arc<HashMap<String, String>>>,
}

/// The reason when the request names no tenant.
pub const NO_TENANT: &str = "the request names no tenant";
/// The reason when the tenant has no configured issuer.
pub const UNKNOWN_TENANT: &str = "the requested tenant is unknown";
/// The reason when the token's `iss` is not the tenant's issuer.
pub const WRONG_ISSUER: &str = "the token was not issued by the requested tenant's issuer";

impl Tenant {
    /// The tenant from `source`.
    pub fn new(source: TenantSource) -> Self {
        Tenant { source, claim: DEFAULT_TENANT_CLAIM.into(), issuers: None }
    }

    /// The tenant from the path parameter `name`.
    pub fn from_path_param(name: impl Into<String>) -> Self {
        Tenant::new(TenantSource::PathParam(name.into()))
    }

    /// The tenant from the host's first label under `base_domain`.
    pub fn from_host_subdomain(base_domain: impl Into<String>) -> Self {
        Tenant::new(TenantSource::HostSubdomain(base_domain.into()))
    }

    /// The tenant from the header `name`.
    pub fn from_header(name: impl Into<String>) -> Self {
        Tenant::new(TenantSource::Header(name.into()))
    }

    /// The tenant a handler supplies ([`PolicyRequest::for_value`]).
    pub fn from_value() -> Self {
        Tenant::new(TenantSource::Value)
    }

    /// The claim holding the token's tenant (default [`DEFAULT_TENANT_CLAIM`]; a dotted
    /// path reaches into objects).
    pub fn claim(mut self, name: impl AsRef<str>) -> Self {
        self.claim = name.as_ref().into();
        self
    }

    /// Tokens for `tenant` must be issued by `issuer` (exact `iss`). Once any issuer is
    /// set, a tenant without one is refused.
    pub fn issuer(mut self, tenant: impl Into<String>, issuer: impl Into<String>) -> Self {
        let mut map = self.issuers.map(Arc::unwrap_or_clone).unwrap_or_default();
        map.insert(tenant.into(), issuer.into());
        self.issuers = Some(Arc::new(map));
        self
    }

    /// The tenant the request names, if any.
    pub fn requested<'a>(&self, request: &PolicyRequest<'a>) -> Option<Cow<'a, str>> {
        let tenant = match &self.source {
            TenantSource::PathParam(name) => request.param(name),
            TenantSource::Header(name) => request.header(name).map(Cow::Borrowed),
            TenantSource::Value => request.value().map(Cow::Borrowed),
            TenantSource::HostSubdomain(base) => {
                let host = request.get_host()?;
                let label = host.strip_suffix(base.as_str())?.strip_suffix('.')?;
                (!label.contains('.')).then(|| Cow::Owned(label.to_ascii_lowercase()))
            }
        };
        tenant.filter(|t| !t.is_empty())
    }

    fn mismatch(&self) -> Denial {
        Denial::forbidden("tenant", format!("the token's {} does not match the requested tenant", self.claim))
    }
}

impl Policy for Tenant {
    fn check(&self, token: &Verified, request: &PolicyRequest<'_>) -> Result<(), Denial> {
        let Some(tenant) = self.requested(request) else {
            return Err(Denial::forbidden("tenant", NO_TENANT));
        };
        if claim_str(token, &self.claim) != Some(tenant.as_ref()) {
            return Err(self.mismatch());
        }
        if let Some(issuers) = &self.issuers {
            let Some(issuer) = issuers.get(tenant.as_ref()) else {
                return Err(Denial::forbidden("tenant", UNKNOWN_TENANT));
            };
            if token.issuer() != Some(issuer.as_str()) {
                return Err(Denial::forbidden("tenant", WRONG_ISSUER));
            }
        }
        Ok(())
    }
}
