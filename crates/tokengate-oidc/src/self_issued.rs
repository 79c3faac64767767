//! [`SelfIssuedValidator`]: self-issued ID tokens (SIOPv2), signed by the end-user's own
//! key.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::Value;
use tokengate_core::{Algorithm, Clock, ConfigError, Key, Verified, Verifier, algorithm_name};

use crate::error::{OidcError, sub_jwk_error};
use crate::id_token::{IdToken, IdTokenClaims};
use crate::thumbprint::jwk_thumbprint;
use crate::validator::check_nonce;

/// The `sub` prefix of the JWK thumbprint URI form (RFC 9278).
const THUMBPRINT_URI: &str = "urn:ietf:params:oauth:jwk-thumbprint:sha-256:";

/// Validates self-issued ID tokens (SIOPv2) for one relying party.
///
/// No issuer's keys are involved: the token carries the end-user's public key in the
/// `sub_jwk` claim, and is trusted only because `sub` is that key's RFC 7638 thumbprint
/// and `iss` equals `sub`. The rules, in order:
///
/// 1. the header's `alg` is in the allowlist (`none` never is); nothing else in the
///    header is trusted (a `kid` picks nothing; header key material is refused);
/// 2. `iss` equals `sub`; a DID `sub` is refused ([`OidcError::DidNotSupported`]);
/// 3. `sub_jwk` is a public key (private members are refused) whose thumbprint is `sub`
///    (plain, or as the `urn:ietf:params:oauth:jwk-thumbprint:sha-256:` URI);
/// 4. the signature verifies with that key, pinned to the header's algorithm; then the
///    core claim checks: `aud` contains the client id, `exp`, `iat` (required);
/// 5. `nonce` equals the one sent.
///
/// ```
/// use tokengate_core::{Algorithm, ErrorKind};
/// use tokengate_oidc::{OidcError, SelfIssuedValidator};
///
/// let validator = SelfIssuedValidator::builder("https://rp.example/cb")
///     .algorithms([Algorithm::ES256, Algorithm::EdDSA])
///     .build()?;
/// // {"alg":"none"}.{}.
/// let err = validator.validate("eyJhbGciOiJub25lIn0.e30.", "n-0S6").unwrap_err();
/// assert!(matches!(err, OidcError::Token(e) if e.kind() == ErrorKind::AlgNone));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct SelfIssuedValidator {
    client_id: Arc<str>,
    algorithms: Vec<Algorithm>,
    leeway: Duration,
    clock: Option<Arc<dyn Clock>>,
    max_token_size: usize,
}

/// Builds a [`SelfIssuedValidator`].
#[derive(Debug)]
#[must_use]
pub struct SelfIssuedValidatorBuilder {
    inner: SelfIssuedValidator,
}

/// A validated self-issued ID token.
#[derive(Clone, Debug)]
pub struct SelfIssued {
    token: IdToken,
}

impl SelfIssued {
    /// The subject: the thumbprint of the end-user's key (as written in the token).
    pub fn subject(&self) -> &str {
        self.token.subject()
    }

    /// The token as an [`IdToken`] (verified token and OpenID Connect claims).
    pub fn id_token(&self) -> &IdToken {
        &self.token
    }
}

impl SelfIssuedValidator {
    /// Starts a validator for the relying party's client id (for SIOPv2, usually its
    /// redirect URI): `aud` must contain it.
    pub fn builder(client_id: impl Into<String>) -> SelfIssuedValidatorBuilder {
        SelfIssuedValidatorBuilder {
            inner: SelfIssuedValidator {
                client_id: Arc::from(client_id.into()),
                algorithms: Vec::new(),
                leeway: tokengate_core::DEFAULT_LEEWAY,
                clock: None,
                max_token_size: tokengate_core::DEFAULT_MAX_TOKEN_SIZE,
            },
        }
    }

    /// Validates a self-issued ID token against the nonce sent in the request.
    pub fn validate(&self, token: &str, nonce: &str) -> Result<SelfIssued, OidcError> {
        // The header is read by the core (alg none, crit, header key material refused).
        let header = tokengate_core::peek_header(token)?;
        let alg = header.alg();
        if !self.algorithms.contains(&alg) {
            return Err(tokengate_core::AuthError::new(tokengate_core::ErrorKind::AlgorithmNotAllowed).into());
        }
        let subject = self.read_subject(token)?;
        let mut jwk = subject.sub_jwk;
        // The key is pinned to the header's algorithm (already allowed); a JWK naming
        // another algorithm is refused by the core when it builds the key.
        if let Some(obj) = jwk.as_object_mut() {
            obj.entry("alg").or_insert_with(|| Value::String(algorithm_name(alg).to_owned()));
        }
        let key = Key::from_jwk_value(jwk).map_err(sub_jwk_error)?;
        let mut builder = Verifier::builder(KidBlind(key))
            .issuer(subject.sub)
            .audience(self.client_id.to_string())
            .algorithms(self.algorithms.iter().copied())
            .leeway(self.leeway)
            .max_token_size(self.max_token_size)
            .require(["sub", "iat"]);
        if let Some(clock) = &self.clock {
            builder = builder.clock(SharedClock(clock.clone()));
        }
        let verified: Verified = builder.build().map_err(sub_jwk_error)?.verify(token)?;
        let claims: IdTokenClaims = verified.claims_as()?;
        check_nonce(Some(nonce), claims.nonce.as_deref())?;
        Ok(SelfIssued { token: IdToken::new(Arc::new(verified), claims) })
    }

