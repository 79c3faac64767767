//! [`IdTokenValidator`]: the ID token rules of OIDC Core 3.1.3.7 on top of the core
//! [`Verifier`], and [`Expected`], what the relying party sent and received.

use std::sync::Arc;
use std::time::Duration;

use tokengate_core::{Algorithm, Clock, ConfigError, KeyResolver, Verified, Verifier};

use crate::error::OidcError;
use crate::hash::{ct_eq, token_hash};
use crate::id_token::{IdToken, IdTokenClaims};

/// Validates ID tokens for one client of one provider.
///
/// The core verifier checks the JWT: size and shape, the algorithm allowlist and the key
/// pinned to its algorithm (keys from any [`KeyResolver`]: a static [`tokengate_core::KeySet`]
/// or the JWKS cache of `tokengate-jwks`, refreshed on an unknown `kid`), the signature,
/// `iss` (exact), `aud` (must contain the client id), `exp`, `iat` (required) and `sub`
/// (required). On top, OIDC Core 3.1.3.7: `azp` (required with several audiences, equal
/// to the client id when present), `nonce`, `auth_time` against `max_age`, `at_hash` and
/// `c_hash`; and the header's `typ` must not be an access token's (`at+jwt`) or another
/// kind of JWT.
///
/// ```
/// use tokengate_core::{Algorithm, Key, KeySet};
/// use tokengate_oidc::{Expected, IdTokenValidator, OidcError};
///
/// let key = Key::hmac(Algorithm::HS256, b"0123456789abcdef0123456789abcdef")?;
/// let validator = IdTokenValidator::builder(KeySet::new([key])?)
///     .issuer("https://idp.example")
///     .client_id("notes")
///     .algorithms([Algorithm::HS256])
///     .build()?;
/// // {"alg":"HS256"}.{} with a made-up signature: refused by the core verifier.
/// let err = validator.validate_loaded("eyJhbGciOiJIUzI1NiJ9.e30.c2ln", &Expected::nonce("n-0S6")).unwrap_err();
/// assert!(matches!(err, OidcError::Token(_)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct IdTokenValidator {
    verifier: Verifier,
    client_id: Arc<str>,
    leeway: i64,
    require_auth_time: bool,
}

/// Builds an [`IdTokenValidator`]; the issuer, the client id and the algorithms are
/// required.
#[must_use]
pub struct IdTokenValidatorBuilder {
    keys: Arc<dyn KeyResolver>,
    issuer: Option<String>,
    client_id: Option<String>,
    algorithms: Vec<Algorithm>,
    leeway: Duration,
    clock: Option<Arc<dyn Clock>>,
    require_auth_time: bool,
}

impl std::fmt::Debug for IdTokenValidatorBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdTokenValidatorBuilder")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("algorithms", &self.algorithms)
            .finish_non_exhaustive()
    }
}

impl IdTokenValidator {
    /// Starts a validator over the provider's keys.
    pub fn builder(keys: impl KeyResolver) -> IdTokenValidatorBuilder {
        IdTokenValidatorBuilder {
            keys: Arc::new(keys),
            issuer: None,
            client_id: None,
            algorithms: Vec::new(),
            leeway: tokengate_core::DEFAULT_LEEWAY,
            clock: None,
            require_auth_time: false,
        }
    }

    /// The client id (the audience ID tokens must name).
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The core verifier underneath.
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// Validates an ID token; when its `kid` is unknown, asks the key resolver to refresh
    /// (the JWKS cache does, coalesced and rate limited) and tries once more.
    pub async fn validate(&self, token: &str, expected: &Expected<'_>) -> Result<IdToken, OidcError> {
        let verified = self.verifier.verify_async(token).await?;
        self.check(verified, expected)
    }

    /// Validates an ID token with the keys already loaded (no refresh).
    pub fn validate_loaded(&self, token: &str, expected: &Expected<'_>) -> Result<IdToken, OidcError> {
        let verified = self.verifier.verify(token)?;
        self.check(verified, expected)
    }

