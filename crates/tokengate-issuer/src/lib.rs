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
//! The rest of the issuing side: a [`KeyRing`] rotating keys on an explicit schedule
//! with pre-publication and answering a compromised key in one call
//! ([`KeyRing::compromised`]); [`RefreshTokens`] (hashed, rotated, reuse revokes the
//! family); RFC 8693 [`TokenExchange`]; an RFC 7662 [`IntrospectionEndpoint`]; and, with
//! the `login` feature, a [`DemoLogin`] with argon2id hashes and a failed-login limiter.
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

mod compromise;
#[cfg(feature = "cwt")]
mod cwt;
#[cfg(feature = "axum")]
pub mod dev;
#[cfg(feature = "axum")]
mod discovery;
mod error;
mod exchange;
#[cfg(feature = "axum")]
mod introspection_endpoint;
#[cfg(feature = "axum")]
mod jwks_endpoint;
#[cfg(feature = "login")]
mod login;
mod mint;
mod oauth_error;
mod refresh;
mod rotation;
mod signer;

pub use compromise::{CompromiseReport, KidRevocationSink, RevokeFuture};
#[cfg(feature = "cwt")]
pub use cwt::{CWT_TAG, CwtBuilder, CwtMinter};
#[cfg(all(feature = "cwt", feature = "axum"))]
pub use cwt::{DEV_CWT_PATH, DevCwtRequest, dev_cwt_router};
#[cfg(feature = "axum")]
pub use dev::{DevActor, DevIssuer, DevIssuerBuilder, DevTokenRequest, DevTokenResponse};
#[cfg(feature = "axum")]
pub use discovery::DiscoveryEndpoint;
pub use error::IssuerError;
pub use exchange::{
    ACCESS_TOKEN_TYPE, ExchangeRequest, ExchangeResponse, JWT_TOKEN_TYPE, TOKEN_EXCHANGE_GRANT, TokenExchange,
};
#[cfg(feature = "axum")]
pub use introspection_endpoint::{INTROSPECTION_PATH, IntrospectionEndpoint};
#[cfg(feature = "axum")]
pub use jwks_endpoint::{DEFAULT_MAX_AGE, JWKS_PATH, JwksEndpoint};
#[cfg(feature = "login")]
pub use login::{DEFAULT_MAX_FAILURES, DEFAULT_WINDOW, DemoLogin, DemoUser, LoginError, LoginRateLimiter, Passwords};
pub use mint::{DEFAULT_TTL, RESERVED_CLAIMS, TokenBuilder, TokenMinter, TokenMinterBuilder};
pub use oauth_error::OAuthError;
pub use refresh::{
    DEFAULT_REFRESH_TTL, MemoryRefreshStore, RefreshError, RefreshGrant, RefreshRecord, RefreshStore, RefreshTokens,
    StoreFuture, Taken, TokenHash, hash_token,
};
pub use rotation::{DEFAULT_JWKS_CACHE_LIFETIME, DEFAULT_MAX_TOKEN_LIFETIME, KeyRing, KeyRingBuilder, KeySchedule};
pub use signer::{LocalSigner, SignFuture, Signer, SignerSet, jwk_thumbprint};
