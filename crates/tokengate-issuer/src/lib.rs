//! # tokengate-issuer
//!
//! Signing for tokengate: the [`Signer`] trait (asynchronous, so a KMS or an HSM can
//! implement it) with a local-key implementation, [`LocalSigner`]; a [`SignerSet`] with
//! one active key and any pre-published or retired ones; the [`TokenMinter`], which
//! produces compact JWS tokens with `kid`, optional `typ`, and `iss`, `aud`, `exp`,
//! `iat`, `nbf`, `jti` and `sub` plus any extra claims; and, with the `axum` feature
//! (on by default), a [`JwksEndpoint`] serving the public keys with `Cache-Control` and
//! a development-only [`DevIssuer`].
//!
//! ```
//! use tokengate_core::{Algorithm, KeySet, Verifier};
//! use tokengate_issuer::{LocalSigner, SignerSet, TokenMinter};
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let signers = SignerSet::new(LocalSigner::generate(Algorithm::ES256)?);
//! let jwks = serde_json::to_vec(&signers.jwks()).unwrap();
//! let minter = TokenMinter::builder(signers, "https://issuer.example").audience("orders-api").build()?;
//! let token = minter.token().subject("alice").sign().await?;
//!
//! let (keys, _skipped) = KeySet::from_jwks_json(&jwks).unwrap();
//! let verifier = Verifier::builder(keys)
//!     .issuer("https://issuer.example")
//!     .audience("orders-api")
//!     .algorithms([Algorithm::ES256])
//!     .build()
//!     .unwrap();
//! assert_eq!(verifier.verify(&token).unwrap().subject(), Some("alice"));
//! # Ok::<(), tokengate_issuer::IssuerError>(())
//! # }).unwrap();
//! ```

#[cfg(feature = "axum")]
pub mod dev;
mod error;
#[cfg(feature = "axum")]
mod jwks_endpoint;
mod mint;
mod signer;

#[cfg(feature = "axum")]
pub use dev::{DevActor, DevIssuer, DevIssuerBuilder, DevTokenRequest, DevTokenResponse};
pub use error::IssuerError;
#[cfg(feature = "axum")]
pub use jwks_endpoint::{DEFAULT_MAX_AGE, JWKS_PATH, JwksEndpoint};
pub use mint::{DEFAULT_TTL, RESERVED_CLAIMS, TokenBuilder, TokenMinter, TokenMinterBuilder};
pub use signer::{LocalSigner, SignFuture, Signer, SignerSet, jwk_thumbprint};
