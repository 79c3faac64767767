//! # tokengate-axum
//!
//! axum extractors over [`tokengate_tower::JwtAuthLayer`], depending on `axum-core` only:
//!
//! - [`Claims<T>`]: the custom claims as your type, deserialized lazily (once per request);
//! - `Option<Claims<T>>` (through `OptionalFromRequestParts`) for optional routes;
//! - [`VerifiedToken`]: the header and registered claims, and
//!   [`VerifiedToken::require_scope`] for a 403 `insufficient_scope`;
//! - [`AuthRejection`]: every refusal is a response, with the same RFC 6750 / RFC 9457 mapping as the
//!   layer. A route without the layer answers **500** (the layer was forgotten), never 401.
//! - `ConnectInfoKey` (feature `rate-limit`): the failure rate limiter's client key from
//!   axum's `ConnectInfo<SocketAddr>`.
//!
//! The layer inserts the verified token as `Arc<tokengate_core::Verified>` into the request
//! extensions; these extractors read it from there.
//!
//! Protect routes with **`Router::route_layer`**, not `Router::layer`: `route_layer` runs
//! only when a route matched, so an unknown path stays a 404 instead of turning into a
//! 401, and public routes added *after* it stay public.
//!
//! ```
//! use axum::{Router, routing::get};
//! use http::{Request, StatusCode};
//! use serde::Deserialize;
//! use tokengate_axum::{AuthRejection, Claims, VerifiedToken};
//! use tokengate_core::{Algorithm, Key, KeySet, Verifier};
//! use tokengate_tower::JwtAuthLayer;
//! use tower::ServiceExt;
//!
//! #[derive(Deserialize)]
//! struct MyClaims {
//!     sub: String,
//! }
//!
//! async fn me(Claims(claims): Claims<MyClaims>) -> String {
//!     claims.sub.clone()
//! }
//!
//! async fn admin(token: VerifiedToken) -> Result<&'static str, AuthRejection> {
//!     token.require_scope("admin")?;
//!     Ok("welcome")
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let verifier = Verifier::builder(KeySet::new([Key::hmac(Algorithm::HS256, &[7; 32]).unwrap()]).unwrap())
//!     .issuer("https://issuer.example")
//!     .audience("orders")
//!     .algorithms([Algorithm::HS256])
//!     .build()
//!     .unwrap();
//!
//! let app = Router::new()
//!     .route("/me", get(me))
//!     .route("/admin", get(admin))
//!     .route_layer(JwtAuthLayer::new(verifier).realm("orders")) // protects the routes above
//!     .route("/public", get(|| async { "hello" })); // added after: stays public
//!
//! let status = |uri: &'static str| {
//!     let app = app.clone();
//!     async move { app.oneshot(Request::get(uri).body(axum::body::Body::empty()).unwrap()).await.unwrap().status() }
//! };
//! assert_eq!(status("/me").await, StatusCode::UNAUTHORIZED);
//! assert_eq!(status("/public").await, StatusCode::OK);
//! assert_eq!(status("/nowhere").await, StatusCode::NOT_FOUND); // not 401
//! # });
//! ```

mod claims;
#[cfg(feature = "rate-limit")]
mod client_key;
#[cfg(feature = "health")]
pub mod health;
mod rejection;
mod token;

pub use claims::Claims;
#[cfg(feature = "rate-limit")]
pub use client_key::ConnectInfoKey;
pub use rejection::{AuthRejection, MISSING_LAYER_MESSAGE};
pub use token::VerifiedToken;

/// The layer, re-exported for convenience.
pub use tokengate_tower::JwtAuthLayer;
