//! [`CwtVerifier`]: envelope, key, signature or MAC, then the registered claims.

use std::fmt;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tokengate_core::{AuthError, Clock, ErrorKind, Key, KeyQuery, KeyResolver, RemoteVerifier, Verified, VerifyFuture};

use crate::alg::{ALL_COSE_ALGORITHMS, CoseAlgorithm};
use crate::builder::IssuerStep;
use crate::claims::{self, Claims};
use crate::envelope::{self, Envelope};

#[derive(Clone, Debug)]
pub(crate) enum Expect {
    Any,
    OneOf(Vec<String>),
}

/// Verifies CBOR Web Tokens against the same keys as JWTs. Cheap to clone (one `Arc`).
///
/// The result is the same [`Verified`] a JWT gives (without a JOSE header), with the
/// claims as JSON under the JWT names (see the [crate docs](crate)), so policies,
/// revocation checks and extractors work unchanged.
///
/// ```
/// use tokengate_core::{Algorithm, ErrorKind, Key, KeySet};
/// use tokengate_cwt::{CoseAlgorithm, CwtVerifier};
/// let key = Key::hmac(Algorithm::HS256, &[7; 32]).unwrap().with_kid("device-key");
/// let verifier = CwtVerifier::builder(KeySet::new([key]).unwrap())
///     .issuer("coap://as.example.com")
///     .audience("coap://light.example.com")
///     .algorithms([CoseAlgorithm::Hmac256_64])
///     .build()
///     .unwrap();
/// // A JWT is not a CWT.
/// let err = verifier.verify_base64url("eyJhbGciOiJIUzI1NiJ9.e30.c2ln").unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::InvalidEncoding);
/// ```
#[derive(Clone)]
pub struct CwtVerifier {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) resolver: Arc<dyn KeyResolver>,
    pub(crate) issuers: Expect,
    pub(crate) audiences: Expect,
    pub(crate) algorithms: u8,
    pub(crate) leeway: i64,
    pub(crate) required: Vec<String>,
    pub(crate) require_exp: bool,
    pub(crate) max_size: usize,
    pub(crate) clock: Arc<dyn Clock>,
}

impl fmt::Debug for CwtVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        f.debug_struct("CwtVerifier")
            .field("issuers", &i.issuers)
            .field("audiences", &i.audiences)
            .field("algorithms", &self.algorithms())
            .field("leeway", &i.leeway)
            .field("required", &i.required)
            .field("require_exp", &i.require_exp)
            .field("max_size", &i.max_size)
            .finish_non_exhaustive()
    }
}

/// A CWT whose envelope and claims were read, key not yet chosen.
struct Prepared {
    envelope: Envelope,
    claims: Claims,
}

impl CwtVerifier {
    /// Starts a verifier that finds keys with `keys` (a [`tokengate_core::KeySet`], a
    /// [`Key`], a JWKS cache or any [`KeyResolver`]). The COSE `kid` bytes are looked up
    /// as the UTF-8 JWK `kid`.
    pub fn builder(keys: impl KeyResolver) -> IssuerStep {
        IssuerStep { resolver: Arc::new(keys) }
    }

    /// The COSE algorithms this verifier accepts.
    pub fn algorithms(&self) -> Vec<CoseAlgorithm> {
        ALL_COSE_ALGORITHMS.into_iter().filter(|a| self.inner.algorithms & a.bit() != 0).collect()
    }

    /// The maximum CWT size in bytes of CBOR.
    pub fn max_token_size(&self) -> usize {
        self.inner.max_size
    }

    /// Verifies a CWT given as the base64url text of its CBOR (as sent in
    /// `Authorization: Bearer`). Padding is not accepted.
    pub fn verify_base64url(&self, token: &str) -> Result<Verified, AuthError> {
        self.verify(&self.decode(token)?)
    }

    /// Verifies a CWT given as CBOR bytes (a CoAP payload, a binary body part).
    pub fn verify(&self, cbor: &[u8]) -> Result<Verified, AuthError> {
        let prepared = self.prepare(cbor)?;
        let key = self.inner.resolver.resolve(&query(&prepared)?)?;
        self.check(prepared, &key)
    }

    /// Like [`CwtVerifier::verify`], but when the key is unknown asks the resolver to
    /// refresh (coalesced and rate limited by the resolver) and tries once more.
    pub async fn verify_async(&self, cbor: &[u8]) -> Result<Verified, AuthError> {
        let refresh = {
            let prepared = self.prepare(cbor)?;
            let q = query(&prepared)?;
            match self.inner.resolver.resolve(&q) {
                Ok(key) => return self.check(prepared, &key),
                Err(e) if e.kind() == ErrorKind::UnknownKey => match self.inner.resolver.refresh_unknown(&q) {
                    Some(refresh) => refresh,
                    None => return Err(e),
                },
                Err(e) => return Err(e),
            }
        };
        refresh.await;
        self.verify(cbor)
    }

    fn decode(&self, token: &str) -> Result<Vec<u8>, AuthError> {
        // base64url is 4 characters per 3 bytes: refuse before decoding anything.
        if token.len() > self.inner.max_size.saturating_mul(4).div_ceil(3) {
            return Err(AuthError::new(ErrorKind::TokenTooLarge));
        }
        URL_SAFE_NO_PAD
            .decode(token)
            .map_err(|_| AuthError::with_detail(ErrorKind::InvalidEncoding, "the CWT is not base64url"))
    }