    fn check(&self, verified: Verified, expected: &Expected<'_>) -> Result<IdToken, OidcError> {
        let header = verified.header();
        check_typ(header.and_then(|h| h.typ()))?;
        let claims: IdTokenClaims = verified.claims_as()?;
        check_azp(&self.client_id, &verified.registered().aud, claims.azp.as_deref())?;
        check_nonce(expected.nonce, claims.nonce.as_deref())?;
        self.check_auth_time(expected.max_age, claims.auth_time)?;
        // The hashes use the SHA-2 of the algorithm the token was verified with.
        if let Some(alg) = header.map(|h| h.alg()) {
            check_hash(alg, expected.access_token, claims.at_hash.as_deref(), Which::At)?;
            check_hash(alg, expected.code, claims.c_hash.as_deref(), Which::C)?;
        } else if expected.access_token.is_some() || expected.code.is_some() {
            return Err(OidcError::UnsupportedHashAlgorithm);
        }
        Ok(IdToken::new(Arc::new(verified), claims))
    }

    fn check_auth_time(&self, max_age: Option<Duration>, auth_time: Option<i64>) -> Result<(), OidcError> {
        let now = self.verifier.now();
        let Some(auth_time) = auth_time else {
            return if max_age.is_some() || self.require_auth_time { Err(OidcError::MissingAuthTime) } else { Ok(()) };
        };
        if auth_time > now.saturating_add(self.leeway) {
            return Err(OidcError::AuthTimeInFuture);
        }
        if let Some(max_age) = max_age {
            let max = i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX);
            if now.saturating_sub(auth_time) > max.saturating_add(self.leeway) {
                return Err(OidcError::AuthTooOld);
            }
        }
        Ok(())
    }
}

impl IdTokenValidatorBuilder {
    /// The provider's issuer identifier, compared exactly with `iss`.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// This relying party's client id: `aud` must contain it, `azp` must equal it.
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    /// The accepted signing algorithms (the provider's `id_token_signing_alg_values_supported`
    /// that this client accepts). `none` cannot be configured.
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = algorithms.into_iter().collect();
        self
    }

    /// Clock-skew tolerance for `exp`, `iat` and `auth_time` (default 30 s).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// The clock (default: the system clock).
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// Require `auth_time` even when no `max_age` was requested (the client registered
    /// `require_auth_time`).
    pub fn require_auth_time(mut self) -> Self {
        self.require_auth_time = true;
        self
    }

    /// Finishes the validator; errors when the issuer, the client id or the algorithms
    /// are missing.
    pub fn build(self) -> Result<IdTokenValidator, ConfigError> {
        let issuer = self.issuer.ok_or_else(|| ConfigError::Invalid("the issuer is required".into()))?;
        let client_id = self.client_id.ok_or_else(|| ConfigError::Invalid("the client id is required".into()))?;
        let mut builder = Verifier::builder(self.keys)
            .issuer(issuer)
            .audience(client_id.clone())
            .algorithms(self.algorithms)
            .leeway(self.leeway)
            .require(["sub", "iat"]);
        if let Some(clock) = self.clock {
            builder = builder.clock(ArcClock(clock));
        }
        Ok(IdTokenValidator {
            verifier: builder.build()?,
            client_id: client_id.into(),
            leeway: i64::try_from(self.leeway.as_secs()).unwrap_or(i64::MAX),
            require_auth_time: self.require_auth_time,
        })
    }
}

#[derive(Debug)]
struct ArcClock(Arc<dyn Clock>);

impl Clock for ArcClock {
    fn now(&self) -> i64 {
        self.0.now()
    }
}

/// What the relying party sent and received, checked against the ID token.
///
/// Built from the nonce sent in the authentication request ([`Expected::nonce`]) or,
/// when none was sent, [`Expected::without_nonce`].
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct Expected<'a> {
    nonce: Option<&'a str>,
    max_age: Option<Duration>,
    access_token: Option<(&'a str, Presence)>,
    code: Option<(&'a str, Presence)>,
}

/// Whether a hash claim must be present.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Presence {
    IfPresent,
    Required,
}

