//! # tokengate-pop
//!
//! Proof of possession for tokengate: tokens that are useless when stolen.
//!
//! - **Certificate-bound tokens (RFC 8705)**: a token whose `cnf` claim has `x5t#S256`
//!   is accepted only over a TLS connection whose client certificate has that SHA-256
//!   thumbprint ([`check_certificate_binding`], [`CertificateBindingLayer`]).
//! - With the `tls` feature, [`serve_tls`]: HTTPS for an axum router on rustls with the
//!   aws-lc-rs provider set explicitly, asking for (not requiring) client certificates
//!   and leaving the verified [`PeerCertificate`] in each request's extensions.
//!
//! - **DPoP (RFC 9449)** in [`dpop`]: a token whose `cnf` has `jkt` needs the `DPoP`
//!   scheme and a valid proof ([`dpop::DpopVerifier`], [`dpop::DpopLayer`]).
//!
//! Refusals are 401 `invalid_token` (RFC 8705 section 3), answered through tokengate's
//! HTTP mapping with the route's `WWW-Authenticate` challenge.

mod binding;
pub mod dpop;
mod layer;
mod peer;
#[cfg(feature = "tls")]
mod tls;

pub use binding::{X5T_S256, bound_thumbprint, check_certificate_binding};
pub use layer::{CertificateBinding, CertificateBindingLayer, ResponseFuture};
pub use peer::PeerCertificate;
#[cfg(feature = "tls")]
pub use tls::{HANDSHAKE_TIMEOUT, TlsError, serve_tls, server_config, server_config_from_pem_files};