    fn prepare(&self, cbor: &[u8]) -> Result<Prepared, AuthError> {
        if cbor.len() > self.inner.max_size {
            return Err(AuthError::new(ErrorKind::TokenTooLarge));
        }
        let envelope = envelope::open(cbor)?;
        if self.inner.algorithms & envelope.alg.bit() == 0 {
            return Err(AuthError::with_detail(ErrorKind::AlgorithmNotAllowed, "alg not in the allowlist"));
        }
        let claims = claims::parse(&envelope.payload)?;
        Ok(Prepared { envelope, claims })
    }

    /// Algorithm pinning, signature or MAC, then the claims.
    fn check(&self, prepared: Prepared, key: &Key) -> Result<Verified, AuthError> {
        let Prepared { envelope, claims } = prepared;
        if key.algorithm() != envelope.alg.key_algorithm() {
            return Err(AuthError::with_detail(ErrorKind::AlgorithmMismatch, "alg is not the key's algorithm"));
        }
        match envelope.alg {
            CoseAlgorithm::Hmac256_64 if envelope.signature.len() != 8 => {
                return Err(AuthError::with_detail(ErrorKind::InvalidSignature, "HMAC 256/64 tag is not 8 bytes"));
            }
            CoseAlgorithm::Hmac256_64 => key.verify_truncated_mac(&envelope.to_be_verified, &envelope.signature)?,
            _ => key.verify(&envelope.to_be_verified, &envelope.signature)?,
        }
        self.check_claims(&claims, key)?;
        let raw = serde_json::Value::Object(claims.json).to_string().into_boxed_str();
        Ok(tokengate_core::unchecked::verified_from_parts(
            None,
            claims.registered,
            raw,
            key.kid().map(str::to_owned),
            key.generation(),
        ))
    }

    fn check_claims(&self, claims: &Claims, key: &Key) -> Result<(), AuthError> {
        let inner = &*self.inner;
        let c = &claims.registered;
        if let Some(bound) = key.issuer()
            && c.iss.as_deref() != Some(bound)
        {
            return Err(AuthError::with_detail(ErrorKind::InvalidIssuer, "iss is not the key's issuer"));
        }
        if let Expect::OneOf(issuers) = &inner.issuers {
            match &c.iss {
                None => return Err(AuthError::with_detail(ErrorKind::MissingClaim, "iss")),
                Some(iss) if !issuers.iter().any(|i| i == iss) => return Err(AuthError::new(ErrorKind::InvalidIssuer)),
                Some(_) => {}
            }
        }
        if let Expect::OneOf(audiences) = &inner.audiences {
            if !claims.has("aud") {
                return Err(AuthError::with_detail(ErrorKind::MissingClaim, "aud"));
            }
            if !c.aud.iter().any(|a| audiences.contains(a)) {
                return Err(AuthError::new(ErrorKind::InvalidAudience));
            }
        }
        let now = inner.clock.now();
        let leeway = inner.leeway;
        match c.exp {
            Some(exp) if now.saturating_sub(leeway) >= exp => return Err(AuthError::new(ErrorKind::Expired)),
            None if inner.require_exp => return Err(AuthError::with_detail(ErrorKind::MissingClaim, "exp")),
            _ => {}
        }
        if let Some(nbf) = c.nbf
            && nbf > now.saturating_add(leeway)
        {
            return Err(AuthError::new(ErrorKind::NotYetValid));
        }
        if let Some(iat) = c.iat
            && iat > now.saturating_add(leeway)
        {
            return Err(AuthError::new(ErrorKind::IssuedInFuture));
        }
        if let Some(missing) = inner.required.iter().find(|name| !claims.has(name)) {
            return Err(AuthError::with_detail(ErrorKind::MissingClaim, missing.clone()));
        }
        Ok(())
    }
}

fn query(prepared: &Prepared) -> Result<KeyQuery<'_>, AuthError> {
    let kid = match prepared.envelope.kid.as_slice() {
        [] => None,
        bytes => Some(
            std::str::from_utf8(bytes)
                .map_err(|_| AuthError::with_detail(ErrorKind::UnknownKey, "the COSE kid is not UTF-8"))?,
        ),
    };
    Ok(KeyQuery { kid, alg: prepared.envelope.alg.key_algorithm(), issuer: prepared.claims.registered.iss.as_deref() })
}

/// A CWT verifier is a [`RemoteVerifier`] for tokens that are not JWTs: plugged into the
/// authenticator with `.remote(cwt_verifier)`, the base64url CBOR of an
/// `Authorization: Bearer` header is verified here (with one key refresh on an unknown
/// `kid`). Nothing is sent anywhere: "remote" only means "not a JWT".
impl RemoteVerifier for CwtVerifier {
    fn verify_remote(&self, token: &str) -> VerifyFuture {
        let decoded = self.decode(token);
        let verifier = self.clone();
        Box::pin(async move { verifier.verify_async(&decoded?).await })
    }
}