impl<'a> Expected<'a> {
    /// The nonce sent in the authentication request: the token's `nonce` must equal it.
    pub fn nonce(nonce: &'a str) -> Self {
        Expected { nonce: Some(nonce), ..Expected::default() }
    }

    /// No nonce was sent (a token's `nonce`, if any, is not checked).
    pub fn without_nonce() -> Self {
        Expected::default()
    }

    /// The `max_age` sent in the authentication request: `auth_time` is required and must
    /// be no older than this (plus leeway).
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = Some(max_age);
        self
    }

    /// The access token that came with the ID token (code flow): `at_hash`, when
    /// present, must match it (OIDC Core 3.1.3.8).
    pub fn access_token(mut self, access_token: &'a str) -> Self {
        self.access_token = Some((access_token, Presence::IfPresent));
        self
    }

    /// The access token that came with the ID token from the authorization endpoint
    /// (implicit and hybrid flows, OIDC Core 3.2.2.10): `at_hash` must be present and match.
    pub fn access_token_hashed(mut self, access_token: &'a str) -> Self {
        self.access_token = Some((access_token, Presence::Required));
        self
    }

    /// The authorization code that came with the ID token: `c_hash`, when present, must
    /// match it.
    pub fn code(mut self, code: &'a str) -> Self {
        self.code = Some((code, Presence::IfPresent));
        self
    }

    /// The authorization code that came with the ID token in a hybrid flow (OIDC Core
    /// 3.3.2.11): `c_hash` must be present and match.
    pub fn code_hashed(mut self, code: &'a str) -> Self {
        self.code = Some((code, Presence::Required));
        self
    }
}

/// Media types that name other kinds of JWT; anything else but `JWT` (or absent) is
/// refused too.
fn check_typ(typ: Option<&str>) -> Result<(), OidcError> {
    let Some(typ) = typ else { return Ok(()) };
    let typ = match typ.get(..12) {
        Some(prefix) if prefix.eq_ignore_ascii_case("application/") => typ.get(12..).unwrap_or_default(),
        _ => typ,
    };
    if typ.eq_ignore_ascii_case("at+jwt") {
        Err(OidcError::AccessTokenType)
    } else if typ.eq_ignore_ascii_case("jwt") || typ.eq_ignore_ascii_case("id_token+jwt") {
        Ok(())
    } else {
        Err(OidcError::UnexpectedType)
    }
}

fn check_azp(client_id: &str, aud: &[String], azp: Option<&str>) -> Result<(), OidcError> {
    match azp {
        Some(azp) if azp != client_id => Err(OidcError::AzpMismatch),
        None if aud.len() > 1 => Err(OidcError::MissingAzp),
        _ => Ok(()),
    }
}

pub(crate) fn check_nonce(expected: Option<&str>, actual: Option<&str>) -> Result<(), OidcError> {
    match (expected, actual) {
        (None, _) => Ok(()),
        (Some(_), None) => Err(OidcError::MissingNonce),
        (Some(want), Some(got)) if ct_eq(want, got) => Ok(()),
        (Some(_), Some(_)) => Err(OidcError::NonceMismatch),
    }
}

#[derive(Clone, Copy)]
enum Which {
    At,
    C,
}

fn check_hash(
    alg: Algorithm,
    value: Option<(&str, Presence)>,
    claim: Option<&str>,
    which: Which,
) -> Result<(), OidcError> {
    let (missing, mismatch) = match which {
        Which::At => (OidcError::MissingAtHash, OidcError::AtHashMismatch),
        Which::C => (OidcError::MissingCHash, OidcError::CHashMismatch),
    };
    match (value, claim) {
        (None, _) => Ok(()),
        (Some((_, Presence::Required)), None) => Err(missing),
        (Some((_, Presence::IfPresent)), None) => Ok(()),
        (Some((value, _)), Some(claim)) if ct_eq(&token_hash(alg, value)?, claim) => Ok(()),
        (Some(_), Some(_)) => Err(mismatch),
    }
}