    /// Reads `iss`, `sub` and `sub_jwk` from the (not yet verified) payload and checks that
    /// they tie together: the key is only ever used after these checks.
    fn read_subject(&self, token: &str) -> Result<Subject, OidcError> {
        if token.len() > self.max_token_size {
            return Err(tokengate_core::AuthError::new(tokengate_core::ErrorKind::TokenTooLarge).into());
        }
        let mut parts = token.split('.');
        let payload = match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(_), Some(payload), Some(_), None) => payload,
            _ => return Err(tokengate_core::AuthError::new(tokengate_core::ErrorKind::Malformed).into()),
        };
        let bytes = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| tokengate_core::AuthError::new(tokengate_core::ErrorKind::InvalidEncoding))?;
        tokengate_core::check_strict(&bytes)?;
        let raw: RawSubject = serde_json::from_slice(&bytes)
            .map_err(|_| tokengate_core::AuthError::with_detail(tokengate_core::ErrorKind::InvalidJson, "claims"))?;
        let sub = raw.sub.ok_or(tokengate_core::AuthError::new(tokengate_core::ErrorKind::MissingClaim))?;
        if sub.starts_with("did:") {
            return Err(OidcError::DidNotSupported);
        }
        if raw.iss.as_deref() != Some(sub.as_str()) {
            return Err(OidcError::IssuerNotSubject);
        }
        let jwk = raw.sub_jwk.ok_or(OidcError::MissingSubJwk)?;
        if !jwk.is_object() {
            return Err(OidcError::InvalidSubJwk("sub_jwk is not an object".into()));
        }
        if let Some(member) = PRIVATE_MEMBERS.iter().find(|m| jwk.get(**m).is_some()) {
            return Err(OidcError::PrivateSubJwk(member));
        }
        let thumbprint = jwk_thumbprint(&jwk)?;
        let claimed = sub.strip_prefix(THUMBPRINT_URI).unwrap_or(&sub);
        if claimed != thumbprint {
            return Err(OidcError::SubjectNotThumbprint);
        }
        Ok(Subject { sub, sub_jwk: jwk })
    }
}

/// JWK members that only a private key has.
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

#[derive(Deserialize)]
struct RawSubject {
    iss: Option<String>,
    sub: Option<String>,
    sub_jwk: Option<Value>,
}

struct Subject {
    sub: String,
    sub_jwk: Value,
}

/// The key from `sub_jwk`, whatever `kid` the header names: nothing in the header picks
/// a key.
struct KidBlind(Key);

impl tokengate_core::KeyResolver for KidBlind {
    fn resolve(&self, _query: &tokengate_core::KeyQuery<'_>) -> Result<Key, tokengate_core::AuthError> {
        Ok(self.0.clone())
    }
}

#[derive(Debug)]
struct SharedClock(Arc<dyn Clock>);

impl Clock for SharedClock {
    fn now(&self) -> i64 {
        self.0.now()
    }
}

impl SelfIssuedValidatorBuilder {
    /// The accepted algorithms (required; asymmetric only: an HMAC key cannot be public).
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.inner.algorithms = algorithms.into_iter().collect();
        self
    }

    /// Clock-skew tolerance (default 30 s).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.inner.leeway = leeway;
        self
    }

    /// The clock (default: the system clock).
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.inner.clock = Some(Arc::new(clock));
        self
    }

    /// Finishes the validator; errors when the allowlist is empty or holds an HMAC
    /// algorithm.
    pub fn build(self) -> Result<SelfIssuedValidator, ConfigError> {
        if self.inner.algorithms.is_empty() {
            return Err(ConfigError::Invalid("the algorithm allowlist is empty".into()));
        }
        if self.inner.algorithms.iter().any(|a| matches!(a, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)) {
            return Err(ConfigError::Invalid("self-issued ID tokens are signed with public keys: no HMAC".into()));
        }
        Ok(self.inner)
    }
}
