//! # tokengate-cwt
//!
//! CBOR Web Tokens (RFC 8392) verified with the same keys, claim checks and errors as
//! JWTs: a `COSE_Sign1` (ES256, EdDSA) or `COSE_Mac0` (HMAC 256/64, HMAC 256/256)
//! around a CBOR claims map, parsed with [`coset`].
//!
//! ```
//! use tokengate_core::{Algorithm, FixedClock, Key, KeySet};
//! use tokengate_cwt::{CoseAlgorithm, CwtVerifier};
//! // RFC 8392 A.4: a MACed CWT (tag 61 around tag 17) with the A.2.2 key.
//! let secret = hex("403697de87af64611c1d32a05dab0fe1fcb715a86ab435f1ec99192d79569388");
//! let key = Key::hmac(Algorithm::HS256, &secret)?.with_kid("Symmetric256");
//! let verifier = CwtVerifier::builder(KeySet::new([key])?)
//!     .issuer("coap://as.example.com")
//!     .audience("coap://light.example.com")
//!     .algorithms([CoseAlgorithm::Hmac256_64])
//!     .clock(FixedClock::new(1_444_000_000)) // the example expired in 2015
//!     .build()?;
//! let cwt = hex(concat!(
//!     "d83dd18443a10104a1044c53796d6d65747269633235365850a70175636f6170",
//!     "3a2f2f61732e6578616d706c652e636f6d02656572696b77037818636f61703a",
//!     "2f2f6c696768742e6578616d706c652e636f6d041a5612aeb0051a5610d9f006",
//!     "1a5610d9f007420b7148093101ef6d789200",
//! ));
//! let verified = verifier.verify(&cwt)?;
//! assert_eq!(verified.subject(), Some("erikw"));
//! assert_eq!(verified.claims()?["jti"], "C3E"); // cti h'0b71', base64url
//! # fn hex(s: &str) -> Vec<u8> {
//! #     (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## What is checked, in order
//!
//! 1. Size (the same 8 KiB default as JWTs), then one CBOR item with no trailing bytes.
//! 2. Tags: an optional CWT tag (61) around exactly one COSE tag, 18 (`COSE_Sign1`) or
//!    17 (`COSE_Mac0`). Untagged messages, repeated or nested tags, and other COSE
//!    structures are [`ErrorKind::Malformed`](tokengate_core::ErrorKind::Malformed).
//! 3. Headers: `alg` only from the protected header, one of the allowlist and of the
//!    message's kind (a MAC algorithm in a `COSE_Sign1` is refused); `crit` may only
//!    name `alg` and `kid`; `kid` in one header only; a nil (detached) payload is
//!    refused. Header members that carry keys are never read.
//! 4. The claims map, strictly (duplicate keys, depth, types of registered claims), so
//!    the unverified `iss` can pick keys as it does for JWTs.
//! 5. The key: the COSE `kid` bytes as the UTF-8 JWK `kid`, through the same
//!    [`KeyResolver`](tokengate_core::KeyResolver) (a `KeySet` or the JWKS cache),
//!    pinned to the algorithm ([`CoseAlgorithm::key_algorithm`]).
//! 6. The signature (raw `r || s` for ES256, as in JWS) or MAC over the COSE
//!    `Sig_structure` / `MAC_structure`, with the key's own verify.
//! 7. `iss`, `aud`, `exp` (required unless waived), `nbf`, `iat` with the leeway, and
//!    required claims: the same rules and [`ErrorKind`](tokengate_core::ErrorKind)s as JWTs.
//!
//! ## Claims as JSON
//!
//! | CWT key | JSON name | JSON value |
//! | --- | --- | --- |
//! | 1, 2 | `iss`, `sub` | string |
//! | 3 | `aud` | string (or array of strings) |
//! | 4, 5, 6 | `exp`, `nbf`, `iat` | integer (a float NumericDate is truncated) |
//! | 7 (`cti`) | `jti` | the bytes in base64url, no padding |
//! | 8, 9 | `cnf`, `scope` | as below |
//! | other integers | the number in decimal | as below |
//! | text keys | themselves | as below |
//!
//! Other values: byte strings become base64url text, maps become objects (integer keys
//! in decimal), tags are dropped around their content. A repeated key (also `1` next to
//! `"iss"`) is [`ErrorKind::DuplicateMember`](tokengate_core::ErrorKind::DuplicateMember).

mod alg;
mod builder;
mod claims;
mod envelope;
mod verifier;

pub use alg::{ALL_COSE_ALGORITHMS, CoseAlgorithm};
pub use builder::{AlgorithmStep, AudienceStep, CwtVerifierBuilder, IssuerStep};
pub use coset;
pub use envelope::{COSE_MAC0_TAG, COSE_SIGN1_TAG, CWT_TAG};
pub use verifier::CwtVerifier;
