//! # tokengate
//!
//! Verify JSON Web Tokens in front of axum routes and tonic gRPC services.
//! This is the facade: it re-exports the workspace crates behind features.
//!
//! | feature | module | default |
//! | --- | --- | --- |
//! | (always) | [`core`]: `Verifier`, `Key`/`KeySet`, `Verified`, `AuthError` | yes |
//! | `jwks` | `jwks`: key sources and the hot-swapped `JwksCache` | yes |
//! | `tower` | `tower`: `Authenticator`, `JwtAuthLayer`, token sources, RFC 6750 / RFC 9457 responses | yes |
//! | `axum` | `axum`: `Claims<T>`, `Option<Claims<T>>`, `VerifiedToken` | yes |
//! | `issuer` | `issuer`: signers, minting, a JWKS endpoint, the dev-only issuer | no |
//! | `introspection` | `introspection`: an RFC 7662 client (opaque tokens, zero trust) | no |
//! | `tonic` | `tonic`: the gRPC layer, `tonic::Status` mapping, per-method policies, token providers | no |
//! | `client-credentials` | `tonic::client::ClientCredentials` (OAuth 2.0 client credentials) | no |
//! | `cwt` | `cwt`: CBOR Web Tokens (RFC 8392) with the same keys and checks | no |
//! | `pop` | `pop`: certificate-bound tokens (RFC 8705), `CertificateBindingLayer`, DPoP (RFC 9449) | no |
//! | `tls` | `pop::serve_tls`: HTTPS for axum on rustls, client certificates requested | no |
//!
//! An axum router protected by an OpenID Connect issuer, in two statements:
//!
//! ```no_run
//! # use axum::{Router, routing::get};
//! # use tokengate::tower::JwtAuthLayer;
//! # async fn me() {}
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let verifier = tokengate::discover("https://idp.example.com/").await?.audience("orders-api").build()?;
//! let app: Router = Router::new().route("/me", get(me)).route_layer(JwtAuthLayer::new(verifier));
//! # Ok(()) }
//! ```
//!
//! `cargo run --example quickstart` starts a protected API with an embedded dev issuer
//! and prints the curl commands to try it.

#[cfg(feature = "jwks")]
mod discover;

#[cfg(feature = "jwks")]
pub use discover::{Discovered, discover};
pub use tokengate_core as core;
pub use tokengate_core::{Algorithm, AuthError, ErrorKind, Key, KeySet, Verified, Verifier};

/// Key sources and the hot-swapped JWKS cache (`tokengate-jwks`).
#[cfg(feature = "jwks")]
pub use tokengate_jwks as jwks;

/// The transport-neutral `Authenticator` and the tower layer: `JwtAuthLayer`, token sources,
/// RFC 6750 / RFC 9457 responses (`tokengate-tower`).
#[cfg(feature = "tower")]
pub use tokengate_tower as tower;

/// The axum extractors (`tokengate-axum`).
#[cfg(feature = "axum")]
pub use tokengate_axum as axum;

/// Per-route policies: scope, roles, tenant, region, delegation, zero trust, and/or/not,
/// `PolicyLayer` (`tokengate-policy`).
#[cfg(feature = "policy")]
pub use tokengate_policy as policy;

/// Signers, token minting, a JWKS endpoint and the dev-only issuer (`tokengate-issuer`).
#[cfg(feature = "issuer")]
pub use tokengate_issuer as issuer;

/// CBOR Web Tokens (RFC 8392) verified with the same keys and checks (`tokengate-cwt`).
#[cfg(feature = "cwt")]
pub use tokengate_cwt as cwt;
/// An RFC 7662 introspection client: opaque tokens and zero trust (`tokengate-introspection`).
#[cfg(feature = "introspection")]
pub use tokengate_introspection as introspection;
/// OpenID Connect: ID token rules (`IdTokenValidator`) and self-issued ID tokens
/// (`SelfIssuedValidator`).
#[cfg(feature = "oidc")]
pub use tokengate_oidc as oidc;
/// gRPC: the tonic server layer, `tonic::Status` mapping, per-method policies, streams cut
/// at token expiry or revocation, token providers for clients (`tokengate-tonic`).
#[cfg(feature = "tonic")]
pub use tokengate_tonic as tonic;

/// Proof of possession: certificate-bound tokens, HTTPS with client certificates (`tokengate-pop`).
#[cfg(feature = "pop")]
pub use tokengate_pop as pop;
/// Revocation rules checked on every request (feature `revocation`; `revocation-redis`,
/// `revocation-admin` and `revocation-intake` add the Redis store, the admin router and the
/// event intake).
#[cfg(feature = "revocation")]
pub use tokengate_revocation as revocation;

/// The names most programs need.
pub mod prelude {
    #[cfg(feature = "axum")]
    pub use tokengate_axum::{AuthRejection, Claims, VerifiedToken};
    pub use tokengate_core::{Algorithm, AuthError, ErrorKind, Key, KeySet, Verified, Verifier};
    #[cfg(feature = "jwks")]
    pub use tokengate_jwks::JwksCache;
    #[cfg(feature = "tower")]
    pub use tokengate_tower::JwtAuthLayer;
}
