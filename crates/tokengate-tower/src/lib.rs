//! # tokengate-tower
//!
//! A [tower] layer that verifies JSON Web Tokens on any [`http::Request`], with no axum or
//! tonic dependency: [`JwtAuthLayer`] / [`JwtAuth`] / [`auth::ResponseFuture`].
//!
//! - **Token sources** ([`source`]): `Authorization: Bearer` by default; a cookie, a
//!   header, a query parameter or your own [`TokenSource`]. A request that carries a
//!   token in more than one of the configured sources is a 400 `invalid_request`.
//! - **One authentication step for every transport** ([`Authenticator`]): verifiers in
//!   order, the verified-token cache, the unknown-kid refresh, revocation and remote
//!   (introspection) hooks. [`JwtAuthLayer`] adapts it to HTTP; a gRPC layer adapts the same.
//! - **RFC 6750 + RFC 9457 responses** ([`response`], the one HTTP mapping): 401 with
//!   `WWW-Authenticate: Bearer realm="…"` when the token is missing, `error="invalid_token"`
//!   when it is bad, 400 `invalid_request` for a malformed request, 503 with `Retry-After`
//!   when keys (or revocation, or introspection) cannot be had; an
//!   `application/problem+json` body saying why ([`Problem`]), or none
//!   ([`JwtAuthLayer::empty_body`]). Pluggable through [`OnRejection`] (closures work); the
//!   typed [`AuthError`](tokengate_core::AuthError) is always in the response extensions.
//! - **On success** the token goes into the request extensions, once, as
//!   **`Arc<tokengate_core::Verified>`** (custom claims as `serde_json::Value`, deserialized
//!   into your own types on demand). tokengate-axum's `Claims<T>` and `VerifiedToken`
//!   read it from there.
//! - **Optional mode**: no token, no problem (a bad token is still refused).
//! - **Several verifiers** (one per issuer, say), tried in order.
//! - **RFC 9728** protected resource metadata ([`metadata`]).
//! - **Verified-token cache** (feature `cache`, module `cache`) and **failure rate
//!   limiting** (feature `rate-limit`, module `rate_limit`). Both are off by default.
//! - **Tracing**: one `tokengate.verify` span per verification, with `alg`, `kid`, `iss`,
//!   `outcome` (and `sub` only when [`JwtAuthLayer::record_subject`] is set). The token and
//!   its signature are never logged.
//!
//! ```
//! use std::convert::Infallible;
//! use http::{Request, Response, StatusCode};
//! use tokengate_core::{Algorithm, Key, KeySet, Verifier};
//! use tokengate_tower::JwtAuthLayer;
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let secret = [7u8; 32];
//! let verifier = Verifier::builder(KeySet::new([Key::hmac(Algorithm::HS256, &secret).unwrap()]).unwrap())
//!     .issuer("https://issuer.example")
//!     .audience("orders")
//!     .algorithms([Algorithm::HS256])
//!     .build()
//!     .unwrap();
//! let service = ServiceBuilder::new()
//!     .layer(JwtAuthLayer::new(verifier))
//!     .service_fn(|_req: Request<()>| async { Ok::<_, Infallible>(Response::new(String::new())) });
//!
//! let claims = serde_json::json!({
//!     "iss": "https://issuer.example", "aud": "orders", "sub": "alice",
//!     "exp": jsonwebtoken::get_current_timestamp() + 60,
//! });
//! let key = jsonwebtoken::EncodingKey::from_secret(&secret).unwrap();
//! let token = jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &key).unwrap();
//!
//! let request = Request::builder().header("authorization", format!("Bearer {token}")).body(()).unwrap();
//! assert_eq!(service.clone().oneshot(request).await.unwrap().status(), StatusCode::OK);
//! assert_eq!(service.oneshot(Request::new(())).await.unwrap().status(), StatusCode::UNAUTHORIZED);
//! # });
//! ```
//!
//! With axum, put the layer on the routes it protects with `Router::route_layer`, so that
//! an unknown path stays a 404 instead of becoming a 401.
//!
//! [tower]: https://docs.rs/tower

pub mod auth;
pub mod authenticator;
#[cfg(feature = "cache")]
pub mod cache;
pub mod denial;
pub mod metadata;
pub mod metrics;
#[cfg(feature = "rate-limit")]
pub mod rate_limit;
pub mod response;
pub mod source;

pub use auth::{JwtAuth, JwtAuthLayer};
pub use authenticator::{Authentication, Authenticator, AuthenticatorBuilder, PendingAuthentication};
pub use denial::DenialResponse;
pub use metadata::{MetadataService, ProtectedResourceMetadata};
pub use response::{BearerChallenge, OnRejection, Problem, ProblemDetails, Rejection, Rfc6750};
pub use source::{RequestHead, TokenSource, TokenSources};
