//! # tokengate-introspection
//!
//! An OAuth 2.0 token introspection client (RFC 7662) for tokengate: for opaque access
//! tokens, which only the authorization server can judge, and for zero-trust deployments
//! that want the server's word on every JWT too (a revocation there is seen within the
//! cache TTL).
//!
//! [`Introspector`] implements [`tokengate_core::RemoteVerifier`] and returns the same
//! [`Verified`](tokengate_core::Verified) shape as a JWT verification (no JOSE header; the
//! registered claims from the answer; the answer object as the raw claims), so extractors,
//! scopes and policies work unchanged.
//!
//! - Client authentication ([`ClientAuth`]): `client_secret_basic`, `client_secret_post`,
//!   `private_key_jwt` (signed by any [`tokengate_issuer::Signer`], a KMS included).
//! - The endpoint from the issuer's metadata (`introspection_endpoint`, OpenID Connect
//!   discovery or RFC 8414), or configured.
//! - The rules of a JWT apply to the answer: `active`, audience, issuer, `exp`/`nbf`/`iat`.
//! - Answers cached by HMAC of the token until `exp` or a TTL; refusals briefly;
//!   single-flight; a timeout and a concurrency cap; an unreachable or misbehaving server is
//!   [`ErrorKind::IntrospectionUnavailable`](tokengate_core::ErrorKind::IntrospectionUnavailable)
//!   (HTTP 503), never a 401.
//! - Zero trust: [`Introspector::zero_trust`] re-checks JWTs that verified locally
//!   (`Authenticator::remote_after_local` in tokengate-tower), so a revocation at the
//!   authorization server is seen within the cache TTL.
//! - Signed answers (RFC 9701, `application/token-introspection+jwt`) verified with the
//!   server's keys through a tokengate [`Verifier`](tokengate_core::Verifier)
//!   ([`IntrospectorBuilder::jwt_responses`]).
//!
//! ```no_run
//! use tokengate_core::RemoteVerifier;
//! use tokengate_introspection::{ClientAuth, Introspector};
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let introspector = Introspector::builder("https://login.example", "orders-api")
//!     .client_auth(ClientAuth::secret_basic("orders-api", "s3cr3t"))
//!     .build()
//!     .await?;
//! let verified = introspector.verify_remote("an-opaque-token").await?;
//! println!("{:?} may {:?}", verified.subject(), verified.scopes());
//! # Ok(()) }
//! ```

mod builder;
mod cache;
mod client_auth;
mod error;
mod introspector;
mod response;
mod transport;

pub use builder::{
    DEFAULT_CACHE_TTL, DEFAULT_MAX_BODY, DEFAULT_MAX_CONCURRENT, DEFAULT_MAX_ENTRIES, DEFAULT_NEGATIVE_TTL,
    DEFAULT_TIMEOUT, IntrospectorBuilder,
};
pub use client_auth::{ClientAuth, JWT_BEARER_ASSERTION};
pub use error::IntrospectionError;
pub use introspector::{Introspector, ZeroTrust};
pub use transport::JWT_RESPONSE_TYPE;
