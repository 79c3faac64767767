//! Assembling a [`Verified`] whose checks were made elsewhere.
//!
//! A [`Verifier`](crate::Verifier) is the normal way to get a [`Verified`]: it checks the
//! signature and every claim. Other token formats (an introspection answer, a CBOR Web
//! Token) check their tokens themselves and then hand the same shape to policies and
//! handlers; this is their one entry. **Nothing here checks anything**: whatever you pass
//! is trusted as verified, so call it only with claims your own code has verified.
//!
//! ```
//! use tokengate_core::RegisteredClaims;
//! use tokengate_core::unchecked;
//! let raw = r#"{"sub":"alice","scope":"a b"}"#;
//! let mut registered = RegisteredClaims::default();
//! registered.sub = Some("alice".into());
//! let v: tokengate_core::Verified = unchecked::verified_from_parts(None, registered, raw.into(), None, 0);
//! assert_eq!(v.subject(), Some("alice"));
//! assert_eq!(v.scopes(), ["a", "b"]);
//! ```

use crate::claims::RegisteredClaims;
use crate::jws::Header;
use crate::verified::Verified;

/// Trusts these parts as a verified token: `header` is `None` when the token had no JOSE
/// header, `raw_claims` is the claims' JSON text (custom claims are read from it), `kid`
/// and `key_generation` describe the key that verified it, if any. See the
/// [module docs](self): nothing is checked.
pub fn verified_from_parts<C>(
    header: Option<Header>,
    registered: RegisteredClaims,
    raw_claims: Box<str>,
    kid: Option<String>,
    key_generation: u64,
) -> Verified<C> {
    Verified::from_parts(header, registered, raw_claims, kid, key_generation)
}
