//! The authentication middleware: [`JwtAuthLayer`], [`JwtAuth`] and [`ResponseFuture`].
//!
//! For each request the layer finds the token (see [`crate::source`]), verifies it with
//! each configured [`Verifier`](tokengate_core::Verifier) in order until one accepts it,
//! and then either
//!
//! - inserts the verified token into the request extensions as
//!   **`Arc<tokengate_core::Verified>`** (that is, `Arc<Verified<serde_json::Value>>`),
//!   exactly once, and calls the inner service; or
//! - answers with a rejection (see [`crate::response`]) without calling the inner service.
//!
//! It also inserts its [`BearerChallenge`](crate::response::BearerChallenge) into the
//! request extensions, so that extractors further in (e.g. tokengate-axum's) know the layer
//! ran and answer with the same realm. In optional mode a request without a token goes on
//! with the challenge but without a `Verified`.
//!
//! Put layers that must answer without a token outside this one: a CORS layer (browsers
//! send preflight `OPTIONS` requests without credentials), and the failure rate limiter
//! (module `rate_limit`, feature `rate-limit`), which must see the rejections.
//!
//! ```
//! use std::convert::Infallible;
//! use std::sync::Arc;
//! use http::{Request, Response, StatusCode};
//! use tokengate_core::{Algorithm, Key, KeySet, Verified, Verifier};
//! use tokengate_tower::JwtAuthLayer;
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let key = Key::hmac(Algorithm::HS256, &[7; 32]).unwrap();
//! let verifier = Verifier::builder(KeySet::new([key]).unwrap())
//!     .issuer("https://issuer.example")
//!     .audience("orders")
//!     .algorithms([Algorithm::HS256])
//!     .build()
//!     .unwrap();
//!
//! let service = ServiceBuilder::new()
//!     .layer(JwtAuthLayer::new(verifier).realm("orders"))
//!     .service_fn(|req: Request<()>| async move {
//!         let who = req.extensions().get::<Arc<Verified>>().and_then(|v| v.subject().map(str::to_owned));
//!         Ok::<_, Infallible>(Response::new(who.unwrap_or_default()))
//!     });
//!
//! // No token: 401 with a bare challenge.
//! let response = service.clone().oneshot(Request::new(())).await.unwrap();
//! assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
//! assert_eq!(response.headers()["www-authenticate"], r#"Bearer realm="orders""#);
//!
//! // A garbled token: 401 invalid_token.
//! let request = Request::builder().header("authorization", "Bearer a.b.c").body(()).unwrap();
//! let response = service.clone().oneshot(request).await.unwrap();
//! assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
//! assert!(response.headers()["www-authenticate"].to_str().unwrap().contains(r#"error="invalid_token""#));
//!
//! // Two Authorization headers: 400 invalid_request.
//! let request = Request::builder()
//!     .header("authorization", "Bearer a.b.c")
//!     .header("authorization", "Bearer d.e.f")
//!     .body(())
//!     .unwrap();
//! assert_eq!(service.oneshot(request).await.unwrap().status(), StatusCode::BAD_REQUEST);
//! # });
//! ```

mod future;
mod layer;
mod service;

pub use future::ResponseFuture;
pub use layer::JwtAuthLayer;
pub use service::JwtAuth;
