//! # tokengate-oidc
//!
//! OpenID Connect for tokengate, on top of the core [`tokengate_core::Verifier`] and any
//! [`tokengate_core::KeyResolver`] (a static key set or the JWKS cache):
//!
//! - [`IdTokenValidator`]: the ID token rules of OIDC Core 3.1.3.7 and 3.1.3.8: `iss`
//!   exact, `aud` containing the client id, `azp`, `nonce`, `auth_time` with `max_age`,
//!   `at_hash` and `c_hash` ([`token_hash`]), and no access token (`typ: at+jwt`) taken
//!   for an ID token.
//! - [`SelfIssuedValidator`]: self-issued ID tokens (SIOPv2), signed by the end-user's own
//!   key carried in `sub_jwk`, whose RFC 7638 thumbprint is the `sub`.
//!
//! Every refusal is an [`OidcError`]: the core verifier's [`tokengate_core::AuthError`]
//! for the JWT itself, a variant of its own for each OpenID Connect rule.

mod error;
mod hash;
mod id_token;
mod self_issued;
mod thumbprint;
mod validator;

pub use error::OidcError;
pub use hash::token_hash;
pub use id_token::{IdToken, IdTokenClaims};
pub use self_issued::{SelfIssued, SelfIssuedValidator, SelfIssuedValidatorBuilder};
pub use thumbprint::jwk_thumbprint;
pub use validator::{Expected, IdTokenValidator, IdTokenValidatorBuilder};
