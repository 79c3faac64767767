//! # tokengate-policy
//!
//! Authentication says who; policies say whether this token may do this here. A
//! [`Policy`] decides from the verified token and a transport-neutral view of the request
//! ([`PolicyRequest`]: method, path, host, headers or gRPC metadata, path parameters,
//! extensions, or a value a handler extracted itself), and answers `Ok(())` or a
//! [`Denial`](tokengate_core::Denial). Policies run on every request, after the
//! verified-token cache; nothing is cached beyond the request.
//!
//! | policy | checks | refused as |
//! | --- | --- | --- |
//! | [`Scope`] | `scope` (space-separated) / `scp` (string or array): all-of or any-of | 403 `insufficient_scope`, `scope="…"` |
//! | [`ClaimContains`] | `roles`, `groups` or any claim path holds values | 403 |
//! | [`Tenant`] | the tenant claim (`tenant_id`) equals the request's tenant (path parameter, host subdomain, header, handler value); the token comes from that tenant's issuer | 403 |
//! | [`Region`] | the `region` claim is the service's or a failover region; optionally the region's issuer | 403 |
//! | [`Delegation`] | the RFC 8693 `act` chain: depth, allowed actors, `may_act` | 403 |
//! | [`ZeroTrust`] | age since `auth_time`, `acr`, `amr`, a claim bound to a header | 401 `insufficient_user_authentication` (RFC 9470 step-up, `max_age` / `acr_values`) or 403 |
//! | [`ClaimEquals`], [`ClaimPredicate`], [`policy_fn`] | anything else | 403 |
//!
//! Compose with [`PolicyExt::and`], [`PolicyExt::or`], [`PolicyExt::not`] (types: [`And`],
//! [`Or`], [`Not`]) or lists ([`All`], [`Any`]), and put the result on a route with
//! [`PolicyLayer`]. The HTTP answers come from tokengate-tower's
//! [`DenialResponse`](tokengate_tower::DenialResponse); gRPC maps denials in tokengate-tonic.
//!
//! ```
//! use std::sync::Arc;
//! use http::{Request, Response, StatusCode};
//! use tokengate_core::{Algorithm, Key, KeySet, Verified, Verifier};
//! use tokengate_policy::{PolicyExt, PolicyLayer, Region, Scope};
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! # let secret = [7u8; 32];
//! # let verifier = Verifier::builder(KeySet::new([Key::hmac(Algorithm::HS256, &secret).unwrap()]).unwrap())
//! #     .any_issuer().any_audience().algorithms([Algorithm::HS256]).build().unwrap();
//! # let exp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() + 60;
//! # let sign = |claims: serde_json::Value| jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims,
//! #     &jsonwebtoken::EncodingKey::from_secret(&secret).unwrap()).unwrap();
//! let service = ServiceBuilder::new()
//!     .layer(PolicyLayer::new(Region::new("eu-west-1").and(Scope::all_of(["orders:read"]))))
//!     .service_fn(|_req: Request<()>| async { Ok::<_, std::convert::Infallible>(Response::new(String::new())) });
//!
//! // The authentication layer puts the verified token into the extensions.
//! let request = |claims| {
//!     let mut request = Request::new(());
//!     request.extensions_mut().insert(Arc::new(verifier.verify(&sign(claims)).unwrap()));
//!     request
//! };
//! let ok = request(serde_json::json!({"exp": exp, "region": "eu-west-1", "scope": "orders:read"}));
//! assert_eq!(service.clone().oneshot(ok).await.unwrap().status(), StatusCode::OK);
//!
//! let no_scope = request(serde_json::json!({"exp": exp, "region": "eu-west-1"}));
//! let response = service.clone().oneshot(no_scope).await.unwrap();
//! assert_eq!(response.status(), StatusCode::FORBIDDEN);
//! assert_eq!(response.headers()["www-authenticate"], r#"Bearer error="insufficient_scope", scope="orders:read""#);
//!
//! let elsewhere = request(serde_json::json!({"exp": exp, "region": "us-east-1", "scope": "orders:read"}));
//! assert_eq!(service.clone().oneshot(elsewhere).await.unwrap().status(), StatusCode::FORBIDDEN);
//!
//! // No verified token: the authentication layer is missing (500, not 401).
//! let response = service.oneshot(Request::new(())).await.unwrap();
//! assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
//! # });
//! ```

mod claims;
mod combinators;
mod delegation;
mod layer;
mod policy;
mod region;
mod scope;
mod tenant;
mod zero_trust;

pub use claims::{ClaimEquals, ClaimPredicate};
pub use combinators::{All, And, Any, Not, Or, PolicyExt, PolicyFn, policy_fn};
pub use delegation::{Actor, Delegation, actor_chain, current_actor};
pub use layer::{PolicyLayer, PolicyService, ResponseFuture};
pub use policy::{PathParams, Policy, PolicyRequest, RouteTemplate, claim};
pub use region::{DEFAULT_REGION_CLAIM, Region};
pub use scope::{ClaimContains, Scope};
pub use tenant::{DEFAULT_TENANT_CLAIM, Tenant, TenantSource};
pub use zero_trust::{AUTH_TIME_LEEWAY_SECS, ZeroTrust};

/// The reason texts of denials, for exact assertions in tests and dashboards.
pub mod reasons {
    pub use crate::delegation::{ACTOR_NOT_ALLOWED, MALFORMED_ACT, MAY_ACT_MISMATCH, NO_ACTOR, TOO_DEEP};
    pub use crate::region::{NO_REGION, WRONG_REGION, WRONG_REGION_ISSUER};
    pub use crate::tenant::{NO_TENANT, UNKNOWN_TENANT, WRONG_ISSUER};
    pub use crate::zero_trust::{MISSING_AMR, TOO_OLD, TOO_OLD_AND_WRONG_ACR, UNBOUND, WRONG_ACR};
}

/// The counter of denials by [`PolicyLayer`] (feature `metrics`, through the `metrics`
/// facade), labelled `policy` with the denying policy's static name (bounded).
pub const POLICY_DENIALS: &str = "tokengate_policy_denials_total";
