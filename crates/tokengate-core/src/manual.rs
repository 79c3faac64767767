//! The manual: the threat model and the reason behind each default. Documentation only.
//!
//! # What tokengate defends against
//!
//! | attack | defence | error kind |
//! | --- | --- | --- |
//! | `alg: none` (any letter case) | refused before any key is looked up; `none` cannot be configured | [`AlgNone`](crate::ErrorKind::AlgNone) |
//! | algorithm confusion (an HS256 token whose "secret" is the RSA public key) | every [`Key`](crate::Key) is pinned to one algorithm; the header's `alg` must equal it | [`AlgorithmMismatch`](crate::ErrorKind::AlgorithmMismatch) |
//! | algorithm downgrade | an allowlist is always in force (the builder cannot be finished without one) | [`AlgorithmNotAllowed`](crate::ErrorKind::AlgorithmNotAllowed) |
//! | key injection through `jwk`, `jku`, `x5u`, `x5c` | header key material is never used; tokens carrying it are refused | [`HeaderKeyMaterial`](crate::ErrorKind::HeaderKeyMaterial) |
//! | "psychic signatures" (ECDSA r = s = 0), empty or truncated signatures | aws-lc-rs checks the signature over the exact signing input; empty signatures are refused first | [`InvalidSignature`](crate::ErrorKind::InvalidSignature) |
//! | `crit` extensions the verifier does not implement | refused (RFC 7515 4.1.11) | [`UnsupportedCritical`](crate::ErrorKind::UnsupportedCritical) |
//! | unencoded payloads (`b64: false`) and compressed payloads (`zip`) | refused | [`UnencodedPayload`](crate::ErrorKind::UnencodedPayload), [`CompressedPayload`](crate::ErrorKind::CompressedPayload) |
//! | parser differentials: duplicate member names, non-canonical base64, padding | strict single-pass JSON reading; canonical unpadded base64url only | [`DuplicateMember`](crate::ErrorKind::DuplicateMember), [`InvalidEncoding`](crate::ErrorKind::InvalidEncoding) |
//! | resource exhaustion: huge tokens, deep nesting | 8 KiB default size limit checked first; nesting bounded by [`MAX_DEPTH`](crate::MAX_DEPTH) | [`TokenTooLarge`](crate::ErrorKind::TokenTooLarge), [`NestingTooDeep`](crate::ErrorKind::NestingTooDeep) |
//! | replay of old or long-lived tokens | `exp` required by default, optional maximum age and lifetime | [`Expired`](crate::ErrorKind::Expired), [`TooOld`](crate::ErrorKind::TooOld), [`LifetimeTooLong`](crate::ErrorKind::LifetimeTooLong) |
//! | tokens minted for another service or another tenant's issuer | exact `iss` match (no trailing-slash tolerance); `aud` required; keys bound to their issuer | [`InvalidIssuer`](crate::ErrorKind::InvalidIssuer), [`InvalidAudience`](crate::ErrorKind::InvalidAudience) |
//! | an ID token used as an access token | optional `typ` requirement, e.g. `at+jwt` (RFC 9068) | [`InvalidType`](crate::ErrorKind::InvalidType) |
//! | brute-forced HMAC secrets | secrets shorter than the hash output are refused at configuration | [`ConfigError::WeakSecret`](crate::ConfigError::WeakSecret) |
//! | factoring small RSA moduli | moduli under 2048 bits are refused at configuration | [`ConfigError::WeakRsaKey`](crate::ConfigError::WeakRsaKey) |
//! | tokens leaking through logs | `Debug` never shows a token; [`RedactedToken`](crate::RedactedToken) masks personal claims and drops the signature | — |
//!
//! # The order of checks, and why
//!
//! Cheap, key-independent refusals come first (size, shape, encoding, header, and the
//! strict shape of the claims JSON), so a flood of garbage costs no crypto. The key is
//! resolved from `kid` (and, for multi-issuer resolvers, from the unverified `iss`, which
//! is only used to *pick* keys; the key stays bound to its issuer). The algorithm is
//! pinned, the signature checked, and only then are claim values judged: an unsigned
//! claim can make a token fail earlier (as malformed), never make it pass.
//!
//! # What tokengate does not do
//!
//! - It does not decrypt JWE. Encrypted tokens are refused as malformed.
//! - It does not fetch keys named by a token: keys come only from configured sources.
//! - It does not accept `alg: none`, even in tests: there is no switch for it.
