//! # tokengate-core
//!
//! The token model of tokengate: [`Key`] and [`KeySet`], the [`Verifier`] and its
//! builder, the [`Verified`] token and the one error type, [`AuthError`]. Synchronous:
//! no tokio, no http.
//!
//! ```
//! use tokengate_core::{Algorithm, ErrorKind, Key, KeySet, Verifier};
//!
//! let key = Key::hmac(Algorithm::HS256, b"0123456789abcdef0123456789abcdef")?.with_kid("k1");
//! let verifier = Verifier::builder(KeySet::new([key])?)
//!     .issuer("https://issuer.example")
//!     .audience("orders-api")
//!     .algorithms([Algorithm::HS256])
//!     .build()?;
//! // `alg: none` never passes, whatever the letter case.
//! let none = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.";
//! assert_eq!(verifier.verify(none).unwrap_err().kind(), ErrorKind::AlgNone);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The order of checks: size, three segments, base64url, header (alg, crit, b64, zip,
//! header key material), allowlist, the claims' JSON shape (strict: duplicates, depth,
//! types of registered claims), key resolution (the unverified `iss` may pick the key
//! set, nothing more), algorithm pinning, signature, then the claim values: `typ`,
//! `iss`, `aud`, `exp`, `nbf`, `iat`, age, lifetime and required claims. A shape error
//! can therefore be reported before a bad signature; no claim value is judged before it.

pub mod alg;
mod backend;
mod claims;
mod clock;
mod denial;
mod der;
mod error;
mod hooks;
mod json;
mod jws;
mod key;
mod key_set;
pub mod manual;
pub mod readiness;
pub mod redact;
pub mod unchecked;
mod verified;
mod verifier;

pub use alg::{ALL_ALGORITHMS, ASYMMETRIC_ALGORITHMS, MIN_RSA_BITS};
pub use backend::CRYPTO_BACKEND;
pub use claims::RegisteredClaims;
pub use clock::{Clock, FixedClock, SystemClock};
pub use denial::{Denial, DenialKind};
pub use error::{AuthError, ConfigError, ErrorKind};
pub use hooks::{RemoteVerifier, RevocationCheck, VerifyFuture};
pub use json::{MAX_DEPTH, MAX_NUMERIC_DATE, check_strict};
pub use jsonwebtoken::Algorithm;
pub use jsonwebtoken::jwk;
pub use jws::{Header, parse_algorithm, peek_header};
pub use key::{Key, algorithm_name, default_algorithm, min_hmac_len};
pub use key_set::{KeyQuery, KeyResolver, KeySet, RefreshFuture, SkippedKey};
pub use redact::RedactedToken;
pub use verified::Verified;
pub use verifier::{
    AlgorithmStep, AudienceStep, DEFAULT_LEEWAY, DEFAULT_MAX_TOKEN_SIZE, IssuerStep, Refusal, Resume, Verifier,
    VerifierBuilder, parses_on_this_thread,
};
