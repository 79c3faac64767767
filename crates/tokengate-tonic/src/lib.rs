//! # tokengate-tonic
//!
//! gRPC for tokengate: the same verification as the HTTP layer, errors in gRPC's own terms,
//! and streams that never outlive their token.
//!
//! - **Server**: [`GrpcAuthLayer`] for `tonic::transport::Server::builder().layer(...)`:
//!   the `authorization: Bearer` metadata (or another key), verified; per-method
//!   requirements ([`methods::MethodMap`], unlisted methods denied); `grpc.health.v1.Health`
//!   and server reflection exempt by name; server-streaming and bidirectional responses
//!   ended with `UNAUTHENTICATED` trailers when the token expires or is revoked
//!   ([`stream`]). [`AuthInterceptor`] is a synchronous convenience over loaded keys.
//! - **One mapping** to [`tonic::Status`] ([`status`]): `UNAUTHENTICATED` for a caller that
//!   could not be identified, `PERMISSION_DENIED` only for a policy denial of a verified
//!   caller, `UNAVAILABLE` when keys or revocation status cannot be had; a
//!   `www-authenticate` metadata entry mirrors the HTTP challenge; no token text anywhere.
//! - **Handlers** read the token with [`RequestExt`]: `request.token()`,
//!   `request.claims::<T>()`, `request.authorize(&policy, &message.tenant_id)`.
//! - **Clients** ([`client`]): a [`client::TokenProvider`] (static, client credentials,
//!   the caller's token forwarded) attached by one [`client::AuthorizeLayer`] on a tonic
//!   `Channel` or an HTTP client.
//!
//! ```
//! use tokengate_core::{Algorithm, Key, KeySet, Verifier};
//! use tokengate_tonic::GrpcAuthLayer;
//! use tokengate_tonic::methods::{MethodMap, require_scope};
//!
//! let verifier = Verifier::builder(KeySet::new([Key::hmac(Algorithm::HS256, &[7u8; 32])?])?)
//!     .issuer("https://issuer.example")
//!     .audience("orders")
//!     .algorithms([Algorithm::HS256])
//!     .build()?;
//! let methods = MethodMap::new().method("/tokengate.example.v1.Orders/*", require_scope("orders:read"))?;
//! let layer = GrpcAuthLayer::new(verifier).realm("orders").methods(methods);
//! // tonic::transport::Server::builder().layer(layer).add_service(OrdersServer::new(svc))
//! # let _ = layer;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod authn;
pub mod client;
mod ext;
mod interceptor;
mod layer;
pub mod methods;
pub mod status;
pub mod stream;

pub use ext::{IncomingToken, RequestExt};
pub use interceptor::AuthInterceptor;
pub use layer::{GrpcAuth, GrpcAuthLayer, ResponseFuture};
pub use stream::AuthBody;
